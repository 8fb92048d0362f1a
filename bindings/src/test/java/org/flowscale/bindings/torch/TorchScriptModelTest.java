package org.flowscale.bindings.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.testing.TorchTesting;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.NativeTensor;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Java -> shim -> libtorch reproduces the fixtures' PyTorch references (relative error below 1e-5),
 * on the device under test ({@code flowscale.torch.device}) with zero-copy tensors.
 */
class TorchScriptModelTest {
  private static final double TOL = 1e-5;
  private static final long[] SHAPE = {3, 8, 8};
  private static TorchFixtures fx;
  private static CpuParticleOps ops;
  private static TorchTensors tensors;
  private static TorchScriptVelocityModel mlp;
  private static TorchScriptReward reward;

  @BeforeAll
  static void load() {
    fx = TorchFixtures.get();
    ops = new CpuParticleOps();
    tensors = new TorchTensors(fx, ops);
    mlp =
        new TorchScriptVelocityModel(
            fx.shim, fx.shim.load(fx.file("velocity_mlp.pt"), fx.device), SHAPE, null);
    reward =
        new TorchScriptReward(fx.shim, fx.shim.load(fx.file("reward_cnn.pt"), fx.device), SHAPE);
  }

  @AfterAll
  static void close() {
    if (mlp != null) {
      mlp.close();
      reward.close();
      ops.close();
    }
  }

  private static Tensor x() {
    return tensors.of(fx.values("x"), 5, 192, DType.F32);
  }

  private static Tensor t() {
    return tensors.of(fx.values("t"), 5, 1, DType.F64);
  }

  @Test
  void velocityMatchesPyTorch() {
    try (Tensor x = x();
        Tensor t = t();
        Tensor out = tensors.allocate(5, 192, DType.F32)) {
      mlp.velocity(ops, x, t, out);
      double err = TorchTesting.relErr(tensors.read(out), fx.values("velocity"));
      assertTrue(err < TOL, "relative error " + err);
      assertEquals(192, mlp.dim());
    }
  }

  @Test
  void conditionedVelocityMatchesPyTorch() {
    // The fixture's cond differs per row; the model's cond is one row for all, so check row 0
    // of a single-row batch built from it.
    float[] cond = new float[4];
    double[] all = fx.values("cond");
    for (int i = 0; i < 4; i++) {
      cond[i] = (float) all[i];
    }
    try (var m =
            new TorchScriptVelocityModel(
                fx.shim, fx.shim.load(fx.file("velocity_mlp.pt"), fx.device), SHAPE, cond);
        Tensor x = tensors.of(java.util.Arrays.copyOf(fx.values("x"), 192), 1, 192, DType.F32);
        Tensor t = tensors.of(new double[] {fx.values("t")[0]}, 1, 1, DType.F64);
        Tensor out = tensors.allocate(1, 192, DType.F32)) {
      m.velocity(ops, x, t, out);
      double[] ref = java.util.Arrays.copyOf(fx.values("velocity_cond"), 192);
      double err = TorchTesting.relErr(tensors.read(out), ref);
      assertTrue(err < TOL, "relative error " + err);
    }
  }

  @Test
  void velocityVjpMatchesPyTorch() {
    try (Tensor x = x();
        Tensor t = t();
        Tensor v = tensors.of(fx.values("cotangent"), 5, 192, DType.F32);
        Tensor out = tensors.allocate(5, 192, DType.F32)) {
      assertTrue(mlp.hasVjp());
      mlp.velocityVjp(ops, x, t, v, out);
      double err = TorchTesting.relErr(tensors.read(out), fx.values("velocity_vjp"));
      assertTrue(err < TOL, "relative error " + err);
      // The caller's x is untouched by autograd.
      assertArrayEquals(fx.floats("x"), toFloats(tensors.read(x)));
    }
  }

  @Test
  void rewardScoresAndGradientMatchPyTorch() {
    try (Tensor x = x();
        Tensor scores = tensors.allocate(5, 1, DType.F64);
        Tensor scores2 = tensors.allocate(5, 1, DType.F64);
        Tensor grad = tensors.allocate(5, 192, DType.F32)) {
      reward.score(ops, x, scores);
      assertTrue(TorchTesting.relErr(tensors.read(scores), fx.values("reward")) < TOL);
      assertTrue(reward.differentiable());
      reward.gradient(ops, x, scores2, grad);
      assertTrue(TorchTesting.relErr(tensors.read(scores2), fx.values("reward")) < TOL);
      double err = TorchTesting.relErr(tensors.read(grad), fx.values("reward_grad"));
      assertTrue(err < TOL, "relative error " + err);
    }
  }

