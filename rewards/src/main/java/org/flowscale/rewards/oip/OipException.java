package org.flowscale.rewards.oip;

/**
 * A request to an inference server that failed: the server was unreachable or not ready, refused
 * the request, answered with an error, or answered something that is not a valid answer. The
 * message names the endpoint and, where the server gave one, the server's own message; it never
 * holds the bearer token.
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
}
