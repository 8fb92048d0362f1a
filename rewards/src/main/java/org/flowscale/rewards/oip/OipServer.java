package org.flowscale.rewards.oip;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A small inference server speaking the Open Inference Protocol over HTTP/REST with the binary
 * tensor data extension, on the JDK's {@link HttpServer}: server and model health, metadata and
 * inference for a fixed set of {@link Model}s, with an optional bearer token required on every
 * endpoint. It binds to 127.0.0.1 unless told otherwise.
 *
 * <p>Errors are answered as the protocol says, {@code {"error": "..."}}: 400 for a malformed
 * request or one the model refuses, 401 for a missing or wrong token, 404 for an unknown path or
 * model, 405 for a wrong method, 413 for a body over the limit, 500 when the model fails.
 */
public final class OipServer implements AutoCloseable {

  /** A model the server serves. Implementations must be thread-safe. */
  public interface Model {
    /** The name clients address it by. */
    String name();

    /** The {@code inputs} and {@code outputs} of its metadata ({@code GET /v2/models/{m}}). */
    default Map<String, Object> metadata() {
      return Map.of();
    }

    /**
     * Answers one inference request with the response's outputs and parameters.
     *
     * @throws IllegalArgumentException when the request does not fit the model (answered 400 with
     *     the message)
     */
    Result infer(OipCodec.Request request);
  }

  /** A model's answer: output tensors and response parameters. */
  public record Result(List<OipTensor> outputs, Map<String, Object> parameters) {
    public Result {
      outputs = List.copyOf(outputs);
      parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
    }
  }

  /** Builds a server. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port;
    private String token;
    private String name = "flowscale";
    private String version = "1";
    private long maxBodyBytes = 1L << 30;
    private final Map<String, Model> models = new LinkedHashMap<>();
    private final List<Filter> filters = new ArrayList<>();

    private Builder() {}

    /** The address to bind (default 127.0.0.1: only this machine can connect). */
    public Builder host(String host) {
      this.host = host;
      return this;
    }

