package org.flowscale.bindings.torch;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * A velocity model in TorchScript, run by libtorch through the flowscale shim.
 *
 * <p>The module's signature: {@code forward(x: Tensor[N, *sample_shape], t: Tensor[N], *cond) ->
 * Tensor} with the result's element count that of {@code x} (it is read as {@code [N,
 * *sample_shape]}). {@code x} arrives in the particles' dtype (F32 or BF16), {@code t} (model time
 * in [0, 1], 1 = noise) converted to that dtype, and {@code cond}, when configured, as one F32
 * tensor {@code [N, C]} repeating the same row for every particle. The module predicts the
 * linear-interpolant velocity {@code E[eps - x0 | x_t = x]} (MATH.md section 1).
 *
 * <p>Particles that are {@link org.flowscale.engine.ops.NativeTensor}s (the CPU backend's host
 * memory, CUDA device buffers) reach libtorch without copies; others are staged through host
 * memory. {@link #velocityVjp} differentiates the module with libtorch's autograd.
 */
public final class TorchScriptVelocityModel implements VelocityModel {
  private final TorchShim shim;
  private final TorchModule module;
  private final long[] sampleShape;
  private final int dim;
  private final float[] cond;

  /**
   * @param module the loaded module; owned (closed) by this model from now on
   * @param sampleShape the shape of one particle, e.g. {@code [16, 64, 64]} for a latent
   * @param cond a conditioning row passed as a third argument, or null for none
   */
  public TorchScriptVelocityModel(
      TorchShim shim, TorchModule module, long[] sampleShape, float[] cond) {
    this.shim = shim;
    this.module = module;
    this.sampleShape = sampleShape.clone();
    long d = 1;
    for (long s : sampleShape) {
      if (s <= 0) {
        throw new IllegalArgumentException(
            "sample_shape sizes must be > 0, got " + Arrays.toString(sampleShape));
      }
      d *= s;
    }
    if (sampleShape.length == 0 || sampleShape.length >= TensorDesc.MAX_DIMS || d > 1 << 30) {
      throw new IllegalArgumentException(
          "sample_shape must have 1 to 7 sizes and at most 2^30 values, got "
              + Arrays.toString(sampleShape));
    }
    this.dim = (int) d;
    this.cond = cond == null ? null : cond.clone();
  }

  @Override
  public int dim() {
    return dim;
  }

  /** The shape of one particle. */
  public long[] sampleShape() {
    return sampleShape.clone();
  }

  @Override
  public long[] shape() {
    return sampleShape.clone();
  }

  /** The module it runs. */
  public TorchModule module() {
    return module;
  }

  @Override
  public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
    check(x, t, out, "out");
    try (TorchCall call = new TorchCall(shim, ops)) {
      List<TensorDesc> inputs = inputs(call, x, t);
      TensorDesc o = call.output(out, TorchCall.batched(out.rows(), sampleShape));
      call.run(() -> module.forward(inputs, List.of(o)));
    }
  }

  @Override
  public boolean hasVjp() {
    return true;
  }

  /**
   * {@code (du/dx)^T v} by libtorch's autograd through the module.
   *
   * @throws TorchException when the module is not differentiable in {@code x}
   */
  @Override
  public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
    check(x, t, out, "out");
    sameShape(x, v, "v");
    try (TorchCall call = new TorchCall(shim, ops)) {
      List<TensorDesc> inputs = inputs(call, x, t);
      long[] shape = TorchCall.batched(x.rows(), sampleShape);
      TensorDesc w = call.input(v, shape);
      TensorDesc o = call.output(out, shape);
      call.run(() -> module.vjp(inputs, 0, w, null, o));
    }
  }

  private List<TensorDesc> inputs(TorchCall call, Tensor x, Tensor t) {
    int n = x.rows();
    List<TensorDesc> in = new ArrayList<>(3);
    in.add(call.input(x, TorchCall.batched(n, sampleShape)));
    // t in the particles' dtype: a module's first layer usually mixes t with x (cat, add)
    in.add(call.input(t, new long[] {n}).convertedTo(TorchDType.of(x.dtype())));
    if (cond != null) {
      MemorySegment c = call.scratch((long) n * cond.length * 4);
      for (int i = 0; i < n; i++) {
        MemorySegment.copy(cond, 0, c, JAVA_FLOAT, (long) i * cond.length * 4, cond.length);
      }
      in.add(new TensorDesc(c.address(), new long[] {n, cond.length}, TorchDType.F32, -1));
    }
    return in;
  }

  private void check(Tensor x, Tensor t, Tensor out, String outName) {
    if (x.cols() != dim) {
      throw new IllegalArgumentException(
          "x must have "
              + dim
              + " columns (sample_shape "
              + Arrays.toString(sampleShape)
              + "), got "
              + x.cols());
    }
    if (x.dtype() == DType.I32) {
      throw new IllegalArgumentException("x must be a floating-point tensor, got I32");
    }
    TensorChecks.column(t, DType.F64, x.rows(), "t");
    sameShape(x, out, outName);
  }

  private static void sameShape(Tensor x, Tensor other, String name) {
    if (other.rows() != x.rows() || other.cols() != x.cols()) {
      throw new IllegalArgumentException(
          name
              + " must be ["
              + x.rows()
              + " x "
              + x.cols()
              + "] like x, got ["
              + other.rows()
              + " x "
              + other.cols()
              + "]");
    }
  }

  /**
   * Samples of shape {@code [3, H, W]} are shown as RGB images (PyTorch's channel-first layout,
   * values in [-1, 1]); a latent model folds its decoder into a reward, not here.
   */
  @Override
  public Optional<ImageDecoder> imageDecoder() {
    if (sampleShape.length != 3 || sampleShape[0] != 3) {
      return Optional.empty();
    }
    int h = (int) sampleShape[1];
    int w = (int) sampleShape[2];
    return Optional.of(
        new ImageDecoder() {
          @Override
          public int height() {
            return h;
          }

          @Override
          public int width() {
            return w;
          }

          @Override
          public float[] decode(float[] samples, int row) {
            long from = (long) row * dim;
            if (row < 0 || from + dim > samples.length) {
              throw new IllegalArgumentException(
                  "row " + row + " of " + dim + " values is outside samples of " + samples.length);
            }
            float[] hwc = new float[dim];
            int plane = h * w;
            for (int c = 0; c < 3; c++) {
              for (int p = 0; p < plane; p++) {
                hwc[p * 3 + c] = samples[(int) from + c * plane + p];
              }
            }
            return hwc;
          }
        });
  }

  @Override
  public void close() {
    module.close();
  }

  @Override
  public String toString() {
    return "TorchScriptVelocityModel["
        + module.path()
        + ", sample_shape "
        + Arrays.toString(sampleShape)
        + "]";
  }
}
