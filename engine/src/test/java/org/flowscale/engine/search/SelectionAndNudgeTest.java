package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * CoDe/SVDD selection cadence and choice, the DPS nudge's effect, the listener and the time split.
 */
class SelectionAndNudgeTest {
  private static final SamplingScheme VP = SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3);

  /**
   * CoDe selects at t = 1 and after every block (the last block may be shorter); each selection
   * keeps the chain's best of its K proposals, and the output is the best chain at the end.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3})
  void codeSelectsEveryBlockTheBestOfEachChain(int block) {
    int chains = 3;
    int k = 4;
    int steps = 7;
    SearchConfig c =
        Fixtures.config(FilteringMethod.CODE, chains, k, block, 1, chains * k * steps, steps, VP);
    SearchResult r;
    try (CpuParticleOps ops = new CpuParticleOps()) {
      r =
          SearchMethods.of(FilteringMethod.CODE)
              .run(c, ops, Fixtures.gaussian(5), new Fixtures.Quadratic(new float[5]), null);
    }
    int selections = 1 + (steps + block - 1) / block;
    double[] lastAccepted = new double[chains];
    for (int b = 0; b < chains; b++) {
      int chain = b;
      List<TraceEntry> mine = r.trace().stream().filter(e -> e.chain() == chain).toList();
      List<TraceEntry> accepted =
          mine.stream().filter(e -> e.event() == TraceEntry.Event.ACCEPTED).toList();
      assertEquals(selections, accepted.size(), "selections of chain " + b);
      for (TraceEntry a : accepted) {
        double best =
            mine.stream()
                .filter(e -> e.round() == a.round() && e.event() == TraceEntry.Event.PROPOSED)
                .mapToDouble(TraceEntry::reward)
                .max()
                .orElseThrow();
        assertEquals(best, a.reward(), "chain " + b + " round " + a.round());
        assertEquals(
            k,
            mine.stream()
                .filter(e -> e.round() == a.round() && e.event() == TraceEntry.Event.PROPOSED)
                .count());
      }
      lastAccepted[b] = accepted.getLast().reward();
      assertEquals(0, accepted.getLast().time(), "the last selection is at t = 0");
    }
    assertEquals(Arrays.stream(lastAccepted).max().orElseThrow(), r.reward());
    assertEquals(chains * k * steps, r.nfe());
  }

  /**
   * The DPS nudge climbs the reward: with the same noise streams (the nudge draws none), DPS ends
   * above BoN's single trajectory for most seeds (sign test at 1% over 20 seeds), at the same NFE
   * and one gradient pass per step.
   */
  @Test
  void dpsNudgeImprovesTheRewardOverThePlainTrajectory() {
    GaussianModel model = new GaussianModel(new float[8], 1.0);
    float[] target = new float[8];
    Arrays.fill(target, 1f);
    double[] dps = new double[20];
    double[] bon = new double[20];
    try (CpuParticleOps ops = new CpuParticleOps()) {
      for (int s = 0; s < 20; s++) {
        for (FilteringMethod m : List.of(FilteringMethod.DPS, FilteringMethod.BON)) {
          SearchConfig c =
              SearchConfig.builder()
                  .method(m)
                  .batchSize(1)
                  .initNParticles(1)
                  .maxNfe(10)
                  .maxSteps(10)
                  .scheme(VP)
                  .dpsStepSize(0.05)
                  .seed(40 + s)
                  .build();
          SearchResult r =
              SearchMethods.of(m).run(c, ops, model, new Fixtures.Quadratic(target), null);
          (m == FilteringMethod.DPS ? dps : bon)[s] = r.reward();
          assertEquals(10, r.nfe());
          assertEquals(m == FilteringMethod.DPS ? 10 : 0, r.gradientPasses());
        }
      }
    }
    assertTrue(PairedSignTest.mean(dps) > PairedSignTest.mean(bon));
    double p = PairedSignTest.pValue(dps, bon);
    assertTrue(
        p < 0.01, "p = " + p + " dps " + Arrays.toString(dps) + " bon " + Arrays.toString(bon));
  }

  @Test
  void listenerSeesEveryStepAndTheTimeSplitIsFilled() {
    List<String> steps = new ArrayList<>();
    long[] progress = new long[1];
    SearchListener listener =
        new SearchListener() {
          @Override
          public void onProgress(long nfe, long maxNfe) {
            assertTrue(nfe > progress[0] && nfe <= maxNfe);
            progress[0] = nfe;
          }

          @Override
          public void onStep(int step, double time, float[] tweedies, int rows, double[] rewards) {
            assertEquals(rows * 3, tweedies.length);
            assertEquals(rows, rewards.length);
            steps.add(step + "@" + rows);
          }

          @Override
          public boolean wantsIntermediates() {
            return true;
          }
        };
    for (FilteringMethod m : FilteringMethod.values()) {
      steps.clear();
      progress[0] = 0;
      boolean single =
          m == FilteringMethod.BON || m == FilteringMethod.SMC || m == FilteringMethod.DPS;
      SearchConfig c =
          Fixtures.config(m, 2, single ? 1 : 2, 1, 2, 40, 4, VP).toBuilder()
              .sop(1, 120, 780, 810) // 4 rounds, 18 NFE
              .build();
      SearchResult r;
      try (CpuParticleOps ops = new CpuParticleOps()) {
        r =
            SearchMethods.of(m)
                .run(c, ops, Fixtures.gaussian(3), new Fixtures.Quadratic(new float[3]), listener);
      }
      assertEquals(r.nfe(), progress[0], m + ": last progress is the NFE spent");
      assertTrue(steps.size() >= 4, m + " steps " + steps);
      assertTrue(r.time().modelNanos() > 0 && r.time().rewardNanos() > 0, m.configName());
      assertTrue(r.time().totalNanos() >= r.time().modelNanos() + r.time().rewardNanos());
    }
  }
}
