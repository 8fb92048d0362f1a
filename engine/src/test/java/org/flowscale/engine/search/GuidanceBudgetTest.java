package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.GuidedVelocity;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * Classifier-free guidance costs two NFE per particle evaluation in every budget rule and in what a
 * run counts; a guided model with an unguided config (or the reverse) is refused.
 */
class GuidanceBudgetTest {
  private static final Reward NORM =
      new Reward() {
        @Override
        public String name() {
          return "neg-norm";
        }

        @Override
        public void score(ParticleOps ops, Tensor x0, Tensor out) {
          try (var a = java.lang.foreign.Arena.ofConfined()) {
            var xs = a.allocate(x0.byteSize(), 8);
            ops.download(x0, xs);
            var s = a.allocate(8L * x0.rows(), 8);
            for (int i = 0; i < x0.rows(); i++) {
              double n = 0;
              for (int j = 0; j < x0.cols(); j++) {
                float v =
                    xs.getAtIndex(
                        java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) i * x0.cols() + j);
                n += v * v;
              }
              s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, i, -n);
            }
            ops.upload(s, out);
          }
        }
      };

  private static VelocityModel guided() {
    return new GuidedVelocity(
        new GaussianModel(new float[] {1, 2, 3, 4}, 0.5),
        new GaussianModel(new float[] {0, 0, 0, 0}, 0.5),
        3.0);
  }

  private static SearchConfig.Builder base(FilteringMethod m) {
    return SearchConfig.builder().method(m).maxSteps(4).seed(3);
  }

  @Test
  void everyMethodSpendsTwoNfePerGuidedEvaluationAndNeverMoreThanTheBudget() {
    Object[][] cases = {
      {FilteringMethod.BON, base(FilteringMethod.BON).batchSize(3).maxNfe(24), 24L},
      {FilteringMethod.SMC, base(FilteringMethod.SMC).batchSize(3).maxNfe(25), 24L},
      {
        FilteringMethod.CODE,
        base(FilteringMethod.CODE).batchSize(2).nParticles(2).blockSize(2).maxNfe(32),
        32L
      },
      {FilteringMethod.SVDD, base(FilteringMethod.SVDD).batchSize(1).nParticles(3).maxNfe(24), 24L},
      // 2 x 3 initial evaluations (12 NFE), then rounds of 2 chains (4 NFE) while they fit in 41
      {
        FilteringMethod.RBF,
        base(FilteringMethod.RBF).batchSize(2).initNParticles(3).maxNfe(41),
        40L
      },
    };
    for (Object[] c : cases) {
      SearchConfig config = ((SearchConfig.Builder) c[1]).nfePerEvaluation(2).build();
      SearchMethod m = SearchMethods.of((FilteringMethod) c[0]);
      m.validate(config);
      try (CpuParticleOps ops = new CpuParticleOps();
          VelocityModel model = guided()) {
        SearchResult r = m.run(config, ops, model, NORM, null);
        assertEquals((long) c[2], r.nfe(), c[0] + " spent");
        assertEquals(0, r.nfe() % 2, c[0] + ": whole guided evaluations only");
      }
    }
  }

  @Test
  void budgetRulesCountGuidedEvaluationsAtTwoNfe() {
    SearchConfig fits =
        base(FilteringMethod.BON).batchSize(5).maxNfe(40).nfePerEvaluation(2).build();
    SearchMethods.of(FilteringMethod.BON).validate(fits);
    SearchConfig over =
        base(FilteringMethod.BON).batchSize(5).maxNfe(39).nfePerEvaluation(2).build();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> SearchMethods.of(FilteringMethod.BON).validate(over));
    assertTrue(e.getMessage().contains("classifier-free guidance"), e.getMessage());
    assertTrue(e.getMessage().contains("max_nfe >= 40"), e.getMessage());
    SearchConfig rbf =
        base(FilteringMethod.RBF)
            .batchSize(2)
            .initNParticles(25)
            .maxNfe(100)
            .nfePerEvaluation(2)
            .build();
    IllegalArgumentException q =
        assertThrows(
            IllegalArgumentException.class,
            () -> SearchMethods.of(FilteringMethod.RBF).validate(rbf));
    assertTrue(q.getMessage().contains("leaves nothing"), q.getMessage());
  }

  @Test
  void aGuidedModelWithAnUnguidedConfigIsRefused() {
    SearchConfig plain = base(FilteringMethod.BON).batchSize(2).maxNfe(8).build();
    try (VelocityModel model = guided()) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> SearchMethods.of(FilteringMethod.BON).checkInputs(plain, model, NORM));
      assertTrue(e.getMessage().contains("2 NFE per evaluation"), e.getMessage());
    }
  }
}
