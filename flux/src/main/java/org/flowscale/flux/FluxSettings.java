package org.flowscale.flux;

import java.nio.file.Files;
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
    long[] axesDim,
    Parts parts) {

  /**
   * Where the other parts of a FLUX.1 folder are (null: not given) and how the text encoders are
   * run. A folder as users download it ({@code model_dir}) has them all; each may also be named by
   * its own key.
   *
   * @param modelDir {@code model_dir}, or null
   * @param ae {@code ae_path}: the autoencoder ({@code ae.safetensors}, BFL names)
   * @param clip {@code text_encoder_path}: CLIP-L's weights (a file or the {@code text_encoder/}
   *     folder)
   * @param t5 {@code text_encoder_2_path}: the T5-XXL encoder (a file, shard index or the {@code
   *     text_encoder_2/} folder)
   * @param clipTokenizer {@code tokenizer_path}: the folder with {@code vocab.json} and {@code
   *     merges.txt}
   * @param t5Tokenizer {@code tokenizer_2_path}: the folder with {@code tokenizer.json}
   * @param architectureDir {@code architecture_dir}: the folder {@code
   *     tools/flux/make_architectures.py} makes, or null
   * @param maxSequenceLength {@code max_sequence_length}: T5 tokens, or 0 for the model's (256
   *     schnell, 512 dev)
   * @param textEncoders {@code text_encoders}: what happens to the encoders between prompts
   * @param textEncoderDevice {@code text_encoder_device}: -1 cpu, else the CUDA ordinal
   * @param memoryLimitGb {@code memory_limit_gb}: the memory of the model's device to plan with, or
   *     NaN to ask the device
   */
  public record Parts(
      Path modelDir,
      Path ae,
      Path clip,
      Path t5,
      Path clipTokenizer,
      Path t5Tokenizer,
      Path architectureDir,
      int maxSequenceLength,
      TextEncoders textEncoders,
      int textEncoderDevice,
      double memoryLimitGb) {

    /** Whether prompts can be encoded here (both encoders and tokenizers are given). */
    public boolean encoders() {
      return clip != null && t5 != null && clipTokenizer != null && t5Tokenizer != null;
    }

    /** An architecture file of {@code architecture_dir}. */
    Path architecture(String file, String key, String part) {
      if (architectureDir == null) {
        throw new IllegalArgumentException(
            "architecture_dir must be set to run "
                + part
                + " ("
                + key
                + " is given): the folder made once by python3 tools/flux/make_architectures.py"
                + " flux-arch/");
      }
      Path p = architectureDir.resolve(file);
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(
            "architecture_dir: "
                + architectureDir.toAbsolutePath().normalize()
                + " has no "
                + file
                + " (remake the folder with python3 tools/flux/make_architectures.py)");
      }
      return p;
    }
  }

  /** What becomes of the text encoders between prompts ({@code text_encoders}). */
  public enum TextEncoders {
    /** Stay loaded on their device: fastest for many prompts, costs their memory throughout. */
    KEEP,
    /** Moved to the host after each encoding and back for the next new prompt. */
    OFFLOAD,
    /** Freed after each encoding and loaded again from disk for the next new prompt (default). */
    RELOAD
  }

  /** The keys {@code model: flux} reads. */
  public static final Set<String> KEYS =
      Set.of(
          "model_dir",
          "model_path",
          "ae_path",
          "text_encoder_path",
          "text_encoder_2_path",
          "tokenizer_path",
          "tokenizer_2_path",
          "architecture_dir",
          "architecture_path",
          "text_embeddings",
          "max_sequence_length",
          "text_encoders",
          "text_encoder_device",
          "memory_limit_gb",
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

  /** Settings without the folder's other parts (the transformer alone, as issue 10 had it). */
  public FluxSettings(
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
    this(
        checkpoint,
        architecture,
        textEmbeddings,
        height,
        width,
        guidanceScale,
        dtype,
        device,
        modelBatchSize,
        axesDim,
        new Parts(
            null, null, null, null, null, null, null, 0, TextEncoders.RELOAD, device, Double.NaN));
  }

  @Override
  public long[] axesDim() {
    return axesDim.clone();
  }

  /** Reads {@code model: flux}'s settings (see the record's parameters for the keys). */
  public static FluxSettings parse(Map<String, Object> settings, TorchShim shim) {
    Map<String, Object> s = settings == null ? Map.of() : settings;
    FactorySettings.checkKeys(s, KEYS, "model 'flux'");
    Path dir = null;
    if (s.get("model_dir") != null) {
      dir = TorchSettings.file(s, "model_dir", "the FLUX.1 folder (as downloaded)", true);
      if (!Files.isDirectory(dir)) {
        throw new IllegalArgumentException("model_dir: " + dir + " is a file, not a folder");
      }
    }
    Path archDir = null;
    if (s.get("architecture_dir") != null) {
      archDir =
          TorchSettings.file(
              s,
              "architecture_dir",
              "the folder python3 tools/flux/make_architectures.py makes",
              true);
    }
    Path checkpoint = transformer(s, dir);
    Path architecture;
    if (s.get("architecture_path") != null || archDir == null) {
      architecture =
          TorchSettings.file(
              s,
              "architecture_path",
              "the FLUX.1 architecture file (make the folder once: python3"
                  + " tools/flux/make_architectures.py flux-arch/, and set architecture_dir)",
              false);
    } else {
      architecture =
          new Parts(null, null, null, null, null, null, archDir, 0, null, 0, 0)
              .architecture("transformer.pt", "model_path", "the transformer");
    }
    Path embeddings = null;
    if (s.get("text_embeddings") != null) {
      Object v = s.get("text_embeddings");
      if (v instanceof String str && !str.isBlank() && !Files.exists(Path.of(str))) {
        embeddings = Path.of(str); // a cache folder made on first use
      } else {
        embeddings =
            TorchSettings.file(
                s, "text_embeddings", "a FLUX text embeddings file or directory", true);
      }
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
    int encoderDevice =
        s.get("text_encoder_device") == null
            ? device
            : TorchSettings.device(s, "text_encoder_device", shim);
    Parts parts =
        new Parts(
            dir,
            part(s, dir, "ae_path", "ae.safetensors", "the autoencoder", false),
            part(s, dir, "text_encoder_path", "text_encoder", "CLIP's text encoder", true),
            part(s, dir, "text_encoder_2_path", "text_encoder_2", "the T5 text encoder", true),
            tokenizer(s, dir, "tokenizer_path", "tokenizer", List.of("vocab.json", "merges.txt")),
            tokenizer(s, dir, "tokenizer_2_path", "tokenizer_2", List.of("tokenizer.json")),
            archDir,
            (int) FactorySettings.integer(s, "max_sequence_length", 0, 1, 4096),
            policy(s.get("text_encoders")),
            encoderDevice,
            s.get("memory_limit_gb") == null
                ? Double.NaN
                : FactorySettings.number(s, "memory_limit_gb", 0, 0, true, 1 << 20));
    return new FluxSettings(
        checkpoint,
        architecture,
        embeddings,
        height,
        width,
        guidance,
        dtype,
        device,
        batch,
        axes,
        parts);
  }

  private static Path transformer(Map<String, Object> s, Path dir) {
    if (s.get("model_path") != null || dir == null) {
      return TorchSettings.file(
          s,
          "model_path",
          "the FLUX.1 transformer checkpoint (flux1-schnell.safetensors or flux1-dev.safetensors),"
              + " or set model_dir to the downloaded folder",
          true);
    }
    Path schnell = dir.resolve("flux1-schnell.safetensors");
    Path dev = dir.resolve("flux1-dev.safetensors");
    boolean hasS = Files.isRegularFile(schnell);
    boolean hasD = Files.isRegularFile(dev);
    if (hasS && hasD) {
      throw new IllegalArgumentException(
          "model_dir: "
              + dir
              + " holds both flux1-schnell.safetensors and flux1-dev.safetensors: set model_path"
              + " to the one to run");
    }
    if (!hasS && !hasD) {
      throw new IllegalArgumentException(
          "model_dir: the transformer is missing: expected "
              + schnell
              + " or "
              + dev.getFileName()
              + " (or set model_path)");
    }
    return hasS ? schnell : dev;
  }

  /** A weights part: its key, else {@code model_dir/name} (which must then exist), else null. */
  private static Path part(
      Map<String, Object> s, Path dir, String key, String name, String what, boolean folder) {
    if (s.get(key) != null) {
      return TorchSettings.file(s, key, what + " (safetensors)", true);
    }
    if (dir == null) {
      return null;
    }
    Path p = dir.resolve(name);
    if (!folder) {
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(
            "model_dir: " + what + " is missing: expected " + p + " (or set " + key + ")");
      }
      return p;
    }
    boolean found = false;
    if (Files.isDirectory(p)) {
      try (var list = Files.list(p)) {
        found =
            list.anyMatch(
                f ->
                    f.getFileName().toString().endsWith(".safetensors")
                        || f.getFileName().toString().endsWith(".safetensors.index.json"));
      } catch (java.io.IOException e) {
        found = false;
      }
    }
    if (!found) {
      throw new IllegalArgumentException(
          "model_dir: "
              + what
              + " is missing: expected "
              + p.resolve(
                  name.equals("text_encoder_2")
                      ? "model.safetensors.index.json"
                      : "model.safetensors")
              + " (or set "
              + key
              + ")");
    }
    return p;
  }

  private static Path tokenizer(
      Map<String, Object> s, Path dir, String key, String name, List<String> files) {
    Path p;
    if (s.get(key) != null) {
      p = TorchSettings.file(s, key, "a tokenizer folder", true);
    } else if (dir == null) {
      return null;
    } else {
      p = dir.resolve(name);
    }
    for (String f : files) {
      if (!Files.isRegularFile(p.resolve(f))) {
        throw new IllegalArgumentException(
            (s.get(key) != null ? key : "model_dir")
                + ": the "
                + (name.equals("tokenizer") ? "CLIP" : "T5")
                + " tokenizer is missing: expected "
                + p.resolve(f)
                + (s.get(key) != null ? "" : " (or set " + key + ")"));
      }
    }
    return p;
  }

  private static TextEncoders policy(Object v) {
    if (v == null) {
      return TextEncoders.RELOAD;
    }
    if (v instanceof String str) {
      for (TextEncoders t : TextEncoders.values()) {
        if (t.name().equalsIgnoreCase(str)) {
          return t;
        }
      }
    }
    throw new IllegalArgumentException(
        "text_encoders must be keep, offload or reload, got " + FactorySettings.describe(v));
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
        && Arrays.equals(f.axesDim, axesDim)
        && f.parts.equals(parts);
  }

  @Override
  public int hashCode() {
    return checkpoint.hashCode() * 31 + Arrays.hashCode(axesDim);
  }
}
