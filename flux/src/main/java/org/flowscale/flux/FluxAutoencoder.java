package org.flowscale.flux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flowscale.bindings.torch.TensorDesc;
import org.flowscale.bindings.torch.TorchCall;
import org.flowscale.bindings.torch.TorchDType;
import org.flowscale.bindings.torch.TorchException;
import org.flowscale.bindings.torch.TorchModule;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.torch.TorchWeights;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.TensorInfo;
import org.flowscale.bindings.weights.WeightsException;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.SampleDecoder;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * FLUX.1's autoencoder decoder ({@code ae.safetensors}, BFL's names; the encoder's tensors are not
 * read) in libtorch: latents {@code [16, H/8, W/8]} to images in {@link SampleDecoder}'s layout
 * (height x width x RGB, F32 in [-1, 1]), computing {@code decode(z / 0.3611 + 0.1159)} as BFL's
 * {@code AutoEncoder.decode} does, in the model's dtype, clamped to [-1, 1] as BFL's and diffusers'
 * pipelines clamp before saving. Its VJP runs through libtorch's autograd (the DPS methods).
 * Thread-safe (libtorch modules take concurrent calls).
 */
final class FluxAutoencoder implements SampleDecoder, AutoCloseable {
  static final String ARCH_FILE = "ae_decoder.pt";
  private static final Pattern BLOCK =
      Pattern.compile("decoder\\.up\\.(\\d+)\\.block\\.(\\d+)\\.(.*)");
  private static final Pattern UPSAMPLE =
      Pattern.compile("decoder\\.up\\.(\\d+)\\.upsample\\.conv\\.(.*)");

  private final TorchShim shim;
  private final TorchModule module;
  private final TorchDType dtype;
  private final long[] latentShape;
  private final int height;
  private final int width;
  private final SampleSpace images;
  private final long elements;

  private FluxAutoencoder(
      TorchShim shim, TorchModule module, TorchDType dtype, long[] latentShape, long elements) {
    this.shim = shim;
    this.module = module;
    this.dtype = dtype;
    this.latentShape = latentShape.clone();
    this.height = (int) latentShape[1] * 8;
    this.width = (int) latentShape[2] * 8;
    this.images = SampleDecoder.images(height, width);
    this.elements = elements;
  }

  /** The decoder's plan: checkpoint names to load and their expected shapes. */
  record Plan(Path source, int channels, int latentChannels, long[] mult, long elements) {}

  /**
   * Checks {@code ae_path} against the architecture file without reading a tensor.
   *
   * @throws IllegalArgumentException naming the file and the problem
   */
  static Plan check(TorchShim shim, Path checkpoint, Path architecture) {
    TorchModule m = architecture(shim, architecture);
    try (Checkpoint c = open(checkpoint)) {
      Plan p = plan(c, m);
      TorchWeights.check(m, c, options(p, null, -1), "FLUX.1 autoencoder decoder");
      return p;
    } catch (WeightsException e) {
      throw new IllegalArgumentException("ae_path: " + e.getMessage(), e);
    } finally {
      m.close();
    }
  }

