package org.flowscale.cli;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
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
  /** Larger than any sensible config: refuse before reading it all. */
  static final long MAX_CONFIG_BYTES = 1 << 20;

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
    String source = config.toString();
    Map<String, Object> doc = ConfigYaml.loadDocument(read(config), source);
    return Session.run(doc, source, overrides, options, main.out, main.err);
  }

  /** The config file's text, or a config error saying why it cannot be read. */
  static String read(Path file) {
    String name = Text.quote(file.toString());
    try {
      if (Files.isDirectory(file)) {
        throw new CliException.ConfigError("config file " + name + " is a directory");
      }
      if (Files.size(file) > MAX_CONFIG_BYTES) {
        throw new CliException.ConfigError(
            "config file " + name + " is larger than " + MAX_CONFIG_BYTES + " bytes");
      }
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new CliException.ConfigError("config file " + name + " does not exist");
    } catch (AccessDeniedException e) {
      throw new CliException.ConfigError("config file " + name + " cannot be read (permission)");
    } catch (CharacterCodingException e) {
      throw new CliException.ConfigError("config file " + name + " is not UTF-8 text");
    } catch (IOException e) {
      throw new CliException.ConfigError(
          "config file " + name + " cannot be read: " + Text.oneLine(e.getMessage()));
    }
  }
}
