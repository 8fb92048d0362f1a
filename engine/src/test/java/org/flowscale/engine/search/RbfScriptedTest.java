package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import java.util.List;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * RBF against scripted reward sequences: quotas, rollovers, the leftover carried forward, moving to
 * the step's best proposal, the last steps and the output choice.
 *
 * <p>Setup: one chain, {@code K0 = 2}, {@code S = 4}, {@code N = 10}: quota {@code q = floor((10 -
 * 2) / 4) = 2}, 8 rounds of 1 NFE. Chains advance to grid index {@code S - 2 = 2} and keep
 * proposing onto index 3 (the last nonzero time) from there.
 */
class RbfScriptedTest {
  private static final SamplingScheme SDE =
      SamplingScheme.linearSde(DiffusionCoefficient.SQUARE, 1);

  private record Run(SearchResult result, Fixtures.Scripted reward, double[] grid) {}

  private static Run run(double... script) {
    return run(RbfOutput.LAST_STEP, script);
  }

  private static Run run(RbfOutput output, double... script) {
    SearchConfig c =
        Fixtures.config(FilteringMethod.RBF, 1, 1, 1, 2, 10, 4, SDE).toBuilder()
            .rbfOutput(output)
            .build();
    Fixtures.Scripted reward = new Fixtures.Scripted(-100, script);
    try (CpuParticleOps ops = new CpuParticleOps()) {
      SearchResult r =
          SearchMethods.of(FilteringMethod.RBF)
              .run(c, ops, Fixtures.gaussian(4), reward, SearchListener.NONE);
      return new Run(r, reward, c.timeGrid());
    }
  }

  private static List<TraceEntry> rounds(SearchResult r) {
    return r.trace().stream().filter(e -> e.round() > 0).toList();
  }

  @Test
  void quotaRolloverLeftoverAndOutputChoice() {
    // init 0.5, 0.7 -> r* = 0.7
    // round 1: 0.9 rollover after 1 of 2 -> leftover 1 carried: next step's quota 3
    // rounds 2-4: 0.1 0.3 0.2 -> quota 3 used up at round 4: move to the step's best (0.3)
    // rounds 5-8 at the last step: 0.4, 1.5 (rollover, stays), 0.2, 0.3
    Run a = run(0.5, 0.7, 0.9, 0.1, 0.3, 0.2, 0.4, 1.5, 0.2, 0.3);
    SearchResult r = a.result();
    assertEquals(10, r.nfe());
    assertEquals(1.5, r.reward());
    List<TraceEntry> t = rounds(r);
    List<TraceEntry.Event> events = t.stream().map(TraceEntry::event).toList();
    assertEquals(
        List.of(
            TraceEntry.Event.ROLLED_OVER,
            TraceEntry.Event.PROPOSED,
            TraceEntry.Event.PROPOSED,
            TraceEntry.Event.PROPOSED,
            TraceEntry.Event.ACCEPTED,
            TraceEntry.Event.PROPOSED,
            TraceEntry.Event.ROLLED_OVER,
            TraceEntry.Event.PROPOSED,
            TraceEntry.Event.PROPOSED,
            TraceEntry.Event.FINAL),
        events);
    TraceEntry accepted = t.get(4);
    assertEquals(4, accepted.round(), "the carried leftover makes the quota 3, not 2");
    assertEquals(0.3, accepted.reward(), "moves to the step's best, not its latest");
    double[] g = a.grid();
    double[] times = t.stream().filter(e -> e.round() <= 8).mapToDouble(TraceEntry::time).toArray();
    assertArrayEquals(
        new double[] {g[1], g[2], g[2], g[2], g[2], g[3], g[3], g[3], g[3]},
        Arrays.copyOf(times, 9),
        "rounds 2-4 propose onto index 2, rounds 5-8 onto the last nonzero time, never 0");
    assertEquals(8, t.get(t.size() - 1).round());
    assertEquals(g[3], t.get(t.size() - 1).time(), "output time is its proposal's");
    // The output is the Tweedie estimate scored with 1.5 (2 initial + 6th proposal).
    assertArrayEquals(a.reward().scored.get(7), r.sample());
    assertFalse(Arrays.equals(r.sample(), r.finalState()), "final state is noisy (t > 0)");
  }

  @Test
  void quotaExhaustionMovesToTheStepsBestProposal() {
    // Same draws, only the order of step-2 rewards differs: the round-5 proposal leaves from the
    // state the chain accepted, so it matches exactly when the same proposal was accepted.
    Run best3 = run(0.5, 0.7, 0.9, 0.1, 0.3, 0.2, 0.4);
    Run best3b = run(0.5, 0.7, 0.9, 0.1, 0.3, 0.25, 0.4);
    Run best4 = run(0.5, 0.7, 0.9, 0.1, 0.2, 0.3, 0.4);
    for (int i = 0; i < 6; i++) {
      assertArrayEquals(best3.reward().scored.get(i), best4.reward().scored.get(i));
    }
    assertArrayEquals(best3.reward().scored.get(6), best3b.reward().scored.get(6));
    assertFalse(Arrays.equals(best3.reward().scored.get(6), best4.reward().scored.get(6)));
  }

