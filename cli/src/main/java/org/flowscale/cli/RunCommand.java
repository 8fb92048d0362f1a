package org.flowscale.cli;

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

/** {@code flowscale run --config FILE [key=value ...]}. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Runs a search from a YAML config with key=value overrides.",
      "",
      "Overrides are typed as YAML (numbers, true/false, null, [lists], text) and win over the"
          + " file. Everything is checked before the search starts. Outputs go to"
          + " root_dir/tag[_timestamp]: config.yaml, final.png, report.json, and steps/ with"
          + " save_intermediate=true."
    },
    footer = {
      "",
      "Example:",
      "  flowscale run --config config/toy/quantity_aware/rbf.yaml max_nfe=200 seed=3",
      "'flowscale keys' lists every key."
    })
final class RunCommand implements Callable<Integer> {
  @Option(
      names = {"-c", "--config"},
      required = true,
      paramLabel = "FILE",
      description = "The YAML config.")
  Path config;

  @Parameters(paramLabel = "key=value", description = "Overrides of config keys.")
  List<String> overrides = new ArrayList<>();

  @Mixin RunOptions options;

  @ParentCommand Main main;

  @Override
  public Integer call() {
    return Session.run(FlowscaleConfig.load(config, overrides), options, main.out, main.err);
  }
}
