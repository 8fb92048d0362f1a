package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.Image;
import org.flowscale.api.Pipeline;
import org.flowscale.api.RunOutputs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library and the command line agree: two requests with different prompts on one pipeline (the
 * model loaded once, the prompt per request) give what two separate command-line runs give.
 */
class LibraryMatchesCommandLineTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> PROMPTS = List.of("two blue squares", "one red circle");

  @TempDir Path tmp;

  @Test
  void twoPromptsOnOnePipelineGiveWhatTwoCommandLineRunsGive() throws Exception {
    Path config = tmp.resolve("c.yaml");
    Files.writeString(
        config,
        "model: toy\nreward_score: counting\nfiltering_method: rbf\nbatch_size: 2\n"
            + "init_n_particles: 5\nmax_steps: 10\nmax_nfe: 100\nseed: 11\nroot_dir: '"
            + tmp.resolve("runs")
            + "'\n");
    List<FlowscaleConfig> configs = new ArrayList<>();
    for (String prompt : PROMPTS) {
      configs.add(FlowscaleConfig.load(config, List.of("text_prompt=" + prompt)));
    }
    List<GenerationResult> library = new ArrayList<>();
    try (Pipeline p = Pipeline.fromConfig(configs.getFirst())) {
      for (FlowscaleConfig c : configs) {
        library.add(p.generate(c.request()));
      }
      assertEquals(2, p.metrics().completed());
    }
    assertFalse(
        Arrays.equals(library.get(0).sample().orElseThrow(), library.get(1).sample().orElseThrow()),
        "the prompt is the request's: same seed, other prompt, other sample");

    for (int i = 0; i < PROMPTS.size(); i++) {
      Cli cli =
          Cli.run(
              "run",
              "--config",
              config.toString(),
              "text_prompt=" + PROMPTS.get(i),
              "tag=cli" + i,
              "save_now=false",
              "--progress",
              "none");
      assertEquals(0, cli.code(), cli.toString());
      assertFalse(cli.hasStackTrace(), cli.toString());
      Path run = tmp.resolve("runs/cli" + i);
      GenerationResult lib = library.get(i);
      JsonNode cliReport = JSON.readTree(run.resolve("report.json").toFile());
      JsonNode libReport = JSON.readTree(RunOutputs.report(configs.get(i), lib));
      assertEquals(PROMPTS.get(i), cliReport.get("text_prompt").asText());
      assertEquals(cliReport.get("best_reward").asDouble(), lib.reward(), PROMPTS.get(i));
      assertEquals(cliReport.get("nfe").asLong(), lib.nfe());
      assertEquals(cliReport.get("reward_trace"), libReport.get("reward_trace"));
      Image image = lib.image().orElseThrow();
      assertArrayEquals(
          Files.readAllBytes(run.resolve("final.png")),
          image.png(image.viewScale()),
          "the command line's final.png");
    }
  }
}
