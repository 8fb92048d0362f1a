package org.flowscale.bindings.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.engine.model.VelocityModel;
import org.junit.jupiter.api.Test;

/** {@code model: torchscript} and {@code reward_score: torchscript} from config settings. */
class TorchScriptFactoryTest {

  private static Map<String, Object> modelSettings(TorchFixtures fx) {
    Map<String, Object> s = new HashMap<>();
    s.put("model_path", fx.file("velocity_mlp.pt").toString());
    s.put("sample_shape", List.of(3L, 8L, 8L));
    s.put("device", fx.device < 0 ? "cpu" : "cuda:" + fx.device);
    return s;
  }

  @Test
  void foundByNameThroughServiceLoader() {
    TorchFixtures fx = TorchFixtures.get();
    Map<String, Object> s = modelSettings(fx);
    Map<String, Object> rs = new HashMap<>();
    rs.put("reward_path", fx.file("reward_cnn.pt").toString());
    rs.put("device", s.get("device"));
    try (VelocityModel m = Factories.model("torchscript").create(s, "a prompt");
        Reward r = Factories.reward("torchscript").create("torchscript", rs, "a prompt", m)) {
      assertTrue(m.toString().startsWith("TorchScriptVelocityModel["), m.toString());
      assertEquals(192, m.dim());
      assertArrayEquals(new long[] {3, 8, 8}, m.shape());
      assertTrue(r.toString().startsWith("TorchScriptReward"), r.toString());
      assertTrue(r.toString().endsWith("image_shape [3, 8, 8]]"), "taken from the model: " + r);
      assertTrue(r.differentiable());
    }
  }

  @Test
  void badSettingsNameTheirKey() {
    TorchFixtures fx = TorchFixtures.get();
    var factory = Factories.model("torchscript");
    assertTrue(factory.keys().containsAll(List.of("model_path", "sample_shape", "device")));

    Map<String, Object> s = modelSettings(fx);
    s.remove("model_path");
    assertMessage(() -> factory.create(s, ""), "model_path must name a TorchScript file");

    Map<String, Object> s2 = modelSettings(fx);
    s2.put("model_path", "/nonexistent/velocity.pt");
    assertMessage(
        () -> factory.create(s2, ""), "model_path: no such file /nonexistent/velocity.pt");

    Map<String, Object> s3 = modelSettings(fx);
    s3.put("sample_shape", List.of(3L, 0L, 8L));
    assertMessage(() -> factory.create(s3, ""), "sample_shape[1] must be a positive integer");

    Map<String, Object> s4 = modelSettings(fx);
    s4.remove("sample_shape");
    assertMessage(() -> factory.create(s4, ""), "sample_shape must be set");

    Map<String, Object> s5 = modelSettings(fx);
    s5.put("device", "gpu");
    assertMessage(() -> factory.create(s5, ""), "device must be cpu, cuda or cuda:N, got 'gpu'");

    Map<String, Object> s6 = modelSettings(fx);
    s6.put("device", "cuda:7");
    assertMessage(() -> factory.create(s6, ""), "device: cuda:7 requested, but libtorch");

    Map<String, Object> s7 = modelSettings(fx);
    s7.put("cond", List.of(1.0, "x"));
    assertMessage(() -> factory.create(s7, ""), "cond[1] must be a finite number");

    Map<String, Object> s8 = modelSettings(fx);
    s8.put("model_pth", "x.pt");
    assertMessage(
        () -> factory.create(s8, ""), "unknown setting 'model_pth' for model 'torchscript'");

    var rewards = Factories.reward("torchscript");
    Map<String, Object> r = new HashMap<>();
    r.put("reward_path", fx.file("reward_cnn.pt").toString());
    GaussianModel g = new GaussianModel(new float[100], 1);
    assertMessage(() -> rewards.create("torchscript", r, "", g), "image_shape must be set");
    r.put("image_shape", List.of(3L, 8L, 8L));
    assertMessage(
        () -> rewards.create("torchscript", r, "", g),
        "image_shape [3, 8, 8] holds 192 values but the model's samples have 100");
    r.remove("reward_path");
    assertMessage(() -> rewards.create("torchscript", r, "", g), "reward_path must name");
  }

