package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;
import org.junit.jupiter.api.Test;

/**
 * config/flux/{schnell,dev}/*.yaml carry the paper's settings (MATH.md section 7): 1024x1024, 500
 * NFE, 10 exp steps, VP-SDE with square diffusion of norm 3, and each method's chains x particles.
 */
class FluxConfigsTest {
  private static final Path DIR = Path.of("..", "config", "flux").toAbsolutePath().normalize();

  /** method -> {batch_size, n_particles or init_n_particles, block_size or 0}. */
  private static final Map<String, int[]> PAPER =
      Map.of(
          "bon", new int[] {50, 1, 0},
          "smc", new int[] {50, 1, 0},
          "code", new int[] {2, 25, 2},
          "svdd", new int[] {2, 25, 0},
          "rbf", new int[] {2, 25, 0});

  @Test
  void everyFluxConfigHasThePapersSettings() {
    for (String variant : List.of("schnell", "dev")) {
      for (Map.Entry<String, int[]> m : PAPER.entrySet()) {
        Path file = DIR.resolve(variant).resolve(m.getKey() + ".yaml");
        assertTrue(Files.isRegularFile(file), file + " is shipped");
        FlowscaleConfig c = FlowscaleConfig.load(file, List.of());
        String where = variant + "/" + m.getKey();
        SearchConfig s = c.search();
        assertEquals(FilteringMethod.byName(m.getKey()), s.method(), where);
        assertEquals(500, s.maxNfe(), where);
        assertEquals(10, s.maxSteps(), where);
        assertEquals(TimeSchedule.EXP, s.timeSchedule(), where);
        assertTrue(s.scheme().convert() && s.scheme().sde(), where + ": VP-SDE");
        assertEquals(3.0, s.scheme().diffusionNorm(), where);
        assertEquals(1, s.nfePerEvaluation(), where + ": no classifier-free guidance");
        Map<String, Object> r = c.resolved();
        assertEquals("vp", r.get("convert_scheduler"), where);
        assertEquals("square", r.get("diffusion_coefficient"), where);
        int[] p = m.getValue();
        assertEquals(p[0], s.batchSize(), where + ": chains");
        int particles = m.getKey().equals("rbf") ? s.initNParticles() : s.nParticles();
        assertEquals(p[1], particles, where + ": particles per chain");
        if (p[2] > 0) {
          assertEquals(p[2], s.blockSize(), where);
        }
        if (m.getKey().equals("smc")) {
          assertEquals(0.1, s.rewardWeight(), where);
        }
        assertEquals("flux", c.model(), where);
        Map<String, Object> ms = c.modelSettings();
        assertEquals(1024L, ((Number) ms.get("height")).longValue(), where);
        assertEquals(1024L, ((Number) ms.get("width")).longValue(), where);
        assertEquals("FLUX.1-" + variant, ms.get("model_dir"), where);
        assertEquals(
            variant.equals("dev"),
            ms.containsKey("guidance_scale"),
            where + ": only dev takes FLUX.1-dev's distilled guidance");
      }
    }
  }
}
