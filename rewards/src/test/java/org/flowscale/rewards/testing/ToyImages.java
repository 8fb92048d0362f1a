package org.flowscale.rewards.testing;

import java.util.Optional;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.rng.Philox;
import org.flowscale.engine.toy.ToyWorld;
import org.flowscale.rewards.HostTensors;

/** Toy-world images for reward tests, and scoring them. */
public final class ToyImages {
  private ToyImages() {}

  /** Samples that are 32x32 RGB images (the toy world's). */
  public static final SampleSpace SPACE = space(ToyWorld.SIZE, ToyWorld.SIZE);

  /** Samples that are {@code h x w} RGB images, decoded as the pixels themselves. */
  public static SampleSpace space(int h, int w) {
    return new SampleSpace() {
      @Override
      public int dim() {
        return h * w * 3;
      }

      @Override
      public Optional<ImageDecoder> imageDecoder() {
        return Optional.of(ImageDecoder.pixels(h, w));
      }
    };
  }

  /** Templates, blends of two and noisy ones, so scores are not all integers. */
  public static float[] images(int n) {
    ToyWorld w = ToyWorld.generate(ToyWorld.DEFAULT_SEED, 64);
    float[] x = new float[n * ToyWorld.DIM];
    for (int i = 0; i < n; i++) {
      float[] a = w.template((7 * i) % 64).image();
      float[] b = w.template((7 * i + 3) % 64).image();
      double mix = (i % 3) / 3.0;
      for (int j = 0; j < ToyWorld.DIM; j++) {
        float noise = Philox.uniform(11, i, j) < 0.5 ? 0.03f : -0.03f;
        x[i * ToyWorld.DIM + j] = (float) ((1 - mix) * a[j] + mix * b[j]) + noise;
      }
    }
    return x;
  }

  /** The reward's scores of the images {@code x} (rows of 3072). */
  public static double[] score(ParticleOps ops, Reward r, float[] x) {
    int n = x.length / ToyWorld.DIM;
    try (Tensor x0 = ops.allocate(n, ToyWorld.DIM, DType.F32);
        Tensor out = ops.allocate(n, 1, DType.F64)) {
      HostTensors.writeFloats(ops, x, x0);
      r.score(ops, x0, out);
      return HostTensors.readDoubles(ops, out);
    }
  }
}