  @Test
  void decodedImagesReachTheModuleChannelsFirstByDefaultAndWrongLayoutsAreRefused() {
    TorchFixtures fx = TorchFixtures.get();
    var rewards = Factories.reward("torchscript");
    Map<String, Object> r = new HashMap<>();
    r.put("reward_path", fx.file("reward_cnn.pt").toString());
    var images = org.flowscale.engine.model.SampleDecoder.images(8, 8);
    // decoded images: [3, H, W] in [0, 1] unless asked otherwise
    try (var rm = rewards.load("torchscript", r, images)) {
      assertTrue(rm.toString().endsWith("image_shape [3, 8, 8], image_layout nchw]"), "" + rm);
    }
    r.put("image_shape", List.of(3L, 8L, 8L));
    try (var rm = rewards.load("torchscript", r, images)) {
      assertTrue(rm.toString().endsWith("image_layout nchw]"), "" + rm);
    }
    // nchw takes [3, H, W] only
    r.put("image_shape", List.of(8L, 8L, 3L));
    assertOneLine(
        () -> rewards.load("torchscript", r, images).close(),
        "image_shape [8, 8, 3] does not fit image_layout nchw");
    r.put("image_shape", List.of(192L));
    assertOneLine(
        () -> rewards.load("torchscript", r, images).close(),
        "image_shape [192] does not fit image_layout nchw");
    // nhwc: the rows as they are; [3, H, W] over [H, W, 3] rows would scramble them
    r.put("image_layout", "nhwc");
    r.put("image_shape", List.of(3L, 8L, 8L));
    var e = assertOneLine(() -> rewards.load("torchscript", r, images).close(), "reorders");
    assertTrue(e.contains("the samples' axes [8, 8, 3] under image_layout nhwc"), e);
    assertTrue(e.contains("use image_layout nchw"), e);
    r.remove("image_shape");
    try (var rm = rewards.load("torchscript", r, images)) {
      assertTrue(rm.toString().endsWith("image_shape [8, 8, 3]]"), "" + rm);
    }
    r.put("image_layout", "chw");
    assertOneLine(
        () -> rewards.load("torchscript", r, images).close(), "image_layout must be nchw");
    // the toy world's images ([H, W, 3], not decoded) keep the rows by default; nchw on request
    var toy = space(8, 8, 3);
    r.remove("image_layout");
    try (var rm = rewards.load("torchscript", r, toy)) {
      assertTrue(rm.toString().endsWith("image_shape [8, 8, 3]]"), "" + rm);
    }
    r.put("image_layout", "NCHW");
    try (var rm = rewards.load("torchscript", r, toy)) {
      assertTrue(rm.toString().endsWith("image_shape [3, 8, 8], image_layout nchw]"), "" + rm);
    }
    // samples that are not [H, W, 3] images have no layout to choose
    var flat = space(3, 8, 8);
    assertOneLine(
        () -> rewards.load("torchscript", r, flat).close(),
        "image_layout is for image samples of shape [H, W, 3]; this model's samples are [3, 8, 8]");
    // the reorder check itself
    assertTrue(TorchScriptRewardFactory.reorders(new long[] {3, 8, 8}, new long[] {8, 8, 3}));
    assertFalse(TorchScriptRewardFactory.reorders(new long[] {192}, new long[] {8, 8, 3}));
    assertFalse(TorchScriptRewardFactory.reorders(new long[] {8, 8, 3}, new long[] {8, 8, 3}));
  }

  /** Samples of this shape, with no image decoder. */
  private static SampleSpace space(long... shape) {
    return new SampleSpace() {
      @Override
      public int dim() {
        return Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact));
      }

      @Override
      public long[] shape() {
        return shape.clone();
      }
    };
  }

  private static String assertOneLine(Runnable r, String expected) {
    var e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(expected), "message: " + e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    return e.getMessage();
  }

  private static void assertMessage(Runnable r, String expected) {
    var e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(expected), "message: " + e.getMessage());
  }
}
