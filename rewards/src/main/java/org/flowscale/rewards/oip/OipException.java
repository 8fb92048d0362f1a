package org.flowscale.rewards.oip;

import org.flowscale.engine.model.TransientFailure;

/**
 * A request to an inference server that failed: the server was unreachable or not ready, refused
 * the request, answered with an error, or answered something that is not a valid answer. The
 * message names the endpoint and, where the server gave one, the server's own message; it never
 * holds the bearer token. {@link Transient} marks the failures that may pass (see {@link
 * #isRetriable}).
 */
public class OipException extends IllegalStateException {
  private final int status;

  /**
   * @param status the HTTP status of the answer, or 0 when there was none (unreachable, timed out)
   */
  public OipException(String message, int status, Throwable cause) {
    super(message, cause);
    this.status = status;
  }

  /** The HTTP status of the failed answer, or 0 when there was no answer. */
  public int status() {
    return status;
  }

  /**
   * The failure for a request that got {@code status} (0: no answer): {@link Transient} when the
   * same request may succeed later.
   */
  public static OipException of(String message, int status, Throwable cause) {
    return isRetriable(status)
        ? new Transient(message, status, cause)
        : new OipException(message, status, cause);
  }

  /** Whether a request that got this status is worth sending again: none, 5xx or 429. */
  public static boolean isRetriable(int status) {
    return status == 0 || status >= 500 || status == 429;
  }

  /** The same kind of failure with another message (context added by a caller). */
  public OipException withMessage(String message) {
    return this instanceof Transient
        ? new Transient(message, status, this)
        : new OipException(message, status, this);
  }

  /**
   * A failure that may pass: the server did not answer in time, refused the connection or answered
   * 5xx/429 (after every retry, during a run).
   */
  public static final class Transient extends OipException implements TransientFailure {
    Transient(String message, int status, Throwable cause) {
      super(message, status, cause);
    }
  }
}
