package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flowscale.rewards.testing.FaultyServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rewards: [...]}: several rewards as one weighted sum, in-process and remote. */
class WeightedRewardsRunTest {
  @TempDir Path tmp;

  static final String BASE =
      "text_prompt: two blue squares and one red circle\n"
          + "model: toy\n"
          + "filtering_method: bon\n"
          + "batch_size: 10\n"
          + "max_nfe: 100\n"
          + "save_now: false\n";

  Cli run(String yaml, String tag, String... overrides) throws IOException {
    Path c = tmp.resolve(tag + ".yaml");
    Files.writeString(c, BASE + "root_dir: '" + tmp.resolve("runs") + "'\n" + yaml);
    List<String> args = new ArrayList<>(List.of("run", "-c", c.toString(), "tag=" + tag));
    args.addAll(List.of(overrides));
    args.addAll(List.of("--progress", "none"));
    return Cli.run(args.toArray(String[]::new));
  }

  JsonNode report(String tag) throws IOException {
    return new ObjectMapper().readTree(tmp.resolve("runs/" + tag + "/report.json").toFile());
  }

  /** Exit 2 with one line holding {@code part}, and nothing written. */
  void refused(String yaml, String part, String... overrides) throws IOException {
    Cli r = run(yaml, "bad", overrides);
    assertEquals(2, r.code(), r.toString());
    assertTrue(r.err().contains(part), "expected '" + part + "' in " + r.err());
    assertFalse(r.hasStackTrace(), r.toString());
    assertTrue(Files.notExists(tmp.resolve("runs/bad")));
  }

  @Test
  void aWeightedSumRunsAndItsConfigRepeatsIt() throws IOException {
    String rewards =
        "rewards:\n  - {score: counting, weight: 1.0}\n  - {score: compositional, weight: 2}\n";
    Cli r = run(rewards, "w");
    assertEquals(0, r.code(), r.toString());
    JsonNode rep = report("w");
    assertTrue(rep.get("reward_score").isNull(), rep.toString());
    assertEquals(
        "[{\"score\":\"counting\",\"weight\":1.0},{\"score\":\"compositional\",\"weight\":2.0}]",
        rep.get("rewards").toString());
    Path dir = tmp.resolve("runs/w");
    Map<String, Object> config =
        org.flowscale.api.FlowscaleConfig.load(dir.resolve("config.yaml"), List.of()).resolved();
    assertEquals(null, config.get("reward_score"));
    assertEquals(
        List.of(
            Map.of("score", "counting", "weight", 1.0),
            Map.of("score", "compositional", "weight", 2.0)),
        config.get("rewards"));
    Cli again =
        Cli.run(
            "run", "-c", dir.resolve("config.yaml").toString(), "tag=again", "--progress", "none");
    assertEquals(0, again.code(), again.toString());
    assertEquals(rep.get("best_reward"), report("again").get("best_reward"));
    assertEquals(rep.get("reward_trace"), report("again").get("reward_trace"));
  }

  @Test
  void aRemoteTermGivesTheInProcessResult() throws IOException {
    try (FaultyServer server = FaultyServer.start(null)) {
      Cli local =
          run(
              "rewards:\n  - {score: counting}\n  - {score: compositional, weight: 0.5}\n",
              "local");
      assertEquals(0, local.code(), local.toString());
      Cli remote =
          run(
              "rewards:\n"
                  + "  - {score: remote, reward_url: '"
                  + server.url()
                  + "', reward_model: counting, reward_image_dtype: fp32}\n"
                  + "  - {score: compositional, weight: 0.5}\n",
              "remote");
      assertEquals(0, remote.code(), remote.toString());
      assertEquals(report("local").get("best_reward"), report("remote").get("best_reward"));
      assertEquals(report("local").get("reward_trace"), report("remote").get("reward_trace"));
      assertEquals("counting", report("remote").get("rewards").get(0).get("reward_model").asText());
      assertTrue(server.inferRequests() > 0);
      server.close();
      Cli down =
          run(
              "rewards:\n  - {score: compositional}\n  - {score: remote, reward_url: '"
                  + server.url()
                  + "', reward_model: counting}\n",
              "down");
      assertEquals(1, down.code(), down.toString());
      assertTrue(
          down.err()
              .startsWith(
                  "flowscale: run failed: rewards entry 2 (score: remote) failed to load: reward"
                      + " server "),
          down.err());
      assertTrue(Files.notExists(tmp.resolve("runs/down")));
    }
  }

  @Test
  void gradientMethodsNeedEveryTermDifferentiable() throws IOException {
    Cli ok =
        run(
            "rewards:\n  - {score: aesthetic, weight: 2}\n  - {score: aesthetic, weight: -1}\n",
            "dps",
            "filtering_method=dps");
    assertEquals(0, ok.code(), ok.toString());
    Cli bad =
        run(
            "rewards:\n  - {score: aesthetic}\n  - {score: counting}\n",
            "bad",
            "filtering_method=dps");
    assertTrue(bad.code() != 0, bad.toString());
    assertTrue(
        bad.err()
            .contains("dps needs a differentiable reward, and 'weighted(aesthetic, counting)' is"),
        bad.err());
  }

  @Test
  void badEntriesAreRefusedWithWhatIsWrong() throws IOException {
    refused(
        "reward_score: counting\nrewards: [{score: counting}]\n",
        "set either reward_score or rewards, not both");
    refused(
        "rewards: [{score: countin}]\n",
        "rewards entry 1: unknown score 'countin': did you" + " mean 'counting'?");
    refused("rewards: [{weight: 2}]\n", "rewards entry 1 needs score: a reward's name, got null");
    refused("rewards: [{score: counting, weight: lots}]\n", "bad value for weight: got text");
    refused(
        "rewards: [{score: remote, reward_url: 'http://x', reward_modle: m}]\n",
        "unknown key 'reward_modle': did you mean 'reward_model'?");
    refused(
        "rewards: [{score: counting}]\nreward_url: 'http://127.0.0.1:1'\n",
        "key reward_url is a setting of reward_score remote: with rewards, put it inside that"
            + " reward's entry");
    refused("rewards: []\n", "it needs at least one reward");
    refused("rewards: [counting]\n", "entry 1 is text 'counting', not a mapping");
    refused("rewards: {score: counting}\n", "bad value for rewards");
    refused("reward_score: null\n", "reward_score must be set");
  }
}
