package org.flowscale.rewards.aesthetic;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flowscale.bindings.torch.TorchDType;
import org.flowscale.bindings.torch.TorchException;
import org.flowscale.bindings.torch.TorchModule;
import org.flowscale.bindings.torch.TorchSettings;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.torch.TorchWeights;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.WeightsException;
import org.flowscale.engine.model.FactorySettings;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.SampleSpace;

/**
 * {@code reward_score: aesthetic_clip}: the LAION aesthetic predictor (CLIP ViT-L/14's image tower
 * and the sac+logos+ava1 linear-MSE head) in-process, differentiable, on libtorch. Settings:
 *
 * <ul>
 *   <li>{@code reward_path} (required): the safetensors file made once by {@code
 *       tools/rewards/convert_aesthetic_clip.py} from OpenAI's {@code ViT-L-14.pt} and {@code
 *       sac+logos+ava1-l14-linearMSE.pth}; its tensors are loaded by name;
 *   <li>{@code reward_architecture_path} (required): the architecture file made once by {@code
 *       tools/rewards/aesthetic_clip_arch.py};
 *   <li>{@code reward_device}: {@code cpu} (default), {@code cuda} or {@code cuda:N};
 *   <li>{@code reward_dtype}: {@code float32} (default), {@code bf16} (as the paper's reference
 *       runs it), {@code float16} or {@code float64}.
 * </ul>
 *
 * The samples must be images ({@link SampleSpace#imageDecoder()}: {@code H x W x 3} floats in [-1,
 * 1]); resizing, cropping and CLIP's normalisation happen inside the module, on its device, so the
 * gradient reaches the pixels (for {@code dps}, {@code svdd_dps}, {@code rbf_dps}).
 */
public final class AestheticClipRewardFactory implements RewardFactory {
  static final String WEIGHTS = "reward_path";
  static final String ARCHITECTURE = "reward_architecture_path";
  static final String DEVICE = "reward_device";
  static final String DTYPE = "reward_dtype";

  /** The architecture files' interface version this reward runs. */
  static final int ARCHITECTURE_VERSION = 1;

  private static final Pattern BLOCK =
      Pattern.compile("visual\\.transformer\\.resblocks\\.(\\d+)\\..+");

  @Override
  public Set<String> names() {
    return Set.of("aesthetic_clip");
  }

  /** Starts loading the libtorch shim in the background ({@link TorchShim#preload}). */
  @Override
  public void prepare() {
    TorchShim.preload();
  }

  @Override
  public Set<String> keys() {
    return Set.of(WEIGHTS, ARCHITECTURE, DEVICE, DTYPE);
  }

  @Override
  public RewardModel load(String name, Map<String, Object> settings, SampleSpace space) {
    if (!names().contains(name)) {
      throw new IllegalArgumentException(
          "reward_score: this factory makes 'aesthetic_clip', not '" + name + "'");
    }
    Map<String, Object> s = settings == null ? Map.of() : settings;
    FactorySettings.checkKeys(s, keys(), "reward 'aesthetic_clip'");
    ImageDecoder images =
        (space == null ? java.util.Optional.<ImageDecoder>empty() : space.imageDecoder())
            .orElseThrow(
                () ->
                    new IllegalArgumentException(
                        "reward 'aesthetic_clip' judges images, but "
                            + (space == null
                                ? "no model was given to say their size"
                                : "the model's samples have no image form")));
    Path weights =
        TorchSettings.file(
            s,
            WEIGHTS,
            "the safetensors file made by tools/rewards/convert_aesthetic_clip.py",
            false);
    Path architecture =
        TorchSettings.file(
            s,
            ARCHITECTURE,
            "the architecture file made by tools/rewards/aesthetic_clip_arch.py",
            false);
    TorchDType dtype = dtype(s.get(DTYPE));
    TorchShim shim = TorchShim.get();
    int device = TorchSettings.device(s, DEVICE, shim);
    try (Checkpoint checkpoint = Checkpoint.open(weights)) {
      AestheticClipSpec spec = AestheticClipSpec.of(checkpoint);
      TorchModule module = architecture(shim, architecture, spec);
      try {
        TorchWeights.load(
            module,
            checkpoint,
            TorchWeights.options().expectShapes(spec::shapeOf).dtype(dtype).device(device),
            "aesthetic CLIP");
        module.setInts("heads", spec.heads());
        // Op by op: the optimizer would re-specialise the graph for every new batch size.
        module.setOptimize(false);
        return new AestheticClipReward(shim, module, spec, images.height(), images.width());
      } catch (RuntimeException e) {
        module.close();
        throw e;
      }
    } catch (WeightsException e) {
      throw new IllegalArgumentException(WEIGHTS + ": " + e.getMessage(), e);
    }
  }

  private static TorchDType dtype(Object v) {
    if (v == null) {
      return TorchDType.F32;
    }
    if (v instanceof String str) {
      switch (str.strip().toLowerCase(Locale.ROOT)) {
        case "float32", "fp32", "f32" -> {
          return TorchDType.F32;
        }
        case "bf16", "bfloat16" -> {
          return TorchDType.BF16;
        }
        case "float16", "fp16", "f16" -> {
          return TorchDType.F16;
        }
        case "float64", "fp64", "f64" -> {
          return TorchDType.F64;
        }
        default -> {}
      }
    }
    throw new IllegalArgumentException(
        DTYPE + " must be float32, bf16, float16 or float64, got " + FactorySettings.describe(v));
  }

  /** Loads the architecture file on the host and checks it is ours and as deep as the weights. */
  private static TorchModule architecture(TorchShim shim, Path path, AestheticClipSpec spec) {
    String make =
        "make one with: python3 tools/rewards/aesthetic_clip_arch.py aesthetic-clip-arch.pt";
    TorchModule m;
    try {
      m = shim.load(path, -1);
    } catch (TorchException e) {
      throw new IllegalArgumentException(
          ARCHITECTURE
              + ": libtorch "
              + shim.torchVersion()
              + " cannot load it ("
              + e.getMessage().lines().findFirst().orElse("")
              + "); "
              + make,
          e);
    }
    try {
      long version;
      try {
        long[] v = m.ints("flowscale_aesthetic_clip_architecture");
        version = v.length == 1 ? v[0] : -1;
      } catch (TorchException e) {
        throw new IllegalArgumentException(
            ARCHITECTURE
                + ": "
                + path
                + " is not an aesthetic CLIP architecture file ("
                + make
                + ")");
      }
      if (version != ARCHITECTURE_VERSION) {
        throw new IllegalArgumentException(
            ARCHITECTURE
                + ": "
                + path
                + " is of version "
                + version
                + ", this flowscale needs version "
                + ARCHITECTURE_VERSION
                + " ("
                + make
                + ")");
      }
      int blocks = 0;
      for (TorchModule.Slot s : m.slots()) {
        Matcher b = BLOCK.matcher(s.name());
        if (b.matches()) {
          blocks = Math.max(blocks, Integer.parseInt(b.group(1)) + 1);
        }
      }
      if (blocks != spec.layers()) {
        throw new IllegalArgumentException(
            ARCHITECTURE
                + ": "
                + path.getFileName()
                + " has "
                + blocks
                + " residual blocks, the weights "
                + spec.layers()
                + " (make it with: python3 tools/rewards/aesthetic_clip_arch.py --layers "
                + spec.layers()
                + " FILE)");
      }
      return m;
    } catch (RuntimeException e) {
      m.close();
      throw e;
    }
  }
}
