package org.flowscale.engine.toy;

import java.util.stream.IntStream;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/** A toy-world reward scored image by image on the host, rows in parallel. */
abstract sealed class ImageReward implements Reward
    permits CountingReward, CompositionalReward, AestheticReward {

  /** The score of the image at {@code offset} of {@code x}. */
  abstract double scoreImage(float[] x, int offset);

  @Override
  public void score(ParticleOps ops, Tensor x0, Tensor out) {
    int n = rows(x0);
    TensorChecks.column(out, DType.F64, n, "out");
    float[] xs = HostIo.readFloats(ops, x0);
    double[] scores = new double[n];
    IntStream.range(0, n).parallel().forEach(i -> scores[i] = scoreImage(xs, i * ToyWorld.DIM));
    HostIo.writeDoubles(ops, scores, out);
  }

  static int rows(Tensor x0) {
    if (x0 == null) {
      throw new IllegalArgumentException("x0 must not be null");
    }
    HostIo.requireFloat(x0, "x0", x0.rows(), ToyWorld.DIM);
    return x0.rows();
  }
}
