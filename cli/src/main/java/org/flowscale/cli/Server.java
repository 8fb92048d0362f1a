package org.flowscale.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.flowscale.api.Cancellation;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.Flowscale;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.FlowscaleException;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.NativeException;
import org.flowscale.api.Pipeline;
import org.flowscale.api.PipelineMetrics;
import org.flowscale.api.RewardException;
import org.flowscale.api.RunOutputs;
import org.flowscale.api.Text;
import org.flowscale.engine.model.Factories;

/**
 * {@code flowscale serve}'s HTTP server (the JDK's {@code com.sun.net.httpserver}) over one {@link
 * Pipeline}: {@code POST /v1/generate} runs a generation from a JSON object of request keys, {@code
 * GET /v1/health} says whether it serves. Each exchange runs on its own virtual thread; at most
 * {@code concurrency} generations run (the pipeline's slots) and {@code queue} more wait; a request
 * beyond that is answered 429 at once, with {@code Retry-After}. The protocol is in the README
 * ("Serving over HTTP").
 */
final class Server implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("org.flowscale");
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  /** Larger request bodies are refused (413): a request is a handful of keys. */
  static final int MAX_BODY_BYTES = 64 * 1024;

  /**
   * Common keys that are the server's, not a request's: what is loaded, and where run directories
   * go (the server writes none).
   */
  static final Set<String> SERVER_KEYS =
      Set.of(
          "model",
          "reward_score",
          "rewards",
          "backend",
          "height",
          "width",
          "root_dir",
          "tag",
          "save_now",
          "save_intermediate");

  /**
   * How the server runs.
   *
   * @param host the address to bind
   * @param port the port (0: any free one)
   * @param queue requests that may wait for a free slot beyond those running
   * @param maxDeadline the longest any request may run (its own {@code deadline_s} can only be
   *     shorter)
   * @param grace how long a shutdown lets running requests finish before cancelling them
   */
  record Settings(String host, int port, int queue, Duration maxDeadline, Duration grace) {}

  private final Pipeline pipeline;
  private final FlowscaleConfig config;
  private final Settings settings;
  private final HttpServer http;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Set<String> commonKeys = new HashSet<>();
  private final Set<String> pipelineKeys = new HashSet<>();
  private final int capacity;
  private final Semaphore admission;
  private final AtomicInteger admitted = new AtomicInteger();
  private final Set<Cancellation> running = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile String state = "ok";
  private volatile String failure;

  /** An exponential average of generation wall times, for Retry-After. */
  private volatile double wallSeconds = 1.0;

  private Server(Pipeline pipeline, FlowscaleConfig config, Settings settings) throws IOException {
    this.pipeline = pipeline;
    this.config = config;
    this.settings = settings;
    this.capacity = pipeline.concurrency() + settings.queue();
    this.admission = new Semaphore(capacity);
    FlowscaleConfig.commonKeys().forEach(k -> commonKeys.add(k.name()));
    pipelineKeys.addAll(Factories.model(config.model()).keys());
    if (config.rewards().isEmpty()) {
      pipelineKeys.addAll(Factories.reward(config.reward()).keys());
    } else {
      config.rewards().forEach(t -> pipelineKeys.addAll(Factories.reward(t.score()).keys()));
    }
    pipelineKeys.removeAll(commonKeys);
    this.http = HttpServer.create(new InetSocketAddress(settings.host(), settings.port()), 64);
    http.setExecutor(executor);
    http.createContext("/", this::handle);
  }

  /**
   * Starts serving {@code pipeline}; {@code config} (the server's config) gives every request its
   * defaults: a request's keys override its search keys.
   */
  static Server start(Pipeline pipeline, FlowscaleConfig config, Settings settings)
      throws IOException {
    Server s = new Server(pipeline, config, settings);
    s.http.start();
    return s;
  }

  /** The address the server listens on (its port when started with port 0). */
  InetSocketAddress address() {
    return http.getAddress();
  }

  /** Blocks until {@link #shutdown} has finished. */
  void awaitStopped() throws InterruptedException {
    stopped.await();
  }

  // ---- dispatch ----------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String method = ex.getRequestMethod();
      switch (path) {
        case "/v1/generate" -> {
          if (!method.equals("POST")) {
            ex.getResponseHeaders().set("Allow", "POST");
            error(ex, 405, "use POST for /v1/generate");
          } else {
            generate(ex);
          }
        }
        case "/v1/health" -> {
          if (!method.equals("GET") && !method.equals("HEAD")) {
            ex.getResponseHeaders().set("Allow", "GET, HEAD");
            error(ex, 405, "use GET for /v1/health");
          } else {
            health(ex, method.equals("HEAD"));
          }
        }
        default -> error(ex, 404, "no such endpoint: POST /v1/generate and GET /v1/health exist");
      }
    } catch (IOException e) {
      // the client went away while we answered: nothing more to tell it
      LOG.log(Level.DEBUG, () -> "answering failed: " + e.getMessage());
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "request failed unexpectedly", e);
      try {
        error(ex, 500, "internal error: " + describe(e));
      } catch (IOException | RuntimeException ignored) {
        // headers already sent: the connection is closed by try-with-resources
      }
    }
  }

  // ---- GET /v1/health ----------------------------------------------------------------------

  private void health(HttpExchange ex, boolean head) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    String s = state;
    n.put("status", s);
    if (failure != null) {
      n.put("error", failure);
    }
    n.put("version", Flowscale.VERSION);
    n.put("model", pipeline.modelName());
    n.put("reward_score", pipeline.rewardName());
    n.put("backend", pipeline.backend());
    n.put("concurrency", pipeline.concurrency());
    n.put("queue", settings.queue());
    PipelineMetrics m = pipeline.metrics();
    int in = admitted.get();
    n.put("running", m.active());
    n.put("waiting", Math.max(0, in - m.active()));
    ObjectNode c = n.putObject("counters");
    c.put("requests", m.requests());
    c.put("completed", m.completed());
    c.put("cancelled", m.cancelled());
    c.put("interrupted", m.interrupted());
    c.put("failed", m.failed());
    c.put("nfe", m.nfe());
    byte[] body = bytes(n);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    int code = s.equals("ok") ? 200 : 503;
    if (head) {
      ex.sendResponseHeaders(code, -1);
    } else {
      ex.sendResponseHeaders(code, body.length);
      ex.getResponseBody().write(body);
    }
  }

  // ---- POST /v1/generate -------------------------------------------------------------------

  /** A response that ends the exchange early: status and a one-line message. */
  private static final class Refusal extends Exception {
    final int status;

    Refusal(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  private void generate(HttpExchange ex) throws IOException {
    if (!state.equals("ok")) {
      error(
          ex,
          503,
          state.equals("draining")
              ? "the server is shutting down"
              : "the server cannot serve: " + failure);
      return;
    }
    FlowscaleConfig request;
    try {
      request = parse(ex);
    } catch (Refusal r) {
      error(ex, r.status, r.getMessage());
      return;
    }
    if (!admission.tryAcquire()) {
      int in = admitted.get();
      long retry =
          Math.max(1, (long) Math.ceil(wallSeconds * Math.max(1, in) / pipeline.concurrency()));
      ex.getResponseHeaders().set("Retry-After", Long.toString(retry));
      error(
          ex,
          429,
          "the server is busy ("
              + pipeline.concurrency()
              + " running, "
              + settings.queue()
              + " waiting, the most it queues); retry after "
              + retry
              + " s");
      return;
    }
    admitted.incrementAndGet();
    Cancellation cancel = new Cancellation();
    running.add(cancel);
    try {
      if (stopping.get()) {
        cancel.cancel("shutdown");
      }
      run(ex, request, cancel);
    } finally {
      running.remove(cancel);
      admitted.decrementAndGet();
      admission.release();
    }
  }

  private void run(HttpExchange ex, FlowscaleConfig request, Cancellation cancel)
      throws IOException {
    GenerationResult result;
    try {
      result = pipeline.generate(request.request(), cancel);
    } catch (ConfigurationException e) {
      error(ex, 422, e.getMessage());
      return;
    } catch (FlowscaleException e) {
      failed(ex, request, e);
      return;
    } catch (IllegalStateException e) { // closed under us: the server is stopping
      error(ex, 503, "the server is shutting down");
      return;
    }
    double seconds = result.wall().toNanos() / 1e9;
    wallSeconds = 0.8 * wallSeconds + 0.2 * seconds;
    JsonNode report = JSON.readTree(RunOutputs.report(request, result));
    if (result.search().isEmpty()) {
      String why = result.stopReason().orElse(result.status().configName());
      int code = why.equals("deadline") ? 504 : 503;
      ObjectNode body = errorBody("the run stopped (" + why + ") before any sample was scored");
      body.set("report", report);
      send(ex, code, body);
      return;
    }
    byte[] png = result.image().map(i -> i.png(i.viewScale())).orElse(null);
    if (wantsPng(ex)) {
      if (png == null) {
        error(ex, 406, "model '" + pipeline.modelName() + "' makes no images: ask for JSON");
        return;
      }
      var h = ex.getResponseHeaders();
      h.set("Content-Type", "image/png");
      h.set("X-Flowscale-Status", result.status().configName());
      result.stopReason().ifPresent(r -> h.set("X-Flowscale-Stop-Reason", r));
      h.set("X-Flowscale-Reward", String.format(Locale.ROOT, "%s", result.reward()));
      h.set("X-Flowscale-Nfe", Long.toString(result.nfe()));
      ex.sendResponseHeaders(200, png.length);
      ex.getResponseBody().write(png);
      return;
    }
    ObjectNode body = JSON.createObjectNode();
    body.put("status", result.status().configName());
    result.stopReason().ifPresent(r -> body.put("stop_reason", r));
    if (Double.isFinite(result.reward())) {
      body.put("reward", result.reward());
    } else {
      body.putNull("reward");
    }
    body.put("nfe", result.nfe());
    body.set("report", report);
    if (png == null) {
      body.putNull("png_base64");
    } else {
      body.put("png_base64", Base64.getEncoder().encodeToString(png));
    }
    send(ex, 200, body);
  }

  private void failed(HttpExchange ex, FlowscaleConfig request, FlowscaleException e)
      throws IOException {
    int code = 500;
    if (e instanceof RewardException r && r.retryable()) {
      code = 503;
      ex.getResponseHeaders().set("Retry-After", "5");
    }
    if (e instanceof NativeException n && !n.pipelineUsable()) {
      failure = Text.oneLine(e.getMessage());
      state = "failed";
    }
    String message = Text.oneLine(e.getMessage());
    LOG.log(Level.WARNING, () -> "generation failed: " + message);
    ObjectNode body = errorBody(message);
    body.set("report", JSON.readTree(RunOutputs.report(request, e, pipeline.backend())));
    send(ex, code, body);
  }

  private static boolean wantsPng(HttpExchange ex) {
    String accept = ex.getRequestHeaders().getFirst("Accept");
    return accept != null && accept.toLowerCase(Locale.ROOT).contains("image/png");
  }

  /**
   * The request's config: the server's config with the body's keys over it, checked. Refuses (400)
   * what is not a JSON object of request keys, and (422) values or combinations the checks refuse.
   */
  private FlowscaleConfig parse(HttpExchange ex) throws IOException, Refusal {
    String type = ex.getRequestHeaders().getFirst("Content-Type");
    if (type != null && !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
      throw new Refusal(415, "send the request as application/json, not " + Text.quote(type));
    }
    byte[] raw = readBody(ex.getRequestBody());
    JsonNode doc;
    try {
      doc = JSON.readTree(raw);
    } catch (JsonProcessingException e) {
      throw new Refusal(400, "malformed JSON: " + Text.oneLine(e.getOriginalMessage()));
    }
    if (doc == null || doc.isMissingNode()) {
      throw new Refusal(
          400,
          "the body is empty: send a JSON object such as {\"text_prompt\": \"two red circles\"}");
    }
    if (!doc.isObject()) {
      throw new Refusal(400, "the body must be a JSON object of config keys, not " + kind(doc));
    }
    Map<String, Object> keys = new LinkedHashMap<>(config.resolved());
    boolean unknown = false;
    for (Map.Entry<String, JsonNode> f : doc.properties()) {
      String k = f.getKey();
      if (SERVER_KEYS.contains(k) || pipelineKeys.contains(k)) {
        throw new Refusal(
            400,
            "key "
                + Text.quote(k)
                + " belongs to the server's config (flowscale serve --config), not to a request");
      }
      unknown |= !commonKeys.contains(k);
      keys.put(k, value(k, f.getValue()));
    }
    if (keys.get("text_prompt") == null) {
      throw new Refusal(
          400, "text_prompt is required, e.g. {\"text_prompt\": \"two red circles\"}");
    }
    try {
      FlowscaleConfig c = FlowscaleConfig.of(keys);
      double max = settings.maxDeadline().toNanos() / 1e9;
      if (c.deadline().isEmpty() || c.deadline().get().compareTo(settings.maxDeadline()) > 0) {
        c = c.withOverrides(List.of("deadline_s=" + max));
      }
      c.request(); // the method's budget rules
      return c;
    } catch (ConfigurationException e) {
      throw new Refusal(unknown ? 400 : 422, e.getMessage());
    }
  }

  private static byte[] readBody(InputStream in) throws IOException, Refusal {
    byte[] b = in.readNBytes(MAX_BODY_BYTES + 1);
    if (b.length > MAX_BODY_BYTES) {
      throw new Refusal(413, "the body is larger than " + MAX_BODY_BYTES + " bytes");
    }
    return b;
  }

  /** A JSON value as a config value (as YAML would type it). */
  private static Object value(String key, JsonNode v) throws Refusal {
    if (v.isNull()) {
      return null;
    }
    if (v.isTextual()) {
      return v.textValue();
    }
    if (v.isBoolean()) {
      return v.booleanValue();
    }
    if (v.isIntegralNumber()) {
      if (!v.canConvertToLong()) {
        throw new Refusal(400, "key " + Text.quote(key) + ": " + v + " is too large");
      }
      return v.longValue();
    }
    if (v.isNumber()) {
      return v.doubleValue();
    }
    if (v.isArray()) {
      List<Object> out = new ArrayList<>();
      for (JsonNode e : v) {
        out.add(value(key, e));
      }
      return out;
    }
    throw new Refusal(400, "key " + Text.quote(key) + ": a config value cannot be " + kind(v));
  }

  private static String kind(JsonNode n) {
    return switch (n.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> n.getNodeType().name().toLowerCase(Locale.ROOT);
    };
  }

  // ---- responses ---------------------------------------------------------------------------

  private static ObjectNode errorBody(String message) {
    ObjectNode n = JSON.createObjectNode();
    n.put("error", Text.oneLine(message));
    return n;
  }

  private static void error(HttpExchange ex, int code, String message) throws IOException {
    send(ex, code, errorBody(message));
  }

  private static void send(HttpExchange ex, int code, ObjectNode body) throws IOException {
    byte[] b = bytes(body);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(code, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  private static byte[] bytes(JsonNode n) {
    try {
      return (JSON.writeValueAsString(n) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON", e);
    }
  }

  private static String describe(Throwable e) {
    return e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : ": " + Text.oneLine(e.getMessage()));
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /**
   * Stops serving: new generations are refused (503) and health says {@code draining}; running and
   * queued requests get {@code grace} to finish, then are cancelled (each answers with its best
   * sample so far, or 503 if it had none); then the listener closes. Idempotent; later calls wait
   * for the first to finish.
   */
  void shutdown(Duration grace) {
    if (!stopping.compareAndSet(false, true)) {
      try {
        stopped.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return;
    }
    try {
      state = "draining";
      long end = System.nanoTime() + grace.toNanos();
      waitIdle(end);
      if (admitted.get() > 0) {
        running.forEach(c -> c.cancel("shutdown"));
        // a cancelled run stops before its next model call
        waitIdle(System.nanoTime() + TimeUnit.SECONDS.toNanos(30));
      }
      http.stop(1);
      executor.shutdown();
    } finally {
      stopped.countDown();
    }
  }

  private void waitIdle(long until) {
    while (admitted.get() > 0 && System.nanoTime() < until) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Shuts down at once (no grace). */
  @Override
  public void close() {
    shutdown(Duration.ZERO);
  }
}
