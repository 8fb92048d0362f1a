package org.flowscale.bench;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import org.flowscale.engine.math.Affine;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.rng.Simd;

/**
 * The same SDE step, ODE step and copy as {@link ParticleStepBenchmark}, timed in the calling
 * thread's CPU time on one thread: a companion for shared machines, where other processes make
 * wall-clock throughput swing but barely move the CPU time an operation needs. The batch is one row
 * of the benchmark's 64 x 4096 x 64 floats, which keeps the CPU backend on the calling thread.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar
 * org.flowscale.bench.StepCpuTime}
 */
public final class StepCpuTime {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private StepCpuTime() {}

  public static void main(String[] args) {
    int elements =
        ParticleStepBenchmark.PARTICLES
            * ParticleStepBenchmark.TOKENS
            * ParticleStepBenchmark.CHANNELS;
    try (CpuParticleOps ops = new CpuParticleOps();
        Tensor x = ops.allocate(1, elements, DType.F32);
        Tensor u = ops.allocate(1, elements, DType.F32);
        Tensor out = ops.allocate(1, elements, DType.F32);
        Tensor sde =
            coefficients(ops, SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3).step(0.5, 0.1));
        Tensor ode = coefficients(ops, SamplingScheme.linearOde().step(0.5, 0.1))) {
      ops.gaussian(new Noise(1, 1, null), x);
      ops.gaussian(new Noise(1, 2, null), u);
      Noise noise = new Noise(2025, 7, null);
      MemorySegment src = CpuParticleOps.segment(x);
      MemorySegment dst = CpuParticleOps.segment(out);
      long bytes = x.byteSize();
      double sdeNs = median(() -> ops.affine(x, u, sde, noise, out));
      double odeNs = median(() -> ops.affine(x, u, ode, null, out));
      double copyNs = median(() -> MemorySegment.copy(src, 0, dst, 0, bytes));
      System.out.printf(
          "one thread, CPU time, %d floats (%d MiB per tensor), %s%n",
          elements, bytes >> 20, Simd.describe());
      report("sdeStep", sdeNs, 3 * bytes, elements);
      report("odeStep", odeNs, 3 * bytes, elements);
      report("copy", copyNs, 2 * bytes, elements);
      System.out.printf(
          "sdeStep / copy bytes per second: %.4f%n",
          (3.0 * bytes / sdeNs) / (2.0 * bytes / copyNs));
      System.out.printf(
          "odeStep / copy bytes per second: %.4f%n",
          (3.0 * bytes / odeNs) / (2.0 * bytes / copyNs));
    }
  }

  private static Tensor coefficients(CpuParticleOps ops, Affine a) {
    Tensor c = ops.allocate(1, 3, DType.F64);
    MemorySegment s = CpuParticleOps.segment(c);
    s.setAtIndex(ValueLayout.JAVA_DOUBLE, 0, a.x());
    s.setAtIndex(ValueLayout.JAVA_DOUBLE, 1, a.u());
    s.setAtIndex(ValueLayout.JAVA_DOUBLE, 2, a.z());
    return c;
  }

  /**
   * Median CPU nanoseconds of 7 runs after 5 warm-up runs (the vectorised loops take a few seconds
   * of CPU before the JIT has compiled them; see {@link Simd}).
   */
  private static double median(Runnable op) {
    for (int i = 0; i < 5; i++) {
      op.run();
    }
    long[] ns = new long[7];
    for (int i = 0; i < ns.length; i++) {
      long t0 = THREADS.getCurrentThreadCpuTime();
      op.run();
      ns[i] = THREADS.getCurrentThreadCpuTime() - t0;
    }
    Arrays.sort(ns);
    return ns[ns.length / 2];
  }

  private static void report(String name, double ns, long bytes, int elements) {
    System.out.printf(
        "%-8s %9.2f ms  %6.2f ns/element  %7.3f GB/s (bytes touched / CPU time)%n",
        name, ns / 1e6, ns / elements, bytes / ns);
  }
}
