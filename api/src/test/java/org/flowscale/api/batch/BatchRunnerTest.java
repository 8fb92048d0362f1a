package org.flowscale.api.batch;

import static org.flowscale.api.testing.TestFiles.files;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.testing.TestModelFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Running a plan: item directories, done markers, resuming, workers, stopping, failures. */
class BatchRunnerTest {
  @TempDir Path tmp;

  private BatchPlan plan(String... overrides) throws IOException {
    Path p = tmp.resolve("p.txt");
    Files.writeString(p, "a\nb\nc\nd\ne\n");
    return BatchPlan.create(
        BatchPlanTest.config(overrides), PromptFile.read(p), BatchPlan.parseSeeds("0..1"));
  }

  /** What a summary says, leaving out the wall times. */
  private static List<String> results(BatchSummary s) {
    return s.rows().stream()
        .map(
            r ->
                r.id()
                    + " "
                    + r.status()
                    + " "
                    + r.nfe()
                    + " "
                    + Double.doubleToRawLongBits(r.reward()))
        .toList();
  }

  @Test
  void everyItemGetsItsDirectoryAndIsMarkedDone() throws Exception {
    BatchPlan plan = plan();
    Path out = tmp.resolve("out");
    BatchOutcome o = BatchRunner.builder(plan, out).build().run();
    assertEquals(10, o.shardItems());
    assertEquals(10, o.done());
    assertTrue(o.complete());
    BatchItem first = plan.items().get(0);
    assertEquals(
        List.of("config.yaml", "done.json", "final.png", "item.json", "report.json", "trace.jsonl"),
        files(out.resolve("items").resolve(first.id())));
    FlowscaleConfig again =
        FlowscaleConfig.load(
            out.resolve("items").resolve(first.id()).resolve("config.yaml"), List.of());
    assertEquals(first.config().search(), again.search(), "the item's config.yaml repeats it");
    assertEquals(10, o.summary().rows().size());
    assertTrue(o.summary().rows().stream().allMatch(r -> r.status().equals("completed")));
    assertEquals(4, o.summary().rows().get(0).nfe(), "BoN spends B S = 4");
    for (String f : List.of("summary.csv", "summary_methods.csv", "summary.json")) {
      assertTrue(Files.exists(out.resolve(f)), f);
    }
    assertFalse(Files.exists(out.resolve("reward_vs_nfe.png")), "one budget: no plot");
  }

  @Test
  void aRerunSkipsDoneItemsWithoutLoadingAnything() throws Exception {
    BatchPlan plan = plan();
    Path out = tmp.resolve("out");
    BatchOutcome first = BatchRunner.builder(plan, out).build().run();
    Path marker = out.resolve("items").resolve(plan.items().get(3).id()).resolve("done.json");
    FileTime before = Files.getLastModifiedTime(marker);
    long loads = TestModelFactory.LOADS.get();
    BatchOutcome second = BatchRunner.builder(plan, out).build().run();
    assertEquals(10, second.skipped());
    assertEquals(0, second.done());
    assertTrue(second.complete());
    assertEquals(loads, TestModelFactory.LOADS.get(), "nothing to do: no model loaded");
    assertEquals(before, Files.getLastModifiedTime(marker), "done items are never redone");
    assertEquals(results(first.summary()), results(second.summary()));
  }

  @Test
  void whatAnUnfinishedAttemptLeftIsClearedAndRedone() throws Exception {
    BatchPlan plan = plan();
    BatchSummary reference = BatchRunner.builder(plan, tmp.resolve("ref")).build().run().summary();

    // A crash: two items done, one half-written (no done marker), the rest never started.
    Path out = tmp.resolve("out");
    BatchRunner.builder(plan, out).shard(new Shard(0, 5)).build().run(); // items 0 and 5
    BatchItem half = plan.items().get(1);
    Path dir = Files.createDirectories(out.resolve("items").resolve(half.id()));
    Files.writeString(dir.resolve("config.yaml"), "half");
    Files.writeString(dir.resolve("final.png"), "half a png");
    BatchSummary crashed = BatchSummary.read(out);
    assertEquals("incomplete", crashed.rows().get(1).status());
    assertEquals("pending", crashed.rows().get(2).status());
    assertEquals(2, crashed.counts().get("completed"));

    BatchOutcome resumed = BatchRunner.builder(plan, out).build().run();
    assertEquals(2, resumed.skipped());
    assertEquals(8, resumed.done());
    assertEquals(results(reference), results(resumed.summary()), "same as an uninterrupted run");
    assertFalse(Files.readString(dir.resolve("config.yaml")).equals("half"));
  }

  @Test
  void twoWorkersShareTheItemsAndGiveTheResultsOfOne() throws Exception {
    BatchPlan plan = plan();
    BatchSummary one = BatchRunner.builder(plan, tmp.resolve("one")).build().run().summary();
    Set<String> workers = ConcurrentHashMap.newKeySet();
    List<String> started = java.util.Collections.synchronizedList(new ArrayList<>());
    BatchListener l =
        new BatchListener() {
          @Override
          public void onItemStart(String worker, BatchItem item) {
            workers.add(worker);
            started.add(item.id());
          }
        };
    BatchOutcome two =
        BatchRunner.builder(plan, tmp.resolve("two"))
            .workers(List.of("cpu", "cpu"))
            .listener(l)
            .build()
            .run();
    assertEquals(10, two.done());
    assertEquals(10, started.size());
    assertEquals(10, Set.copyOf(started).size(), "no item ran twice");
    assertEquals(Set.of("cpu#0", "cpu#1"), workers, "both workers took items");
    assertEquals(results(one), results(two.summary()));
  }

