package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every config under config/ runs, at a small budget: 100 NFE over 2 steps keeps every paper
 * setting's shape (B x K x S and RBF's initial particles fit exactly as at 500 NFE, 10 steps);
 * Search over Paths keeps its rounds with 6 copies instead of 31 (4 + 6 x 16 = 100 NFE).
 */
class ShippedConfigsIT {
  @TempDir Path tmp;

  static Stream<Path> configs() throws IOException {
    Path dir = EndToEndIT.ROOT.resolve("config");
    List<Path> all;
    try (Stream<Path> s = Files.walk(dir)) {
      // config/torchscript needs TorchScript files: TorchScriptEndToEndIT runs it with fixtures;
      // config/flux needs a checkpoint: FluxEndToEndIT runs it with a tiny one.
      all =
          s.filter(p -> p.toString().endsWith(".yaml"))
              .filter(p -> !p.startsWith(dir.resolve("torchscript")))
              .filter(p -> !p.startsWith(dir.resolve("flux")))
              .sorted()
              .toList();
    }
    assertEquals(15, all.size(), "config/toy/{quantity_aware,compositional}x6 + aesthetic x3");
    return all.stream();
  }

  @ParameterizedTest
  @MethodSource("configs")
  void runsAtASmallBudget(Path config) throws Exception {
    // sop does not read max_steps: 6 copies per round make its 500 NFE shape 100.
    boolean sop = config.getFileName().toString().equals("sop.yaml");
    Cli r =
        Cli.run(
            "run",
            "--config",
            config.toString(),
            "--progress",
            "none",
            "max_nfe=100",
            sop ? "n_particles=6" : "max_steps=2",
            "root_dir=" + tmp);
    assertEquals(0, r.code(), config + ": " + r);
    Path run;
    try (Stream<Path> s = Files.list(tmp)) {
      run = s.findFirst().orElseThrow();
    }
    JsonNode report = new ObjectMapper().readTree(run.resolve("report.json").toFile());
    assertTrue(report.get("nfe").asLong() <= 100, report.toString());
    assertTrue(Files.size(run.resolve("final.png")) > 0);
    String folder = config.getParent().getFileName().toString();
    String method = config.getFileName().toString().replace(".yaml", "");
    assertTrue(
        run.getFileName().toString().startsWith(folder + "_" + method + "_"), run.toString());
    assertEquals(method, report.get("method").asText());
  }
}
