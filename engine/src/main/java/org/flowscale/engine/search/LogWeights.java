package org.flowscale.engine.search;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;

/**
 * SMC's particle weights, kept as logs so that weights like {@code exp(500)} never overflow; the
 * normalising, ESS and resampling go through the backend's stable reductions ({@link
 * ParticleOps#effectiveSampleSize}, {@link ParticleOps#resample}). A resampling may draw another
 * number of particles than there are (an adaptive particle schedule), after which {@link #reset}
 * gives that many uniform weights.
 */
final class LogWeights implements AutoCloseable {
  private final ParticleOps ops;
  private double[] logW;
  private Tensor tensor;
  private Tensor index;

  LogWeights(ParticleOps ops, int n) {
    this.ops = ops;
    this.logW = new double[n];
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

  /** Uniform weights, as many as there are. */
  void reset() {
    reset(logW.length);
  }

  /** {@code n} uniform weights. */
  void reset(int n) {
    logW = new double[n];
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

  /** As many indices as there are weights, drawn in proportion to them. */
  int[] resample(Resampling scheme, long seed, long stream) {
    return resample(scheme, seed, stream, logW.length);
  }

  /** {@code m} indices drawn in proportion to the weights from {@code (seed, stream)}. */
  int[] resample(Resampling scheme, long seed, long stream, int m) {
    upload();
    if (index == null || index.rows() != m) {
      close(index);
      index = ops.allocate(m, 1, DType.I32);
    }
    ops.resample(tensor, scheme, seed, stream, index);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_INT, m);
      ops.download(index, s);
      int[] out = new int[m];
      MemorySegment.copy(s, JAVA_INT, 0, out, 0, m);
      return out;
    }
  }

  /** The particle of largest weight, ties to the first. */
  int argmax() {
    return SearchRun.argmax(logW, 0, logW.length);
  }

  private void upload() {
    if (tensor == null || tensor.rows() != logW.length) {
      close(tensor);
      tensor = ops.allocate(logW.length, 1, DType.F64);
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_DOUBLE, logW.length);
      MemorySegment.copy(logW, 0, s, JAVA_DOUBLE, 0, logW.length);
      ops.upload(s, tensor);
    }
  }

  private static void close(Tensor t) {
    if (t != null) {
      t.close();
    }
  }

  @Override
  public void close() {
    close(tensor);
    close(index);
    tensor = null;
    index = null;
  }
}
