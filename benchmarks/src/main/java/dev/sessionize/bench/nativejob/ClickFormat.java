package dev.sessionize.bench.nativejob;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.connector.file.src.reader.StreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;

/**
 * JSON lines parsed into {@link Click}s inside the file source, so the watermark strategy of the
 * source reads each event's time without parsing again. Blank lines are skipped. A file is one
 * split (the format is not splittable). After the last line comes one end marker ({@link
 * Click#endOfFile}, invalid, so it never moves the watermark): the step after the source tells
 * {@link InputProgress} when it sees it, that is when the file's last record has left the source
 * (the reader itself reaches the end of the file while a queue of batches is still to be emitted).
 */
public class ClickFormat extends SimpleStreamFormat<Click> {
  private static final long serialVersionUID = 1L;

  @Override
  public StreamFormat.Reader<Click> createReader(Configuration config, FSDataInputStream stream) {
    BufferedReader lines =
        new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8), 1 << 16);
    return new StreamFormat.Reader<>() {
      private boolean ended;

      @Override
      public Click read() throws IOException {
        String line;
        while ((line = lines.readLine()) != null) {
          if (!line.isBlank()) {
            return Click.parse(line);
          }
        }
        if (ended) {
          return null;
        }
        ended = true;
        return Click.endOfFile("native-split-" + System.identityHashCode(this));
      }

      @Override
      public void close() throws IOException {
        lines.close();
      }
    };
  }

  @Override
  public TypeInformation<Click> getProducedType() {
    return TypeInformation.of(Click.class);
  }
}
