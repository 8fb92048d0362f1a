package org.flowscale.bindings.torch;

import java.util.Arrays;
import java.util.List;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * A reward in TorchScript, run by libtorch through the flowscale shim.
 *
 * <p>The module's signature: {@code forward(images: Tensor[N, *image_shape]) -> Tensor[N]} (or
 * {@code [N, 1]}), higher is better. The images are the particles' Tweedie estimates in the sample
 * space the reward was loaded against, in the particles' dtype: the model's own samples (the toy
 * world's {@code [32, 32, 3]}, a TorchScript model's {@code sample_shape}), or, for a latent model
 * with a decoder (FLUX), decoded images. Two layouts:
 *
 * <ul>
 *   <li>rows as they are ({@code image_layout: nhwc}): each row reshaped to {@code image_shape};
 *       images in {@link org.flowscale.engine.model.SampleDecoder}'s layout are {@code [H, W, 3]}
 *       in [-1, 1];
 *   <li>channels first in [0, 1] ({@code image_layout: nchw}, the default on decoded images, the
 *       FLUX reward contract): rows of {@code [H, W, 3]} images in [-1, 1] reach the module as
 *       {@code [N, 3, H, W]} = {@code (x.permute(0, 3, 1, 2) + 1) / 2}, mapped by libtorch where
 *       the images are (the shim's input map); the gradient is taken with respect to the rows, so
 *       it comes back permuted to {@code [H, W, 3]} and times 0.5.
 * </ul>
 *
 * <p>Scores are converted to F64. Differentiable by libtorch's autograd (for DPS): the module must
 * treat samples independently (no batch statistics), so that the gradient of the summed scores is
 * each sample's gradient.
 */
public final class TorchScriptReward implements Reward {
  private final TorchShim shim;
  private final TorchModule module;
  private final long[] imageShape;
  private final long[] rowShape;
  private final boolean channelsFirst;
  private final int dim;

  /**
   * A reward that takes the rows as they are ({@code image_layout: nhwc}).
   *
   * @param module the loaded module; owned (closed) by this reward from now on
   * @param imageShape the shape of one sample as the module takes it, e.g. {@code [3, 64, 64]}
   */
  public TorchScriptReward(TorchShim shim, TorchModule module, long[] imageShape) {
    this(shim, module, imageShape, false);
  }

  /**
   * @param module the loaded module; owned (closed) by this reward from now on
   * @param imageShape the shape of one sample as the module takes it, e.g. {@code [3, 64, 64]}
   * @param channelsFirst whether rows are {@code [H, W, 3]} images in [-1, 1] that the module takes
   *     as {@code [3, H, W]} in [0, 1]; {@code imageShape} is then {@code [3, H, W]}
   */
  public TorchScriptReward(
      TorchShim shim, TorchModule module, long[] imageShape, boolean channelsFirst) {
    this.shim = shim;
    this.module = module;
    this.imageShape = imageShape.clone();
    this.channelsFirst = channelsFirst;
    long d = 1;
    for (long s : imageShape) {
      if (s <= 0) {
        throw new IllegalArgumentException(
            "image_shape sizes must be > 0, got " + Arrays.toString(imageShape));
      }
      d *= s;
    }
    if (imageShape.length == 0 || imageShape.length >= TensorDesc.MAX_DIMS || d > 1 << 30) {
      throw new IllegalArgumentException(
          "image_shape must have 1 to 7 sizes, got " + Arrays.toString(imageShape));
    }
    this.dim = (int) d;
    if (channelsFirst) {
      if (imageShape.length != 3 || imageShape[0] != 3) {
        throw new IllegalArgumentException(
            "image_layout nchw needs image_shape [3, H, W], got " + Arrays.toString(imageShape));
      }
      this.rowShape = new long[] {imageShape[1], imageShape[2], 3};
      // [N, H, W, 3] in [-1, 1] -> [N, 3, H, W] in [0, 1]: x.permute(0, 3, 1, 2) * 0.5 + 0.5
      module.setInputMap(0, new long[] {0, 3, 1, 2}, 0.5, 0.5);
    } else {
      this.rowShape = this.imageShape;
    }
  }

  @Override
  public String name() {
    return "torchscript";
  }

  /** Values per sample ({@code product(image_shape)}). */
  public int dim() {
    return dim;
  }

  @Override
  public void score(ParticleOps ops, Tensor x0, Tensor out) {
    check(x0, out);
    try (TorchCall call = new TorchCall(shim, ops)) {
      TensorDesc in = call.input(x0, TorchCall.batched(x0.rows(), rowShape));
      TensorDesc o = call.output(out, new long[] {out.rows()});
      call.run(() -> module.forward(List.of(in), List.of(o)));
    }
  }

  @Override
  public boolean differentiable() {
    return true;
  }

  @Override
  public void gradient(ParticleOps ops, Tensor x0, Tensor outScores, Tensor outGrad) {
    check(x0, outScores);
    if (outGrad.rows() != x0.rows() || outGrad.cols() != x0.cols()) {
      throw new IllegalArgumentException(
          "outGrad must be ["
              + x0.rows()
              + " x "
              + x0.cols()
              + "] like x0, got ["
              + outGrad.rows()
              + " x "
              + outGrad.cols()
              + "]");
    }
    try (TorchCall call = new TorchCall(shim, ops)) {
      long[] shape = TorchCall.batched(x0.rows(), rowShape);
      TensorDesc in = call.input(x0, shape);
      TensorDesc s = call.output(outScores, new long[] {outScores.rows()});
      TensorDesc g = call.output(outGrad, shape);
      call.run(() -> module.vjp(List.of(in), 0, null, s, g));
    }
  }

  private void check(Tensor x0, Tensor out) {
    if (x0.cols() != dim) {
      throw new IllegalArgumentException(
          "x0 must have "
              + dim
              + " columns (image_shape "
              + Arrays.toString(imageShape)
              + "), got "
              + x0.cols());
    }
    TensorChecks.column(out, DType.F64, x0.rows(), "scores");
  }

  @Override
  public void close() {
    module.close();
  }

  @Override
  public String toString() {
    return "TorchScriptReward["
        + module.path()
        + ", image_shape "
        + Arrays.toString(imageShape)
        + (channelsFirst ? ", image_layout nchw" : "")
        + "]";
  }
}
