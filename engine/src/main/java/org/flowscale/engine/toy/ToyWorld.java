package org.flowscale.engine.toy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The templates of the toy world: {@code K} procedurally generated 32x32 RGB images in [-1, 1],
 * each showing one to six shapes (circle, square, triangle) in one of four colours at random
 * non-overlapping positions on a dark background. The same seed gives the same templates on every
 * JVM ({@link Random}'s algorithm is specified).
 *
 * <p>Images are stored row-major as height x width x channel: value {@code (y * 32 + x) * 3 + c}.
 *
 * <p>The templates are laid out so that searches have something to find. In order:
 *
 * <ol>
 *   <li>{@value #SINGLE_FACT_TEMPLATES} templates with exactly {@code n} objects of kind {@code c},
 *       for each of the 12 kinds and each {@code n} in 1..6, plus up to two distractors of other
 *       kinds;
 *   <li>{@value #TWO_FACT_TEMPLATES} templates with exactly {@code a} of kind {@code c1} and {@code
 *       b} of kind {@code c2}, for each of the 66 pairs of kinds and {@code a, b} in 1..2, plus up
 *       to two distractors of other kinds;
 *   <li>random compositions of one to three kinds and one to six objects.
 * </ol>
 *
 * With at least {@value #COVERAGE_TEMPLATES} templates, every one-fact prompt and every two-fact
 * prompt with counts of one or two is satisfied exactly by some template.
 */
public final class ToyWorld {
  /** Image height and width. */
  public static final int SIZE = 32;

  /** Colour channels. */
  public static final int CHANNELS = 3;

  /** Values per image: 32 x 32 x 3. */
  public static final int DIM = SIZE * SIZE * CHANNELS;

  /** The most objects one template holds. */
  public static final int MAX_OBJECTS = 6;

  /** The default template seed. */
  public static final long DEFAULT_SEED = 20250311L;

  /** The default number of templates. */
  public static final int DEFAULT_TEMPLATES = 512;

  /** Templates of the single-fact block: 12 kinds x counts 1..6. */
  public static final int SINGLE_FACT_TEMPLATES = 72;

  /** Templates of the two-fact block: 66 pairs of kinds x counts {1, 2}^2. */
  public static final int TWO_FACT_TEMPLATES = 264;

  /** The number of templates from which the coverage guarantee holds. */
  public static final int COVERAGE_TEMPLATES = SINGLE_FACT_TEMPLATES + TWO_FACT_TEMPLATES;

  /** Free pixels required between the boxes of two objects, so their components never touch. */
  static final int GAP = 2;

  /** One object of a template: its box is {@code [x, x + size) x [y, y + size)}. */
  public record Placement(Kind kind, int x, int y, int size) {}

  /** One template: its objects and its image. */
  public record Template(List<Placement> objects, float[] image) {
    public Template {
      objects = List.copyOf(objects);
      image = image.clone();
    }

    /** A copy of the image. */
    @Override
    public float[] image() {
      return image.clone();
    }

    /** Objects per kind, indexed by {@link Kind#index()}. */
    public int[] counts() {
      int[] c = new int[Kind.COUNT];
      for (Placement p : objects) {
        c[p.kind().index()]++;
      }
      return c;
    }

    /** A short description, e.g. {@code 2 blue square, 1 red circle}. */
    public String describe() {
      int[] c = counts();
      List<String> parts = new ArrayList<>();
      for (int k = 0; k < Kind.COUNT; k++) {
        if (c[k] > 0) {
          parts.add(c[k] + " " + Kind.of(k));
        }
      }
      return String.join(", ", parts);
    }
  }

  private final long seed;
  private final List<Template> templates;
  private final float[] means;
  private final SparseMeans sparse;

  private ToyWorld(long seed, List<Template> templates) {
    this.seed = seed;
    this.templates = List.copyOf(templates);
    this.means = new float[templates.size() * DIM];
    for (int k = 0; k < templates.size(); k++) {
      System.arraycopy(templates.get(k).image(), 0, means, k * DIM, DIM);
    }
    this.sparse = new SparseMeans(means, DIM, render(List.of()));
  }

  /**
   * The first {@code count} templates of the world generated from {@code seed} (see the class
   * comment for their order).
   */
  public static ToyWorld generate(long seed, int count) {
    if (count <= 0) {
      throw new IllegalArgumentException("n_templates must be > 0, got " + count);
    }
    List<Template> templates = new ArrayList<>(count);
    for (int k = 0; k < count; k++) {
      // One generator per template: a shorter world is a prefix of a longer one.
      Random rnd = new Random(mix(seed, k));
      List<Placement> objects = layout(composition(k, rnd), rnd);
      templates.add(new Template(objects, render(objects)));
    }
    return new ToyWorld(seed, templates);
  }

  /** SplitMix64's finaliser over (seed, index): well-spread seeds for neighbouring indices. */
  private static long mix(long seed, int index) {
    long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Objects per kind of template {@code k} (see the class comment for the blocks). */
  private static int[] composition(int k, Random rnd) {
    int[] c = new int[Kind.COUNT];
    if (k < SINGLE_FACT_TEMPLATES) {
      c[k / MAX_OBJECTS] = k % MAX_OBJECTS + 1;
      addDistractors(c, rnd);
      return c;
    }
    if (k < COVERAGE_TEMPLATES) {
      int pair = (k - SINGLE_FACT_TEMPLATES) / 4;
      int counts = (k - SINGLE_FACT_TEMPLATES) % 4;
      int k1 = 0;
      while (pair >= Kind.COUNT - 1 - k1) {
        pair -= Kind.COUNT - 1 - k1;
        k1++;
      }
      c[k1] = 1 + counts / 2;
      c[k1 + 1 + pair] = 1 + counts % 2;
      addDistractors(c, rnd);
      return c;
    }
    return randomComposition(rnd);
  }

  /** Adds zero to two objects of kinds absent from {@code counts}, keeping at most six objects. */
  private static void addDistractors(int[] counts, Random rnd) {
    int total = 0;
    List<Integer> absent = new ArrayList<>();
    for (int k = 0; k < Kind.COUNT; k++) {
      total += counts[k];
      if (counts[k] == 0) {
        absent.add(k);
      }
    }
    int extra = rnd.nextInt(Math.min(2, MAX_OBJECTS - total) + 1);
    Collections.shuffle(absent, rnd);
    for (int i = 0; i < extra; i++) {
      counts[absent.get(i)]++;
    }
  }

  private static int[] randomComposition(Random rnd) {
    int kinds = 1 + rnd.nextInt(3);
    int total = kinds + rnd.nextInt(MAX_OBJECTS - kinds + 1);
    List<Integer> all = new ArrayList<>();
    for (int k = 0; k < Kind.COUNT; k++) {
      all.add(k);
    }
    Collections.shuffle(all, rnd);
    int[] c = new int[Kind.COUNT];
    for (int i = 0; i < kinds; i++) {
      c[all.get(i)] = 1;
    }
    for (int i = kinds; i < total; i++) {
      c[all.get(rnd.nextInt(kinds))]++;
    }
    return c;
  }

  /**
   * Random boxes for the objects of a composition, in random order, separated by {@link #GAP}
   * pixels and one pixel from the border. Crowded images get smaller objects; when random placement
   * keeps failing the objects shrink by a pixel, so this always terminates (six 6-pixel boxes fit
   * easily).
   */
  private static List<Placement> layout(int[] counts, Random rnd) {
    List<Kind> kinds = new ArrayList<>();
    for (int k = 0; k < Kind.COUNT; k++) {
      for (int i = 0; i < counts[k]; i++) {
        kinds.add(Kind.of(k));
      }
    }
    Collections.shuffle(kinds, rnd);
    int n = kinds.size();
    int maxSize = n <= 3 ? 9 : n == 4 ? 8 : 7;
    for (int shrink = 0; ; shrink++) {
      int top = Math.max(6, maxSize - shrink);
      for (int attempt = 0; attempt < 100; attempt++) {
        List<Placement> placed = new ArrayList<>();
        for (Kind kind : kinds) {
          int size = Math.max(6, top - rnd.nextInt(3));
          Placement p = place(kind, size, placed, rnd);
          if (p == null) {
            break;
          }
          placed.add(p);
        }
        if (placed.size() == n) {
          return placed;
        }
      }
    }
  }

  private static Placement place(Kind kind, int size, List<Placement> placed, Random rnd) {
    for (int tries = 0; tries < 200; tries++) {
      int x = 1 + rnd.nextInt(SIZE - 1 - size);
      int y = 1 + rnd.nextInt(SIZE - 1 - size);
      boolean free = true;
      for (Placement q : placed) {
        boolean apartX = x + size + GAP <= q.x() || q.x() + q.size() + GAP <= x;
        boolean apartY = y + size + GAP <= q.y() || q.y() + q.size() + GAP <= y;
        if (!apartX && !apartY) {
          free = false;
          break;
        }
      }
      if (free) {
        return new Placement(kind, x, y, size);
      }
    }
    return null;
  }

  /** Draws objects on the background. */
  public static float[] render(List<Placement> objects) {
    float[] img = new float[DIM];
    for (int p = 0; p < SIZE * SIZE; p++) {
      System.arraycopy(Colour.BACKGROUND, 0, img, p * CHANNELS, CHANNELS);
    }
    for (Placement o : objects) {
      for (int row = 0; row < o.size(); row++) {
        for (int col = 0; col < o.size(); col++) {
          if (o.kind().shape().covers(col, row, o.size())) {
            int base = ((o.y() + row) * SIZE + o.x() + col) * CHANNELS;
            for (int c = 0; c < CHANNELS; c++) {
              img[base + c] = o.kind().colour().channel(c);
            }
          }
        }
      }
    }
    return img;
  }

  /** The seed the templates were generated from. */
  public long seed() {
    return seed;
  }

  /** The number of templates {@code K}. */
  public int size() {
    return templates.size();
  }

  /** Template {@code k}. */
  public Template template(int k) {
    return templates.get(k);
  }

  /** All templates. */
  public List<Template> templates() {
    return templates;
  }

  /** The template images, {@code K x DIM} row-major; shared, not to be modified. */
  float[] means() {
    return means;
  }

  /** The templates as differences from the empty background; shared. */
  SparseMeans sparse() {
    return sparse;
  }
}
