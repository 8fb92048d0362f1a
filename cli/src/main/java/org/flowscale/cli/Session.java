package org.flowscale.cli;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Locale;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.FlowscaleException;
import org.flowscale.api.GenerationRequest;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.Pipeline;
import org.flowscale.api.RewardException;
import org.flowscale.api.RunOutputs;
import org.flowscale.api.RunStatus;
import org.flowscale.api.Text;

/**
 * What {@code run} and {@code demo} share: resolve and check the config, check root_dir, load the
 * pipeline, run one generation, write the run directory.
 *
 * <p>Exit codes. Everything that can fail before the search starts does so before the run directory
 * is made, also with {@code --dry-run}, and exits 2 with the cause: a bad config, a root_dir that
 * cannot be written (permission denied, not a directory), a model or reward that cannot be loaded
 * (a missing or corrupt file, a missing native library). A failure once the run started exits 1 and
 * leaves what the run had in its directory (report status {@code failed}, {@code best_so_far.png}).
 * SIGINT and SIGTERM stop the run, keep the best sample so far (status {@code interrupted}) and
 * exit 130 and 143 ({@link Signals}).
 */
final class Session {
  private Session() {}

  /** Runs a resolved config; returns the exit code. */
  static int run(FlowscaleConfig config, RunOptions options, PrintStream out, PrintStream err) {
    GenerationRequest request = config.request();
    for (String w : config.warnings()) {
      err.println("flowscale: warning: " + w);
    }
    RunOutputs.checkRootDir(config);
    if (options.dryRun) {
      // A model that can plan (FLUX) is checked from its files' headers, loading no tensor; the
      // others are loaded and the request checked on them.
      List<String> plan = dryRun(config, request);
      out.print(config.toYaml());
      for (String line : plan) {
        err.println("flowscale: " + line);
      }
      err.println("flowscale: the config is valid (dry run: nothing ran)");
      return Main.EXIT_OK;
    }
    try (Signals signals = Signals.install(err);
        Pipeline pipeline = load(config)) {
      pipeline.check(request);
      signals.runStarting();
      try (RunOutputs outputs =
          RunOutputs.create(config, pipeline.sampleSpace(), LocalDateTime.now())) {
        GenerationResult result;
        try (Progress progress = Progress.create(options.progress, err, config.search().maxNfe())) {
          result = pipeline.generate(request, outputs.listener(progress), signals.cancellation());
          progress.finish(result.nfe());
        } catch (FlowscaleException e) {
          keep(outputs, e, pipeline.backend());
          throw new CliException.RunFailure(
              describe(e, outputs) + " (what was written so far is in " + outputs.directory() + ")",
              e);
        }
        outputs.complete(result);
        if (result.status() == RunStatus.INTERRUPTED) {
          err.println(interrupted(result, outputs));
          return signals.exitCode();
        }
        out.println(summary(result, outputs));
        if (outputs.files().contains("final.png")) {
          out.println("flowscale: image: " + outputs.directory().resolve("final.png"));
        }
        return Main.EXIT_OK;
      }
    }
  }

  /**
   * The pipeline; a model, reward or backend that cannot be loaded is a problem of the run's inputs
   * (a file, a library, a device), found before any work: exit 2 with its cause.
   */
  private static Pipeline load(FlowscaleConfig config) {
    return beforeAnyWork(() -> Pipeline.fromConfig(config));
  }

  /** {@link Pipeline#dryRun}, whose load failures are, as in {@link #load}, exit 2. */
  private static List<String> dryRun(FlowscaleConfig config, GenerationRequest request) {
    return beforeAnyWork(() -> Pipeline.dryRun(config, request));
  }

  /**
   * Runs a step that comes before any work (loading): its failure is exit 2 with the cause and
   * "(nothing ran)", except one that may pass on a retry (a reward server that is down or not
   * ready: a retryable {@link RewardException}), which stays a run failure (exit 1).
   */
  static <T> T beforeAnyWork(java.util.function.Supplier<T> step) {
    try {
      return step.get();
    } catch (ConfigurationException e) {
      throw e;
    } catch (RewardException e) {
      if (e.retryable()) {
        throw e;
      }
      throw new CliException.ConfigError(Text.oneLine(e.getMessage()) + " (nothing ran)", e);
    } catch (FlowscaleException e) {
      throw new CliException.ConfigError(Text.oneLine(e.getMessage()) + " (nothing ran)", e);
    }
  }

  /** Writes what a failed run had, without hiding the failure if that fails too. */
  private static void keep(RunOutputs outputs, FlowscaleException e, String backend) {
    try {
      outputs.fail(e, backend);
    } catch (FlowscaleException second) {
      e.addSuppressed(second);
    }
  }

  /**
   * The failure's line; a file of the run directory that could not be written (a step grid, the
   * trace) is named with the cause.
   */
  private static String describe(FlowscaleException e, RunOutputs outputs) {
    if (e.getCause() instanceof UncheckedIOException io) {
      return "writing to " + outputs.directory() + " failed: " + Text.oneLine(io.getMessage());
    }
    return Text.oneLine(e.getMessage());
  }

  /** The one line of an interrupted run: where its partial results are. */
  static String interrupted(GenerationResult r, RunOutputs outputs) {
    return String.format(
        Locale.ROOT,
        "flowscale: %s stopped by %s after %d of %d NFE; partial results in %s (%sreport.json"
            + " with status interrupted)",
        r.request().search().method().configName(),
        r.stopReason().orElse("a signal"),
        r.nfe(),
        r.request().search().maxNfe(),
        outputs.directory(),
        outputs.image().map(i -> i + ", ").orElse(""));
  }

  /** One line for stdout after a run. */
  static String summary(GenerationResult r, RunOutputs outputs) {
    String method = r.request().search().method().configName();
    String how =
        r.status() == RunStatus.COMPLETED
            ? method + " spent"
            : method + " stopped (" + r.stopReason().orElse(r.status().configName()) + ") after";
    int grids = outputs.stepGrids();
    return String.format(
        Locale.ROOT,
        "flowscale: %s %d of %d NFE, %s %s; wrote %s (%s%s)",
        how,
        r.nfe(),
        r.request().search().maxNfe(),
        r.status() == RunStatus.COMPLETED ? "best reward" : "best so far",
        Double.isFinite(r.reward()) ? String.format(Locale.ROOT, "%.4f", r.reward()) : r.reward(),
        outputs.directory(),
        String.join(", ", outputs.files()),
        grids > 0 ? ", steps/ with " + grids + " grids" : "");
  }
}
