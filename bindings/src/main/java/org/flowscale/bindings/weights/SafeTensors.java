package org.flowscale.bindings.weights;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file, memory-mapped: the format Hugging Face and Black Forest Labs publish
 * weights in (an 8-byte little-endian header length, a JSON header mapping each tensor name to its
 * {@code dtype}, {@code shape} and {@code data_offsets}, an optional {@code __metadata__} map of
 * strings, then the raw little-endian data).
 *
 * <p>{@link #open} checks the whole header before anything is read: a file too short for its
 * header, a header length past the end, bad JSON, an unknown dtype, a shape whose byte size does
 * not match its offsets, offsets past the end of the data (a truncated download), overlapping
 * tensors, or bytes belonging to no tensor (as the reference library, which refuses such files).
 * Each failure is a {@link WeightsException} whose one-line message names the file and the tensor.
 *
 * <p>Tensor data are views of the mapping ({@link #data}): nothing is copied, and pages are read
 * from disk only when touched, so opening a 24 GB checkpoint costs its header. The views stay valid
 * until {@link #close()}; afterwards any access throws {@link IllegalStateException} instead of
 * reading unmapped memory. Safe to read from several threads.
 */
public final class SafeTensors implements AutoCloseable {
  /** Headers larger than this are refused as damaged (the reference library's limit). */
  static final long MAX_HEADER = 100L << 20;

  private final Path path;
  private final Arena arena;
  private final MemorySegment data;
  private final Map<String, TensorInfo> tensors; // in data order
  private final Map<String, String> metadata;

  private SafeTensors(
      Path path,
      Arena arena,
      MemorySegment data,
      Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.path = path;
    this.arena = arena;
    this.data = data;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /**
   * Maps {@code file} and checks its header.
   *
   * @throws WeightsException naming the file (and the tensor) when it is missing, unreadable or not
   *     a valid safetensors file
   */
  public static SafeTensors open(Path file) {
    Path p = file.toAbsolutePath().normalize();
    long size;
    try {
      size = Files.size(p);
    } catch (NoSuchFileException e) {
      throw new WeightsException(p + ": no such file");
    } catch (IOException e) {
      throw new WeightsException(p + ": cannot read: " + e.getMessage(), e);
    }
    if (Files.isDirectory(p)) {
      throw new WeightsException(p + " is a directory, not a safetensors file");
    }
    if (size < 8) {
      throw new WeightsException(
          p
              + " is too short for a safetensors file ("
              + size
              + " bytes; the header size alone"
              + " takes 8): truncated or not safetensors");
    }
    Arena arena = Arena.ofShared();
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
      MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
      long n = all.get(JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
      if (n < 0 || n > size - 8) {
        throw new WeightsException(
            p
                + ": header length "
                + Long.toUnsignedString(n)
                + " runs past the end of the file ("
                + size
                + " bytes): truncated or not safetensors");
      }
      if (n > MAX_HEADER) {
        throw new WeightsException(
            p + ": header length " + n + " is over 100 MB: damaged or not safetensors");
      }
      String header = utf8(p, all.asSlice(8, n));
      MemorySegment data = all.asSlice(8 + n).asReadOnly();
      Header h = parseHeader(p, header, data.byteSize());
      return new SafeTensors(p, arena, data, h.tensors, h.metadata);
    } catch (IOException e) {
      arena.close();
      throw new WeightsException(p + ": cannot read: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      arena.close();
      throw e;
    }
  }

  private record Header(Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

  private static String utf8(Path p, MemorySegment bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(bytes.asByteBuffer())
          .toString();
    } catch (CharacterCodingException e) {
      throw new WeightsException(p + ": the header is not UTF-8 text: not a safetensors file");
    }
  }

  /** Parses and checks a header against a data section of {@code dataSize} bytes. */
  static Header parseHeader(Path p, String header, long dataSize) {
    Object root;
    try {
      root = Json.parse(header);
    } catch (IllegalArgumentException e) {
      throw new WeightsException(
          p + ": the header is not valid JSON (" + e.getMessage() + "): not a safetensors file");
    }
    if (!(root instanceof Map<?, ?> map)) {
      throw new WeightsException(p + ": the header is not a JSON object: not a safetensors file");
    }
    Map<String, String> metadata = Map.of();
    List<TensorInfo> list = new ArrayList<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String name = (String) e.getKey();
      if (name.equals("__metadata__")) {
        metadata = metadata(p, e.getValue());
        continue;
      }
      list.add(tensor(p, name, e.getValue(), dataSize));
    }
    list.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    long covered = 0;
    TensorInfo prev = null;
    for (TensorInfo t : list) {
      if (t.begin() < covered) {
        throw new WeightsException(
            p
                + ": tensors '"
                + prev.name()
                + "' (bytes "
                + prev.begin()
                + ".."
                + prev.end()
                + ") and '"
                + t.name()
                + "' (bytes "
                + t.begin()
                + ".."
                + t.end()
                + ") overlap: damaged file");
      }
      if (t.begin() > covered) {
        throw new WeightsException(
            p
                + ": data bytes "
                + covered
                + ".."
                + t.begin()
                + " (before tensor '"
                + t.name()
                + "') belong to no tensor: damaged file");
      }
      covered = t.end();
      prev = t;
    }
    if (covered != dataSize) {
      throw new WeightsException(
          p
              + ": the data section has "
              + dataSize
              + " bytes but its tensors cover "
              + covered
              + ": damaged file");
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (TensorInfo t : list) {
      tensors.put(t.name(), t);
    }
    return new Header(Collections.unmodifiableMap(tensors), metadata);
  }

  private static Map<String, String> metadata(Path p, Object v) {
    if (!(v instanceof Map<?, ?> m)) {
      throw new WeightsException(p + ": __metadata__ must be a map of strings");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      if (!(e.getValue() instanceof String s)) {
        throw new WeightsException(p + ": __metadata__ entry '" + e.getKey() + "' is not a string");
      }
      out.put((String) e.getKey(), s);
    }
    return Collections.unmodifiableMap(out);
  }

  private static TensorInfo tensor(Path p, String name, Object v, long dataSize) {
    String where = p + ": tensor '" + name + "'";
    if (!(v instanceof Map<?, ?> m)) {
      throw new WeightsException(where + ": header entry is not an object");
    }
    if (!(m.get("dtype") instanceof String dt)) {
      throw new WeightsException(where + ": no dtype");
    }
    SafeDType dtype = SafeDType.byName(dt);
    if (dtype == null) {
      throw new WeightsException(where + ": unknown dtype '" + dt + "'");
    }
    if (!(m.get("shape") instanceof List<?> sl)) {
      throw new WeightsException(where + ": no shape");
    }
    long[] shape = new long[sl.size()];
    long elements = 1;
    for (int i = 0; i < shape.length; i++) {
      if (!(sl.get(i) instanceof Long s) || s < 0) {
        throw new WeightsException(where + ": shape " + sl + " is not a list of sizes >= 0");
      }
      shape[i] = s;
      try {
        elements = Math.multiplyExact(elements, s);
      } catch (ArithmeticException e) {
        throw new WeightsException(where + ": shape " + sl + " is too large");
      }
    }
    if (!(m.get("data_offsets") instanceof List<?> ol)
        || ol.size() != 2
        || !(ol.get(0) instanceof Long begin)
        || !(ol.get(1) instanceof Long end)
        || begin < 0
        || end < begin) {
      throw new WeightsException(
          where
              + ": data_offsets "
              + m.get("data_offsets")
              + " are not [begin, end] with begin <= end");
    }
    long bytes;
    try {
      bytes = Math.multiplyExact(elements, dtype.bytes());
    } catch (ArithmeticException e) {
      throw new WeightsException(where + ": shape " + sl + " is too large");
    }
    if (end > dataSize) {
      throw new WeightsException(
          where
              + ": its data (bytes "
              + begin
              + ".."
              + end
              + ") run past the end of the file's data ("
              + dataSize
              + " bytes): truncated file");
    }
    if (end - begin != bytes) {
      throw new WeightsException(
          where
              + ": data_offsets hold "
              + (end - begin)
              + " bytes, but shape "
              + sl
              + " of "
              + dtype
              + " needs "
              + bytes);
    }
    for (Object k : m.keySet()) {
      if (!k.equals("dtype") && !k.equals("shape") && !k.equals("data_offsets")) {
        throw new WeightsException(where + ": unknown header field '" + k + "'");
      }
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  /** The file it maps (absolute). */
  public Path path() {
    return path;
  }

  /** The {@code __metadata__} map (empty when the file has none). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Every tensor, in the order of their data in the file. */
  public List<TensorInfo> tensors() {
    return List.copyOf(tensors.values());
  }

  /** The names of every tensor, in the order of their data in the file. */
  public List<String> names() {
    return List.copyOf(tensors.keySet());
  }

  /** Whether the file holds a tensor of that name. */
  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /**
   * The header entry of {@code name}.
   *
   * @throws WeightsException when the file has no such tensor
   */
  public TensorInfo info(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new WeightsException(path + " has no tensor '" + name + "'");
    }
    return t;
  }

  /**
   * A read-only view of the raw little-endian bytes of {@code name}, valid until {@link #close()}.
   * Its address is aligned only as the file lays it out (the format promises no alignment).
   */
  public MemorySegment data(String name) {
    TensorInfo t = info(name);
    return data.asSlice(t.begin(), t.byteSize());
  }

  /**
   * The values of a floating-point tensor as floats (F32, F64, BF16 and F16; FP8 is refused), for
   * small tensors read on the host such as embeddings.
   *
   * @throws WeightsException for other dtypes or tensors over 2^31 - 1 elements
   */
  public float[] floats(String name) {
    TensorInfo t = info(name);
    if (t.elements() > Integer.MAX_VALUE - 8) {
      throw new WeightsException(path + ": tensor '" + name + "' is too large to read as floats");
    }
    MemorySegment s = data(name);
    int n = (int) t.elements();
    float[] out = new float[n];
    var le = ByteOrder.LITTLE_ENDIAN;
    switch (t.dtype()) {
      case F32 -> {
        for (int i = 0; i < n; i++) {
          out[i] = s.getAtIndex(JAVA_FLOAT_UNALIGNED.withOrder(le), i);
        }
      }
      case F64 -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) s.getAtIndex(JAVA_DOUBLE_UNALIGNED.withOrder(le), i);
        }
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out[i] =
              Float.intBitsToFloat(
                  (s.getAtIndex(JAVA_SHORT_UNALIGNED.withOrder(le), i) & 0xFFFF) << 16);
        }
      }
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = Float.float16ToFloat(s.getAtIndex(JAVA_SHORT_UNALIGNED.withOrder(le), i));
        }
      }
      default ->
          throw new WeightsException(
              path
                  + ": tensor '"
                  + name
                  + "' is "
                  + t.dtype()
                  + ", expected F32, F64, BF16 or F16");
    }
    return out;
  }

  /** Unmaps the file; views handed out become inaccessible. Idempotent. */
  @Override
  public void close() {
    if (arena.scope().isAlive()) {
      arena.close();
    }
  }

  @Override
  public String toString() {
    return "SafeTensors[" + path + ", " + tensors.size() + " tensors]";
  }
}
