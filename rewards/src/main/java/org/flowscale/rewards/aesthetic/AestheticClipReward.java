package org.flowscale.rewards.aesthetic;

import java.util.List;
import org.flowscale.bindings.torch.TensorDesc;
import org.flowscale.bindings.torch.TorchCall;
import org.flowscale.bindings.torch.TorchModule;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * The loaded aesthetic predictor: owns the module (closed with it); the reward it hands out for any
 * prompt (the score ignores prompts) shares it. Each call sends the particles' images as {@code [N,
 * H, W, 3]} to the module's {@code forward} (scores) or through libtorch's autograd (scores and
 * each image's gradient); libtorch's modules allow concurrent calls.
 */
final class AestheticClipReward implements RewardModel {
  private final TorchShim shim;
  private final TorchModule module;
  private final AestheticClipSpec spec;
  private final long[] imageShape;
  private final int dim;
  private final Reward reward = new Scores();

  AestheticClipReward(
      TorchShim shim, TorchModule module, AestheticClipSpec spec, int height, int width) {
    this.shim = shim;
    this.module = module;
    this.spec = spec;
    this.imageShape = new long[] {height, width, 3};
    this.dim = height * width * 3;
  }

  @Override
  public String name() {
    return "aesthetic_clip";
  }

  @Override
  public boolean differentiable() {
    return true;
  }

  @Override
  public Reward condition(String prompt) {
    return reward;
  }

  @Override
  public void close() {
    module.close();
  }

  @Override
  public String toString() {
    return "aesthetic_clip["
        + spec
        + " on "
        + (module.device() < 0 ? "cpu" : "cuda:" + module.device())
        + "]";
  }

  private void check(Tensor x0, Tensor out, String outName) {
    if (x0 == null) {
      throw new IllegalArgumentException("x0 must not be null");
    }
    if (x0.cols() != dim) {
      throw new IllegalArgumentException(
          "x0 must hold "
              + imageShape[0]
              + "x"
              + imageShape[1]
              + " RGB images ("
              + dim
              + " values a row), got "
              + x0.cols());
    }
    TensorChecks.floating(x0, "x0");
    TensorChecks.column(out, DType.F64, x0.rows(), outName);
  }

  /** The reward: a view of the module; closing it leaves the module to its owner. */
  private final class Scores implements Reward {
    @Override
    public String name() {
      return "aesthetic_clip";
    }

    @Override
    public boolean differentiable() {
      return true;
    }

    @Override
    public void score(ParticleOps ops, Tensor x0, Tensor out) {
      check(x0, out, "out");
      try (TorchCall call = new TorchCall(shim, ops)) {
        TensorDesc in = call.input(x0, TorchCall.batched(x0.rows(), imageShape));
        TensorDesc o = call.output(out, new long[] {out.rows()});
        call.run(() -> module.forward(List.of(in), List.of(o)));
      }
    }

    @Override
    public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
      check(x0, outScores, "outScores");
      TensorChecks.floating(outGrad, "outGrad");
      TensorChecks.sameShape(x0, outGrad, "x0", "outGrad");
      try (TorchCall call = new TorchCall(shim, ops)) {
        long[] shape = TorchCall.batched(x0.rows(), imageShape);
        TensorDesc in = call.input(x0, shape);
        TensorDesc s = call.output(outScores, new long[] {outScores.rows()});
        TensorDesc g = call.output(outGrad, shape);
        call.run(() -> module.vjp(List.of(in), 0, null, s, g));
      }
    }

    @Override
    public String toString() {
      return AestheticClipReward.this.toString();
    }
  }
}
