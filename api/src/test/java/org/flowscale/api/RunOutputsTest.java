package org.flowscale.api;

import static org.flowscale.api.testing.TestFiles.files;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.TraceEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 14: run directories that tell a finished run from a dead one and lose nothing. */
class RunOutputsTest {
  @TempDir Path tmp;
  private static final LocalDateTime NOW = LocalDateTime.of(2026, 11, 30, 21, 0, 0);
  private static final ObjectMapper JSON = new ObjectMapper();

  private FlowscaleConfig config(String... overrides) {
    String yaml =
        "text_prompt: p\nmodel: test_gaussian\nreward_score: test_norm\nfiltering_method: rbf\n"
            + "batch_size: 2\ninit_n_particles: 3\nmax_nfe: 60\nmax_steps: 4\nsave_now: false\n"
            + "root_dir: '"
            + tmp.resolve("runs")
            + "'\n";
    return FlowscaleConfig.parse(yaml, "t", List.of(overrides), true);
  }

  @Test
  void theReportSaysRunningFromTheStartAndIsReplacedAtTheEnd() throws Exception {
    FlowscaleConfig c = config("tag=a", "reward_weight=2");
    try (Pipeline p = Pipeline.fromConfig(c)) {
      RunOutputs out = RunOutputs.create(c, p.sampleSpace(), NOW);
      Path report = out.directory().resolve("report.json");
      JsonNode running = JSON.readTree(report.toFile());
      assertEquals("running", running.get("status").asText());
      assertEquals(ProcessHandle.current().pid(), running.get("pid").asLong());
      assertTrue(running.hasNonNull("host") && running.hasNonNull("process_started_at"));
      assertEquals(
          "reward_weight 2.0 is ignored by rbf (only smc read it)",
          running.get("warnings").get(0).asText());
      assertEquals(List.of("config.yaml", "report.json", "trace.jsonl"), files(out.directory()));

      List<TraceEntry> seen = new ArrayList<>();
      GenerationResult r =
          p.generate(
              c.request(),
              out.listener(
                  new SearchListener() {
                    @Override
                    public void onTrace(TraceEntry e) {
                      seen.add(e);
                    }
                  }));
      out.complete(r);
      JsonNode done = JSON.readTree(report.toFile());
      assertEquals("completed", done.get("status").asText());
      assertTrue(done.hasNonNull("finished_at"));
      assertEquals(running.get("started_at"), done.get("started_at"));
      List<String> lines = Files.readAllLines(out.directory().resolve("trace.jsonl"));
      assertEquals(seen.size(), lines.size(), "the whole trace is in trace.jsonl");
      assertEquals(seen.size(), done.get("trace").get("entries").asInt());
      assertEquals("final", JSON.readTree(lines.getLast()).get("event").asText());
      assertEquals(seen.getLast().nfe(), JSON.readTree(lines.getLast()).get("nfe").asLong());
      JsonNode curve = done.get("trace").get("best_reward_by_nfe");
      assertTrue(
          curve.size() > 0 && curve.size() < 2 * TraceSummary.CURVE_POINTS, curve.toString());
      assertEquals(
          List.of("config.yaml", "final.png", "report.json", "trace.jsonl"),
          files(out.directory()));
    }
  }

  /** Files.createTempFile makes 0600 files and the rename kept the mode: a mix with 0644. */
  @Test
  void everyFileGetsTheUsersUmask() throws Exception {
    FlowscaleConfig c = config("tag=m", "save_intermediate=true");
    Path probe = Files.createFile(tmp.resolve("probe"));
    Set<PosixFilePermission> umask = Files.getPosixFilePermissions(probe);
    try (Pipeline p = Pipeline.fromConfig(c)) {
      RunOutputs out = RunOutputs.create(c, p.sampleSpace(), NOW);
      out.complete(p.generate(c.request(), out.listener(null)));
      List<String> all = files(out.directory());
      assertTrue(all.contains("steps/step_000.png") && all.contains("final.png"), all.toString());
      for (String f : all) {
        assertEquals(
            umask, Files.getPosixFilePermissions(out.directory().resolve(f)), f + " has the umask");
      }
    }
  }

  /**
   * RBF writes a grid per round: the names are padded to the budget's width, so they sort in run
   * order past step 999.
   */
  @Test
  void stepGridNamesSortInRunOrder() throws Exception {
    FlowscaleConfig c = config("tag=s", "save_intermediate=true", "max_nfe=1200");
    try (Pipeline p = Pipeline.fromConfig(c)) {
      RunOutputs out = RunOutputs.create(c, p.sampleSpace(), NOW);
      out.complete(p.generate(c.request(), out.listener(null)));
      List<String> steps;
      try (Stream<Path> s = Files.list(out.directory().resolve("steps"))) {
        steps = s.map(f -> f.getFileName().toString()).toList();
      }
      assertTrue(steps.size() > 500, "one grid per round: " + steps.size());
      assertEquals(out.stepGrids(), steps.size());
      assertTrue(steps.contains("step_0000.png") && steps.contains("step_0100.png"), "padded");
      assertTrue(steps.stream().allMatch(n -> n.length() == "step_0000.png".length()));
      assertTrue(ImageIO.read(out.directory().resolve("steps/step_0000.png").toFile()) != null);
      JsonNode report = JSON.readTree(out.directory().resolve("report.json").toFile());
      assertEquals(steps.size(), report.get("step_grids").asInt());
      assertFalse(report.get("files").toString().contains("steps/"), "grids counted, not listed");
    }
  }

