package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.SearchMethod;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.search.TimeSplit;
import org.flowscale.engine.search.TraceEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run path with a scripted search method: what lands in the run directory, and when. */
class RunnerTest {
  @TempDir Path tmp;

  private static final LocalDateTime NOW = LocalDateTime.of(2026, 11, 27, 21, 0, 0);

  /** A method that reports progress and steps, then returns a fixed sample (or fails). */
  private record Scripted(boolean fail, String refusal) implements SearchMethod {
    @Override
    public FilteringMethod id() {
      return FilteringMethod.BON;
    }

    @Override
    public void validate(SearchConfig config) {
      if (refusal != null) {
        throw new IllegalArgumentException(refusal);
      }
    }

    @Override
    public SearchResult run(
        SearchConfig config,
        ParticleOps ops,
        VelocityModel model,
        Reward reward,
        SearchListener listener) {
      for (int step = 0; step < 3; step++) {
        listener.onProgress((step + 1) * 10L, config.maxNfe());
        if (listener.wantsIntermediates()) {
          listener.onStep(step, 1 - step / 3.0, new float[12 * 4], 4, new double[4]);
        }
        if (fail && step == 1) {
          throw new IllegalStateException("the model broke");
        }
      }
      float[] sample = {1, -1, -1, 1, -1, -1, 1, -1, -1, 1, -1, -1};
      return new SearchResult(
          FilteringMethod.BON,
          sample,
          sample,
          -0.5,
          0,
          30,
          config.maxNfe(),
          0,
          30,
          List.of(new TraceEntry(2, 0, 0.0, -0.5, TraceEntry.Event.FINAL, 30)),
          new TimeSplit(1, 2, 3));
    }
  }

  private RunSettings settings(String... overrides) {
    String yaml =
        "text_prompt: p\nmodel: test_gaussian\nreward_score: test_norm\nfiltering_method: bon\n"
            + "root_dir: '"
            + tmp.resolve("runs")
            + "'\n";
    return ConfigResolver.resolve(
        ConfigYaml.loadDocument(yaml, "t"), "t", Overrides.parse(List.of(overrides)));
  }

  private static List<String> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .map(p -> dir.relativize(p).toString())
          .sorted()
          .toList();
    }
  }

  @Test
  void aRunWritesConfigImageAndReport() throws Exception {
    RunSettings s = settings("save_intermediate=true", "max_nfe=40", "tag=t");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Runner.Outcome o;
    try (Runner r = Runner.prepare(s, new Scripted(false, null));
        Progress p =
            Progress.create(
                Progress.Mode.LINES, new PrintStream(err, true, StandardCharsets.UTF_8), 40)) {
      o = r.run(s.rootDir(), NOW, p);
    }
    assertEquals(tmp.resolve("runs/t_20261127-210000"), o.directory());
    assertEquals(
        List.of(
            "config.yaml",
            "final.png",
            "report.json",
            "steps/step_000.png",
            "steps/step_001.png",
            "steps/step_002.png"),
        files(o.directory()));
    BufferedImage img = ImageIO.read(o.directory().resolve("final.png").toFile());
    assertEquals(0xff0000, img.getRGB(0, 0) & 0xffffff);
    JsonNode report = new ObjectMapper().readTree(o.directory().resolve("report.json").toFile());
    assertEquals(30, report.get("nfe").asLong());
    assertEquals(40, report.get("max_nfe").asLong());
    assertEquals("bon", report.get("method").asText());
    assertEquals(6, report.get("files").size());
    RunSettings again =
        ConfigResolver.resolve(
            ConfigYaml.loadDocument(
                Files.readString(o.directory().resolve("config.yaml")), "config.yaml"),
            "config.yaml",
            List.of());
    assertEquals(s.search(), again.search(), "config.yaml repeats the run");
    String lines = err.toString(StandardCharsets.UTF_8);
    assertTrue(lines.contains("NFE 10/40 (25%)") && lines.contains("NFE 30/40 (75%)"), lines);
  }

  @Test
  void aRefusalByTheMethodComesBeforeAnyOutput() {
    RunSettings s = settings();
    var e =
        assertThrows(
            CliException.ConfigError.class,
            () -> Runner.prepare(s, new Scripted(false, "B K S = 600 > max_nfe = 500")));
    assertEquals("B K S = 600 > max_nfe = 500", e.getMessage());
    assertTrue(Files.notExists(tmp.resolve("runs")), "no run directory for a refused config");
  }

  @Test
  void aGradientMethodNeedsADifferentiableReward() {
    RunSettings s = settings("reward_score=test_flat", "filtering_method=dps");
    var e =
        assertThrows(
            CliException.ConfigError.class, () -> Runner.prepare(s, new Scripted(false, null)));
    assertTrue(e.getMessage().contains("is not differentiable"), e.getMessage());
  }

  @Test
  void anImageSizeThatIsNotTheModelsIsRefused() {
    RunSettings s = settings("height=64");
    var e =
        assertThrows(
            CliException.ConfigError.class, () -> Runner.prepare(s, new Scripted(false, null)));
    assertTrue(e.getMessage().contains("makes 2x2 images"), e.getMessage());
  }

  @Test
  void aFailureDuringTheRunIsARunFailure() throws Exception {
    RunSettings s = settings("tag=f", "save_now=false");
    try (Runner r = Runner.prepare(s, new Scripted(true, null));
        Progress p = Progress.create(Progress.Mode.NONE, System.err, 500)) {
      var e = assertThrows(CliException.RunFailure.class, () -> r.run(s.rootDir(), NOW, p));
      assertEquals(
          "IllegalStateException: the model broke (what was written so far is in "
              + tmp.resolve("runs/f")
              + ")",
          e.getMessage());
    }
    // The directory holds the config but no final outputs, and no temporary files.
    assertEquals(List.of("config.yaml"), files(tmp.resolve("runs/f")));
  }
}
