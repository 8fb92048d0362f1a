package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/** Configs that break a method's rules are refused naming the clashing numbers and a fix. */
class RefusalTest {
  private static final SamplingScheme ODE = SamplingScheme.linearOde();

  private static String refusal(SearchConfig c) {
    return assertThrows(
            IllegalArgumentException.class, () -> SearchMethods.of(c.method()).validate(c))
        .getMessage();
  }

  @Test
  void overBudgetNamesTheProductAndWhatFits() {
    String m = refusal(Fixtures.config(FilteringMethod.CODE, 50, 2, 1, 1, 500, 10, ODE));
    assertEquals(
        "code: max_steps 10 x batch_size 50 x n_particles 2 = 1000 NFE exceeds max_nfe 500; use"
            + " batch_size <= 25 (or max_nfe >= 1000)",
        m);
    String bon = refusal(Fixtures.config(FilteringMethod.BON, 51, 1, 1, 1, 500, 10, ODE));
    assertTrue(
        bon.contains("510 NFE exceeds max_nfe 500") && bon.contains("batch_size <= 50"), bon);
    String steps = refusal(Fixtures.config(FilteringMethod.SVDD, 2, 25, 1, 1, 20, 10, ODE));
    assertTrue(steps.contains("500 NFE exceeds max_nfe 20"), steps);
    assertTrue(steps.contains("max_steps <="), steps);
  }

  @Test
  void blockSizeOnlyMeansSomethingToCode() {
    String m = refusal(Fixtures.config(FilteringMethod.SMC, 50, 1, 2, 1, 500, 10, ODE));
    assertTrue(m.contains("block_size 2 is meaningless for smc"), m);
    String svdd = refusal(Fixtures.config(FilteringMethod.SVDD, 2, 25, 2, 1, 500, 10, ODE));
    assertTrue(svdd.contains("use filtering_method code"), svdd);
    String code = refusal(Fixtures.config(FilteringMethod.CODE, 2, 25, 11, 1, 500, 10, ODE));
    assertTrue(code.contains("block_size 11 exceeds max_steps 10"), code);
    SearchMethods.of(FilteringMethod.CODE)
        .validate(Fixtures.config(FilteringMethod.CODE, 2, 25, 2, 1, 500, 10, ODE));
  }

  @Test
  void rbfInitialParticlesMustLeaveBudget() {
    String m = refusal(Fixtures.config(FilteringMethod.RBF, 2, 1, 1, 250, 500, 10, ODE));
    assertTrue(
        m.contains("init_n_particles 250 x batch_size 2 = 500 NFE leaves nothing of max_nfe 500"),
        m);
    assertTrue(m.contains("use init_n_particles <= 240"), m);
    String q = refusal(Fixtures.config(FilteringMethod.RBF, 2, 1, 1, 245, 500, 10, ODE));
    assertTrue(q.contains("= 0 NFE per chain per step; use max_nfe >= 510"), q);
    String s = refusal(Fixtures.config(FilteringMethod.RBF, 2, 1, 1, 25, 500, 1, ODE));
    assertTrue(s.contains("max_steps >= 2"), s);
    SearchMethods.of(FilteringMethod.RBF)
        .validate(Fixtures.config(FilteringMethod.RBF, 2, 1, 1, 25, 500, 10, ODE));
  }

  @Test
  void singleTrajectoryMethodsRefuseParticles() {
    String m = refusal(Fixtures.config(FilteringMethod.BON, 10, 5, 1, 1, 500, 10, ODE));
    assertTrue(m.contains("needs n_particles = 1, got n_particles 5"), m);
    assertTrue(m.contains("use batch_size 50"), m);
  }

  @Test
  void dpsNeedsAStepSizeADifferentiableRewardAndAModelVjp() {
    SearchConfig zero =
        SearchConfig.builder()
            .method(FilteringMethod.DPS)
            .batchSize(2)
            .initNParticles(1)
            .maxNfe(20)
            .maxSteps(10)
            .scheme(ODE)
            .dpsStepSize(0)
            .seed(1)
            .build();
    assertTrue(refusal(zero).contains("dps step size > 0"));
    SearchConfig ok = Fixtures.config(FilteringMethod.SVDD_DPS, 2, 2, 1, 1, 40, 10, ODE);
    SearchMethod svddDps = SearchMethods.of(FilteringMethod.SVDD_DPS);
    GaussianModel model = Fixtures.gaussian(2);
    try (CpuParticleOps ops = new CpuParticleOps()) {
      String r =
          assertThrows(
                  IllegalArgumentException.class,
                  () -> svddDps.run(ok, ops, model, new Fixtures.Scripted(0), null))
              .getMessage();
      assertTrue(r.contains("needs a differentiable reward, and 'scripted' is not; use svdd"), r);
      VelocityModel noVjp =
          new VelocityModel() {
            @Override
            public int dim() {
              return 2;
            }

            @Override
            public void velocity(ParticleOps o, Tensor x, Tensor t, Tensor out) {
              model.velocity(o, x, t, out);
            }
          };
      String v =
          assertThrows(
                  IllegalArgumentException.class,
                  () -> svddDps.run(ok, ops, noVjp, new Fixtures.Quadratic(new float[2]), null))
              .getMessage();
      assertTrue(v.contains("vector-Jacobian product"), v);
    }
  }
}