    /** The port (default 0: any free port; {@link OipServer#port()} says which). */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
      }
      this.port = port;
      return this;
    }

    /** The bearer token every request must carry, or null for none. */
    public Builder token(String token) {
      this.token = token == null || token.isEmpty() ? null : token;
      return this;
    }

    /** The server's name and version in its metadata. */
    public Builder metadata(String name, String version) {
      this.name = name;
      this.version = version;
      return this;
    }

    /** The largest request body accepted (default 1 GiB). */
    public Builder maxBodyBytes(long max) {
      this.maxBodyBytes = max;
      return this;
    }

    /** Serves {@code model} under its name. */
    public Builder model(Model model) {
      if (models.putIfAbsent(model.name(), model) != null) {
        throw new IllegalArgumentException("two models are named '" + model.name() + "'");
      }
      return this;
    }

    /** Runs {@code filter} before every request (e.g. to log, or to inject faults in tests). */
    public Builder filter(Filter filter) {
      filters.add(filter);
      return this;
    }

    /** Binds and starts serving. */
    public OipServer start() throws IOException {
      return new OipServer(this);
    }
  }

  private final HttpServer server;
  private final ExecutorService executor;
  private final Map<String, Model> models;
  private final byte[] token;
  private final String name;
  private final String version;
  private final long maxBodyBytes;

  /** A server builder. */
  public static Builder builder() {
    return new Builder();
  }

  private OipServer(Builder b) throws IOException {
    this.models = Map.copyOf(b.models);
    this.token = b.token == null ? null : b.token.getBytes(StandardCharsets.UTF_8);
    this.name = b.name;
    this.version = b.version;
    this.maxBodyBytes = b.maxBodyBytes;
    this.server =
        HttpServer.create(new InetSocketAddress(InetAddress.getByName(b.host), b.port), 0);
    this.executor = Executors.newVirtualThreadPerTaskExecutor();
    server.setExecutor(executor);
    HttpContext ctx = server.createContext("/", this::handle);
    ctx.getFilters().addAll(b.filters);
    server.start();
  }

  /** The port it listens on. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** The base URL clients use ({@code http://host:port}). */
  public URI url() {
    InetSocketAddress a = server.getAddress();
    String host = a.getAddress().getHostAddress();
    if (a.getAddress().isAnyLocalAddress()) {
      host = "127.0.0.1";
    }
    return URI.create(
        "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort());
  }

  /** The names of the models it serves. */
  public List<String> modelNames() {
    return models.keySet().stream().sorted().toList();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  // ---------------------------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      if (!authorized(ex)) {
        ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
        drain(ex);
        error(ex, 401, "a valid bearer token is required (Authorization: Bearer ...)");
        return;
      }
      String path = ex.getRequestURI().getRawPath();
      List<String> parts = new ArrayList<>();
      for (String p : path.split("/")) {
        if (!p.isEmpty()) {
          parts.add(URLDecoder.decode(p, StandardCharsets.UTF_8));
        }
      }
      if (parts.isEmpty() || !parts.getFirst().equals("v2")) {
        drain(ex);
        error(ex, 404, "no such endpoint: " + path);
        return;
      }
      route(ex, parts.subList(1, parts.size()));
    } catch (IOException e) {
      // the client went away; nothing to answer
    }
  }

  private void route(HttpExchange ex, List<String> p) throws IOException {
    String method = ex.getRequestMethod();
    if (p.isEmpty()) {
      if (get(ex, method)) {
        json(
            ex,
            200,
            Map.of("name", name, "version", version, "extensions", List.of("binary_tensor_data")));
      }
      return;
    }
    if (p.getFirst().equals("health") && p.size() == 2 && p.get(1).matches("live|ready")) {
      if (get(ex, method)) {
        json(ex, 200, Map.of(p.get(1), true));
      }
      return;
    }
    if (p.getFirst().equals("models") && p.size() >= 2) {
      Model m = models.get(p.get(1));
      List<String> rest = new ArrayList<>(p.subList(2, p.size()));
      if (rest.size() >= 2 && rest.get(0).equals("versions")) {
        rest = rest.subList(2, rest.size()); // one version per model: any version is it
      }
      if (m == null) {
        drain(ex);
        error(ex, 404, "unknown model '" + p.get(1) + "' (served: " + modelNames() + ")");
        return;
      }
      if (rest.isEmpty()) {
        if (get(ex, method)) {
          Map<String, Object> meta = new LinkedHashMap<>();
          meta.put("name", m.name());
          meta.put("versions", List.of("1"));
          meta.put("platform", name);
          meta.putAll(m.metadata());
          json(ex, 200, meta);
        }
        return;
      }
      if (rest.size() == 1 && rest.getFirst().equals("ready")) {
        if (get(ex, method)) {
          json(ex, 200, Map.of("name", m.name(), "ready", true));
        }
        return;
      }
      if (rest.size() == 1 && rest.getFirst().equals("infer")) {
        if (!method.equals("POST")) {
          drain(ex);
          error(ex, 405, "infer takes POST, not " + method);
          return;
        }
        infer(ex, m);
        return;
      }
    }
    drain(ex);
    error(ex, 404, "no such endpoint: " + ex.getRequestURI().getRawPath());
  }

  private void infer(HttpExchange ex, Model m) throws IOException {
    String lengthHeader = ex.getRequestHeaders().getFirst("Content-Length");
    if (lengthHeader != null) {
      try {
        if (Long.parseLong(lengthHeader.strip()) > maxBodyBytes) {
          error(ex, 413, "the request is larger than " + maxBodyBytes + " bytes");
          return;
        }
      } catch (NumberFormatException e) {
        error(ex, 400, "bad Content-Length: " + lengthHeader);
        return;
      }
    }
    byte[] body = readBody(ex.getRequestBody(), maxBodyBytes);
    if (body == null) {
      error(ex, 413, "the request is larger than " + maxBodyBytes + " bytes");
      return;
    }
    int jsonLength = -1;
    String h = ex.getRequestHeaders().getFirst(OipCodec.HEADER_LENGTH);
    if (h != null) {
      try {
        jsonLength = Integer.parseInt(h.strip());
      } catch (NumberFormatException e) {
        error(ex, 400, "bad " + OipCodec.HEADER_LENGTH + " header: " + h);
        return;
      }
    }
    OipCodec.Request request;
    try {
      request = OipCodec.decodeRequest(body, jsonLength);
    } catch (IllegalArgumentException e) {
      error(ex, 400, "malformed request: " + e.getMessage());
      return;
    }
    Result result;
    try {
      result = m.infer(request);
    } catch (IllegalArgumentException e) {
      error(ex, 400, e.getMessage());
      return;
    } catch (RuntimeException e) {
      error(ex, 500, "model '" + m.name() + "' failed: " + e);
      return;
    }
    List<OipTensor> outputs = result.outputs();
    boolean allBinary = Boolean.TRUE.equals(request.parameters().get("binary_data_output"));
    java.util.Set<String> binary = new java.util.HashSet<>();
    if (!request.outputs().isEmpty()) {
      List<OipTensor> chosen = new ArrayList<>();
      for (OipCodec.RequestedOutput o : request.outputs()) {
        Optional<OipTensor> t = outputs.stream().filter(x -> x.name().equals(o.name())).findFirst();
        if (t.isEmpty()) {
          error(ex, 400, "model '" + m.name() + "' has no output '" + o.name() + "'");
          return;
        }
        chosen.add(t.get());
        if (o.binary() || allBinary) {
          binary.add(o.name());
        }
      }
      outputs = chosen;
    } else if (allBinary) {
      outputs.forEach(t -> binary.add(t.name()));
    }
    OipCodec.Body out =
        OipCodec.encodeResponse(
            new OipCodec.Response(m.name(), "1", request.id(), result.parameters(), outputs),
            t -> binary.contains(t.name()));
    ex.getResponseHeaders().set("Content-Type", out.contentType());
    if (out.jsonLength() >= 0) {
      ex.getResponseHeaders().set(OipCodec.HEADER_LENGTH, Integer.toString(out.jsonLength()));
    }
    send(ex, 200, out.bytes());
  }

  private boolean authorized(HttpExchange ex) {
    if (token == null) {
      return true;
    }
    String h = ex.getRequestHeaders().getFirst("Authorization");
    if (h == null || !h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    byte[] given = h.substring(7).strip().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(given, token);
  }

  private static boolean get(HttpExchange ex, String method) throws IOException {
    drain(ex);
    if (!method.equals("GET")) {
      error(ex, 405, "this endpoint takes GET, not " + method);
      return false;
    }
    return true;
  }

  /** The whole body, or null when it is longer than {@code max}. */
  private static byte[] readBody(InputStream in, long max) throws IOException {
    byte[] b = in.readNBytes((int) Math.min(max + 1, Integer.MAX_VALUE - 8));
    return b.length > max ? null : b;
  }

  private static void drain(HttpExchange ex) throws IOException {
    ex.getRequestBody().transferTo(java.io.OutputStream.nullOutputStream());
  }

  private static void json(HttpExchange ex, int status, Object value) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "application/json");
    send(ex, status, OipCodec.json(value));
  }

  private static void error(HttpExchange ex, int status, String message) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "application/json");
    send(ex, status, OipCodec.errorBody(message));
  }

  private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      ex.getResponseBody().write(body);
    }
  }
}
