package org.flowscale.api;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
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
  /** Small images are shown (and written by the command line) about this many pixels wide. */
  private static final int VIEW_PIXELS = 256;

  /**
   * Checks the size.
   *
   * @throws IllegalArgumentException when a side is not positive or {@code rgb} has not {@code
   *     height * width * 3} values
   */
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

  /**
   * {@return the upscaling factor that makes this image about 256 pixels on its longer side} 1 for
   * images that large or larger; a 32x32 toy image gets 8. The command line writes {@code
   * final.png} at this scale.
   */
  public int viewScale() {
    return viewScale(height, width);
  }

  static int viewScale(int height, int width) {
    return Math.max(1, VIEW_PIXELS / Math.max(height, width));
  }

  /**
   * {@return the image as a Java 2D image}
   *
   * @param scale each pixel is drawn as a {@code scale} x {@code scale} block (nearest neighbour)
   */
  public BufferedImage toBufferedImage(int scale) {
    if (scale < 1) {
      throw new IllegalArgumentException("scale must be >= 1, got " + scale);
    }
    return Png.toImage(rgb, 0, height, width, scale);
  }

  /**
   * Writes the image as PNG at its own size.
   *
   * @param out where the PNG goes (not closed)
   * @throws IOException when {@code out} fails
   */
  public void writePng(OutputStream out) throws IOException {
    writePng(out, 1);
  }

  /**
   * Writes the image as PNG, upscaled by {@code scale}: {@code writePng(out, viewScale())} writes
   * the same bytes as the command line's {@code final.png}.
   *
   * @param out where the PNG goes (not closed)
   * @param scale each pixel becomes a {@code scale} x {@code scale} block
   * @throws IOException when {@code out} fails
   */
  public void writePng(OutputStream out, int scale) throws IOException {
    if (!ImageIO.write(toBufferedImage(scale), "png", out)) {
      throw new IOException("no PNG writer in this Java runtime");
    }
  }

  /** {@return the image as PNG bytes at its own size} */
  public byte[] png() {
    return png(1);
  }

  /**
   * {@return the image as PNG bytes, upscaled by {@code scale}}
   *
   * @param scale each pixel becomes a {@code scale} x {@code scale} block
   */
  public byte[] png(int scale) {
    var out = new ByteArrayOutputStream();
    try {
      writePng(out, scale);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }
}
