package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flowscale.rewards.testing.FaultyServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bearer token of {@code reward_score: remote} as a user passes it: an environment variable of
 * the {@code flowscale} process, named in the config, and never written anywhere by the run.
 */
class RemoteRewardIT {
  static final String TOKEN = "fs-token-7c1e5b0d9a";
  @TempDir Path tmp;
  final FaultyServer server = FaultyServer.start(TOKEN);

  @AfterEach
  void stop() {
    server.close();
  }

  EndToEndIT.Proc run(String tag, Map<String, String> env) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(
        List.of(
            "-jar",
            EndToEndIT.JAR.toString(),
            "run",
            "--config",
            EndToEndIT.ROOT.resolve("config/toy/quantity_aware/bon.yaml").toString(),
            "max_nfe=100",
            "batch_size=10",
            "reward_score=remote",
            "reward_url=" + server.url(),
            "reward_model=counting",
            "reward_token_env=FLOWSCALE_REWARD_TOKEN",
            "root_dir=" + tmp,
            "tag=" + tag,
            "save_now=false",
            "--progress",
            "none"));
    return EndToEndIT.exec(cmd, env);
  }

  @Test
  void theTokenComesFromTheEnvironmentAndIsNeverWritten() throws Exception {
    EndToEndIT.Proc p = run("ok", Map.of("FLOWSCALE_REWARD_TOKEN", TOKEN));
    assertEquals(0, p.code(), p.toString());
    assertTrue(server.inferRequests() > 0);
    assertEquals(List.of("Bearer " + TOKEN), server.authorizations().stream().distinct().toList());
    Path dir = tmp.resolve("ok");
    String config = Files.readString(dir.resolve("config.yaml"));
    assertTrue(config.contains("reward_token_env: FLOWSCALE_REWARD_TOKEN"), config);
    for (Path f : EndToEndIT.files(dir)) {
      assertFalse(
          new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1)
              .contains(TOKEN),
          f + " holds the token");
    }
    assertFalse(p.out().contains(TOKEN) || p.err().contains(TOKEN), p.toString());
  }

  @Test
  void aMissingOrWrongTokenIsRefusedBeforeAnyWork() throws Exception {
    EndToEndIT.Proc none = run("none", Map.of());
    assertEquals(2, none.code(), none.toString());
    assertTrue(
        none.err()
            .contains("names the environment variable FLOWSCALE_REWARD_TOKEN, but it is not set"),
        none.toString());
    EndToEndIT.Proc wrong = run("wrong", Map.of("FLOWSCALE_REWARD_TOKEN", "fs-token-guess"));
    assertEquals(2, wrong.code(), wrong.toString());
    assertTrue(wrong.err().contains("HTTP 401"), wrong.toString());
    assertFalse(wrong.err().contains("fs-token-guess"), wrong.toString());
    assertEquals(0, server.inferRequests());
    assertTrue(Files.notExists(tmp.resolve("none")) && Files.notExists(tmp.resolve("wrong")));
  }
}
