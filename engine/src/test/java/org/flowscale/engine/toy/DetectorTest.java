package org.flowscale.engine.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

class DetectorTest {
  private static final ToyWorld WORLD = ToyWorldTest.WORLD;

  @Test
  void countsEveryTemplateExactlyAndConfidently() {
    for (int k = 0; k < WORLD.size(); k++) {
      ToyWorld.Template t = WORLD.template(k);
      List<Detector.Detection> found = Detector.detect(t.image(), 0);
      assertArrayEquals(t.counts(), Detector.counts(found), "template " + k + ": " + t.describe());
      for (Detector.Detection d : found) {
        assertTrue(d.probability(d.kind()) > 0.99, "template " + k + " " + d);
      }
    }
  }

  @Test
  void toleratesPixelNoiseFarAboveALateTweedie() {
    // A late Tweedie estimate carries at most s = 0.05 of noise per pixel; use three times that.
    Random rnd = new Random(7);
    for (int k = 0; k < WORLD.size(); k++) {
      float[] img = WORLD.template(k).image();
      for (int j = 0; j < img.length; j++) {
        img[j] += (float) (0.15 * rnd.nextGaussian());
      }
      assertArrayEquals(
          WORLD.template(k).counts(), Detector.counts(Detector.detect(img, 0)), "template " + k);
    }
  }

  @Test
  void countsTheTweedieEstimateOfALateNoisyState() {
    // x_t drawn from the joint around template k; the model's Tweedie x - t u must count as k.
    ToyModel model = ToyModel.of(WORLD, null, 0.05, 0);
    Random rnd = new Random(11);
    int n = 64;
    float[] x = new float[n * ToyWorld.DIM];
    double[] t = new double[n];
    int[] k = new int[n];
    for (int i = 0; i < n; i++) {
      k[i] = rnd.nextInt(WORLD.size());
      t[i] = i % 2 == 0 ? 0.2 : 0.4;
      float[] mu = WORLD.template(k[i]).image();
      for (int j = 0; j < ToyWorld.DIM; j++) {
        double x0 = mu[j] + 0.05 * rnd.nextGaussian();
        x[i * ToyWorld.DIM + j] = (float) ((1 - t[i]) * x0 + t[i] * rnd.nextGaussian());
      }
    }
    float[] u = new float[x.length];
    model.compute(x, t, null, u, n);
    for (int i = 0; i < n; i++) {
      float[] tweedie = new float[ToyWorld.DIM];
      for (int j = 0; j < ToyWorld.DIM; j++) {
        tweedie[j] = (float) (x[i * ToyWorld.DIM + j] - t[i] * u[i * ToyWorld.DIM + j]);
      }
      assertArrayEquals(
          WORLD.template(k[i]).counts(),
          Detector.counts(Detector.detect(tweedie, 0)),
          "particle " + i + " at t " + t[i] + " around template " + k[i]);
    }
  }

  @Test
  void ignoresSpecksAndSeesNothingOnTheBackground() {
    float[] img = ToyWorld.render(List.of());
    assertEquals(0, Detector.detect(img, 0).size());
    // A 3x3 red speck is noise, not an object.
    for (int y = 10; y < 13; y++) {
      for (int x = 10; x < 13; x++) {
        for (int c = 0; c < 3; c++) {
          img[(y * ToyWorld.SIZE + x) * 3 + c] = Colour.RED.channel(c);
        }
      }
    }
    assertEquals(0, Detector.detect(img, 0).size());
  }

  @Test
  void tellsEveryShapeColourAndSizeApart() {
    for (Colour c : Colour.values()) {
      for (Shape s : Shape.values()) {
        for (int size = 6; size <= 9; size++) {
          Kind kind = new Kind(c, s);
          float[] img = ToyWorld.render(List.of(new ToyWorld.Placement(kind, 5, 7, size)));
          List<Detector.Detection> found = Detector.detect(img, 0);
          assertEquals(1, found.size(), kind + " size " + size);
          assertEquals(kind, found.get(0).kind(), "size " + size);
        }
      }
    }
  }

  @Test
  void probabilityOfCountIsAPoissonBinomial() {
    Detector.Detection sure =
        new Detector.Detection(
            Colour.RED, Shape.CIRCLE, 30, new double[] {1, 0, 0, 0}, new double[] {1, 0, 0}, 1);
    Detector.Detection half =
        new Detector.Detection(
            Colour.RED, Shape.CIRCLE, 30, new double[] {1, 0, 0, 0}, new double[] {0.5, 0.5, 0}, 1);
    Kind redCircle = new Kind(Colour.RED, Shape.CIRCLE);
    List<Detector.Detection> d = List.of(sure, half, half);
    assertEquals(0.0, Detector.probabilityOfCount(d, redCircle, 0), 1e-15);
    assertEquals(0.25, Detector.probabilityOfCount(d, redCircle, 1), 1e-15);
    assertEquals(0.5, Detector.probabilityOfCount(d, redCircle, 2), 1e-15);
    assertEquals(0.25, Detector.probabilityOfCount(d, redCircle, 3), 1e-15);
    assertEquals(0.0, Detector.probabilityOfCount(d, redCircle, 4), 1e-15);
  }

