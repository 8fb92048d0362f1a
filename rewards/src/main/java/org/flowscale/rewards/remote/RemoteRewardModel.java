package org.flowscale.rewards.remote;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;
import org.flowscale.rewards.HostTensors;
import org.flowscale.rewards.ImagePixels;
import org.flowscale.rewards.oip.Datatype;
import org.flowscale.rewards.oip.OipClient;
import org.flowscale.rewards.oip.OipCodec;
import org.flowscale.rewards.oip.OipException;
import org.flowscale.rewards.oip.OipTensor;

/**
 * A connection to one model on a reward server: the loaded half of {@code reward_score: remote}.
 * Each {@link #condition conditioned} reward sends its prompt with every request.
 *
 * <p>The wire format of one request ({@code POST {url}/v2/models/{model}/infer}):
 *
 * <ul>
 *   <li>input {@code images}: UINT8 (or FP32 with {@code reward_image_dtype: fp32}) {@code [n, H,
 *       W, 3]}, RGB, row-major, as binary data (the binary tensor data extension);
 *   <li>input {@code prompt}: BYTES {@code [n]}, the prompt (UTF-8) once per image, as JSON data;
 *       left out when the reward is conditioned on no prompt;
 *   <li>requested output {@code scores}, as JSON data.
 * </ul>
 *
 * The answer must hold an output {@code scores}: FP32 or FP64, shape {@code [n]} or {@code [n, 1]},
 * every value finite. {@code n} is at most {@code reward_batch_size}; a search's batch is split
 * into as many requests as that needs, sent one after the other.
 */
final class RemoteRewardModel implements RewardModel {
  private final RemoteSettings settings;
  private final OipClient client;
  private final int height;
  private final int width;
  private final AtomicLong requests = new AtomicLong();
  private volatile boolean closed;

  RemoteRewardModel(RemoteSettings settings, OipClient client, int height, int width) {
    this.settings = settings;
    this.client = client;
    this.height = height;
    this.width = width;
  }

  @Override
  public String name() {
    return "remote";
  }

  @Override
  public boolean differentiable() {
    return false;
  }

  @Override
  public Reward condition(String prompt) {
    if (closed) {
      throw new IllegalStateException("the remote reward " + this + " is closed");
    }
    return new RemoteReward(prompt);
  }

  @Override
  public void close() {
    closed = true;
    client.close();
  }

  @Override
  public String toString() {
    return "remote reward '" + settings.model() + "' at " + client.base();
  }

  /** Scores rows {@code [from, to)} of {@code pixels} in one request. */
  private double[] request(String prompt, float[] pixels, int from, int to) {
    int n = to - from;
    int row = height * width * 3;
    long[] shape = {n, height, width, 3};
    OipTensor images =
        settings.imageDtype() == RemoteSettings.ImageDtype.FP32
            ? new OipTensor("images", Datatype.FP32, shape, ImagePixels.fp32(pixels, row, from, to))
            : OipTensor.ofUint8("images", shape, ImagePixels.uint8(pixels, row, from, to));
    List<OipTensor> inputs = new ArrayList<>(List.of(images));
    if (prompt != null) {
      inputs.add(OipTensor.ofStrings("prompt", new long[] {n}, Collections.nCopies(n, prompt)));
    }
    OipCodec.Request req =
        new OipCodec.Request(
            "flowscale-" + requests.incrementAndGet(),
            Map.of(),
            inputs,
            List.of(new OipCodec.RequestedOutput("scores", false)));
    OipCodec.Response resp = client.infer(settings.model(), req, t -> t.name().equals("images"));
    OipTensor scores =
        resp.output("scores")
            .orElseThrow(
                () ->
                    fail(
                        "the answer has no output 'scores' (it has "
                            + resp.outputs().stream().map(OipTensor::name).toList()
                            + ")"));
    if (scores.datatype() != Datatype.FP32 && scores.datatype() != Datatype.FP64) {
      throw fail("'scores' are " + scores.datatype() + ", expected FP32 or FP64");
    }
    long[] s = scores.shape();
    boolean shapeOk = (s.length == 1 && s[0] == n) || (s.length == 2 && s[0] == n && s[1] == 1);
    if (!shapeOk) {
      throw fail(
          "'scores' have shape "
              + Arrays.toString(s)
              + ", expected ["
              + n
              + "] for "
              + n
              + " images");
    }
    double[] v = scores.toDoubles();
    for (int i = 0; i < v.length; i++) {
      if (!Double.isFinite(v[i])) {
        throw fail("the score of image " + (from + i) + " is " + v[i] + ", not a finite number");
      }
    }
    return v;
  }

  private OipException fail(String what) {
    return new OipException(this + " answered a bad response: " + what, 200, null);
  }

  /** The reward for one prompt. */
  private final class RemoteReward implements Reward {
    private final String prompt;

    RemoteReward(String prompt) {
      this.prompt = prompt;
    }

    @Override
    public String name() {
      return "remote";
    }

    @Override
    public void score(ParticleOps ops, Tensor x0, Tensor out) {
      if (x0 == null) {
        throw new IllegalArgumentException("x0 must not be null");
      }
      int n = x0.rows();
      int row = height * width * 3;
      if (x0.cols() != row) {
        throw new IllegalArgumentException(
            "x0 must hold "
                + height
                + "x"
                + width
                + " RGB images ("
                + row
                + " values a row), got "
                + x0.cols());
      }
      TensorChecks.column(out, DType.F64, n, "out");
      if (closed) {
        throw new IllegalStateException(
            "the remote reward " + RemoteRewardModel.this + " is closed");
      }
      float[] pixels = HostTensors.readFloats(ops, x0);
      double[] scores = new double[n];
      for (int from = 0; from < n; from += settings.batchSize()) {
        int to = Math.min(n, from + settings.batchSize());
        double[] part;
        try {
          part = request(prompt, pixels, from, to);
        } catch (OipException e) {
          throw e.getMessage().startsWith(RemoteRewardModel.this.toString())
              ? e
              : e.withMessage(RemoteRewardModel.this + ": " + e.getMessage());
        }
        System.arraycopy(part, 0, scores, from, part.length);
      }
      HostTensors.writeDoubles(ops, scores, out);
    }

    @Override
    public String toString() {
      return RemoteRewardModel.this + (prompt == null ? "" : " for '" + prompt + "'");
    }
  }
}
