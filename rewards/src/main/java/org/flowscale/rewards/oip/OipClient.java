package org.flowscale.rewards.oip;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A client of one inference server speaking the Open Inference Protocol over HTTP/REST (KServe v2,
 * Triton), on the JDK's {@link HttpClient}: one connection pool for its lifetime, HTTP/1.1, no
 * redirects (a bearer token must not follow one).
 *
 * <p>Faults: an inference that times out (no complete answer within the timeout), cannot connect,
 * or gets HTTP 5xx or 429 is retried up to {@code retries} times, waiting {@code backoff}, then
 * twice that, and so on (at most 30 s). Any other answer that is not a valid response (4xx, an
 * error body, a malformed body) fails at once: sending the same request again would get the same
 * answer. Readiness is asked once, without retries: a server that is not ready now is reported now.
 *
 * <p>Thread-safe; close it once when done.
 */
public final class OipClient implements AutoCloseable {
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  /**
   * How the client talks to its server.
   *
   * @param timeout how long one request may take, answer included
   * @param retries how many times a failed inference is sent again (0: never)
   * @param backoff the wait before the first retry; doubled before each further one
   * @param token a bearer token for the {@code Authorization} header, or null
   */
  public record Options(Duration timeout, int retries, Duration backoff, String token) {
    public Options {
      if (timeout == null || timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("the timeout must be positive, got " + timeout);
      }
      if (retries < 0) {
        throw new IllegalArgumentException("retries must be >= 0, got " + retries);
      }
      if (backoff == null || backoff.isNegative()) {
        throw new IllegalArgumentException("the backoff must be >= 0, got " + backoff);
      }
    }

    @Override
    public String toString() {
      // never the token
      return "Options[timeout="
          + timeout
          + ", retries="
          + retries
          + ", backoff="
          + backoff
          + ", token="
          + (token == null ? "none" : "set")
          + "]";
    }
  }

  private final URI base;
  private final Options options;
  private final HttpClient http;

  /**
   * A client of the server at {@code base} (e.g. {@code http://127.0.0.1:8000}; a path prefix is
   * kept, so a server behind a proxy at {@code https://host/rewards} works too).
   *
   * @throws IllegalArgumentException when {@code base} is not an http(s) URL
   */
  public OipClient(URI base, Options options) {
    this.base = checkBase(base);
    this.options = options;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(options.timeout())
            .build();
  }

  /** The server's base URL. */
  public URI base() {
    return base;
  }

  /**
   * Asks whether the server is ready ({@code GET /v2/health/ready}) and then whether {@code model}
   * is ({@code GET /v2/models/{model}/ready}).
   *
   * @throws OipException saying what is not ready, or why the server could not be asked
   */
  public void checkReady(String model) {
    get("/v2/health/ready", "the server is not ready");
    get(modelPath(model) + "/ready", "model '" + model + "' is not ready");
  }

  /**
   * Runs one inference ({@code POST /v2/models/{model}/infer}), retrying as the class says.
   *
   * @param binary which inputs go as binary data
   * @throws OipException when it fails for good
   */
  public OipCodec.Response infer(
      String model, OipCodec.Request request, Predicate<OipTensor> binary) {
    OipCodec.Body body = OipCodec.encodeRequest(request, binary);
    String path = modelPath(model) + "/infer";
    HttpRequest.Builder b =
        request(path)
            .header("Content-Type", body.contentType())
            .POST(HttpRequest.BodyPublishers.ofByteArray(body.bytes()));
    if (body.jsonLength() >= 0) {
      b.header(OipCodec.HEADER_LENGTH, Integer.toString(body.jsonLength()));
    }
    HttpRequest req = b.build();
    String where = "POST " + uri(path);
    int attempts = options.retries() + 1;
    for (int attempt = 1; ; attempt++) {
      Attempt a = send(req);
      if (a.response != null && a.response.statusCode() == 200) {
        return decode(a.response, where);
      }
      String why = a.response != null ? answer(a.response) : a.failure;
      int status = a.response == null ? 0 : a.response.statusCode();
      if (!OipException.isRetriable(status)) {
        throw OipException.of(where + " failed: " + why, status, a.cause);
      }
      if (attempt >= attempts) {
        throw OipException.of(
            where
                + " failed after "
                + attempts
                + (attempts == 1 ? " attempt" : " attempts")
                + "; the last: "
                + why,
            status,
            a.cause);
      }
      sleep(backoff(attempt));
    }
  }