  @Test
  void rewardsReadOpsTensors() {
    // Sanity of the Reward plumbing on a satisfying and a failing template.
    Prompt p = Prompt.parse("two blue squares and one red circle");
    int good = -1;
    int half = -1;
    for (int k = 0; k < WORLD.size() && (good < 0 || half < 0); k++) {
      double m = p.match(WORLD.template(k).counts());
      if (m == 1 && good < 0) {
        good = k;
      } else if (m == 0.5 && half < 0) {
        half = k;
      }
    }
    try (CpuParticleOps ops = new CpuParticleOps();
        var x = ops.allocate(2, ToyWorld.DIM, org.flowscale.engine.ops.DType.F32);
        var out = ops.allocate(2, 1, org.flowscale.engine.ops.DType.F64)) {
      float[] both = new float[2 * ToyWorld.DIM];
      System.arraycopy(WORLD.template(good).image(), 0, both, 0, ToyWorld.DIM);
      System.arraycopy(WORLD.template(half).image(), 0, both, ToyWorld.DIM, ToyWorld.DIM);
      HostIo.writeFloats(ops, both, x);
      new CountingReward(p).score(ops, x, out);
      double[] s = HostIo.readDoubles(ops, out);
      assertEquals(0.0, s[0]);
      assertTrue(s[1] <= -1, "a wrong count costs at least 1, got " + s[1]);
      int[] counts = WORLD.template(half).counts();
      double expected = 0;
      for (Prompt.Fact f : p.facts()) {
        double e = counts[f.kind().index()] - f.count();
        expected -= e * e;
      }
      assertEquals(expected, s[1]);
      new CompositionalReward(p).score(ops, x, out);
      s = HostIo.readDoubles(ops, out);
      assertTrue(s[0] > 0.98 && s[0] <= 1, "satisfied: " + s[0]);
      assertTrue(s[1] > 0.48 && s[1] < 0.51, "half satisfied: " + s[1]);
    }
  }

  private static final Kind RED_CIRCLE = new Kind(Colour.RED, Shape.CIRCLE);

  /** Two red circles (top row) and four red circles (rows below), apart from each other. */
  private static final float[] TWO =
      ToyWorld.render(
          List.of(
              new ToyWorld.Placement(RED_CIRCLE, 2, 2, 8),
              new ToyWorld.Placement(RED_CIRCLE, 20, 2, 8)));

  private static final float[] FOUR =
      ToyWorld.render(
          List.of(
              new ToyWorld.Placement(RED_CIRCLE, 2, 12, 8),
              new ToyWorld.Placement(RED_CIRCLE, 20, 12, 8),
              new ToyWorld.Placement(RED_CIRCLE, 2, 22, 8),
              new ToyWorld.Placement(RED_CIRCLE, 20, 22, 8)));

  /** {@code (1 - lambda) a + lambda b}: what a Tweedie estimate torn between two images shows. */
  private static float[] blend(float[] a, float[] b, double lambda) {
    float[] out = new float[a.length];
    for (int j = 0; j < a.length; j++) {
      out[j] = (float) ((1 - lambda) * a[j] + lambda * b[j]);
    }
    return out;
  }

  @Test
  void aBlendOfTwoImagesScoresBetweenThem() {
    CountingReward four = new CountingReward(Prompt.parse("four red circles"));
    assertEquals(-4.0, four.scoreImage(TWO, 0));
    assertEquals(0.0, four.scoreImage(FOUR, 0));
    double half = four.scoreImage(blend(TWO, FOUR, 0.5), 0);
    assertTrue(half > -4 && half < 0, "50/50 blend: " + half);
    // Its expected count lies between too: every faint circle counts in part.
    double e = Detector.expectedCount(Detector.detect(blend(TWO, FOUR, 0.5), 0), RED_CIRCLE);
    assertTrue(e > 2 && e < 4, "expected count " + e);
  }

