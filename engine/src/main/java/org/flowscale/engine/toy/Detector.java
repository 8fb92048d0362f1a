package org.flowscale.engine.toy;

import java.util.ArrayList;
import java.util.List;

/**
 * An honest object detector for toy-world images: it sees only pixels, and it reports how sure it
 * is, so that faint and blurred objects (early Tweedie estimates are blends of templates) count in
 * proportion to the evidence for them instead of vanishing.
 *
 * <p><b>Pixels.</b> Each pixel {@code y} (relative to the background) is explained as one colour at
 * some intensity: for each colour {@code c} with offset {@code d_c} from the background, the ink
 * {@code a_c = clamp(<y, d_c> / |d_c|^2, 0, 1)} and the residual {@code e_c = |y - a_c d_c|^2}. The
 * pixel's colour responsibilities are a compact kernel of the residual excess, {@code rho_c ~
 * max(0, 1 - (e_c - min e) / m)^2}, with the margin {@code m} proportional to the image's pixel
 * noise (estimated from the image itself, see {@link #noise}): exactly one-hot on clean pixels (the
 * closest pair of colours leaves an excess of 1.1), also on faint ones in a noise-free blend, and
 * shared between colours that explain a pixel about equally well given the noise. The pixel's ink
 * is that of its best colour; pixels with ink below a threshold set by the noise ({@link
 * #inkThreshold}) are background.
 *
 * <p><b>Objects.</b> Same-colour pixels are grouped into 4-connected components. Each component has
 * four confidences, each exactly 0 or 1 on a clean template and graded in between:
 *
 * <ul>
 *   <li>presence: its mean ink {@code w}, mapped linearly from the ink threshold (0) to {@value
 *       #FULL_INK} (1), so an object blended into the image at weight {@code lambda} counts about
 *       {@code lambda};
 *   <li>size: its area, mapped linearly from {@value #SPECK_AREA} pixels (0) to {@value
 *       #OBJECT_AREA} (1): specks are noise (the smallest object has 24 pixels);
 *   <li>colour: the mean responsibility of each colour over its pixels;
 *   <li>shape: from its fill ratio and the occupancy of its core's bounding box's corners (the core
 *       being its pixels with at least half its mean ink, so stray noise pixels at its edge do not
 *       stretch the box), computed on the ink normalised by {@code w}: a square fills all four
 *       corners, a triangle (pointing up) only the bottom two, a circle none. The features' squared
 *       distances to the prototypes go through the same compact kernel (margin {@value
 *       #SHAPE_MARGIN}).
 * </ul>
 *
 * The probability that a component is an object of kind {@code (colour, shape)} is the product of
 * the four. Counts are then Poisson-binomial: expected counts and variances are sums over
 * components, smooth in the pixels.
 *
 * <p>Templates keep {@link ToyWorld#GAP} free pixels between objects, so every object is one
 * component. Per-pixel noise of a few tenths (far more than a late Tweedie estimate carries) does
 * not change the segmentation: background noise rarely reaches the ink threshold, and the nearest
 * pair of colours is 1.6 apart in one channel.
 */
public final class Detector {

  /** The least ink threshold, for noise-free images. */
  static final double INK_FLOOR = 0.03;

  /** Ink noise standard deviations below the threshold. */
  static final double NOISE_MULTIPLE = 4;

  /** Mean ink from which an object is surely present. */
  public static final double FULL_INK = 0.8;

  /** Components of at most this many pixels are specks. */
  public static final int SPECK_AREA = 9;

  /** Components of at least this many pixels are surely objects (the smallest has 24). */
  public static final int OBJECT_AREA = 16;

  /**
   * Residual excess (squared distance) at which a colour loses all responsibility, per unit of
   * pixel noise standard deviation.
   */
  static final double COLOUR_MARGIN_PER_NOISE = 3;

  /** The least colour margin, for noise-free images. */
  static final double COLOUR_MARGIN_FLOOR = 0.02;

  /** Squared feature distance excess at which a shape loses all confidence. */
  static final double SHAPE_MARGIN = 0.4;

  /** Shape prototypes (fill, top corners, bottom corners), in {@link Shape} order. */
  private static final double[][] PROTOTYPES = {{0.8, 0, 0}, {1, 1, 1}, {0.58, 0, 1}};

  private static final int S = ToyWorld.SIZE;
  private static final int COLOURS = Colour.values().length;
  private static final double[][] OFFSET = new double[COLOURS][ToyWorld.CHANNELS];
  private static final double[] OFFSET_NORM2 = new double[COLOURS];

