package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * Budget properties over many random configs of every method and sampling mode: a config is refused
 * exactly when it breaks its method's rules (restated here independently), and a run spends at most
 * {@code max_nfe}, exactly the method's formula.
 */
class BudgetPropertyTest {
  private static final int CONFIGS = 600;

  @Test
  void everyMethodSpendsExactlyItsFormulaAndNeverMoreThanTheBudget() {
    Random rnd = new Random(20251127);
    GaussianModel model = Fixtures.gaussian(3);
    FilteringMethod[] methods = FilteringMethod.values();
    int ran = 0;
    int refused = 0;
    int ranLinear = 0;
    int ranSop = 0;
    try (CpuParticleOps ops = new CpuParticleOps()) {
      for (int c = 0; c < CONFIGS; c++) {
        FilteringMethod m = methods[c % methods.length];
        boolean single =
            m == FilteringMethod.BON || m == FilteringMethod.SMC || m == FilteringMethod.DPS;
        boolean scheduled = m == FilteringMethod.SVDD || m == FilteringMethod.SMC;
        ParticleSchedule schedule =
            rnd.nextInt(scheduled ? 2 : 10) == 0
                ? ParticleSchedule.LINEAR
                : ParticleSchedule.CONSTANT;
        boolean linear = schedule == ParticleSchedule.LINEAR;
        int b = linear && m == FilteringMethod.SMC && rnd.nextInt(4) > 0 ? 1 : 1 + rnd.nextInt(5);
        int k = single && rnd.nextInt(4) > 0 ? 1 : 1 + rnd.nextInt(4);
        int block = m == FilteringMethod.CODE || rnd.nextInt(6) == 0 ? 1 + rnd.nextInt(4) : 1;
        int k0 = 1 + rnd.nextInt(5);
        int steps = 1 + rnd.nextInt(7);
        SopSettings sop = SopSettings.DEFAULT;
        if (m == FilteringMethod.SOP) {
          double s0 = 1 + rnd.nextInt(200);
          double diff = s0 / 4 + rnd.nextDouble() * s0;
          double df = 1 + rnd.nextDouble() * (999 - s0);
          sop = new SopSettings(1 + rnd.nextInt(3), s0, df, df + diff);
        }
        long need =
            isRbf(m)
                ? (long) b * k0 + (long) b * steps
                : m == FilteringMethod.SOP
                    ? sop.nfe(b, k)
                    : linear ? (long) b * steps * 4 : (long) b * k * steps;
        long nfe = 1 + rnd.nextInt((int) (2 * need + 3));
        var scheme = Fixtures.SCHEMES.get(rnd.nextInt(Fixtures.SCHEMES.size()));
        SearchConfig config =
            Fixtures.config(m, b, k, block, k0, nfe, steps, scheme).toBuilder()
                .particleSchedule(schedule)
                .sop(sop)
                .build();
        SearchMethod method = SearchMethods.of(m);
        String why = breaks(config);
        if (why != null) {
          refused++;
          assertThrows(IllegalArgumentException.class, () -> method.validate(config), why);
          continue;
        }
        method.validate(config);
        Fixtures.Quadratic reward = new Fixtures.Quadratic(new float[] {1, -1, 0.5f});
        SearchResult r = method.run(config, ops, model, reward, SearchListener.NONE);
        ran++;
        ranLinear += linear ? 1 : 0;
        ranSop += m == FilteringMethod.SOP ? 1 : 0;
        String where = config.toString();
        assertTrue(r.nfe() <= nfe, where);
        assertEquals(expectedNfe(config), r.nfe(), where);
        assertEquals(nfe, r.maxNfe());
        assertEquals(reward.rows, r.rewardCalls(), where);
        assertEquals(m, r.method());
        assertEquals(3, r.sample().length);
        assertTrue(Double.isFinite(r.reward()), where);
        switch (m) {
          case DPS, SVDD_DPS -> assertEquals((long) b * steps, r.gradientPasses(), where);
          case RBF_DPS -> assertTrue(r.gradientPasses() >= b && r.gradientPasses() <= r.nfe());
          default -> assertEquals(0, r.gradientPasses(), where);
        }
        assertEquals(
            1, r.trace().stream().filter(e -> e.event() == TraceEntry.Event.FINAL).count());
      }
    }
    // The generator must exercise both sides of the rules.
    assertTrue(ran > CONFIGS / 4, "ran " + ran);
    assertTrue(refused > CONFIGS / 8, "refused " + refused);
    assertTrue(ranLinear > 30, "ran the linear schedule " + ranLinear + " times");
    assertTrue(ranSop > 20, "ran sop " + ranSop + " times");
  }

  private static boolean isRbf(FilteringMethod m) {
    return m == FilteringMethod.RBF || m == FilteringMethod.RBF_DPS;
  }

  /** The rules of MATH.md sections 6 and 6b, restated; null when the config is fine. */
  private static String breaks(SearchConfig c) {
    long b = c.batchSize();
    long k = c.nParticles();
    long s = c.maxSteps();
    long n = c.maxNfe();
    if (c.particleSchedule() == ParticleSchedule.LINEAR) {
      return switch (c.method()) {
        case SVDD -> c.blockSize() != 1 ? "Lb" : n / b < s ? "floor(N / B) < S" : null;
        case SMC ->
            k != 1 ? "K" : c.blockSize() != 1 ? "Lb" : b != 1 ? "B != 1" : n < s ? "N < S" : null;
        default -> "linear schedule";
      };
    }
    return switch (c.method()) {
      case BON, SMC, DPS -> k != 1 ? "K" : c.blockSize() != 1 ? "Lb" : b * s > n ? "BS" : null;
      case CODE -> c.blockSize() > s ? "Lb > S" : b * k * s > n ? "BKS" : null;
      case SVDD, SVDD_DPS -> c.blockSize() != 1 ? "Lb" : b * k * s > n ? "BKS" : null;
      case SOP -> {
        SopSettings p = c.sop();
        long rounds = (long) Math.ceil(p.odeSeedT() / (p.backwardStep() - p.forwardStep()));
        long e = p.odeStep();
        yield c.blockSize() != 1 ? "Lb" : b * e + b * k * e * rounds > n ? "B E + B K E R" : null;
      }
      case RBF, RBF_DPS -> {
        long init = b * c.initNParticles();
        if (c.blockSize() != 1) {
          yield "Lb";
        }
        if (init >= n) {
          yield "BK0 >= N";
        }
        if (s < 2) {
          yield "S < 2";
        }
        yield (n - init) / (s * b) < 1 ? "q = 0" : null;
      }
    };
  }

  private static long expectedNfe(SearchConfig c) {
    long b = c.batchSize();
    if (c.particleSchedule() == ParticleSchedule.LINEAR) {
      // MATH.md section 6b: each chain's counts add up to floor(N / B); SMC runs B = 1.
      return b * (c.maxNfe() / b);
    }
    return switch (c.method()) {
      case BON, SMC, DPS -> b * c.maxSteps();
      case CODE, SVDD, SVDD_DPS -> b * c.nParticles() * c.maxSteps();
      case SOP -> {
        // MATH.md section 6a: B E + B K E ceil(s0 / (db - df)).
        SopSettings p = c.sop();
        long e = p.odeStep();
        long rounds = (long) Math.ceil(p.odeSeedT() / (p.backwardStep() - p.forwardStep()));
        yield b * e + b * c.nParticles() * e * rounds;
      }
      case RBF, RBF_DPS -> {
        long init = b * c.initNParticles();
        yield init + b * ((c.maxNfe() - init) / b);
      }
    };
  }
}
