package org.flowscale.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;

/**
 * With {@code save_intermediate}: a grid of the particles' Tweedie images after every step of the
 * search (every round, for RBF), in {@code steps/step_NNNNN.png}. Files are numbered in the order
 * written, zero-padded to the width of {@code max_nfe + 2} (a bound on the grids a run writes, at
 * least 3 digits), so names sort in run order whatever the budget. Each grid's title says the
 * method, its step or round, the sampling time and what the tiles are; each tile says its row, its
 * reward and, when rows sit at different times (RBF's chains), its time.
 */
final class StepImages {
  private final RunDirectory dir;
  private final ImageOutput images;
  private final SearchConfig search;
  private final FilteringMethod method;
  private final int width;
  private int written;

  StepImages(RunDirectory dir, ImageOutput images, SearchConfig search) {
    this.dir = dir;
    this.images = images;
    this.search = search;
    this.method = search.method();
    this.width = Math.max(3, Long.toString(search.maxNfe() + 2).length());
  }

  /** The grids written so far. */
  int written() {
    return written;
  }

  /** The name of the {@code index}-th grid (from 0). */
  String name(int index) {
    return String.format(Locale.ROOT, "steps/step_%0" + width + "d.png", index);
  }

  /**
   * Writes one step's grid.
   *
   * @throws UncheckedIOException when it cannot be written (the search stops)
   */
  void write(int step, double[] times, float[] tweedies, int rows, double[] rewards) {
    boolean varying = false;
    for (double t : times) {
      varying |= t != times[0];
    }
    List<String> labels = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      String label =
          "#"
              + i
              + (rewards != null && i < rewards.length
                  ? String.format(Locale.ROOT, " %.3g", rewards[i])
                  : "");
      if (varying && i < times.length) {
        label += String.format(Locale.ROOT, "\nt %.3f", times[i]);
      }
      labels.add(label);
    }
    String title =
        String.format(
            Locale.ROOT,
            "%s %s %d, %s; tiles: %s",
            method.configName(),
            method == FilteringMethod.RBF || method == FilteringMethod.RBF_DPS ? "round" : "step",
            step,
            timeText(times, varying),
            tiles(rows));
    String name = name(written);
    try {
      dir.write(name, out -> images.writeGrid(out, tweedies, rows, labels, title));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + name + ": " + Text.ioReason(e), e);
    }
    written++;
  }

  private static String timeText(double[] times, boolean varying) {
    if (times.length == 0) {
      return "t unknown";
    }
    if (!varying) {
      return String.format(Locale.ROOT, "t = %.3f", times[0]);
    }
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (double t : times) {
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
    return String.format(Locale.ROOT, "t = %.3f to %.3f", hi, lo);
  }

  /** What a tile (a row of the batch) is for this method. */
  private String tiles(int rows) {
    return switch (method) {
      case RBF, RBF_DPS ->
          rows == search.batchSize()
              ? rows + " chains' proposals"
              : rows + " initial particles (chain = row / " + search.initNParticles() + ")";
      case CODE, SVDD, SVDD_DPS -> rows + " particles (chain = row / " + search.nParticles() + ")";
      default -> rows + " particles";
    };
  }
}
