package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's JFR events, end to end: a recording started in-process (as {@code jcmd JFR.start}
 * would) sees every model call, reward call, round and search of a generation, with rows that add
 * up to the NFE the result reports.
 */
class FlightRecorderEventsTest {
  @TempDir Path tmp;

  @Test
  void aGenerationRecordsModelCallsRewardCallsRoundsAndTheSearch() throws Exception {
    GenerationResult result;
    Path file = tmp.resolve("flowscale.jfr");
    long thread = Thread.currentThread().threadId();
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build();
        Recording recording = new Recording()) {
      for (String e : List.of("ModelCall", "RewardCall", "Round", "Search")) {
        recording.enable("flowscale." + e).withoutThreshold();
      }
      recording.start();
      result =
          p.generate(
              GenerationRequest.builder()
                  .prompt("two blue squares")
                  .method("smc")
                  .chains(4)
                  .steps(5)
                  .maxNfe(20)
                  .seed(3)
                  .build());
      recording.stop();
      recording.dump(file);
    }
    assertEquals(RunStatus.COMPLETED, result.status());
    assertEquals(20, result.nfe(), "SMC spends B S = 4 x 5");
    List<RecordedEvent> events =
        RecordingFile.readAllEvents(file).stream()
            .filter(e -> e.getThread() != null && e.getThread().getJavaThreadId() == thread)
            .toList();

    List<RecordedEvent> modelCalls = named(events, "flowscale.ModelCall");
    assertEquals(5, modelCalls.size(), "one batched model call per step");
    long rows = 0;
    for (RecordedEvent e : modelCalls) {
      assertEquals("smc", e.getString("method"));
      assertEquals(4, e.getInt("rows"), "a call evaluates the 4 particles");
      assertFalse(e.getBoolean("gradient"));
      assertEquals(4, e.getLong("callNfe"), "one NFE per row without guidance");
      rows += e.getInt("rows");
      assertEquals(rows, e.getLong("nfe"), "nfe so far");
      assertFalse(e.getDuration().isNegative());
    }
    assertEquals(result.nfe(), rows, "model call rows add up to the NFE the result reports");

    List<RecordedEvent> rewardCalls = named(events, "flowscale.RewardCall");
    assertFalse(rewardCalls.isEmpty());
    long scored = rewardCalls.stream().mapToLong(e -> e.getInt("rows")).sum();
    assertEquals(result.search().orElseThrow().rewardCalls(), scored);
    assertEquals("counting", rewardCalls.getFirst().getString("reward"));

    List<RecordedEvent> rounds = named(events, "flowscale.Round");
    assertEquals(modelCalls.size(), rounds.size(), "a round starts at each model call");
    for (int i = 0; i < rounds.size(); i++) {
      assertEquals(i, rounds.get(i).getInt("round"));
      assertEquals(4, rounds.get(i).getInt("rows"));
    }
    assertEquals(result.nfe(), rounds.getLast().getLong("nfe"));

    List<RecordedEvent> searches = named(events, "flowscale.Search");
    assertEquals(1, searches.size());
    RecordedEvent search = searches.getFirst();
    assertEquals("smc", search.getString("method"));
    assertEquals("completed", search.getString("outcome"));
    assertEquals(result.nfe(), search.getLong("nfe"));
    assertEquals(20, search.getLong("maxNfe"));
    assertEquals(4, search.getInt("batch"));
    assertTrue(search.getLong("particleBytes") > 0);
  }

  @Test
  void underGuidanceAModelCallSpendsTwoNfePerRow() throws Exception {
    GenerationResult result;
    Path file = tmp.resolve("guided.jfr");
    long thread = Thread.currentThread().threadId();
    try (Pipeline p = Pipeline.builder().model("test_gaussian").reward("test_norm").build();
        Recording recording = new Recording()) {
      recording.enable("flowscale.ModelCall").withoutThreshold();
      recording.start();
      result =
          p.generate(
              GenerationRequest.builder()
                  .prompt("p")
                  .method("bon")
                  .chains(2)
                  .steps(3)
                  .maxNfe(12)
                  .guidance(3.0, "q")
                  .build());
      recording.stop();
      recording.dump(file);
    }
    assertEquals(12, result.nfe(), "BoN: B S x 2 under guidance");
    List<RecordedEvent> calls =
        named(
            RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getThread() != null && e.getThread().getJavaThreadId() == thread)
                .toList(),
            "flowscale.ModelCall");
    assertEquals(3, calls.size());
    long spent = 0;
    for (RecordedEvent e : calls) {
      assertEquals(2, e.getInt("rows"));
      assertEquals(4, e.getLong("callNfe"), "two velocity evaluations per row");
      spent += e.getLong("callNfe");
      assertEquals(spent, e.getLong("nfe"), "nfe so far");
    }
    assertEquals(result.nfe(), spent, "the calls' NFE add up to the result's");
  }

  private static List<RecordedEvent> named(List<RecordedEvent> events, String name) {
    return events.stream()
        .filter(e -> e.getEventType().getName().equals(name))
        .sorted(java.util.Comparator.comparing(RecordedEvent::getStartTime))
        .toList();
  }
}
