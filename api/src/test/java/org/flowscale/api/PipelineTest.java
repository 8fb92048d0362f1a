package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.flowscale.api.testing.TestModelFactory;
import org.flowscale.engine.search.SearchListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The library API: pipelines built once, requests, control, errors and run outputs. */
class PipelineTest {
  @TempDir Path tmp;

  private static final LocalDateTime NOW = LocalDateTime.of(2026, 11, 30, 21, 0, 0);

  private FlowscaleConfig config(String... overrides) {
    String yaml =
        "text_prompt: p\nmodel: test_gaussian\nreward_score: test_norm\nfiltering_method: bon\n"
            + "root_dir: '"
            + tmp.resolve("runs")
            + "'\n";
    return FlowscaleConfig.parse(yaml, "t", List.of(overrides), true);
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
  void aRunWritesConfigImageReportAndStepGrids() throws Exception {
    FlowscaleConfig c = config("save_intermediate=true", "max_steps=2", "tag=t");
    RunOutputs out;
    GenerationResult r;
    try (Pipeline p = Pipeline.fromConfig(c)) {
      out = RunOutputs.create(c, p.sampleSpace(), NOW);
      r = p.generate(c.request(), out.listener(null));
      out.complete(r);
    }
    assertEquals(RunStatus.COMPLETED, r.status());
    assertEquals(tmp.resolve("runs/t_20261130-210000"), out.directory());
    assertEquals(
        List.of(
            "config.yaml", "final.png", "report.json", "steps/step_000.png", "steps/step_001.png"),
        files(out.directory()));
    BufferedImage img = ImageIO.read(out.directory().resolve("final.png").toFile());
    assertEquals(256, img.getWidth(), "2x2 images are upscaled to be viewable");
    JsonNode report = new ObjectMapper().readTree(out.directory().resolve("report.json").toFile());
    assertEquals("completed", report.get("status").asText());
    assertEquals(4, report.get("nfe").asLong(), "BoN: B S = 2 x 2");
    assertEquals("bon", report.get("method").asText());
    assertEquals(r.reward(), report.get("best_reward").asDouble());
    FlowscaleConfig again = FlowscaleConfig.load(out.directory().resolve("config.yaml"), List.of());
    assertEquals(c.search(), again.search(), "config.yaml repeats the run");
    assertEquals(2, r.image().orElseThrow().height());
  }

  @Test
  void aBudgetTheMethodRefusesIsRefusedBeforeAnyOutput() {
    FlowscaleConfig c = config("batch_size=100", "max_nfe=500");
    var e = assertThrows(ConfigurationException.class, c::request);
    assertTrue(e.getMessage().contains("max_nfe"), e.getMessage());
    assertTrue(Files.notExists(tmp.resolve("runs")), "no run directory for a refused config");
  }

  @Test
  void guidanceCostsTwoNfePerEvaluationAndNeedsAPromptConditionedModel() {
    GenerationRequest plain =
        GenerationRequest.builder().prompt("a").method("bon").chains(2).steps(3).maxNfe(12).build();
    GenerationRequest guided = plain.toBuilder().guidance(3.0, "b").build();
    assertTrue(guided.guided());
    assertEquals(2, guided.search().nfePerEvaluation());
    try (Pipeline p = Pipeline.builder().model("test_gaussian").reward("test_norm").build()) {
      assertEquals(6, p.generate(plain).nfe());
      assertEquals(12, p.generate(guided).nfe());
    }
    try (Pipeline p =
        Pipeline.builder()
            .model("test_gaussian", Map.of("prompt_free", true))
            .reward("test_norm")
            .build()) {
      var e = assertThrows(ConfigurationException.class, () -> p.generate(guided));
      assertTrue(e.getMessage().contains("ignores prompts"), e.getMessage());
    }
    var e =
        assertThrows(
            ConfigurationException.class,
            () -> plain.toBuilder().set("negative_prompt", "b").build());
    assertTrue(e.getMessage().contains("cfg_scale is 1"), e.getMessage());
  }

  @Test
  void aGradientMethodNeedsADifferentiableReward() {
    FlowscaleConfig c = config("reward_score=test_flat", "filtering_method=dps");
    try (Pipeline p = Pipeline.fromConfig(c)) {
      var e = assertThrows(ConfigurationException.class, () -> p.generate(c.request()));
      assertTrue(e.getMessage().contains("needs a differentiable reward"), e.getMessage());
      assertEquals(1, p.metrics().failed());
    }
  }

  @Test
  void anImageSizeThatIsNotTheModelsIsRefused() {
    var e =
        assertThrows(ConfigurationException.class, () -> Pipeline.fromConfig(config("height=64")));
    assertTrue(e.getMessage().contains("makes 2x2 images"), e.getMessage());
  }

  @Test
  void unknownNamesAndBadSettingsAreConfigurationErrors() {
    var e =
        assertThrows(ConfigurationException.class, () -> Pipeline.builder().model("nope").build());
    assertTrue(e.getMessage().contains("unknown model 'nope'"), e.getMessage());
    e =
        assertThrows(
            ConfigurationException.class,
            () -> Pipeline.builder().model("toy", Map.of("beta", -1.0)).build());
    assertTrue(e.getMessage().startsWith("model 'toy': beta must be in"), e.getMessage());
    e =
        assertThrows(
            ConfigurationException.class, () -> Pipeline.builder().backend("cpu:x").build());
    assertTrue(e.getMessage().contains("ordinal"), e.getMessage());
    try (Pipeline p = Pipeline.builder().build()) {
      var bad = GenerationRequest.builder().prompt("one purple circle").maxNfe(100).build();
      e = assertThrows(ConfigurationException.class, () -> p.generate(bad));
      assertTrue(e.getMessage().startsWith("model 'toy': prompt"), e.getMessage());
      assertTrue(e.getMessage().contains("unknown colour 'purple'"), e.getMessage());
    }
  }

  @Test
  void requestsAreCheckedLikeConfigs() {
    var e =
        assertThrows(
            ConfigurationException.class,
            () -> GenerationRequest.builder().prompt("p").maxNfe(0).build());
    assertTrue(e.getMessage().contains("max_nfe must be > 0"), e.getMessage());
    e =
        assertThrows(
            ConfigurationException.class, () -> GenerationRequest.builder().set("model", "toy"));
    assertTrue(e.getMessage().contains("belongs to the pipeline"), e.getMessage());
    e =
        assertThrows(
            ConfigurationException.class,
            () -> GenerationRequest.builder().prompt("p").set("max_nef", 3).build());
    assertTrue(e.getMessage().contains("did you mean 'max_nfe'?"), e.getMessage());
    e = assertThrows(ConfigurationException.class, () -> GenerationRequest.builder().build());
    assertTrue(e.getMessage().contains("text_prompt must be set"), e.getMessage());
    GenerationRequest r = GenerationRequest.builder().prompt("p").build();
    assertEquals(500, r.search().maxNfe(), "the defaults are a config file's");
    assertEquals("rbf", r.search().method().configName());
  }

  @Test
  void onePipelineServesManyPromptsAndLoadsItsModelOnce() {
    long before = TestModelFactory.LOADS.get();
    List<GenerationResult> shared = new ArrayList<>();
    try (Pipeline p = Pipeline.builder().model("test_gaussian").reward("test_norm").build()) {
      for (String prompt : List.of("first", "second", "first")) {
        shared.add(p.generate(request(prompt, 3)));
      }
      assertEquals(3, p.metrics().completed());
      assertEquals(3 * 20, p.metrics().nfe());
    }
    assertEquals(1, TestModelFactory.LOADS.get() - before, "the model is loaded once");
    // The same requests on fresh pipelines (as separate runs would do) give the same results.
    for (int i = 0; i < 3; i++) {
      try (Pipeline fresh = Pipeline.builder().model("test_gaussian").reward("test_norm").build()) {
        GenerationResult alone = fresh.generate(shared.get(i).request());
        assertArrayEquals(shared.get(i).sample().orElseThrow(), alone.sample().orElseThrow());
        assertEquals(shared.get(i).reward(), alone.reward());
      }
    }
  }

  private static GenerationRequest request(String prompt, long seed) {
    return GenerationRequest.builder()
        .prompt(prompt)
        .method("bon")
        .chains(2)
        .steps(10)
        .maxNfe(20)
        .seed(seed)
        .build();
  }

  @Test
  void concurrentGenerationsGiveTheSameResultsAsSequentialOnes() throws Exception {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").concurrency(2).build()) {
      List<GenerationRequest> reqs = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        reqs.add(
            GenerationRequest.builder()
                .prompt(i % 2 == 0 ? "one red circle" : "two blue squares")
                .maxNfe(120)
                .seed(i)
                .build());
      }
      List<GenerationResult> sequential = new ArrayList<>();
      for (GenerationRequest r : reqs) {
        sequential.add(p.generate(r));
      }
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<GenerationResult>> futures = new ArrayList<>();
        for (GenerationRequest r : reqs) {
          futures.add(pool.submit(() -> p.generate(r)));
        }
        for (int i = 0; i < reqs.size(); i++) {
          GenerationResult c = futures.get(i).get();
          assertArrayEquals(sequential.get(i).sample().orElseThrow(), c.sample().orElseThrow());
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(8, p.metrics().completed());
      assertEquals(0, p.metrics().active());
    }
  }

