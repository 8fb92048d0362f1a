package org.flowscale.engine.search;

import java.util.Optional;

/**
 * A search stopped before its end because it was asked to: by its listener ({@link
 * SearchListener#stopRequested}) or by an interrupt of its thread. Carries the best sample scored
 * so far, so the caller can keep it.
 */
public final class SearchStoppedException extends RuntimeException {
  /** Who asked the search to stop. */
  public enum Reason {
    /** The listener's {@link SearchListener#stopRequested} answered true. */
    REQUESTED,
    /** The searching thread was interrupted (its interrupt flag is set again). */
    INTERRUPTED
  }

  private final Reason reason;
  private final transient SearchResult partial;

  SearchStoppedException(Reason reason, SearchResult partial) {
    super(
        "the search stopped ("
            + (reason == Reason.REQUESTED ? "stop requested" : "thread interrupted")
            + ") after "
            + (partial == null ? "no" : partial.nfe())
            + " NFE");
    this.reason = reason;
    this.partial = partial;
  }

  public Reason reason() {
    return reason;
  }

  /**
   * The best sample scored before the stop (its Tweedie estimate, reward, the NFE spent and the
   * trace so far); empty when nothing was scored yet.
   */
  public Optional<SearchResult> partial() {
    return Optional.ofNullable(partial);
  }
}
