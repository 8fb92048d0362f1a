package org.flowscale.cli;

import java.io.PrintStream;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.flowscale.engine.search.SearchListener;

/**
 * Shows the NFE spent against the budget on stderr: a live bar on a terminal, plain lines at every
 * tenth of the budget otherwise (logs and CI keep readable output), or nothing. A run expected to
 * take a minute or more says so once, early: its pace is measured from the first model call on (the
 * first round's setup excluded) over at least a second, and the rest of the budget projected.
 */
abstract sealed class Progress implements SearchListener, AutoCloseable
    permits Progress.Bar, Progress.Lines, Progress.Silent {

  /** How progress is shown. */
  enum Mode {
    /** A bar when stderr is a terminal, else lines. */
    AUTO,
    BAR,
    LINES,
    NONE
  }

  /** {@code bin/flowscale} tells whether stderr is a terminal, which Java cannot see. */
  static final String STDERR_TTY_ENV = "FLOWSCALE_STDERR_TTY";

  static Progress create(Mode mode, PrintStream err, long maxNfe) {
    Mode m = mode == Mode.AUTO ? (stderrIsTerminal() ? Mode.BAR : Mode.LINES) : mode;
    return switch (m) {
      case BAR -> new Bar(err, maxNfe);
      case LINES -> new Lines(err, maxNfe);
      case NONE, AUTO -> new Silent();
    };
  }

  private static boolean stderrIsTerminal() {
    String env = System.getenv(STDERR_TTY_ENV);
    if (env != null) {
      return env.equals("1");
    }
    var console = System.console();
    return console != null && console.isTerminal();
  }

  /** Runs projected to take at least this long get an up-front estimate. */
  static final double ESTIMATE_FROM_SECONDS = 60;

  /**
   * Measures the pace once, early, and projects the rest of the run. The first call marks the end
   * of the first round; the next {@value #WARM_UP_SECONDS} s are left out (JIT compilation, caches)
   * and the pace is taken over the second after them.
   */
  static final class Estimate {
    static final double WARM_UP_SECONDS = 2;

    private final long maxNfe;
    private final java.util.function.LongSupplier clock;
    private long firstAt = -1;
    private long fromNfe = -1;
    private long fromAt;
    private boolean done;

    Estimate(long maxNfe, java.util.function.LongSupplier clock) {
      this.maxNfe = maxNfe;
      this.clock = clock;
    }

    /** The projected rest of the run in seconds, once measured (one answer per run), else NaN. */
    double update(long nfe) {
      long now = clock.getAsLong();
      if (done) {
        return Double.NaN;
      }
      if (firstAt < 0) {
        firstAt = now;
        return Double.NaN;
      }
      if (fromNfe < 0) {
        if ((now - firstAt) / 1e9 >= WARM_UP_SECONDS) {
          fromNfe = nfe;
          fromAt = now;
        }
        return Double.NaN;
      }
      double seconds = (now - fromAt) / 1e9;
      if (seconds < 1 || nfe <= fromNfe) {
        return Double.NaN;
      }
      done = true;
      return (maxNfe - nfe) / ((nfe - fromNfe) / seconds);
    }
  }

  /** A duration in words: {@code 45 s}, {@code 12 min}, {@code 3 h 20 min}, {@code 4.2 days}. */
  static String duration(double seconds) {
    if (seconds < 90) {
      return Math.round(seconds) + " s";
    }
    if (seconds < 3600) {
      return Math.round(seconds / 60) + " min";
    }
    if (seconds < 48 * 3600) {
      long m = Math.round(seconds / 60);
      return m / 60 + " h " + m % 60 + " min";
    }
    if (seconds < 730 * 86400) {
      return String.format(Locale.ROOT, "%.1f days", seconds / 86400);
    }
    return String.format(Locale.ROOT, "%.3g years", seconds / (365.25 * 86400));
  }

  /** The estimate's line, or null when the run is short. */
  static String estimateLine(double remaining, long maxNfe) {
    if (Double.isNaN(remaining) || remaining < ESTIMATE_FROM_SECONDS) {
      return null;
    }
    return "flowscale: at this pace the rest of the "
        + maxNfe
        + " NFE takes about "
        + duration(remaining)
        + " (Ctrl-C stops it and keeps the best sample so far)";
  }

  /** Marks the end of the run (the bar jumps to the NFE actually spent). */
  abstract void finish(long nfe);

  @Override
  public abstract void close();

  static final class Bar extends Progress {
    private final ProgressBar bar;
    private final long maxNfe;
    private final Estimate estimate;

    Bar(PrintStream err, long maxNfe) {
      this.maxNfe = maxNfe;
      this.estimate = new Estimate(maxNfe, System::nanoTime);
      bar =
          new ProgressBarBuilder()
              .setTaskName("NFE")
              .setInitialMax(maxNfe)
              .setStyle(ProgressBarStyle.ASCII)
              .setUpdateIntervalMillis(200)
              .setConsumer(new ConsoleProgressBarConsumer(err))
              .build();
    }

    @Override
    public void onProgress(long nfe, long max) {
      bar.stepTo(nfe);
      double remaining = estimate.update(nfe);
      if (estimateLine(remaining, maxNfe) != null) {
        bar.setExtraMessage("about " + duration(remaining) + " to go at first");
      }
    }

    @Override
    void finish(long nfe) {
      bar.stepTo(nfe);
    }

    @Override
    public void close() {
      bar.close();
    }
  }

  static final class Lines extends Progress {
    private final PrintStream err;
    private final long maxNfe;
    private final long start = System.nanoTime();
    private final Estimate estimate;
    private int lastTenth = 0;

    Lines(PrintStream err, long maxNfe) {
      this(err, maxNfe, System::nanoTime);
    }

    Lines(PrintStream err, long maxNfe, java.util.function.LongSupplier clock) {
      this.err = err;
      this.maxNfe = maxNfe;
      this.estimate = new Estimate(maxNfe, clock);
    }

    @Override
    public void onProgress(long nfe, long max) {
      String line = estimateLine(estimate.update(nfe), maxNfe);
      if (line != null) {
        err.println(line);
        err.flush();
      }
      int tenth = (int) Math.min(10, nfe * 10 / Math.max(1, maxNfe));
      if (tenth > lastTenth && tenth < 10) {
        lastTenth = tenth;
        line(nfe);
      }
    }

    @Override
    void finish(long nfe) {
      line(nfe);
    }

    private void line(long nfe) {
      double seconds = (System.nanoTime() - start) / 1e9;
      err.printf(
          Locale.ROOT,
          "flowscale: NFE %d/%d (%d%%), %.1f s%n",
          nfe,
          maxNfe,
          nfe * 100 / Math.max(1, maxNfe),
          seconds);
      err.flush();
    }

    @Override
    public void close() {}
  }

  static final class Silent extends Progress {
    @Override
    void finish(long nfe) {}

    @Override
    public void close() {}
  }
}
