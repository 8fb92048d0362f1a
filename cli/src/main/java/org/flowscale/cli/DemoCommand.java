package org.flowscale.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.flowscale.api.FlowscaleConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code flowscale demo}: the built-in config: the toy world, RBF and a counting prompt. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Runs the built-in demo (toy world, RBF, a counting prompt).",
      "",
      "The paper's setting (500 NFE, 10 steps, VP-SDE) in seconds on a CPU; prints where the"
          + " outputs went. Accepts the same key=value overrides as 'run'."
    })
final class DemoCommand implements Callable<Integer> {
  static final String RESOURCE = "demo.yaml";

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "The folder to put the run directory in (default: runs).")
  Path out;

  @Parameters(paramLabel = "key=value", description = "Overrides of the demo's config.")
  List<String> overrides = new ArrayList<>();

  @Mixin RunOptions options;

  @ParentCommand Main main;

  @Override
  public Integer call() {
    List<String> args = new ArrayList<>(overrides);
    if (out != null) {
      // Quoted for YAML so that any folder name stays text.
      args.add("root_dir='" + out.toString().replace("'", "''") + "'");
    }
    FlowscaleConfig config = FlowscaleConfig.parse(text(), "the built-in demo config", args, true);
    return Session.run(config, options, main.out, main.err);
  }

  /** The demo's config text (also shipped in config/demo.yaml's place: the jar). */
  static String text() {
    try (InputStream in = DemoCommand.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the jar lacks " + RESOURCE);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + RESOURCE + ": " + e.getMessage(), e);
    }
  }
}
