package org.flowscale.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * With {@code save_intermediate}: a grid of the particles' Tweedie images after every step, each
 * labelled with its reward, in {@code steps/step_NNN.png}.
 */
final class StepImages {
  private final RunDirectory dir;
  private final ImageOutput images;
  private final List<String> files;

  StepImages(RunDirectory dir, ImageOutput images, List<String> files) {
    this.dir = dir;
    this.images = images;
    this.files = files;
  }

  /**
   * Writes one step's grid.
   *
   * @throws UncheckedIOException when it cannot be written (the search stops)
   */
  void write(int step, double time, float[] tweedies, int rows, double[] rewards) {
    String base = String.format(Locale.ROOT, "steps/step_%03d", step);
    String name = base + ".png";
    // A method may report a step more than once (e.g. per round); keep every call's grid.
    for (int i = 2; files.contains(name); i++) {
      name = base + "_" + i + ".png";
    }
    List<String> labels = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      labels.add(
          rewards != null && i < rewards.length
              ? String.format(Locale.ROOT, "%.3g", rewards[i])
              : "");
    }
    try {
      var file = dir.path().resolve(name);
      Files.createDirectories(file.getParent());
      // Png writes through a temporary file and renames it, like RunDirectory.
      images.writeGrid(file, tweedies, rows, labels);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    files.add(name);
  }
}
