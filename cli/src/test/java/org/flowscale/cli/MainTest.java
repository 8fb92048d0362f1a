package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line in-process: usage, exit codes and error messages. */
class MainTest {
  @TempDir Path tmp;

  private Path config(String yaml) throws IOException {
    Path p = tmp.resolve("c.yaml");
    Files.writeString(p, yaml);
    return p;
  }

  private String runConfig(String method) throws IOException {
    return config(
            GOOD + "filtering_method: " + method + "\nroot_dir: '" + tmp.resolve("runs") + "'\n")
        .toString();
  }

  private static final String GOOD =
      "text_prompt: a prompt\nmodel: test_gaussian\nreward_score: test_norm\n";

  /** A config error: exit 2, one "flowscale: " message that contains {@code part}, no trace. */
  private static Cli refused(String part, String... args) {
    Cli r = Cli.run(args);
    assertEquals(2, r.code(), r.toString());
    assertTrue(r.err().startsWith("flowscale: "), r.toString());
    assertTrue(r.err().contains(part), "expected '" + part + "' in " + r);
    assertFalse(r.hasStackTrace(), r.toString());
    return r;
  }

  @Test
  void helpAndVersionSucceed() {
    Cli help = Cli.run("--help");
    assertEquals(0, help.code(), help.toString());
    assertTrue(help.out().contains("demo") && help.out().contains("run"), help.out());
    Cli runHelp = Cli.run("run", "--help");
    assertEquals(0, runHelp.code());
    assertTrue(runHelp.out().contains("--config"), runHelp.out());
    Cli version = Cli.run("--version");
    assertEquals(0, version.code());
    assertTrue(version.out().startsWith("flowscale "), version.out());
  }

  @Test
  void keysListsTheSchemaAndFactories() {
    Cli r = Cli.run("keys");
    assertEquals(0, r.code(), r.toString());
    assertTrue(r.out().contains("max_nfe"), r.out());
    assertTrue(
        r.out()
            .contains(
                "Keys of model 'test_gaussian': delay_ms, fail_after, fail_load, fail_with, mean,"
                    + " nan_at, nan_particle, nan_value, plan, prompt_free, variance"),
        r.out());
    assertTrue(r.out().contains("a number in [0, 100]; default 3.0"), "ranges are listed");
    assertTrue(r.out().contains("Backends: cpu"), r.out());
    assertTrue(
        r.out()
            .lines()
            .skip(1)
            .allMatch(
                l -> l.startsWith("  ") || l.startsWith("Keys of ") || l.startsWith("Backends: ")),
        "one line per entry: " + r.out());
  }

  @Test
  void badUsageExitsTwo() {
    assertEquals(2, Cli.run().code());
    refused("Unmatched argument", "frobnicate");
    refused("--config", "run");
    refused("Unknown option", "run", "--config", "x.yaml", "--frobnicate");
    refused("expected one of auto, bar, lines, none", "demo", "--progress", "sometimes");
  }

  @Test
  void badInputIsRefusedBeforeAnyWork() throws IOException {
    refused("does not exist", "run", "--config", tmp.resolve("missing.yaml").toString());
    refused("is a directory", "run", "--config", tmp.toString());
    refused("broken YAML at line 2", "run", "--config", config("seed: 1\n  - : x: [\n").toString());
    String c = config(GOOD).toString();
    refused("unknown key 'max_nef': did you mean 'max_nfe'?", "run", "-c", c, "max_nef=1");
    refused("bad value for max_steps: got text 'ten'", "run", "-c", c, "max_steps=ten");
    refused(
        "bad value for ess_threshold: got the whole number 2, expected a number in [0, 1]",
        "run",
        "-c",
        c,
        "ess_threshold=2");
    refused("is not key=value", "run", "-c", c, "max_nfe");
    refused("--config other.yaml", "run", "-c", c, "other.yaml");
  }

