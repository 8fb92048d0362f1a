package org.flowscale.cli;

import java.io.PrintStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.flowscale.api.Cancellation;

/**
 * SIGINT (Ctrl-C) and SIGTERM for one command. Before a run has outputs, a signal ends the process
 * at once with exit 130 or 143 (nothing was written). Once the run directory exists, the first
 * signal stops the search before its next model call ({@link Cancellation#interrupt}); the command
 * then writes {@code best_so_far.png} and a report with status {@code interrupted}, prints where
 * they are and exits 130 or 143. A second signal halts the process at once (its report may then
 * still say {@code running}).
 *
 * <p>sun.misc.Signal (module jdk.unsupported) rather than a shutdown hook: a hook runs while the
 * JVM is already exiting, cannot choose the exit code, and makes a second Ctrl-C wait for it. It is
 * reached by reflection, so that compiling and documenting this class need no internal API (javac
 * and javadoc warn on every use of it, and the build fails on warnings); where it is missing, the
 * JVM's default handling stays.
 */
final class Signals implements AutoCloseable {
  private static final List<String> NAMES = List.of("INT", "TERM");

  /** sun.misc.Signal through reflection: its class, constructor and methods, or null. */
  private static final Api API = Api.find();

  private record Api(
      Class<?> handlerType,
      Constructor<?> signal,
      Method handle,
      Method getName,
      Method getNumber) {
    static Api find() {
      try {
        Class<?> sig = Class.forName("sun.misc.Signal");
        Class<?> handler = Class.forName("sun.misc.SignalHandler");
        return new Api(
            handler,
            sig.getConstructor(String.class),
            sig.getMethod("handle", sig, handler),
            sig.getMethod("getName"),
            sig.getMethod("getNumber"));
      } catch (ReflectiveOperationException | LinkageError e) {
        return null;
      }
    }
  }

  private final PrintStream err;
  private final Cancellation cancellation = new Cancellation();
  private final AtomicInteger count = new AtomicInteger();
  private final List<Object> installed = new ArrayList<>();
  private final List<Object> previous = new ArrayList<>();
  private final Object lock = new Object();
  private boolean running;
  private volatile int received;

  private Signals(PrintStream err) {
    this.err = err;
  }

  /** Installs the handlers (where the JVM allows it: not under -Xrs, say). */
  static Signals install(PrintStream err) {
    Signals s = new Signals(err);
    if (API == null) {
      return s;
    }
    Object handler =
        Proxy.newProxyInstance(
            Signals.class.getClassLoader(),
            new Class<?>[] {API.handlerType()},
            (proxy, method, args) ->
                switch (method.getName()) {
                  case "handle" -> {
                    s.handle(
                        (String) API.getName().invoke(args[0]),
                        (Integer) API.getNumber().invoke(args[0]));
                    yield null;
                  }
                  case "hashCode" -> System.identityHashCode(proxy);
                  case "equals" -> proxy == args[0];
                  default -> "flowscale signal handler";
                });
    for (String name : NAMES) {
      try {
        Object sig = API.signal().newInstance(name);
        Object old = API.handle().invoke(null, sig, handler);
        s.installed.add(sig);
        s.previous.add(old);
      } catch (ReflectiveOperationException | RuntimeException e) {
        // the signal is reserved here (IllegalArgumentException): the JVM's default handling stays
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

  /** The conventional exit code of the first signal: 128 + its number (130, 143). */
  int exitCode() {
    int n = received;
    return n == 0 ? Main.EXIT_FAILURE : 128 + n;
  }

  private void handle(String sigName, int number) {
    String name = "SIG" + sigName;
    if (count.incrementAndGet() > 1) {
      err.println("flowscale: second signal (" + name + "): stopping at once");
      err.flush();
      Runtime.getRuntime().halt(128 + number);
    }
    received = number;
    synchronized (lock) {
      if (!running) {
        err.println("flowscale: " + name + " before the run started: nothing was written");
        err.flush();
        // Not System.exit: it would wait for this handler's caller; nothing needs saving.
        Runtime.getRuntime().halt(128 + number);
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
        API.handle().invoke(null, installed.get(i), previous.get(i));
      } catch (ReflectiveOperationException | RuntimeException e) {
        // keep ours: the process is ending anyway
      }
    }
  }
}
