package org.flowscale.bindings.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.bindings.testing.TorchTesting;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.SearchMethods;
import org.flowscale.engine.search.SearchResult;
import org.junit.jupiter.api.Test;

/**
 * The search algorithms driving TorchScript models and rewards (the engine side of the CLI run).
 */
class TorchScriptSearchTest {
  private static final long[] SHAPE = {3, 8, 8};

  private static SearchConfig config(FilteringMethod m, long nfe) {
    return SearchConfig.builder()
        .method(m)
        .batchSize(2)
        .initNParticles(5)
        .maxNfe(nfe)
        .maxSteps(5)
        .scheme(SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3.0))
        .dpsStepSize(0.05)
        .seed(7)
        .build();
  }

  private static SearchResult run(SearchConfig c, VelocityModel model, TorchScriptReward reward) {
    try (CpuParticleOps ops = new CpuParticleOps()) {
      return SearchMethods.of(c.method()).run(c, ops, model, reward, SearchListener.NONE);
    }
  }

  @Test
  void rbfWithTheTorchScriptGaussianFollowsTheEnginesGaussian() {
    // The same exact velocity computed by libtorch and by the engine: RBF takes the same
    // decisions and returns the same sample up to float rounding.
    TorchFixtures fx = TorchFixtures.get();
    SearchConfig c = config(FilteringMethod.RBF, 40);
    try (var reward =
            new TorchScriptReward(
                fx.shim, fx.shim.load(fx.file("reward_cnn.pt"), fx.device), SHAPE);
        var torch =
            new TorchScriptVelocityModel(
                fx.shim, fx.shim.load(fx.file("gaussian_velocity.pt"), fx.device), SHAPE, null)) {
      GaussianModel exact =
          new GaussianModel(fx.floats("gaussian_mean"), fx.scalar("gaussian_var"));
      SearchResult a = run(c, torch, reward);
      SearchResult b = run(c, exact, reward);
      assertEquals(b.nfe(), a.nfe());
      assertTrue(a.nfe() <= 40 && a.nfe() > 10, "nfe " + a.nfe());
      assertEquals(b.reward(), a.reward(), 1e-4 * Math.abs(b.reward()) + 1e-6);
      double[] sa = new double[a.sample().length];
      double[] sb = new double[sa.length];
      for (int i = 0; i < sa.length; i++) {
        sa[i] = a.sample()[i];
        sb[i] = b.sample()[i];
      }
      double err = TorchTesting.relErr(sa, sb);
      assertTrue(err < 1e-4, "samples differ by " + err);
    }
  }

  @Test
  void rbfDpsUsesTheRewardGradientThroughLibtorch() {
    TorchFixtures fx = TorchFixtures.get();
    SearchConfig c = config(FilteringMethod.RBF_DPS, 30);
    try (var reward =
            new TorchScriptReward(
                fx.shim, fx.shim.load(fx.file("reward_cnn.pt"), fx.device), SHAPE);
        var mlp =
            new TorchScriptVelocityModel(
                fx.shim, fx.shim.load(fx.file("velocity_mlp.pt"), fx.device), SHAPE, null)) {
      SearchResult r = run(c, mlp, reward);
      assertTrue(r.nfe() <= 30, "nfe " + r.nfe());
      assertTrue(r.gradientPasses() > 0, "gradient passes " + r.gradientPasses());
      assertTrue(Double.isFinite(r.reward()));
      for (float v : r.sample()) {
        assertTrue(Float.isFinite(v));
      }
    }
  }
}
