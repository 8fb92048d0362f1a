package org.flowscale.engine.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.flowscale.engine.model.ImageDecoder;
import org.junit.jupiter.api.Test;

class ToyModelImageTest {
  @Test
  void toyWorldSamplesDecodeToThemselves() {
    ToyModel m = (ToyModel) new ToyModelFactory().load(Map.of()).condition("one red circle");
    ImageDecoder d = m.imageDecoder().orElseThrow();
    assertEquals(ToyWorld.SIZE, d.height());
    assertEquals(ToyWorld.SIZE, d.width());
    float[] template = m.world().template(3).image();
    float[] two = new float[2 * ToyWorld.DIM];
    System.arraycopy(template, 0, two, ToyWorld.DIM, ToyWorld.DIM);
    assertArrayEquals(template, d.decode(two, 1));
  }

  @Test
  void aBareMixtureIsNoImage() {
    ToyModel m = ToyModel.mixture(new float[][] {{0f, 1f}}, new double[] {1}, 0.1);
    assertTrue(m.imageDecoder().isEmpty());
  }
}
