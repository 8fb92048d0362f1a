package org.flowscale.bindings.torch;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.SafeDType;
import org.flowscale.bindings.weights.SafeTensorsWriter;
import org.flowscale.bindings.weights.SafeTensorsWriter.Entry;
import org.flowscale.bindings.weights.WeightsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading real weights into an architecture scripted at another width ({@code widthless.pt} from
 * make_torch_fixtures.py): the shim's slot listing, tensor replacement, int attributes and module
 * moves, and {@link TorchWeights}' checks.
 */
class TorchWeightsTest {
  @TempDir Path tmp;

  private static final int H = 8; // the real width; the file was scripted with 6
  private static final int D = 3; // the real input width; scripted with 4

  private static float[] seq(int n, float scale, float shift) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) Math.sin(i * 1.7 + shift) * scale;
    }
    return v;
  }

  private final float[] w = seq(H * D, 0.5f, 0);
  private final float[] b = seq(H, 0.3f, 1);
  private final float[] scale = seq(H, 1f, 2);
  private final float[] offset = seq(H, 0.2f, 3);

  private List<Entry> entries() {
    List<Entry> e = new ArrayList<>();
    e.add(Entry.f32("lin.weight", new long[] {H, D}, w));
    e.add(Entry.f32("lin.bias", new long[] {H}, b));
    e.add(Entry.f32("norm.scale", new long[] {H}, scale));
    e.add(Entry.f32("offset", new long[] {H}, offset));
    MemorySegment count = MemorySegment.ofArray(new byte[8]);
    count.set(JAVA_LONG_UNALIGNED, 0, 1L);
    e.add(new Entry("count", SafeDType.I64, new long[] {1}, count));
    return e;
  }

  private Path write(String name, List<Entry> entries) {
    Path p = tmp.resolve(name);
    SafeTensorsWriter.write(p, entries, Map.of());
    return p;
  }

  private static long[] shapeRule(String name) {
    return switch (name) {
      case "lin.weight" -> new long[] {H, D};
      case "lin.bias", "norm.scale", "offset" -> new long[] {H};
      default -> null;
    };
  }

  private double[] expected(float[] x, int n, int heads, long split) {
    double[] out = new double[n * heads];
    double factor = split + 1; // + count
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < H; j++) {
        double h = b[j] + offset[j];
        for (int k = 0; k < D; k++) {
          h += w[j * D + k] * x[i * D + k];
        }
        out[i * heads + j / (H / heads)] += scale[j] * h * factor;
      }
    }
    return out;
  }

  @Test
  void loadsRealWidthsIntoAnArchitectureScriptedAtAnother() {
    TorchFixtures fx = TorchFixtures.get();
    TorchShim shim = fx.shim;
    try (TorchModule m = shim.load(fx.file("widthless.pt"), -1);
        Checkpoint c = Checkpoint.open(write("w.safetensors", entries()))) {
      List<String> names = m.slots().stream().map(TorchModule.Slot::name).toList();
      assertEquals(List.of("lin.weight", "lin.bias", "norm.scale", "offset", "count"), names);
      assertArrayEquals(new long[] {6, 4}, m.slots().get(0).shape());
      assertTrue(m.slots().get(3).buffer());
      assertEquals(TorchDType.I64, m.slots().get(4).dtype());

      var options =
          TorchWeights.options()
              .expectShapes(TorchWeightsTest::shapeRule)
              .dtype(TorchDType.F64)
              .device(fx.device);
      TorchWeights.Loaded loaded = TorchWeights.load(m, c, options, "test model");
      assertEquals(5, loaded.tensors());
      assertEquals(0, loaded.leftAsScripted());
      assertEquals(fx.device, m.device());
      for (TorchModule.Slot s : m.slots()) {
        assertEquals(
            s.name().equals("count") ? TorchDType.I64 : TorchDType.F64, s.dtype(), s.name());
        assertEquals(fx.device, s.device(), s.name());
      }
      assertArrayEquals(new long[] {H, D}, m.slots().get(0).shape());

      m.setInts("heads", 4);
      m.setInts("split", 2, 5);
      m.setOptimize(false); // op by op: the same results
      assertArrayEquals(new long[] {4}, m.ints("heads"));
      assertArrayEquals(new long[] {2, 5}, m.ints("split"));

      int n = 2;
      float[] x = seq(n * D, 1f, 4);
      try (Arena a = Arena.ofConfined()) {
        MemorySegment xs = a.allocateFrom(JAVA_FLOAT, x);
        MemorySegment out = a.allocate(JAVA_DOUBLE, n * 4);
        m.forward(
            List.of(
                new TensorDesc(
                    xs.address(), new long[] {n, D}, TorchDType.F32, -1, TorchDType.F64)),
            List.of(new TensorDesc(out.address(), new long[] {n, 4}, TorchDType.F64, -1)));
        assertArrayEquals(expected(x, n, 4, 7), out.toArray(JAVA_DOUBLE), 1e-5);

        // another method of the same module
        assertTrue(m.hasMethod("twice"));
        assertFalse(m.hasMethod("thrice"));
        MemorySegment tw = a.allocate(JAVA_FLOAT, n * D);
        m.run(
            "twice",
            List.of(new TensorDesc(xs.address(), new long[] {n, D}, TorchDType.F32, -1)),
            List.of(new TensorDesc(tw.address(), new long[] {n, D}, TorchDType.F32, -1)));
        for (int i = 0; i < x.length; i++) {
          assertEquals(2 * x[i], tw.getAtIndex(JAVA_FLOAT, i));
        }
        var none =
            assertThrows(
                TorchException.class,
                () ->
                    m.run(
                        "thrice",
                        List.of(
                            new TensorDesc(xs.address(), new long[] {n, D}, TorchDType.F32, -1)),
                        List.of(
                            new TensorDesc(tw.address(), new long[] {n, D}, TorchDType.F32, -1))));
        assertTrue(none.getMessage().contains("no method 'thrice'"), none.getMessage());
      }

      // attribute errors name the attribute and the problem
      String msg = assertThrows(TorchException.class, () -> m.setInts("nope", 1)).getMessage();
      assertTrue(msg.contains("'nope'") && msg.contains("no such attribute"), msg);
      msg = assertThrows(TorchException.class, () -> m.setInts("heads", 1, 2)).getMessage();
      assertTrue(msg.contains("exactly one value"), msg);
      msg = assertThrows(TorchException.class, () -> m.setInts("version", 2)).getMessage();
      assertTrue(msg.contains("'version'") && msg.contains("Final"), msg);
      msg = assertThrows(TorchException.class, () -> m.setInts("lin.weight", 2)).getMessage();
      assertTrue(msg.contains("not an int"), msg);
      msg = assertThrows(TorchException.class, () -> m.setInts("lin.nope.x", 2)).getMessage();
      assertTrue(msg.contains("no submodule 'lin.nope'"), msg);
      try (Arena a = Arena.ofConfined()) {
        MemorySegment one = a.allocate(JAVA_FLOAT, 1);
        msg =
            assertThrows(
                    TorchException.class,
                    () ->
                        m.setTensor(
                            "lin.heads",
                            new TensorDesc(one.address(), new long[] {1}, TorchDType.F32, -1),
                            null,
                            -1))
                .getMessage();
        assertTrue(msg.contains("'lin.heads'") && msg.contains("no parameter or buffer"), msg);
      }
    }
  }

  private String failure(List<Entry> entries, TorchWeights.Options options) {
    TorchFixtures fx = TorchFixtures.get();
    try (TorchModule m = fx.shim.load(fx.file("widthless.pt"), -1);
        Checkpoint c = Checkpoint.open(write("bad.safetensors", entries))) {
      List<long[]> before = m.slots().stream().map(TorchModule.Slot::shape).toList();
      String msg =
          assertThrows(WeightsException.class, () -> TorchWeights.load(m, c, options, "test model"))
              .getMessage();
      // nothing was copied
      List<long[]> after = m.slots().stream().map(TorchModule.Slot::shape).toList();
      for (int i = 0; i < before.size(); i++) {
        assertArrayEquals(before.get(i), after.get(i));
      }
      assertFalse(msg.contains("\n"), msg);
      assertTrue(msg.contains("bad.safetensors does not fit the test model"), msg);
      return msg;
    }
  }

  @Test
  void reportsEverythingThatDoesNotFitInOneLine() {
    var rule = TorchWeights.options().expectShapes(TorchWeightsTest::shapeRule);
    List<Entry> e = entries();
    e.remove(1); // lin.bias
    e.add(Entry.f32("extra.weight", new long[] {2}, new float[2]));
    e.set(2, Entry.f32("offset", new long[] {H + 1}, new float[H + 1]));
    String msg = failure(e, rule);
    assertTrue(msg.contains("1 missing (lin.bias)"), msg);
    assertTrue(msg.contains("1 unexpected (extra.weight)"), msg);
    assertTrue(msg.contains("1 mis-shaped (offset is [9], expected [8])"), msg);

    // renamed and ignored names
    List<Entry> prefixed = new ArrayList<>();
    for (Entry x : entries()) {
      prefixed.add(new Entry("model." + x.name(), x.dtype(), x.shape(), x.data()));
    }
    prefixed.add(Entry.f32("ema.junk", new long[] {1}, new float[1]));
    TorchFixtures fx = TorchFixtures.get();
    try (TorchModule m = fx.shim.load(fx.file("widthless.pt"), -1);
        Checkpoint c = Checkpoint.open(write("prefixed.safetensors", prefixed))) {
      var o =
          TorchWeights.options()
              .expectShapes(TorchWeightsTest::shapeRule)
              .rename(n -> n.startsWith("model.") ? n.substring(6) : null);
      assertEquals(5, TorchWeights.load(m, c, o, "test model").tensors());
    }

    // optional slots may be absent; they stay as scripted
    List<Entry> noOffset = entries();
    noOffset.remove(3);
    try (TorchModule m = fx.shim.load(fx.file("widthless.pt"), -1);
        Checkpoint c = Checkpoint.open(write("opt.safetensors", noOffset))) {
      var o =
          TorchWeights.options()
              .expectShapes(TorchWeightsTest::shapeRule)
              .optional("offset"::equals);
      assertEquals(1, TorchWeights.load(m, c, o, "test model").leftAsScripted());
    }
  }

  @Test
  void unusableDtypesAreNamed() {
    var rule = TorchWeights.options().expectShapes(TorchWeightsTest::shapeRule);
    List<Entry> e = entries();
    MemorySegment ints = MemorySegment.ofArray(new byte[H * D * 4]);
    e.set(0, new Entry("lin.weight", SafeDType.I32, new long[] {H, D}, ints));
    e.set(4, Entry.f32("count", new long[] {1}, new float[] {1}));
    e.set(
        1,
        new Entry(
            "lin.bias", SafeDType.U32, new long[] {H}, MemorySegment.ofArray(new byte[H * 4])));
    String msg = failure(e, rule);
    assertTrue(msg.contains("3 of an unusable dtype"), msg);
    assertTrue(msg.contains("lin.weight is I32, but the module holds F32 there"), msg);
    assertTrue(msg.contains("count is F32, but the module holds I64 there"), msg);
    assertTrue(msg.contains("lin.bias is U32, which libtorch cannot hold"), msg);

    TorchShim shim = TorchFixtures.get().shim;
    if (!shim.dtypeSupported(TorchDType.F8_E4M3)) {
      List<Entry> f8 = entries();
      f8.set(
          1,
          new Entry(
              "lin.bias", SafeDType.F8_E4M3, new long[] {H}, MemorySegment.ofArray(new byte[H])));
      msg = failure(f8, rule);
      assertTrue(
          msg.contains(
              "lin.bias is F8_E4M3, which libtorch " + shim.torchVersion() + " cannot read"),
          msg);
    }
  }

  @Test
  void unalignedDataIsLoadedThroughAnAlignedCopy() {
    // A 2-byte tensor first puts every later F32 tensor at an odd-of-4 offset in the file.
    List<Entry> e = new ArrayList<>();
    MemorySegment pad = MemorySegment.ofArray(new byte[2]);
    e.add(new Entry("pad", SafeDType.BF16, new long[] {1}, pad));
    e.addAll(entries());
    TorchFixtures fx = TorchFixtures.get();
    try (TorchModule m = fx.shim.load(fx.file("widthless.pt"), -1);
        Checkpoint c = Checkpoint.open(write("odd.safetensors", e))) {
      assertTrue(c.data("lin.weight").address() % 4 != 0, "the test needs misaligned data");
      var o =
          TorchWeights.options()
              .expectShapes(TorchWeightsTest::shapeRule)
              .rename(n -> n.equals("pad") ? null : n);
      TorchWeights.load(m, c, o, "test model");
      m.setInts("heads", 2);
      m.setInts("split", 1, 2);
      float[] x = seq(D, 1f, 5);
      try (Arena a = Arena.ofConfined()) {
        MemorySegment xs = a.allocateFrom(JAVA_FLOAT, x);
        MemorySegment out = a.allocate(JAVA_FLOAT, 2);
        m.forward(
            List.of(new TensorDesc(xs.address(), new long[] {1, D}, TorchDType.F32, -1)),
            List.of(new TensorDesc(out.address(), new long[] {1, 2}, TorchDType.F32, -1)));
        double[] want = expected(x, 1, 2, 3);
        float[] got = out.toArray(JAVA_FLOAT);
        assertEquals(want[0], got[0], 1e-4, Arrays.toString(got));
        assertEquals(want[1], got[1], 1e-4, Arrays.toString(got));
      }
    }
  }
}
