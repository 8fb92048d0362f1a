package org.flowscale.cli;

import static org.flowscale.api.testing.TestFiles.files;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.flowscale.rewards.testing.FaultyServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code reward_score: remote} through the command line, against the toy reward server on a
 * loopback port: the same run as the in-process reward, and every fault ending with a clear error
 * and nothing half-written.
 */
class RemoteRewardRunTest {
  static final Path ROOT = Path.of(System.getProperty("flowscale.root", "..")).toAbsolutePath();
  static final String CONFIG = ROOT.resolve("config/toy/quantity_aware/rbf.yaml").toString();

  @TempDir Path tmp;
  FaultyServer server;

  @BeforeEach
  void start() {
    server = FaultyServer.start(null);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** The shipped RBF config at a smaller budget, into {@code tmp/runs/tag}. */
  Cli run(String tag, String... overrides) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "run",
                "-c",
                CONFIG,
                "max_nfe=150",
                "init_n_particles=10",
                "root_dir=" + tmp.resolve("runs"),
                "tag=" + tag,
                "save_now=false"));
    args.addAll(List.of(overrides));
    args.addAll(List.of("--progress", "none"));
    return Cli.run(args.toArray(String[]::new));
  }

  String[] remote(String... more) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "reward_score=remote",
                "reward_url=" + server.url(),
                "reward_model=counting",
                "reward_backoff_s=0.01"));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  static JsonNode report(Path dir) throws IOException {
    return new ObjectMapper().readTree(dir.resolve("report.json").toFile());
  }

  @Test
  void aRemoteRunEqualsTheInProcessRun() throws IOException {
    Cli local = run("local");
    assertEquals(0, local.code(), local.toString());
    Cli remote = run("remote", remote("reward_image_dtype=fp32", "reward_batch_size=7"));
    assertEquals(0, remote.code(), remote.toString());

    Path l = tmp.resolve("runs/local");
    Path r = tmp.resolve("runs/remote");
    JsonNode a = report(l);
    JsonNode b = report(r);
    assertEquals(a.get("best_reward"), b.get("best_reward"));
    assertEquals(a.get("nfe"), b.get("nfe"));
    String trace = Files.readString(l.resolve("trace.jsonl"));
    assertTrue(trace.contains("\"reward\""), trace);
    assertEquals(trace, Files.readString(r.resolve("trace.jsonl")));
    assertArrayEquals(
        Files.readAllBytes(l.resolve("final.png")), Files.readAllBytes(r.resolve("final.png")));
    assertEquals("remote", b.get("reward_score").asText());
    assertTrue(server.batchSizes().size() > 1, "the run went through the server");
    assertTrue(server.batchSizes().stream().allMatch(n -> n <= 7), server.batchSizes().toString());
    String config = Files.readString(r.resolve("config.yaml"));
    assertTrue(config.contains("reward_url: " + server.url()), config);
    assertTrue(config.contains("reward_image_dtype: fp32"), config);
    // the resolved config repeats the run
    Cli again =
        Cli.run(
            "run", "-c", r.resolve("config.yaml").toString(), "tag=again", "--progress", "none");
    assertEquals(0, again.code(), again.toString());
    assertEquals(a.get("best_reward"), report(tmp.resolve("runs/again")).get("best_reward"));
  }

  @Test
  void uint8ImagesRunToTheEnd() throws IOException {
    Cli remote = run("u8", remote());
    assertEquals(0, remote.code(), remote.toString());
    assertEquals(
        List.of("config.yaml", "final.png", "report.json", "trace.jsonl"),
        files(tmp.resolve("runs/u8")));
  }

  @Test
  void retriesDuringARunDoNotChangeItsResult() throws IOException {
    Cli local = run("local");
    assertEquals(0, local.code(), local.toString());
    server.failNext(2, 503, "warming up");
    Cli remote =
        run("remote", remote("reward_image_dtype=fp32", "reward_retries=2", "reward_timeout_s=5"));
    assertEquals(0, remote.code(), remote.toString());
    assertEquals(
        report(tmp.resolve("runs/local")).get("best_reward"),
        report(tmp.resolve("runs/remote")).get("best_reward"));
  }

  @Test
  void aServerThatIsDownStopsTheRunBeforeAnyWork() throws IOException {
    String[] args = remote();
    server.close();
    Cli r = run("down", args);
    // a server that is down may be up on a retry: exit 1, unlike a corrupt file (exit 2)
    assertEquals(1, r.code(), r.toString());
    assertTrue(
        r.err()
            .startsWith(
                "flowscale: run failed: reward_score 'remote' failed to load: reward server "),
        r.err());
    assertTrue(r.err().contains("cannot connect"), r.err());
    assertTrue(r.err().contains("check reward_url"), r.err());
    assertEquals(1, r.err().strip().lines().count(), r.toString());
    assertFalse(r.hasStackTrace(), r.toString());
    assertTrue(Files.notExists(tmp.resolve("runs")), "nothing was written");
  }

  @Test
  void aDryRunChecksTheServer() {
    Cli ok = run("dry", remote("--dry-run"));
    assertEquals(0, ok.code(), ok.toString());
    assertEquals(0, server.inferRequests(), "a dry run infers nothing");
    Cli bad = run("dry", remote("reward_model=vqascore", "--dry-run"));
    assertEquals(2, bad.code(), bad.toString());
    assertTrue(bad.err().contains("unknown model 'vqascore'"), bad.err());
  }

  /**
   * A fault in the middle of the run: exit 1 naming the cause; the run directory holds config.yaml,
   * report.json with status failed and the error, and best_so_far.png when anything was scored;
   * nothing half-written.
   */
  JsonNode failsMidRun(String expected, String... overrides) throws IOException {
    Cli r = run("fail", remote(overrides));
    assertEquals(1, r.code(), r.toString());
    assertTrue(r.err().startsWith("flowscale: run failed: "), r.err());
    assertTrue(r.err().contains(expected), "expected '" + expected + "' in " + r.err());
    assertTrue(r.err().contains("what was written so far is in " + tmp.resolve("runs/fail")));
    assertFalse(r.hasStackTrace(), r.toString());
    Path dir = tmp.resolve("runs/fail");
    JsonNode report = report(dir);
    assertEquals("failed", report.get("status").asText(), report.toString());
    assertTrue(report.get("error").asText().contains(expected), report.toString());
    List<String> want =
        report.get("best_reward").isNull()
            ? List.of("config.yaml", "report.json", "trace.jsonl")
            : List.of("best_so_far.png", "config.yaml", "report.json", "trace.jsonl");
    assertEquals(want, files(dir), "no half-written or temporary file");
    return report;
  }

  @Test
  void aNanScoreMidRunEndsItClearly() throws IOException {
    server.answer(FaultyServer.Answer.NAN, 3);
    failsMidRun("is NaN, not a finite number", "reward_batch_size=4");
    assertEquals(3, server.inferRequests());
  }

  @Test
  void aLateFailureKeepsTheBestSampleSoFar() throws IOException {
    server.answer(FaultyServer.Answer.NAN, 12);
    JsonNode report = failsMidRun("is NaN, not a finite number", "reward_batch_size=4");
    assertTrue(report.get("best_reward").isNumber(), report.toString());
    assertTrue(report.get("nfe").asLong() > 0, report.toString());
  }

  @Test
  void aWrongShapeMidRunEndsItClearly() throws IOException {
    server.answer(FaultyServer.Answer.WRONG_SHAPE, 2);
    failsMidRun("'scores' have shape [3], expected [4]", "reward_batch_size=4");
  }

  @Test
  void anErrorBodyEndsTheRunWithTheServersMessage() throws IOException {
    server.answer(FaultyServer.Answer.ERROR_400, 2);
    failsMidRun("HTTP 400: prompt is too long for the model");
  }

  @Test
  void retriesRunningOutEndTheRun() throws IOException {
    server.stallNext(1, Duration.ofSeconds(30));
    server.failNext(100, 503, "GPU is busy");
    failsMidRun("failed after 2 attempts; the last: HTTP 503: GPU is busy", "reward_retries=1");
    server.failNext(0, 503, "");
  }

  @Test
  void aStallOnEveryTryEndsTheRun() throws IOException {
    server.stallNext(100, Duration.ofSeconds(30));
    failsMidRun("no complete answer within 0.2 s", "reward_retries=1", "reward_timeout_s=0.2");
  }

  @Test
  void remoteKeysNeedTheRemoteReward() {
    Cli r = run("x", "reward_url=http://127.0.0.1:1");
    assertEquals(2, r.code(), r.toString());
    assertTrue(
        r.err()
            .contains(
                "key reward_url is a setting of reward_score remote, but reward_score is"
                    + " 'counting'"),
        r.err());
  }
}
