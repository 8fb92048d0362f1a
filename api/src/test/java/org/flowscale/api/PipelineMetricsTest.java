package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every generation a pipeline starts is counted once, under exactly one outcome. */
class PipelineMetricsTest {
  private static void assertBalanced(PipelineMetrics m) {
    assertEquals(
        m.requests(),
        m.completed() + m.cancelled() + m.interrupted() + m.failed() + m.active(),
        "every request has one outcome: " + m);
  }

  @Test
  void aPromptTheModelRefusesCountsAsOneFailure() {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
      GenerationRequest bad =
          GenerationRequest.builder().prompt("one purple circle").maxNfe(100).build();
      assertThrows(ConfigurationException.class, () -> p.generate(bad));
      assertEquals(1, p.metrics().requests());
      assertEquals(1, p.metrics().failed(), "counted once, not once per layer");
      assertBalanced(p.metrics());
    }
  }

  @Test
  void guidanceOnAModelThatIgnoresPromptsCountsAsOneFailure() {
    try (Pipeline p =
        Pipeline.builder()
            .model("test_gaussian", Map.of("prompt_free", true))
            .reward("test_norm")
            .build()) {
      GenerationRequest guided =
          GenerationRequest.builder().prompt("p").method("bon").guidance(3.0, "q").build();
      assertThrows(ConfigurationException.class, () -> p.generate(guided));
      assertEquals(1, p.metrics().requests());
      assertEquals(1, p.metrics().failed(), "counted once, not once per layer");
      assertBalanced(p.metrics());
    }
  }

  @Test
  void failuresDuringARunCountOnce() {
    try (Pipeline p =
        Pipeline.builder()
            .model("test_gaussian", Map.of("fail_after", 2, "fail_with", "native"))
            .reward("test_norm")
            .build()) {
      GenerationRequest r =
          GenerationRequest.builder().prompt("p").method("smc").chains(2).maxNfe(20).build();
      assertThrows(NativeException.class, () -> p.generate(r));
      assertThrows(NativeException.class, () -> p.generate(r));
      assertEquals(2, p.metrics().failed());
      assertBalanced(p.metrics());
    }
  }

  @Test
  void aCheckIsNotAGeneration() {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
      assertThrows(
          ConfigurationException.class,
          () -> p.check(GenerationRequest.builder().prompt("one purple circle").build()));
      p.check(GenerationRequest.builder().prompt("one red circle").build());
      assertEquals(0, p.metrics().requests());
      assertEquals(0, p.metrics().failed(), "a refused check is not a failed generation");
      assertBalanced(p.metrics());
    }
    try (Pipeline p =
        Pipeline.builder()
            .model("test_gaussian", Map.of("prompt_free", true))
            .reward("test_norm")
            .build()) {
      assertThrows(
          ConfigurationException.class,
          () -> p.check(GenerationRequest.builder().prompt("p").guidance(2.0, "").build()));
      assertEquals(0, p.metrics().failed());
    }
  }

  @Test
  void outcomesAddUpToRequests() {
    try (Pipeline p = Pipeline.builder().model("test_gaussian").reward("test_norm").build()) {
      GenerationRequest ok =
          GenerationRequest.builder().prompt("p").method("bon").maxNfe(20).build();
      p.generate(ok);
      Cancellation c = new Cancellation();
      c.cancel();
      assertEquals(RunStatus.CANCELLED, p.generate(ok, c).status());
      assertThrows(
          ConfigurationException.class,
          () -> p.generate(GenerationRequest.builder().prompt(" ").method("bon").build()));
      PipelineMetrics m = p.metrics();
      assertEquals(3, m.requests());
      assertEquals(1, m.completed());
      assertEquals(1, m.cancelled());
      assertEquals(1, m.failed());
      assertEquals(20, m.nfe());
      assertBalanced(m);
    }
  }

  @Test
  void aCallOnAClosedPipelineIsNotARequest() {
    Pipeline p = Pipeline.builder().build();
    p.close();
    assertThrows(
        IllegalStateException.class,
        () -> p.generate(GenerationRequest.builder().prompt("one red circle").build()));
    assertEquals(0, p.metrics().requests());
    assertBalanced(p.metrics());
  }
}
