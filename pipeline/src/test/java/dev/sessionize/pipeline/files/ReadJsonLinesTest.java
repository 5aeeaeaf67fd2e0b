package dev.sessionize.pipeline.files;

import static org.junit.Assert.assertEquals;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;

/** The file source's line splitting: line numbers, CRLF, blank lines, lines across blocks. */
public class ReadJsonLinesTest {
  private static List<String> split(String text) throws Exception {
    List<String> lines = new ArrayList<>();
    ReadJsonLines.LinesFn.split(
        new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)),
        (bytes, n) -> lines.add(n + ":" + new String(bytes, StandardCharsets.UTF_8)));
    return lines;
  }

  @Test
  public void numbersLinesAndSkipsBlankOnes() throws Exception {
    assertEquals(List.of("1:a", "3:b", "5:c d", "6:last"), split("a\n \t\nb\r\n\nc d\nlast"));
    assertEquals(List.of("1:a"), split("a\n"));
    assertEquals(List.of(), split(""));
    assertEquals(List.of("1:\r"), split("\r\r\n"));
  }

  @Test
  public void keepsLinesThatSpanBlocks() throws Exception {
    StringBuilder text = new StringBuilder();
    List<String> expected = new ArrayList<>();
    for (int i = 1; i <= 3000; i++) {
      String line = "x".repeat(i % 700) + i;
      text.append(line).append(i % 3 == 0 ? "\r\n" : "\n");
      expected.add(i + ":" + line);
    }
    assertEquals(expected, split(text.toString()));
  }
}