  private static final double MIN_OFFSET;

  static {
    for (int c = 0; c < COLOURS; c++) {
      for (int ch = 0; ch < ToyWorld.CHANNELS; ch++) {
        OFFSET[c][ch] = Colour.values()[c].channel(ch) - Colour.BACKGROUND[ch];
        OFFSET_NORM2[c] += OFFSET[c][ch] * OFFSET[c][ch];
      }
    }
    double min = Double.POSITIVE_INFINITY;
    for (double n2 : OFFSET_NORM2) {
      min = Math.min(min, Math.sqrt(n2));
    }
    MIN_OFFSET = min;
  }

  /**
   * One detected object candidate.
   *
   * @param colour its most likely colour
   * @param shape its most likely shape
   * @param area its pixels
   * @param colourConfidence probability of each colour, in {@link Colour} order
   * @param shapeConfidence probability of each shape, in {@link Shape} order
   * @param sizeConfidence probability that it is an object and not a speck (from its area)
   * @param presence probability that it is really there and not a faint trace (from its ink)
   */
  public record Detection(
      Colour colour,
      Shape shape,
      int area,
      double[] colourConfidence,
      double[] shapeConfidence,
      double sizeConfidence,
      double presence) {

    /** A fully present detection (presence 1). */
    public Detection(
        Colour colour,
        Shape shape,
        int area,
        double[] colourConfidence,
        double[] shapeConfidence,
        double sizeConfidence) {
      this(colour, shape, area, colourConfidence, shapeConfidence, sizeConfidence, 1);
    }

    /** Its kind (most likely colour and shape). */
    public Kind kind() {
      return new Kind(colour, shape);
    }

    /** Probability that it is an object at all (present and not a speck). */
    public double objectProbability() {
      return presence * sizeConfidence;
    }

    /** Probability that it is an object of {@code kind}. */
    public double probability(Kind kind) {
      return colourConfidence[kind.colour().ordinal()]
          * shapeConfidence[kind.shape().ordinal()]
          * objectProbability();
    }
  }

  private Detector() {}

