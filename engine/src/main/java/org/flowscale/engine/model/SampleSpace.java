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
   * The image-token count {@code L} for FLUX.1-dev's resolution-dependent time shift (MATH.md
   * section 5, {@link org.flowscale.engine.math.TimeSchedule#fluxShift}), or 0 when the model's
   * time grid is not shifted (every model but FLUX.1-dev; FLUX.1-schnell uses no shift). A model
   * that needs the shift says so from its own latent size ({@code (H/16)(W/16)}: 4096 at
   * 1024x1024), so a run's grid follows the model rather than a hand-set number.
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
}
