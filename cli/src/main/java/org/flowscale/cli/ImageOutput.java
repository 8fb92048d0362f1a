package org.flowscale.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.VelocityModel;

/** Writes a model's samples as PNG: one sample, or a grid of many. */
final class ImageOutput {
  private final ImageDecoder decoder;

  private ImageOutput(ImageDecoder decoder) {
    this.decoder = decoder;
  }

  /** The model's image form, if its samples are images. */
  static Optional<ImageOutput> forModel(VelocityModel model) {
    return model.imageDecoder().map(ImageOutput::new);
  }

  int height() {
    return decoder.height();
  }

  int width() {
    return decoder.width();
  }

  void writeSample(OutputStream out, float[] sample) throws IOException {
    BufferedImage img = new BufferedImage(width(), height(), BufferedImage.TYPE_INT_RGB);
    float[] hwc = decoder.decode(sample, 0);
    for (int y = 0; y < height(); y++) {
      for (int x = 0; x < width(); x++) {
        int b = (y * width() + x) * 3;
        img.setRGB(x, y, (byteOf(hwc[b]) << 16) | (byteOf(hwc[b + 1]) << 8) | byteOf(hwc[b + 2]));
      }
    }
    png(img, out);
  }

  /** Rows of samples in a grid of up to 8 columns, 2-pixel gaps. */
  void writeGrid(OutputStream out, float[] samples, int rows) throws IOException {
    int cols = Math.min(8, rows);
    int gridRows = (rows + cols - 1) / cols;
    int gap = 2;
    BufferedImage img =
        new BufferedImage(
            cols * (width() + gap) + gap,
            gridRows * (height() + gap) + gap,
            BufferedImage.TYPE_INT_RGB);
    for (int i = 0; i < rows; i++) {
      int x0 = gap + (i % cols) * (width() + gap);
      int y0 = gap + (i / cols) * (height() + gap);
      float[] hwc = decoder.decode(samples, i);
      for (int y = 0; y < height(); y++) {
        for (int x = 0; x < width(); x++) {
          int b = (y * width() + x) * 3;
          img.setRGB(
              x0 + x,
              y0 + y,
              (byteOf(hwc[b]) << 16) | (byteOf(hwc[b + 1]) << 8) | byteOf(hwc[b + 2]));
        }
      }
    }
    png(img, out);
  }

  private static int byteOf(float v) {
    return (int) Math.round(Math.max(0, Math.min(255, (v + 1) * 127.5)));
  }

  private static void png(BufferedImage img, OutputStream out) throws IOException {
    if (!ImageIO.write(img, "png", out)) {
      throw new IOException("no PNG writer in this Java runtime");
    }
  }
}
