package org.flowscale.rewards.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.rewards.ImagePixels;
import org.flowscale.rewards.oip.OipException;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The Python reference servers ({@code tools/rewards/}): their unit tests (stubbed models), and
 * flowscale's client against their shared protocol layer with a stub model, so both sides of the
 * wire format are checked against each other. Needs {@code flowscale.python} (default {@code
 * /usr/bin/python3}) with numpy and PIL; skipped without them, failed under {@code
 * flowscale.torch.required} (as {@code bin/test} runs, having installed them).
 */
class PythonServersTest {
  static final Path TOOLS =
      Path.of(System.getProperty("flowscale.root", "..")).toAbsolutePath().resolve("tools/rewards");
  static final String PYTHON = System.getProperty("flowscale.python", "/usr/bin/python3");

  static void requirePython() throws Exception {
    String why = null;
    if (!Files.isRegularFile(TOOLS.resolve("oip_server.py"))) {
      why = "no " + TOOLS.resolve("oip_server.py");
    } else {
      try {
        Process p =
            new ProcessBuilder(PYTHON, "-c", "import numpy, PIL").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
          why = PYTHON + " lacks numpy or PIL: " + out.strip();
        }
      } catch (IOException e) {
        why = PYTHON + " cannot run: " + e.getMessage();
      }
    }
    if (why != null) {
      String message =
          "the reference reward servers' tests cannot run: "
              + why
              + " (bin/test installs python3-numpy and python3-pil)";
      if (Boolean.getBoolean("flowscale.torch.required")) {
        Assertions.fail(message);
      }
      System.err.println("[flowscale] SKIPPING " + message);
      Assumptions.abort(message);
    }
  }

  @Test
  void theServersUnitTestsPass() throws Exception {
    requirePython();
    Process p =
        new ProcessBuilder(PYTHON, "-m", "unittest", "discover", "-s", "tests", "-t", "tests", "-v")
            .directory(TOOLS.toFile())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out:\n" + out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("OK"), out);
  }

  /** A stub server of the shared Python layer on an ephemeral port; closed with the process. */
  record Stub(Process process, String url) implements AutoCloseable {
    static Stub start(String token, int maxBatch) throws Exception {
      ProcessBuilder pb =
          new ProcessBuilder(
                  PYTHON,
                  "tests/stub_server.py",
                  "--port",
                  "0",
                  "--max-batch",
                  Integer.toString(maxBatch),
                  "--token-env",
                  "STUB_TOKEN")
              .directory(TOOLS.toFile())
              .redirectError(ProcessBuilder.Redirect.INHERIT);
      pb.environment().put("STUB_TOKEN", token);
      Process p = pb.start();
      BufferedReader r =
          new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = r.readLine();
      Matcher m = Pattern.compile("listening on (http://\\S+) ").matcher(line == null ? "" : line);
      if (!m.find()) {
        p.destroyForcibly();
        throw new AssertionError("the stub server did not start: " + line);
      }
      return new Stub(p, m.group(1));
    }

    @Override
    public void close() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  @Test
  void flowscalesClientAndThePythonLayerAgreeOnTheWireFormat() throws Exception {
    requirePython();
    float[] x = RemoteRewardTest.images(7);
    String prompt = "a prompt with ünïcode";
    int d = 32 * 32 * 3;
    double[] want = new double[7];
    for (int i = 0; i < 7; i++) {
      double sum = 0;
      for (int j = 0; j < d; j++) {
        sum += ImagePixels.toUint8(x[i * d + j]);
      }
      want[i] = sum / d / 255 + 0.5 * prompt.length();
    }
    try (Stub stub = Stub.start("py-token-1", 4);
        ParticleOps ops = Backends.create("cpu")) {
      for (String dtype : List.of("uint8", "fp32")) {
        Map<String, Object> s = new HashMap<>();
        s.put("reward_url", stub.url());
        s.put("reward_model", "brightness");
        s.put("reward_token_env", "T");
        s.put("reward_batch_size", 3L);
        s.put("reward_image_dtype", dtype);
        try (RewardModel m =
                new RemoteRewardFactory(v -> "py-token-1")
                    .load("remote", s, RemoteRewardTest.IMAGES);
            Reward r = m.condition(prompt)) {
          double[] got = RemoteRewardTest.score(ops, r, x);
          // the server answers FP32
          for (int i = 0; i < 7; i++) {
            assertEquals((float) want[i], got[i], 0.0, dtype + " image " + i);
          }
        }
      }
      Map<String, Object> s = new HashMap<>();
      s.put("reward_url", stub.url());
      s.put("reward_model", "brightness");
      s.put("reward_token_env", "T");
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new RemoteRewardFactory(v -> "wrong").load("remote", s, RemoteRewardTest.IMAGES));
      assertEquals(401, ((OipException) e.getCause()).status());
    }
  }
}
