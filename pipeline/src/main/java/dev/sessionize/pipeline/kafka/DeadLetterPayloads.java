package dev.sessionize.pipeline.kafka;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sessionize.transforms.model.DeadLetter;
import dev.sessionize.transforms.model.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Where a dead letter keeps payload bytes that its sink cannot hold: a file in {@code
 * <warehouse>/dead-letter-payloads/}, named by the SHA-256 of its bytes (written once, under a
 * temporary name first, so a file with that name always holds those bytes), on any file system
 * Hadoop's {@link FileSystem} API reaches. The dead letter then carries {@code payload_ref} (the
 * file's URI), {@code payload_length} and {@code payload_sha256} instead of {@code payload}.
 */
public final class DeadLetterPayloads implements Serializable {
  private static final long serialVersionUID = 1L;
  public static final String FOLDER = "dead-letter-payloads";

  private final String folder;

  /** The store under {@code warehouse}. */
  DeadLetterPayloads(String warehouse) {
    this.folder = warehouse.replaceAll("/+$", "") + "/" + FOLDER;
  }

  /** Keeps {@code payload} and returns the file's URI. */
  String store(byte[] payload) {
    String hash = sha256(payload);
    Path target = new Path(folder, hash);
    try {
      FileSystem fs = target.getFileSystem(new Configuration());
      fs.setWriteChecksum(false); // no .crc side files on the local file system
      if (!fs.exists(target) || fs.getFileStatus(target).getLen() != payload.length) {
        Path temporary = new Path(folder, "." + hash + "-" + UUID.randomUUID() + ".tmp");
        try (OutputStream out = fs.create(temporary, false)) {
          out.write(payload);
        }
        if (!fs.rename(temporary, target)) {
          // Another writer got there first with the same bytes.
          fs.delete(temporary, false);
          if (!fs.exists(target) || fs.getFileStatus(target).getLen() != payload.length) {
            throw new IOException("cannot move " + temporary + " to " + target);
          }
        }
      }
      return fs.makeQualified(target).toUri().toString();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot keep a dead letter's payload in " + folder, e);
    }
  }

  /**
   * The dead letter's JSON with its payload kept in this store: the spec's record without {@code
   * payload} and {@code payload_encoding}, with {@code payload_ref}, {@code payload_length} and
   * {@code payload_sha256} in their place.
   */
  String toJsonWithReference(DeadLetter d) {
    byte[] payload = d.payload();
    String ref = store(payload);
    try {
      JsonNode envelope =
          Json.MAPPER.readTree(d.toBuilder().setPayload(new byte[0]).build().toJson());
      ObjectNode out = Json.MAPPER.createObjectNode();
      for (Iterator<Map.Entry<String, JsonNode>> it = envelope.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (field.getKey().equals("payload")) {
          out.put("payload_ref", ref);
          out.put("payload_length", payload.length);
          out.put("payload_sha256", sha256(payload));
        } else if (!field.getKey().equals("payload_encoding")) {
          out.set(field.getKey(), field.getValue());
        }
      }
      return Json.MAPPER.writeValueAsString(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
