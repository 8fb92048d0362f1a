package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cheap look at a command line that decides which factories to prepare early. */
class PreloadTest {
  private static final String TORCH = "config/torchscript/rbf.yaml";
  private static final String TOY = "config/toy/quantity_aware/rbf.yaml";

  private static Path repo(String file) {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve(file))) {
        return dir.resolve(file);
      }
    }
    throw new AssertionError(file + " not found above the working directory");
  }

  private static List<String> models(String... args) throws Exception {
    return Preload.models(args);
  }

  private static List<String> rewards(String... args) throws Exception {
    return Preload.rewards(args);
  }

  @Test
  void aTorchScriptConfigNamesItsModelAndReward() throws Exception {
    String c = repo(TORCH).toString();
    assertEquals(List.of("torchscript"), models("run", "--config", c, "seed=3"));
    assertEquals(List.of("torchscript"), rewards("run", "-c", c));
    assertEquals(List.of("torchscript"), models("--debug", "run", "--config=" + c));
  }

  @Test
  void theToyConfigPreparesNoTorch() throws Exception {
    String c = repo(TOY).toString();
    assertEquals(List.of("toy"), models("run", "--config", c));
    assertEquals(List.of("counting"), rewards("run", "--config", c));
    // and the demo, which has no config, prepares nothing
    assertEquals(List.of(), models("demo"));
  }

  @Test
  void anOverrideWins() throws Exception {
    String c = repo(TORCH).toString();
    assertEquals(List.of("toy"), models("run", "--config", c, "model=toy"));
    assertEquals(List.of("counting"), rewards("run", "--config", c, "reward_score='counting'"));
  }

  @Test
  void otherCommandsAndUnreadableConfigsPrepareNothing(@TempDir Path dir) throws Exception {
    String c = repo(TORCH).toString();
    assertEquals(List.of(), models("batch", "--config", c));
    assertEquals(List.of(), models("--help", "run", "--config", c));
    assertEquals(List.of(), models("run", "--config", dir.resolve("none.yaml").toString()));
    assertEquals(List.of(), models("run"));
    Path odd = Files.writeString(dir.resolve("odd.yaml"), "model: [a, b]\nreward_score: x y\n");
    assertEquals(List.of(), models("run", "--config", odd.toString()));
    assertEquals(List.of(), rewards("run", "--config", odd.toString()));
    Path two = Files.writeString(dir.resolve("two.yaml"), "model: toy\nmodel: torchscript\n");
    assertEquals(List.of(), models("run", "--config", two.toString()));
  }

  @Test
  void startNeverThrows(@TempDir Path dir) throws Exception {
    Path bad = Files.writeString(dir.resolve("bad.yaml"), "model: no_such_model\n");
    Preload.start(new String[] {"run", "--config", bad.toString()});
    Preload.start(new String[] {"run", "--config"});
    Preload.start(new String[0]);
  }
}