  /**
   * Loads the decoder for latents of {@code latentShape} ({@code [16, H/8, W/8]}).
   *
   * @throws IllegalArgumentException naming the file when it does not fit
   */
  static FluxAutoencoder load(
      TorchShim shim,
      Path checkpoint,
      Path architecture,
      TorchDType dtype,
      int device,
      long[] latentShape) {
    TorchModule m = architecture(shim, architecture);
    try (Checkpoint c = open(checkpoint)) {
      Plan p = plan(c, m);
      if (p.latentChannels() != latentShape[0]) {
        throw new IllegalArgumentException(
            "ae_path: "
                + c.source()
                + " decodes "
                + p.latentChannels()
                + "-channel latents, the transformer makes "
                + latentShape[0]);
      }
      TorchWeights.load(m, c, options(p, dtype, device), "FLUX.1 autoencoder decoder");
      m.setOptimize(false);
      return new FluxAutoencoder(shim, m, dtype, latentShape, p.elements());
    } catch (WeightsException e) {
      m.close();
      throw new IllegalArgumentException("ae_path: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  private static Checkpoint open(Path p) {
    try {
      return Checkpoint.open(p);
    } catch (WeightsException e) {
      throw new IllegalArgumentException("ae_path: " + e.getMessage(), e);
    }
  }

  private static TorchModule architecture(TorchShim shim, Path path) {
    TorchModule m;
    try {
      m = shim.load(path, -1);
    } catch (TorchException e) {
      throw new IllegalArgumentException(
          "architecture_dir: libtorch cannot load "
              + path
              + "; remake it with python3"
              + " tools/flux/make_architectures.py",
          e);
    }
    try {
      long[] v = m.ints("flowscale_ae_architecture");
      if (v.length != 1 || v[0] != 1) {
        throw new IllegalArgumentException("architecture_dir: " + path + " is of another version");
      }
      return m;
    } catch (TorchException e) {
      m.close();
      throw new IllegalArgumentException(
          "architecture_dir: " + path + " is not flowscale's FLUX.1 decoder architecture");
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  private static Plan plan(Checkpoint c, TorchModule m) {
    Map<String, TensorInfo> t = c.infos();
    for (String n : t.keySet()) {
      if (n.startsWith("decoder.up_blocks.") || n.startsWith("decoder.mid_block.")) {
        throw new IllegalArgumentException(
            "ae_path: "
                + c.source()
                + " is a VAE in diffusers' layout (decoder.up_blocks.*); use Black Forest Labs'"
                + " ae.safetensors");
      }
    }
    TensorInfo out = t.get("decoder.conv_out.weight");
    TensorInfo in = t.get("decoder.conv_in.weight");
    if (out == null || in == null || out.shape().length != 4 || in.shape().length != 4) {
      throw new IllegalArgumentException(
          "ae_path: "
              + c.source()
              + " is not the FLUX.1 autoencoder (no decoder.conv_in/conv_out weights)");
    }
    long[] mult = m.ints("ch_mult");
    long ch = out.shape()[1] / mult[0];
    long z = in.shape()[1];
    long elements = 0;
    for (TensorInfo i : t.values()) {
      if (i.name().startsWith("decoder.")) {
        elements += i.elements();
      }
    }
    return new Plan(c.source(), (int) ch, (int) z, mult, elements);
  }

  private static TorchWeights.Options options(Plan p, TorchDType dtype, int device) {
    long ch = p.channels();
    long[] mult = p.mult();
    long top = ch * mult[mult.length - 1];
    return TorchWeights.options()
        .rename(n -> n.startsWith("decoder.") ? n : null)
        .optional(n -> n.equals("scale_factor") || n.equals("shift_factor"))
        .expectShapes(n -> shape(n, ch, mult, top, p.latentChannels()))
        .dtype(dtype)
        .device(device);
  }

  /** The real shape of a decoder parameter. */
  static long[] shape(String n, long ch, long[] mult, long top, long z) {
    if (n.equals("decoder.conv_in.weight")) {
      return new long[] {top, z, 3, 3};
    }
    if (n.equals("decoder.conv_in.bias")) {
      return new long[] {top};
    }
    if (n.startsWith("decoder.mid.")) {
      if (n.endsWith("conv1.weight") || n.endsWith("conv2.weight")) {
        return new long[] {top, top, 3, 3};
      }
      if (n.matches("decoder\\.mid\\.attn_1\\.(q|k|v|proj_out)\\.weight")) {
        return new long[] {top, top, 1, 1};
      }
      return new long[] {top};
    }
    Matcher b = BLOCK.matcher(n);
    if (b.matches()) {
      int level = Integer.parseInt(b.group(1));
      int block = Integer.parseInt(b.group(2));
      if (level >= mult.length) {
        return null;
      }
      long cout = ch * mult[level];
      long cin = block > 0 ? cout : level == mult.length - 1 ? top : ch * mult[level + 1];
      return switch (b.group(3)) {
        case "norm1.weight", "norm1.bias" -> new long[] {cin};
        case "conv1.weight" -> new long[] {cout, cin, 3, 3};
        case "conv2.weight" -> new long[] {cout, cout, 3, 3};
        case "nin_shortcut.weight" -> new long[] {cout, cin, 1, 1};
        default -> new long[] {cout};
      };
    }
    Matcher u = UPSAMPLE.matcher(n);
    if (u.matches()) {
      int level = Integer.parseInt(u.group(1));
      long c = level < mult.length ? ch * mult[level] : 0;
      return u.group(2).equals("weight") ? new long[] {c, c, 3, 3} : new long[] {c};
    }
    return switch (n) {
      case "decoder.norm_out.weight", "decoder.norm_out.bias" -> new long[] {ch * mult[0]};
      case "decoder.conv_out.weight" -> new long[] {3, ch * mult[0], 3, 3};
      case "decoder.conv_out.bias" -> new long[] {3};
      default -> null;
    };
  }

  @Override
  public SampleSpace imageSpace() {
    return images;
  }

  /** Bytes of the decoder's weights in its dtype. */
  long weightBytes() {
    return elements * dtype.bytes();
  }

  @Override
  public void decode(ParticleOps ops, Tensor latents, Tensor images) {
    int n = check(latents, images);
    try (TorchCall call = new TorchCall(shim, ops)) {
      TensorDesc z = call.input(latents, TorchCall.batched(n, latentShape)).convertedTo(dtype);
      TensorDesc img = call.output(images, new long[] {n, height, width, 3});
      call.run(() -> module.forward(List.of(z), List.of(img)));
    }
  }

  @Override
  public boolean hasVjp() {
    return true;
  }

  @Override
  public void decodeVjp(ParticleOps ops, Tensor latents, Tensor gImages, Tensor out) {
    int n = check(latents, gImages);
    if (out.rows() != n || out.cols() != latents.cols()) {
      throw new IllegalArgumentException("out must be shaped like the latents");
    }
    try (TorchCall call = new TorchCall(shim, ops)) {
      long[] zs = TorchCall.batched(n, latentShape);
      TensorDesc z = call.input(latents, zs).convertedTo(dtype);
      TensorDesc g = call.input(gImages, new long[] {n, height, width, 3}).convertedTo(dtype);
      TensorDesc o = call.output(out, zs);
      call.run(() -> module.vjp(List.of(z), 0, g, null, o));
    }
  }

  private int check(Tensor latents, Tensor images) {
    long dim = latentShape[0] * latentShape[1] * latentShape[2];
    if (latents.cols() != dim) {
      throw new IllegalArgumentException(
          "latents must have " + dim + " columns, got " + latents.cols());
    }
    if (images.rows() != latents.rows() || images.cols() != this.images.dim()) {
      throw new IllegalArgumentException(
          "images must be [" + latents.rows() + " x " + this.images.dim() + "]");
    }
    if (images.dtype() != DType.F32) {
      throw new IllegalArgumentException("images must be F32, got " + images.dtype());
    }
    return latents.rows();
  }

  /** The host decoder of {@link org.flowscale.engine.search.SearchResult} samples (PNGs). */
  ImageDecoder hostDecoder() {
    long dim = latentShape[0] * latentShape[1] * latentShape[2];
    return new ImageDecoder() {
      @Override
      public int height() {
        return height;
      }

      @Override
      public int width() {
        return width;
      }

      @Override
      public float[] decode(float[] samples, int row) {
        long from = row * dim;
        if (row < 0 || from + dim > samples.length) {
          throw new IllegalArgumentException(
              "row " + row + " of " + dim + " values is outside samples of " + samples.length);
        }
        float[] out = new float[height * width * 3];
        try (Arena a = Arena.ofConfined()) {
          MemorySegment z = a.allocate(ValueLayout.JAVA_FLOAT, dim);
          MemorySegment.copy(samples, (int) from, z, ValueLayout.JAVA_FLOAT, 0, (int) dim);
          MemorySegment img = a.allocate(ValueLayout.JAVA_FLOAT, out.length);
          long[] zs = TorchCall.batched(1, latentShape);
          module.forward(
              List.of(new TensorDesc(z.address(), zs, TorchDType.F32, -1).convertedTo(dtype)),
              List.of(
                  new TensorDesc(
                      img.address(), new long[] {1, height, width, 3}, TorchDType.F32, -1)));
          MemorySegment.copy(img, ValueLayout.JAVA_FLOAT, 0, out, 0, out.length);
        }
        return out;
      }
    };
  }

  @Override
  public void close() {
    module.close();
  }

  @Override
  public String toString() {
    return "FluxAutoencoder[" + height + "x" + width + ", " + dtype + "]";
  }
}
