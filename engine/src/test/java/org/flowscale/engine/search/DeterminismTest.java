package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Same seed, same config: the same result bit for bit; another seed: another sample. */
class DeterminismTest {
  private static SearchConfig config(FilteringMethod m, long seed) {
    SamplingScheme vp = Fixtures.SCHEMES.get(2);
    boolean single =
        m == FilteringMethod.BON || m == FilteringMethod.SMC || m == FilteringMethod.DPS;
    return Fixtures.config(m, 3, single ? 1 : 3, m == FilteringMethod.CODE ? 2 : 1, 3, 60, 5, vp)
        .toBuilder()
        .sop(2, 60, 780, 810) // 2 rounds, 42 NFE
        .seed(seed)
        .build();
  }

  private static SearchResult run(SearchConfig c) {
    try (CpuParticleOps ops = new CpuParticleOps()) {
      // dim 40 > 4 blocks of Philox draws per row; enough rows to exercise several chains
      return SearchMethods.of(c.method())
          .run(c, ops, Fixtures.gaussian(40), new Fixtures.Quadratic(new float[40]), null);
    }
  }

  @ParameterizedTest
  @EnumSource(FilteringMethod.class)
  void sameSeedSameBits(FilteringMethod m) {
    SearchResult a = run(config(m, 11));
    SearchResult b = run(config(m, 11));
    assertArrayEquals(a.sample(), b.sample());
    assertArrayEquals(a.finalState(), b.finalState());
    assertEquals(Double.doubleToRawLongBits(a.reward()), Double.doubleToRawLongBits(b.reward()));
    assertEquals(a.trace(), b.trace());
    assertEquals(a.nfe(), b.nfe());
    assertEquals(a.gradientPasses(), b.gradientPasses());
    SearchResult c = run(config(m, 12));
    assertFalse(Arrays.equals(a.sample(), c.sample()), "another seed draws other noise");
  }
}
