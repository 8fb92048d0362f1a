package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flowscale.bindings.testing.TorchTesting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RBF through the shaded jar with a TorchScript velocity model and a TorchScript reward, run by
 * libtorch through the native shim: config/torchscript/rbf.yaml with the fixtures that {@code
 * bindings/src/test/python/make_torch_fixtures.py} makes. Like the bindings tests it is skipped
 * (with the reason) when the shim or PyTorch is missing, unless {@code flowscale.torch.required} is
 * set ({@code bin/test} sets it).
 */
class TorchScriptEndToEndIT {
  private static final String WHAT = "TorchScript end-to-end test";

  @TempDir Path tmp;

  @Test
  void rbfWithTorchScriptModelAndReward() throws Exception {
    Path fixtures = TorchRuns.fixtures(WHAT, TorchTesting::torchScriptFixtures);
    Path runs = tmp.resolve("runs");
    List<String> cmd =
        TorchRuns.command(
            WHAT,
            "run",
            "--config",
            EndToEndIT.ROOT.resolve("config/torchscript/rbf.yaml").toString(),
            "--progress",
            "none",
            "model_path=" + fixtures.resolve("velocity_mlp.pt"),
            "reward_path=" + fixtures.resolve("reward_cnn.pt"),
            "max_nfe=150",
            "max_steps=5",
            "root_dir=" + runs);
    Path run = EndToEndIT.completedRun(cmd, runs);
    JsonNode report = new ObjectMapper().readTree(run.resolve("report.json").toFile());
    assertEquals("rbf", report.get("method").asText());
    assertEquals("torchscript", report.get("model").asText());
    assertEquals("torchscript", report.get("reward_score").asText());
    long nfe = report.get("nfe").asLong();
    // 2 x 25 initial particles, then rounds of 2 proposals: the budget is used but never exceeded
    assertTrue(nfe > 50 && nfe <= 150, "nfe " + nfe);
    assertTrue(report.get("reward_calls").asLong() >= nfe, report.toString());

    // RBF keeps the best Tweedie reward it has seen: the output's reward is at least the best
    // initial particle's, and it is what the reward module said about some proposal.
    double best = report.get("best_reward").asDouble();
    double bestInitial = Double.NEGATIVE_INFINITY;
    boolean seen = false;
    int minRound = Integer.MAX_VALUE;
    List<JsonNode> trace = new java.util.ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("trace.jsonl"))) {
      trace.add(new ObjectMapper().readTree(line));
    }
    for (JsonNode e : trace) {
      minRound = Math.min(minRound, e.get("round").asInt());
    }
    for (JsonNode e : trace) {
      double r = e.get("reward").asDouble();
      assertTrue(Double.isFinite(r), e.toString());
      if (e.get("round").asInt() == minRound) {
        bestInitial = Math.max(bestInitial, r);
      }
      seen |= r == best;
    }
    assertTrue(seen, "best_reward " + best + " is in the trace");
    assertTrue(best >= bestInitial, best + " < best initial " + bestInitial);
    // [3, 8, 8] samples are images: the run wrote a viewable final.png
    assertTrue(Files.size(run.resolve("final.png")) > 0);
  }
}
