package org.flowscale.rewards.remote;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.toy.ToyWorld;
import org.flowscale.rewards.ImagePixels;
import org.flowscale.rewards.oip.OipException;
import org.flowscale.rewards.testing.FaultyServer;
import org.flowscale.rewards.testing.ToyImages;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code reward_score: remote} against the toy reward server on a loopback port. */
class RemoteRewardTest {
  static final String PROMPT = "two blue squares and one red circle";
  static final SampleSpace IMAGES = ToyImages.SPACE;

  static ParticleOps ops;
  FaultyServer server;

  @BeforeAll
  static void backend() {
    ops = Backends.create("cpu");
  }

  @AfterAll
  static void closeBackend() {
    ops.close();
  }

  @BeforeEach
  void start() {
    server = FaultyServer.start(null);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  static float[] images(int n) {
    return ToyImages.images(n);
  }

  Map<String, Object> settings(String model) {
    Map<String, Object> s = new HashMap<>();
    s.put("reward_url", server.url().toString());
    s.put("reward_model", model);
    s.put("reward_timeout_s", 5.0);
    s.put("reward_backoff_s", 0.01);
    return s;
  }

  static double[] score(ParticleOps ops, Reward r, float[] x) {
    return ToyImages.score(ops, r, x);
  }

  static double[] inProcess(String name, String prompt, float[] x) {
    try (Reward r = Factories.reward(name).create(name, Map.of(), prompt, IMAGES)) {
      return score(ops, r, x);
    }
  }

  double[] remote(Map<String, Object> settings, String prompt, float[] x) {
    try (RewardModel m = new RemoteRewardFactory(v -> null).load("remote", settings, IMAGES);
        Reward r = m.condition(prompt)) {
      return score(ops, r, x);
    }
  }

  @Test
  void fp32ImagesGiveTheInProcessScoresExactly() {
    float[] x = images(10);
    for (String name : List.of("counting", "compositional", "aesthetic")) {
      Map<String, Object> s = settings(name);
      s.put("reward_image_dtype", "fp32");
      String prompt = name.equals("aesthetic") ? null : PROMPT;
      double[] want = inProcess(name, prompt, x);
      assertArrayEquals(want, remote(s, prompt, x), 0.0, name);
    }
  }

  @Test
  void uint8ImagesGiveTheScoresOfTheQuantisedImages() {
    float[] x = images(6);
    float[] q = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      q[i] = ImagePixels.fromUint8(ImagePixels.toUint8(x[i]));
    }
    for (String name : List.of("counting", "compositional")) {
      double[] want = inProcess(name, PROMPT, q);
      assertArrayEquals(want, remote(settings(name), PROMPT, x), 0.0, name);
    }
  }

  @Test
  void batchesAreSplitAsConfiguredAndKeepTheirOrder() {
    float[] x = images(10);
    Map<String, Object> s = settings("counting");
    s.put("reward_batch_size", 4L);
    s.put("reward_image_dtype", "fp32");
    double[] got = remote(s, PROMPT, x);
    assertEquals(List.of(4, 4, 2), server.batchSizes());
    assertArrayEquals(inProcess("counting", PROMPT, x), got, 0.0);
    assertEquals(List.of(PROMPT, PROMPT, PROMPT), server.prompts());
  }

  @Test
  void aPromptFreeRewardSendsNoPrompt() {
    remote(settings("aesthetic"), null, images(2));
    assertEquals(List.of(""), server.prompts());
  }

  @Test
  void fp32ColumnScoresAreAccepted() {
    float[] x = images(3);
    server.answer(FaultyServer.Answer.FP32_COLUMN, 1);
    Map<String, Object> s = settings("counting");
    s.put("reward_image_dtype", "fp32");
    double[] want = inProcess("counting", PROMPT, x);
    double[] got = remote(s, PROMPT, x);
    for (int i = 0; i < want.length; i++) {
      assertEquals((float) want[i], got[i], 0.0);
    }
  }

  @Test
  void retriesAfter503sUntilTheServerAnswers() {
    server.failNext(3, 503, "warming up");
    Map<String, Object> s = settings("counting");
    s.put("reward_retries", 3L);
    double[] got = remote(s, PROMPT, images(2));
    assertEquals(2, got.length);
    assertEquals(4, server.inferRequests());
  }

