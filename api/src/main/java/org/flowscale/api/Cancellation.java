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

  /** {@return whether {@link #cancel} was called} */
  public boolean isCancelled() {
    return reason.get() != null;
  }

  /** The reason given to the first {@link #cancel}, or null. */
  String reason() {
    return reason.get();
  }
}
