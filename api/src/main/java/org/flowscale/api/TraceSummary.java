package org.flowscale.api;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.flowscale.engine.search.TraceEntry;

/**
 * A bounded summary of a trace of any length, for reports: the count of each event and the running
 * best reward against NFE, thinned by halves so it keeps fewer than {@code 2 *} {@value
 * #CURVE_POINTS} points.
 */
final class TraceSummary {
  /** Points kept of the best-reward curve: thinned by halves past twice this. */
  static final int CURVE_POINTS = 64;

  private final Map<TraceEntry.Event, Long> events = new EnumMap<>(TraceEntry.Event.class);
  private double best = Double.NEGATIVE_INFINITY;
  private final List<List<Number>> curve = new ArrayList<>();
  private int curveStride = 1;
  private int improvements;

  void add(TraceEntry e) {
    events.merge(e.event(), 1L, Long::sum);
    if (e.reward() > best) {
      best = e.reward();
      // The running best, thinned to a bounded curve: keep every curveStride-th improvement.
      if (improvements++ % curveStride == 0) {
        curve.add(List.of(e.nfe(), e.reward()));
        if (curve.size() >= 2 * CURVE_POINTS) {
          List<List<Number>> half = new ArrayList<>();
          for (int i = 0; i < curve.size(); i += 2) {
            half.add(curve.get(i));
          }
          curve.clear();
          curve.addAll(half);
          curveStride *= 2;
        }
      }
    }
  }

  /** {@code events} (each event's count) and {@code best_reward_by_nfe} ([nfe, reward] pairs). */
  Map<String, Object> map() {
    Map<String, Object> m = new LinkedHashMap<>();
    Map<String, Long> ev = new LinkedHashMap<>();
    for (TraceEntry.Event e : TraceEntry.Event.values()) {
      ev.put(e.name().toLowerCase(Locale.ROOT), events.getOrDefault(e, 0L));
    }
    m.put("events", ev);
    m.put("best_reward_by_nfe", List.copyOf(curve));
    return m;
  }
}
