package org.flowscale.engine.model;

import java.util.Optional;

/**
 * What a reward needs to know of the model whose samples it judges: how many values a sample holds
 * and how it looks as an image. Both a loaded {@link FlowModel} and a conditioned {@link
 * VelocityModel} describe their samples this way, so a reward can be made before any prompt is
 * known.
 */
public interface SampleSpace {
  /** Values per particle (e.g. 3072 for 32x32 RGB, 4096 x 64 for a FLUX latent). */
  int dim();

  /**
   * The shape of one sample, row-major, whose sizes multiply to {@link #dim()} (e.g. {@code [32,
   * 32, 3]} for the toy world's images, {@code [16, 128, 128]} for a FLUX latent). By default one
   * flat axis.
   */
  default long[] shape() {
    return new long[] {dim()};
  }

  /**
   * The image-token count of the time shift the model was trained with (FLUX.1-dev: its packed
   * latent's token count, MATH.md section 5), or 0 when it uses no shift. A run whose config leaves
   * {@code time_shift} unset takes this.
   */
  default int timeShiftTokens() {
    return 0;
  }

  /**
   * How this model's samples look as images, for outputs; empty when they are not images (or the
   * model cannot decode them).
   */
  default Optional<ImageDecoder> imageDecoder() {
    return Optional.empty();
  }

  /**
   * Whether these samples are images decoded from a latent model's samples ({@link
   * SampleDecoder#imageSpace()}, {@link SampleDecoder}'s layout) rather than a model's own samples.
   * A reward a user scripts for a latent model takes them as {@code [N, 3, H, W]} in [0, 1] by
   * default (the TorchScript reward's {@code image_layout: nchw}); the engine's rows stay in the
   * contract's layout.
   */
  default boolean decodedImages() {
    return false;
  }

  /**
   * The device-side decoder of a latent model's samples into images (FLUX: its VAE decoder), or
   * empty when the samples are what rewards judge as they are. When present, image rewards are
   * loaded against {@link SampleDecoder#imageSpace()} and wrapped in a {@link DecodedReward}.
   */
  default Optional<SampleDecoder> decoder() {
    return Optional.empty();
  }
}