  @Test
  void aCancelledRunReturnsTheBestSoFar() {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
      Cancellation cancel = new Cancellation();
      AtomicLong lastNfe = new AtomicLong();
      SearchListener l =
          new SearchListener() {
            @Override
            public void onProgress(long nfe, long maxNfe) {
              lastNfe.set(nfe);
              if (nfe >= 100) {
                cancel.cancel();
              }
            }
          };
      GenerationRequest r =
          GenerationRequest.builder().prompt("two blue squares").maxNfe(500).build();
      GenerationResult g = p.generate(r, l, cancel);
      assertEquals(RunStatus.CANCELLED, g.status());
      assertEquals("cancelled", g.stopReason().orElseThrow());
      assertEquals(lastNfe.get(), g.nfe(), "stopped before the next model call");
      assertTrue(g.nfe() >= 100 && g.nfe() < 500, "nfe " + g.nfe());
      assertTrue(Double.isFinite(g.reward()), "the best so far is kept");
      assertTrue(g.image().isPresent());
      assertEquals(1, p.metrics().cancelled());
    }
  }

  @Test
  void aDeadlineIsHonouredWithinOneRound() {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
      Duration deadline = Duration.ofMillis(150);
      List<Long> calls = new ArrayList<>();
      long start = System.nanoTime();
      SearchListener slow =
          new SearchListener() {
            @Override
            public void onProgress(long nfe, long maxNfe) {
              calls.add(System.nanoTime() - start);
              try {
                Thread.sleep(10); // every round takes at least 10 ms
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          };
      GenerationRequest r =
          GenerationRequest.builder()
              .prompt("two blue squares")
              .maxNfe(100_000)
              .steps(10)
              .deadline(deadline)
              .build();
      GenerationResult g = p.generate(r, slow);
      assertEquals(RunStatus.CANCELLED, g.status());
      assertEquals("deadline", g.stopReason().orElseThrow());
      long late = calls.stream().filter(t -> t > deadline.toNanos()).count();
      assertTrue(late <= 1, "model calls that finished after the deadline: " + late);
      assertTrue(g.nfe() < 100_000);
    }
  }

  @Test
  void anInterruptStopsTheRunAndKeepsTheFlag() throws Exception {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
      GenerationRequest r =
          GenerationRequest.builder().prompt("two blue squares").maxNfe(500).build();
      SearchListener l =
          new SearchListener() {
            @Override
            public void onProgress(long nfe, long maxNfe) {
              if (nfe >= 100) {
                Thread.currentThread().interrupt();
              }
            }
          };
      GenerationResult[] out = new GenerationResult[1];
      boolean[] flag = new boolean[1];
      Thread t =
          new Thread(
              () -> {
                out[0] = p.generate(r, l);
                flag[0] = Thread.currentThread().isInterrupted();
              });
      t.start();
      t.join();
      assertEquals(RunStatus.INTERRUPTED, out[0].status());
      assertTrue(flag[0], "the interrupt flag is kept for the caller");
      assertTrue(out[0].nfe() < 500);
    }
  }

  @Test
  void aFailureDuringTheRunCarriesTheBestSoFarAndIsWrittenAsFailed() throws Exception {
    FlowscaleConfig c =
        config("filtering_method=smc", "fail_after=4", "tag=f", "save_now=false", "max_nfe=40");
    try (Pipeline p = Pipeline.fromConfig(c)) {
      RunOutputs out = RunOutputs.create(c, p.sampleSpace(), NOW);
      var e = assertThrows(ModelException.class, () -> p.generate(c.request()));
      assertEquals("test_gaussian", e.model());
      assertTrue(e.getMessage().contains("test model failed on purpose"), e.getMessage());
      GenerationResult partial = e.partial().orElseThrow();
      assertEquals(RunStatus.FAILED, partial.status());
      assertEquals(8, partial.nfe(), "SMC scored 4 rounds of 2 particles before the failure");
      out.fail(e, p.backend());
      assertEquals(
          List.of("best_so_far.png", "config.yaml", "report.json"), files(tmp.resolve("runs/f")));
      JsonNode report = new ObjectMapper().readTree(tmp.resolve("runs/f/report.json").toFile());
      assertEquals("failed", report.get("status").asText());
      assertTrue(report.get("error").asText().contains("test model failed on purpose"));
      assertEquals(8, report.get("nfe").asLong());
      assertEquals(1, p.metrics().failed());
    }
  }

  @Test
  void aClosedPipelineRefusesWork() {
    Pipeline p = Pipeline.builder().build();
    p.close();
    p.close();
    assertThrows(
        IllegalStateException.class,
        () -> p.generate(GenerationRequest.builder().prompt("one red circle").build()));
    assertFalse(p.metrics().active() > 0);
  }
}
