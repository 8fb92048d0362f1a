package org.flowscale.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * The eager meaning of counted noise, without a GPU: with the counter at c it is the Noise of
 * stream c + offset, wrapping modulo 2^64 as the kernels' unsigned 64-bit sum does.
 */
class CountedNoiseTest {
  // Never dereferenced here: the record only holds it.
  private final StreamCounter counter = new StreamCounter(null, null);

  @Test
  void atGivesTheEagerNoiseOfStreamCounterPlusOffset() {
    try (CpuParticleOps cpu = new CpuParticleOps();
        Tensor ids = cpu.allocate(4, 1, DType.I32)) {
      CountedNoise n = new CountedNoise(7, counter, 3, ids);
      assertEquals(new Noise(7, 103, ids), n.at(100));
      assertSame(ids, n.at(0).ids());
      assertEquals(Long.MIN_VALUE + 2, n.at(Long.MAX_VALUE).stream(), "wraps like the device sum");
      assertEquals(2, new CountedNoise(7, counter, 3, null).at(-1).stream());
    }
  }

  @Test
  void badArgumentsAreRejectedWithTheirName() {
    var noCounter =
        assertThrows(IllegalArgumentException.class, () -> new CountedNoise(1, null, 0, null));
    assertTrue(noCounter.getMessage().contains("counter"), noCounter.getMessage());
    var negative =
        assertThrows(IllegalArgumentException.class, () -> new CountedNoise(1, counter, -1, null));
    assertTrue(negative.getMessage().contains("offset"), negative.getMessage());
    try (CpuParticleOps cpu = new CpuParticleOps();
        Tensor f = cpu.allocate(4, 1, DType.F32)) {
      var ids =
          assertThrows(IllegalArgumentException.class, () -> new CountedNoise(1, counter, 0, f));
      assertTrue(ids.getMessage().contains("I32"), ids.getMessage());
    }
  }
}
