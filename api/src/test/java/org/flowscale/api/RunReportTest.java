package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.search.TimeSplit;
import org.flowscale.engine.search.TraceEntry;
import org.junit.jupiter.api.Test;

class RunReportTest {
  private static RunSettings settings() {
    return ConfigResolver.resolve(
        ConfigYaml.loadDocument(
            "text_prompt: p\nmodel: test_gaussian\nreward_score: test_norm\nseed: 9\n", "t"),
        "t",
        List.of());
  }

  @Test
  void reportHoldsTheRunsFactsAndValidJson() throws Exception {
    SearchResult r =
        new SearchResult(
            FilteringMethod.RBF,
            new float[12],
            new float[12],
            -0.25,
            0.436,
            480,
            500,
            0,
            530,
            List.of(
                new TraceEntry(0, 1, 1.0, Double.NEGATIVE_INFINITY, TraceEntry.Event.PROPOSED, 50),
                new TraceEntry(9, 1, 0.0, -0.25, TraceEntry.Event.FINAL, 480)),
            new TimeSplit(2_000_000_000L, 500_000_000L, 250_000_000L));
    String json =
        new RunReport(settings(), OffsetDateTime.now())
            .status(RunStatus.COMPLETED, null, null)
            .result(r, r.nfe(), "cpu", 3_000_000_000L)
            .trace(Map.of("file", "trace.jsonl", "entries", 2))
            .files(List.of("config.yaml", "final.png"), 3)
            .finished(OffsetDateTime.now())
            .json();
    JsonNode n = new ObjectMapper().readTree(json);
    assertEquals("completed", n.get("status").asText());
    assertEquals("rbf", n.get("method").asText());
    assertEquals("p", n.get("text_prompt").asText());
    assertEquals(9, n.get("seed").asLong());
    assertEquals(500, n.get("max_nfe").asLong());
    assertEquals(480, n.get("nfe").asLong());
    assertEquals(-0.25, n.get("best_reward").asDouble());
    assertEquals(0.436, n.get("output_time").asDouble());
    assertEquals(2.75, n.get("time_seconds").get("search_total").asDouble(), 1e-9);
    assertEquals(3.0, n.get("time_seconds").get("wall").asDouble(), 1e-9);
    assertEquals(2, n.get("trace").get("entries").asInt());
    assertFalse(n.has("reward_trace"), "the trace is in trace.jsonl, not the report");
    assertEquals(3, n.get("step_grids").asInt());
    assertEquals(ProcessHandle.current().pid(), n.get("pid").asLong());
    assertTrue(n.hasNonNull("host") && n.hasNonNull("finished_at"), json);
    assertEquals(Flowscale.VERSION, n.get("versions").get("flowscale").asText());
    assertTrue(n.get("versions").get("java").asText().startsWith("25"), json);
  }

  /** A report written at the start says running and names the process that runs the run. */
  @Test
  void aRunningReportNamesItsProcess() throws Exception {
    JsonNode n =
        new ObjectMapper()
            .readTree(
                new RunReport(settings(), OffsetDateTime.now()).warnings(List.of("w")).json());
    assertEquals("running", n.get("status").asText());
    assertEquals(ProcessHandle.current().pid(), n.get("pid").asLong());
    assertEquals(
        ProcessHandle.current().info().startInstant().orElseThrow().toString(),
        n.get("process_started_at").asText());
    assertFalse(n.has("finished_at"));
    assertEquals("w", n.get("warnings").get(0).asText());
    assertTrue(n.get("best_reward").isNull());
  }
}
