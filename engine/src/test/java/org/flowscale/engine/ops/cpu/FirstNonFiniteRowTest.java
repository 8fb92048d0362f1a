package org.flowscale.engine.ops.cpu;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;
import org.junit.jupiter.api.Test;

/**
 * {@link ParticleOps#firstNonFiniteRow}: the CPU backend's fused scan and the interface's
 * download-and-scan default agree with the definition on every dtype, on both the sequential and
 * the parallel path, for NaN, both infinities and values at the edge of finite.
 */
class FirstNonFiniteRowTest {
  private static final float[] BAD = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
  private static final float[] EDGE = {
    Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -0f, 0f, 1e-40f
  };

  private final CpuParticleOps cpu = new CpuParticleOps();

  /** A backend with no fused version: the interface's default. */
  private final ParticleOps fallback = new Delegate(cpu);

  @Test
  void findsTheFirstNonFiniteRowOnEveryPathAndDtype() {
    SplittableRandom rnd = new SplittableRandom(14);
    int[][] shapes = {{1, 1}, {3, 5}, {50, 3072}, {7, 70000}, {5000, 12}, {2, 1}};
    int cases = 0;
    for (DType dtype : new DType[] {DType.F32, DType.BF16, DType.F64}) {
      for (int[] shape : shapes) {
        int rows = shape[0];
        int cols = shape[1];
        for (int trial = 0; trial < 6; trial++) {
          int expected = trial == 0 ? -1 : rnd.nextInt(rows);
          try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate((long) rows * cols * dtype.bytes(), 8);
            for (long k = 0; k < (long) rows * cols; k++) {
              float v =
                  rnd.nextInt(50) == 0
                      ? EDGE[rnd.nextInt(EDGE.length)]
                      : (float) rnd.nextGaussian();
              put(host, dtype, k, v);
            }
            if (expected >= 0) {
              // The first bad value, plus more in later rows that must not win.
              put(host, dtype, (long) expected * cols + rnd.nextInt(cols), BAD[trial % 3]);
              for (int more = 0; more < 3; more++) {
                int r = expected + rnd.nextInt(rows - expected);
                put(host, dtype, (long) r * cols + rnd.nextInt(cols), BAD[rnd.nextInt(3)]);
              }
            }
            assertEquals(expected, TensorChecks.firstNonFiniteRow(host, dtype, rows, cols));
            try (Tensor t = cpu.allocate(rows, cols, dtype)) {
              cpu.upload(host, t);
              String what = dtype + " [" + rows + " x " + cols + "] trial " + trial;
              assertEquals(expected, cpu.firstNonFiniteRow(t), "cpu: " + what);
              assertEquals(expected, fallback.firstNonFiniteRow(t), "default: " + what);
              cases++;
            }
          }
        }
      }
    }
    assertEquals(3 * shapes.length * 6, cases);
  }

  @Test
  void refusesIntegerTensors() {
    try (Tensor ints = cpu.allocate(2, 1, DType.I32)) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> cpu.firstNonFiniteRow(ints));
      assertTrue(e.getMessage().contains("must be F32, BF16 or F64"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> fallback.firstNonFiniteRow(ints));
    }
  }

  private static void put(MemorySegment s, DType dtype, long k, float v) {
    switch (dtype) {
      case F32 -> s.setAtIndex(JAVA_FLOAT, k, v);
      case BF16 -> {
        short h = DType.toBf16(v);
        // Float.MAX_VALUE rounds to infinity in bfloat16: use its largest finite value instead.
        boolean overflowed = Float.isFinite(v) && !Float.isFinite(DType.fromBf16(h));
        s.setAtIndex(JAVA_SHORT, k, overflowed ? (short) (h < 0 ? 0xFF7F : 0x7F7F) : h);
      }
      default -> s.setAtIndex(JAVA_DOUBLE, k, v);
    }
  }

  /** Every operation delegated except {@link ParticleOps#firstNonFiniteRow}. */
  private record Delegate(ParticleOps d) implements ParticleOps {
    @Override
    public String name() {
      return "delegate";
    }

    @Override
    public Tensor allocate(int rows, int cols, DType dtype) {
      return d.allocate(rows, cols, dtype);
    }

    @Override
    public void upload(MemorySegment src, Tensor dst) {
      d.upload(src, dst);
    }

    @Override
    public void download(Tensor src, MemorySegment dst) {
      d.download(src, dst);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
      d.copy(src, dst);
    }

    @Override
    public void affine(Tensor x, Tensor u, Tensor coef, Noise noise, Tensor out) {
      d.affine(x, u, coef, noise, out);
    }

    @Override
    public void gaussian(Noise noise, Tensor out) {
      d.gaussian(noise, out);
    }

    @Override
    public void gather(Tensor src, Tensor index, Tensor dst) {
      d.gather(src, index, dst);
    }

    @Override
    public void groupArgmax(Tensor values, int groupSize, Tensor outIndex) {
      d.groupArgmax(values, groupSize, outIndex);
    }

    @Override
    public double logSumExp(Tensor values) {
      return d.logSumExp(values);
    }

    @Override
    public double effectiveSampleSize(Tensor logWeights) {
      return d.effectiveSampleSize(logWeights);
    }

    @Override
    public void resample(
        Tensor logWeights, Resampling scheme, long seed, long stream, Tensor outIndex) {
      d.resample(logWeights, scheme, seed, stream, outIndex);
    }

    @Override
    public void synchronize() {
      d.synchronize();
    }

    @Override
    public void close() {}
  }
}
