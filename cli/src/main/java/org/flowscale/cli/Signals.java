package org.flowscale.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.flowscale.api.Cancellation;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGINT (Ctrl-C) and SIGTERM for one command. Before a run has outputs, a signal ends the process
 * at once with exit 130 or 143 (nothing was written). Once the run directory exists, the first
 * signal stops the search before its next model call ({@link Cancellation#interrupt}); the command
 * then writes {@code best_so_far.png} and a report with status {@code interrupted}, prints where
 * they are and exits 130 or 143. A second signal halts the process at once (its report may then
 * still say {@code running}).
 *
 * <p>sun.misc.Signal (module jdk.unsupported) rather than a shutdown hook: a hook runs while the
 * JVM is already exiting, cannot choose the exit code, and makes a second Ctrl-C wait for it.
 */
final class Signals implements AutoCloseable {
  private static final List<String> NAMES = List.of("INT", "TERM");

  private final PrintStream err;
  private final Cancellation cancellation = new Cancellation();
  private final AtomicInteger count = new AtomicInteger();
  private final List<Signal> installed = new ArrayList<>();
  private final List<SignalHandler> previous = new ArrayList<>();
  private final Object lock = new Object();
  private boolean running;
  private volatile Signal received;

  private Signals(PrintStream err) {
    this.err = err;
  }

  /** Installs the handlers (where the JVM allows it: not under -Xrs, say). */
  static Signals install(PrintStream err) {
    Signals s = new Signals(err);
    for (String name : NAMES) {
      try {
        Signal sig = new Signal(name);
        SignalHandler old = Signal.handle(sig, s::handle);
        s.installed.add(sig);
        s.previous.add(old);
      } catch (IllegalArgumentException | UnsupportedOperationException e) {
        // the signal is reserved here: the JVM's default handling stays
      }
    }
    return s;
  }

  /** The run's stop control: the first signal interrupts it. */
  Cancellation cancellation() {
    return cancellation;
  }

  /** From now on a signal stops the run and keeps its outputs instead of ending the process. */
  void runStarting() {
    synchronized (lock) {
      running = true;
    }
  }

  /** The first signal received, or null. */
  Signal received() {
    return received;
  }

  /** The conventional exit code of the first signal: 128 + its number (130, 143). */
  int exitCode() {
    Signal s = received;
    return s == null ? Main.EXIT_FAILURE : 128 + s.getNumber();
  }

  private void handle(Signal sig) {
    String name = "SIG" + sig.getName();
    if (count.incrementAndGet() > 1) {
      err.println("flowscale: second signal (" + name + "): stopping at once");
      err.flush();
      Runtime.getRuntime().halt(128 + sig.getNumber());
    }
    received = sig;
    synchronized (lock) {
      if (!running) {
        err.println("flowscale: " + name + " before the run started: nothing was written");
        err.flush();
        // Not System.exit: it would wait for this handler's caller; nothing needs saving.
        Runtime.getRuntime().halt(128 + sig.getNumber());
      }
      cancellation.interrupt(name);
    }
    err.println(
        "flowscale: "
            + name
            + ": stopping before the next model call to save the best sample so far"
            + " (a second signal stops at once)");
    err.flush();
  }

  /** Restores the previous handlers. */
  @Override
  public void close() {
    for (int i = 0; i < installed.size(); i++) {
      try {
        Signal.handle(installed.get(i), previous.get(i));
      } catch (IllegalArgumentException e) {
        // keep ours: the process is ending anyway
      }
    }
  }
}
