package dev.sessionize.pipeline;

import dev.sessionize.transforms.model.RawRecord;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;

/**
 * File source: each line of the matching files is one record, kept as raw bytes (so invalid UTF-8
 * reaches the parser, and the dead letter, unchanged). The source position is the file name, 0 and
 * the line number. Blank lines are skipped. A bounded source: the watermark jumps to the end when
 * the files are read, so nothing is late; the Kafka source brings real event-time progress.
 */
public class ReadJsonLines extends PTransform<PBegin, PCollection<RawRecord>> {
  private final String filepattern;

  private ReadJsonLines(String filepattern) {
    this.filepattern = filepattern;
  }

  public static ReadJsonLines from(String filepattern) {
    return new ReadJsonLines(filepattern);
  }

  @Override
  public PCollection<RawRecord> expand(PBegin input) {
    return input
        .apply("MatchFiles", FileIO.match().filepattern(filepattern))
        .apply("OpenFiles", FileIO.readMatches())
        .apply("SplitLines", ParDo.of(new LinesFn()))
        .setCoder(RawRecord.RawRecordCoder.of());
  }

  static class LinesFn extends DoFn<FileIO.ReadableFile, RawRecord> {
    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, OutputReceiver<RawRecord> out)
        throws IOException {
      String name = file.getMetadata().resourceId().getFilename();
      try (InputStream in = new BufferedInputStream(Channels.newInputStream(file.open()))) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        long lineNumber = 0;
        int b;
        while (true) {
          b = in.read();
          if (b == '\n' || b < 0) {
            lineNumber++;
            byte[] bytes = line.toByteArray();
            int length = bytes.length;
            if (length > 0 && bytes[length - 1] == '\r') {
              bytes = java.util.Arrays.copyOf(bytes, length - 1);
            }
            if (!isBlank(bytes)) {
              out.output(RawRecord.of(bytes, name, 0, lineNumber));
            }
            line.reset();
            if (b < 0) {
              return;
            }
          } else {
            line.write(b);
          }
        }
      }
    }

    private static boolean isBlank(byte[] bytes) {
      for (byte x : bytes) {
        if (x != ' ' && x != '\t') {
          return false;
        }
      }
      return true;
    }
  }
}
