package dev.sessionize.transforms.model;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * A growable byte buffer without the locking of {@link java.io.ByteArrayOutputStream}: a coder
 * writes its varints here a byte at a time, then copies the bytes to the runner's stream at once.
 * (commons-io has one, but the runners' class paths bring versions of commons-io without it.)
 */
public final class ByteSink extends OutputStream {
  private byte[] bytes;
  private int size;

  public ByteSink(int capacity) {
    this.bytes = new byte[capacity];
  }

  @Override
  public void write(int b) {
    if (size == bytes.length) {
      bytes = Arrays.copyOf(bytes, bytes.length * 2);
    }
    bytes[size++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) {
    if (size + len > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + len));
    }
    System.arraycopy(b, off, bytes, size, len);
    size += len;
  }

  public void writeTo(OutputStream out) throws IOException {
    out.write(bytes, 0, size);
  }
}
