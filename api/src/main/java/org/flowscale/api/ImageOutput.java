package org.flowscale.api;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.flowscale.engine.image.Png;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.SampleSpace;

/**
 * Writes a model's samples as PNG through the engine's {@link Png} writer: one sample, or a
 * labelled grid. Small images are upscaled (nearest neighbour) to about 256 pixels so a 32x32 toy
 * image is viewable; a 1024x1024 image is written as is.
 */
final class ImageOutput {
  private static final int GRID_COLUMNS = 10;

  private final ImageDecoder decoder;
  private final int scale;

  private ImageOutput(ImageDecoder decoder) {
    this.decoder = decoder;
    this.scale = Image.viewScale(decoder.height(), decoder.width());
  }

  /** The model's image form, if its samples are images. */
  static Optional<ImageOutput> forModel(SampleSpace model) {
    return model.imageDecoder().map(ImageOutput::new);
  }

  int height() {
    return decoder.height();
  }

  int width() {
    return decoder.width();
  }

  /** The upscaling factor of {@link #writeSample}. */
  int scale() {
    return scale;
  }

  /** One sample as a PNG. */
  void writeSample(OutputStream out, float[] sample) throws IOException {
    var img = Png.toImage(decoder.decode(sample, 0), 0, height(), width(), scale);
    if (!ImageIO.write(img, "png", out)) {
      throw new IOException("no PNG writer in this Java runtime");
    }
  }

  /**
   * Rows of samples as a grid PNG at {@code file} (a new file: an existing one is never replaced),
   * each labelled, at half the single image's scale.
   */
  void writeGrid(Path file, float[] samples, int rows, List<String> labels) throws IOException {
    if (Files.exists(file)) {
      throw new FileAlreadyExistsException(file.toString(), null, "will not overwrite");
    }
    List<float[]> images = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      images.add(decoder.decode(samples, i));
    }
    Png.writeGrid(file, images, labels, height(), width(), GRID_COLUMNS, Math.max(1, scale / 2));
  }
}
