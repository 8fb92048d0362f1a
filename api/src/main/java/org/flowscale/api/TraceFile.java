package org.flowscale.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.flowscale.engine.search.TraceEntry;

/**
 * A run's whole trace, streamed to {@code trace.jsonl} as the search makes it (one JSON object per
 * line: {@code round, chain, time, reward, event, nfe}), plus a bounded summary for {@code
 * report.json}, so neither memory nor the report grows with the budget.
 *
 * <p>Lines are buffered and written whole, at most every {@value #FLUSH_MILLIS} ms or {@value
 * #FLUSH_BYTES} bytes, so a run killed outright leaves a file that ends at a complete line (up to
 * that much of its end missing). A write that fails (a full disk) truncates the file back to its
 * last complete line and stops the run with the cause.
 */
final class TraceFile implements AutoCloseable {
  static final String NAME = "trace.jsonl";
  static final long FLUSH_MILLIS = 1000;
  static final int FLUSH_BYTES = 1 << 16;

  /** Points kept of the best-reward curve: thinned by halves past twice this. */
  static final int CURVE_POINTS = 64;

  private final FileChannel channel;
  private final StringBuilder pending = new StringBuilder();
  private long lastFlush = System.nanoTime();
  private long written;
  private long entries;
  private long pendingEntries;
  private long writtenEntries;
  private final Map<TraceEntry.Event, Long> events = new EnumMap<>(TraceEntry.Event.class);
  private double best = Double.NEGATIVE_INFINITY;
  private final List<List<Number>> curve = new ArrayList<>();
  private int curveStride = 1;
  private int improvements;
  private IOException failed;

  private TraceFile(FileChannel channel) {
    this.channel = channel;
  }

  static TraceFile create(RunDirectory dir) throws IOException {
    return new TraceFile(dir.createStream(NAME));
  }

  /**
   * Appends an entry.
   *
   * @throws UncheckedIOException when the file cannot be written (the search stops)
   */
  void add(TraceEntry e) {
    entries++;
    pendingEntries++;
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
    pending
        .append("{\"round\":")
        .append(e.round())
        .append(",\"chain\":")
        .append(e.chain())
        .append(",\"time\":")
        .append(number(e.time()))
        .append(",\"reward\":")
        .append(number(e.reward()))
        .append(",\"event\":\"")
        .append(e.event().name().toLowerCase(Locale.ROOT))
        .append("\",\"nfe\":")
        .append(e.nfe())
        .append("}\n");
    if (pending.length() >= FLUSH_BYTES
        || System.nanoTime() - lastFlush >= FLUSH_MILLIS * 1_000_000) {
      flush();
    }
  }

  /**
   * Writes the buffered lines.
   *
   * @throws UncheckedIOException when they cannot be written
   */
  void flush() {
    if (failed != null) {
      throw new UncheckedIOException(failed);
    }
    lastFlush = System.nanoTime();
    if (pending.isEmpty()) {
      return;
    }
    ByteBuffer b = ByteBuffer.wrap(pending.toString().getBytes(StandardCharsets.UTF_8));
    try {
      while (b.hasRemaining()) {
        channel.write(b);
      }
      written = channel.position();
      pending.setLength(0);
      writtenEntries += pendingEntries;
      pendingEntries = 0;
    } catch (IOException e) {
      failed = e;
      try {
        channel.truncate(written); // back to the last complete line
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new UncheckedIOException("cannot write " + NAME + ": " + Text.ioReason(e), e);
    }
  }

  /** Entries so far. */
  long entries() {
    return entries;
  }

  /**
   * The report's summary: the file, the entries it holds (all of them unless a write failed: then
   * {@code entries_made} says how many the run made and {@code error} why the rest is missing), the
   * count of each event made and the running best reward against NFE (at most {@code 2 *
   * CURVE_POINTS} points).
   */
  Map<String, Object> summary() {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("file", NAME);
    m.put("entries", writtenEntries + (failed == null ? pendingEntries : 0));
    if (failed != null) {
      m.put("entries_made", entries);
      m.put("error", "cannot write " + NAME + ": " + Text.ioReason(failed));
    }
    Map<String, Long> ev = new java.util.LinkedHashMap<>();
    for (TraceEntry.Event e : TraceEntry.Event.values()) {
      ev.put(e.name().toLowerCase(Locale.ROOT), events.getOrDefault(e, 0L));
    }
    m.put("events", ev);
    m.put("best_reward_by_nfe", List.copyOf(curve));
    return m;
  }

  /** Flushes what is buffered (quietly when the file already failed) and closes the file. */
  @Override
  public void close() {
    try {
      if (failed == null) {
        flush();
        channel.force(true);
      }
    } catch (IOException | UncheckedIOException e) {
      // already reported by the write that failed, or the report will say the run failed
    } finally {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing more to save
      }
    }
  }

  private static String number(double v) {
    return Double.isFinite(v) ? Double.toString(v) : "null";
  }
}
