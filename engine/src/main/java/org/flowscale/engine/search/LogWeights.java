package org.flowscale.engine.search;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;

/**
 * SMC's particle weights, kept as logs so that weights like {@code exp(500)} never overflow; the
 * normalising, ESS and resampling go through the backend's stable reductions ({@link
 * ParticleOps#effectiveSampleSize}, {@link ParticleOps#resample}).
 */
final class LogWeights implements AutoCloseable {
  private final ParticleOps ops;
  private final double[] logW;
  private final Tensor tensor;
  private final Tensor index;

  LogWeights(ParticleOps ops, int n) {
    this.ops = ops;
    this.logW = new double[n];
    this.tensor = ops.allocate(n, 1, DType.F64);
    this.index = ops.allocate(n, 1, DType.I32);
  }

  int size() {
    return logW.length;
  }

  /** Sets every log-weight. */
  void set(double[] values) {
    System.arraycopy(values, 0, logW, 0, logW.length);
  }

  /** Adds to every log-weight (a multiplicative update of the weights). */
  void add(double[] delta) {
    for (int i = 0; i < logW.length; i++) {
      logW[i] += delta[i];
    }
  }

  /** Uniform weights. */
  void reset() {
    Arrays.fill(logW, 0);
  }

  /** A copy of the log-weights. */
  double[] values() {
    return logW.clone();
  }

  /** {@code 1 / sum w_i^2} of the normalised weights, in [1, n]. */
  double ess() {
    upload();
    return ops.effectiveSampleSize(tensor);
  }

  /** {@code n} indices drawn in proportion to the weights from {@code (seed, stream)}. */
  int[] resample(Resampling scheme, long seed, long stream) {
    upload();
    ops.resample(tensor, scheme, seed, stream, index);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_INT, logW.length);
      ops.download(index, s);
      int[] out = new int[logW.length];
      MemorySegment.copy(s, JAVA_INT, 0, out, 0, out.length);
      return out;
    }
  }

  /** The particle of largest weight, ties to the first. */
  int argmax() {
    return SearchRun.argmax(logW, 0, logW.length);
  }

  private void upload() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_DOUBLE, logW.length);
      MemorySegment.copy(logW, 0, s, JAVA_DOUBLE, 0, logW.length);
      ops.upload(s, tensor);
    }
  }

  @Override
  public void close() {
    tensor.close();
    index.close();
  }
}
