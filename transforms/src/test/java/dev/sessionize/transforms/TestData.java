package dev.sessionize.transforms;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/** The fixtures under {@code testdata/}. */
final class TestData {
  private TestData() {}

  static Path root() {
    String configured = System.getProperty("sessionize.testdata");
    Path root = configured != null ? Paths.get(configured) : Paths.get("..", "testdata");
    if (!Files.isDirectory(root)) {
      throw new IllegalStateException("testdata folder not found at " + root.toAbsolutePath());
    }
    return root;
  }

  /** One case of the malformed corpus. */
  static final class Case {
    final String name;
    final String expected;
    final String description;
    final byte[] bytes;

    Case(String name, String expected, String description, byte[] bytes) {
      this.name = name;
      this.expected = expected;
      this.description = description;
      this.bytes = bytes;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  static List<Case> malformedCorpus() {
    Path dir = root().resolve("malformed");
    try {
      List<String> lines = Files.readAllLines(dir.resolve("EXPECTED.tsv"));
      List<Case> cases = new ArrayList<>();
      for (String line : lines.subList(1, lines.size())) {
        if (line.isBlank()) {
          continue;
        }
        String[] cols = line.split("\t", 3);
        byte[] bytes = Files.readAllBytes(dir.resolve("cases").resolve(cols[0] + ".json"));
        cases.add(new Case(cols[0], cols[1], cols[2], bytes));
      }
      return cases;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
