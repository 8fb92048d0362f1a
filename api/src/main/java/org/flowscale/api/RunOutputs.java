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
import org.flowscale.engine.search.TraceEntry;

/**
 * A run's output folder, as the command line writes it: {@code root_dir/tag[_timestamp]} with
 * {@code config.yaml} (the resolved config; running it again repeats the run), {@code report.json}
 * (written at the start with status {@code running} and the process that runs it, replaced at the
 * end with how the run ended, what it spent and found), {@code trace.jsonl} (the whole trace,
 * streamed as the run goes), {@code final.png} (the chosen sample) and, with {@code
 * save_intermediate}, a grid of the particles' images per step under {@code steps/}. A run that
 * stopped early or failed keeps its best sample so far as {@code best_so_far.png}.
 *
 * <p>The folder is claimed atomically (an existing one is never written into); every file but the
 * streamed trace is written to a temporary name and renamed, so a reader never sees half a file,
 * and every file gets the user's umask. A folder that cannot be made or written at the start is a
 * {@link ConfigurationException} (nothing ran).
 */
public final class RunOutputs implements AutoCloseable {
  static final String REPORT = "report.json";

  private final FlowscaleConfig config;
  private final RunDirectory dir;
  private final Optional<ImageOutput> images;
  private final List<String> files = new ArrayList<>();
  private final OffsetDateTime started = OffsetDateTime.now();
  private final TraceFile trace;
  private final StepImages steps;
  private boolean ended;

  private RunOutputs(
      FlowscaleConfig config, RunDirectory dir, Optional<ImageOutput> images, TraceFile trace) {
    this.config = config;
    this.dir = dir;
    this.images = images;
    this.trace = trace;
    this.steps =
        config.saveIntermediate() && images.isPresent()
            ? new StepImages(dir, images.get(), config.search())
            : null;
  }

  /**
   * Makes the run directory for {@code config} and writes its {@code config.yaml}, {@code
   * report.json} (status {@code running}) and an empty {@code trace.jsonl}.
   *
   * @param config the run's config
   * @param space the model's samples (for their image form), e.g. {@link Pipeline#sampleSpace()}
   * @param now names the directory ({@code _yyyyMMdd-HHmmss} with {@code save_now})
   * @return the run's outputs, with {@code config.yaml}, {@code report.json} and {@code
   *     trace.jsonl} written
   * @throws ConfigurationException when the directory exists and {@code save_now} is off, or it
   *     cannot be made or written (the message says why: permission denied, not a directory, no
   *     space left)
   */
  public static RunOutputs create(FlowscaleConfig config, SampleSpace space, LocalDateTime now) {
    RunDirectory dir;
    try {
      dir = RunDirectory.create(config.rootDir(), config.tag(), config.saveNow(), now);
    } catch (IOException e) {
      throw new ConfigurationException(
          "cannot make the run directory under root_dir "
              + Text.quote(config.rootDir().toString())
              + ": "
              + Text.ioReason(e),
          e);
    }
    TraceFile trace = null;
    try {
      dir.writeString("config.yaml", config.toYaml());
      trace = TraceFile.create(dir);
      RunOutputs out = new RunOutputs(config, dir, ImageOutput.forModel(space), trace);
      out.files.add("config.yaml");
      out.files.add(TraceFile.NAME);
      out.files.add(REPORT);
      out.dir.replaceString(REPORT, out.report().json());
      return out;
    } catch (IOException e) {
      if (trace != null) {
        trace.close();
      }
      dir.discard(); // nothing ran: leave nothing behind
      throw new ConfigurationException(
          "cannot write the run directory " + dir.path() + ": " + Text.ioReason(e), e);
    }
  }

  /**
   * Checks, without writing anything, that run directories can be made under {@code root_dir}.
   *
   * @param config the run's config
   * @throws ConfigurationException naming the cause (permission denied, not a directory, ...)
   */
  public static void checkRootDir(FlowscaleConfig config) {
    RootDirCheck.check(config.rootDir());
  }

  /** {@return the run directory} */
  public Path directory() {
    return dir.path();
  }

  /**
   * {@return the files written so far, relative to the directory, in the order written} (step grids
   * are counted by {@link #stepGrids}, not listed)
   */
  public List<String> files() {
    return List.copyOf(files);
  }

  /** {@return the step grids written so far ({@code steps/})} */
  public int stepGrids() {
    return steps == null ? 0 : steps.written();
  }

  /**
   * {@return the image of a run that ended}: {@code final.png} when it completed, else {@code
   * best_so_far.png}; empty when it wrote none
   */
  public Optional<String> image() {
    return files.stream()
        .filter(f -> f.equals("final.png") || f.equals("best_so_far.png"))
        .findFirst();
  }

  /**
   * {@code delegate} plus this run's recording: every trace entry to {@code trace.jsonl} and, with
   * {@code save_intermediate} and an image model, a grid of the particles' images after every step
   * ({@code steps/step_NNN.png}). A file that cannot be written stops the search with an {@link
   * UncheckedIOException} naming it and the cause.
   *
   * @param delegate the caller's listener (may be null)
   * @return a listener to pass to {@link Pipeline#generate(GenerationRequest, SearchListener,
   *     Cancellation)}
   */
  public SearchListener listener(SearchListener delegate) {
    SearchListener d = delegate == null ? SearchListener.NONE : delegate;
    return new SearchListener() {
      @Override
      public void onProgress(long nfe, long maxNfe) {
        d.onProgress(nfe, maxNfe);
      }

      @Override
      public boolean wantsIntermediates() {
        return steps != null || d.wantsIntermediates();
      }

      @Override
      public void onStep(int step, double[] times, float[] tweedies, int rows, double[] rewards) {
        if (steps != null) {
          steps.write(step, times, tweedies, rows, rewards);
        }
        if (d.wantsIntermediates()) {
          d.onStep(step, times, tweedies, rows, rewards);
        }
      }

      @Override
      public void onTrace(TraceEntry entry) {
        trace.add(entry);
        d.onTrace(entry);
      }

      @Override
      public boolean stopRequested() {
        return d.stopRequested();
      }
    };
  }

