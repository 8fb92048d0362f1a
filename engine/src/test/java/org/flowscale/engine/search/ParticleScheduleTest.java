package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * The linear particle schedule (MATH.md section 6b): its counts, and SVDD and SMC following them
 * against scripted rewards.
 */
class ParticleScheduleTest {
  private static final SamplingScheme VP = Fixtures.SCHEMES.get(2);

  @Test
  void knownSchedules() {
    // The reference's setting, M = N = 500 over 10 steps: d = 10, n_0 = 95, no remainder.
    assertArrayEquals(
        new int[] {95, 85, 75, 65, 55, 45, 35, 25, 15, 5}, ParticleSchedule.linear(500, 10));
    // M = 250: d = 5, n_0 = 47, sum 245; the remainder 5 goes to the first five steps.
    assertArrayEquals(
        new int[] {48, 43, 38, 33, 28, 22, 17, 12, 7, 2}, ParticleSchedule.linear(250, 10));
    assertArrayEquals(new int[] {2, 2, 1}, ParticleSchedule.linear(5, 3), "d = 0");
    assertArrayEquals(new int[] {1, 1, 1}, ParticleSchedule.linear(3, 3));
    assertArrayEquals(new int[] {7}, ParticleSchedule.linear(7, 1));
  }

  /** The reference's computation, in floating point as it does it. */
  private static int[] reference(long nfe, int n) {
    int comDiff = (int) ((nfe - n) * 2.0 / (n * (n - 1.0)));
    int init = (int) ((nfe + comDiff * n * (n - 1) / 2.0) / n);
    int[] s = new int[n];
    long sum = 0;
    for (int i = 0; i < n; i++) {
      s[i] = init - i * comDiff;
      sum += s[i];
    }
    for (int i = 0; i < nfe - sum; i++) {
      s[i]++;
    }
    return s;
  }

  @Test
  void everyScheduleAddsUpCoversEveryStepShrinksAndMatchesTheReference() {
    Random rnd = new Random(6);
    for (int c = 0; c < 2000; c++) {
      int steps = 2 + rnd.nextInt(40);
      long total = steps + rnd.nextInt(5000);
      int[] n = ParticleSchedule.linear(total, steps);
      String where = total + " over " + steps + ": " + Arrays.toString(n);
      assertEquals(steps, n.length, where);
      assertEquals(total, Arrays.stream(n).asLongStream().sum(), where);
      for (int i = 0; i < steps; i++) {
        assertTrue(n[i] >= 1, where);
        if (i > 0) {
          assertTrue(n[i] <= n[i - 1], where);
        }
      }
      assertArrayEquals(reference(total, steps), n, where);
    }
    assertThrows(IllegalArgumentException.class, () -> ParticleSchedule.linear(9, 10));
    assertThrows(IllegalArgumentException.class, () -> ParticleSchedule.linear(9, 0));
  }

  private static SearchResult run(SearchConfig c, org.flowscale.engine.model.Reward reward) {
    try (CpuParticleOps ops = new CpuParticleOps()) {
      return SearchMethods.of(c.method())
          .run(c, ops, Fixtures.gaussian(3), reward, SearchListener.NONE);
    }
  }

  private static SearchConfig.Builder linear(FilteringMethod m, long nfe, int steps) {
    return SearchConfig.builder()
        .method(m)
        .batchSize(1)
        .maxNfe(nfe)
        .maxSteps(steps)
        .scheme(VP)
        .particleSchedule(ParticleSchedule.LINEAR)
        .seed(8);
  }

  private static List<Long> proposedPerRound(SearchResult r, int rounds) {
    Long[] count = new Long[rounds];
    Arrays.fill(count, 0L);
    for (TraceEntry e : r.trace()) {
      if (e.event() == TraceEntry.Event.PROPOSED) {
        count[e.round()]++;
      }
    }
    return List.of(count);
  }

