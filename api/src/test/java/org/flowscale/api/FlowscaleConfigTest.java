package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Building configs from keys, and from other configs. */
class FlowscaleConfigTest {
  @Test
  void overridesApplyToAResolvedConfig() {
    FlowscaleConfig base = FlowscaleConfig.of(Map.of("max_steps", 5, "batch_size", 4));
    FlowscaleConfig c = base.withOverrides(List.of("seed=3", "deadline_s=1.5"));
    assertEquals(3, c.search().seed());
    assertEquals(5, c.search().maxSteps(), "the resolved keys are kept");
    assertEquals(4, c.search().batchSize());
    assertEquals(1500, c.deadline().orElseThrow().toMillis());
    assertEquals(0, base.search().seed(), "the base config is unchanged");
    var e =
        assertThrows(ConfigurationException.class, () -> base.withOverrides(List.of("max_nef=1")));
    assertTrue(e.getMessage().contains("did you mean 'max_nfe'?"), e.getMessage());
  }

  @Test
  void aResolvedConfigsKeysMakeTheSameConfig() {
    FlowscaleConfig c =
        FlowscaleConfig.parse(
            "text_prompt: two red circles\nmax_steps: 4\nbatch_size: 3\nmax_nfe: 120\n",
            "t",
            List.of(),
            true);
    FlowscaleConfig again = FlowscaleConfig.of(c.resolved());
    assertEquals(c.search(), again.search());
    assertEquals(c.resolved(), again.resolved());
  }
}
