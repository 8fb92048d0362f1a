package org.flowscale.cli;

import org.flowscale.api.Text;
import picocli.CommandLine.Option;

/** Options shared by {@code run} and {@code demo}. */
final class RunOptions {
  @Option(
      names = "--progress",
      paramLabel = "MODE",
      defaultValue = "auto",
      description =
          "How to show NFE spent against the budget on stderr: ${COMPLETION-CANDIDATES}"
              + " (default: ${DEFAULT-VALUE}: a bar on a terminal, else lines).",
      converter = ProgressModeConverter.class,
      completionCandidates = ProgressModes.class)
  Progress.Mode progress = Progress.Mode.AUTO;

  @Option(
      names = "--dry-run",
      description =
          "Check everything (config, budget, model, reward) and print the resolved config;"
              + " run nothing.")
  boolean dryRun;

  /** The accepted modes, lower case. */
  static final class ProgressModes extends java.util.ArrayList<String> {
    ProgressModes() {
      super(java.util.List.of("auto", "bar", "lines", "none"));
    }
  }

  static final class ProgressModeConverter
      implements picocli.CommandLine.ITypeConverter<Progress.Mode> {
    @Override
    public Progress.Mode convert(String value) {
      for (Progress.Mode m : Progress.Mode.values()) {
        if (m.name().equalsIgnoreCase(value)) {
          return m;
        }
      }
      throw new picocli.CommandLine.TypeConversionException(
          "expected one of auto, bar, lines, none, got " + Text.quote(value));
    }
  }
}