  @Test
  void theRewardRisesMonotonicallyWithTheBlendWeightOfTheSatisfyingImage() {
    // The expected count itself is not monotone (mid-way both images' circles show), but the
    // reward of "four" rises as the four-circle image takes over.
    CountingReward four = new CountingReward(Prompt.parse("four red circles"));
    double lastReward = Double.NEGATIVE_INFINITY;
    StringBuilder seen = new StringBuilder();
    for (int i = 0; i <= 20; i++) {
      float[] img = blend(TWO, FOUR, i / 20.0);
      double count = Detector.expectedCount(Detector.detect(img, 0), RED_CIRCLE);
      double reward = four.scoreImage(img, 0);
      seen.append(String.format(" %.2f:%.3f/%.3f", i / 20.0, count, reward));
      assertTrue(reward > lastReward, "reward not increasing:" + seen);
      lastReward = reward;
    }
  }

  @Test
  void aFaintObjectCountsInProportionToItsInk() {
    float[] background = ToyWorld.render(List.of());
    float[] one = ToyWorld.render(List.of(new ToyWorld.Placement(RED_CIRCLE, 10, 10, 8)));
    double last = 0;
    for (double opacity : new double[] {0.1, 0.3, 0.5, 0.7}) {
      List<Detector.Detection> found = Detector.detect(blend(background, one, opacity), 0);
      double e = Detector.expectedCount(found, RED_CIRCLE);
      assertTrue(e > last && e < 1, "opacity " + opacity + ": " + e);
      assertEquals(opacity >= 0.5 ? 1 : 0, Detector.counts(found)[RED_CIRCLE.index()]);
      last = e;
    }
    assertEquals(1.0, Detector.expectedCount(Detector.detect(one, 0), RED_CIRCLE));
  }

  @Test
  void noiseRaisesTheInkThresholdSoItIsNotCountedAsFaintObjects() {
    float[] clean = WORLD.template(0).image();
    assertEquals(0.0, Detector.noise(clean, 0));
    assertEquals(Detector.INK_FLOOR, Detector.inkThreshold(0));
    Random rnd = new Random(3);
    for (int j = 0; j < clean.length; j++) {
      clean[j] += (float) (0.15 * rnd.nextGaussian());
    }
    double sigma = Detector.noise(clean, 0);
    assertEquals(0.15, sigma, 0.02);
    assertTrue(Detector.inkThreshold(sigma) > 0.25, "" + Detector.inkThreshold(sigma));
  }

  /**
   * Issue 14: a state blown up by strong diffusion ({@code diffusion_norm 2000}) reached the
   * detector with huge values, whose products overflowed to NaN ink and made it index outside the
   * image. Any finite image must give finite rewards and confidences in [0, 1].
   */
  @Test
  void acceptsAnyFiniteImage() {
    Random rnd = new Random(14);
    float[] magnitudes = {
      Float.MAX_VALUE, 3e38f, 1e30f, 1e20f, 1e12f, 1e6f, 2e3f, 50f, 1f, Float.MIN_VALUE, 0f
    };
    Prompt prompt = Prompt.parse("two blue squares and one red circle");
    CountingReward counting = new CountingReward(prompt);
    CompositionalReward compositional = new CompositionalReward(prompt);
    for (int trial = 0; trial < 60; trial++) {
      float[] img = WORLD.template(trial % WORLD.size()).image();
      float mag = magnitudes[trial % magnitudes.length];
      int mode = trial / magnitudes.length;
      for (int j = 0; j < img.length; j++) {
        img[j] =
            switch (mode) {
              case 0 -> rnd.nextBoolean() ? mag : -mag; // every value extreme
              case 1 -> j % 7 == 0 ? mag : img[j]; // a template with extreme specks
              case 2 -> (float) (mag * rnd.nextGaussian()); // overflows to infinity: kept finite
              case 3 -> mag; // flat
              default -> (float) (mag * (rnd.nextDouble() - 0.5));
            };
        if (!Float.isFinite(img[j])) {
          img[j] = Math.copySign(Float.MAX_VALUE, img[j]);
        }
      }
      String what = "trial " + trial + " (magnitude " + mag + ", mode " + mode + ")";
      for (Detector.Detection d : Detector.detect(img, 0)) {
        for (int k = 0; k < Kind.COUNT; k++) {
          double p = d.probability(Kind.of(k));
          assertTrue(p >= 0 && p <= 1, what + ": " + d);
        }
      }
      assertTrue(Double.isFinite(counting.scoreImage(img, 0)), what);
      assertTrue(Double.isFinite(compositional.scoreImage(img, 0)), what);
    }
  }

  @Test
  void refusesNonFiniteImagesNamingThePixel() {
    float[] img = WORLD.template(0).image();
    img[3 * 40 + 2] = Float.NaN;
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class, () -> Detector.detect(img, 0));
    assertTrue(e.getMessage().contains("pixel 40, channel 2"), e.getMessage());
  }
}
