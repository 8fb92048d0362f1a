package org.flowscale.engine.search;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The part of a run's trace kept in memory: every entry up to {@link #LIMIT}, beyond that the first
 * and the last {@code LIMIT / 2}, so a run of any budget holds a bounded trace (a 200k-NFE RBF run
 * makes about 200k entries). The whole trace streams through {@link SearchListener#onTrace}.
 */
final class TraceBuffer {
  /** The most entries kept. */
  static final int LIMIT = 8192;

  private final List<TraceEntry> head = new ArrayList<>();
  private final ArrayDeque<TraceEntry> tail = new ArrayDeque<>();
  private long total;

  void add(TraceEntry e) {
    total++;
    if (head.size() < LIMIT / 2) {
      head.add(e);
      return;
    }
    if (tail.size() == LIMIT / 2) {
      tail.removeFirst();
    }
    tail.addLast(e);
  }

  /** Entries added, kept or not. */
  long total() {
    return total;
  }

  /** The kept entries, in order (the first and the last when some were dropped). */
  List<TraceEntry> entries() {
    List<TraceEntry> all = new ArrayList<>(head.size() + tail.size());
    all.addAll(head);
    all.addAll(tail);
    return all;
  }
}
