package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.Pipeline;
import org.flowscale.cli.testing.GateModelFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code flowscale serve}'s protocol, in process, over loopback only, with a bounded number of
 * requests each bounded in time.
 */
class ServeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(120);

  /** The toy world with a small BoN search: requests take milliseconds. */
  private static final String TOY =
      "model: toy\nreward_score: counting\nfiltering_method: bon\nbatch_size: 4\n"
          + "max_steps: 5\nmax_nfe: 20\n";

  /** A model whose calls wait at a gate the test holds. */
  private static final String GATED =
      "model: test_gate\nreward_score: test_norm\nfiltering_method: bon\nmax_steps: 2\n"
          + "max_nfe: 4\n";

  @TempDir Path tmp;
  private Pipeline pipeline;
  private Server server;
  private Path configFile;
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();

  private void start(String yaml, int concurrency, int queue, Duration maxDeadline)
      throws IOException {
    configFile = tmp.resolve("server.yaml");
    Files.writeString(configFile, yaml + "root_dir: '" + tmp.resolve("runs") + "'\n");
    FlowscaleConfig c = FlowscaleConfig.loadWithoutPrompt(configFile, List.of());
    pipeline = Pipeline.fromConfig(c, concurrency);
    server =
        Server.start(
            pipeline,
            c,
            new Server.Settings("127.0.0.1", 0, queue, maxDeadline, Duration.ofSeconds(30)));
    assertTrue(server.address().getAddress().isLoopbackAddress());
  }

  @AfterEach
  void stop() {
    GateModelFactory.open();
    if (server != null) {
      server.close();
    }
    if (pipeline != null) {
      pipeline.close();
    }
  }

  private URI uri(String path) {
    return URI.create(ServeCommand.url(server.address()) + path);
  }

  private HttpRequest.Builder post(String body) {
    return HttpRequest.newBuilder(uri("/v1/generate"))
        .timeout(TIMEOUT)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
  }

  private HttpResponse<byte[]> send(HttpRequest r) throws Exception {
    return client.send(r, HttpResponse.BodyHandlers.ofByteArray());
  }

  private CompletableFuture<HttpResponse<byte[]>> sendAsync(HttpRequest r) {
    return client.sendAsync(r, HttpResponse.BodyHandlers.ofByteArray());
  }

  private HttpResponse<byte[]> generate(String body) throws Exception {
    return send(post(body).build());
  }

  private HttpResponse<byte[]> health() throws Exception {
    return send(HttpRequest.newBuilder(uri("/v1/health")).timeout(TIMEOUT).GET().build());
  }

  private static JsonNode json(HttpResponse<byte[]> r) throws IOException {
    assertEquals(
        "application/json", r.headers().firstValue("Content-Type").orElse(""), r.toString());
    return JSON.readTree(r.body());
  }

  private static String text(HttpResponse<byte[]> r) {
    return r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8);
  }

  @Test
  void aGenerationAnswersWithTheReportAndTheSamePngAsTheCommandLine() throws Exception {
    start(TOY, 1, 4, Duration.ofSeconds(300));
    HttpResponse<byte[]> r = generate("{\"text_prompt\": \"two blue squares\", \"seed\": 5}");
    assertEquals(200, r.statusCode(), text(r));
    JsonNode body = json(r);
    assertEquals("completed", body.get("status").asText());
    assertEquals(20, body.get("nfe").asLong());
    JsonNode report = body.get("report");
    assertEquals("completed", report.get("status").asText());
    assertEquals("bon", report.get("method").asText());
    assertEquals("two blue squares", report.get("text_prompt").asText());
    assertEquals(5, report.get("seed").asLong());
    assertEquals(body.get("reward").asDouble(), report.get("best_reward").asDouble());
    byte[] png = Base64.getDecoder().decode(body.get("png_base64").asText());

    Cli cli =
        Cli.run(
            "run",
            "--config",
            configFile.toString(),
            "text_prompt=two blue squares",
            "seed=5",
            "tag=cli",
            "save_now=false",
            "--progress",
            "none");
    assertEquals(0, cli.code(), cli.toString());
    Path run = tmp.resolve("runs/cli");
    assertArrayEquals(Files.readAllBytes(run.resolve("final.png")), png, "the CLI's final.png");
    JsonNode cliReport = JSON.readTree(run.resolve("report.json").toFile());
    assertEquals(cliReport.get("best_reward").asDouble(), report.get("best_reward").asDouble());
    assertEquals(cliReport.get("reward_trace"), report.get("reward_trace"));

    HttpResponse<byte[]> raw =
        send(
            post("{\"text_prompt\": \"two blue squares\", \"seed\": 5}")
                .header("Accept", "image/png")
                .build());
    assertEquals(200, raw.statusCode());
    assertEquals("image/png", raw.headers().firstValue("Content-Type").orElseThrow());
    assertEquals("completed", raw.headers().firstValue("X-Flowscale-Status").orElseThrow());
    assertEquals("20", raw.headers().firstValue("X-Flowscale-Nfe").orElseThrow());
    assertArrayEquals(png, raw.body(), "same seed, same PNG");
  }

  @Test
  void concurrentRequestsAllSucceedAndMatchTheSameRequestsOneByOne() throws Exception {
    start(TOY, 2, 8, Duration.ofSeconds(300));
    List<String> bodies = new ArrayList<>();
    for (int seed = 0; seed < 6; seed++) {
      String prompt = seed % 2 == 0 ? "one red circle" : "two blue squares";
      bodies.add("{\"text_prompt\": \"" + prompt + "\", \"seed\": " + seed + "}");
    }
    List<CompletableFuture<HttpResponse<byte[]>>> futures = new ArrayList<>();
    for (String b : bodies) {
      futures.add(sendAsync(post(b).build()));
    }
    for (int i = 0; i < bodies.size(); i++) {
      HttpResponse<byte[]> together = futures.get(i).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      assertEquals(200, together.statusCode(), text(together));
      HttpResponse<byte[]> alone = generate(bodies.get(i));
      assertEquals(200, alone.statusCode(), text(alone));
      JsonNode a = json(together);
      JsonNode b = json(alone);
      assertEquals(b.get("reward"), a.get("reward"));
      assertEquals(b.get("png_base64"), a.get("png_base64"), "request " + i);
    }
    JsonNode h = json(health());
    assertEquals(12, h.get("counters").get("completed").asLong());
    assertEquals(0, h.get("running").asInt());
    assertEquals(0, h.get("waiting").asInt());
  }

  @Test
  void aFullQueueAnswers429WithRetryAfter() throws Exception {
    start(GATED, 1, 1, Duration.ofSeconds(300));
    GateModelFactory.close();
    var first = sendAsync(post("{\"text_prompt\": \"a\"}").build());
    GateModelFactory.awaitCall(); // the first runs (held at the gate)
    var second = sendAsync(post("{\"text_prompt\": \"b\"}").build());
    awaitHealth(h -> h.get("waiting").asInt() == 1); // the second waits in the queue
    HttpResponse<byte[]> third = generate("{\"text_prompt\": \"c\"}");
    assertEquals(429, third.statusCode(), text(third));
    long retry = Long.parseLong(third.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(retry >= 1, "Retry-After " + retry);
    assertTrue(json(third).get("error").asText().contains("busy"), text(third));
    GateModelFactory.open();
    assertEquals(200, first.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).statusCode());
    assertEquals(200, second.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).statusCode());
    assertEquals(200, generate("{\"text_prompt\": \"d\"}").statusCode(), "free again");
  }

  private void awaitHealth(java.util.function.Predicate<JsonNode> condition) throws Exception {
    long end = System.nanoTime() + TIMEOUT.toNanos();
    JsonNode h = json(health());
    while (!condition.test(h)) {
      assertTrue(System.nanoTime() < end, "health never reached the state: " + h);
      Thread.sleep(10);
      h = JSON.readTree(health().body());
    }
  }

  @Test
  void malformedRequestsAre400AndRefusedOnes422WithAOneLineMessage() throws Exception {
    start(TOY, 1, 4, Duration.ofSeconds(300));
    record Case(String body, int status, String message) {}
    List<Case> cases =
        List.of(
            new Case("{\"text_prompt\": \"two red", 400, "malformed JSON"),
            new Case("", 400, "the body is empty"),
            new Case("[1, 2]", 400, "must be a JSON object of config keys, not an array"),
            new Case("{\"text_prompt\": \"a\"} {}", 400, "malformed JSON"),
            new Case("{\"seed\": 1, \"seed\": 2, \"text_prompt\": \"a\"}", 400, "Duplicate"),
            new Case("{\"seed\": 3}", 400, "text_prompt is required"),
            new Case("{\"text_prompt\": {\"a\": 1}}", 400, "cannot be an object"),
            new Case(
                "{\"text_prompt\": \"a\", \"model\": \"toy\"}",
                400,
                "key 'model' belongs to the server's config"),
            new Case(
                "{\"text_prompt\": \"a\", \"beta\": 2}",
                400,
                "key 'beta' belongs to the server's config"),
            new Case(
                "{\"text_prompt\": \"a\", \"root_dir\": \"/tmp\"}",
                400,
                "key 'root_dir' belongs to the server's config"),
            new Case("{\"text_prompt\": \"a\", \"max_nef\": 20}", 400, "did you mean 'max_nfe'?"),
            new Case("{\"text_prompt\": \"a\", \"max_nfe\": -5}", 422, "max_nfe"),
            new Case("{\"text_prompt\": \"a\", \"max_nfe\": 19}", 422, "max_nfe"),
            new Case("{\"text_prompt\": \"one purple circle\"}", 422, "unknown colour 'purple'"),
            new Case("{\"text_prompt\": \"a\", \"seed\": 1e400}", 422, "seed"));
    for (Case c : cases) {
      HttpResponse<byte[]> r = generate(c.body());
      assertEquals(c.status(), r.statusCode(), c.body() + " -> " + text(r));
      String error = json(r).get("error").asText();
      assertTrue(error.contains(c.message()), c.body() + " -> " + error);
      assertFalse(error.contains("\n"), "one line: " + error);
    }
    HttpResponse<byte[]> r =
        send(
            HttpRequest.newBuilder(uri("/v1/generate"))
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("text_prompt=a"))
                .build());
    assertEquals(415, r.statusCode(), text(r));
    r = send(post("{\"text_prompt\": \"" + "a".repeat(70_000) + "\"}").build());
    assertEquals(413, r.statusCode(), "a body over 64 KiB");
    r = send(HttpRequest.newBuilder(uri("/v1/generate")).GET().build());
    assertEquals(405, r.statusCode());
    assertEquals("POST", r.headers().firstValue("Allow").orElseThrow());
    r = send(HttpRequest.newBuilder(uri("/v2/nothing")).GET().build());
    assertEquals(404, r.statusCode());
    JsonNode h = json(health());
    assertEquals(1, h.get("counters").get("failed").asLong(), "only the purple circle ran");
    assertEquals(1, h.get("counters").get("requests").asLong());
  }

  @Test
  void aDeadlineStopsARunWithTheBestSoFar() throws Exception {
    // a budget no run finishes in time: the server's maximum deadline stops it, and a request's
    // own deadline_s can only be shorter
    start(TOY, 1, 4, Duration.ofMillis(1500));
    for (String body :
        List.of(
            "{\"text_prompt\": \"two blue squares\", \"filtering_method\": \"rbf\","
                + " \"max_nfe\": 1000000}",
            "{\"text_prompt\": \"two blue squares\", \"filtering_method\": \"rbf\","
                + " \"max_nfe\": 1000000, \"deadline_s\": 0.5}",
            "{\"text_prompt\": \"two blue squares\", \"filtering_method\": \"rbf\","
                + " \"max_nfe\": 1000000, \"deadline_s\": 100000}")) {
      HttpResponse<byte[]> r = generate(body);
      JsonNode b = json(r);
      JsonNode report = b.get("report");
      // 200 with the best so far; 504 only if the machine was too slow to score anything
      assertTrue(r.statusCode() == 200 || r.statusCode() == 504, text(r));
      assertEquals("cancelled", report.get("status").asText(), text(r));
      assertEquals("deadline", report.get("stop_reason").asText());
      assertTrue(report.get("nfe").asLong() < 1_000_000);
      if (r.statusCode() == 200) {
        assertEquals("cancelled", b.get("status").asText());
        assertTrue(b.get("png_base64").isTextual());
      }
    }
  }

  @Test
  void aShutdownDrainsRunningRequestsAndRefusesNewOnes() throws Exception {
    start(GATED, 1, 1, Duration.ofSeconds(300));
    GateModelFactory.close();
    var running = sendAsync(post("{\"text_prompt\": \"a\"}").build());
    GateModelFactory.awaitCall();
    Thread stopper = Thread.ofPlatform().start(() -> server.shutdown(Duration.ofSeconds(60)));
    awaitHealthStatus(503);
    assertEquals("draining", JSON.readTree(health().body()).get("status").asText());
    HttpResponse<byte[]> refused = generate("{\"text_prompt\": \"b\"}");
    assertEquals(503, refused.statusCode(), text(refused));
    assertTrue(json(refused).get("error").asText().contains("shutting down"));
    GateModelFactory.open();
    HttpResponse<byte[]> done = running.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(200, done.statusCode(), "a running request finishes within the grace");
    assertEquals("completed", json(done).get("status").asText());
    stopper.join(TIMEOUT.toMillis());
    assertFalse(stopper.isAlive());
    assertThrows(IOException.class, this::health, "the listener is closed");
  }

  @Test
  void aShutdownPastItsGraceCancelsRunningRequests() throws Exception {
    start(GATED, 1, 1, Duration.ofSeconds(300));
    GateModelFactory.close();
    var running = sendAsync(post("{\"text_prompt\": \"a\"}").build());
    GateModelFactory.awaitCall();
    Thread stopper = Thread.ofPlatform().start(() -> server.shutdown(Duration.ZERO));
    awaitHealthStatus(503);
    GateModelFactory.open(); // the model call in flight returns; the run stops before the next
    HttpResponse<byte[]> r = running.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    JsonNode report = json(r).get("report");
    assertTrue(r.statusCode() == 200 || r.statusCode() == 503, text(r));
    assertEquals("cancelled", report.get("status").asText(), text(r));
    assertEquals("shutdown", report.get("stop_reason").asText());
    assertTrue(report.get("nfe").asLong() < 4, "BoN spends B S = 4 unless stopped");
    stopper.join(TIMEOUT.toMillis());
    assertFalse(stopper.isAlive());
  }

  private void awaitHealthStatus(int status) throws Exception {
    long end = System.nanoTime() + TIMEOUT.toNanos();
    while (health().statusCode() != status) {
      assertTrue(System.nanoTime() < end, "health never answered " + status);
      Thread.sleep(10);
    }
  }

  /** SMC on the test model: a model call and a reward call per step, 2 rows each. */
  private static final String SMC =
      "model: test_gaussian\nreward_score: test_norm\nfiltering_method: smc\nbatch_size: 2\n"
          + "max_steps: 4\nmax_nfe: 8\n";

  @Test
  void aRewardThatMayRecoverIs503WithRetryAfterAndTheServerServesOn() throws Exception {
    start(
        SMC + "reward_fail_after: 2\nreward_fail_with: transient\n", 1, 2, Duration.ofSeconds(300));
    HttpResponse<byte[]> r = generate("{\"text_prompt\": \"p\"}");
    assertEquals(503, r.statusCode(), text(r));
    assertEquals("5", r.headers().firstValue("Retry-After").orElse(""), text(r));
    JsonNode body = json(r);
    assertTrue(body.get("error").asText().startsWith("reward 'test_norm' failed: "), text(r));
    assertEquals("failed", body.get("report").get("status").asText());
    JsonNode h = json(health());
    assertEquals("ok", h.get("status").asText(), "a failed reward call leaves the server serving");
    assertEquals(1, h.get("counters").get("failed").asLong());
  }

  @Test
  void aLostDeviceIs500AndTheServerStopsServing() throws Exception {
    start(SMC + "fail_after: 2\nfail_with: device_lost\n", 1, 2, Duration.ofSeconds(300));
    HttpResponse<byte[]> r = generate("{\"text_prompt\": \"p\"}");
    assertEquals(500, r.statusCode(), text(r));
    assertTrue(r.headers().firstValue("Retry-After").isEmpty(), text(r));
    assertTrue(json(r).get("error").asText().contains("(device lost)"), text(r));
    HttpResponse<byte[]> h = health();
    assertEquals(503, h.statusCode(), text(h));
    assertEquals("failed", json(h).get("status").asText());
    assertTrue(json(h).get("error").asText().contains("(device lost)"), text(h));
    r = generate("{\"text_prompt\": \"p\"}");
    assertEquals(503, r.statusCode(), text(r));
    assertTrue(json(r).get("error").asText().startsWith("the server cannot serve: "), text(r));
  }

  @Test
  void aBugInTheModelIs500AndTheServerServesOn() throws Exception {
    start(SMC + "fail_after: 2\n", 1, 2, Duration.ofSeconds(300));
    HttpResponse<byte[]> r = generate("{\"text_prompt\": \"p\"}");
    assertEquals(500, r.statusCode(), text(r));
    assertTrue(json(r).get("error").asText().contains("test model failed on purpose"), text(r));
    assertEquals(200, health().statusCode());
  }

  @Test
  void healthSaysWhatIsServed() throws Exception {
    start(TOY, 2, 3, Duration.ofSeconds(300));
    HttpResponse<byte[]> r = health();
    assertEquals(200, r.statusCode());
    JsonNode h = json(r);
    assertEquals("ok", h.get("status").asText());
    assertEquals("toy", h.get("model").asText());
    assertEquals("counting", h.get("reward_score").asText());
    assertEquals("cpu", h.get("backend").asText());
    assertEquals(2, h.get("concurrency").asInt());
    assertEquals(3, h.get("queue").asInt());
    r =
        send(
            HttpRequest.newBuilder(uri("/v1/health"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build());
    assertEquals(405, r.statusCode());
  }

  @Test
  void badServeOptionsAreUsageErrors() {
    Cli c = Cli.run("serve", "--port", "70000");
    assertEquals(2, c.code(), c.toString());
    assertTrue(c.err().contains("--port must be in [0, 65535]"), c.err());
    c = Cli.run("serve", "--host", "no such host.invalid");
    assertEquals(2, c.code(), c.toString());
    assertTrue(c.err().contains("is not a known address"), c.err());
    c = Cli.run("serve", "--concurrency", "0");
    assertEquals(2, c.code(), c.toString());
    c = Cli.run("serve", "max_nef=3");
    assertEquals(2, c.code(), c.toString());
    assertTrue(c.err().contains("did you mean 'max_nfe'?"), c.err());
    assertFalse(c.hasStackTrace(), c.toString());
  }
}