  /**
   * SVDD with M = 10 over 3 steps: counts 6, 3, 1 (the last repeated for the free step to t = 0).
   * Each selection keeps the chain's best and replicates it into the next count.
   */
  @Test
  void svddFollowsTheScheduleAndKeepsEachRoundsBest() {
    SearchConfig c = linear(FilteringMethod.SVDD, 10, 3).build();
    Fixtures.Scripted reward = new Fixtures.Scripted(0, 0, 5, 1, 2, 3, 4, 1, 7, 2, 3, 9);
    SearchResult r = run(c, reward);
    assertEquals(10, r.nfe());
    assertEquals(List.of(6L, 3L, 1L, 1L), proposedPerRound(r, 4));
    List<Double> kept =
        r.trace().stream()
            .filter(e -> e.event() == TraceEntry.Event.ACCEPTED)
            .map(TraceEntry::reward)
            .toList();
    assertEquals(List.of(5.0, 7.0, 3.0, 9.0), kept);
    assertEquals(9, r.reward());
    assertArrayEquals(reward.scored.get(10), r.sample());
    // Round 1 leaves from the particle kept in round 0: a different best there changes it.
    Fixtures.Scripted other = new Fixtures.Scripted(0, 0, 1, 5, 2, 3, 4);
    run(c, other);
    for (int i = 0; i < 6; i++) {
      assertArrayEquals(reward.scored.get(i), other.scored.get(i));
    }
    assertTrue(!Arrays.equals(reward.scored.get(6), other.scored.get(6)));
  }

  /**
   * SMC with N = 10 over 3 steps: populations 6, 3, 1. The population is resampled onto the next
   * count before each step but the last (here forced by the count, with ess_threshold 0), in
   * proportion to the weights: with reward_weight 0.01 a reward 5 ahead takes every draw.
   */
  @Test
  void smcResamplesOntoEachStepsCount() {
    SearchConfig c = linear(FilteringMethod.SMC, 10, 3).rewardWeight(0.01).essThreshold(0).build();
    Fixtures.Scripted reward = new Fixtures.Scripted(0, 0, 0, 0, 0, 0, 5, 1, 1, 4, 3, 2);
    SearchResult r = run(c, reward);
    assertEquals(10, r.nfe());
    assertEquals(List.of(6L, 3L, 1L, 1L), proposedPerRound(r, 4));
    List<int[]> resampled =
        r.trace().stream()
            .filter(e -> e.event() == TraceEntry.Event.RESAMPLED)
            .map(e -> new int[] {e.round(), e.chain()})
            .toList();
    assertEquals(4, resampled.size());
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(new int[] {0, 5}, resampled.get(i), "round 0 draws particle 5");
    }
    assertArrayEquals(new int[] {1, 2}, resampled.get(3), "round 1 draws the 4");
    assertEquals(2, r.reward());
  }

  @Test
  void refusals() {
    String svdd =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    SearchMethods.of(FilteringMethod.SVDD)
                        .validate(linear(FilteringMethod.SVDD, 19, 10).batchSize(2).build()))
            .getMessage();
    assertTrue(svdd.contains("floor(max_nfe 19 / batch_size 2) = 9 particles per chain"), svdd);
    assertTrue(svdd.contains("use max_nfe >= 20 or batch_size <= 1"), svdd);
    String smc =
        assertThrows(
                IllegalArgumentException.class,
                () ->
                    SearchMethods.of(FilteringMethod.SMC)
                        .validate(linear(FilteringMethod.SMC, 500, 10).batchSize(50).build()))
            .getMessage();
    assertTrue(smc.contains("set batch_size 1, got 50"), smc);
    for (FilteringMethod m :
        List.of(
            FilteringMethod.BON,
            FilteringMethod.CODE,
            FilteringMethod.RBF,
            FilteringMethod.DPS,
            FilteringMethod.SVDD_DPS,
            FilteringMethod.RBF_DPS)) {
      String e =
          assertThrows(
                  IllegalArgumentException.class,
                  () -> SearchMethods.of(m).validate(linear(m, 500, 10).build()))
              .getMessage();
      assertTrue(e.contains("particle_schedule linear is for svdd and smc"), e);
    }
    // Linear SVDD ignores n_particles: B K S may exceed N.
    SearchMethods.of(FilteringMethod.SVDD)
        .validate(linear(FilteringMethod.SVDD, 500, 10).batchSize(2).nParticles(100).build());
  }
}