  @Test
  void givesUpAfterTheRetriesWithTheServersMessage() {
    server.failNext(10, 503, "GPU is busy");
    Map<String, Object> s = settings("counting");
    s.put("reward_retries", 2L);
    OipException e = assertThrows(OipException.class, () -> remote(s, PROMPT, images(2)));
    assertEquals(3, server.inferRequests());
    assertTrue(e.getMessage().contains("after 3 attempts"), e.getMessage());
    assertTrue(e.getMessage().contains("HTTP 503: GPU is busy"), e.getMessage());
    assertTrue(e instanceof OipException.Transient);
    assertTrue(e.getMessage().contains("remote reward 'counting' at " + server.url()));
  }

  @Test
  void aStallPastTheTimeoutIsRetried() {
    server.stallNext(1, Duration.ofSeconds(20));
    Map<String, Object> s = settings("counting");
    s.put("reward_timeout_s", 0.5);
    s.put("reward_retries", 1L);
    s.put("reward_image_dtype", "fp32");
    float[] x = images(2);
    assertArrayEquals(inProcess("counting", PROMPT, x), remote(s, PROMPT, x), 0.0);
    assertEquals(2, server.inferRequests());
  }

  @Test
  void stallsOnEveryTryEndWithATimeoutError() {
    server.stallNext(5, Duration.ofSeconds(20));
    Map<String, Object> s = settings("counting");
    s.put("reward_timeout_s", 0.3);
    s.put("reward_retries", 1L);
    OipException e = assertThrows(OipException.class, () -> remote(s, PROMPT, images(2)));
    assertTrue(e.getMessage().contains("no complete answer within 0.3 s"), e.getMessage());
    assertTrue(e.getMessage().contains("after 2 attempts"), e.getMessage());
  }

  @Test
  void aServerThatIsDownIsReportedWhenLoading() {
    Map<String, Object> s = settings("counting");
    server.close();
    OipException e =
        assertThrows(
            OipException.class, () -> new RemoteRewardFactory(v -> null).load("remote", s, IMAGES));
    assertTrue(e.getMessage().contains("cannot connect"), e.getMessage());
    assertTrue(e.getMessage().contains("/v2/health/ready"), e.getMessage());
    assertTrue(e instanceof OipException.Transient, "a server that is down may be up later");
    assertTrue(e.getMessage().contains("is it started? check reward_url"), e.getMessage());
  }

