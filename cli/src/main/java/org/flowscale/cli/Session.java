package org.flowscale.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;

/** What {@code run} and {@code demo} share: resolve, check, run, report. */
final class Session {
  private Session() {}

  /**
   * Resolves and runs a config document; returns the exit code.
   *
   * @param source names the document in messages
   */
  static int run(
      Map<String, Object> document,
      String source,
      List<String> overrideArgs,
      RunOptions options,
      PrintStream out,
      PrintStream err) {
    List<Overrides.Override> overrides = Overrides.parse(overrideArgs);
    RunSettings settings = ConfigResolver.resolve(document, source, overrides);
    try (Runner runner = Runner.prepare(settings)) {
      if (options.dryRun) {
        out.print(Runner.configYaml(settings));
        err.println("flowscale: the config is valid (dry run: nothing ran)");
        return Main.EXIT_OK;
      }
      Runner.Outcome outcome;
      try (Progress progress = Progress.create(options.progress, err, settings.search().maxNfe())) {
        outcome = runner.run(settings.rootDir(), LocalDateTime.now(), progress);
      }
      out.println(Runner.summary(outcome));
      Path image = outcome.directory().resolve("final.png");
      if (outcome.files().contains("final.png")) {
        out.println("flowscale: image: " + image);
      }
      return Main.EXIT_OK;
    } catch (CliException e) {
      throw e;
    } catch (RuntimeException | StackOverflowError e) {
      throw new CliException.RunFailure(describe(e), e);
    }
  }

  private static String describe(Throwable e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + Text.oneLine(m));
  }
}
