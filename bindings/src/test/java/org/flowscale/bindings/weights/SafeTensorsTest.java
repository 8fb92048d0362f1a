package org.flowscale.bindings.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.weights.SafeTensorsWriter.Entry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
  @TempDir Path tmp;

  /** A file made of a raw header string and {@code dataBytes} zero bytes of data. */
  private Path raw(String name, String header, int dataBytes) throws IOException {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h);
    Path p = tmp.resolve(name);
    Files.write(p, b.array());
    return p;
  }

  /** One tensor's header entry: {@code "name":{"dtype":..,"shape":[..],"data_offsets":[..]}}. */
  private static String tensor(String name, String dtype, String shape, long begin, long end) {
    return "\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%d,%d]}"
        .formatted(name, dtype, shape, begin, end);
  }

  /** The message opening {@code name.safetensors} fails with: a header of these tensors, data. */
  private String bad(String name, String tensors, int dataBytes) throws IOException {
    return msg(raw(name + ".safetensors", "{" + tensors + "}", dataBytes));
  }

  private static String msg(Path p) {
    return assertThrows(WeightsException.class, () -> SafeTensors.open(p).close()).getMessage();
  }

  @Test
  void writesAndReadsBack() {
    Path p = tmp.resolve("a.safetensors");
    float[] w = {1, -2, 3.5f, 4, 5, 6};
    MemorySegment bf = MemorySegment.ofArray(new byte[4]);
    bf.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 0, (short) 0x3f80); // 1.0
    bf.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 2, (short) 0xc040); // -3.0
    SafeTensorsWriter.write(
        p,
        List.of(
            Entry.f32("layer.weight", new long[] {2, 3}, w),
            new Entry("layer.bias", SafeDType.BF16, new long[] {2}, bf),
            Entry.f32("empty", new long[] {0, 4}, new float[0])),
        Map.of("format", "pt", "prompt", "a \"quoted\" café"));
    try (SafeTensors f = SafeTensors.open(p)) {
      assertEquals(List.of("layer.weight", "layer.bias", "empty"), f.names());
      assertEquals(SafeDType.F32, f.info("layer.weight").dtype());
      assertArrayEquals(new long[] {2, 3}, f.info("layer.weight").shape());
      assertArrayEquals(w, f.floats("layer.weight"));
      assertArrayEquals(new float[] {1, -3}, f.floats("layer.bias"));
      assertEquals(0, f.data("empty").byteSize());
      assertEquals("a \"quoted\" café", f.metadata().get("prompt"));
      assertTrue(f.contains("layer.bias"));
      assertFalse(f.contains("nope"));
      String m = assertThrows(WeightsException.class, () -> f.info("nope")).getMessage();
      assertTrue(m.contains("'nope'") && m.contains("a.safetensors"), m);
      // the header is padded so the data start 8-byte aligned in the file
      long n = ByteBuffer.wrap(readFirst8(p)).order(ByteOrder.LITTLE_ENDIAN).getLong();
      assertEquals(0, (8 + n) % 8);
    }
  }

  private static byte[] readFirst8(Path p) {
    try {
      byte[] all = Files.readAllBytes(p);
      return java.util.Arrays.copyOf(all, 8);
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
  }

  @Test
  void readsWhatPythonWrites() throws IOException {
    // What tools/ and the fixtures write with struct + json (and the reference library's layout):
    // header without padding, tensors in any header order.
    String header =
        "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"__metadata__\":{\"k\":\"v\"}}";
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).putFloat(1.5f).putFloat(-2.5f);
    Path p = tmp.resolve("py.safetensors");
    Files.write(p, b.array());
    try (SafeTensors f = SafeTensors.open(p)) {
      assertEquals(List.of("a", "b"), f.names(), "data order");
      assertArrayEquals(new float[] {1.5f}, f.floats("a"));
      assertArrayEquals(new float[] {-2.5f}, f.floats("b"));
      assertEquals(Map.of("k", "v"), f.metadata());
    }
  }

  @Test
  void damagedFilesNameTheFileAndTensor() throws IOException {
    Path shortFile = tmp.resolve("short.safetensors");
    Files.write(shortFile, new byte[] {1, 2, 3});
    assertTrue(msg(shortFile).contains("too short"), msg(shortFile));
    assertTrue(msg(shortFile).contains("short.safetensors"));

    Path past = tmp.resolve("past.safetensors");
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
    Files.write(past, b.array());
    assertTrue(msg(past).contains("header length 1000 runs past the end"), msg(past));

    Path huge = tmp.resolve("neg.safetensors");
    b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5);
    Files.write(huge, b.array());
    assertTrue(msg(huge).contains("runs past the end"), msg(huge));

    assertTrue(msg(raw("json.safetensors", "{\"a\":", 0)).contains("not valid JSON"));
    assertTrue(msg(raw("arr.safetensors", "[1,2]", 0)).contains("not a JSON object"));

    String m = bad("dt", tensor("w", "Q4", "1", 0, 1), 1);
    assertTrue(
        m.contains("tensor 'w'")
            && m.contains("unknown dtype 'Q4'")
            && m.contains("dt.safetensors"),
        m);

    m = bad("sz", tensor("w", "F32", "3", 0, 8), 8);
    assertTrue(m.contains("tensor 'w'") && m.contains("hold 8 bytes") && m.contains("needs 12"), m);

    // a truncated download: the header promises more data than the file has
    m = bad("trunc", tensor("w", "F32", "4", 0, 16), 10);
    assertTrue(m.contains("tensor 'w'") && m.contains("truncated"), m);

    m = bad("overlap", tensor("a", "F32", "2", 0, 8) + "," + tensor("b", "F32", "2", 4, 12), 12);
    assertTrue(m.contains("'a'") && m.contains("'b'") && m.contains("overlap"), m);

    m = bad("hole", tensor("a", "F32", "1", 4, 8), 8);
    assertTrue(m.contains("belong to no tensor") && m.contains("'a'"), m);

    m = bad("tail", tensor("a", "F32", "1", 0, 4), 9);
    assertTrue(m.contains("has 9 bytes but its tensors cover 4"), m);

    m = bad("dup", tensor("a", "F32", "1", 0, 4) + "," + tensor("a", "F32", "1", 4, 8), 8);
    assertTrue(m.contains("duplicate key \"a\""), m);

    m = bad("offs", tensor("a", "F32", "1", 4, 0), 4);
    assertTrue(m.contains("tensor 'a'") && m.contains("data_offsets"), m);

    m = bad("shape", tensor("a", "F32", "-1", 0, 4), 4);
    assertTrue(m.contains("tensor 'a'") && m.contains("shape"), m);

    m = msg(tmp.resolve("missing.safetensors"));
    assertTrue(m.contains("no such file"), m);
    m = msg(tmp);
    assertTrue(m.contains("directory"), m);
    for (String s : List.of("short", "past", "json", "dt", "trunc", "overlap", "hole")) {
      assertFalse(msg(tmp.resolve(s + ".safetensors")).contains("\n"), "one line: " + s);
    }
  }

  @Test
  void fp8IsReadButNotAsFloats() throws IOException {
    Path p =
        raw(
            "f8.safetensors",
            "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}",
            2);
    try (SafeTensors f = SafeTensors.open(p)) {
      assertTrue(f.info("q").dtype().fp8());
      assertEquals(2, f.data("q").byteSize());
      String m = assertThrows(WeightsException.class, () -> f.floats("q")).getMessage();
      assertTrue(m.contains("'q'") && m.contains("F8_E4M3"), m);
    }
  }

  @Test
  void viewsDieWithTheFile() {
    Path p = tmp.resolve("c.safetensors");
    SafeTensorsWriter.write(p, List.of(Entry.f32("w", new long[] {1}, new float[] {2})), null);
    SafeTensors f = SafeTensors.open(p);
    MemorySegment view = f.data("w");
    f.close();
    f.close(); // idempotent
    assertThrows(
        IllegalStateException.class,
        () -> view.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0),
        "reading an unmapped file is an exception, not a crash");
  }

  @Test
  void shardedCheckpointsThroughTheirIndex() throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("t5"));
    SafeTensorsWriter.write(
        dir.resolve("model-00001-of-00002.safetensors"),
        List.of(
            Entry.f32("enc.0", new long[] {1}, new float[] {1}),
            Entry.f32("enc.1", new long[] {1}, new float[] {2})),
        null);
    SafeTensorsWriter.write(
        dir.resolve("model-00002-of-00002.safetensors"),
        List.of(Entry.f32("enc.2", new long[] {2}, new float[] {3, 4})),
        null);
    Map<String, String> map = new LinkedHashMap<>();
    map.put("enc.0", "model-00001-of-00002.safetensors");
    map.put("enc.1", "model-00001-of-00002.safetensors");
    map.put("enc.2", "model-00002-of-00002.safetensors");
    Path index = dir.resolve("model.safetensors.index.json");
    Files.writeString(index, indexJson(map));
    for (Path open : List.of(index, dir)) {
      try (Checkpoint c = Checkpoint.open(open)) {
        assertEquals(List.of("enc.0", "enc.1", "enc.2"), c.names());
        assertEquals(2, c.files().size());
        assertArrayEquals(new float[] {3, 4}, c.file("enc.2").floats("enc.2"));
        assertEquals(8, c.data("enc.2").byteSize());
        assertEquals(index, c.source());
      }
    }

    map.put("enc.3", "model-00002-of-00002.safetensors");
    Files.writeString(index, indexJson(map));
    String m = assertThrows(WeightsException.class, () -> Checkpoint.open(index)).getMessage();
    assertTrue(m.contains("'enc.3'") && m.contains("lacks it"), m);

    map.remove("enc.3");
    map.put("enc.4", "model-00003-of-00002.safetensors");
    Files.writeString(index, indexJson(map));
    m = assertThrows(WeightsException.class, () -> Checkpoint.open(index)).getMessage();
    assertTrue(m.contains("model-00003-of-00002.safetensors") && m.contains("missing"), m);

    Files.writeString(index, "{\"metadata\":{}}");
    m = assertThrows(WeightsException.class, () -> Checkpoint.open(index)).getMessage();
    assertTrue(m.contains("weight_map"), m);
  }

  @Test
  void aDirectoryMustBeUnambiguous() {
    Path dir = tmp.resolve("two");
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
    String m = assertThrows(WeightsException.class, () -> Checkpoint.open(dir)).getMessage();
    assertTrue(m.contains("no .safetensors"), m);
    SafeTensorsWriter.write(
        dir.resolve("a.safetensors"),
        List.of(Entry.f32("w", new long[] {1}, new float[] {1})),
        null);
    try (Checkpoint c = Checkpoint.open(dir)) {
      assertEquals(List.of("w"), c.names());
    }
    SafeTensorsWriter.write(
        dir.resolve("b.safetensors"),
        List.of(Entry.f32("w", new long[] {1}, new float[] {1})),
        null);
    m = assertThrows(WeightsException.class, () -> Checkpoint.open(dir)).getMessage();
    assertTrue(m.contains("several") && m.contains("a.safetensors"), m);
  }

  private static String indexJson(Map<String, String> map) {
    StringBuilder b = new StringBuilder("{\"metadata\":{\"total_size\":16},\"weight_map\":{");
    boolean first = true;
    for (var e : map.entrySet()) {
      b.append(first ? "" : ",")
          .append('"')
          .append(e.getKey())
          .append("\":\"")
          .append(e.getValue())
          .append('"');
      first = false;
    }
    return b.append("}}").toString();
  }
}