  @Test
  void shardsRunSeparatelyCoverEveryItemOnce() throws Exception {
    BatchPlan plan = plan();
    Path out = tmp.resolve("out");
    int ran = 0;
    for (int i = 0; i < 3; i++) {
      ran += BatchRunner.builder(plan, out).shard(new Shard(i, 3)).build().run().done();
    }
    assertEquals(10, ran);
    BatchSummary s = BatchSummary.read(out);
    assertEquals(10, s.counts().get("completed"));
    ObjectMapper json = new ObjectMapper();
    for (BatchItem item : plan.items()) {
      String shard =
          json.readTree(out.resolve("items").resolve(item.id()).resolve("done.json").toFile())
              .get("shard")
              .asText();
      assertEquals((item.position() % 3) + "/3", shard, item.id());
    }
  }

  @Test
  void stopLeavesTheRestNotDoneForTheNextRun() throws Exception {
    BatchPlan plan = plan();
    Path out = tmp.resolve("out");
    BatchRunner[] runner = new BatchRunner[1];
    runner[0] =
        BatchRunner.builder(plan, out)
            .listener(
                new BatchListener() {
                  @Override
                  public void onItemEnd(String worker, BatchItem item, ItemRow row) {
                    runner[0].stop("test");
                  }
                })
            .build();
    BatchOutcome o = runner[0].run();
    assertTrue(o.stopped());
    assertEquals(1, o.done());
    assertEquals(9, o.notDone());
    assertFalse(o.complete());
    assertEquals(9, o.summary().counts().get("pending"));
    BatchOutcome rest = BatchRunner.builder(plan, out).build().run();
    assertEquals(9, rest.done());
  }

  /**
   * Issue 14: an item stopped mid-run (a preemption) says so in its report as a signalled run does:
   * status interrupted with the reason, not cancelled (which is a run's own deadline).
   */
  @Test
  void anItemStoppedMidRunReportsInterrupted() throws Exception {
    BatchPlan plan = plan();
    Path out = tmp.resolve("out");
    BatchRunner[] runner = new BatchRunner[1];
    String[] stopped = new String[1];
    runner[0] =
        BatchRunner.builder(plan, out)
            .listener(
                new BatchListener() {
                  @Override
                  public void onItemProgress(String worker, BatchItem item, long nfe, long maxNfe) {
                    if (nfe > 0 && stopped[0] == null) {
                      stopped[0] = item.id();
                      runner[0].stop("preempted");
                    }
                  }
                })
            .build();
    BatchOutcome o = runner[0].run();
    assertTrue(o.stopped());
    var report =
        new ObjectMapper()
            .readTree(out.resolve("items").resolve(stopped[0]).resolve("report.json").toFile());
    assertEquals("interrupted", report.get("status").asText(), report.toString());
    assertEquals("preempted", report.get("stop_reason").asText(), report.toString());
    assertEquals(
        "interrupted",
        o.summary().rows().stream()
            .filter(r -> r.id().equals(stopped[0]))
            .findFirst()
            .orElseThrow()
            .status());
  }

  @Test
  void aFailedItemIsKeptWithItsErrorAndNotMarkedDone() throws Exception {
    BatchPlan plan = plan("fail_after=1");
    Path out = tmp.resolve("out");
    BatchOutcome o = BatchRunner.builder(plan, out).build().run();
    assertEquals(10, o.failed());
    assertEquals(0, o.done());
    assertFalse(o.complete());
    ItemRow r = o.summary().rows().get(0);
    assertEquals("failed", r.status());
    assertTrue(r.error().contains("test model failed on purpose"), r.error());
    Path dir = out.resolve("items").resolve(r.id());
    assertFalse(Files.exists(dir.resolve("done.json")));
    assertTrue(Files.readString(dir.resolve("report.json")).contains("\"failed\""));
    assertTrue(Files.readString(out.resolve("summary.csv")).contains(",failed,"));
  }

  @Test
  void aWorkerBackendThatCannotLoadRefusesBeforeAnyItem() throws Exception {
    BatchPlan plan = plan();
    Path out = tmp.resolve("out");
    BatchRunner r = BatchRunner.builder(plan, out).workers(List.of("cpu", "nope:0")).build();
    String m = assertThrows(ConfigurationException.class, r::run).getMessage();
    assertTrue(m.startsWith("worker nope:0: unknown backend 'nope'"), m);
    assertEquals(
        List.of(),
        BatchSummary.read(out).rows().stream().filter(x -> !x.status().equals("pending")).toList());
  }

  @Test
  void aCudaWorkerMovesACudaModelToItsDevice() {
    Map<String, Object> cpuModel = Map.of("backend", "cpu", "device", "cpu");
    assertEquals(List.of("backend=\"cuda:1\""), BatchRunner.workerOverrides(cpuModel, "cuda:1"));
    Map<String, Object> cudaModel = Map.of("device", "cuda", "reward_device", "cuda:0");
    assertEquals(
        List.of("backend=\"cuda:2\"", "device=\"cuda:2\"", "reward_device=\"cuda:2\""),
        BatchRunner.workerOverrides(cudaModel, "cuda:2"));
    assertEquals(List.of("backend=\"cpu\""), BatchRunner.workerOverrides(cudaModel, "cpu"));
    assertEquals(List.of("cuda:0", "cuda:1"), BatchRunner.workerNames(List.of("cuda:0", "cuda:1")));
    assertEquals(List.of("cpu#0", "cpu#1"), BatchRunner.workerNames(List.of("cpu", "cpu")));
  }
}
