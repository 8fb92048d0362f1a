package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code flowscale serve} as an operator runs it: the shaded jar in its own process, on a free
 * loopback port, answering a generation, then stopping cleanly on SIGTERM.
 */
class ServeIT {
  @TempDir Path tmp;

  @Test
  void theServerAnswersAndStopsOnSigterm() throws Exception {
    Path config = tmp.resolve("server.yaml");
    Files.writeString(
        config,
        "model: toy\nreward_score: counting\nfiltering_method: bon\nbatch_size: 4\n"
            + "max_steps: 5\nmax_nfe: 20\n");
    Path err = tmp.resolve("stderr.txt");
    Process p =
        new ProcessBuilder(
                ProcessHandle.current().info().command().orElse("java"),
                "-jar",
                EndToEndIT.JAR.toString(),
                "serve",
                "--config",
                config.toString(),
                "--port",
                "0")
            .redirectOutput(tmp.resolve("stdout.txt").toFile())
            .redirectError(err.toFile())
            .start();
    try {
      URI base = awaitUrl(p, err);
      assertTrue(base.getHost().equals("127.0.0.1"), "loopback by default: " + base);
      HttpClient client = HttpClient.newHttpClient();
      Duration timeout = Duration.ofSeconds(120);
      HttpResponse<String> health =
          client.send(
              HttpRequest.newBuilder(base.resolve("/v1/health")).timeout(timeout).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, health.statusCode(), health.body());
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(base.resolve("/v1/generate"))
                  .timeout(timeout)
                  .POST(
                      HttpRequest.BodyPublishers.ofString("{\"text_prompt\": \"one red circle\"}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      JsonNode body = new ObjectMapper().readTree(r.body());
      assertEquals("completed", body.get("status").asText());
      assertEquals(20, body.get("nfe").asLong());

      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the server stops on SIGTERM");
      String log = Files.readString(err, StandardCharsets.UTF_8);
      assertEquals(143, p.exitValue(), log);
      assertTrue(log.contains("flowscale: stopping"), log);
      assertTrue(log.contains("flowscale: stopped"), log);
      assertFalse(log.contains("\tat "), "no stack trace: " + log);
    } finally {
      p.destroyForcibly();
    }
  }

  /** The URL the server prints once it listens. */
  private static URI awaitUrl(Process p, Path err) throws Exception {
    Pattern url = Pattern.compile("at (http://[^ ]+) ");
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < end) {
      String log = Files.readString(err, StandardCharsets.UTF_8);
      Matcher m = url.matcher(log);
      if (m.find()) {
        return URI.create(m.group(1));
      }
      if (!p.isAlive()) {
        throw new AssertionError("the server exited " + p.exitValue() + ": " + log);
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the server did not say where it listens: " + Files.readString(err));
  }
}