  @Test
  void withoutRolloversEachStepTakesExactlyTheQuota() {
    // No proposal beats the initial best (0.7): quota 2 per step, moves after rounds 2 and 4.
    Run a = run(0.5, 0.7, 0.1, 0.2, 0.3, 0.4, 0.6, 0.65, 0.2, 0.1);
    List<TraceEntry> accepted =
        rounds(a.result()).stream().filter(e -> e.event() == TraceEntry.Event.ACCEPTED).toList();
    assertEquals(List.of(2, 4), accepted.stream().map(TraceEntry::round).toList());
    assertEquals(
        List.of(0.2, 0.4), accepted.stream().map(TraceEntry::reward).toList(), "steps' best");
    assertEquals(10, a.result().nfe());
    // The output is the best proposal (round 6), not the initial particle (t = 1) although it
    // scored higher: initial particles are not proposals.
    assertEquals(0.65, a.result().reward());
    assertArrayEquals(a.reward().scored.get(7), a.result().sample());
  }

  @Test
  void runBestReturnsTheHighestRewardProposalWhateverItsTime() {
    // Round 1 scores 5 at the first step; nothing later beats it, so under run_best it is the
    // output, with its time in the final trace entry and the result.
    Run a = run(RbfOutput.RUN_BEST, 0.5, 0.7, 5.0, 0.1, 0.2, 0.3, 0.4, 1.0, 0.2, 0.3);
    assertEquals(TraceEntry.Event.ROLLED_OVER, rounds(a.result()).get(0).event());
    assertEquals(5.0, a.result().reward());
    assertEquals(a.grid()[1], rounds(a.result()).getLast().time());
    assertEquals(a.grid()[1], a.result().outputTime());
    assertArrayEquals(a.reward().scored.get(2), a.result().sample());
    // A later proposal beating it takes over.
    Run b = run(RbfOutput.RUN_BEST, 0.5, 0.7, 5.0, 0.1, 0.2, 0.3, 0.4, 6.0, 0.2, 0.3);
    assertEquals(6.0, b.result().reward());
    assertEquals(b.grid()[3], rounds(b.result()).getLast().time());
    assertArrayEquals(b.reward().scored.get(7), b.result().sample());
  }

  @Test
  void lastStepReturnsTheBestProposalOfTheStepTheChainEndsOn() {
    // The same script: 5 at round 1 (t = g[1]) is forgotten when the chain advances; the output
    // is the best of rounds 5-8, scored from the chain's last position onto g[3] (MATH.md section
    // 6, step 4, the reference's rule and the default).
    Run a = run(0.5, 0.7, 5.0, 0.1, 0.2, 0.3, 0.4, 1.0, 0.2, 0.3);
    assertEquals(1.0, a.result().reward());
    assertEquals(a.grid()[3], a.result().outputTime());
    assertEquals(a.grid()[3], rounds(a.result()).getLast().time());
    assertArrayEquals(a.reward().scored.get(7), a.result().sample());
  }

  @Test
  void lastStepForgetsEveryEarlierStepEvenWhenItScoredHigher() {
    // Rounds 1-4 score 0.9, 0.1, 0.3, 0.2; the chain then sits at its last position where every
    // proposal scores -100: the output is the first of those (ties to the first scored), not 0.9.
    Run a = run(0.5, 0.7, 0.9, 0.1, 0.3, 0.2);
    assertEquals(-100, a.result().reward());
    assertEquals(a.grid()[3], a.result().outputTime());
    assertArrayEquals(a.reward().scored.get(6), a.result().sample());
    Run b = run(RbfOutput.RUN_BEST, 0.5, 0.7, 0.9, 0.1, 0.3, 0.2);
    assertEquals(0.9, b.result().reward());
    assertEquals(b.grid()[1], b.result().outputTime());
  }

  @Test
  void twoChainsKeepSeparateQuotasAndTheBestChainWins() {
    // B = 2, K0 = 1, S = 3, N = 14: q = floor(12 / 6) = 2, 6 rounds of 2 NFE.
    SearchConfig c = Fixtures.config(FilteringMethod.RBF, 2, 1, 1, 1, 14, 3, SDE);
    // init: chain0 0.5, chain1 0.6; round 1: chain0 0.9 (rollover, leftover 1, but index 1 is
    // already the last position), chain1 0.1; round 2: chain0 0.2, chain1 0.2 -> chain1 moves.
    Fixtures.Scripted reward = new Fixtures.Scripted(-1, 0.5, 0.6, 0.9, 0.1, 0.2, 0.2, 0.3, 2.0);
    try (CpuParticleOps ops = new CpuParticleOps()) {
      SearchResult r =
          SearchMethods.of(FilteringMethod.RBF)
              .run(c, ops, Fixtures.gaussian(2), reward, SearchListener.NONE);
      assertEquals(14, r.nfe());
      assertEquals(2.0, r.reward());
      List<TraceEntry> t = rounds(r);
      assertEquals(
          List.of(2),
          t.stream()
              .filter(e -> e.event() == TraceEntry.Event.ACCEPTED)
              .map(TraceEntry::round)
              .toList());
      assertEquals(
          1,
          t.stream()
              .filter(e -> e.event() == TraceEntry.Event.ACCEPTED)
              .findFirst()
              .orElseThrow()
              .chain());
      TraceEntry fin = t.get(t.size() - 1);
      assertEquals(1, fin.chain());
      assertArrayEquals(reward.scored.get(7), r.sample());
    }
  }
}