  /**
   * The object candidates in the image at {@code offset} of {@code x} (a {@link ToyWorld#DIM}
   * block). Any finite image is accepted (the arithmetic is in double, so even values near {@code
   * Float.MAX_VALUE} cannot overflow); a non-finite value is refused with its position rather than
   * turned into NaN ink.
   *
   * @throws IllegalArgumentException when the image holds NaN or an infinity
   */
  public static List<Detection> detect(float[] x, int offset) {
    if (x == null || offset < 0 || offset + ToyWorld.DIM > x.length) {
      throw new IllegalArgumentException(
          "need a " + ToyWorld.DIM + "-value image at offset " + offset);
    }
    requireFinite(x, offset);
    double sigma = noise(x, offset);
    double threshold = inkThreshold(sigma);
    double margin = Math.max(COLOUR_MARGIN_FLOOR, COLOUR_MARGIN_PER_NOISE * sigma);
    int pixels = S * S;
    int[] label = new int[pixels];
    double[][] ink = new double[COLOURS][pixels];
    double[][] resp = new double[COLOURS][pixels];
    double[] e = new double[COLOURS];
    double[] y = new double[ToyWorld.CHANNELS];
    for (int p = 0; p < pixels; p++) {
      int base = offset + p * ToyWorld.CHANNELS;
      for (int ch = 0; ch < ToyWorld.CHANNELS; ch++) {
        y[ch] = x[base + ch] - Colour.BACKGROUND[ch];
      }
      int best = 0;
      for (int c = 0; c < COLOURS; c++) {
        double dot = 0;
        for (int ch = 0; ch < ToyWorld.CHANNELS; ch++) {
          dot += y[ch] * OFFSET[c][ch];
        }
        double a = Math.clamp(dot / OFFSET_NORM2[c], 0.0, 1.0);
        double r = 0;
        for (int ch = 0; ch < ToyWorld.CHANNELS; ch++) {
          double d = y[ch] - a * OFFSET[c][ch];
          r += d * d;
        }
        ink[c][p] = a;
        e[c] = r;
        if (r < e[best]) {
          best = c;
        }
      }
      kernel(e, best, margin, resp, p);
      label[p] = best + 1;
    }
    for (int p = 0; p < pixels; p++) {
      if (ink[label[p] - 1][p] < threshold) {
        label[p] = 0;
      }
    }
    List<Detection> found = new ArrayList<>();
    boolean[] seen = new boolean[pixels];
    int[] queue = new int[pixels];
    for (int start = 0; start < pixels; start++) {
      if (label[start] == 0 || seen[start]) {
        continue;
      }
      int c = label[start];
      int head = 0;
      int tail = 0;
      queue[tail++] = start;
      seen[start] = true;
      while (head < tail) {
        int p = queue[head++];
        int px = p % S;
        int py = p / S;
        if (px > 0) {
          tail = visit(p - 1, c, label, seen, queue, tail);
        }
        if (px < S - 1) {
          tail = visit(p + 1, c, label, seen, queue, tail);
        }
        if (py > 0) {
          tail = visit(p - S, c, label, seen, queue, tail);
        }
        if (py < S - 1) {
          tail = visit(p + S, c, label, seen, queue, tail);
        }
      }
      int area = tail;
      double sizeConf = ramp(area, SPECK_AREA, OBJECT_AREA);
      if (sizeConf == 0) {
        continue;
      }
      double[] colourConf = new double[COLOURS];
      double w = 0;
      for (int i = 0; i < area; i++) {
        w += ink[c - 1][queue[i]];
        for (int k = 0; k < COLOURS; k++) {
          colourConf[k] += resp[k][queue[i]];
        }
      }
      w /= area;
      for (int k = 0; k < COLOURS; k++) {
        colourConf[k] /= area;
      }
      // The box is that of the component's core (ink at least half its mean), so that noise
      // pixels clinging to a clean object do not stretch the box and fake a shape.
      int minX = S;
      int minY = S;
      int maxX = -1;
      int maxY = -1;
      for (int i = 0; i < area; i++) {
        int p = queue[i];
        if (ink[c - 1][p] >= w / 2) {
          minX = Math.min(minX, p % S);
          maxX = Math.max(maxX, p % S);
          minY = Math.min(minY, p / S);
          maxY = Math.max(maxY, p / S);
        }
      }
      double fill = 0;
      for (int yy = minY; yy <= maxY; yy++) {
        for (int xx = minX; xx <= maxX; xx++) {
          fill += own(ink, resp, c - 1, yy * S + xx, w);
        }
      }
      if (maxX < minX) {
        continue; // no pixel reaches half the mean ink: impossible for finite ink, kept as a guard
      }
      fill /= (double) (maxX - minX + 1) * (maxY - minY + 1);
      double top =
          (own(ink, resp, c - 1, minY * S + minX, w) + own(ink, resp, c - 1, minY * S + maxX, w))
              / 2;
      double bottom =
          (own(ink, resp, c - 1, maxY * S + minX, w) + own(ink, resp, c - 1, maxY * S + maxX, w))
              / 2;
      double[] shapeConf = shapeConfidence(fill, top, bottom);
      int shape = argmax(shapeConf);
      found.add(
          new Detection(
              Colour.values()[argmax(colourConf)],
              Shape.values()[shape],
              area,
              colourConf,
              shapeConf,
              sizeConf,
              ramp(w, threshold, FULL_INK)));
    }
    return found;
  }

