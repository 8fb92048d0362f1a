package org.flowscale.api;

import java.util.concurrent.atomic.AtomicReference;

/**
 * A way to stop a running generation from another thread: pass it to {@link
 * Pipeline#generate(GenerationRequest, org.flowscale.engine.search.SearchListener, Cancellation)}
 * and call {@link #cancel}. The run stops before its next model call (within one round) and returns
 * the best sample so far with status {@link RunStatus#CANCELLED}. One token per call; cancelling
 * before the call starts stops it before any model call.
 */
public final class Cancellation {
  private final AtomicReference<String> reason = new AtomicReference<>();
  private volatile boolean interrupt;

  /** A token not yet cancelled. */
  public Cancellation() {}

  /** Asks the run to stop, with the reason {@code cancelled}. Idempotent. */
  public void cancel() {
    cancel("cancelled");
  }

  /**
   * Asks the run to stop, recording {@code why} as the result's {@link
   * GenerationResult#stopReason()} (the first reason given wins). Safe from any thread.
   *
   * @param why the stop reason, e.g. {@code client went away}; null means {@code cancelled}
   */
  public void cancel(String why) {
    reason.compareAndSet(null, why == null ? "cancelled" : why);
  }

  /**
   * Asks the run to stop as an interrupt does (a signal, a shutdown): it returns the best sample so
   * far with status {@link RunStatus#INTERRUPTED} and the reason {@code why} ({@code SIGINT}).
   * Unlike {@link Thread#interrupt} it cannot break a file write under way. Idempotent; the first
   * call's reason wins over any later cancel or interrupt.
   *
   * @param why the stop reason, e.g. {@code SIGINT}; null means {@code interrupted}
   */
  public void interrupt(String why) {
    if (reason.compareAndSet(null, why == null ? "interrupted" : why)) {
      interrupt = true;
    }
  }

  /** Whether the stop was asked with {@link #interrupt}. */
  boolean isInterrupt() {
    return interrupt;
  }

  /** {@return whether {@link #cancel} was called} */
  public boolean isCancelled() {
    return reason.get() != null;
  }

  /** The reason given to the first {@link #cancel}, or null. */
  String reason() {
    return reason.get();
  }
}