  @Test
  void badFactorySettingsAreConfigErrors() throws IOException {
    String c = config(GOOD).toString();
    refused(
        "model 'test_gaussian': variance must be in (0, 1e6], got -1.0",
        "run",
        "-c",
        c,
        "variance=-1",
        "--dry-run");
  }

  @Test
  void aMethodThatNeedsWhatTheRewardLacksIsRefusedBeforeWork() throws IOException {
    String c = runConfig("dps");
    refused("needs a differentiable reward", "run", "-c", c, "reward_score=test_flat");
    assertTrue(Files.notExists(tmp.resolve("runs")), "nothing written");
    refused("needs a differentiable reward", "run", "-c", c, "reward_score=test_flat", "--dry-run");
  }

  @Test
  void aBudgetThatDoesNotFitIsRefusedBeforeWork() throws IOException {
    String c = runConfig("bon");
    Cli r =
        refused(
            "bon: max_steps 10 x batch_size 20 x n_particles 1 = 200 NFE exceeds max_nfe 100",
            "run",
            "-c",
            c,
            "batch_size=20",
            "max_nfe=100");
    assertEquals(1, r.err().strip().lines().count(), r.toString());
    assertTrue(Files.notExists(tmp.resolve("runs")), "nothing written");
    refused(
        "rbf: init_n_particles 25 x batch_size 2 = 50 NFE leaves nothing",
        "run",
        "-c",
        c,
        "filtering_method=rbf",
        "max_nfe=50");
  }

  @Test
  void aFailureDuringTheRunExitsOne() throws IOException {
    String c = runConfig("bon");
    Cli r =
        Cli.run(
            "run",
            "-c",
            c,
            "fail_after=3",
            "max_nfe=40",
            "batch_size=4",
            "tag=x",
            "save_now=false",
            "--progress",
            "none");
    assertEquals(1, r.code(), r.toString());
    assertEquals(
        "flowscale: run failed: model 'test_gaussian' failed: test model failed on purpose (what"
            + " was written so far is in "
            + tmp.resolve("runs/x")
            + ") (--debug shows the stack trace)",
        r.err().strip());
    assertFalse(r.hasStackTrace(), r.toString());
    // The run directory says the run failed, and why.
    String report = Files.readString(tmp.resolve("runs/x/report.json"));
    assertTrue(report.contains("\"status\" : \"failed\""), report);
    assertTrue(report.contains("test model failed on purpose"), report);
  }

  @Test
  void aRunPrintsWhereItsOutputsWent() throws IOException {
    String c = runConfig("smc");
    Cli r =
        Cli.run(
            "run",
            "-c",
            c,
            "max_nfe=40",
            "batch_size=4",
            "tag=ok",
            "save_now=false",
            "save_intermediate=true",
            "--progress",
            "lines");
    assertEquals(0, r.code(), r.toString());
    Path dir = tmp.resolve("runs/ok");
    assertTrue(r.out().contains("wrote " + dir), r.out());
    assertTrue(Files.exists(dir.resolve("steps/step_000.png")), r.out());
    assertTrue(r.err().contains("flowscale: NFE 40/40 (100%)"), r.err());
    Cli again = Cli.run("run", "-c", c, "max_nfe=40", "batch_size=4", "tag=ok", "save_now=false");
    assertEquals(2, again.code(), "an existing run directory is never reused: " + again);
    assertTrue(again.err().contains("already exists"), again.err());
  }

  @Test
  void debugShowsTheStackTrace() {
    Cli r = Cli.run("--debug", "run", "--config", tmp.resolve("missing.yaml").toString());
    assertEquals(2, r.code());
    assertTrue(r.hasStackTrace(), r.toString());
    Cli after = Cli.run("run", "--config", tmp.resolve("missing.yaml").toString(), "--debug");
    assertTrue(after.hasStackTrace(), "the flag works after the subcommand too: " + after);
  }
}
