package org.flowscale.engine.model;

/**
 * How a model's samples look as pictures, so that tools outside the engine (the command line's PNG
 * outputs) can show them without knowing the model's data space. A sample is what {@link
 * org.flowscale.engine.search.SearchResult#sample()} holds: {@link VelocityModel#dim()} floats. An
 * image is {@code height x width x 3} floats, row-major ({@code (y * width + x) * 3 + c}), RGB in
 * [-1, 1]: the toy world's layout, and what {@code org.flowscale.engine.image.Png} writes. Pixel
 * models decode by copying; a latent model (FLUX) would run its VAE here.
 */
public interface ImageDecoder {
  /** Image height in pixels. */
  int height();

  /** Image width in pixels. */
  int width();

  /**
   * Row {@code row} of {@code samples} (rows of {@code dim} floats) as an image.
   *
   * @throws IllegalArgumentException when the row is not inside {@code samples}
   */
  float[] decode(float[] samples, int row);

  /** The decoder of samples that already are images in the layout above. */
  static ImageDecoder pixels(int height, int width) {
    if (height <= 0 || width <= 0) {
      throw new IllegalArgumentException(
          "image size must be positive, got " + height + "x" + width);
    }
    return new ImageDecoder() {
      @Override
      public int height() {
        return height;
      }

      @Override
      public int width() {
        return width;
      }

      @Override
      public float[] decode(float[] samples, int row) {
        int n = height * width * 3;
        long from = (long) row * n;
        if (row < 0 || from + n > samples.length) {
          throw new IllegalArgumentException(
              "row " + row + " of " + n + " values is outside samples of " + samples.length);
        }
        return java.util.Arrays.copyOfRange(samples, (int) from, (int) from + n);
      }
    };
  }
}
