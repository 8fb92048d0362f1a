package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** SMC's log-space weights, ESS, resampling and the method end to end with extreme rewards. */
class SmcTest {
  /** Far beyond exp's range: exp(800) overflows a double. */
  private static final double HUGE = 800;

  @Test
  void essOfKnownWeightsSurvivesHugeLogWeights() {
    try (CpuParticleOps ops = new CpuParticleOps();
        LogWeights w = new LogWeights(ops, 3)) {
      // w proportional to (1, 1, 2): normalised (1/4, 1/4, 1/2), ESS = 1 / (3/8) = 8/3.
      w.set(new double[] {HUGE, HUGE, HUGE + Math.log(2)});
      assertEquals(8.0 / 3, w.ess(), 1e-12);
      w.set(new double[] {-HUGE, -HUGE, -HUGE + Math.log(2)});
      assertEquals(8.0 / 3, w.ess(), 1e-12);
    }
  }

  @Test
  void allEqualWeightsHaveFullEssAndOneDominantWeightHasEssOne() {
    try (CpuParticleOps ops = new CpuParticleOps();
        LogWeights w = new LogWeights(ops, 8)) {
      w.set(new double[] {HUGE, HUGE, HUGE, HUGE, HUGE, HUGE, HUGE, HUGE});
      assertEquals(8, w.ess(), 1e-9);
      w.set(new double[] {0, 0, 0, HUGE, 0, 0, 0, 0});
      assertEquals(1, w.ess(), 1e-12);
      assertEquals(3, w.argmax());
      int[] idx = w.resample(Resampling.MULTINOMIAL, 1, 7);
      for (int i : idx) {
        assertEquals(3, i, "a dominant weight takes every draw");
      }
    }
  }