  @Test
  void rewardOnDecodedImagesTakesThemChannelsFirstInZeroOne() {
    // [N, 8, 8, 3] in [-1, 1] rows (SampleDecoder's layout) reach reward_cnn.pt as
    // (x.permute(0, 3, 1, 2) + 1) / 2; scores and the gradient (back in the rows' layout, times
    // 0.5) match eager PyTorch. The same module given the rows reshaped scores differently.
    Map<String, Object> settings = new HashMap<>();
    settings.put("reward_path", fx.file("reward_cnn.pt").toString());
    settings.put("device", fx.device < 0 ? "cpu" : "cuda:" + fx.device);
    var images = org.flowscale.engine.model.SampleDecoder.images(8, 8);
    try (var rm = Factories.reward("torchscript").load("torchscript", settings, images);
        Tensor x = tensors.of(fx.values("images_hwc"), 5, 192, DType.F32);
        Tensor scores = tensors.allocate(5, 1, DType.F64);
        Tensor scores2 = tensors.allocate(5, 1, DType.F64);
        Tensor grad = tensors.allocate(5, 192, DType.F32)) {
      var r = rm.condition("");
      r.score(ops, x, scores);
      double serr = TorchTesting.relErr(tensors.read(scores), fx.values("reward_nchw"));
      assertTrue(serr < TOL, "scores: relative error " + serr);
      r.gradient(ops, x, scores2, grad);
      assertTrue(TorchTesting.relErr(tensors.read(scores2), fx.values("reward_nchw")) < TOL);
      double gerr = TorchTesting.relErr(tensors.read(grad), fx.values("reward_nchw_grad"));
      assertTrue(gerr < TOL, "gradient: relative error " + gerr);
      // the caller's rows are untouched by the map
      assertArrayEquals(fx.floats("images_hwc"), toFloats(tensors.read(x)));
      // rows reshaped as they are (the old behaviour) are another function of the same values
      reward.score(ops, x, scores);
      assertTrue(TorchTesting.relErr(tensors.read(scores), fx.values("reward_nchw")) > 1e-3);
    }
  }

  @Test
  void inputMapsAreCheckedAndReplaceable() {
    TorchModule m = fx.shim.load(fx.file("reward_cnn.pt"), fx.device);
    var batch =
        assertThrows(TorchException.class, () -> m.setInputMap(0, new long[] {1, 0, 2, 3}, 1, 0));
    assertTrue(batch.getMessage().contains("moves the batch axis 0"), batch.getMessage());
    var perm =
        assertThrows(TorchException.class, () -> m.setInputMap(0, new long[] {0, 1, 1, 3}, 1, 0));
    assertTrue(perm.getMessage().contains("is not a permutation of 0..3"), perm.getMessage());
    var nan =
        assertThrows(TorchException.class, () -> m.setInputMap(0, new long[0], Double.NaN, 0));
    assertTrue(nan.getMessage().contains("finite"), nan.getMessage());
    m.setInputMap(0, new long[] {0, 3, 1, 2}, 0.5, 0.5);
    try (var r = new TorchScriptReward(fx.shim, m, new long[] {192});
        Tensor x = x();
        Tensor s = tensors.allocate(5, 1, DType.F64)) {
      // a map of another rank than the call's input is named when the call comes
      var rank = assertThrows(TorchException.class, () -> r.score(ops, x, s));
      assertTrue(
          rank.getMessage().contains("its map permutes 4 axes, but the input has shape [5, 192]"),
          rank.getMessage());
    }
    // the identity map removes a map: the rows reach the module as they are again
    TorchModule m2 = fx.shim.load(fx.file("reward_cnn.pt"), fx.device);
    m2.setInputMap(0, new long[] {0, 3, 1, 2}, 0.5, 0.5);
    m2.setInputMap(0, new long[0], 1, 0);
    try (var r = new TorchScriptReward(fx.shim, m2, SHAPE);
        Tensor x = x();
        Tensor s = tensors.allocate(5, 1, DType.F64)) {
      r.score(ops, x, s);
      assertTrue(TorchTesting.relErr(tensors.read(s), fx.values("reward")) < TOL);
    }
    // channels first needs [3, H, W]
    try (TorchModule m3 = fx.shim.load(fx.file("reward_cnn.pt"), fx.device)) {
      var shape =
          assertThrows(
              IllegalArgumentException.class,
              () -> new TorchScriptReward(fx.shim, m3, new long[] {8, 8, 3}, true));
      assertTrue(shape.getMessage().contains("needs image_shape [3, H, W]"), shape.getMessage());
    }
  }