  /** Refuses an image holding NaN or an infinity, naming the first such value's position. */
  private static void requireFinite(float[] x, int offset) {
    for (int j = 0; j < ToyWorld.DIM; j++) {
      float v = x[offset + j];
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException(
            "the image holds "
                + v
                + " at pixel "
                + j / ToyWorld.CHANNELS
                + ", channel "
                + j % ToyWorld.CHANNELS
                + " (a finite image is needed)");
      }
    }
  }

  /**
   * The ink below which a pixel is background, for per-value pixel noise {@code sigma}: {@value
   * #NOISE_MULTIPLE} standard deviations of the ink noise, and at least {@value #INK_FLOOR}. Smooth
   * images (early Tweedie estimates are noise-free blends) thus show faint objects, while noisy
   * ones do not turn noise into objects.
   */
  static double inkThreshold(double sigma) {
    return Math.max(INK_FLOOR, NOISE_MULTIPLE * sigma / MIN_OFFSET);
  }

  /**
   * The per-value pixel noise of the image, estimated robustly from the image itself: the median
   * absolute difference of horizontally adjacent values over {@code 0.6745 sqrt 2}, which sees
   * noise but hardly any edges (most neighbours lie in the same flat region).
   */
  static double noise(float[] x, int offset) {
    int n = 0;
    float[] d = new float[S * (S - 1) * ToyWorld.CHANNELS];
    for (int row = 0; row < S; row++) {
      for (int col = 0; col + 1 < S; col++) {
        int base = offset + (row * S + col) * ToyWorld.CHANNELS;
        for (int ch = 0; ch < ToyWorld.CHANNELS; ch++) {
          d[n++] = Math.abs(x[base + ToyWorld.CHANNELS + ch] - x[base + ch]);
        }
      }
    }
    java.util.Arrays.sort(d);
    return d[n / 2] / (0.6745 * Math.sqrt(2));
  }

  /** The ink of colour {@code c} at pixel {@code p}, normalised by the component's mean ink. */
  private static double own(double[][] ink, double[][] resp, int c, int p, double w) {
    return Math.min(1, ink[c][p] * resp[c][p] / w);
  }

  /** 0 at or below {@code lo}, 1 at or above {@code hi}, linear in between. */
  static double ramp(double v, double lo, double hi) {
    return Math.clamp((v - lo) / (hi - lo), 0.0, 1.0);
  }

  /**
   * Normalised compact-kernel weights {@code max(0, 1 - (d_i - d_best) / margin)^2} of squared
   * distances {@code d} into {@code out[i][p]}: the best gets weight 1 before normalising, anything
   * {@code margin} worse gets exactly 0, and the weights are continuous in the distances.
   */
  private static void kernel(double[] d, int best, double margin, double[][] out, int p) {
    double sum = 0;
    for (int i = 0; i < d.length; i++) {
      double k = Math.max(0, 1 - (d[i] - d[best]) / margin);
      out[i][p] = k * k;
      sum += out[i][p];
    }
    for (int i = 0; i < d.length; i++) {
      out[i][p] /= sum;
    }
  }

  private static int argmax(double[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }

  private static int visit(int q, int c, int[] label, boolean[] seen, int[] queue, int tail) {
    if (!seen[q] && label[q] == c) {
      seen[q] = true;
      queue[tail++] = q;
    }
    return tail;
  }

  private static double[] shapeConfidence(double fill, double top, double bottom) {
    double[] f = {fill, top, bottom};
    double[] d = new double[PROTOTYPES.length];
    int best = 0;
    for (int s = 0; s < PROTOTYPES.length; s++) {
      for (int i = 0; i < f.length; i++) {
        double e = f[i] - PROTOTYPES[s][i];
        d[s] += e * e;
      }
      if (d[s] < d[best]) {
        best = s;
      }
    }
    double[][] out = new double[PROTOTYPES.length][1];
    kernel(d, best, SHAPE_MARGIN, out, 0);
    double[] conf = new double[PROTOTYPES.length];
    for (int s = 0; s < conf.length; s++) {
      conf[s] = out[s][0];
    }
    return conf;
  }

  /**
   * Objects per kind (hard), indexed by {@link Kind#index()}: the detections more likely objects
   * than not, each counted as its most likely kind.
   */
  public static int[] counts(List<Detection> detections) {
    int[] c = new int[Kind.COUNT];
    for (Detection d : detections) {
      if (d.objectProbability() >= 0.5) {
        c[d.kind().index()]++;
      }
    }
    return c;
  }

  /** The expected number of objects of {@code kind}: the sum of the detections' probabilities. */
  public static double expectedCount(List<Detection> detections, Kind kind) {
    double s = 0;
    for (Detection d : detections) {
      s += d.probability(kind);
    }
    return s;
  }

  /**
   * The variance of the number of objects of {@code kind}, each detection being one independently
   * with its {@link Detection#probability}: {@code sum p (1 - p)}.
   */
  public static double countVariance(List<Detection> detections, Kind kind) {
    double s = 0;
    for (Detection d : detections) {
      double q = d.probability(kind);
      s += q * (1 - q);
    }
    return s;
  }

  /**
   * The probability that exactly {@code target} detections are of {@code kind}, each being one
   * independently with its {@link Detection#probability} (a Poisson-binomial distribution): smooth
   * in the confidences, and 1 or 0 when they are.
   */
  public static double probabilityOfCount(List<Detection> detections, Kind kind, int target) {
    double[] p = new double[detections.size() + 2];
    p[0] = 1;
    int n = 0;
    for (Detection d : detections) {
      double q = d.probability(kind);
      n++;
      for (int j = n; j >= 0; j--) {
        p[j] = p[j] * (1 - q) + (j > 0 ? p[j - 1] * q : 0);
      }
    }
    return target >= 0 && target <= n ? p[target] : 0;
  }
}
