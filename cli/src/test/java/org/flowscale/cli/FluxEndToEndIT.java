package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flowscale.flux.FluxFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RBF through the shaded jar with {@code model: flux}: config/flux/schnell/rbf.yaml on the CPU with
 * a tiny random checkpoint in FLUX.1-schnell's layout (real depth), the architecture file made by
 * tools/flux/flux_arch.py, a text embeddings file, and a TorchScript reward on latents: the
 * fixtures of flux/src/test/python/make_flux_fixtures.py (the flux module's, when its build made
 * them from the same scripts; else made here). Skipped with the reason when the shim or PyTorch is
 * missing, unless {@code flowscale.torch.required} is set ({@code bin/test} sets it).
 */
class FluxEndToEndIT {
  private static final String WHAT = "FLUX end-to-end test";

  @TempDir Path tmp;

  @Test
  void rbfWithFluxAndATorchScriptReward() throws Exception {
    Path fixtures = TorchRuns.fixtures(WHAT, FluxFixtures::make);
    // case 0 of the fixtures: 128x128 images, 7 text tokens, its own embeddings file
    String prompt = "case 0 with 1 particles of 128x128 and 7 tokens";

    Path runs = tmp.resolve("runs");
    List<String> cmd =
        TorchRuns.command(
            WHAT,
            "run",
            "--config",
            EndToEndIT.ROOT.resolve("config/flux/schnell/rbf.yaml").toString(),
            "--progress",
            "none",
            "text_prompt='" + prompt + "'",
            "model_dir=null",
            "architecture_dir=null",
            "model_path=" + fixtures.resolve("schnell.safetensors"),
            "architecture_path=" + fixtures.resolve("flux-arch.pt"),
            "text_embeddings=" + fixtures.resolve("emb-case0.safetensors"),
            "reward_path=" + fixtures.resolve("latent_reward.pt"),
            "axes_dim=[4, 6, 6]",
            "height=128",
            "width=128",
            "dtype=float32",
            "device=cpu",
            "backend=cpu",
            "max_nfe=70",
            "max_steps=3",
            "root_dir=" + runs);
    Path run = EndToEndIT.completedRun(cmd, runs);
    JsonNode report = new ObjectMapper().readTree(run.resolve("report.json").toFile());
    assertEquals("rbf", report.get("method").asText());
    assertEquals("flux", report.get("model").asText());
    long nfe = report.get("nfe").asLong();
    // 2 x 25 initial particles, then rounds of 2 proposals: used but never exceeded
    assertTrue(nfe > 50 && nfe <= 70, "nfe " + nfe);
    // every proposal was scored through the FLUX velocity and the reward; the output is one
    // of them (which one is the method's rule, tested in the engine)
    double best = report.get("best_reward").asDouble();
    boolean finalSeen = false;
    int scored = 0;
    ObjectMapper json = new ObjectMapper();
    for (String line : Files.readAllLines(run.resolve("trace.jsonl"))) {
      JsonNode e = json.readTree(line);
      double r = e.get("reward").asDouble();
      assertTrue(Double.isFinite(r) && r < 0, e.toString());
      scored++;
      finalSeen |= e.get("event").asText().equals("final") && r == best;
    }
    assertTrue(finalSeen, "best_reward " + best + " is the trace's final entry");
    assertTrue(scored > 50, "scored " + scored);
    String config = Files.readString(run.resolve("config.yaml"));
    assertTrue(config.contains("model: flux"), config);

    // a wrong checkpoint is a one-line config error, exit 2, nothing run
    List<String> bad = new ArrayList<>(cmd);
    bad.replaceAll(
        a ->
            a.startsWith("model_path=") ? "model_path=" + fixtures.resolve("latent_reward.pt") : a);
    EndToEndIT.Proc q = EndToEndIT.exec(bad, Map.of());
    assertEquals(2, q.code(), q.toString());
    assertFalse(q.hasStackTrace(), q.toString());
    assertTrue(q.toString().contains("latent_reward.pt"), q.toString());
  }
}
