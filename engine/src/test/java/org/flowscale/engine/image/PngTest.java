package org.flowscale.engine.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PngTest {
  /** A 2x3 image: red, green, blue / black, white, out of range (clamped). */
  private static final float[] IMAGE = {
    1, -1, -1, -1, 1, -1, -1, -1, 1, -1, -1, -1, 1, 1, 1, 5, -5, 0
  };

  @Test
  void writesAnUpscaledImageThatReadsBack(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("sub/one.png");
    Png.write(file, IMAGE, 2, 3, 4);
    BufferedImage img = ImageIO.read(file.toFile());
    assertEquals(12, img.getWidth());
    assertEquals(8, img.getHeight());
    assertEquals(0xFF0000, img.getRGB(0, 0) & 0xFFFFFF);
    assertEquals(0xFF0000, img.getRGB(3, 3) & 0xFFFFFF, "a pixel is a 4x4 block");
    assertEquals(0x00FF00, img.getRGB(4, 0) & 0xFFFFFF);
    assertEquals(0x0000FF, img.getRGB(8, 0) & 0xFFFFFF);
    assertEquals(0x000000, img.getRGB(0, 4) & 0xFFFFFF);
    assertEquals(0xFFFFFF, img.getRGB(4, 4) & 0xFFFFFF);
    assertEquals(0xFF0080, img.getRGB(8, 4) & 0xFFFFFF, "clamped to [0, 255], 0 -> 128");
    assertOnlyFinalFiles(file.getParent(), 1);
  }

  @Test
  void writesALabelledGrid(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("grid.png");
    List<float[]> images = List.of(IMAGE, IMAGE, IMAGE);
    Png.writeGrid(
        file, images, List.of("a", "a very long label that cannot fit", "c"), 2, 3, 2, 10);
    BufferedImage img = ImageIO.read(file.toFile());
    // 2 columns of 30 px tiles + margins; 2 rows of 20 px + label strip.
    assertEquals(2 * (30 + 4) + 4, img.getWidth());
    assertEquals(2 * (20 + 16 + 4) + 4, img.getHeight());
    assertEquals(0xFF0000, img.getRGB(4, 4) & 0xFFFFFF, "first tile at the margin");
    assertEquals(0xFF0000, img.getRGB(4 + 34, 4) & 0xFFFFFF, "second tile to its right");
    assertEquals(0xFF0000, img.getRGB(4, 4 + 40) & 0xFFFFFF, "third tile below");
    int dark = 0;
    for (int y = 24; y < 40; y++) {
      for (int x = 4; x < 34; x++) {
        if ((img.getRGB(x, y) & 0xFF) < 128) {
          dark++;
        }
      }
    }
    assertTrue(dark > 3, "the label is drawn under the tile");
    assertOnlyFinalFiles(dir, 1);
    Png.writeGrid(file, images, null, 2, 3, 5, 1);
    assertEquals(3 * (3 + 4) + 4, ImageIO.read(file.toFile()).getWidth(), "replaces the file");
  }

  @Test
  void refusesBadInput(@TempDir Path dir) {
    Path f = dir.resolve("x.png");
    assertThrows(IllegalArgumentException.class, () -> Png.write(f, IMAGE, 3, 3, 1));
    assertThrows(IllegalArgumentException.class, () -> Png.write(f, IMAGE, 2, 3, 0));
    assertThrows(
        IllegalArgumentException.class, () -> Png.writeGrid(f, List.of(), null, 2, 3, 1, 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> Png.writeGrid(f, List.of(IMAGE), List.of("a", "b"), 2, 3, 1, 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> Png.writeGrid(f, List.of(IMAGE, new float[5]), null, 2, 3, 1, 1));
    assertTrue(Files.notExists(f), "nothing half-written");
  }

  private static void assertOnlyFinalFiles(Path dir, int expected) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(expected, s.count(), "no temporary files left behind");
    }
  }
}
