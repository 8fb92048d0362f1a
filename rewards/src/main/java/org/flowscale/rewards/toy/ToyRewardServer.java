package org.flowscale.rewards.toy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.PromptCache;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.toy.ToyWorld;
import org.flowscale.rewards.HostTensors;
import org.flowscale.rewards.ImagePixels;
import org.flowscale.rewards.oip.Datatype;
import org.flowscale.rewards.oip.OipCodec;
import org.flowscale.rewards.oip.OipServer;
import org.flowscale.rewards.oip.OipTensor;

/**
 * A reward server of the Open Inference Protocol that scores with the toy world's rewards ({@code
 * counting}, {@code compositional}, {@code aesthetic}: one served model each), so that {@code
 * reward_score: remote} can be tried and tested without a GPU or weights. It takes exactly what the
 * reference servers take ({@code images} UINT8 or FP32 {@code [N, 32, 32, 3]}, {@code prompt} BYTES
 * {@code [N]} or {@code [1]}) and answers {@code scores} FP64 {@code [N]}: the in-process toy
 * reward's values exactly, so a run sending FP32 images gets the in-process run's result.
 *
 * <p>Start it with {@code java -cp flowscale.jar org.flowscale.rewards.toy.ToyRewardServer [--host
 * H] [--port P] [--token-env NAME]} (default 127.0.0.1:8000, no token).
 */
public final class ToyRewardServer {
  private ToyRewardServer() {}

  /** The served models' names. */
  public static final List<String> MODELS = List.of("counting", "compositional", "aesthetic");

  /** A server builder serving every toy reward (bind and token still to choose). */
  public static OipServer.Builder builder() {
    OipServer.Builder b = OipServer.builder().metadata("flowscale-toy-rewards", "1");
    for (String m : MODELS) {
      b.model(model(m));
    }
    return b;
  }

  /** The served model scoring with the toy reward {@code name}. */
  public static OipServer.Model model(String name) {
    return new ToyModel(name);
  }

