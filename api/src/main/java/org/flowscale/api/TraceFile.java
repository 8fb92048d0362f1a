package org.flowscale.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
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

  private final FileChannel channel;
  private final StringBuilder pending = new StringBuilder();
  private long lastFlush = System.nanoTime();
  private long written;
  private long entries;
  private long pendingEntries;
  private long writtenEntries;
  private final TraceSummary summary = new TraceSummary();
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
    summary.add(e);
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
   * {@code entries_made} says how many the run made and {@code error} why the rest is missing), and
   * {@link TraceSummary}'s counts and curve.
   */
  Map<String, Object> summary() {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("file", NAME);
    m.put("entries", writtenEntries + (failed == null ? pendingEntries : 0));
    if (failed != null) {
      m.put("entries_made", entries);
      m.put("error", "cannot write " + NAME + ": " + Text.ioReason(failed));
    }
    m.putAll(summary.map());
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