  @Test
  void anInterruptStopsWithTheBestSoFarAndStatusInterrupted() throws Exception {
    FlowscaleConfig c = config("tag=i", "max_nfe=600");
    try (Pipeline p = Pipeline.fromConfig(c)) {
      RunOutputs out = RunOutputs.create(c, p.sampleSpace(), NOW);
      Cancellation stop = new Cancellation();
      GenerationResult r =
          p.generate(
              c.request(),
              out.listener(
                  new SearchListener() {
                    @Override
                    public void onProgress(long nfe, long max) {
                      if (nfe >= 20) {
                        stop.interrupt("SIGTERM");
                      }
                    }
                  }),
              stop);
      out.complete(r);
      assertEquals(RunStatus.INTERRUPTED, r.status());
      JsonNode report = JSON.readTree(out.directory().resolve("report.json").toFile());
      assertEquals("interrupted", report.get("status").asText());
      assertEquals("SIGTERM", report.get("stop_reason").asText());
      assertTrue(report.get("nfe").asLong() < 600);
      assertTrue(Files.exists(out.directory().resolve("best_so_far.png")));
      assertFalse(Files.exists(out.directory().resolve("final.png")));
    }
  }

  /** Issue 14: a model returning NaN ended with exit 0, "best reward NaN" and a grey image. */
  @Test
  void aNanFromTheModelFailsTheRunNamingStepParticleAndModel() throws Exception {
    FlowscaleConfig c = config("tag=n", "nan_at=3", "nan_particle=1", "nan_value=inf");
    try (Pipeline p = Pipeline.fromConfig(c)) {
      RunOutputs out = RunOutputs.create(c, p.sampleSpace(), NOW);
      ModelException e =
          assertThrows(ModelException.class, () -> p.generate(c.request(), out.listener(null)));
      assertTrue(
          e.getMessage()
              .matches(
                  "model 'test_gaussian' failed: the model returned Infinity in its velocity for"
                      + " particle 1 at step [0-9]+ of 4 \\(t = [0-9.]+\\), model call 4 after"
                      + " [0-9]+ NFE"),
          e.getMessage());
      out.fail(e, p.backend());
      JsonNode report = JSON.readTree(out.directory().resolve("report.json").toFile());
      assertEquals("failed", report.get("status").asText());
      assertTrue(report.get("error").asText().contains("particle 1"), report.toString());
      assertTrue(Files.exists(out.directory().resolve("best_so_far.png")), "scored before");
    }
  }

  @Test
  void aNanFromTheRewardFailsTheRunNamingTheReward() {
    FlowscaleConfig c = config("tag=r", "reward_nan_at=2");
    try (Pipeline p = Pipeline.fromConfig(c)) {
      RewardException e = assertThrows(RewardException.class, () -> p.generate(c.request()));
      assertTrue(
          e.getMessage().startsWith("reward 'test_norm' failed: the reward returned NaN"),
          e.getMessage());
      assertTrue(e.getMessage().contains("for particle 0 at step "), e.getMessage());
    }
  }

  @Test
  void anUnwritableRootDirIsAConfigurationErrorNamingTheCause() throws Exception {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    FlowscaleConfig c = config("root_dir='" + file.resolve("runs") + "'");
    var e = assertThrows(ConfigurationException.class, () -> RunOutputs.checkRootDir(c));
    assertTrue(e.getMessage().contains("not a directory: " + file), e.getMessage());
    try (Pipeline p = Pipeline.fromConfig(c)) {
      var e2 =
          assertThrows(
              ConfigurationException.class, () -> RunOutputs.create(c, p.sampleSpace(), NOW));
      assertTrue(e2.getMessage().contains("cannot make the run directory"), e2.getMessage());
      assertTrue(e2.getMessage().contains(file.toString()), e2.getMessage());
    }
    // Virtual file systems refuse directories even to root.
    FlowscaleConfig sys = config("root_dir=/sys/flowscale-runs");
    var e3 = assertThrows(ConfigurationException.class, () -> RunOutputs.checkRootDir(sys));
    assertTrue(
        e3.getMessage().contains("operation not permitted")
            || e3.getMessage().contains("permission denied"),
        e3.getMessage());
    assertTrue(Files.notExists(Path.of("/sys/flowscale-runs")));
    RunOutputs.checkRootDir(config());
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(1, s.count(), "a check leaves nothing behind: " + files(tmp));
    }
  }
}