  /** Runs a server until the process is stopped. */
  public static void main(String[] args) throws IOException, InterruptedException {
    String host = "127.0.0.1";
    int port = 8000;
    String tokenEnv = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (a) {
        case "--host" -> host = need(a, v);
        case "--port" -> port = Integer.parseInt(need(a, v));
        case "--token-env" -> tokenEnv = need(a, v);
        case "-h", "--help" -> {
          System.out.println(
              "usage: ToyRewardServer [--host 127.0.0.1] [--port 8000] [--token-env NAME]");
          return;
        }
        default -> {
          System.err.println("toy reward server: unknown argument '" + a + "' (try --help)");
          System.exit(2);
          return;
        }
      }
      i++;
    }
    String token = null;
    if (tokenEnv != null) {
      token = System.getenv(tokenEnv);
      if (token == null || token.isBlank()) {
        System.err.println("toy reward server: --token-env " + tokenEnv + " is not set");
        System.exit(2);
      }
    }
    OipServer server = builder().host(host).port(port).token(token).start();
    System.out.println(
        "flowscale toy reward server: "
            + server.url()
            + " serving "
            + server.modelNames()
            + (token == null ? "" : " (bearer token required)"));
    new CountDownLatch(1).await();
  }

  private static String need(String option, String value) {
    if (value == null) {
      System.err.println("toy reward server: " + option + " needs a value");
      System.exit(2);
    }
    return value;
  }

  /** One toy reward behind the protocol. */
  private static final class ToyModel implements OipServer.Model {
    private static final ParticleOps OPS = Backends.create("cpu");
    private final String name;
    private final RewardModel reward;
    private final PromptCache<Reward> rewards = new PromptCache<>(64, Reward::close);

    ToyModel(String name) {
      this.name = name;
      this.reward = Factories.reward(name).load(name, Map.of(), null);
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public Map<String, Object> metadata() {
      int s = ToyWorld.SIZE;
      return Map.of(
          "inputs",
          List.of(
              Map.of("name", "images", "datatype", "UINT8", "shape", List.of(-1, s, s, 3)),
              Map.of("name", "prompt", "datatype", "BYTES", "shape", List.of(-1))),
          "outputs",
          List.of(Map.of("name", "scores", "datatype", "FP64", "shape", List.of(-1))));
    }

    @Override
    public OipServer.Result infer(OipCodec.Request request) {
      OipTensor images =
          request
              .input("images")
              .orElseThrow(() -> new IllegalArgumentException("input 'images' is missing"));
      long[] shape = images.shape();
      int s = ToyWorld.SIZE;
      if (shape.length != 4 || shape[1] != s || shape[2] != s || shape[3] != 3) {
        throw new IllegalArgumentException(
            "'images' must be [N, "
                + s
                + ", "
                + s
                + ", 3] (the toy world's images), got "
                + java.util.Arrays.toString(shape));
      }
      int n = Math.toIntExact(shape[0]);
      float[] pixels = pixels(images);
      List<String> prompts = prompts(request, n);
      double[] scores = new double[n];
      Map<String, List<Integer>> byPrompt = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        byPrompt.computeIfAbsent(prompts.get(i), k -> new ArrayList<>()).add(i);
      }
      for (Map.Entry<String, List<Integer>> e : byPrompt.entrySet()) {
        score(e.getKey(), e.getValue(), pixels, scores);
      }
      return new OipServer.Result(
          List.of(OipTensor.ofFp64("scores", new long[] {n}, scores)), Map.of());
    }

    private void score(String prompt, List<Integer> rows, float[] pixels, double[] scores) {
      Reward r;
      try {
        r = rewards.get(prompt, reward::condition);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "the " + name + " reward cannot judge the prompt: " + e.getMessage());
      }
      int d = ToyWorld.DIM;
      float[] x = new float[rows.size() * d];
      for (int k = 0; k < rows.size(); k++) {
        System.arraycopy(pixels, rows.get(k) * d, x, k * d, d);
      }
      try (Tensor x0 = OPS.allocate(rows.size(), d, DType.F32);
          Tensor out = OPS.allocate(rows.size(), 1, DType.F64)) {
        HostTensors.writeFloats(OPS, x, x0);
        r.score(OPS, x0, out);
        double[] v = HostTensors.readDoubles(OPS, out);
        for (int k = 0; k < rows.size(); k++) {
          scores[rows.get(k)] = v[k];
        }
      }
    }

    private static float[] pixels(OipTensor images) {
      return switch (images.datatype()) {
        case FP32 -> images.toFloats();
        case UINT8 -> {
          byte[] raw = images.raw();
          float[] x = new float[raw.length];
          for (int i = 0; i < raw.length; i++) {
            x[i] = ImagePixels.fromUint8(raw[i] & 0xff);
          }
          yield x;
        }
        default ->
            throw new IllegalArgumentException(
                "'images' must be UINT8 or FP32, got " + images.datatype());
      };
    }

    private List<String> prompts(OipCodec.Request request, int n) {
      OipTensor p = request.input("prompt").orElse(null);
      if (p == null) {
        if (!name.equals("aesthetic")) {
          throw new IllegalArgumentException(
              "input 'prompt' is missing: the " + name + " reward needs one");
        }
        return java.util.Collections.nCopies(n, "");
      }
      if (p.datatype() != Datatype.BYTES) {
        throw new IllegalArgumentException("'prompt' must be BYTES, got " + p.datatype());
      }
      List<String> list = p.toStrings();
      if (list.size() == 1) {
        return java.util.Collections.nCopies(n, list.getFirst());
      }
      if (list.size() != n) {
        throw new IllegalArgumentException(
            "'prompt' holds "
                + list.size()
                + " prompts for "
                + n
                + " images (send one, or one per image)");
      }
      return list;
    }

    @Override
    public String toString() {
      return "toy " + name.toLowerCase(Locale.ROOT) + " reward";
    }
  }
}
