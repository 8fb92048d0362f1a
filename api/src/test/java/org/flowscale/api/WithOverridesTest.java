package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link FlowscaleConfig#withOverrides}: a resolved config with more overrides. */
class WithOverridesTest {
  private static FlowscaleConfig base() {
    return FlowscaleConfig.parse(
        "model: toy\nfiltering_method: rbf\nbatch_size: 2\ninit_n_particles: 25\nmax_steps: 10\n",
        "t",
        List.of(),
        false);
  }

  @Test
  void keepsEveryResolvedValueAndAppliesTheOverrides() {
    FlowscaleConfig c =
        base().withOverrides(List.of("max_nfe=200", "text_prompt='two red circles'"));
    assertEquals(200, c.search().maxNfe());
    assertEquals(2, c.search().batchSize(), "int keys survive being resolved again");
    assertEquals(base().search().maxSteps(), c.search().maxSteps());
    assertEquals("two red circles", c.prompt().orElseThrow());
    assertEquals(c.search(), c.withOverrides(List.of()).search(), "no overrides: the same config");
  }

  @Test
  void aConfigWithoutPromptStaysWithoutOne() {
    FlowscaleConfig c = base().withOverrides(List.of("backend=cpu"));
    assertEquals(true, c.prompt().isEmpty());
  }

  @Test
  void refusesBadOverridesLikeLoad() {
    ConfigurationException e =
        assertThrows(
            ConfigurationException.class, () -> base().withOverrides(List.of("max_nef=3")));
    assertEquals(true, e.getMessage().contains("did you mean 'max_nfe'"), e.getMessage());
  }
}
