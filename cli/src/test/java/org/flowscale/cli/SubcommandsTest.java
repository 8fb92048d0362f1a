package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Only the subcommand a command line names is built; everything else sees all six. */
class SubcommandsTest {
  private static List<String> names(String... args) {
    return Main.subcommandsFor(args).stream().map(Map.Entry::getKey).toList();
  }

  @Test
  void aNamedSubcommandIsBuiltAlone() {
    assertEquals(List.of("run"), names("run", "--config", "x.yaml"));
    assertEquals(List.of("run"), names("--debug", "run", "--help"));
    assertEquals(List.of("keys"), names("keys"));
  }

  @Test
  void otherwiseAllAreBuilt() {
    List<String> all = List.of("demo", "run", "batch", "serve", "summarize", "keys");
    assertEquals(all, names());
    assertEquals(all, names("--help"));
    assertEquals(all, names("--help", "run"));
    assertEquals(all, names("--version"));
    assertEquals(all, names("rnu"));
  }

  @Test
  void theUsageStillListsEveryCommandAndAMisspeltOneIsRefused() {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    int code =
        Main.execute(
            new String[] {"--help"},
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, code);
    String usage = out.toString(StandardCharsets.UTF_8);
    for (String c : List.of("demo", "run", "batch", "serve", "summarize", "keys")) {
      assertTrue(usage.contains("  " + c + " "), usage);
    }
    err.reset();
    code =
        Main.execute(
            new String[] {"rnu"},
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(Main.EXIT_USAGE, code);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("rnu"), err.toString());
  }
}