  /**
   * Resampling frequencies match the weights: Pearson's chi-square over 20000 draws against the
   * 0.999 quantile of chi-square with 4 degrees of freedom (18.47). Seeds are fixed, so the test is
   * deterministic; a wrong cdf or an off-by-one index shifts thousands of draws and fails it.
   */
  @ParameterizedTest
  @EnumSource(Resampling.class)
  void resamplingFrequenciesMatchTheWeights(Resampling scheme) {
    double[] p = {0.05, 0.15, 0.2, 0.25, 0.35};
    double[] logW = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      logW[i] = Math.log(p[i]) + HUGE;
    }
    long[] count = new long[p.length];
    int calls = 4000;
    try (CpuParticleOps ops = new CpuParticleOps();
        LogWeights w = new LogWeights(ops, p.length)) {
      w.set(logW);
      for (int s = 0; s < calls; s++) {
        for (int i : w.resample(scheme, 99, s)) {
          count[i]++;
        }
      }
    }
    double total = (double) calls * p.length;
    double chi2 = 0;
    for (int i = 0; i < p.length; i++) {
      double e = total * p[i];
      chi2 += (count[i] - e) * (count[i] - e) / e;
    }
    assertTrue(
        chi2 < 18.47, scheme + ": chi2 " + chi2 + " counts " + java.util.Arrays.toString(count));
  }

  private static SearchConfig smc(int b, int steps, double lam, double ess) {
    return SearchConfig.builder()
        .method(FilteringMethod.SMC)
        .batchSize(b)
        .initNParticles(1)
        .maxNfe((long) b * steps)
        .maxSteps(steps)
        .scheme(SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3))
        .rewardWeight(lam)
        .essThreshold(ess)
        .dpsStepSize(0)
        .seed(5)
        .build();
  }

  @Test
  void overflowingWeightsResampleTheDominantParticleEverywhere() {
    // r0 / lam = 1000 and 2000: exp would overflow; particle 2 dominates and is copied into all
    // slots before the first step. Equal rewards afterwards keep the weights uniform: no more
    // resampling.
    SearchConfig c = smc(4, 3, 0.1, 0.5);
    Fixtures.Scripted reward = new Fixtures.Scripted(300, 100, 100, 200, 100);
    try (CpuParticleOps ops = new CpuParticleOps()) {
      SearchResult r =
          SearchMethods.of(FilteringMethod.SMC)
              .run(c, ops, Fixtures.gaussian(3), reward, SearchListener.NONE);
      List<TraceEntry> resampled =
          r.trace().stream().filter(e -> e.event() == TraceEntry.Event.RESAMPLED).toList();
      assertEquals(4, resampled.size());
      for (TraceEntry e : resampled) {
        assertEquals(2, e.chain());
        assertEquals(0, e.round());
        assertEquals(200, e.reward());
      }
      assertEquals(300, r.reward());
      assertEquals(12, r.nfe());
      for (float v : r.sample()) {
        assertTrue(Float.isFinite(v));
      }
    }
  }

  @Test
  void allEqualRewardsNeverResampleAndTheFirstParticleWins() {
    SearchConfig c = smc(4, 3, 1, 0.5);
    Fixtures.Scripted reward = new Fixtures.Scripted(1);
    try (CpuParticleOps ops = new CpuParticleOps()) {
      SearchResult r =
          SearchMethods.of(FilteringMethod.SMC)
              .run(c, ops, Fixtures.gaussian(3), reward, SearchListener.NONE);
      assertEquals(
          0, r.trace().stream().filter(e -> e.event() == TraceEntry.Event.RESAMPLED).count());
      TraceEntry fin = r.trace().get(r.trace().size() - 1);
      assertEquals(TraceEntry.Event.FINAL, fin.event());
      assertEquals(0, fin.chain());
    }
  }

  @Test
  void weightsAccumulateRewardDifferencesAndTheLargestWeightWins() {
    // ess_threshold 0: never resample. log w = r0 + (r1 - r0) + (r2 - r1) telescopes to r2 / lam:
    // particle 1 gains most over the run (0 -> 5) but particle 0 ends higher (6) and wins.
    SearchConfig c = smc(2, 2, 1, 0);
    Fixtures.Scripted reward = new Fixtures.Scripted(0, 5.5, 0, 1, 2, 6, 5);
    try (CpuParticleOps ops = new CpuParticleOps()) {
      SearchResult r =
          SearchMethods.of(FilteringMethod.SMC)
              .run(c, ops, Fixtures.gaussian(3), reward, SearchListener.NONE);
      assertEquals(6, r.reward());
      assertEquals(0, r.trace().get(r.trace().size() - 1).chain());
    }
  }

  private static SearchResult runSmc(SearchConfig c, org.flowscale.engine.model.Reward reward) {
    try (CpuParticleOps ops = new CpuParticleOps()) {
      return SearchMethods.of(FilteringMethod.SMC)
          .run(c, ops, Fixtures.gaussian(3), reward, SearchListener.NONE);
    }
  }

  /**
   * MATH.md section 6: never resample before the last step. The last step lands on the Tweedie
   * estimate its particle was scored on, so a resampling there would make the final weights uniform
   * and the output an arbitrary resampled row. Here one particle of four is ahead (0.5) and ESS is
   * below 1.0 x B: the largest final weight, and the output, is that particle's, on every seed.
   */
  @Test
  void neverResamplesBeforeTheLastStepAndReturnsTheLargestFinalWeight() {
    for (long seed = 0; seed < 10; seed++) {
      SearchConfig c = smc(4, 2, 1, 1.0).toBuilder().seed(seed).build();
      // init: four equal rewards (ESS exactly 4, no resampling); step 1: particle 3 ahead.
      Fixtures.ByContent reward = new Fixtures.ByContent(-1, 0, 0, 0, 0, 0, 0, 0, 0.5);
      SearchResult r = runSmc(c, reward);
      assertEquals(
          0,
          r.trace().stream()
              .filter(e -> e.event() == TraceEntry.Event.RESAMPLED && e.round() == 1)
              .count(),
          "seed " + seed + ": resampled before the last step");
      TraceEntry fin = r.trace().getLast();
      assertEquals(3, fin.chain(), "seed " + seed);
      assertEquals(0.5, r.reward(), "seed " + seed);
      assertEquals(8, reward.distinct(), "the last step lands on the scored Tweedie estimates");
    }
  }

  /**
   * Equal final weights go to the higher final reward. Particle 1 starts 0.25 ahead and is
   * resampled (systematic, ESS 1.97 < 2) into one slot beside particle 0; both then gain exactly 1,
   * so their weights tie while their rewards are 1.0 and 1.25.
   */
  @Test
  void equalFinalWeightsGoToTheHigherFinalReward() {
    SearchConfig c =
        smc(2, 2, 1, 1.0).toBuilder().resampling(Resampling.SYSTEMATIC).seed(3).build();
    Fixtures.ByContent reward = new Fixtures.ByContent(-1, 0, 0.25, 1.0, 1.25);
    SearchResult r = runSmc(c, reward);
    List<Integer> parents =
        r.trace().stream()
            .filter(e -> e.event() == TraceEntry.Event.RESAMPLED)
            .map(TraceEntry::chain)
            .toList();
    assertEquals(List.of(0, 1), parents, "the setup needs both particles kept");
    assertEquals(1.25, r.reward());
    assertEquals(1, r.trace().getLast().chain());
  }
}