  /**
   * Writes a finished generation's outputs: {@code final.png} for a completed run, {@code
   * best_so_far.png} for one that stopped early (when it scored anything), the rest of {@code
   * trace.jsonl}, and {@code report.json} with its status.
   *
   * @param result the generation's result
   * @throws FlowscaleException when the outputs cannot be written (the report then still says
   *     {@code running})
   */
  public void complete(GenerationResult result) {
    String image = result.status() == RunStatus.COMPLETED ? "final.png" : "best_so_far.png";
    try {
      trace.flush();
    } catch (UncheckedIOException e) {
      throw new FlowscaleException(
          "cannot write the outputs to " + dir.path() + ": " + Text.ioReason(e.getCause()),
          e,
          null);
    }
    write(
        result.search().orElse(null),
        image,
        new RunReport(config.settings(), started)
            .status(result.status(), result.stopReason().orElse(null), null)
            .result(
                result.search().orElse(null),
                result.nfe(),
                result.backend(),
                result.wall().toNanos()));
  }

  /**
   * Writes what a failed generation had: {@code best_so_far.png} when it scored anything, and
   * {@code report.json} with status {@code failed} and the error.
   *
   * @param error the failure
   * @param backend the backend it ran on ({@link Pipeline#backend()})
   * @throws FlowscaleException when the outputs cannot be written
   */
  public void fail(FlowscaleException error, String backend) {
    SearchResult search = error.partial().flatMap(GenerationResult::search).orElse(null);
    long wall = error.partial().map(p -> p.wall().toNanos()).orElse(0L);
    long nfe = error.partial().map(GenerationResult::nfe).orElse(0L);
    try {
      trace.flush();
    } catch (UncheckedIOException e) {
      // the trace already failed (maybe it is the failure): keep what it has
    }
    write(
        search,
        "best_so_far.png",
        new RunReport(config.settings(), started)
            .status(RunStatus.FAILED, null, Text.oneLine(error.getMessage()))
            .result(search, nfe, backend, wall));
  }

  /**
   * {@return the {@code report.json} text of a finished generation that has no run directory} (a
   * service's reply): the fields of a run's report, with an empty file list and a summary of the
   * trace the result kept in memory (its first and last entries when it made very many).
   *
   * @param config the config the request was made from ({@link FlowscaleConfig#request()}): the
   *     report names its prompt, method, model and seed
   * @param result the generation's result
   */
  public static String report(FlowscaleConfig config, GenerationResult result) {
    SearchResult search = result.search().orElse(null);
    return new RunReport(config.settings(), result.startedAt())
        .status(result.status(), result.stopReason().orElse(null), null)
        .result(search, result.nfe(), result.backend(), result.wall().toNanos())
        .finished(result.startedAt().plus(result.wall()))
        .trace(memorySummary(search))
        .warnings(config.warnings())
        .json();
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
    SearchResult search = partial.flatMap(GenerationResult::search).orElse(null);
    OffsetDateTime started = partial.map(GenerationResult::startedAt).orElse(OffsetDateTime.now());
    return new RunReport(config.settings(), started)
        .status(RunStatus.FAILED, null, Text.oneLine(error.getMessage()))
        .result(
            search,
            partial.map(GenerationResult::nfe).orElse(0L),
            partial.map(GenerationResult::backend).orElse(backend),
            partial.map(p -> p.wall().toNanos()).orElse(0L))
        .finished(OffsetDateTime.now())
        .trace(memorySummary(search))
        .warnings(config.warnings())
        .json();
  }

  /** The summary of a result's in-memory trace (bounded: the engine keeps at most 8192 entries). */
  private static java.util.Map<String, Object> memorySummary(SearchResult search) {
    TraceSummary s = new TraceSummary();
    List<TraceEntry> kept = search == null ? List.of() : search.trace();
    kept.forEach(s::add);
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("entries_kept", kept.size());
    m.putAll(s.map());
    return m;
  }

  private RunReport report() {
    return new RunReport(config.settings(), started)
        .trace(trace.summary())
        .warnings(config.warnings())
        .files(files, stepGrids());
  }

  private void write(SearchResult search, String imageName, RunReport report) {
    ended = true;
    trace.close();
    try {
      if (search != null && images.isPresent()) {
        ImageOutput io = images.get();
        dir.write(imageName, out -> io.writeSample(out, search.sample()));
        files.add(imageName);
      }
      dir.replaceString(
          REPORT,
          report
              .finished(OffsetDateTime.now())
              .trace(trace.summary())
              .warnings(config.warnings())
              .files(files, stepGrids())
              .json());
    } catch (IOException e) {
      throw new FlowscaleException(
          "cannot write the outputs to " + dir.path() + ": " + Text.ioReason(e), e, null);
    }
  }

  /**
   * Closes the trace file of a run that never reached {@link #complete} or {@link #fail} (its
   * report still says {@code running}).
   */
  @Override
  public void close() {
    if (!ended) {
      trace.close();
    }
  }
}
