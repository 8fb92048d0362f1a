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
    save(grid(images, labels, null, height, width, columns, scale), file);
  }

  /**
   * Images as a grid of {@code columns} tiles under an optional title line, each tile with its
   * label underneath (a label may hold a second line after {@code '\n'}; labels too wide for a tile
   * are cut with an ellipsis; a null label list draws none).
   */
  public static BufferedImage grid(
      List<float[]> images,
      List<String> labels,
      String title,
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
    int labelLines = 0;
    if (labels != null) {
      labelLines = 1;
      for (String l : labels) {
        if (l != null && l.indexOf('\n') >= 0) {
          labelLines = 2;
        }
      }
    }
    int tileH = height * scale + labelLines * LABEL_HEIGHT;
    int top = title == null ? 0 : LABEL_HEIGHT + MARGIN;
    BufferedImage grid =
        new BufferedImage(
            cols * (tileW + MARGIN) + MARGIN,
            top + rows * (tileH + MARGIN) + MARGIN,
            BufferedImage.TYPE_INT_RGB);
    Graphics2D g = grid.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
      g.setRenderingHint(
          RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
      FontMetrics fm = g.getFontMetrics();
      if (title != null) {
        g.setColor(Color.BLACK);
        g.drawString(fit(title, fm, grid.getWidth() - 2 * MARGIN), MARGIN, MARGIN + fm.getAscent());
      }
      for (int i = 0; i < images.size(); i++) {
        int x = MARGIN + (i % cols) * (tileW + MARGIN);
        int y = top + MARGIN + (i / cols) * (tileH + MARGIN);
        float[] img = images.get(i);
        if (img == null || img.length != height * width * 3) {
          throw new IllegalArgumentException(
              "image " + i + " must have " + height * width * 3 + " values");
        }
        g.drawImage(toImage(img, 0, height, width, scale), x, y, null);
        if (labels != null && labels.get(i) != null) {
          g.setColor(Color.BLACK);
          String[] lines = labels.get(i).split("\n", 2);
          for (int l = 0; l < lines.length; l++) {
            g.drawString(
                fit(lines[l], fm, tileW),
                x + 1,
                y + height * scale + l * LABEL_HEIGHT + fm.getAscent());
          }
        }
      }
    } finally {
      g.dispose();
    }
    return grid;
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
      tmp = newTemporary(target);
      try (var out = Files.newOutputStream(tmp)) {
        if (!ImageIO.write(image, "png", out)) {
          throw new IllegalStateException("no PNG writer available in javax.imageio");
        }
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      tmp = null;
    } catch (IOException e) {
      // ImageIO wraps the file system's error ("I/O error writing PNG file!"): report the cause.
      Throwable why = e;
      while (why.getCause() instanceof IOException inner) {
        why = inner;
      }
      throw new UncheckedIOException("cannot write PNG " + target + ": " + why.getMessage(), e);
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

  /**
   * A new empty file beside {@code target} named {@code .NAME.RANDOM.tmp}, made with the default
   * permissions (the user's umask). {@link Files#createTempFile} would make it 0600, and the rename
   * would carry that mode to the output.
   */
  public static Path newTemporary(Path target) throws IOException {
    java.util.concurrent.ThreadLocalRandom rnd = java.util.concurrent.ThreadLocalRandom.current();
    for (int attempt = 0; ; attempt++) {
      Path tmp =
          target.resolveSibling(
              "."
                  + target.getFileName()
                  + "."
                  + Long.toUnsignedString(rnd.nextLong(), 36)
                  + ".tmp");
      try {
        return Files.createFile(tmp);
      } catch (java.nio.file.FileAlreadyExistsException e) {
        if (attempt > 100) {
          throw e;
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
