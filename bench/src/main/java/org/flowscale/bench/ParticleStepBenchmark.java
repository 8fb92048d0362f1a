package org.flowscale.bench;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.flowscale.engine.math.Affine;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One sampling step of the CPU backend on a FLUX-sized batch: 64 particles of [4096 x 64] floats
 * (64 MiB per tensor), next to a plain copy of a tensor, so the step's memory throughput can be
 * read against what the machine's memory allows.
 *
 * <p>Each benchmark counts the bytes it touches in the {@code bytes} counter, which JMH reports as
 * a rate (bytes per second, printed in "ops/s"): the step reads x and u and writes out (3 x 64
 * MiB); the copy reads and writes one tensor (2 x 64 MiB). The step writes into a separate tensor,
 * as a search does when it draws proposals from one state.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {
      "--enable-native-access=ALL-UNNAMED",
      "--add-modules=jdk.incubator.vector",
      "-Xmx1g"
    })
public class ParticleStepBenchmark {
  static final int PARTICLES = 64;
  static final int TOKENS = 4096;
  static final int CHANNELS = 64;

  /** The bytes an operation touched; JMH reports the counter per second. */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Traffic {
    public long bytes;

    @Setup(Level.Iteration)
    public void reset() {
      bytes = 0;
    }
  }

  private ParticleOps ops;
  private Tensor x;
  private Tensor u;
  private Tensor out;
  private Tensor sdeCoef;
  private Tensor odeCoef;
  private Noise noise;
  private MemorySegment copySrc;
  private MemorySegment copyDst;
  private long tensorBytes;

  @Setup(Level.Trial)
  public void setUp() {
    ops = new CpuParticleOps();
    x = ops.allocate(PARTICLES, TOKENS * CHANNELS, DType.F32);
    u = ops.allocate(PARTICLES, TOKENS * CHANNELS, DType.F32);
    out = ops.allocate(PARTICLES, TOKENS * CHANNELS, DType.F32);
    ops.gaussian(new Noise(1, 1, null), x);
    ops.gaussian(new Noise(1, 2, null), u);
    // The paper's setting (VP-SDE, square, norm 3) half way through a 10-step run.
    SamplingScheme vp = SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3);
    sdeCoef = coefficients(vp.step(0.5, 0.1));
    odeCoef = coefficients(SamplingScheme.linearOde().step(0.5, 0.1));
    noise = new Noise(2025, 7, null);
    tensorBytes = x.byteSize();
    copySrc = CpuParticleOps.segment(x);
    copyDst = CpuParticleOps.segment(out);
  }

  private Tensor coefficients(Affine a) {
    Tensor c = ops.allocate(PARTICLES, 3, DType.F64);
    MemorySegment s = CpuParticleOps.segment(c);
    for (int i = 0; i < PARTICLES; i++) {
      s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 3L * i, a.x());
      s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 3L * i + 1, a.u());
      s.setAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 3L * i + 2, a.z());
    }
    return c;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    for (Tensor t : new Tensor[] {x, u, out, sdeCoef, odeCoef}) {
      t.close();
    }
    ops.close();
  }

  /** SDE step: {@code out = a x + b u + c z}, z drawn by Philox for every element. */
  @Benchmark
  public void sdeStep(Traffic traffic) {
    ops.affine(x, u, sdeCoef, noise, out);
    traffic.bytes += 3 * tensorBytes;
  }

  /** ODE step: {@code out = a x + b u}, no noise. */
  @Benchmark
  public void odeStep(Traffic traffic) {
    ops.affine(x, u, odeCoef, null, out);
    traffic.bytes += 3 * tensorBytes;
  }

  /** The memory baseline: one tensor copied with {@link MemorySegment#copy}. */
  @Benchmark
  public void copy(Traffic traffic) {
    MemorySegment.copy(copySrc, 0, copyDst, 0, tensorBytes);
    traffic.bytes += 2 * tensorBytes;
  }
}
