package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import javax.imageio.ImageIO;
import org.flowscale.cli.testing.TestModelFactory;
import org.junit.jupiter.api.Test;

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
    assertEquals(2, img.getWidth());
    assertEquals(0xff0000, img.getRGB(0, 0) & 0xffffff);
    assertEquals(0x00ff00, img.getRGB(1, 0) & 0xffffff);
    assertEquals(0x0000ff, img.getRGB(0, 1) & 0xffffff);
    assertEquals(0x808080, img.getRGB(1, 1) & 0xffffff);
  }

  @Test
  void aGridHoldsEveryRow() throws Exception {
    int rows = 11;
    float[] s = new float[12 * rows];
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    io.writeGrid(out, s, rows);
    BufferedImage img = ImageIO.read(new ByteArrayInputStream(out.toByteArray()));
    assertEquals(8 * 4 + 2, img.getWidth(), "8 columns of 2 pixels and 2-pixel gaps");
    assertEquals(2 * 4 + 2, img.getHeight(), "two rows");
  }
}
