package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shaded jar (and bin/flowscale) as a user runs them: a separate process. */
class EndToEndIT {
  static final Path ROOT = Path.of(System.getProperty("flowscale.root", "..")).toAbsolutePath();
  static final Path JAR =
      Path.of(System.getProperty("flowscale.jar", "target/flowscale.jar")).toAbsolutePath();

  @TempDir Path tmp;

  /** A finished process: exit code and output. */
  record Proc(int code, String out, String err) {
    boolean hasStackTrace() {
      return err.contains("\tat ") || err.contains("Exception in thread");
    }

    @Override
    public String toString() {
      return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  static Proc exec(List<String> command, Map<String, String> env) throws Exception {
    Path out = Files.createTempFile("flowscale-out", ".txt");
    Path err = Files.createTempFile("flowscale-err", ".txt");
    try {
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("timed out: " + command);
      }
      return new Proc(
          p.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  static Proc jar(String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-jar");
    cmd.add(JAR.toString());
    cmd.addAll(List.of(args));
    return exec(cmd, Map.of());
  }

  /**
   * Runs {@code command}, which must exit 0 without a stack trace, and returns the one run
   * directory it wrote under {@code runs}.
   */
  static Path completedRun(List<String> command, Path runs) throws Exception {
    Proc p = exec(command, Map.of());
    assertEquals(0, p.code(), p.toString());
    assertFalse(p.hasStackTrace(), p.toString());
    return only(runs);
  }

  /** The one run directory under {@code runs}. */
  static Path only(Path runs) throws IOException {
    try (Stream<Path> s = Files.list(runs)) {
      List<Path> all = s.toList();
      assertEquals(1, all.size(), all.toString());
      return all.get(0);
    }
  }

  static List<Path> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).sorted().toList();
    }
  }

  @Test
  void demoWritesAReadablePngAndAReportWithinBudget() throws Exception {
    Proc p = jar("demo", "--out", tmp.toString(), "--progress", "lines");
    assertEquals(0, p.code(), p.toString());
    List<Path> dirs;
    try (Stream<Path> s = Files.list(tmp)) {
      dirs = s.toList();
    }
    assertEquals(1, dirs.size(), p.toString());
    Path run = dirs.getFirst();
    assertTrue(run.getFileName().toString().startsWith("demo_"), run.toString());
    assertTrue(p.out().contains(run.toString()), "says where the outputs went: " + p);
    BufferedImage img = ImageIO.read(run.resolve("final.png").toFile());
    assertNotNull(img, "final.png is a PNG");
    assertTrue(img.getWidth() >= 32 && img.getHeight() >= 32, img.toString());
    JsonNode report = new ObjectMapper().readTree(run.resolve("report.json").toFile());
    assertEquals("rbf", report.get("method").asText());
    assertEquals(500, report.get("max_nfe").asLong());
    long nfe = report.get("nfe").asLong();
    assertTrue(nfe > 0 && nfe <= 500, "nfe " + nfe);
    assertEquals("completed", report.get("status").asText());
    long entries = report.get("trace").get("entries").asLong();
    assertTrue(entries > 0, report.toString());
    assertEquals(entries, Files.readAllLines(run.resolve("trace.jsonl")).size());
    assertTrue(report.get("best_reward").isNumber(), report.toString());
    assertTrue(Files.exists(run.resolve("config.yaml")));
    assertEquals(
        4, files(run).size(), "config.yaml, final.png, report.json, trace.jsonl, no temporaries");
    assertTrue(p.err().contains("flowscale: NFE"), "progress lines on a non-terminal: " + p);
  }

  @Test
  void badInputExitsTwoWithOneMessage() throws Exception {
    Proc missing = jar("run", "--config", tmp.resolve("nope.yaml").toString());
    assertEquals(2, missing.code(), missing.toString());
    assertEquals(
        "flowscale: config file '" + tmp.resolve("nope.yaml") + "' does not exist",
        missing.err().strip());
    Proc budget =
        jar(
            "run",
            "--config",
            ROOT.resolve("config/toy/quantity_aware/bon.yaml").toString(),
            "max_nfe=100",
            "root_dir=" + tmp);
    assertEquals(2, budget.code(), budget.toString());
    assertTrue(budget.err().contains("exceeds max_nfe 100"), budget.toString());
    assertEquals(1, budget.err().strip().lines().count(), budget.toString());
    assertFalse(budget.hasStackTrace(), budget.toString());
    assertTrue(Files.notExists(tmp.resolve("quantity_aware_bon")), "nothing was written");
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(0, s.count(), "a refused config writes nothing");
    }
  }

  /** Issue 14: an unwritable root_dir exited 1 as if the run had failed; nothing ran: exit 2. */
  @Test
  void anUnwritableRootDirExitsTwoWithTheCauseAlsoInADryRun() throws Exception {
    Path blocker = Files.writeString(tmp.resolve("not-a-folder"), "x");
    for (boolean dry : new boolean[] {false, true}) {
      List<String> args =
          new ArrayList<>(List.of("demo", "--out", blocker.resolve("runs").toString()));
      if (dry) {
        args.add("--dry-run");
      }
      Proc p = jar(args.toArray(String[]::new));
      assertEquals(2, p.code(), p.toString());
      assertEquals(
          "flowscale: root_dir '"
              + blocker.resolve("runs")
              + "' cannot be made: not a directory: "
              + blocker,
          p.err().strip(),
          p.toString());
    }
  }

  @Test
  void theLauncherRunsTheJar() throws Exception {
    Proc p =
        exec(
            List.of(ROOT.resolve("bin/flowscale").toString(), "--version"),
            Map.of("FLOWSCALE_NO_BUILD", "1"));
    assertEquals(0, p.code(), p.toString());
    assertTrue(p.out().startsWith("flowscale "), p.toString());
    Proc usage =
        exec(List.of(ROOT.resolve("bin/flowscale").toString()), Map.of("FLOWSCALE_NO_BUILD", "1"));
    assertEquals(2, usage.code(), usage.toString());
  }
}