  /** The wait before retry number {@code retry} (1-based). */
  Duration backoff(int retry) {
    Duration d = options.backoff();
    for (int i = 1; i < retry && d.compareTo(MAX_BACKOFF) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
  }

  @Override
  public void close() {
    // Nothing useful can be in flight once the owner closes; do not wait for a stalled server.
    http.shutdownNow();
  }

  @Override
  public String toString() {
    return "OipClient[" + base + ", " + options + "]";
  }

  // ---------------------------------------------------------------------------------------------

  /** One try: an answer, or why there was none. */
  private record Attempt(HttpResponse<byte[]> response, String failure, Throwable cause) {}

  private Attempt send(HttpRequest req) {
    CompletableFuture<HttpResponse<byte[]>> f =
        http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray());
    try {
      // The request's own timeout covers the wait for the headers; this one the whole answer.
      return new Attempt(f.get(options.timeout().toNanos(), TimeUnit.NANOSECONDS), null, null);
    } catch (TimeoutException e) {
      f.cancel(true);
      return new Attempt(null, "no complete answer within " + seconds(options.timeout()), e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof HttpTimeoutException t && !(c instanceof HttpConnectTimeoutException)) {
        // the request's own timeout fired first: the same event as the TimeoutException above
        return new Attempt(null, "no complete answer within " + seconds(options.timeout()), t);
      }
      if (c instanceof IOException io) {
        return new Attempt(null, describe(io), io);
      }
      throw new OipException(req.method() + " " + req.uri() + " failed: " + c, -1, c);
    } catch (InterruptedException e) {
      f.cancel(true);
      Thread.currentThread().interrupt();
      throw new OipException(req.method() + " " + req.uri() + " was interrupted", -1, e);
    }
  }

  private void get(String path, String notReady) {
    HttpRequest req = request(path).GET().build();
    Attempt a = send(req);
    String where = "GET " + uri(path);
    if (a.response == null) {
      throw OipException.of(where + " failed: " + a.failure, 0, a.cause);
    }
    if (a.response.statusCode() != 200) {
      throw OipException.of(
          notReady + " (" + where + ": " + answer(a.response) + ")", a.response.statusCode(), null);
    }
  }

  private OipCodec.Response decode(HttpResponse<byte[]> r, String where) {
    Optional<String> h = r.headers().firstValue(OipCodec.HEADER_LENGTH);
    int jsonLength = -1;
    if (h.isPresent()) {
      try {
        jsonLength = Integer.parseInt(h.get().strip());
      } catch (NumberFormatException e) {
        throw new OipException(
            where + " answered a bad " + OipCodec.HEADER_LENGTH + " header: '" + h.get() + "'",
            200,
            e);
      }
    }
    byte[] body = r.body();
    try {
      return OipCodec.decodeResponse(body, jsonLength);
    } catch (IllegalArgumentException e) {
      if (jsonLength < 0) {
        Optional<String> err = errorField(body);
        if (err.isPresent()) {
          throw new OipException(where + " answered an error: " + err.get(), 200, null);
        }
      }
      throw new OipException(where + " answered a malformed response: " + e.getMessage(), 200, e);
    }
  }

  private static Optional<String> errorField(byte[] body) {
    try {
      var root = OipCodec.JSON.readTree(body);
      if (root != null && root.isObject() && root.hasNonNull("error")) {
        return OipCodec.errorMessage(body);
      }
    } catch (IOException e) {
      // not JSON
    }
    return Optional.empty();
  }

  /** An answer that is not a success, in words: its status and the server's message. */
  private static String answer(HttpResponse<byte[]> r) {
    String msg = OipCodec.errorMessage(r.body()).orElse(null);
    String what =
        switch (r.statusCode()) {
          case 401 -> " (unauthorized: the token is missing or wrong)";
          case 403 -> " (forbidden: the token is not accepted)";
          case 404 -> " (not found: check the URL and the model's name)";
          default -> "";
        };
    return "HTTP " + r.statusCode() + what + (msg == null ? "" : ": " + msg);
  }

  private static String describe(IOException e) {
    if (e instanceof HttpConnectTimeoutException) {
      return "could not connect within the timeout";
    }
    if (e instanceof ConnectException) {
      return "cannot connect ("
          + (e.getMessage() == null ? "connection refused" : e.getMessage())
          + ")";
    }
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + OipCodec.oneLine(m));
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(options.timeout());
    if (options.token() != null) {
      b.header("Authorization", "Bearer " + options.token());
    }
    return b;
  }

  private URI uri(String path) {
    return URI.create(base.toString() + path);
  }

  private static String modelPath(String model) {
    if (model == null || model.isEmpty()) {
      throw new IllegalArgumentException("the model's name must not be empty");
    }
    return "/v2/models/" + URLEncoder.encode(model, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static URI checkBase(URI base) {
    if (base == null) {
      throw new IllegalArgumentException("the server URL must be set");
    }
    String scheme = base.getScheme() == null ? "" : base.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException(
          "the server URL must start with http:// or https://, got '" + base + "'");
    }
    if (base.getHost() == null) {
      throw new IllegalArgumentException("the server URL has no host: '" + base + "'");
    }
    if (base.getRawQuery() != null || base.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "the server URL must not have a query or fragment: '" + base + "'");
    }
    if (base.getRawUserInfo() != null) {
      throw new IllegalArgumentException(
          "the server URL must not hold credentials (use a token from an environment variable)");
    }
    String s = base.toString();
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    return URI.create(s);
  }

  private static String seconds(Duration d) {
    double s = d.toNanos() / 1e9;
    return (s == Math.rint(s) ? String.valueOf((long) s) : String.valueOf(s)) + " s";
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OipException("interrupted while waiting to retry", -1, e);
    }
  }
}
