package org.flowscale.flux;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.flowscale.bindings.torch.TorchDType;
import org.flowscale.bindings.torch.TorchSettings;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.engine.model.FactorySettings;

/**
 * The settings of {@code model: flux}, checked; every failure names its key.
 *
 * @param checkpoint {@code model_path}: BFL's transformer checkpoint (a {@code .safetensors} file,
 *     a shard index, or a directory holding one)
 * @param architecture {@code architecture_path}: the TorchScript architecture file made by {@code
 *     tools/flux/flux_arch.py}
 * @param textEmbeddings {@code text_embeddings}: a {@link FluxTextEmbeddings} file or directory, or
 *     null
 * @param height {@code height}: image height in pixels, a multiple of 16 (default 1024)
 * @param width {@code width}: image width in pixels, a multiple of 16 (default 1024)
 * @param guidanceScale {@code guidance_scale}: FLUX.1-dev's distilled guidance (default 3.5); NaN
 *     when not set
 * @param dtype {@code dtype}: {@code bf16} (default, as BFL runs FLUX) or {@code float32}
 * @param device {@code device}: -1 for {@code cpu} (default), else the CUDA ordinal
 * @param modelBatchSize {@code model_batch_size}: the most particles per forward (default 8)
 * @param axesDim {@code axes_dim}: the rotary embedding's split of a head over the (0, row, col)
 *     ids (default FLUX.1's [16, 56, 56]; only checkpoints of another head width need it)
 */
public record FluxSettings(
    Path checkpoint,
    Path architecture,
    Path textEmbeddings,
    int height,
    int width,
    double guidanceScale,
    TorchDType dtype,
    int device,
    int modelBatchSize,
    long[] axesDim) {

  /** The keys {@code model: flux} reads. */
  public static final Set<String> KEYS =
      Set.of(
          "model_path",
          "architecture_path",
          "text_embeddings",
          "height",
          "width",
          "guidance_scale",
          "dtype",
          "device",
          "model_batch_size",
          "axes_dim");

  /** FLUX.1-dev's default guidance, as in BFL's and diffusers' pipelines. */
  public static final double DEFAULT_GUIDANCE = 3.5;

  /** The default image side (the paper's 1024x1024). */
  public static final int DEFAULT_SIZE = 1024;

  /** The default particles per forward. */
  public static final int DEFAULT_MODEL_BATCH = 8;

  /** FLUX.1's rotary split of its 128-wide heads. */
  public static final long[] FLUX1_AXES = {16, 56, 56};

  public FluxSettings {
    axesDim = axesDim.clone();
  }

  @Override
  public long[] axesDim() {
    return axesDim.clone();
  }

  /** Reads {@code model: flux}'s settings (see the record's parameters for the keys). */
  public static FluxSettings parse(Map<String, Object> settings, TorchShim shim) {
    Map<String, Object> s = settings == null ? Map.of() : settings;
    FactorySettings.checkKeys(s, KEYS, "model 'flux'");
    Path checkpoint =
        TorchSettings.file(
            s,
            "model_path",
            "the FLUX.1 transformer checkpoint (flux1-schnell.safetensors or flux1-dev.safetensors)",
            true);
    Path architecture =
        TorchSettings.file(
            s,
            "architecture_path",
            "the FLUX.1 architecture file (make it once: python3 tools/flux/flux_arch.py"
                + " flux-arch.pt)",
            false);
    Path embeddings = null;
    if (s.get("text_embeddings") != null) {
      embeddings =
          TorchSettings.file(
              s, "text_embeddings", "a FLUX text embeddings file or directory", true);
    }
    int height = side(s, "height");
    int width = side(s, "width");
    double guidance = Double.NaN;
    if (s.get("guidance_scale") != null) {
      guidance = FactorySettings.number(s, "guidance_scale", DEFAULT_GUIDANCE, 0, false, 100);
    }
    TorchDType dtype = dtype(s.get("dtype"));
    int batch = (int) FactorySettings.integer(s, "model_batch_size", DEFAULT_MODEL_BATCH, 1, 65536);
    long[] axes = axes(s.get("axes_dim"));
    int device = TorchSettings.device(s, "device", shim);
    return new FluxSettings(
        checkpoint, architecture, embeddings, height, width, guidance, dtype, device, batch, axes);
  }

  private static int side(Map<String, Object> s, String key) {
    int v = (int) FactorySettings.integer(s, key, DEFAULT_SIZE, 16, 16384);
    if (v % 16 != 0) {
      throw new IllegalArgumentException(
          key
              + " must be a multiple of 16 (FLUX packs 8x-downsampled latents in 2x2 patches), got "
              + v);
    }
    return v;
  }

  private static TorchDType dtype(Object v) {
    if (v == null) {
      return TorchDType.BF16;
    }
    if (v instanceof String s) {
      switch (s) {
        case "bf16", "bfloat16" -> {
          return TorchDType.BF16;
        }
        case "float32", "fp32", "f32" -> {
          return TorchDType.F32;
        }
        case "float16", "fp16", "f16" ->
            throw new IllegalArgumentException(
                "dtype float16 is refused: FLUX.1's activations overflow float16; use bf16 or"
                    + " float32");
        default -> {}
      }
    }
    throw new IllegalArgumentException(
        "dtype must be bf16 or float32, got " + FactorySettings.describe(v));
  }

  private static long[] axes(Object v) {
    if (v == null) {
      return FLUX1_AXES.clone();
    }
    if (!(v instanceof List<?> list) || list.size() != 3) {
      throw new IllegalArgumentException(
          "axes_dim must be three even sizes (FLUX.1: [16, 56, 56]), got "
              + FactorySettings.describe(v));
    }
    long[] out = new long[3];
    for (int i = 0; i < 3; i++) {
      if (!(list.get(i) instanceof Number n)
          || n.doubleValue() != n.longValue()
          || n.longValue() <= 0
          || n.longValue() % 2 != 0) {
        throw new IllegalArgumentException(
            "axes_dim must be three even positive sizes, got " + FactorySettings.describe(v));
      }
      out[i] = n.longValue();
    }
    return out;
  }

  /** Latent height: {@code height / 8}. */
  public int latentHeight() {
    return height / 8;
  }

  /** Latent width: {@code width / 8}. */
  public int latentWidth() {
    return width / 8;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FluxSettings f
        && f.checkpoint.equals(checkpoint)
        && f.architecture.equals(architecture)
        && java.util.Objects.equals(f.textEmbeddings, textEmbeddings)
        && f.height == height
        && f.width == width
        && Double.compare(f.guidanceScale, guidanceScale) == 0
        && f.dtype == dtype
        && f.device == device
        && f.modelBatchSize == modelBatchSize
        && Arrays.equals(f.axesDim, axesDim);
  }

  @Override
  public int hashCode() {
    return checkpoint.hashCode() * 31 + Arrays.hashCode(axesDim);
  }
}
