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

  static final String TABLE_BEGIN = "<!-- outcomes: written by ParseEventsTest, do not edit -->";
  static final String TABLE_END = "<!-- end of outcomes -->";

  /**
   * Compares the outcome table of this run with the one in {@code testdata/malformed/README.md};
   * with {@code -Dsessionize.writeOutcomes=true} it writes this run's table there instead.
   */
  static void checkOutcomeTable(String table) throws IOException {
    Path readme = root().resolve("malformed").resolve("README.md");
    String text = Files.readString(readme);
    int begin = text.indexOf(TABLE_BEGIN);
    int end = text.indexOf(TABLE_END);
    if (begin < 0 || end < begin) {
      throw new AssertionError(readme + " has no outcome table between the markers");
    }
    String committed = text.substring(begin + TABLE_BEGIN.length() + 1, end);
    if (Boolean.getBoolean("sessionize.writeOutcomes")) {
      Files.writeString(
          readme,
          text.substring(0, begin + TABLE_BEGIN.length() + 1) + table + text.substring(end));
      return;
    }
    if (!committed.equals(table)) {
      Path actual = Paths.get("target", "malformed-outcomes.md");
      Files.createDirectories(actual.getParent());
      Files.writeString(actual, table);
      throw new AssertionError(
          "the outcome table in "
              + readme
              + " differs from this run's ("
              + actual.toAbsolutePath()
              + "); rerun with -Dsessionize.writeOutcomes=true to rewrite it");
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
