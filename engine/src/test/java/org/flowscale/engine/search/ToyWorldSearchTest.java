package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * The paper's two claims on the toy world with a counting prompt at 500 NFE, each paired by seed
 * over fixed seeds (so the test is deterministic) and judged with a one-sided sign test at 1%.
 *
 * <p><b>VP-SDE beats the linear ODE for RBF</b> at the paper's settings (2 chains of 25 initial
 * particles, 10 exp steps, square diffusion with norm 3): the ODE's deterministic proposals from
 * one state are all the same.
 *
 * <p><b>RBF beats BoN</b> does not hold at the paper's settings: "five yellow circles" at beta 3,
 * BoN -0.05 and RBF -3.42 over 20 seeds (2026-11-27); "four blue circles and two yellow squares" at
 * beta 7, BoN -3.84 and RBF -5.47. The toy world's content is a discrete choice among templates,
 * made between {@code t = 0.9} and 0.6; every initial particle at {@code t = 1} has the same
 * Tweedie estimate, and with a graded reward rollovers come early, so some 400 proposals pile up at
 * the last step, where square diffusion ({@code g = 3 r^2}) makes them nearly identical. It holds
 * with settings chosen for that structure, none of which changes RBF's rules: 10 chains (so 10
 * template choices are explored, with the paper's 50 initial NFE as 10 x 5), sigma diffusion with
 * norm 3 (so late proposals still differ) and 20 exp steps (more decision points inside the
 * decisive window). BoN samples in the same mode (25 trajectories x 20 steps). The settings were
 * picked on development seeds 9000-9019 and confirmed once on the seeds used here; every
 * configuration tried, and the caveat that strong diffusion also hurts BoN (whose best mode, the
 * linear ODE, RBF does not beat significantly), is in {@code bench/results/rbf-vs-bon-toy.md}.
 * Those numbers used the whole run's best proposal as RBF's output; with the reference's {@code
 * last_step} rule, now the default, RBF scores -2.20 vs BoN -8.70 (p = 1.4e-4) and VP-SDE -3.45 vs
 * linear ODE -18.30 (p = 3.8e-5) on the same seeds (2026-11-30).
 */
class ToyWorldSearchTest {
  private static final int SEEDS = 20;
  private static final String PROMPT = "five yellow circles";

  private static double[] rbf(SamplingScheme scheme) {
    // beta 3 makes the prompt hard enough that plain sampling rarely satisfies it.
    VelocityModel model = Factories.model("toy").create(Map.of("beta", 3.0), PROMPT);
    double[] rewards = new double[SEEDS];
    try (model;
        Reward reward = Factories.reward("counting").create("counting", Map.of(), PROMPT, model);
        CpuParticleOps ops = new CpuParticleOps()) {
      for (int s = 0; s < SEEDS; s++) {
        SearchConfig c =
            SearchConfig.builder()
                .method(FilteringMethod.RBF)
                .batchSize(2)
                .initNParticles(25)
                .maxNfe(500)
                .maxSteps(10)
                .scheme(scheme)
                .dpsStepSize(0)
                .seed(7000 + s)
                .build();
        rewards[s] =
            SearchMethods.of(FilteringMethod.RBF).run(c, ops, model, reward, null).reward();
      }
    }
    return rewards;
  }

  /**
   * RBF (10 chains x 5 initial particles) or BoN (25 x 1) on "five yellow circles" at beta 1,
   * VP-SDE with sigma diffusion of norm 3, 20 exp steps, 500 NFE, seeds 7100-7129.
   */
  private static double[] versus(FilteringMethod m) {
    String prompt = "five yellow circles";
    int seeds = 30;
    VelocityModel model = Factories.model("toy").create(Map.of("beta", 1.0), prompt);
    double[] rewards = new double[seeds];
    try (model;
        Reward reward = Factories.reward("counting").create("counting", Map.of(), prompt, model);
        CpuParticleOps ops = new CpuParticleOps()) {
      for (int s = 0; s < seeds; s++) {
        boolean rbf = m == FilteringMethod.RBF;
        SearchConfig c =
            SearchConfig.builder()
                .method(m)
                .batchSize(rbf ? 10 : 25)
                .initNParticles(rbf ? 5 : 1)
                .maxNfe(500)
                .maxSteps(20)
                .scheme(SamplingScheme.vpSde(DiffusionCoefficient.SIGMA, 3))
                .dpsStepSize(0)
                .seed(7100 + s)
                .build();
        rewards[s] = SearchMethods.of(m).run(c, ops, model, reward, null).reward();
      }
    }
    return rewards;
  }

  @Test
  void rbfBeatsBestOfNWithManyChainsAndLateDiffusion() {
    double[] rbf = versus(FilteringMethod.RBF);
    double[] bon = versus(FilteringMethod.BON);
    double p = PairedSignTest.pValue(rbf, bon);
    String detail = "RBF " + Arrays.toString(rbf) + " vs BoN " + Arrays.toString(bon);
    assertTrue(PairedSignTest.mean(rbf) > PairedSignTest.mean(bon), detail);
    assertTrue(p < 0.01, "sign test p = " + p + ": " + detail);
  }

  /**
   * Search over Paths at the reference's settings (E 4, s0 120, df 780, db 810: 4 rounds) with one
   * chain of 31 copies, exactly 500 NFE, on the model's own linear ODE, against one 10-step ODE
   * sample of the same seed: "two blue squares and one red circle" (beta 7), seeds 8000-8019, the
   * first and only seeds tried (2026-11-30: SoP 0.00 vs -2.55, p = 3.1e-5).
   */
  @Test
  void searchOverPathsBeatsASingleOdeSample() {
    String prompt = "two blue squares and one red circle";
    VelocityModel model = Factories.model("toy").create(Map.of(), prompt);
    double[] sop = new double[SEEDS];
    double[] base = new double[SEEDS];
    try (model;
        Reward reward = Factories.reward("counting").create("counting", Map.of(), prompt, model);
        CpuParticleOps ops = new CpuParticleOps()) {
      for (int s = 0; s < SEEDS; s++) {
        SearchConfig c =
            SearchConfig.builder()
                .method(FilteringMethod.SOP)
                .batchSize(1)
                .nParticles(31)
                .maxNfe(500)
                .scheme(SamplingScheme.linearOde())
                .seed(8000 + s)
                .build();
        SearchResult r = SearchMethods.of(FilteringMethod.SOP).run(c, ops, model, reward, null);
        assertEquals(500, r.nfe());
        sop[s] = r.reward();
        SearchConfig one =
            c.toBuilder().method(FilteringMethod.BON).nParticles(1).maxNfe(10).build();
        base[s] = SearchMethods.of(FilteringMethod.BON).run(one, ops, model, reward, null).reward();
      }
    }
    double p = PairedSignTest.pValue(sop, base);
    String detail = "SoP " + Arrays.toString(sop) + " vs one sample " + Arrays.toString(base);
    assertTrue(PairedSignTest.mean(sop) > PairedSignTest.mean(base), detail);
    assertTrue(p < 0.01, "sign test p = " + p + ": " + detail);
  }

  @Test
  void rbfWithVpSdeBeatsRbfWithLinearOde() {
    double[] vp = rbf(SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3));
    double[] ode = rbf(SamplingScheme.linearOde());
    double p = PairedSignTest.pValue(vp, ode);
    String detail = "VP-SDE " + Arrays.toString(vp) + " vs linear ODE " + Arrays.toString(ode);
    assertTrue(PairedSignTest.mean(vp) > PairedSignTest.mean(ode), detail);
    assertTrue(p < 0.01, "sign test p = " + p + ": " + detail);
  }
}
