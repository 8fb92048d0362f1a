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
 * tenth of the budget otherwise (logs and CI keep readable output), or nothing.
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

  /** Marks the end of the run (the bar jumps to the NFE actually spent). */
  abstract void finish(long nfe);

  @Override
  public abstract void close();

  static final class Bar extends Progress {
    private final ProgressBar bar;

    Bar(PrintStream err, long maxNfe) {
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
    public void onProgress(long nfe, long maxNfe) {
      bar.stepTo(nfe);
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
    private int lastTenth = 0;

    Lines(PrintStream err, long maxNfe) {
      this.err = err;
      this.maxNfe = maxNfe;
    }

    @Override
    public void onProgress(long nfe, long max) {
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
