package org.flowscale.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.flowscale.api.batch.BatchItem;
import org.flowscale.api.batch.BatchListener;
import org.flowscale.api.batch.ItemRow;

/**
 * A batch's progress on stderr: items ended out of the shard's items with an ETA, and each worker's
 * current item as an NFE bar (a live bar on a terminal); or one line per ended item (logs, CI); or
 * nothing. The ETA divides the NFE budget still to spend by the rate spent so far, so items with
 * larger budgets count for more.
 */
abstract sealed class BatchProgress implements BatchListener, AutoCloseable
    permits BatchProgress.Bar, BatchProgress.Lines, BatchProgress.Silent {

  static BatchProgress create(Progress.Mode mode, PrintStream err) {
    Progress.Mode m =
        mode == Progress.Mode.AUTO
            ? (stderrIsTerminal() ? Progress.Mode.BAR : Progress.Mode.LINES)
            : mode;
    return switch (m) {
      case BAR -> new Bar(err);
      case LINES -> new Lines(err, System::nanoTime);
      case NONE, AUTO -> new Silent();
    };
  }

  /** As {@link Progress} decides it: {@code bin/flowscale} says, else the console. */
  private static boolean stderrIsTerminal() {
    String env = System.getenv(Progress.STDERR_TTY_ENV);
    if (env != null) {
      return env.equals("1");
    }
    var console = System.console();
    return console != null && console.isTerminal();
  }

  @Override
  public abstract void close();

  /** NFE work done and left, for the ETA; thread-safe. */
  static final class Eta {
    private final LongSupplier clock;
    private final Map<String, Long> running = new ConcurrentHashMap<>();
    private final AtomicLong endedNfe = new AtomicLong();
    private volatile long totalNfe;
    private volatile long start;

    Eta(LongSupplier clock) {
      this.clock = clock;
    }

    void start(long totalNfe) {
      this.totalNfe = totalNfe;
      this.start = clock.getAsLong();
    }

    void progress(String worker, long nfe) {
      running.put(worker, nfe);
    }

    /** An item ended: its whole budget counts as done (a search may spend a little less). */
    void ended(String worker, long maxNfe) {
      running.remove(worker);
      endedNfe.addAndGet(maxNfe);
    }

    /** The time left at the rate so far, or empty before anything was spent. */
    Optional<Duration> estimate() {
      long done = endedNfe.get() + running.values().stream().mapToLong(Long::longValue).sum();
      long elapsed = clock.getAsLong() - start;
      if (done <= 0 || elapsed <= 0) {
        return Optional.empty();
      }
      long left = Math.max(0, totalNfe - done);
      return Optional.of(Duration.ofNanos((long) ((double) elapsed * left / done)));
    }
  }

  /** {@code 1:02:03}, {@code 4:05} or {@code 6 s}. */
  static String format(Duration d) {
    long s = Math.round(d.toMillis() / 1000.0);
    if (s < 60) {
      return s + " s";
    }
    if (s < 3600) {
      return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  }

  /** One line per ended item, and a first line saying what the run will do. */
  static final class Lines extends BatchProgress {
    private final PrintStream err;
    private final Eta eta;
    private final AtomicInteger ended = new AtomicInteger();
    private volatile int shardItems;

    Lines(PrintStream err, LongSupplier clock) {
      this.err = err;
      this.eta = new Eta(clock);
    }

    @Override
    public void onStart(BatchStart s) {
      ended.set(s.alreadyDone());
      shardItems = s.shardItems();
      eta.start(s.toRunNfe());
      synchronized (err) {
        err.println(BatchCommand.startLine(s));
        err.flush();
      }
    }

    @Override
    public void onItemProgress(String worker, BatchItem item, long nfe, long maxNfe) {
      eta.progress(worker, nfe);
    }

    @Override
    public void onItemEnd(String worker, BatchItem item, ItemRow row) {
      eta.ended(worker, item.maxNfe());
      int k = ended.incrementAndGet();
      String left = k >= shardItems ? "" : eta.estimate().map(d -> "; ETA " + format(d)).orElse("");
      String line =
          String.format(
              Locale.ROOT,
              "flowscale: [%d/%d] %s %s (%s, seed %d, line %d) on %s: %s%s",
              k,
              shardItems,
              row.status(),
              item.id(),
              item.method(),
              item.seed(),
              item.line(),
              worker,
              outcome(row),
              left);
      synchronized (err) {
        err.println(line);
        err.flush();
      }
    }

    @Override
    public void close() {}
  }

  /** What an ended item found, in words. */
  static String outcome(ItemRow row) {
    String reward =
        Double.isFinite(row.reward())
            ? String.format(Locale.ROOT, "reward %.4f", row.reward())
            : "no reward";
    String time =
        Double.isFinite(row.seconds()) ? String.format(Locale.ROOT, ", %.1f s", row.seconds()) : "";
    String error = row.error() == null ? "" : " (" + row.error() + ")";
    return reward + ", " + row.nfe() + " NFE" + time + error;
  }

  /** A live bar: items with the ETA, then each worker's item as a small NFE bar. */
  static final class Bar extends BatchProgress {
    private final PrintStream err;
    private final Eta eta = new Eta(System::nanoTime);
    private final Map<String, String> current = new ConcurrentHashMap<>();
    private final AtomicInteger ended = new AtomicInteger();
    private volatile ProgressBar bar;

    Bar(PrintStream err) {
      this.err = err;
    }

    @Override
    public void onStart(BatchStart s) {
      err.println(BatchCommand.startLine(s));
      ended.set(s.alreadyDone());
      eta.start(s.toRunNfe());
      bar =
          new ProgressBarBuilder()
              .setTaskName("items")
              .setInitialMax(s.shardItems())
              .startsFrom(s.alreadyDone(), Duration.ZERO)
              .setStyle(ProgressBarStyle.ASCII)
              .setUpdateIntervalMillis(200)
              .setEtaFunction(state -> eta.estimate())
              .setConsumer(new ConsoleProgressBarConsumer(err))
              .build();
    }

    @Override
    public void onItemProgress(String worker, BatchItem item, long nfe, long maxNfe) {
      eta.progress(worker, nfe);
      current.put(worker, nfeBar(worker, nfe, maxNfe));
      show();
    }

    @Override
    public void onItemEnd(String worker, BatchItem item, ItemRow row) {
      eta.ended(worker, item.maxNfe());
      current.remove(worker);
      ProgressBar b = bar;
      if (b != null) {
        b.stepTo(ended.incrementAndGet());
      }
      show();
    }

    private void show() {
      ProgressBar b = bar;
      if (b != null) {
        b.setExtraMessage(String.join(" ", new java.util.TreeMap<>(current).values()));
      }
    }

    @Override
    public void close() {
      ProgressBar b = bar;
      if (b != null) {
        b.close();
      }
    }
  }

  /** {@code cuda:0 NFE [####------] 200/500}. */
  static String nfeBar(String worker, long nfe, long maxNfe) {
    int width = 10;
    int filled = (int) Math.min(width, nfe * width / Math.max(1, maxNfe));
    return worker
        + " NFE ["
        + "#".repeat(filled)
        + "-".repeat(width - filled)
        + "] "
        + nfe
        + "/"
        + maxNfe;
  }

  static final class Silent extends BatchProgress {
    @Override
    public void close() {}
  }
}
