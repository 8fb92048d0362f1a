package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/** Search over Paths (MATH.md section 6a): its rounds, selection, budget and refusals. */
class SopTest {
  /**
   * B = 2 chains of K = 3, one Euler step per solve, s0 = 60, df = 780, db = 810: rounds start at
   * t1000 = 60 and 30 and end at 30 and 0, {@code NFE = 2 + 2 x 3 x 2 = 14}.
   */
  private static SearchConfig config(SamplingScheme scheme) {
    return SearchConfig.builder()
        .method(FilteringMethod.SOP)
        .batchSize(2)
        .nParticles(3)
        .maxNfe(14)
        .scheme(scheme)
        .sop(1, 60, 780, 810)
        .seed(5)
        .build();
  }

  private static SearchResult run(SearchConfig c, Reward reward) {
    try (CpuParticleOps ops = new CpuParticleOps()) {
      return SearchMethods.of(FilteringMethod.SOP)
          .run(c, ops, Fixtures.gaussian(3), reward, SearchListener.NONE);
    }
  }

  @Test
  void settingsGiveTheRoundsAndTheNfeFormula() {
    SopSettings d = SopSettings.DEFAULT;
    assertEquals(4, d.rounds(), "ceil(120 / 30)");
    assertEquals(0.12, d.roundStart(0), 1e-15);
    assertEquals(0.9, d.roundPeak(0), 1e-15);
    assertEquals(0.03, d.roundStart(3), 1e-15);
    assertEquals(0, d.roundStart(4));
    assertEquals(4 + 16 * 31, d.nfe(1, 31), "B E + B K E R: 500 at K = 31");
    assertEquals(2, new SopSettings(2, 100, 500, 550).rounds(), "ceil(100 / 50)");
    assertEquals(4, new SopSettings(2, 100, 500, 530).rounds(), "ceil(100 / 30)");
    assertEquals(0.01, new SopSettings(2, 100, 500, 530).roundStart(3), 1e-15);
    assertEquals(Long.MAX_VALUE, new SopSettings(1000, 999, 1, 1.0000001).nfe(1000, 1000));
  }

  @Test
  void eachChainKeepsItsBestCopyAndTheBestChainIsTheOutput() {
    SamplingScheme vp = Fixtures.SCHEMES.get(2);
    // Round 1: chain 0 scores 1 5 2 (keeps its second copy), chain 1 scores 0 0 3 (its third);
    // round 2: chain 0 4 1 2, chain 1 9 0 0: chain 1's first copy of round 2 is the output.
    Fixtures.Scripted reward = new Fixtures.Scripted(-1, 1, 5, 2, 0, 0, 3, 4, 1, 2, 9, 0, 0);
    SearchResult r = run(config(vp), reward);
    assertEquals(14, r.nfe());
    assertEquals(12, r.rewardCalls(), "only the rounds' Tweedie estimates are scored");
    assertEquals(9, r.reward());
    // The output is the Tweedie estimate of the last velocity evaluated: with one Euler step per
    // solve, at the final round's peak t1000 = 30 + 780.
    assertEquals(0.81, r.outputTime(), 1e-12);
    assertArrayEquals(reward.scored.get(9), r.sample());
    assertArrayEquals(r.sample(), r.finalState(), "the last round ends at t = 0");
    List<TraceEntry> kept =
        r.trace().stream().filter(e -> e.event() == TraceEntry.Event.ACCEPTED).toList();
    assertEquals(List.of(5.0, 3.0, 4.0, 9.0), kept.stream().map(TraceEntry::reward).toList());
    assertEquals(
        List.of(0.03, 0.03, 0.0, 0.0), kept.stream().map(TraceEntry::time).toList(), "round ends");
    TraceEntry fin = r.trace().getLast();
    assertEquals(TraceEntry.Event.FINAL, fin.event());
    assertEquals(1, fin.chain());
    // Round 2 leaves from the copies kept in round 1: keeping another copy changes it.
    Fixtures.Scripted other = new Fixtures.Scripted(-1, 5, 1, 2, 0, 0, 3);
    run(config(vp), other);
    for (int i = 0; i < 6; i++) {
      assertArrayEquals(reward.scored.get(i), other.scored.get(i));
    }
    assertFalse(Arrays.equals(reward.scored.get(6), other.scored.get(6)));
    assertArrayEquals(reward.scored.get(9), other.scored.get(9), "chain 1 kept the same copy");
  }

  @Test
  void runsInEverySamplingMode() {
    for (SamplingScheme s : Fixtures.SCHEMES) {
      SearchResult r = run(config(s), new Fixtures.Quadratic(new float[] {1, 0, -1}));
      assertEquals(14, r.nfe(), s.toString());
      for (float v : r.sample()) {
        assertTrue(Float.isFinite(v), s.toString());
      }
    }
  }

  @Test
  void overBudgetAndBadSettingsAreRefused() {
    SearchConfig over = config(Fixtures.SCHEMES.get(0)).toBuilder().maxNfe(13).build();
    String m =
        assertThrows(
                IllegalArgumentException.class,
                () -> SearchMethods.of(FilteringMethod.SOP).validate(over))
            .getMessage();
    assertEquals(
        "sop: batch_size 2 x ode_step 1 x (1 + n_particles 3 x 2 rounds) = 14 NFE exceeds max_nfe"
            + " 13, with rounds = ceil(ode_seed_t 60 / (backward_step 810 - forward_step 780));"
            + " use n_particles <= 2 (or max_nfe >= 14)",
        m);
    String back =
        assertThrows(IllegalArgumentException.class, () -> new SopSettings(4, 120, 780, 780))
            .getMessage();
    assertTrue(back.contains("backward_step 780.0 must be finite and > forward_step 780.0"), back);
    String past =
        assertThrows(IllegalArgumentException.class, () -> new SopSettings(4, 300, 780, 810))
            .getMessage();
    assertTrue(past.contains("noises past t1000 = 1000; use forward_step <= 700"), past);
    assertThrows(IllegalArgumentException.class, () -> new SopSettings(0, 120, 780, 810));
    assertThrows(IllegalArgumentException.class, () -> new SopSettings(4, 0, 780, 810));
    assertThrows(IllegalArgumentException.class, () -> new SopSettings(4, 120, 0, 810));
  }

  @Test
  void theForwardTransitionTakesTheMarginalAtSToTheOneAtF() {
    for (SamplingScheme s : Fixtures.SCHEMES) {
      for (double[] sf : new double[][] {{0.12, 0.9}, {0.03, 0.81}, {0.5, 1}, {0.2, 0.2}}) {
        var a = s.forward(sf[0], sf[1]);
        var from = s.sampling().at(sf[0]);
        var to = s.sampling().at(sf[1]);
        // x_s = a_s x0 + s_s eps  ->  mean a_f x0, variance s_f^2 given x0.
        assertEquals(to.alpha(), a.x() * from.alpha(), 1e-12, s + " " + Arrays.toString(sf));
        assertEquals(
            to.sigma() * to.sigma(),
            a.x() * a.x() * from.sigma() * from.sigma() + a.z() * a.z(),
            1e-12,
            s + " " + Arrays.toString(sf));
      }
    }
  }
}