  @Test
  void anUnknownModelIsAConfigErrorWhenLoading() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new RemoteRewardFactory(v -> null).load("remote", settings("vqascore"), IMAGES));
    assertEquals(404, ((OipException) e.getCause()).status());
    assertTrue(e.getMessage().contains("unknown model 'vqascore'"), e.getMessage());
    assertTrue(e.getMessage().contains("check reward_model"), e.getMessage());
  }

  @Test
  void aWrongShapeEndsTheRequestWithoutRetrying() {
    server.answer(FaultyServer.Answer.WRONG_SHAPE, 1);
    OipException e =
        assertThrows(OipException.class, () -> remote(settings("counting"), PROMPT, images(4)));
    assertTrue(e.getMessage().contains("'scores' have shape [3], expected [4]"), e.getMessage());
    assertEquals(1, server.inferRequests());
    assertFalse(e instanceof OipException.Transient, "the same request would get the same answer");
  }

  @Test
  void aNanScoreEndsTheRequest() {
    server.answer(FaultyServer.Answer.NAN, 2);
    Map<String, Object> s = settings("counting");
    s.put("reward_batch_size", 3L);
    OipException e = assertThrows(OipException.class, () -> remote(s, PROMPT, images(6)));
    assertTrue(e.getMessage().contains("the score of image 5 is NaN"), e.getMessage());
    assertEquals(2, server.inferRequests());
  }

  @Test
  void errorBodiesEndTheRequestWithTheServersMessage() {
    server.answer(FaultyServer.Answer.ERROR_400, 1);
    OipException e =
        assertThrows(OipException.class, () -> remote(settings("counting"), PROMPT, images(2)));
    assertTrue(
        e.getMessage().contains("HTTP 400: prompt is too long for the model"), e.getMessage());
    assertEquals(1, server.inferRequests());

    server.answer(FaultyServer.Answer.ERROR_200, 1);
    e = assertThrows(OipException.class, () -> remote(settings("counting"), PROMPT, images(2)));
    assertTrue(
        e.getMessage().contains("answered an error: the reward model ran out of memory"),
        e.getMessage());
  }

  @Test
  void anAnswerWithoutScoresNamesWhatItHad() {
    server.answer(FaultyServer.Answer.NO_SCORES, 1);
    OipException e =
        assertThrows(OipException.class, () -> remote(settings("counting"), PROMPT, images(2)));
    assertTrue(e.getMessage().contains("no output 'scores' (it has [labels])"), e.getMessage());
  }

  @Test
  void theServersRefusalOfAPromptIsItsMessage() {
    OipException e =
        assertThrows(
            OipException.class, () -> remote(settings("counting"), "a purple hexagon", images(1)));
    assertTrue(e.getMessage().contains("HTTP 400"), e.getMessage());
    assertTrue(e.getMessage().contains("cannot judge the prompt"), e.getMessage());
  }

  @Test
  void brokenSamplesAreNotSent() {
    float[] x = images(2);
    x[ToyWorld.DIM + 5] = Float.NaN;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> remote(settings("counting"), PROMPT, x));
    assertTrue(e.getMessage().contains("image 1 holds NaN"), e.getMessage());
    assertEquals(0, server.inferRequests());
  }

  @Test
  void settingsAreCheckedWithTheKeyNamed() {
    record Case(String key, Object value, String message) {}
    for (Case c :
        List.of(
            new Case("reward_url", null, "reward_url must be set"),
            new Case("reward_url", "ftp://host/x", "reward_url must start with http://"),
            new Case("reward_url", "http://user:pw@host:1", "must not hold credentials"),
            new Case("reward_model", null, "reward_model must be set"),
            new Case("reward_timeout_s", 0.0, "reward_timeout_s must be in (0.0"),
            new Case("reward_retries", -1L, "reward_retries must be in [0, 100]"),
            new Case("reward_batch_size", 0L, "reward_batch_size must be in [1"),
            new Case("reward_image_dtype", "fp16", "reward_image_dtype must be uint8 or fp32"),
            new Case("reward_token_env", "s3cr3t-t0ken!", "must name an environment variable"),
            new Case("reward_tokn_env", "X", "unknown setting 'reward_tokn_env'"))) {
      Map<String, Object> s = settings("counting");
      if (c.value() == null) {
        s.remove(c.key());
      } else {
        s.put(c.key(), c.value());
      }
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> new RemoteRewardFactory(v -> null).load("remote", s, IMAGES),
              c.toString());
      assertTrue(e.getMessage().contains(c.message()), c + ": " + e.getMessage());
    }
    assertEquals(0, server.inferRequests());
  }

  @Test
  void samplesMustBeImages() {
    SampleSpace latent = () -> 64;
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new RemoteRewardFactory(v -> null).load("remote", settings("counting"), latent));
    assertTrue(e.getMessage().contains("no image form"), e.getMessage());
  }

  @Test
  void rowsOfAnotherSizeAreRefused() {
    try (RewardModel m =
            new RemoteRewardFactory(v -> null).load("remote", settings("counting"), IMAGES);
        Reward r = m.condition(PROMPT);
        Tensor x0 = ops.allocate(2, 12, DType.F32);
        Tensor out = ops.allocate(2, 1, DType.F64)) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> r.score(ops, x0, out));
      assertTrue(e.getMessage().contains("32x32 RGB images (3072 values a row), got 12"));
    }
  }

  @Test
  void oneLoadedModelServesManyPrompts() {
    float[] x = images(3);
    Map<String, Object> s = settings("counting");
    s.put("reward_image_dtype", "fp32");
    try (RewardModel m = new RemoteRewardFactory(v -> null).load("remote", s, IMAGES)) {
      for (String p : List.of(PROMPT, "three green triangles")) {
        try (Reward r = m.condition(p)) {
          assertArrayEquals(inProcess("counting", p, x), score(ops, r, x), 0.0, p);
        }
      }
      assertFalse(m.differentiable());
    }
    assertEquals(List.of(PROMPT, "three green triangles"), server.prompts());
  }
}
