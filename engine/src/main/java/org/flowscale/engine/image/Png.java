package org.flowscale.engine.image;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Writes RGB images with values in [-1, 1] (row-major height x width x channel, the toy world's
 * layout) as PNG files, single or as a labelled grid, upscaled with nearest-neighbour pixels so
 * small images stay crisp. Files are written to a temporary name beside the target and renamed, so
 * a reader never sees half a file.
 */
public final class Png {
  private static final int LABEL_HEIGHT = 16;
  private static final int MARGIN = 4;

  private Png() {}

  /**
   * The image at {@code offset} of {@code hwc}, each pixel drawn as a {@code scale}-pixel block.
   */
  public static BufferedImage toImage(float[] hwc, int offset, int height, int width, int scale) {
    checkShape(hwc, offset, height, width, scale);
    BufferedImage img =
        new BufferedImage(width * scale, height * scale, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int b = offset + (y * width + x) * 3;
        int rgb = (byteOf(hwc[b]) << 16) | (byteOf(hwc[b + 1]) << 8) | byteOf(hwc[b + 2]);
        for (int dy = 0; dy < scale; dy++) {
          for (int dx = 0; dx < scale; dx++) {
            img.setRGB(x * scale + dx, y * scale + dy, rgb);
          }
        }
      }
    }
    return img;
  }

  /** Writes one image. */
  public static void write(Path file, float[] hwc, int height, int width, int scale) {
    save(toImage(hwc, 0, height, width, scale), file);
  }

  /**
   * Writes images as a grid of {@code columns} tiles, each with its label underneath (labels too
   * wide for a tile are cut with an ellipsis; a null label list draws none).
   */
  public static void writeGrid(
      Path file,
      List<float[]> images,
      List<String> labels,
      int height,
      int width,
      int columns,
      int scale) {
    if (images == null || images.isEmpty()) {
      throw new IllegalArgumentException("a grid needs at least one image");
    }
    if (labels != null && labels.size() != images.size()) {
      throw new IllegalArgumentException(
          "need one label per image: " + images.size() + " images, " + labels.size() + " labels");
    }
    if (columns <= 0) {
      throw new IllegalArgumentException("columns must be > 0, got " + columns);
    }
    int cols = Math.min(columns, images.size());
    int rows = (images.size() + cols - 1) / cols;
    int tileW = width * scale;
    int tileH = height * scale + (labels == null ? 0 : LABEL_HEIGHT);
    BufferedImage grid =
        new BufferedImage(
            cols * (tileW + MARGIN) + MARGIN,
            rows * (tileH + MARGIN) + MARGIN,
            BufferedImage.TYPE_INT_RGB);
    Graphics2D g = grid.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
      g.setRenderingHint(
          RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      FontMetrics fm = g.getFontMetrics();
      for (int i = 0; i < images.size(); i++) {
        int x = MARGIN + (i % cols) * (tileW + MARGIN);
        int y = MARGIN + (i / cols) * (tileH + MARGIN);
        float[] img = images.get(i);
        if (img == null || img.length != height * width * 3) {
          throw new IllegalArgumentException(
              "image " + i + " must have " + height * width * 3 + " values");
        }
        g.drawImage(toImage(img, 0, height, width, scale), x, y, null);
        if (labels != null && labels.get(i) != null) {
          g.setColor(Color.BLACK);
          g.drawString(fit(labels.get(i), fm, tileW), x + 1, y + height * scale + fm.getAscent());
        }
      }
    } finally {
      g.dispose();
    }
    save(grid, file);
  }

  private static String fit(String label, FontMetrics fm, int width) {
    if (fm.stringWidth(label) <= width) {
      return label;
    }
    String cut = label;
    while (!cut.isEmpty() && fm.stringWidth(cut + "...") > width) {
      cut = cut.substring(0, cut.length() - 1);
    }
    return cut + "...";
  }

  /** Writes a PNG through a temporary file in the same folder, then renames it into place. */
  public static void save(BufferedImage image, Path file) {
    if (file == null) {
      throw new IllegalArgumentException("file must not be null");
    }
    Path target = file.toAbsolutePath();
    Path dir = target.getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
      if (!ImageIO.write(image, "png", tmp.toFile())) {
        throw new IllegalStateException("no PNG writer available in javax.imageio");
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      tmp = null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write PNG " + target + ": " + e.getMessage(), e);
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // The write already failed; that error is the one to report.
        }
      }
    }
  }

  private static void checkShape(float[] hwc, int offset, int height, int width, int scale) {
    if (height <= 0 || width <= 0 || scale <= 0) {
      throw new IllegalArgumentException(
          "height, width and scale must be > 0, got " + height + ", " + width + ", " + scale);
    }
    if (hwc == null || offset < 0 || offset + (long) height * width * 3 > hwc.length) {
      throw new IllegalArgumentException(
          "need " + height * width * 3 + " values at offset " + offset);
    }
  }

  /** Maps [-1, 1] to 0..255, clamping. */
  private static int byteOf(float v) {
    double u = (v + 1) * 127.5;
    return (int) Math.round(Math.max(0, Math.min(255, u)));
  }
}
