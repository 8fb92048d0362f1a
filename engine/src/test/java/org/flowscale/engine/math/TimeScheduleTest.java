package org.flowscale.engine.math;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TimeScheduleTest {

  @Test
  void linearGrid() {
    assertArrayEquals(new double[] {1, 0.75, 0.5, 0.25, 0}, TimeSchedule.LINEAR.grid(4), 1e-15);
    assertArrayEquals(new double[] {1, 0}, TimeSchedule.LINEAR.grid(1), 0);
  }

  @Test
  void expGrid() {
    // sqrt(1 - (1 - tq)^2) for tq = 1, 0.75, 0.5, 0.25, then 0 (values computed independently).
    assertArrayEquals(
        new double[] {1, 0.9682458365518543, 0.8660254037844386, 0.6614378277661477, 0},
        TimeSchedule.EXP.grid(4),
        1e-15);
  }

  @Test
  void gridsRunFromOneToZeroStrictlyDecreasing() {
    for (TimeSchedule s : TimeSchedule.values()) {
      for (int steps : new int[] {1, 2, 10, 28, 250}) {
        double[] g = s.grid(steps);
        assertEquals(steps + 1, g.length);
        assertEquals(1, g[0], 0, s + " starts at 1");
        assertEquals(0, g[steps], 0, s + " ends at 0");
        for (int i = 1; i <= steps; i++) {
          assertTrue(g[i] < g[i - 1], s + " decreases at " + i);
        }
      }
    }
  }

  @Test
  void expGridTakesLargeEarlyStepsAndFineLateSteps() {
    double[] g = TimeSchedule.EXP.grid(10);
    assertTrue(g[0] - g[1] < g[8] - g[9], "first step is the smallest in t near 1");
    // In sampling time the exp grid spends more steps near t = 1 where sqrt(1 - (1-tq)^2) is flat.
    assertTrue(g[9] - g[10] > 0.4);
  }

  @Test
  void fluxShiftValues() {
    // mu = m L + b: 0.5 at L = 256, 0.63 at 1024, 1.15 at 4096; e^mu / (e^mu + 1/s - 1).
    double[][] expected = {
      {256, 0.3546612443924434, 0.6224593312018546, 0.8318243439635805},
      {1024, 0.38494474881746926, 0.6524894621927445, 0.8492348306829303},
      {4096, 0.5128441015091338, 0.7595109169491111, 0.9045307667386396},
    };
    for (double[] row : expected) {
      int tokens = (int) row[0];
      assertEquals(row[1], TimeSchedule.fluxShift(0.25, tokens), 1e-14, "L=" + tokens);
      assertEquals(row[2], TimeSchedule.fluxShift(0.5, tokens), 1e-14, "L=" + tokens);
      assertEquals(row[3], TimeSchedule.fluxShift(0.75, tokens), 1e-14, "L=" + tokens);
      assertEquals(0, TimeSchedule.fluxShift(0, tokens), 0);
      assertEquals(1, TimeSchedule.fluxShift(1, tokens), 0, "t = 1 stays exactly 1");
    }
  }

  @Test
  void fluxShiftOfAGridKeepsItsEndsAndOrder() {
    double[] g = TimeSchedule.fluxShift(TimeSchedule.LINEAR.grid(28), 4096);
    assertEquals(1, g[0], 0, "a grid that starts at t = 1 still does");
    assertEquals(0, g[28], 0);
    for (int i = 1; i < g.length; i++) {
      assertTrue(g[i] < g[i - 1]);
    }
    assertEquals(0.7595109169491111, g[14], 1e-14);
  }

  @Test
  void byName() {
    assertEquals(TimeSchedule.LINEAR, TimeSchedule.byName("linear"));
    assertEquals(TimeSchedule.EXP, TimeSchedule.byName("exp"));
  }
}
