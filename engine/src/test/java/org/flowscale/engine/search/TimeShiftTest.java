package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * {@code time_shift} (FLUX.1-dev's resolution-dependent shift) moves the grid of the step-mode
 * methods only; RBF's grid is never shifted, as in the reference implementation, and Search over
 * Paths keeps its own times.
 */
class TimeShiftTest {
  private static final int TOKENS = 4096;

  private static SearchConfig config(FilteringMethod m, int tokens) {
    SearchConfig.Builder b =
        SearchConfig.builder()
            .method(m)
            .maxNfe(200)
            .maxSteps(5)
            .timeShiftTokens(tokens)
            .scheme(SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3))
            .dpsStepSize(0.05)
            .seed(11);
    return switch (m) {
      case RBF, RBF_DPS -> b.batchSize(2).initNParticles(5).build();
      case CODE, SVDD, SVDD_DPS -> b.batchSize(2).nParticles(3).build();
      default -> b.batchSize(4).build();
    };
  }

  @Test
  void onlyTheStepModeMethodsGridIsShifted() {
    double[] plain = TimeSchedule.EXP.grid(5);
    double[] shifted = TimeSchedule.fluxShift(TimeSchedule.EXP.grid(5), TOKENS);
    assertFalse(Arrays.equals(plain, shifted));
    for (FilteringMethod m : FilteringMethod.values()) {
      double[] g = config(m, TOKENS).timeGrid();
      boolean own =
          m == FilteringMethod.RBF || m == FilteringMethod.RBF_DPS || m == FilteringMethod.SOP;
      assertEquals(!own, m.shiftsTime(), m.configName());
      assertArrayEquals(own ? plain : shifted, g, m.configName());
      assertArrayEquals(plain, config(m, 0).timeGrid(), m.configName());
    }
  }

  private record Seen(SearchResult result, List<Double> times) {}

  private static Seen run(SearchConfig c) {
    List<Double> times = new ArrayList<>();
    SearchListener listener =
        new SearchListener() {
          @Override
          public void onStep(int step, double time, float[] x0, int rows, double[] rewards) {
            times.add(time);
          }

          @Override
          public boolean wantsIntermediates() {
            return true;
          }
        };
    try (CpuParticleOps ops = new CpuParticleOps()) {
      SearchResult r =
          SearchMethods.of(c.method())
              .run(
                  c,
                  ops,
                  Fixtures.gaussian(3),
                  new Fixtures.Quadratic(new float[] {1, 0, -1}),
                  listener);
      return new Seen(r, times);
    }
  }

  @Test
  void theMethodsThatEndAtZeroReportTheirLastNonzeroTimeAsTheOutputTime() {
    for (FilteringMethod m :
        List.of(FilteringMethod.BON, FilteringMethod.SMC, FilteringMethod.CODE)) {
      SearchConfig c = config(m, 0);
      assertEquals(c.timeGrid()[4], run(c).result().outputTime(), m.configName());
    }
  }

  @Test
  void rbfRunsTheSameWithAndWithoutTheShift() {
    Seen plain = run(config(FilteringMethod.RBF, 0));
    Seen shifted = run(config(FilteringMethod.RBF, TOKENS));
    assertArrayEquals(plain.result().sample(), shifted.result().sample());
    assertEquals(plain.times(), shifted.times());
  }

  @Test
  void stepModeMethodsStepOnTheShiftedGrid() {
    double[] shifted = TimeSchedule.fluxShift(TimeSchedule.EXP.grid(5), TOKENS);
    Seen bon = run(config(FilteringMethod.BON, TOKENS));
    assertEquals(
        Arrays.stream(shifted, 0, 5).boxed().toList(), bon.times(), "one onStep per nonzero time");
    Seen plain = run(config(FilteringMethod.BON, 0));
    assertFalse(Arrays.equals(plain.result().sample(), bon.result().sample()));
  }
}
