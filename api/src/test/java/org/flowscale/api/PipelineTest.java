package org.flowscale.api;

import static org.flowscale.api.testing.TestFiles.files;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
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
            "config.yaml",
            "final.png",
            "report.json",
            "steps/step_000.png",
            "steps/step_001.png",
            "trace.jsonl"),
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
  void guidanceAndTheRewardBatchSizeAreCheckedRequestKeys() {
    GenerationRequest plain = GenerationRequest.builder().prompt("a").build();
    assertEquals(1.0, plain.cfgScale());
    assertFalse(plain.guided());
    assertEquals("", plain.negativePrompt());
    assertEquals(GenerationRequest.DEFAULT_REWARD_BATCH_SIZE, plain.rewardBatchSize());
    GenerationRequest g =
        plain.toBuilder().guidance(4.5, null).rewardBatchSize(2).build().toBuilder().build();
    assertEquals(4.5, g.cfgScale());
    assertTrue(g.guided());
    assertEquals("", g.negativePrompt(), "null is the empty prompt");
    assertEquals(2, g.rewardBatchSize());
    assertEquals(4.5, g.keys().get("cfg_scale"));
    assertEquals(
        GenerationRequest.DEFAULT_REWARD_BATCH_SIZE,
        g.toBuilder().rewardBatchSize(null).build().rewardBatchSize());
    var e =
        assertThrows(
            ConfigurationException.class, () -> plain.toBuilder().rewardBatchSize(0).build());
    assertTrue(e.getMessage().contains("reward_batch_size"), e.getMessage());
    e =
        assertThrows(
            ConfigurationException.class, () -> plain.toBuilder().guidance(101, "b").build());
    assertTrue(e.getMessage().contains("cfg_scale"), e.getMessage());
    e =
        assertThrows(
            ConfigurationException.class,
            () -> plain.toBuilder().guidance(Double.NaN, null).build());
    assertTrue(e.getMessage().contains("cfg_scale"), e.getMessage());
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
    try (Pipeline p = Pipeline.builder().model("test_gaussian").reward("test_norm").build()) {
      GenerationRequest r = GenerationRequest.builder().prompt("p").method("bon").build();
      var bad = r.toBuilder().set("height", 64).build();
      e = assertThrows(ConfigurationException.class, () -> p.generate(bad));
      assertTrue(e.getMessage().contains("makes 2x2 images"), e.getMessage());
      e = assertThrows(ConfigurationException.class, () -> p.check(bad));
      assertTrue(e.getMessage().contains("makes 2x2 images"), e.getMessage());
      assertEquals(
          RunStatus.COMPLETED,
          p.generate(r.toBuilder().set("height", 2).set("width", 2).build()).status(),
          "a request may repeat the model's size");
      assertEquals(1, p.metrics().failed());
    }
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
    assertTrue(e.getMessage().contains("max_nfe: got the whole number 0"), e.getMessage());
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

  /** A listener that notes the NFE spent and cancels once it reaches {@code at}. */
  private static SearchListener cancelAt(long at, Cancellation cancel, AtomicLong lastNfe) {
    return new SearchListener() {
      @Override
      public void onProgress(long nfe, long maxNfe) {
        lastNfe.set(nfe);
        if (nfe >= at) {
          cancel.cancel();
        }
      }
    };
  }

  @Test
  void aCancelledRunReturnsTheBestSoFar() {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
      Cancellation cancel = new Cancellation();
      AtomicLong lastNfe = new AtomicLong();
      SearchListener l = cancelAt(100, cancel, lastNfe);
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

  /**
   * Best-of-N scores only at the end: a run cancelled before that spent NFE and scored nothing. It
   * reported 0 NFE (and the metrics left it out); the result, the report and the counters now say
   * what it spent.
   */
  @Test
  void aRunStoppedBeforeAnyScoreStillCountsItsNfe() throws Exception {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
      Cancellation cancel = new Cancellation();
      AtomicLong lastNfe = new AtomicLong();
      SearchListener l = cancelAt(12, cancel, lastNfe);
      GenerationRequest r =
          GenerationRequest.builder()
              .prompt("two blue squares")
              .method("bon")
              .chains(4)
              .steps(10)
              .maxNfe(40)
              .build();
      GenerationResult g = p.generate(r, l, cancel);
      assertEquals(RunStatus.CANCELLED, g.status());
      assertTrue(g.search().isEmpty(), "nothing was scored: " + g);
      assertEquals(lastNfe.get(), g.nfe());
      assertTrue(g.nfe() >= 12 && g.nfe() < 40, "nfe " + g.nfe());
      assertEquals(g.nfe(), p.metrics().nfe());
      FlowscaleConfig c =
          FlowscaleConfig.of(
              Map.of(
                  "text_prompt", "two blue squares",
                  "filtering_method", "bon",
                  "batch_size", 4,
                  "max_steps", 10,
                  "max_nfe", 40));
      JsonNode report = new ObjectMapper().readTree(RunOutputs.report(c, g));
      assertEquals(g.nfe(), report.get("nfe").asLong(), report.toString());
      assertTrue(report.get("best_reward").isNull(), report.toString());
    }
  }

  /**
   * A model that plans (FLUX) is dry-run without loading it; the reward is loaded, and a gradient
   * method on a reward without a gradient was passed as valid, then refused by the run. The dry run
   * now refuses it with the run's message.
   */
  @Test
  void aPlannedDryRunRefusesAGradientMethodOnARewardWithoutOne() {
    Map<String, Object> keys =
        Map.of(
            "text_prompt",
            "x",
            "model",
            "test_gaussian",
            "plan",
            true,
            "reward_score",
            "test_flat",
            "filtering_method",
            "dps",
            "batch_size",
            2,
            "max_steps",
            5,
            "max_nfe",
            10);
    FlowscaleConfig c = FlowscaleConfig.of(keys);
    ConfigurationException dry =
        assertThrows(ConfigurationException.class, () -> Pipeline.dryRun(c, c.request()));
    assertTrue(
        dry.getMessage().startsWith("dps needs a differentiable reward, and 'test_flat' is not"),
        dry.getMessage());
    ConfigurationException run =
        assertThrows(
            ConfigurationException.class,
            () -> {
              try (Pipeline p = Pipeline.fromConfig(c)) {
                p.generate(c.request());
              }
            });
    assertEquals(run.getMessage(), dry.getMessage(), "the dry run says what the run would");

    Map<String, Object> differentiable = new java.util.HashMap<>(keys);
    differentiable.put("reward_score", "test_norm");
    FlowscaleConfig ok = FlowscaleConfig.of(differentiable);
    assertEquals(List.of("test_gaussian: planned"), Pipeline.dryRun(ok, ok.request()));
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
          List.of("best_so_far.png", "config.yaml", "report.json", "trace.jsonl"),
          files(tmp.resolve("runs/f")));
      JsonNode report = new ObjectMapper().readTree(tmp.resolve("runs/f/report.json").toFile());
      assertEquals("failed", report.get("status").asText());
      assertTrue(report.get("error").asText().contains("test model failed on purpose"));
      assertEquals(8, report.get("nfe").asLong());
      assertEquals(1, p.metrics().failed());
    }
  }

  @Test
  void closeWaitsForARunningGenerationToFinish() throws Exception {
    Pipeline p = Pipeline.builder().model("toy").reward("counting").build();
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    SearchListener gate =
        new SearchListener() {
          @Override
          public void onProgress(long nfe, long maxNfe) {
            if (nfe >= 100 && running.getCount() > 0) {
              running.countDown();
              try {
                release.await();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          }
        };
    GenerationRequest r =
        GenerationRequest.builder().prompt("two blue squares").maxNfe(200).seed(1).build();
    GenerationResult[] out = new GenerationResult[1];
    Throwable[] failure = new Throwable[1];
    Thread generation =
        new Thread(
            () -> {
              try {
                out[0] = p.generate(r, gate);
              } catch (Throwable t) {
                failure[0] = t;
              }
            });
    generation.start();
    running.await();
    Thread closer = new Thread(p::close);
    closer.start();
    // close() blocks while the generation holds its slot (bounded wait for it to get there)
    for (int i = 0;
        i < 6000 && closer.isAlive() && closer.getState() != Thread.State.WAITING;
        i++) {
      Thread.sleep(5);
    }
    assertEquals(Thread.State.WAITING, closer.getState(), "close waits for the generation");
    assertThrows(IllegalStateException.class, () -> p.generate(r), "closing refuses new work");
    release.countDown();
    generation.join();
    closer.join();
    assertEquals(null, failure[0], "the running generation was not closed under");
    assertEquals(RunStatus.COMPLETED, out[0].status());
    assertEquals(200, out[0].nfe());
  }

  @Test
  void aCallWaitingForASlotHonoursItsInterruptAndItsDeadline() throws Exception {
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").concurrency(1).build()) {
      CountDownLatch holding = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      SearchListener hold =
          new SearchListener() {
            @Override
            public void onProgress(long nfe, long maxNfe) {
              if (holding.getCount() > 0) {
                holding.countDown();
                try {
                  release.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }
            }
          };
      GenerationRequest r =
          GenerationRequest.builder().prompt("two blue squares").maxNfe(100).seed(2).build();
      Thread holder = new Thread(() -> p.generate(r, hold));
      holder.start();
      holding.await(); // the only slot is taken

      GenerationResult[] out = new GenerationResult[2];
      boolean[] flag = new boolean[1];
      Thread waiter =
          new Thread(
              () -> {
                out[0] = p.generate(r);
                flag[0] = Thread.currentThread().isInterrupted();
              });
      waiter.start();
      for (int i = 0; i < 6000 && waiter.getState() != Thread.State.WAITING; i++) {
        Thread.sleep(5);
      }
      waiter.interrupt();
      waiter.join();
      assertEquals(RunStatus.INTERRUPTED, out[0].status());
      assertTrue(out[0].search().isEmpty(), "nothing ran");
      assertTrue(flag[0], "the interrupt flag is kept");

      // a deadline counts the wait for a slot: it passes before the run can start
      Thread late =
          new Thread(
              () -> out[1] = p.generate(r.toBuilder().deadline(Duration.ofMillis(1)).build()));
      late.start();
      for (int i = 0; i < 6000 && late.getState() != Thread.State.WAITING; i++) {
        Thread.sleep(5);
      }
      Thread.sleep(5); // past the 1 ms deadline while still waiting
      release.countDown();
      late.join();
      holder.join();
      assertEquals(RunStatus.CANCELLED, out[1].status());
      assertEquals("deadline", out[1].stopReason().orElseThrow());
      assertEquals(0, out[1].nfe(), "stopped before its first model call");
      PipelineMetrics m = p.metrics();
      assertEquals(3, m.requests());
      assertEquals(1, m.completed());
      assertEquals(1, m.interrupted());
      assertEquals(1, m.cancelled());
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
