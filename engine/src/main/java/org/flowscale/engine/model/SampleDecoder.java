package org.flowscale.engine.model;

import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * Turns a latent model's samples into images on the device, batched: the seam between a latent flow
 * model (FLUX: a VAE decoder) and the rewards that judge pictures. A model that has one says so
 * with {@link SampleSpace#decoder()}; the search never sees it: a {@link DecodedReward} wraps the
 * image reward so that every reward call decodes the Tweedie latents first, and the DPS methods get
 * the gradient through the decoder by {@link #decodeVjp}.
 *
 * <p><b>The image contract</b> (stable; every image reward relies on it: the toy world's, the
 * TorchScript rewards, a remote KServe reward, the CLIP aesthetic reward): one image is one row of
 * {@code height * width * 3} F32 values, laid out height x width x RGB, row-major, {@code (y *
 * width + x) * 3 + c}, with values in [-1, 1] (-1 black, 1 full intensity). It is exactly the
 * layout of {@link ImageDecoder#pixels} and of the toy world's samples, so a reward written for one
 * judges the other. Decoders clamp to [-1, 1] (FLUX's VAE, like BFL's and diffusers' pipelines,
 * clamps before saving); the gradient is then zero where a value was clamped.
 *
 * <p><b>What a user's reward module sees</b> is a separate, per-reward choice: the TorchScript
 * reward on decoded images ({@link SampleSpace#decodedImages()}) gives its module {@code [N, 3, H,
 * W]} F32 in [0, 1] by default ({@code image_layout: nchw}, the FLUX reward contract), mapped from
 * these rows by libtorch on the device, with the gradient mapped back (permuted to {@code [H, W,
 * 3]}, times 0.5); {@code image_layout: nhwc} gives the rows as they are. The remote and CLIP
 * aesthetic rewards convert from this layout themselves.
 *
 * <p>Thread safety: as the model's; decoders are stateless between calls.
 */
public interface SampleDecoder {
  /**
   * What decoded images are, as a sample space: {@code dim = height * width * 3}, {@code shape =
   * [height, width, 3]}, and {@link ImageDecoder#pixels} as its image form. Rewards are loaded
   * against this space instead of the model's latent one.
   */
  SampleSpace imageSpace();

  /**
   * Decodes each row of {@code latents} (rows of the model's {@link SampleSpace#dim()}) into the
   * same row of {@code images} (rows of {@code imageSpace().dim()}, F32, the layout above). Runs on
   * the backend's device; no host round trip on native backends.
   */
  void decode(ParticleOps ops, Tensor latents, Tensor images);

  /** Whether {@link #decodeVjp} is available (the DPS methods need it). */
  default boolean hasVjp() {
    return false;
  }

  /**
   * The vector-Jacobian product of the decoder at each row of {@code latents}: {@code out[i] = (d
   * decode(latents[i]) / d latents[i])^T gImages[i]}, F32 rows of the latent size.
   *
   * @throws UnsupportedOperationException when {@link #hasVjp()} is false
   */
  default void decodeVjp(ParticleOps ops, Tensor latents, Tensor gImages, Tensor out) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no gradient");
  }

  /**
   * A sample space of images in the contract's layout, for {@link #imageSpace()}.
   *
   * @throws IllegalArgumentException when a side is not positive
   */
  static SampleSpace images(int height, int width) {
    ImageDecoder pixels = ImageDecoder.pixels(height, width);
    int dim = Math.multiplyExact(Math.multiplyExact(height, width), 3);
    return new SampleSpace() {
      @Override
      public int dim() {
        return dim;
      }

      @Override
      public long[] shape() {
        return new long[] {height, width, 3};
      }

      @Override
      public boolean decodedImages() {
        return true;
      }

      @Override
      public java.util.Optional<ImageDecoder> imageDecoder() {
        return java.util.Optional.of(pixels);
      }

      @Override
      public String toString() {
        return height + "x" + width + " RGB images";
      }
    };
  }
}
