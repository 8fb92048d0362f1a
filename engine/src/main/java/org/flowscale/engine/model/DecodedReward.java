package org.flowscale.engine.model;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * An image reward on a latent model's samples: each call decodes the Tweedie latents with the
 * model's {@link SampleDecoder} and scores the images (in {@link SampleDecoder}'s canonical layout)
 * with the wrapped reward, {@code batchSize} particles at a time so that decoded images of a large
 * population never sit on the device at once. {@link #gradient} chains the image reward's gradient
 * through the decoder's VJP, so the DPS methods work on latents.
 *
 * <p>Chunks are gathered into their own tensors (the backends have no row views); scores and, for
 * gradients, the latent-sized gradient rows of a chunk are assembled on the host when the batch is
 * split. A batch that fits in one chunk runs without any copy.
 *
 * <p>Owns the wrapped reward: closing this closes it.
 */
public final class DecodedReward implements Reward {
  private final SampleDecoder decoder;
  private final Reward images;
  private final int batchSize;
  private final int latentDim;
  private final int imageDim;

  /**
   * @param decoder the model's decoder
   * @param images the reward on decoded images (loaded against {@code decoder.imageSpace()})
   * @param latentDim values per latent sample (the model's {@link SampleSpace#dim()})
   * @param batchSize the most particles decoded and scored at once ({@code reward_batch_size})
   */
  public DecodedReward(SampleDecoder decoder, Reward images, int latentDim, int batchSize) {
    if (decoder == null || images == null) {
      throw new IllegalArgumentException("decoder and reward must be given");
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("reward_batch_size must be >= 1, got " + batchSize);
    }
    this.decoder = decoder;
    this.images = images;
    this.batchSize = batchSize;
    this.latentDim = latentDim;
    this.imageDim = decoder.imageSpace().dim();
  }

  /** The reward on decoded images. */
  public Reward imageReward() {
    return images;
  }

  @Override
  public String name() {
    return images.name();
  }

  @Override
  public boolean differentiable() {
    return images.differentiable() && decoder.hasVjp();
  }

  @Override
  public void score(ParticleOps ops, Tensor x0, Tensor out) {
    check(x0);
    TensorChecks.column(out, DType.F64, x0.rows(), "scores");
    int n = x0.rows();
    if (n <= batchSize) {
      try (Tensor img = ops.allocate(n, imageDim, DType.F32)) {
        decoder.decode(ops, x0, img);
        images.score(ops, img, out);
      }
      return;
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment all = a.allocate(JAVA_DOUBLE, n);
      for (int from = 0; from < n; from += batchSize) {
        int k = Math.min(batchSize, n - from);
        try (Tensor lat = rows(ops, x0, from, k);
            Tensor img = ops.allocate(k, imageDim, DType.F32);
            Tensor s = ops.allocate(k, 1, DType.F64)) {
          decoder.decode(ops, lat, img);
          images.score(ops, img, s);
          ops.download(s, all.asSlice(from * 8L, k * 8L));
        }
      }
      ops.upload(all, out);
    }
  }

  @Override
  public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
    if (!differentiable()) {
      throw new UnsupportedOperationException(
          name()
              + (images.differentiable()
                  ? " cannot be differentiated through this model's decoder"
                  : " reward is not differentiable"));
    }
    check(x0);
    TensorChecks.column(outScores, DType.F64, x0.rows(), "scores");
    if (outGrad.rows() != x0.rows() || outGrad.cols() != latentDim) {
      throw new IllegalArgumentException(
          "outGrad must be [" + x0.rows() + " x " + latentDim + "], like the latents");
    }
    int n = x0.rows();
    if (n <= batchSize) {
      try (Tensor img = ops.allocate(n, imageDim, DType.F32);
          Tensor g = ops.allocate(n, imageDim, DType.F32)) {
        decoder.decode(ops, x0, img);
        images.gradient(ops, img, outScores, g);
        decoder.decodeVjp(ops, x0, g, outGrad);
      }
      return;
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment scores = a.allocate(JAVA_DOUBLE, n);
      MemorySegment grads = a.allocate((long) n * latentDim * outGrad.dtype().bytes(), 8);
      long rowBytes = (long) latentDim * outGrad.dtype().bytes();
      for (int from = 0; from < n; from += batchSize) {
        int k = Math.min(batchSize, n - from);
        try (Tensor lat = rows(ops, x0, from, k);
            Tensor img = ops.allocate(k, imageDim, DType.F32);
            Tensor g = ops.allocate(k, imageDim, DType.F32);
            Tensor s = ops.allocate(k, 1, DType.F64);
            Tensor gl = ops.allocate(k, latentDim, outGrad.dtype())) {
          decoder.decode(ops, lat, img);
          images.gradient(ops, img, s, g);
          decoder.decodeVjp(ops, lat, g, gl);
          ops.download(s, scores.asSlice(from * 8L, k * 8L));
          ops.download(gl, grads.asSlice(from * rowBytes, k * rowBytes));
        }
      }
      ops.upload(scores, outScores);
      ops.upload(grads, outGrad);
    }
  }

  /** Rows {@code [from, from + k)} of {@code x} as a new tensor. */
  private static Tensor rows(ParticleOps ops, Tensor x, int from, int k) {
    Tensor out = ops.allocate(k, x.cols(), x.dtype());
    try (Tensor index = ops.allocate(k, 1, DType.I32);
        Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_INT, k);
      for (int i = 0; i < k; i++) {
        s.setAtIndex(JAVA_INT, i, from + i);
      }
      ops.upload(s, index);
      ops.gather(x, index, out);
      return out;
    } catch (RuntimeException e) {
      out.close();
      throw e;
    }
  }

  private void check(Tensor x0) {
    if (x0.cols() != latentDim) {
      throw new IllegalArgumentException(
          "latents must have " + latentDim + " columns, got " + x0.cols());
    }
  }

  @Override
  public void close() {
    images.close();
  }

  @Override
  public String toString() {
    return images + " on decoded images";
  }
}