  @Test
  void torchScriptGaussianAgreesWithTheEngines() {
    float[] mean = fx.floats("gaussian_mean");
    GaussianModel exact = new GaussianModel(mean, fx.scalar("gaussian_var"));
    try (var ts =
            new TorchScriptVelocityModel(
                fx.shim, fx.shim.load(fx.file("gaussian_velocity.pt"), fx.device), SHAPE, null);
        Tensor xh = ops.allocate(5, 192, DType.F32);
        Tensor th = ops.allocate(5, 1, DType.F64);
        Tensor x = x();
        Tensor t = t();
        Tensor expected = ops.allocate(5, 192, DType.F32);
        Tensor out = tensors.allocate(5, 192, DType.F32)) {
      ops.upload(java.lang.foreign.MemorySegment.ofArray(fx.floats("x")), xh);
      ops.upload(java.lang.foreign.MemorySegment.ofArray(fx.values("t")), th);
      exact.velocity(ops, xh, th, expected);
      ts.velocity(ops, x, t, out);
      double err = TorchTesting.relErr(tensors.read(out), tensors.read(expected));
      assertTrue(err < TOL, "relative error " + err);
    }
  }

  @Test
  void stagedTensorsGiveTheSameResult() {
    // Tensors without an address go through download/upload: same numbers.
    try (HeapOps heap = new HeapOps();
        Tensor x = heap.of(fx.floats("x"), 5, 192);
        Tensor t = heap.of(fx.values("t"), 5);
        Tensor out = heap.allocate(5, 192, DType.F32);
        Tensor scores = heap.allocate(5, 1, DType.F64)) {
      mlp.velocity(heap, x, t, out);
      assertTrue(TorchTesting.relErr(heap.values(out), fx.values("velocity")) < TOL);
      reward.score(heap, x, scores);
      assertTrue(TorchTesting.relErr(heap.values(scores), fx.values("reward")) < TOL);
    }
  }

  @Test
  void particlesReachLibtorchWithoutACopy() {
    // The module adds 1 to its input in place: the caller's own memory must show it.
    try (TorchModule m = fx.shim.load(fx.file("add_one_in_place.pt"), fx.device);
        Tensor x = x();
        Tensor sum = tensors.allocate(1, 1, DType.F64)) {
      m.forward(
          List.of(TensorDesc.of((NativeTensor) x, 5, 3, 8, 8)),
          List.of(TensorDesc.of((NativeTensor) sum, 1)));
      double[] before = fx.values("x");
      double[] after = tensors.read(x);
      double expected = 0;
      for (int i = 0; i < before.length; i++) {
        assertEquals((float) before[i] + 1f, (float) after[i], 0, "element " + i);
        expected += (float) before[i] + 1f;
      }
      assertEquals(expected, tensors.read(sum)[0], 1e-3);
    }
  }

  @Test
  void channelFirstSamplesDecodeAsImages() {
    var decoder = mlp.imageDecoder().orElseThrow();
    assertEquals(8, decoder.height());
    assertEquals(8, decoder.width());
    float[] samples = new float[2 * 192];
    for (int i = 0; i < samples.length; i++) {
      samples[i] = i;
    }
    float[] img = decoder.decode(samples, 1);
    // pixel (y=2, x=5), channel c sits at 192 + c*64 + 2*8 + 5 in CHW
    for (int c = 0; c < 3; c++) {
      assertEquals(192 + c * 64 + 21, img[(2 * 8 + 5) * 3 + c]);
    }
    assertThrows(IllegalArgumentException.class, () -> decoder.decode(samples, 2));
    try (var flat =
        new TorchScriptVelocityModel(
            fx.shim, fx.shim.load(fx.file("velocity_mlp.pt"), fx.device), new long[] {192}, null)) {
      assertTrue(flat.imageDecoder().isEmpty());
    }
  }

  @Test
  void tupleResultsAsOwnedTensors() {
    try (TorchModule m = fx.shim.load(fx.file("tuple_out.pt"), fx.device);
        Tensor x = x()) {
      TensorDesc in = TensorDesc.of((NativeTensor) x, 5, 192);
      List<TorchTensor> outs = m.forward(List.of(in));
      try (TorchTensor doubled = outs.get(0);
          TorchTensor sums = outs.get(1)) {
        assertEquals(2, outs.size());
        assertArrayEquals(new long[] {5, 192}, doubled.shape());
        assertArrayEquals(new long[] {5}, sums.shape());
        assertEquals(fx.device, doubled.deviceIndex());
        double[] xs = fx.values("x");
        double[] d = tensors.read(doubled);
        for (int i = 0; i < xs.length; i++) {
          assertEquals(2 * (float) xs[i], d[i], 0);
        }
      }
      var e = assertThrows(IllegalStateException.class, () -> outs.get(0).address());
      assertTrue(e.getMessage().contains("closed"));
    }
  }

  private static float[] toFloats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }
}
