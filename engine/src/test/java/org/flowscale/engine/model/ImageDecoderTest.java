package org.flowscale.engine.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ImageDecoderTest {
  @Test
  void pixelsDecodeARowByCopying() {
    ImageDecoder d = ImageDecoder.pixels(1, 2);
    float[] samples = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assertArrayEquals(new float[] {7, 8, 9, 10, 11, 12}, d.decode(samples, 1));
    float[] first = d.decode(samples, 0);
    first[0] = 99;
    assertEquals(1, samples[0], "a copy, not a view");
  }

  @Test
  void rowsOutsideTheSamplesAreRefused() {
    ImageDecoder d = ImageDecoder.pixels(1, 2);
    assertThrows(IllegalArgumentException.class, () -> d.decode(new float[12], 2));
    assertThrows(IllegalArgumentException.class, () -> d.decode(new float[12], -1));
    assertThrows(IllegalArgumentException.class, () -> ImageDecoder.pixels(0, 2));
  }

  @Test
  void modelsHaveNoImageFormUnlessTheySaySo() {
    assertTrue(new GaussianModel(new float[] {0f}, 1).imageDecoder().isEmpty());
  }
}
