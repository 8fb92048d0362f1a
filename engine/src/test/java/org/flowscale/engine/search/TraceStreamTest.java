package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * Issue 14: a run's in-memory trace grew with its budget (806 MB of heap at 200k NFE). The whole
 * trace now streams through {@link SearchListener#onTrace}; the result keeps a bounded part.
 */
class TraceStreamTest {
  @Test
  void theWholeTraceStreamsAndTheResultKeepsABoundedPart() {
    List<TraceEntry> streamed = new ArrayList<>();
    SearchListener l = collecting(streamed);
    // RBF, 2 chains: one round per 2 NFE, so 40k NFE make about 40k trace entries.
    SearchConfig c =
        Fixtures.config(FilteringMethod.RBF, 2, 1, 1, 5, 40_000, 10, Fixtures.SCHEMES.get(0));
    SearchResult r;
    try (CpuParticleOps ops = new CpuParticleOps()) {
      r =
          SearchMethods.of(FilteringMethod.RBF)
              .run(c, ops, Fixtures.gaussian(2), new Fixtures.Quadratic(new float[2]), l);
    }
    assertTrue(streamed.size() > 20_000, "entries streamed: " + streamed.size());
    assertEquals(TraceBuffer.LIMIT, r.trace().size(), "kept in memory");
    assertEquals(streamed.subList(0, TraceBuffer.LIMIT / 2), r.trace().subList(0, 4096));
    assertEquals(
        streamed.subList(streamed.size() - TraceBuffer.LIMIT / 2, streamed.size()),
        r.trace().subList(4096, TraceBuffer.LIMIT));
    assertEquals(TraceEntry.Event.FINAL, r.trace().getLast().event());
  }

  @Test
  void aSmallRunKeepsItsWholeTrace() {
    List<TraceEntry> streamed = new ArrayList<>();
    SearchListener l = collecting(streamed);
    SearchConfig c =
        Fixtures.config(FilteringMethod.SMC, 4, 1, 1, 1, 40, 10, Fixtures.SCHEMES.get(2));
    try (CpuParticleOps ops = new CpuParticleOps()) {
      SearchResult r =
          SearchMethods.of(FilteringMethod.SMC)
              .run(c, ops, Fixtures.gaussian(3), new Fixtures.Quadratic(new float[3]), l);
      assertEquals(streamed, r.trace());
    }
  }

  /** A listener that adds every trace entry to {@code into}. */
  private static SearchListener collecting(List<TraceEntry> into) {
    return new SearchListener() {
      @Override
      public void onTrace(TraceEntry e) {
        into.add(e);
      }
    };
  }
}
