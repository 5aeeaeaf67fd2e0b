package dev.sessionize.transforms.model;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import org.apache.beam.sdk.util.VarInt;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;

/**
 * Small building blocks for the hand-written coders: varints, length-prefixed UTF-8 strings,
 * nullable values and instants. Every value is self-delimiting so coders can be nested.
 */
public final class Wire {
  private Wire() {}

  public static void writeVarInt(int value, OutputStream out) throws IOException {
    VarInt.encode(value, out);
  }

  public static int readVarInt(InputStream in) throws IOException {
    return VarInt.decodeInt(in);
  }

  public static void writeVarLong(long value, OutputStream out) throws IOException {
    VarInt.encode(value, out);
  }

  public static long readVarLong(InputStream in) throws IOException {
    return VarInt.decodeLong(in);
  }

  /** Zig-zag encoded varint, for values that may be negative. */
  public static void writeSignedVarLong(long value, OutputStream out) throws IOException {
    VarInt.encode((value << 1) ^ (value >> 63), out);
  }

  public static long readSignedVarLong(InputStream in) throws IOException {
    long raw = VarInt.decodeLong(in);
    return (raw >>> 1) ^ -(raw & 1);
  }

  public static void writeBytes(byte[] bytes, OutputStream out) throws IOException {
    VarInt.encode(bytes.length, out);
    out.write(bytes);
  }

  public static byte[] readBytes(InputStream in) throws IOException {
    int length = VarInt.decodeInt(in);
    if (length < 0) {
      throw new IOException("negative length " + length);
    }
    byte[] bytes = new byte[length];
    readFully(in, bytes, 0, length);
    return bytes;
  }

  /** Reads exactly {@code length} bytes into {@code bytes} from {@code offset}. */
  public static void readFully(InputStream in, byte[] bytes, int offset, int length)
      throws IOException {
    int read = 0;
    while (read < length) {
      int n = in.read(bytes, offset + read, length - read);
      if (n < 0) {
        throw new EOFException("expected " + length + " bytes, got " + read);
      }
      read += n;
    }
  }

  public static void writeString(String value, OutputStream out) throws IOException {
    writeBytes(value.getBytes(StandardCharsets.UTF_8), out);
  }

  public static String readString(InputStream in) throws IOException {
    return new String(readBytes(in), StandardCharsets.UTF_8);
  }

  /** A nullable string costs one byte more than a string: 0 for null, else length + 1. */
  public static void writeNullableString(@Nullable String value, OutputStream out)
      throws IOException {
    if (value == null) {
      VarInt.encode(0, out);
      return;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    VarInt.encode(bytes.length + 1, out);
    out.write(bytes);
  }

  public static @Nullable String readNullableString(InputStream in) throws IOException {
    int lengthPlusOne = VarInt.decodeInt(in);
    if (lengthPlusOne == 0) {
      return null;
    }
    byte[] bytes = new byte[lengthPlusOne - 1];
    readFully(in, bytes, 0, bytes.length);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  public static void writeBoolean(boolean value, OutputStream out) throws IOException {
    out.write(value ? 1 : 0);
  }

  public static boolean readBoolean(InputStream in) throws IOException {
    int b = in.read();
    if (b < 0) {
      throw new EOFException("truncated boolean");
    }
    return b != 0;
  }

  public static void writeInstant(Instant value, OutputStream out) throws IOException {
    writeSignedVarLong(value.getMillis(), out);
  }

  public static Instant readInstant(InputStream in) throws IOException {
    return Instant.ofEpochMilli(readSignedVarLong(in));
  }

  public static void writeNullableInstant(@Nullable Instant value, OutputStream out)
      throws IOException {
    writeBoolean(value != null, out);
    if (value != null) {
      writeInstant(value, out);
    }
  }

  public static @Nullable Instant readNullableInstant(InputStream in) throws IOException {
    return readBoolean(in) ? readInstant(in) : null;
  }

  public static void writeNullableDecimal(@Nullable BigDecimal value, OutputStream out)
      throws IOException {
    writeBoolean(value != null, out);
    if (value != null) {
      writeVarInt(value.scale(), out);
      writeBytes(value.unscaledValue().toByteArray(), out);
    }
  }

  public static @Nullable BigDecimal readNullableDecimal(InputStream in) throws IOException {
    if (!readBoolean(in)) {
      return null;
    }
    int scale = readVarInt(in);
    return new BigDecimal(new BigInteger(readBytes(in)), scale);
  }
}
