package org.flowscale.engine.toy;

import java.util.ArrayList;
import java.util.List;

/**
 * An honest object detector for toy-world images: it sees only pixels. Each pixel is assigned to
 * the nearest of the background and the four colours (with soft probabilities from a Gaussian
 * likelihood of width {@value #COLOUR_WIDTH}), same-colour pixels are grouped into 4-connected
 * components, components smaller than {@value #MIN_AREA} pixels are dropped as specks, and each
 * remaining component's shape is told from its fill ratio and the occupancy of its bounding box's
 * corners: a square fills all four corners, a triangle (pointing up) only the bottom two, a circle
 * none. Fill and corners are computed from the soft pixel probabilities, so the shape confidences
 * move smoothly with the pixels.
 *
 * <p>Templates keep {@link ToyWorld#GAP} free pixels between objects, so every object is one
 * component. Per-pixel noise of a few tenths (far more than a late Tweedie estimate carries) does
 * not change the segmentation: the nearest pair of colours is 1.6 apart in one channel.
 */
public final class Detector {
  /** Components smaller than this are specks, not objects (the smallest object has 24 pixels). */
  public static final int MIN_AREA = 12;

  /** Width of the per-pixel colour likelihood. */
  static final double COLOUR_WIDTH = 0.25;

  /** Width of the shape-feature likelihood. */
  static final double SHAPE_WIDTH = 0.2;

  /** Shape prototypes (fill, top corners, bottom corners), in {@link Shape} order. */
  private static final double[][] PROTOTYPES = {{0.8, 0, 0}, {1, 1, 1}, {0.58, 0, 1}};

  private static final int S = ToyWorld.SIZE;
  private static final int COLOURS = Colour.values().length;

  /**
   * One detected object.
   *
   * @param colour the colour of its pixels (hard segmentation)
   * @param shape its most likely shape
   * @param area its pixels
   * @param colourConfidence mean probability of each colour over its pixels, in {@link Colour}
   *     order
   * @param shapeConfidence probability of each shape, in {@link Shape} order
   * @param sizeConfidence probability that it is an object and not a speck (a logistic function of
   *     its area)
   */
  public record Detection(
      Colour colour,
      Shape shape,
      int area,
      double[] colourConfidence,
      double[] shapeConfidence,
      double sizeConfidence) {

    /** Its kind (hard). */
    public Kind kind() {
      return new Kind(colour, shape);
    }

    /** Probability that it is an object of {@code kind}. */
    public double probability(Kind kind) {
      return colourConfidence[kind.colour().ordinal()]
          * shapeConfidence[kind.shape().ordinal()]
          * sizeConfidence;
    }
  }

  private Detector() {}

  /** The objects in the image at {@code offset} of {@code x} (a {@link ToyWorld#DIM} block). */
  public static List<Detection> detect(float[] x, int offset) {
    if (x == null || offset < 0 || offset + ToyWorld.DIM > x.length) {
      throw new IllegalArgumentException(
          "need a " + ToyWorld.DIM + "-value image at offset " + offset);
    }
    int pixels = S * S;
    int[] label = new int[pixels];
    double[][] prob = new double[COLOURS + 1][pixels];
    double[] d2 = new double[COLOURS + 1];
    for (int p = 0; p < pixels; p++) {
      int base = offset + p * ToyWorld.CHANNELS;
      for (int c = 0; c <= COLOURS; c++) {
        double d = 0;
        for (int ch = 0; ch < ToyWorld.CHANNELS; ch++) {
          float ref = c == 0 ? Colour.BACKGROUND[ch] : Colour.values()[c - 1].channel(ch);
          double e = x[base + ch] - ref;
          d += e * e;
        }
        d2[c] = d;
      }
      int best = 0;
      for (int c = 1; c <= COLOURS; c++) {
        if (d2[c] < d2[best]) {
          best = c;
        }
      }
      label[p] = best;
      double sum = 0;
      for (int c = 0; c <= COLOURS; c++) {
        double e = Math.exp(-(d2[c] - d2[best]) / (2 * COLOUR_WIDTH * COLOUR_WIDTH));
        prob[c][p] = e;
        sum += e;
      }
      for (int c = 0; c <= COLOURS; c++) {
        prob[c][p] /= sum;
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
      int minX = S;
      int minY = S;
      int maxX = -1;
      int maxY = -1;
      while (head < tail) {
        int p = queue[head++];
        int px = p % S;
        int py = p / S;
        minX = Math.min(minX, px);
        maxX = Math.max(maxX, px);
        minY = Math.min(minY, py);
        maxY = Math.max(maxY, py);
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
      if (area < MIN_AREA) {
        continue;
      }
      double[] colourConf = new double[COLOURS];
      for (int i = 0; i < area; i++) {
        for (int k = 0; k < COLOURS; k++) {
          colourConf[k] += prob[k + 1][queue[i]];
        }
      }
      for (int k = 0; k < COLOURS; k++) {
        colourConf[k] /= area;
      }
      double[] own = prob[c];
      double fill = 0;
      for (int y = minY; y <= maxY; y++) {
        for (int xx = minX; xx <= maxX; xx++) {
          fill += own[y * S + xx];
        }
      }
      fill /= (double) (maxX - minX + 1) * (maxY - minY + 1);
      double top = (own[minY * S + minX] + own[minY * S + maxX]) / 2;
      double bottom = (own[maxY * S + minX] + own[maxY * S + maxX]) / 2;
      double[] shapeConf = shapeConfidence(fill, top, bottom);
      int shape = 0;
      for (int k = 1; k < shapeConf.length; k++) {
        if (shapeConf[k] > shapeConf[shape]) {
          shape = k;
        }
      }
      double sizeConf = 1 / (1 + Math.exp(-(area - MIN_AREA) / 1.5));
      found.add(
          new Detection(
              Colour.values()[c - 1],
              Shape.values()[shape],
              area,
              colourConf,
              shapeConf,
              sizeConf));
    }
    return found;
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
    double[] score = new double[PROTOTYPES.length];
    double max = Double.NEGATIVE_INFINITY;
    for (int s = 0; s < PROTOTYPES.length; s++) {
      double d = 0;
      for (int i = 0; i < f.length; i++) {
        double e = f[i] - PROTOTYPES[s][i];
        d += e * e;
      }
      score[s] = -d / (2 * SHAPE_WIDTH * SHAPE_WIDTH);
      max = Math.max(max, score[s]);
    }
    double sum = 0;
    for (int s = 0; s < score.length; s++) {
      score[s] = Math.exp(score[s] - max);
      sum += score[s];
    }
    for (int s = 0; s < score.length; s++) {
      score[s] /= sum;
    }
    return score;
  }

  /** Objects per kind (hard), indexed by {@link Kind#index()}. */
  public static int[] counts(List<Detection> detections) {
    int[] c = new int[Kind.COUNT];
    for (Detection d : detections) {
      c[d.kind().index()]++;
    }
    return c;
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
