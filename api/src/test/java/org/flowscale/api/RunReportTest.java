package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.OffsetDateTime;
import java.util.List;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.search.TimeSplit;
import org.flowscale.engine.search.TraceEntry;
import org.junit.jupiter.api.Test;

class RunReportTest {
  @Test
  void reportHoldsTheRunsFactsAndValidJson() throws Exception {
    RunSettings s =
        ConfigResolver.resolve(
            ConfigYaml.loadDocument(
                "text_prompt: p\nmodel: test_gaussian\nreward_score: test_norm\nseed: 9\n", "t"),
            "t",
            List.of());
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
        RunReport.json(
            s, r, "cpu", OffsetDateTime.now(), 3_000_000_000L, List.of("config.yaml", "final.png"));
    JsonNode n = new ObjectMapper().readTree(json);
    assertEquals("rbf", n.get("method").asText());
    assertEquals("p", n.get("text_prompt").asText());
    assertEquals(9, n.get("seed").asLong());
    assertEquals(500, n.get("max_nfe").asLong());
    assertEquals(480, n.get("nfe").asLong());
    assertEquals(-0.25, n.get("best_reward").asDouble());
    assertEquals(0.436, n.get("output_time").asDouble());
    assertEquals(2.75, n.get("time_seconds").get("search_total").asDouble(), 1e-9);
    assertEquals(3.0, n.get("time_seconds").get("wall").asDouble(), 1e-9);
    assertEquals(2, n.get("reward_trace").size());
    assertTrue(n.get("reward_trace").get(0).get("reward").isNull(), "-inf is written as null");
    assertEquals("final", n.get("reward_trace").get(1).get("event").asText());
    assertEquals(Flowscale.VERSION, n.get("versions").get("flowscale").asText());
    assertTrue(n.get("versions").get("java").asText().startsWith("25"), json);
  }
}
