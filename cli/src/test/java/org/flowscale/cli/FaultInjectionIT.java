package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.flowscale.api.FlowscaleConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14's fault-injection suite: the command line run as a user's process and broken on purpose
 * (signals at random points, a second signal, kill -9, a model and a reward that return NaN at a
 * chosen call, a disk that fills at every size a write can fail at, unwritable and unloadable
 * inputs), plus a fuzz of random values for every numeric key. After each fault the run directory
 * is checked: every file in it is whole (JSON and YAML parse, PNGs decode, trace lines parse), no
 * temporary file is left, and report.json's status matches the exit code. Seeded, so a failure
 * repeats; the counts are printed at the end (README, "Reliability").
 *
 * <p>Subprocesses run {@code org.flowscale.cli.Main} on this test's class path, which holds the
 * test model and reward (fault options {@code nan_at}, {@code reward_nan_at}, {@code delay_ms}).
 */
class FaultInjectionIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger INPUTS = new AtomicInteger();
  private static final AtomicInteger FAULTS = new AtomicInteger();
  private static final AtomicInteger FILES_CHECKED = new AtomicInteger();
  private static final long SEED = Long.getLong("flowscale.fault.seed", 20261130L);

  @TempDir Path tmp;

  @AfterAll
  static void counts() {
    System.out.printf(
        "[flowscale] fault injection: %d inputs tried, %d faults injected, %d files checked,"
            + " 0 lost%n",
        INPUTS.get(), FAULTS.get(), FILES_CHECKED.get());
  }

  // ---- running the command ----

  /** A finished (or killed) process. */
  record Proc(int code, String out, String err) {
    boolean hasStackTrace() {
      return err.contains("\tat ")
          || err.contains("Exception in thread")
          || err.contains("Caused by");
    }

    @Override
    public String toString() {
      return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private static List<String> java(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(
        List.of(
            "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData",
            "-Djava.awt.headless=true",
            "--enable-native-access=ALL-UNNAMED",
            "-cp",
            System.getProperty("java.class.path"),
            "org.flowscale.cli.Main"));
    cmd.addAll(List.of(args));
    return cmd;
  }

  private Process start(List<String> cmd, Map<String, String> env, Path out, Path err)
      throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().putAll(env);
    return pb.start();
  }

  private Proc finish(Process p, Path out, Path err) throws Exception {
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("timed out");
    }
    return new Proc(
        p.exitValue(),
        Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  private Proc exec(List<String> cmd, Map<String, String> env) throws Exception {
    Path out = Files.createTempFile(tmp, "out", ".txt");
    Path err = Files.createTempFile(tmp, "err", ".txt");
    return finish(start(cmd, env, out, err), out, err);
  }

  /**
   * A config for the test model: RBF, 2 chains x 3, every round a step grid; {@code extra} lines
   * ({@code key: value}) replace the base's.
   */
  private Path config(String name, Path root, String... extra) throws IOException {
    Map<String, String> keys = new java.util.LinkedHashMap<>();
    String base =
        "text_prompt: p\nmodel: test_gaussian\nreward_score: test_norm\nfiltering_method: rbf\n"
            + "batch_size: 2\ninit_n_particles: 3\nmax_nfe: 200\nmax_steps: 6\n"
            + "save_intermediate: true\nroot_dir: '"
            + root
            + "'";
    for (String e : (base + "\n" + String.join("\n", extra)).split("\n")) {
      if (!e.isBlank()) {
        keys.put(e.substring(0, e.indexOf(':')), e.substring(e.indexOf(':') + 1).strip());
      }
    }
    StringBuilder b = new StringBuilder();
    keys.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
    return Files.writeString(tmp.resolve(name + ".yaml"), b.toString());
  }

  // ---- checking a run directory ----

  /** What a run directory holds, every file checked whole. */
  record RunDir(Path dir, Optional<JsonNode> report) {
    String status() {
      return report.map(r -> r.get("status").asText()).orElse("(no report)");
    }
  }

  /** The run directories under root, each checked. */
  private static List<RunDir> runs(Path root) throws IOException {
    List<RunDir> out = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    try (Stream<Path> s = Files.list(root)) {
      for (Path d : s.sorted().toList()) {
        assertFalse(
            d.getFileName().toString().startsWith(".flowscale-probe"),
            "a root_dir probe was left: " + d);
        out.add(check(d));
      }
    }
    return out;
  }

  /** Every file whole, no temporaries; the report (if any) parsed. */
  static RunDir check(Path dir) throws IOException {
    return check(dir, false);
  }

  /**
   * Every file whole; the report (if any) parsed. With {@code killed} (kill -9), the hidden
   * temporary of the write the kill cut short may remain ({@code .NAME.*.tmp}: nothing can remove
   * it, and no reader takes it for an output); every other file is still whole.
   */
  static RunDir check(Path dir, boolean killed) throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.walk(dir)) {
      files = s.filter(Files::isRegularFile).toList();
    }
    JsonNode report = null;
    for (Path f : files) {
      String name = f.getFileName().toString();
      FILES_CHECKED.incrementAndGet();
      if (killed && name.startsWith(".") && name.endsWith(".tmp")) {
        continue;
      }
      assertFalse(name.startsWith(".") || name.endsWith(".tmp"), "a temporary file was left: " + f);
      if (name.endsWith(".png")) {
        assertTrue(ImageIO.read(f.toFile()) != null, "not a whole PNG: " + f);
      } else if (name.equals("report.json")) {
        report = JSON.readTree(f.toFile());
        assertTrue(report.hasNonNull("status"), f.toString());
      } else if (name.equals("trace.jsonl")) {
        String text = Files.readString(f);
        assertTrue(text.isEmpty() || text.endsWith("\n"), "trace.jsonl ends mid-line: " + f);
        for (String line : text.lines().toList()) {
          assertTrue(JSON.readTree(line).has("nfe"), "a broken trace line in " + f + ": " + line);
        }
      } else if (name.equals("config.yaml")) {
        FlowscaleConfig.load(f, List.of()); // parses and validates
      } else {
        fail("an unexpected file: " + f);
      }
    }
    if (report != null && !report.get("status").asText().equals("running")) {
      long entries = report.get("trace").get("entries").asLong();
      assertEquals(
          entries,
          Files.readAllLines(dir.resolve("trace.jsonl")).size(),
          "the report counts the trace's lines: " + dir);
      for (JsonNode f : report.get("files")) {
        assertTrue(Files.exists(dir.resolve(f.asText())), "listed but missing: " + f);
      }
    }
    return new RunDir(dir, Optional.ofNullable(report));
  }

  private static int signalNumber(String sig) {
    return sig.equals("INT") ? 2 : 15;
  }

  /** Whether a process ignores a signal (a background job of a script ignores SIGINT). */
  private static boolean ignores(long pid, String sig) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("SigIgn:")) {
          long mask = Long.parseUnsignedLong(line.substring(7).strip(), 16);
          return (mask & (1L << (signalNumber(sig) - 1))) != 0;
        }
      }
    } catch (IOException | RuntimeException e) {
      // no /proc: assume not
    }
    return false;
  }

  private static void kill(long pid, String sig) throws Exception {
    Process k = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start();
    k.waitFor(10, TimeUnit.SECONDS);
  }

  private static Path waitForReport(Path root, Process p) throws Exception {
    long until = System.nanoTime() + 120_000_000_000L;
    while (System.nanoTime() < until && p.isAlive()) {
      if (Files.isDirectory(root)) {
        try (Stream<Path> s = Files.list(root)) {
          Optional<Path> d = s.filter(x -> Files.exists(x.resolve("report.json"))).findFirst();
          if (d.isPresent()) {
            return d.get();
          }
        }
      }
      Thread.sleep(20);
    }
    fail("no report.json appeared under " + root);
    return null;
  }

  // ---- signals ----

  /**
   * SIGINT and SIGTERM at random points of a run (before the handlers exist, while loading, while
   * writing step grids, at the end): the process ends with 130/143 and an interrupted report with
   * the best sample so far, or 0 with a completed one when the run had already finished; nothing is
   * half-written.
   */
  @Test
  void signalsAtRandomPointsLoseNothing() throws Exception {
    Random rnd = new Random(SEED);
    int trials = 8;
    int interrupted = 0;
    for (int t = 0; t < trials; t++) {
      String sig = t % 2 == 0 ? "INT" : "TERM";
      Path root = tmp.resolve("sig" + t);
      Path c = config("sig" + t, root, "delay_ms: 8");
      Path out = tmp.resolve("sig" + t + ".out");
      Path err = tmp.resolve("sig" + t + ".err");
      Process p = start(java("run", "-c", c.toString(), "--progress", "lines"), Map.of(), out, err);
      if (ignores(p.pid(), sig)) {
        sig = "TERM"; // started from a script's background job: SIGINT is ignored on purpose
      }
      long delay = t == 0 ? 50 : rnd.nextInt(2500);
      Thread.sleep(delay);
      kill(p.pid(), sig);
      Proc r = finish(p, out, err);
      INPUTS.incrementAndGet();
      FAULTS.incrementAndGet();
      String what = "SIG" + sig + " after " + delay + " ms: " + r;
      int signalled = 128 + signalNumber(sig);
      assertTrue(r.code() == signalled || r.code() == 0, what);
      assertFalse(r.hasStackTrace(), what);
      List<RunDir> runs = runs(root);
      if (runs.isEmpty()) {
        assertEquals(signalled, r.code(), "no run directory: stopped before the run; " + what);
        continue;
      }
      assertEquals(1, runs.size(), what);
      RunDir run = runs.getFirst();
      assertEquals(r.code() == 0 ? "completed" : "interrupted", run.status(), what);
      if (r.code() == signalled) {
        interrupted++;
        assertEquals("SIG" + sig, run.report().orElseThrow().get("stop_reason").asText(), what);
        assertTrue(
            r.err().contains("stopped by SIG" + sig) && r.err().contains(run.dir().toString()),
            "one line says where the partial results are: " + what);
        boolean scored = run.report().orElseThrow().get("nfe").asLong() > 0;
        assertEquals(scored, Files.exists(run.dir().resolve("best_so_far.png")), what);
      }
    }
    assertTrue(interrupted > 0, "no signal landed during a run");
  }

  /** A second signal stops at once, even while the first one's outputs are being written. */
  @Test
  void aSecondSignalStillKills() throws Exception {
    Path root = tmp.resolve("twice");
    Path c = config("twice", root, "delay_ms: 200", "max_nfe: 2000");
    Path out = tmp.resolve("twice.out");
    Path err = tmp.resolve("twice.err");
    Process p = start(java("run", "-c", c.toString()), Map.of(), out, err);
    waitForReport(root, p);
    kill(p.pid(), "TERM");
    kill(p.pid(), "TERM");
    Proc r = finish(p, out, err);
    INPUTS.incrementAndGet();
    FAULTS.addAndGet(2);
    assertEquals(143, r.code(), r.toString());
    assertTrue(r.err().contains("second signal"), r.toString());
  }

  /**
   * kill -9 leaves status running: the report names the process, and a reader tells a dead run by
   * that process being gone.
   */
  @Test
  void killNineLeavesARunningReportWhoseProcessIsGone() throws Exception {
    Path root = tmp.resolve("nine");
    Path c = config("nine", root, "delay_ms: 50", "max_nfe: 2000");
    Path out = tmp.resolve("nine.out");
    Path err = tmp.resolve("nine.err");
    Process p = start(java("run", "-c", c.toString()), Map.of(), out, err);
    Path dir = waitForReport(root, p);
    Thread.sleep(1500);
    p.destroyForcibly();
    p.waitFor(60, TimeUnit.SECONDS);
    INPUTS.incrementAndGet();
    FAULTS.incrementAndGet();
    RunDir run = check(dir, true);
    JsonNode report = run.report().orElseThrow();
    assertEquals("running", report.get("status").asText());
    assertEquals(p.pid(), report.get("pid").asLong());
    assertTrue(
        ProcessHandle.of(report.get("pid").asLong()).map(h -> !h.isAlive()).orElse(true),
        "the report's process is gone: the run is dead");
  }

  // ---- NaN ----

  /** A model or reward that returns NaN at a chosen call: exit 1, one line, a failed report. */
  @Test
  void nonFiniteModelAndRewardOutputsFailTheRunNamingTheSource() throws Exception {
    String[][] cases = {
      {"nan_at: 0", "the model returned NaN in its velocity for particle 0 at step 0 of 6"},
      {"nan_at: 7\nnan_particle: 1\nnan_value: -inf", "the model returned -Infinity"},
      {"nan_at: 30\nnan_value: inf", "the model returned Infinity"},
      {"reward_nan_at: 0", "the reward returned NaN as its reward for particle 0 at step 0 of 6"},
      {"reward_nan_at: 12", "the reward returned NaN as its reward for particle 0 at step"},
    };
    for (int i = 0; i < cases.length; i++) {
      Path root = tmp.resolve("nan" + i);
      Path c = config("nan" + i, root, cases[i][0]);
      Proc r = exec(java("run", "-c", c.toString(), "--progress", "none"), Map.of());
      INPUTS.incrementAndGet();
      FAULTS.incrementAndGet();
      String what = cases[i][0] + ": " + r;
      assertEquals(1, r.code(), what);
      assertEquals(1, r.err().strip().lines().count(), what);
      assertTrue(r.err().contains(cases[i][1]), what);
      assertFalse(r.hasStackTrace(), what);
      RunDir run = runs(root).getFirst();
      assertEquals("failed", run.status(), what);
      assertTrue(run.report().orElseThrow().get("error").asText().contains(cases[i][1]), what);
      boolean scoredBefore = !cases[i][0].endsWith(": 0");
      assertEquals(scoredBefore, Files.exists(run.dir().resolve("best_so_far.png")), what);
    }
  }

  // ---- a full disk ----

  /**
   * The disk fills at every kind of write: {@code ulimit -f} caps each file's size (the JVM ignores
   * SIGXFSZ, so a write past it fails with "File too large"), stepped so that the failure hits
   * config.yaml, the first report, trace.jsonl, a step grid, the image and the last report in turn.
   * Whatever failed, the process exits 0, 1 or 2 with one line naming the cause, and every file
   * left is whole.
   */
  @Test
  void aFullDiskAtEveryWriteLosesNothing() throws Exception {
    assumeBash();
    int[] limitsKb = {0, 1, 2, 3, 5, 8, 12, 20, 40, 80, 4096};
    int failed = 0;
    for (int kb : limitsKb) {
      Path root = tmp.resolve("disk" + kb);
      Path c = config("disk" + kb, root, "max_nfe: 400");
      List<String> java = java("run", "-c", c.toString(), "--progress", "none");
      // bash's ulimit -f counts KiB; the cap also binds the process's own stdout and stderr, so
      // they go to pipes rather than files.
      StringBuilder line = new StringBuilder("ulimit -f " + kb + "; exec");
      for (String a : java) {
        line.append(" '").append(a.replace("'", "'\\''")).append("'");
      }
      Proc r = execPiped(List.of("bash", "-c", line.toString()));
      INPUTS.incrementAndGet();
      FAULTS.incrementAndGet();
      String what = "files capped at " + kb + " KiB: " + r;
      assertFalse(r.hasStackTrace(), what);
      List<RunDir> runs = runs(root);
      switch (r.code()) {
        case 0 -> assertEquals("completed", runs.getFirst().status(), what);
        case 1 -> {
          failed++;
          assertEquals(1, r.err().strip().lines().count(), what);
          assertTrue(r.err().contains("file too large"), what);
          String status = runs.getFirst().status();
          // The failed report itself may not fit: then the first one stays (its process is gone).
          assertTrue(status.equals("failed") || status.equals("running"), what);
        }
        case 2 -> {
          assertEquals(1, r.err().strip().lines().count(), what);
          assertTrue(r.err().contains("file too large"), what);
          assertTrue(runs.isEmpty(), "nothing ran, nothing is left: " + what);
        }
        default -> fail(what);
      }
    }
    assertTrue(failed >= 3, "the failure moved through the run's writes");
  }

  /** Runs with stdout and stderr on pipes (small outputs only). */
  private static Proc execPiped(List<String> cmd) throws Exception {
    Process p =
        new ProcessBuilder(cmd)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
    String out = readAll(p.getInputStream());
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("timed out: " + cmd);
    }
    return new Proc(p.exitValue(), out, err.get());
  }

  private static String readAll(java.io.InputStream in) {
    try {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void assumeBash() {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        Files.isExecutable(Path.of("/bin/bash")), "no bash for ulimit");
  }

  // ---- unwritable and unloadable inputs ----

  /** An unwritable root_dir exits 2 with the cause, also in a dry run, and creates nothing. */
  @Test
  void anUnwritableRootDirExitsTwoWithTheCause() throws Exception {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    List<String[]> cases = new ArrayList<>();
    cases.add(new String[] {file.resolve("runs").toString(), "not a directory: " + file});
    if (Files.isDirectory(Path.of("/sys"))) {
      cases.add(new String[] {"/sys/flowscale-runs", "/sys/flowscale-runs"});
    }
    boolean root = "root".equals(System.getProperty("user.name"));
    if (!root) {
      Path locked = Files.createDirectory(tmp.resolve("locked"));
      Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
      cases.add(new String[] {locked.resolve("runs").toString(), "permission denied"});
    }
    for (String[] cs : cases) {
      for (boolean dry : new boolean[] {false, true}) {
        Path c = config("unwritable", Path.of(cs[0]));
        List<String> args = new ArrayList<>(List.of("run", "-c", c.toString()));
        if (dry) {
          args.add("--dry-run");
        }
        Proc r = exec(java(args.toArray(String[]::new)), Map.of());
        INPUTS.incrementAndGet();
        FAULTS.incrementAndGet();
        String what = cs[0] + (dry ? " (dry run)" : "") + ": " + r;
        assertEquals(2, r.code(), what);
        assertEquals(1, r.err().strip().lines().count(), what);
        assertTrue(r.err().startsWith("flowscale: root_dir '" + cs[0] + "'"), what);
        assertTrue(r.err().contains(cs[1]), what);
        assertTrue(Files.notExists(Path.of(cs[0])), what);
      }
    }
  }

  /** A corrupt .pt or a missing native library: nothing ran, exit 2 with the cause. */
  @Test
  void unloadableModelsExitTwoWithTheCause() throws Exception {
    Path junk = Files.writeString(tmp.resolve("junk.pt"), "not a TorchScript archive");
    Path c = EndToEndIT.ROOT.resolve("config/torchscript/rbf.yaml");
    String shim =
        System.getProperty(
            "flowscale.shim",
            EndToEndIT.ROOT.resolve("native/build/libflowscale_shim.so").toString());
    List<String[]> cases = new ArrayList<>();
    cases.add(new String[] {tmp.resolve("missing.so").toString(), "cannot find the flowscale"});
    if (Files.isRegularFile(Path.of(shim))) {
      cases.add(new String[] {shim, "PytorchStreamReader failed reading zip archive"});
    }
    for (String[] cs : cases) {
      for (boolean dry : new boolean[] {false, true}) {
        List<String> args =
            new ArrayList<>(
                List.of(
                    "run",
                    "-c",
                    c.toString(),
                    "model_path=" + junk,
                    "reward_path=" + junk,
                    "root_dir=" + tmp.resolve("torch")));
        if (dry) {
          args.add("--dry-run");
        }
        Proc r = exec(java(args.toArray(String[]::new)), Map.of("FLOWSCALE_SHIM", cs[0]));
        INPUTS.incrementAndGet();
        FAULTS.incrementAndGet();
        String what = cs[0] + (dry ? " (dry run)" : "") + ": " + r;
        assertEquals(2, r.code(), what);
        assertTrue(r.err().startsWith("flowscale: model 'torchscript' failed to load: "), what);
        assertTrue(r.err().contains(cs[1]) && r.err().contains("(nothing ran)"), what);
        assertEquals(1, r.err().strip().lines().count(), what);
        assertTrue(Files.notExists(tmp.resolve("torch")), what);
      }
    }
  }

  // ---- the ranges' corners ----

  /**
   * The strongest settings the ranges allow, on every diffusion shape and path and on coarse and
   * fine grids, on the toy world (sharply concentrated data: the stiffest case): each runs to the
   * end or is refused before any work (SamplerStability), never overflowing during the run. Found
   * diffusion_norm 100 on 40 steps overflowing within the range.
   */
  @Test
  void theRangesCornersRunOrAreRefusedBeforeAnyWork() throws Exception {
    Path c = Files.writeString(tmp.resolve("corners.yaml"), "text_prompt: one red circle\n");
    String[] shapes = {"sigma", "constant", "sin", "linear", "square", "clipping", "exp", "tan"};
    int ran = 0;
    for (String norm : new String[] {"10", "100"}) {
      for (String shape : shapes) {
        for (String path : new String[] {"convert_scheduler=vp", "convert_scheduler=null"}) {
          for (int steps : new int[] {2, 40}) {
            boolean dps = shape.equals("square") || shape.equals("tan");
            Cli r =
                Cli.run(
                    "run",
                    "-c",
                    c.toString(),
                    "--progress",
                    "none",
                    "--",
                    "model=toy",
                    "reward_score=" + (dps ? "aesthetic" : "counting"),
                    "filtering_method=" + (dps ? "rbf_dps" : "bon"),
                    "batch_size=2",
                    "init_n_particles=2",
                    "max_nfe=" + (dps ? 4 + 2 * steps : 2 * steps),
                    "max_steps=" + steps,
                    "diffusion_norm=" + norm,
                    "diffusion_coefficient=" + shape,
                    "exp_diff_coeff_sigma=1000000",
                    "dps_step_size=10",
                    path,
                    "root_dir='" + tmp.resolve("corners") + "'");
            INPUTS.incrementAndGet();
            String what = norm + " " + shape + " " + path + " " + steps + " steps: " + r;
            assertFalse(r.hasStackTrace(), what);
            assertTrue(r.code() == 0 || r.code() == 2, what);
            ran += r.code() == 0 ? 1 : 0;
          }
        }
      }
    }
    assertTrue(ran > 10, ran + " ran");
    for (RunDir run : runs(tmp.resolve("corners"))) {
      assertEquals("completed", run.status(), run.dir().toString());
    }
  }

  // ---- the numeric fuzz ----

  /**
   * Every numeric key: the schema's (from {@link FlowscaleConfig#commonKeys}, so a key added later
   * is fuzzed too) and the test model's and the toy world's own.
   */
  private static final String[] NUMERIC_KEYS = numericKeys();

  private static String[] numericKeys() {
    List<String> keys = new ArrayList<>();
    for (FlowscaleConfig.KeyInfo k : FlowscaleConfig.commonKeys()) {
      if (k.expected().startsWith("a whole number") || k.expected().startsWith("a number")) {
        keys.add(k.name());
      }
    }
    assertTrue(
        keys.containsAll(List.of("max_nfe", "diffusion_norm", "cfg_scale")), keys.toString());
    keys.addAll(
        List.of("mean", "variance", "target", "beta", "noise_std", "n_templates", "template_seed"));
    return keys.toArray(String[]::new);
  }

  private static final String[] METHODS = {
    "bon", "smc", "code", "svdd", "rbf", "sop", "dps", "svdd_dps", "rbf_dps"
  };

  /** Extremes, boundaries and random magnitudes, as YAML text. */
  private static String randomNumber(Random rnd) {
    String[] special = {
      "0",
      "-0.0",
      "1",
      "-1",
      "2",
      "0.5",
      "1e-300",
      "1e300",
      ".nan",
      ".inf",
      "-.inf",
      "100",
      "100.000001",
      "10",
      "10.5",
      "1e-6",
      "9.9e-7",
      "16777216",
      "16777217",
      "65536",
      "65537",
      "100000",
      "100001",
      "2147483647",
      "2147483648",
      "-2147483649",
      "9223372036854775807",
      "99999999999999999999",
      "1000000000000000",
      "1000000000000001",
      "1e15",
      "336",
      "16384"
    };
    return switch (rnd.nextInt(4)) {
      case 0 -> special[rnd.nextInt(special.length)];
      case 1 ->
          Long.toString((long) Math.pow(10, rnd.nextDouble() * 18) * (rnd.nextBoolean() ? 1 : -1));
      case 2 ->
          Double.toString(Math.pow(10, rnd.nextDouble() * 40 - 20) * (rnd.nextBoolean() ? 1 : -1));
      default -> Integer.toString(rnd.nextInt(64));
    };
  }

  /** A valid small run of each method that the fuzzed values then change. */
  private static List<String> base(String method, boolean toy, Path root) {
    List<String> o = new ArrayList<>();
    o.add("filtering_method=" + method);
    o.add("root_dir='" + root + "'");
    o.add("max_steps=4");
    o.add("deadline_s=2");
    o.add("save_now=true");
    switch (method) {
      case "rbf", "rbf_dps" ->
          o.addAll(List.of("batch_size=2", "init_n_particles=3", "max_nfe=30"));
      case "code", "svdd", "svdd_dps" ->
          o.addAll(List.of("batch_size=2", "n_particles=3", "max_nfe=24"));
      case "sop" ->
          o.addAll(
              List.of(
                  "batch_size=2",
                  "n_particles=3",
                  "max_nfe=14",
                  "ode_step=1",
                  "ode_seed_t=60",
                  "forward_step=780",
                  "backward_step=810"));
      default -> o.addAll(List.of("batch_size=4", "max_nfe=16"));
    }
    if (method.equals("code")) {
      o.add("block_size=2");
    }
    if (toy) {
      o.addAll(
          List.of(
              "model=toy", "reward_score=" + (method.contains("dps") ? "aesthetic" : "counting")));
    } else {
      o.addAll(List.of("model=test_gaussian", "reward_score=test_norm"));
    }
    return o;
  }

  /**
   * Random values for every numeric key, one or two keys at a time over every method, on the test
   * model and on the toy world: each run exits 0 (a finished or deadline-stopped run with a whole
   * directory) or 2 (refused with one line), never 1 and never with a stack trace.
   */
  @Test
  void randomNumbersForEveryKeyNeverCrashARun() throws Exception {
    Random rnd = new Random(SEED + 1);
    Path config = Files.writeString(tmp.resolve("fuzz.yaml"), "text_prompt: one red circle\n");
    int ran = 0;
    int refused = 0;
    int inputs = Integer.getInteger("flowscale.fuzz.inputs", 400);
    for (int i = 0; i < inputs; i++) {
      String method = METHODS[rnd.nextInt(METHODS.length)];
      boolean toy = rnd.nextInt(4) == 0;
      Path root = tmp.resolve("fuzz").resolve(Integer.toString(i));
      List<String> args =
          new ArrayList<>(List.of("run", "-c", config.toString(), "--progress", "none", "--"));
      args.addAll(base(method, toy, root));
      int keys = rnd.nextInt(3) == 0 ? 2 : 1;
      List<String> fuzzed = new ArrayList<>();
      for (int k = 0; k < keys; k++) {
        String key = NUMERIC_KEYS[rnd.nextInt(NUMERIC_KEYS.length)];
        if (toy && (key.equals("mean") || key.equals("variance") || key.equals("target"))) {
          key = "beta";
        }
        if (!toy
            && (key.equals("beta")
                || key.equals("noise_std")
                || key.startsWith("n_templates")
                || key.equals("template_seed"))) {
          key = "mean";
        }
        fuzzed.add(key + "=" + randomNumber(rnd));
        if (key.equals("scheduler_n")) {
          fuzzed.add("convert_scheduler=polynomial");
        }
      }
      args.addAll(fuzzed);
      Cli r = Cli.run(args.toArray(String[]::new));
      INPUTS.incrementAndGet();
      String what = method + (toy ? " (toy) " : " ") + fuzzed + ": " + r;
      assertFalse(r.hasStackTrace(), what);
      if (r.code() == 2) {
        refused++;
        assertTrue(r.err().startsWith("flowscale: "), what);
        assertFalse(Files.exists(root), "a refused run wrote nothing: " + what);
        continue;
      }
      assertEquals(0, r.code(), what);
      ran++;
      List<RunDir> runs = runs(root);
      assertEquals(1, runs.size(), what);
      String status = runs.getFirst().status();
      assertTrue(status.equals("completed") || status.equals("cancelled"), what);
    }
    assertTrue(ran > inputs / 10 && refused > inputs / 10, ran + " ran, " + refused + " refused");
    System.out.printf(
        "[flowscale] numeric fuzz: %d inputs, %d ran, %d refused%n", inputs, ran, refused);
  }
}
