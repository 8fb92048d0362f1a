package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: a model or reward that returns NaN or an infinity used to end a run "successfully" with
 * a NaN reward and a grey image. Every method must stop with a {@link SearchFailedException} whose
 * source is the model or the reward and whose cause names the particle and the step, and keep the
 * best sample scored before.
 */
class NonFiniteTest {
  private static final int DIM = 6;
  private static final float[] TARGET = {0.5f, -0.5f, 0.25f, 0f, 1f, -1f};

  private static SearchConfig config(FilteringMethod m, SamplingScheme s) {
    return switch (m) {
      case BON, DPS, SMC -> Fixtures.config(m, 6, 1, 1, 1, 60, 10, s);
      case CODE -> Fixtures.config(m, 2, 3, 2, 1, 60, 10, s);
      case SVDD, SVDD_DPS -> Fixtures.config(m, 2, 3, 1, 1, 60, 10, s);
      case RBF, RBF_DPS -> Fixtures.config(m, 2, 1, 1, 5, 60, 10, s);
      case SOP ->
          SearchConfig.builder()
              .method(m)
              .batchSize(2)
              .nParticles(3)
              .maxNfe(14)
              .scheme(s)
              .sop(1, 60, 780, 810)
              .seed(5)
              .build();
    };
  }

  /** The Gaussian model, with {@code bad} written into row {@code row} at model call {@code at}. */
  private static VelocityModel poisoned(GaussianModel g, int at, int row, float bad) {
    return new VelocityModel() {
      private int calls;

      @Override
      public int dim() {
        return g.dim();
      }

      @Override
      public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
        g.velocity(ops, x, t, out);
        if (calls++ == at) {
          float[][] v = Fixtures.rows(ops, out);
          v[Math.min(row, v.length - 1)][DIM / 2] = bad;
          Fixtures.writeRows(ops, v, out);
        }
      }

      @Override
      public boolean hasVjp() {
        return true;
      }

      @Override
      public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
        g.velocityVjp(ops, x, t, v, out);
      }
    };
  }

  /** The quadratic reward, returning {@code bad} for row {@code row} at reward call {@code at}. */
  private static Reward poisonedReward(int at, int row, double bad) {
    Fixtures.Quadratic q = new Fixtures.Quadratic(TARGET);
    return new Reward() {
      private int calls;

      @Override
      public String name() {
        return "poisoned";
      }

      @Override
      public boolean differentiable() {
        return true;
      }

      @Override
      public void score(ParticleOps ops, Tensor x0, Tensor out) {
        gradient(ops, x0, out, null);
      }

      @Override
      public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
        if (outGrad == null) {
          q.score(ops, x0, outScores);
        } else {
          q.gradient(ops, x0, outScores, outGrad);
        }
        if (calls++ == at) {
          double[] v = new double[x0.rows()];
          float[][] x = Fixtures.rows(ops, x0);
          for (int i = 0; i < v.length; i++) {
            double s = 0;
            for (int j = 0; j < DIM; j++) {
              s -= (x[i][j] - TARGET[j]) * (x[i][j] - TARGET[j]) / DIM;
            }
            v[i] = i == Math.min(row, v.length - 1) ? bad : s;
          }
          Fixtures.writeColumn(ops, v, outScores);
        }
      }
    };
  }

  @Test
  void aNonFiniteVelocityStopsEveryMethodNamingTheModel() {
    GaussianModel g = Fixtures.gaussian(DIM);
    float[] bads = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
    try (CpuParticleOps ops = new CpuParticleOps()) {
      for (FilteringMethod m : FilteringMethod.values()) {
        for (int at : new int[] {0, 2}) {
          float bad = bads[(m.ordinal() + at) % 3];
          SearchConfig c = config(m, Fixtures.SCHEMES.get(2));
          SearchFailedException e =
              assertThrows(
                  SearchFailedException.class,
                  () ->
                      SearchMethods.of(m)
                          .run(
                              c,
                              ops,
                              poisoned(g, at, 1, bad),
                              new Fixtures.Quadratic(TARGET),
                              null),
                  m + " call " + at);
          String what = m + " call " + at + ": " + e.getMessage();
          assertEquals(SearchFailedException.Source.MODEL, e.source(), what);
          NonFiniteException n = (NonFiniteException) e.getCause();
          assertEquals(1, n.particle(), what);
          assertTrue(e.getMessage().contains("the model returned " + bad), what);
          assertTrue(e.getMessage().contains("for particle 1"), what);
          assertTrue(!Double.isNaN(n.time()), what);
          if (m == FilteringMethod.SOP) {
            continue; // sop's times are not grid steps, and it scores in its own order
          }
          assertTrue(e.getMessage().contains("for particle 1 at step "), what);
          assertTrue(n.step().isPresent(), what);
          // BoN and DPS score only at the end: nothing was scored before a model failure.
          boolean scoredBefore = at > 0 && m != FilteringMethod.BON && m != FilteringMethod.DPS;
          assertEquals(scoredBefore, e.partial().isPresent(), what + ": the best so far is kept");
        }
      }
    }
  }

  @Test
  void aNonFiniteRewardStopsEveryMethodNamingTheReward() {
    GaussianModel g = Fixtures.gaussian(DIM);
    double[] bads = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY};
    try (CpuParticleOps ops = new CpuParticleOps()) {
      for (FilteringMethod m : FilteringMethod.values()) {
        // BoN scores once, at the end; every other method scores (or takes gradients) each step.
        for (int at : m == FilteringMethod.BON ? new int[] {0} : new int[] {0, 1}) {
          double bad = bads[(m.ordinal() + at) % 3];
          SearchConfig c = config(m, Fixtures.SCHEMES.get(1));
          SearchFailedException e =
              assertThrows(
                  SearchFailedException.class,
                  () -> SearchMethods.of(m).run(c, ops, g, poisonedReward(at, 0, bad), null),
                  m + " call " + at);
          String what = m + " call " + at + ": " + e.getMessage();
          assertEquals(SearchFailedException.Source.REWARD, e.source(), what);
          assertTrue(e.getMessage().contains("the reward returned " + bad), what);
          assertTrue(e.getMessage().contains("for particle 0"), what);
          assertTrue(
              m == FilteringMethod.SOP || ((NonFiniteException) e.getCause()).step().isPresent(),
              what);
        }
      }
    }
  }

  /** States the sampler's own arithmetic blew up are blamed on the engine, not the model. */
  @Test
  void anOverflowingStateIsTheSamplersFault() {
    GaussianModel g = Fixtures.gaussian(DIM);
    SamplingScheme violent = SamplingScheme.vpSde(DiffusionCoefficient.TAN, 1e6);
    try (CpuParticleOps ops = new CpuParticleOps()) {
      SearchFailedException e =
          assertThrows(
              SearchFailedException.class,
              () ->
                  SearchMethods.of(FilteringMethod.BON)
                      .run(
                          config(FilteringMethod.BON, violent),
                          ops,
                          g,
                          new Fixtures.Quadratic(TARGET),
                          null));
      assertEquals(SearchFailedException.Source.ENGINE, e.source(), e.getMessage());
      assertTrue(e.getMessage().contains("the sampler's state became"), e.getMessage());
    }
  }
}
