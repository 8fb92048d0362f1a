package org.flowscale.flux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flowscale.bindings.torch.TensorDesc;
import org.flowscale.bindings.torch.TorchCall;
import org.flowscale.bindings.torch.TorchDType;
import org.flowscale.bindings.torch.TorchException;
import org.flowscale.bindings.torch.TorchModule;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.torch.TorchTensor;
import org.flowscale.bindings.torch.TorchWeights;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.SafeTensors;
import org.flowscale.bindings.weights.WeightsException;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.PromptCache;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * FLUX.1 (schnell or dev) loaded once from Black Forest Labs' transformer checkpoint and run by
 * libtorch through the shim: {@code model: flux}.
 *
 * <p><b>The particle state is the unpacked latent</b> {@code [16, H/8, W/8]} (what the VAE decodes
 * and what rewards on latents see; {@link #shape()}). Each forward packs it into 2x2 patches {@code
 * [L, 64]}, {@code L = (H/16)(W/16)}, with image ids {@code (0, row, col)} and text ids of zeros,
 * runs BFL's transformer, and unpacks the velocity; all of that happens inside the scripted module,
 * on the particles' device. The velocity is the linear interpolant's {@code E[eps - x0 | x_t]} at
 * model time {@code t} in [0, 1] (1 = noise), as FLUX predicts it.
 *
 * <p>As BFL's sampler does, the time (and, for FLUX.1-dev, the guidance scale) reaches the model in
 * the model's dtype, so a bf16 model sees bf16-rounded times. Weights and activations are bf16 by
 * default, float32 on request. Particles that are {@link org.flowscale.engine.ops.NativeTensor}s
 * (CPU tensors, CUDA device buffers) go to libtorch by address, on the backend's CUDA stream when
 * it shares one ({@link org.flowscale.bindings.torch.CudaStreamSource}); the conditioning tensors
 * live on the model's device; nothing crosses to the host between steps. A batch larger than {@code
 * model_batch_size} runs as several forwards.
 *
 * <p>{@link #condition} reads the prompt's T5 and CLIP embeddings ({@link FluxTextEmbeddings}),
 * uploads them once and caches them per prompt; the {@link VelocityModel} it returns shares the
 * weights and holds the prompt's embeddings until closed. Thread-safe.
 */
public final class FluxModel implements FlowModel {
  /**
   * The architecture file interface version this class drives ({@code tools/flux/flux_arch.py}).
   */
  public static final int ARCHITECTURE_VERSION = 1;

  private static final int CACHED_PROMPTS = 16;
  private static final Pattern BLOCK = Pattern.compile("(double|single)_blocks\\.(\\d+)\\..*");

  private final TorchShim shim;
  private final FluxSettings settings;
  private final FluxTransformerSpec spec;
  private final long[] shape;
  private final int dim;
  private final TorchModule module;
  private final TorchTensor guidance; // [model_batch_size] in the model's dtype, dev only
  private final PromptCache<Conditioning> cache;
  private FluxTextEncoders text; // null: prompts come as embeddings files only
  private FluxAutoencoder ae; // null: samples stay latents
  private volatile boolean closed;

  private FluxModel(
      TorchShim shim,
      FluxSettings settings,
      FluxTransformerSpec spec,
      TorchModule module,
      TorchTensor guidance) {
    this.shim = shim;
    this.settings = settings;
    this.spec = spec;
    this.module = module;
    this.guidance = guidance;
    this.shape =
        new long[] {spec.latentChannels(), settings.latentHeight(), settings.latentWidth()};
    this.dim = Math.toIntExact(shape[0] * shape[1] * shape[2]);
    this.cache = new PromptCache<>(CACHED_PROMPTS, Conditioning::release);
  }

  /**
   * Loads the checkpoint into the architecture file on the configured device.
   *
   * @throws WeightsException when the checkpoint is damaged or not a FLUX.1 transformer that fits
   *     the architecture file (one line naming the file and what is wrong)
   * @throws IllegalArgumentException when a setting does not fit the checkpoint
   * @throws TorchException when libtorch fails (e.g. out of device memory)
   */
  public static FluxModel load(TorchShim shim, FluxSettings settings) {
    try (Checkpoint checkpoint = Checkpoint.open(settings.checkpoint())) {
      FluxTransformerSpec spec = FluxTransformerSpec.of(checkpoint);
      check(spec, settings);
      Checked parts = checkParts(shim, settings, spec, checkpoint);
      TorchModule module = null;
      TorchTensor guidance = null;
      try {
        FluxMemory.check(parts.memory(), settings);
        module = loadArchitecture(shim, settings.architecture(), spec);
        TorchWeights.Options options = transformerOptions(spec, settings);
        TorchWeights.load(module, checkpoint, options, spec.variant() + " transformer");
        module.setInts("num_heads", spec.heads());
        module.setInts("axes_dim", settings.axesDim());
        module.setInts("theta", 10000);
        module.setInts("guidance_embed", spec.guidance() ? 1 : 0);
        // Op by op, as eager PyTorch runs it: TorchScript's profiling optimizer would spend
        // seconds re-specialising the 57-block graph for every new batch size.
        module.setOptimize(false);
        if (spec.guidance()) {
          guidance = filled(shim, settings, settings.modelBatchSize(), guidanceScale(settings));
        }
        FluxModel model = new FluxModel(shim, settings, spec, module, guidance);
        model.text = parts.text();
        try {
          model.loadDecoder();
        } catch (RuntimeException e) {
          model.close();
          throw e;
        }
        return model;
      } catch (RuntimeException e) {
        if (guidance != null) {
          guidance.close();
        }
        if (module != null) {
          module.close();
        }
        if (parts.text() != null) {
          parts.text().close();
        }
        throw e;
      }
    }
  }

  /**
   * Checks the whole folder without loading a tensor (names, shapes and dtypes against the
   * architecture files; tokenizers; memory per device, refused when it cannot fit): what {@code
   * --dry-run} reports.
   *
   * @throws IllegalArgumentException naming the file, the part or the device
   */
  public static org.flowscale.engine.model.ModelPlan plan(TorchShim shim, FluxSettings settings) {
    try (Checkpoint checkpoint = Checkpoint.open(settings.checkpoint())) {
      FluxTransformerSpec spec = FluxTransformerSpec.of(checkpoint);
      check(spec, settings);
      TorchModule module = loadArchitecture(shim, settings.architecture(), spec);
      try {
        TorchWeights.check(
            module,
            checkpoint,
            transformerOptions(spec, settings),
            spec.variant() + " transformer");
      } finally {
        module.close();
      }
      Checked parts = checkParts(shim, settings, spec, checkpoint);
      try {
        List<String> report = new ArrayList<>();
        report.add("transformer: " + settings.checkpoint() + " (" + spec + ")");
        FluxSettings.Parts p = settings.parts();
        report.add(
            "VAE decoder: "
                + (p.ae() == null ? "none (samples stay latents; rewards judge latents)" : p.ae()));
        report.add(
            "text encoders: "
                + (parts.text() == null
                    ? "none (prompts need text_embeddings files)"
                    : p.t5()
                        + " and "
                        + p.clip()
                        + ", T5 length "
                        + parts.tokens()
                        + ", "
                        + p.textEncoders().name().toLowerCase(java.util.Locale.ROOT)));
        report.addAll(FluxMemory.report(parts.memory(), settings));
        FluxMemory.check(parts.memory(), settings);
        long[] latent = {spec.latentChannels(), settings.latentHeight(), settings.latentWidth()};
        org.flowscale.engine.model.SampleSpace space =
            p.ae() == null
                ? latentSpace(latent)
                : org.flowscale.engine.model.SampleDecoder.images(
                    settings.height(), settings.width());
        return new org.flowscale.engine.model.ModelPlan(space, report);
      } finally {
        if (parts.text() != null) {
          parts.text().close();
        }
      }
    } catch (WeightsException e) {
      throw new IllegalArgumentException("model_path: " + e.getMessage(), e);
    }
  }

  private static org.flowscale.engine.model.SampleSpace latentSpace(long[] shape) {
    int dim = Math.toIntExact(shape[0] * shape[1] * shape[2]);
    return new org.flowscale.engine.model.SampleSpace() {
      @Override
      public int dim() {
        return dim;
      }

      @Override
      public long[] shape() {
        return shape.clone();
      }
    };
  }

  private static TorchWeights.Options transformerOptions(
      FluxTransformerSpec spec, FluxSettings settings) {
    return TorchWeights.options()
        .rename(spec::moduleName)
        .optional(n -> !spec.guidance() && n.startsWith("guidance_in."))
        .expectShapes(spec::shapeOf)
        .dtype(settings.dtype())
        .device(settings.device());
  }

  /** The folder's other parts, checked, and the memory estimate of the whole. */
  private record Checked(FluxTextEncoders text, int tokens, FluxMemory.Estimate memory) {}

  private static Checked checkParts(
      TorchShim shim, FluxSettings settings, FluxTransformerSpec spec, Checkpoint checkpoint) {
    FluxSettings.Parts p = settings.parts();
    long aeElements = 0;
    if (p.ae() != null) {
      Path arch = p.architecture(FluxAutoencoder.ARCH_FILE, "ae_path", "the autoencoder");
      aeElements = FluxAutoencoder.check(shim, p.ae(), arch).elements();
    }
    boolean any =
        p.clip() != null || p.t5() != null || p.clipTokenizer() != null || p.t5Tokenizer() != null;
    if (any && !p.encoders()) {
      throw new IllegalArgumentException(
          "the text encoders need all four of text_encoder_path, text_encoder_2_path,"
              + " tokenizer_path and tokenizer_2_path (or model_dir); missing: "
              + (p.clip() == null ? "text_encoder_path " : "")
              + (p.t5() == null ? "text_encoder_2_path " : "")
              + (p.clipTokenizer() == null ? "tokenizer_path " : "")
              + (p.t5Tokenizer() == null ? "tokenizer_2_path" : ""));
    }
    int tokens = p.maxSequenceLength() > 0 ? p.maxSequenceLength() : spec.guidance() ? 512 : 256;
    FluxTextEncoders text =
        p.encoders()
            ? FluxTextEncoders.open(
                shim, p, settings.dtype(), spec.contextDim(), spec.vecDim(), tokens)
            : null;
    long transformer = 0;
    for (var i : checkpoint.infos().values()) {
      if (spec.moduleName(i.name()) != null) {
        transformer += i.elements();
      }
    }
    long encoders = text == null ? 0 : text.weightBytes() / settings.dtype().bytes();
    return new Checked(
        text,
        tokens,
        FluxMemory.estimate(settings, spec, transformer, aeElements, encoders, tokens));
  }

  /** The autoencoder's decoder, when the folder has one. */
  private void loadDecoder() {
    FluxSettings.Parts p = settings.parts();
    if (p.ae() != null) {
      Path arch = p.architecture(FluxAutoencoder.ARCH_FILE, "ae_path", "the autoencoder");
      ae =
          FluxAutoencoder.load(
              shim, p.ae(), arch, settings.dtype(), settings.device(), shape.clone());
    }
  }

  /** T5's sequence length: {@code max_sequence_length}, else 256 (schnell) or 512 (dev). */
  int maxSequenceLength() {
    int m = settings.parts().maxSequenceLength();
    return m > 0 ? m : spec.guidance() ? 512 : 256;
  }

  /** The text encoders, or null when prompts come only as embeddings files. */
  FluxTextEncoders textEncoders() {
    return text;
  }

  /** The autoencoder's decoder, or null. */
  FluxAutoencoder autoencoder() {
    return ae;
  }

  private static double guidanceScale(FluxSettings s) {
    return Double.isNaN(s.guidanceScale()) ? FluxSettings.DEFAULT_GUIDANCE : s.guidanceScale();
  }

  private static void check(FluxTransformerSpec spec, FluxSettings s) {
    if (spec.outChannels() != spec.inChannels()) {
      throw new WeightsException(
          s.checkpoint()
              + ": final_layer.linear makes "
              + spec.outChannels()
              + " channels per patch, img_in takes "
              + spec.inChannels()
              + ": not a velocity model of its own input");
    }
    long sum = Arrays.stream(s.axesDim()).sum();
    if (sum != spec.headDim()) {
      throw new IllegalArgumentException(
          "axes_dim "
              + Arrays.toString(s.axesDim())
              + " covers "
              + sum
              + " dimensions, but the checkpoint's attention heads have "
              + spec.headDim()
              + " (set axes_dim to a split of "
              + spec.headDim()
              + "; FLUX.1 uses [16, 56, 56] for 128)");
    }
    if (!spec.guidance() && !Double.isNaN(s.guidanceScale())) {
      throw new IllegalArgumentException(
          "guidance_scale is set, but "
              + s.checkpoint().getFileName()
              + " is FLUX.1-schnell (no guidance_in): only FLUX.1-dev takes a guidance scale;"
              + " remove the key");
    }
  }

  /** Loads the tiny architecture file on the host and checks it is ours and deep enough. */
  private static TorchModule loadArchitecture(TorchShim shim, Path path, FluxTransformerSpec spec) {
    TorchModule m;
    try {
      m = shim.load(path, -1);
    } catch (TorchException e) {
      throw new IllegalArgumentException(
          "architecture_path: libtorch "
              + shim.torchVersion()
              + " cannot load it ("
              + e.getMessage().lines().findFirst().orElse("")
              + "); make the file with: python3 tools/flux/flux_arch.py flux-arch.pt",
          e);
    }
    try {
      long version;
      try {
        long[] v = m.ints("flowscale_flux_architecture");
        version = v.length == 1 ? v[0] : -1;
      } catch (TorchException e) {
        throw new IllegalArgumentException(
            "architecture_path: "
                + path
                + " is not a flowscale FLUX.1 architecture file (make one with: python3"
                + " tools/flux/flux_arch.py flux-arch.pt)");
      }
      if (version != ARCHITECTURE_VERSION) {
        throw new IllegalArgumentException(
            "architecture_path: "
                + path
                + " is a FLUX.1 architecture file of version "
                + version
                + ", this flowscale needs version "
                + ARCHITECTURE_VERSION
                + " (remake it with tools/flux/flux_arch.py)");
      }
      int doubles = 0;
      int singles = 0;
      for (TorchModule.Slot s : m.slots()) {
        Matcher b = BLOCK.matcher(s.name());
        if (b.matches()) {
          int i = Integer.parseInt(b.group(2)) + 1;
          if (b.group(1).equals("double")) {
            doubles = Math.max(doubles, i);
          } else {
            singles = Math.max(singles, i);
          }
        }
      }
      if (doubles != spec.doubleBlocks() || singles != spec.singleBlocks()) {
        throw new WeightsException(
            "the checkpoint has "
                + spec.doubleBlocks()
                + " double and "
                + spec.singleBlocks()
                + " single blocks, the architecture file "
                + path.getFileName()
                + " "
                + doubles
                + " and "
                + singles
                + (spec.doubleBlocks() == 0 || spec.singleBlocks() == 0
                    ? ": the checkpoint is damaged (whole block stacks are missing)"
                    : ": if that is the model you mean, script a matching file with python3"
                        + " tools/flux/flux_arch.py OUT.pt --double-blocks "
                        + spec.doubleBlocks()
                        + " --single-blocks "
                        + spec.singleBlocks()));
      }
      return m;
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }

  /** A device tensor of {@code n} copies of {@code value} in the model's dtype. */
  private static TorchTensor filled(TorchShim shim, FluxSettings s, int n, double value) {
    TorchTensor t = shim.empty(s.dtype(), s.device(), n);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment host = a.allocate(ValueLayout.JAVA_FLOAT, n);
      for (int i = 0; i < n; i++) {
        host.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) value);
      }
      shim.copy(new TensorDesc(host.address(), new long[] {n}, TorchDType.F32, -1), t.desc());
      return t;
    } catch (RuntimeException e) {
      t.close();
      throw e;
    }
  }

  /** What the checkpoint holds. */
  public FluxTransformerSpec spec() {
    return spec;
  }

  /** The settings it was loaded with. */
  public FluxSettings settings() {
    return settings;
  }

  /** The scripted transformer with the checkpoint's weights (for tests and tools). */
  TorchModule module() {
    return module;
  }

  @Override
  public int dim() {
    return dim;
  }

  /** {@code [16, H/8, W/8]}: one unpacked latent. */
  @Override
  public long[] shape() {
    return shape.clone();
  }

  /**
   * FLUX.1-dev's time shift uses the image-token count {@code (H/16)(W/16)}; FLUX.1-schnell is not
   * shifted (0), as in BFL's sampler.
   */
  @Override
  public int timeShiftTokens() {
    return spec.guidance() ? (int) ((shape[1] / 2) * (shape[2] / 2)) : 0;
  }

  /**
   * The velocity model for {@code prompt}, with its text embeddings on the model's device.
   *
   * @throws IllegalArgumentException when there are no embeddings for the prompt, or they do not
   *     fit the transformer
   */
  @Override
  public VelocityModel condition(String prompt) {
    if (prompt == null) {
      throw new IllegalArgumentException(
          "model flux needs a prompt: FLUX.1 has no unconditional mode (use an empty prompt's"
              + " embeddings for one)");
    }
    Conditioning c;
    synchronized (cache) {
      live();
      c = cache.get(prompt, this::conditioning);
      c.retain();
    }
    return new FluxVelocity(this, c);
  }

  private Conditioning conditioning(String prompt) {
    Path setting = settings.textEmbeddings();
    Path cached = null;
    if (setting != null) {
      if (!Files.isDirectory(setting) && Files.exists(setting)) {
        return fromFile(setting, prompt); // one embeddings file for the run
      }
      cached = setting.resolve(FluxTextEmbeddings.fileName(prompt));
      // The cache is named by the prompt alone; an entry made at another T5 length (schnell's 256
      // and dev's 512 share a folder, or max_sequence_length changed) is encoded again here.
      if (Files.isRegularFile(cached) && (text == null || cachedTokens(cached) == text.tokens())) {
        return fromFile(cached, prompt);
      }
    }
    if (text == null) {
      if (setting != null) {
        FluxTextEmbeddings.locate(setting, prompt); // says which file was expected
      }
      throw new IllegalArgumentException(
          "model flux has no text encoder here: set model_dir (the downloaded FLUX.1 folder) or"
              + " text_embeddings to the prompt's FLUX text embeddings (a safetensors file with t5"
              + " [T, "
              + spec.contextDim()
              + "] and clip_pooled ["
              + spec.vecDim()
              + "], or a directory of them named by the prompt's SHA-256)");
    }
    FluxTextEncoders.Embeddings e = text.encode(prompt);
    if (cached != null) {
      try {
        Files.createDirectories(setting);
        FluxTextEmbeddings.write(
            cached,
            prompt,
            e.t5(),
            e.tokens(),
            e.clipPooled(),
            java.util.Map.of(
                "max_sequence_length", Integer.toString(e.tokens()),
                "t5_model", String.valueOf(settings.parts().t5()),
                "clip_model", String.valueOf(settings.parts().clip())));
      } catch (java.io.IOException | RuntimeException ex) {
        java.lang.System.getLogger("org.flowscale")
            .log(
                java.lang.System.Logger.Level.WARNING,
                "cannot cache the text embeddings in " + cached + ": " + ex.getMessage());
      }
    }
    TorchTensor txt = upload(e.t5(), 1, e.tokens(), spec.contextDim());
    try {
      TorchTensor y = upload(e.clipPooled(), 1, spec.vecDim());
      return new Conditioning(txt, y, e.tokens());
    } catch (RuntimeException ex) {
      txt.close();
      throw ex;
    }
  }

  /** T5 tokens of a cached embeddings file, or -1 when it is unreadable (it is then remade). */
  private static long cachedTokens(Path file) {
    try (SafeTensors f = SafeTensors.open(file)) {
      if (!f.contains(FluxTextEmbeddings.T5)) {
        return -1;
      }
      long[] s = f.info(FluxTextEmbeddings.T5).shape();
      return s.length >= 2 ? s[s.length - 2] : -1;
    } catch (WeightsException e) {
      return -1;
    }
  }

  private Conditioning fromFile(Path file, String prompt) {
    try (SafeTensors f = SafeTensors.open(file)) {
      FluxTextEmbeddings.Contents c =
          FluxTextEmbeddings.check(f, prompt, spec.contextDim(), spec.vecDim());
      TorchTensor txt = upload(f, c.t5().name(), 1, c.tokens(), spec.contextDim());
      try {
        TorchTensor y = upload(f, c.clipPooled().name(), 1, spec.vecDim());
        return new Conditioning(txt, y, c.tokens());
      } catch (RuntimeException e) {
        txt.close();
        throw e;
      }
    } catch (WeightsException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private TorchTensor upload(float[] values, long... shape) {
    TorchTensor t = shim.empty(settings.dtype(), settings.device(), shape);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment data = a.allocateFrom(ValueLayout.JAVA_FLOAT, values);
      shim.copy(new TensorDesc(data.address(), shape, TorchDType.F32, -1), t.desc());
      return t;
    } catch (RuntimeException e) {
      t.close();
      throw e;
    }
  }

  private TorchTensor upload(SafeTensors f, String name, long... shape) {
    TorchTensor t = shim.empty(settings.dtype(), settings.device(), shape);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment data = f.data(name);
      TorchDType src = TorchDType.of(f.info(name).dtype());
      if (data.address() % src.bytes() != 0) {
        MemorySegment copy = a.allocate(data.byteSize(), 64);
        copy.copyFrom(data);
        data = copy;
      }
      shim.copy(new TensorDesc(data.address(), shape, src, -1), t.desc());
      return t;
    } catch (RuntimeException e) {
      t.close();
      throw e;
    }
  }

  /**
   * Runs the transformer on {@code x} at times {@code t} with {@code c}'s text, into {@code out}.
   */
  void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out, Conditioning c) {
    run(ops, x, t, null, out, c);
  }

  /**
   * {@code (du/dx)^T v} for each particle, by libtorch's autograd through the transformer (the
   * weights take no gradient); one forward and one backward per chunk of {@code model_batch_size},
   * whose activations are kept for the backward.
   */
  void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out, Conditioning c) {
    if (v.rows() != x.rows() || v.cols() != x.cols()) {
      throw new IllegalArgumentException(
          "v must be ["
              + x.rows()
              + " x "
              + x.cols()
              + "] like x, got ["
              + v.rows()
              + " x "
              + v.cols()
              + "]");
    }
    run(ops, x, t, v, out, c);
  }

  /** A forward into {@code out}, or with a cotangent {@code v} the VJP into {@code out}. */
  private void run(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out, Conditioning c) {
    live();
    if (x.cols() != dim) {
      throw new IllegalArgumentException(
          "x must have "
              + dim
              + " columns (latents "
              + Arrays.toString(shape)
              + " for "
              + settings.height()
              + "x"
              + settings.width()
              + " images), got "
              + x.cols());
    }
    if (x.dtype() != DType.F32 && x.dtype() != DType.BF16) {
      throw new IllegalArgumentException("x must be F32 or BF16, got " + x.dtype());
    }
    TensorChecks.column(t, DType.F64, x.rows(), "t");
    if (out.rows() != x.rows() || out.cols() != x.cols()) {
      throw new IllegalArgumentException(
          "out must be ["
              + x.rows()
              + " x "
              + x.cols()
              + "] like x, got ["
              + out.rows()
              + " x "
              + out.cols()
              + "]");
    }
    int n = x.rows();
    int batch = settings.modelBatchSize();
    TorchDType model = settings.dtype();
    try (TorchCall call = new TorchCall(shim, ops)) {
      TensorDesc xs = call.input(x, TorchCall.batched(n, shape)).convertedTo(model);
      TensorDesc ts = call.input(t, new long[] {n}).convertedTo(model);
      TensorDesc vs = v == null ? null : call.input(v, TorchCall.batched(n, shape));
      TensorDesc os = call.output(out, TorchCall.batched(n, shape));
      TensorDesc txt = c.txt.desc();
      TensorDesc y = c.y.desc();
      TensorDesc g = guidance == null ? null : guidance.desc();
      call.run(
          () -> {
            for (int r = 0; r < n; r += batch) {
              int k = Math.min(batch, n - r);
              List<TensorDesc> in = new ArrayList<>(5);
              in.add(xs.rows(r, k));
              in.add(ts.rows(r, k));
              in.add(txt);
              in.add(y);
              if (g != null) {
                in.add(g.rows(0, k));
              }
              if (vs == null) {
                module.forward(in, List.of(os.rows(r, k)));
              } else {
                module.vjp(in, 0, vs.rows(r, k), null, os.rows(r, k));
              }
            }
          });
    }
  }

  private void live() {
    if (closed) {
      throw new IllegalStateException("the FLUX model " + settings.checkpoint() + " is closed");
    }
  }

  /** Frees the weights and cached embeddings; velocity models it returned stop working. */
  @Override
  public void close() {
    synchronized (cache) {
      if (closed) {
        return;
      }
      closed = true;
      cache.clear();
    }
    if (guidance != null) {
      guidance.close();
    }
    if (text != null) {
      text.close();
    }
    if (ae != null) {
      ae.close();
    }
    module.close();
  }

  /** The VAE decoder when the folder has one: rewards then judge decoded images. */
  @Override
  public java.util.Optional<org.flowscale.engine.model.SampleDecoder> decoder() {
    return java.util.Optional.ofNullable(ae);
  }

  /** Samples as pictures, through the VAE (for final.png and step grids). */
  @Override
  public java.util.Optional<org.flowscale.engine.model.ImageDecoder> imageDecoder() {
    return ae == null ? java.util.Optional.empty() : java.util.Optional.of(ae.hostDecoder());
  }

  @Override
  public String toString() {
    return "FluxModel["
        + settings.checkpoint().getFileName()
        + ", "
        + spec.variant()
        + ", "
        + settings.height()
        + "x"
        + settings.width()
        + ", "
        + settings.dtype()
        + (settings.device() < 0 ? " on cpu" : " on cuda:" + settings.device())
        + "]";
  }

  /**
   * A prompt's text embeddings on the model's device ({@code txt [1, T, 4096]}, {@code y [1,
   * 768]}), shared by the cache and the velocity models using it: freed when the last lets go.
   */
  static final class Conditioning {
    final TorchTensor txt;
    final TorchTensor y;
    final int tokens;
    private int refs = 1; // the cache's

    Conditioning(TorchTensor txt, TorchTensor y, int tokens) {
      this.txt = txt;
      this.y = y;
      this.tokens = tokens;
    }

    synchronized void retain() {
      if (refs == 0) {
        throw new IllegalStateException("conditioning already freed");
      }
      refs++;
    }

    synchronized void release() {
      if (refs > 0 && --refs == 0) {
        txt.close();
        y.close();
      }
    }
  }
}
