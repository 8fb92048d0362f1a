package org.flowscale.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.SearchResult;

/**
 * A run's output folder, as the command line writes it: {@code root_dir/tag[_timestamp]} with
 * {@code config.yaml} (the resolved config; running it again repeats the run), {@code final.png}
 * (the chosen sample), {@code report.json} (what ran, what it spent, what it found, and how it
 * ended) and, with {@code save_intermediate}, a grid of the particles' images per step under {@code
 * steps/}. A run that stopped early or failed keeps its best sample so far as {@code
 * best_so_far.png}. The folder is claimed atomically (an existing one is never written into) and
 * every file is written to a temporary name and renamed, so a reader never sees half a file.
 */
public final class RunOutputs {
  private final FlowscaleConfig config;
  private final RunDirectory dir;
  private final Optional<ImageOutput> images;
  private final List<String> files = new ArrayList<>();
  private final OffsetDateTime started = OffsetDateTime.now();

  private RunOutputs(FlowscaleConfig config, RunDirectory dir, Optional<ImageOutput> images) {
    this.config = config;
    this.dir = dir;
    this.images = images;
  }

  /**
   * Makes the run directory for {@code config} and writes its {@code config.yaml}.
   *
   * @param config the run's config
   * @param space the model's samples (for their image form), e.g. {@link Pipeline#sampleSpace()}
   * @param now names the directory ({@code _yyyyMMdd-HHmmss} with {@code save_now})
   * @return the run's outputs, with {@code config.yaml} written
   * @throws ConfigurationException when the directory exists and {@code save_now} is off
   * @throws FlowscaleException when the directory cannot be made or written
   */
  public static RunOutputs create(FlowscaleConfig config, SampleSpace space, LocalDateTime now) {
    RunDirectory dir;
    try {
      dir = RunDirectory.create(config.rootDir(), config.tag(), config.saveNow(), now);
      RunOutputs out = new RunOutputs(config, dir, ImageOutput.forModel(space));
      out.dir.writeString("config.yaml", config.toYaml());
      out.files.add("config.yaml");
      return out;
    } catch (IOException e) {
      throw new FlowscaleException(
          "cannot write the run directory under "
              + config.rootDir()
              + ": "
              + Text.oneLine(e.getMessage()),
          e,
          null);
    }
  }

  /** {@return the run directory} */
  public Path directory() {
    return dir.path();
  }

  /** {@return the files written so far, relative to the directory, in the order written} */
  public List<String> files() {
    return List.copyOf(files);
  }

  /**
   * {@code delegate} plus, with {@code save_intermediate} and an image model, a grid of the
   * particles' images after every step ({@code steps/step_NNN.png}). A grid that cannot be written
   * stops the search with an {@link UncheckedIOException}.
   *
   * @param delegate the caller's listener (may be null)
   * @return a listener to pass to {@link Pipeline#generate(GenerationRequest, SearchListener,
   *     Cancellation)}
   */
  public SearchListener listener(SearchListener delegate) {
    SearchListener d = delegate == null ? SearchListener.NONE : delegate;
    if (!config.saveIntermediate() || images.isEmpty()) {
      return d;
    }
    StepImages steps = new StepImages(dir, images.get(), files);
    return new SearchListener() {
      @Override
      public void onProgress(long nfe, long maxNfe) {
        d.onProgress(nfe, maxNfe);
      }

      @Override
      public boolean wantsIntermediates() {
        return true;
      }

      @Override
      public void onStep(int step, double time, float[] tweedies, int rows, double[] rewards) {
        steps.write(step, time, tweedies, rows, rewards);
        if (d.wantsIntermediates()) {
          d.onStep(step, time, tweedies, rows, rewards);
        }
      }

      @Override
      public boolean stopRequested() {
        return d.stopRequested();
      }
    };
  }

  /**
   * Writes a finished generation's outputs: {@code final.png} for a completed run, {@code
   * best_so_far.png} for one that stopped early (when it scored anything), and {@code report.json}.
   *
   * @param result the generation's result
   * @throws FlowscaleException when the outputs cannot be written
   */
  public void complete(GenerationResult result) {
    SearchResult search = result.search().orElse(null);
    String image = result.status() == RunStatus.COMPLETED ? "final.png" : "best_so_far.png";
    write(
        search,
        image,
        result.status(),
        result.stopReason().orElse(null),
        null,
        result.backend(),
        result.wall().toNanos());
  }

  /**
   * Writes what a failed generation had: {@code best_so_far.png} when it scored anything, and
   * {@code report.json} with status {@code failed} and the error.
   *
   * @param error the generation's failure (its {@link FlowscaleException#partial()} is kept)
   * @param backend the backend it ran on ({@link Pipeline#backend()})
   * @throws FlowscaleException when the outputs cannot be written
   */
  public void fail(FlowscaleException error, String backend) {
    SearchResult search = error.partial().flatMap(GenerationResult::search).orElse(null);
    long wall =
        error.partial().map(p -> p.wall().toNanos()).orElse(java.time.Duration.ZERO.toNanos());
    write(
        search,
        "best_so_far.png",
        RunStatus.FAILED,
        null,
        Text.oneLine(error.getMessage()),
        backend,
        wall);
  }

  /**
   * {@return the {@code report.json} text of a finished generation that has no run directory} (a
   * service's reply): the fields of a run's report, with an empty file list.
   *
   * @param config the config the request was made from ({@link FlowscaleConfig#request()}): the
   *     report names its prompt, method, model and seed
   * @param result the generation's result
   */
  public static String report(FlowscaleConfig config, GenerationResult result) {
    return RunReport.json(
        config.settings(),
        result.status(),
        result.stopReason().orElse(null),
        null,
        result.search().orElse(null),
        result.backend(),
        result.startedAt(),
        result.wall().toNanos(),
        List.of());
  }

  /**
   * {@return the {@code report.json} text of a failed generation that has no run directory}: status
   * {@code failed}, the error, and what the run had found (its partial result).
   *
   * @param config the config the request was made from
   * @param error the failure
   * @param backend the backend it ran on ({@link Pipeline#backend()})
   */
  public static String report(FlowscaleConfig config, FlowscaleException error, String backend) {
    Optional<GenerationResult> partial = error.partial();
    return RunReport.json(
        config.settings(),
        RunStatus.FAILED,
        null,
        Text.oneLine(error.getMessage()),
        partial.flatMap(GenerationResult::search).orElse(null),
        partial.map(GenerationResult::backend).orElse(backend),
        partial.map(GenerationResult::startedAt).orElse(OffsetDateTime.now()),
        partial.map(p -> p.wall().toNanos()).orElse(0L),
        List.of());
  }

  private void write(
      SearchResult search,
      String imageName,
      RunStatus status,
      String stopReason,
      String error,
      String backend,
      long wallNanos) {
    try {
      if (search != null && images.isPresent()) {
        ImageOutput io = images.get();
        dir.write(imageName, out -> io.writeSample(out, search.sample()));
        files.add(imageName);
      }
      files.add("report.json");
      dir.writeString(
          "report.json",
          RunReport.json(
              config.settings(),
              status,
              stopReason,
              error,
              search,
              backend,
              started,
              wallNanos,
              List.copyOf(files)));
    } catch (IOException e) {
      throw new FlowscaleException(
          "cannot write the outputs to " + dir.path() + ": " + Text.oneLine(e.getMessage()),
          e,
          null);
    }
  }
}
