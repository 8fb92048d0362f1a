package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.flowscale.api.testing.TestFailures;
import org.junit.jupiter.api.Test;

/**
 * Failures become the library's exceptions, each with what a caller needs to decide: whose fault it
 * was, whether retrying may help, whether the pipeline can serve more requests, and the best sample
 * so far.
 */
class PipelineErrorsTest {
  /** SMC, 2 chains x 10 steps: one model call and one reward call per step. */
  private static final GenerationRequest SMC =
      GenerationRequest.builder().prompt("p").method("smc").chains(2).steps(10).maxNfe(20).build();

  private static Pipeline pipeline(Map<String, ?> model, Map<String, ?> reward) {
    return Pipeline.builder().model("test_gaussian", model).reward("test_norm", reward).build();
  }

  @Test
  void aNativeModelFailureIsNativeAndKeepsTheBestSoFar() {
    try (Pipeline p = pipeline(Map.of("fail_after", 4, "fail_with", "native"), Map.of())) {
      var e = assertThrows(NativeException.class, () -> p.generate(SMC));
      assertEquals("model", e.component());
      assertTrue(e.pipelineUsable(), "the device context was not lost");
      assertInstanceOf(TestFailures.Native.class, e.getCause());
      assertTrue(e.getMessage().startsWith("model 'test_gaussian' failed: "), e.getMessage());
      assertTrue(e.getMessage().contains("(native)"), "the native message: " + e.getMessage());
      GenerationResult partial = e.partial().orElseThrow();
      assertEquals(RunStatus.FAILED, partial.status());
      assertEquals(8, partial.nfe(), "4 model calls of 2 rows before the failure");
      assertEquals(1, p.metrics().failed());
      assertEquals(1, p.metrics().requests());
    }
  }

  @Test
  void aLostDeviceSaysThePipelineMustBeRebuilt() {
    try (Pipeline p = pipeline(Map.of("fail_after", 2, "fail_with", "device_lost"), Map.of())) {
      var e = assertThrows(NativeException.class, () -> p.generate(SMC));
      assertEquals("model", e.component());
      assertFalse(e.pipelineUsable(), e.getMessage());
    }
  }

  @Test
  void aBugInTheModelIsAModelException() {
    try (Pipeline p = pipeline(Map.of("fail_after", 3), Map.of())) {
      var e = assertThrows(ModelException.class, () -> p.generate(SMC));
      assertEquals("test_gaussian", e.model());
      assertInstanceOf(IllegalStateException.class, e.getCause());
    }
  }

  @Test
  void aRewardThatMayRecoverIsRetryableAndOtherRewardFailuresAreNot() {
    try (Pipeline p =
        pipeline(Map.of(), Map.of("reward_fail_after", 3, "reward_fail_with", "transient"))) {
      var e = assertThrows(RewardException.class, () -> p.generate(SMC));
      assertEquals("test_norm", e.reward());
      assertTrue(e.retryable(), e.getMessage());
      assertTrue(e.getMessage().startsWith("reward 'test_norm' failed: "), e.getMessage());
      GenerationResult partial = e.partial().orElseThrow();
      assertEquals(RunStatus.FAILED, partial.status());
      assertTrue(Double.isFinite(partial.reward()), "scored rounds before the failure are kept");
      assertEquals(1, p.metrics().failed());
    }
    try (Pipeline p = pipeline(Map.of(), Map.of("reward_fail_after", 3))) {
      var e = assertThrows(RewardException.class, () -> p.generate(SMC));
      assertFalse(e.retryable(), "a bug fails the same way again: " + e.getMessage());
    }
    try (Pipeline p =
        pipeline(Map.of(), Map.of("reward_fail_after", 3, "reward_fail_with", "native"))) {
      var e = assertThrows(NativeException.class, () -> p.generate(SMC));
      assertEquals("reward", e.component());
      assertTrue(e.pipelineUsable());
    }
  }

  @Test
  void failuresWhileLoadingAreTypedAndCarryNoResult() {
    var n =
        assertThrows(
            NativeException.class,
            () -> pipeline(Map.of("fail_load", true, "fail_with", "native"), Map.of()));
    assertEquals("model", n.component());
    assertTrue(n.getMessage().startsWith("model 'test_gaussian' failed to load: "), n.getMessage());
    assertTrue(n.partial().isEmpty(), "nothing ran");
    var m = assertThrows(ModelException.class, () -> pipeline(Map.of("fail_load", true), Map.of()));
    assertEquals("test_gaussian", m.model());
    assertTrue(m.partial().isEmpty());
    var c =
        assertThrows(
            ConfigurationException.class,
            () -> pipeline(Map.of("fail_load", true, "fail_with", "sometimes"), Map.of()));
    assertTrue(c.getMessage().contains("fail_with must be"), c.getMessage());
  }

  @Test
  void everyKindIsAFlowscaleException() {
    for (Class<?> k :
        new Class<?>[] {
          ConfigurationException.class,
          ModelException.class,
          RewardException.class,
          NativeException.class
        }) {
      assertEquals(FlowscaleException.class, k.getSuperclass(), k.getName());
    }
  }
}
