package org.flowscale.engine.search;

import java.util.Optional;

/**
 * A search failed while running: the model, the reward or the engine itself threw. Wraps the cause
 * and says where it came from, and carries the best sample scored before the failure so nothing
 * found is lost.
 */
public final class SearchFailedException extends RuntimeException {
  /** Where the failure came from. */
  public enum Source {
    /** The velocity model (a forward or a vector-Jacobian product). */
    MODEL,
    /** The reward (a score or a gradient). */
    REWARD,
    /** The engine: particle operations, the backend, or a method bug. */
    ENGINE
  }

  private final Source source;
  private final transient SearchResult partial;

  SearchFailedException(Source source, Throwable cause, SearchResult partial) {
    super(describe(source, cause), cause);
    this.source = source;
    this.partial = partial;
  }

  private static String describe(Source source, Throwable cause) {
    String what =
        switch (source) {
          case MODEL -> "the model failed";
          case REWARD -> "the reward failed";
          case ENGINE -> "the engine failed";
        };
    String m = cause.getMessage();
    return what + ": " + (m == null ? cause.getClass().getSimpleName() : m);
  }

  public Source source() {
    return source;
  }

  /** The best sample scored before the failure; empty when nothing was scored yet. */
  public Optional<SearchResult> partial() {
    return Optional.ofNullable(partial);
  }
}
