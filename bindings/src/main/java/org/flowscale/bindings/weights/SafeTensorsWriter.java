package org.flowscale.bindings.weights;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes safetensors files (e.g. a per-prompt cache of text embeddings). The file is written to a
 * temporary name beside the target and renamed, so a crash never leaves half a file under the
 * target's name. The header is padded with spaces to a multiple of 8 bytes, so every tensor's data
 * is 8-byte aligned as long as the ones before it have sizes that are multiples of 8.
 */
public final class SafeTensorsWriter {
  private SafeTensorsWriter() {}

  /**
   * One tensor to write: its little-endian bytes in {@code data} (row-major, exactly the byte size
   * of {@code shape} in {@code dtype}).
   */
  public record Entry(String name, SafeDType dtype, long[] shape, MemorySegment data) {
    public Entry {
      shape = shape.clone();
      long n = dtype.bytes();
      for (long s : shape) {
        if (s < 0) {
          throw new IllegalArgumentException(name + ": negative size in " + Arrays.toString(shape));
        }
        n = Math.multiplyExact(n, s);
      }
      if (data.byteSize() != n) {
        throw new IllegalArgumentException(
            name
                + ": "
                + data.byteSize()
                + " bytes given, shape "
                + Arrays.toString(shape)
                + " of "
                + dtype
                + " needs "
                + n);
      }
    }

    /** An F32 tensor of {@code values} with that shape. */
    public static Entry f32(String name, long[] shape, float[] values) {
      MemorySegment s = MemorySegment.ofArray(new byte[values.length * 4]);
      for (int i = 0; i < values.length; i++) {
        s.setAtIndex(JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, values[i]);
      }
      return new Entry(name, SafeDType.F32, shape, s);
    }

    @Override
    public long[] shape() {
      return shape.clone();
    }
  }

  /**
   * Writes {@code entries} (names unique, not {@code __metadata__}) and {@code metadata} to {@code
   * out}, replacing it atomically.
   *
   * @throws WeightsException when the file cannot be written
   */
  public static void write(Path out, List<Entry> entries, Map<String, String> metadata) {
    Set<String> seen = new HashSet<>();
    StringBuilder h = new StringBuilder("{");
    if (metadata != null && !metadata.isEmpty()) {
      h.append(quote("__metadata__")).append(":{");
      boolean first = true;
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        h.append(first ? "" : ",")
            .append(quote(e.getKey()))
            .append(':')
            .append(quote(e.getValue()));
        first = false;
      }
      h.append('}');
    }
    long offset = 0;
    for (Entry e : entries) {
      if (e.name().equals("__metadata__") || !seen.add(e.name())) {
        throw new IllegalArgumentException(
            "tensor name '" + e.name() + "' is reserved or repeated");
      }
      long end = offset + e.data().byteSize();
      h.append(h.length() > 1 ? "," : "")
          .append(quote(e.name()))
          .append(":{\"dtype\":\"")
          .append(e.dtype().name())
          .append("\",\"shape\":")
          .append(Arrays.toString(e.shape).replace(" ", ""))
          .append(",\"data_offsets\":[")
          .append(offset)
          .append(',')
          .append(end)
          .append("]}");
      offset = end;
    }
    h.append('}');
    while ((h.length() + countExtraUtf8(h)) % 8 != 0) {
      h.append(' ');
    }
    byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
    Path target = out.toAbsolutePath().normalize();
    Path tmp =
        target.resolveSibling("." + target.getFileName() + ".tmp" + ProcessHandle.current().pid());
    try {
      try (FileChannel ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE)) {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        len.putLong(header.length).flip();
        writeFully(ch, len);
        writeFully(ch, ByteBuffer.wrap(header));
        for (Entry e : entries) {
          writeFully(ch, e.data().asByteBuffer());
        }
        ch.force(true);
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // the original error matters more
      }
      throw new WeightsException(target + ": cannot write: " + e.getMessage(), e);
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** Bytes beyond one per char that UTF-8 needs for {@code s} (for the padding). */
  private static int countExtraUtf8(CharSequence s) {
    return s.toString().getBytes(StandardCharsets.UTF_8).length - s.length();
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }
}
