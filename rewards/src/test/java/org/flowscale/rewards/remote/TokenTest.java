package org.flowscale.rewards.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.rewards.oip.OipException;
import org.flowscale.rewards.testing.FaultyServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The bearer token: read from the variable the config names, required and checked by servers. */
class TokenTest {
  static final String TOKEN = "tok-3f9a1c77e2";
  FaultyServer server = FaultyServer.start(TOKEN);

  @AfterEach
  void stop() {
    server.close();
  }

  Map<String, Object> settings(String tokenEnv) {
    Map<String, Object> s = new HashMap<>();
    s.put("reward_url", server.url().toString());
    s.put("reward_model", "counting");
    s.put("reward_backoff_s", 0.0);
    if (tokenEnv != null) {
      s.put("reward_token_env", tokenEnv);
    }
    return s;
  }

  @Test
  void theRightTokenIsSentOnEveryRequest() {
    var f = new RemoteRewardFactory(v -> v.equals("REWARD_TOKEN") ? TOKEN : null);
    try (RewardModel m = f.load("remote", settings("REWARD_TOKEN"), RemoteRewardTest.IMAGES);
        Reward r = m.condition(RemoteRewardTest.PROMPT);
        ParticleOps ops = Backends.create("cpu")) {
      assertEquals(2, RemoteRewardTest.score(ops, r, RemoteRewardTest.images(2)).length);
      assertFalse(m.toString().contains(TOKEN));
      assertFalse(r.toString().contains(TOKEN));
    }
    // health, model ready, infer
    assertEquals(List.of("Bearer " + TOKEN), server.authorizations().stream().distinct().toList());
    assertEquals(3, server.authorizations().size());
  }

  @Test
  void noTokenIsRefusedBeforeAnyInference() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new RemoteRewardFactory(v -> null)
                    .load("remote", settings(null), RemoteRewardTest.IMAGES));
    assertEquals(401, ((OipException) e.getCause()).status());
    assertTrue(e.getMessage().contains("HTTP 401 (unauthorized"), e.getMessage());
    assertTrue(e.getMessage().contains("reward_token_env"), e.getMessage());
    assertEquals(0, server.inferRequests());
  }

  @Test
  void aWrongTokenIsRefusedAndNeverShown() {
    String wrong = "tok-wrong-0000";
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new RemoteRewardFactory(v -> wrong)
                    .load("remote", settings("REWARD_TOKEN"), RemoteRewardTest.IMAGES));
    assertEquals(401, ((OipException) e.getCause()).status());
    assertFalse(e.getMessage().contains(wrong), e.getMessage());
    assertFalse(e.getMessage().contains(TOKEN), e.getMessage());
  }

  @Test
  void aMissingOrBadVariableIsAConfigError() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new RemoteRewardFactory(v -> null)
                    .load("remote", settings("REWARD_TOKEN"), RemoteRewardTest.IMAGES));
    assertTrue(
        e.getMessage().contains("names the environment variable REWARD_TOKEN, but it is not set"),
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new RemoteRewardFactory(v -> "two words")
                    .load("remote", settings("REWARD_TOKEN"), RemoteRewardTest.IMAGES));
    assertTrue(e.getMessage().contains("not allowed in an HTTP header"), e.getMessage());
    assertFalse(e.getMessage().contains("two words"));
    assertEquals(0, server.authorizations().size());
  }
}
