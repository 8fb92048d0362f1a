package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import javax.imageio.ImageIO;
import org.flowscale.api.testing.TestModelFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageOutputTest {
  private final ImageOutput io =
      ImageOutput.forModel(new TestModelFactory().create(Map.of(), "p")).orElseThrow();

  @Test
  void aSampleBecomesAReadablePngWithItsPixels() throws Exception {
    // 2x2 HWC in [-1, 1]: red, green / blue, grey (0 maps to 128).
    float[] s = {1, -1, -1, -1, 1, -1, -1, -1, 1, 0, 0, 0};
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    io.writeSample(out, s);
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(out.toByteArray()));
    int k = io.scale();
    assertEquals(128, k, "2x2 is upscaled to 256 pixels");
    assertEquals(2 * k, img.getWidth());
    assertEquals(0xff0000, img.getRGB(0, 0) & 0xffffff);
    assertEquals(0x00ff00, img.getRGB(k, 0) & 0xffffff);
    assertEquals(0x0000ff, img.getRGB(0, k) & 0xffffff);
    assertEquals(0x808080, img.getRGB(2 * k - 1, 2 * k - 1) & 0xffffff);
  }

  @TempDir Path tmp;

  @Test
  void aGridHoldsEveryRowAndNeverReplacesAFile() throws Exception {
    int rows = 11;
    float[] s = new float[12 * rows];
    s[12 * 10] = 1; // the last tile's first pixel is reddish
    Path file = tmp.resolve("grid.png");
    io.writeGrid(file, s, rows, Collections.nCopies(rows, "-1.00"));
    BufferedImage img = ImageIO.read(file.toFile());
    int tiles = 2 * 64; // half the single image's scale
    assertTrue(img.getWidth() >= 10 * tiles, "10 columns: " + img.getWidth());
    assertTrue(img.getHeight() >= 2 * tiles, "two rows: " + img.getHeight());
    assertThrows(
        FileAlreadyExistsException.class,
        () -> io.writeGrid(file, s, rows, Collections.nCopies(rows, "x")));
  }
}
