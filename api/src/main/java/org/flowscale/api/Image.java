package org.flowscale.api;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import javax.imageio.ImageIO;
import org.flowscale.engine.image.Png;

/**
 * A generated image: {@code height x width} RGB pixels, row-major, three floats per pixel ({@code
 * (y * width + x) * 3 + c}), values in [-1, 1] (what the model's decoder makes; -1 is black).
 *
 * @param height in pixels
 * @param width in pixels
 * @param rgb {@code height * width * 3} values
 */
public record Image(int height, int width, float[] rgb) {
  public Image {
    if (height <= 0 || width <= 0 || rgb == null || rgb.length != (long) height * width * 3) {
      throw new IllegalArgumentException(
          "an image of "
              + height
              + "x"
              + width
              + " needs "
              + 3L * height * width
              + " values, got "
              + (rgb == null ? "none" : rgb.length));
    }
  }

  /** The image as a Java 2D image, each pixel drawn as a {@code scale} x {@code scale} block. */
  public BufferedImage toBufferedImage(int scale) {
    return Png.toImage(rgb, 0, height, width, scale);
  }

  /** Writes the image as PNG at its own size. */
  public void writePng(OutputStream out) throws IOException {
    if (!ImageIO.write(toBufferedImage(1), "png", out)) {
      throw new IOException("no PNG writer in this Java runtime");
    }
  }

  /** The image as PNG bytes at its own size. */
  public byte[] png() {
    var out = new java.io.ByteArrayOutputStream();
    try {
      writePng(out);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
