package org.flowscale.cli;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Locale;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.FlowscaleException;
import org.flowscale.api.GenerationRequest;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.Pipeline;
import org.flowscale.api.RunOutputs;
import org.flowscale.api.RunStatus;
import org.flowscale.api.Text;

/**
 * What {@code run} and {@code demo} share: resolve and check the config, load the pipeline, run one
 * generation, write the run directory. Everything that can refuse the config does so before the run
 * directory is made (exit 2); a failure once the run started exits 1 and leaves what the run had in
 * its directory.
 */
final class Session {
  private Session() {}

  /** Runs a resolved config; returns the exit code. */
  static int run(FlowscaleConfig config, RunOptions options, PrintStream out, PrintStream err) {
    GenerationRequest request = config.request();
    if (options.dryRun) {
      // A model that can plan (FLUX) is checked from its files' headers, loading no tensor; the
      // others are loaded and the request checked on them.
      List<String> plan = Pipeline.dryRun(config, request);
      out.print(config.toYaml());
      for (String line : plan) {
        err.println("flowscale: " + line);
      }
      err.println("flowscale: the config is valid (dry run: nothing ran)");
      return Main.EXIT_OK;
    }
    try (Pipeline pipeline = Pipeline.fromConfig(config)) {
      pipeline.check(request);
      RunOutputs outputs = RunOutputs.create(config, pipeline.sampleSpace(), LocalDateTime.now());
      GenerationResult result;
      try (Progress progress = Progress.create(options.progress, err, config.search().maxNfe())) {
        result = pipeline.generate(request, outputs.listener(progress), null);
        progress.finish(result.nfe());
      } catch (FlowscaleException e) {
        keep(outputs, e, pipeline.backend());
        throw new CliException.RunFailure(
            describe(e, outputs) + " (what was written so far is in " + outputs.directory() + ")",
            e);
      }
      outputs.complete(result);
      out.println(summary(result, outputs));
      if (outputs.files().contains("final.png")) {
        out.println("flowscale: image: " + outputs.directory().resolve("final.png"));
      }
      return Main.EXIT_OK;
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

  private static String describe(FlowscaleException e, RunOutputs outputs) {
    if (e.getCause() instanceof UncheckedIOException io) {
      return "writing intermediate images to "
          + outputs.directory()
          + " failed: "
          + Text.oneLine(io.getCause().getMessage());
    }
    return Text.oneLine(e.getMessage());
  }

  /** One line for stdout after a run. */
  static String summary(GenerationResult r, RunOutputs outputs) {
    String method = r.request().search().method().configName();
    String how =
        r.status() == RunStatus.COMPLETED
            ? method + " spent"
            : method + " stopped (" + r.stopReason().orElse(r.status().configName()) + ") after";
    return String.format(
        Locale.ROOT,
        "flowscale: %s %d of %d NFE, %s %s; wrote %s (%s)",
        how,
        r.nfe(),
        r.request().search().maxNfe(),
        r.status() == RunStatus.COMPLETED ? "best reward" : "best so far",
        Double.isFinite(r.reward()) ? String.format(Locale.ROOT, "%.4f", r.reward()) : r.reward(),
        outputs.directory(),
        shortList(outputs.files()));
  }

  /** The run's files, with the step grids counted rather than listed. */
  private static String shortList(List<String> files) {
    List<String> top = files.stream().filter(f -> !f.startsWith("steps/")).toList();
    long steps = files.size() - top.size();
    return String.join(", ", top) + (steps > 0 ? ", steps/ with " + steps + " grids" : "");
  }
}
