package org.flowscale.bindings.torch;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import org.flowscale.engine.model.FactorySettings;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.SampleSpace;

/**
 * {@code reward_score: torchscript}: a {@link TorchScriptReward}. Settings:
 *
 * <ul>
 *   <li>{@code reward_path} (required): the TorchScript file;
 *   <li>{@code image_layout}: how image samples ({@code [H, W, 3]} in [-1, 1]) reach the module:
 *       {@code nchw} as {@code [N, 3, H, W]} in [0, 1] (converted by libtorch on the images'
 *       device, the gradient mapped back), or {@code nhwc} as they are. Defaults to {@code nchw} on
 *       a latent model's decoded images (FLUX: the reward contract) and to {@code nhwc}
 *       otherwise (the toy world's and a TorchScript model's samples). Only for samples of shape
 *       {@code [H, W, 3]};
 *   <li>{@code image_shape}: one sample's shape as the module takes it, e.g. {@code [3, 64, 64]};
 *       defaults to {@code [3, H, W]} with {@code image_layout: nchw}, else to the model's sample
 *       shape when it declares one ({@code sample_shape} of a TorchScript model, {@code [32, 32,
 *       3]} for the toy world); with {@code nhwc} its size must match the model's, and the model's
 *       sizes in another order are refused (rows are reshaped, never transposed); with {@code nchw}
 *       it must be {@code [3, H, W]};
 *   <li>{@code reward_device}: {@code cpu} (default), {@code cuda} or {@code cuda:N}; defaults to
 *       {@code device} when only that is set.
 * </ul>
 */
public final class TorchScriptRewardFactory implements RewardFactory {
  @Override
  public Set<String> names() {
    return Set.of("torchscript");
  }

  /** Starts loading the libtorch shim in the background ({@link TorchShim#preload}). */
  @Override
  public void prepare() {
    TorchShim.preload();
  }

  @Override
  public Set<String> keys() {
    return Set.of("reward_path", "image_shape", "image_layout", "reward_device", "device");
  }

  /** Whether {@code shape} holds the same sizes as {@code samples} in another order. */
  static boolean reorders(long[] shape, long[] samples) {
    if (samples == null || shape.length != samples.length || Arrays.equals(shape, samples)) {
      return false;
    }
    long[] a = shape.clone();
    long[] b = samples.clone();
    Arrays.sort(a);
    Arrays.sort(b);
    return Arrays.equals(a, b);
  }

  /** Whether samples of {@code model} are images of shape {@code [H, W, 3]}. */
  static boolean images(SampleSpace model) {
    if (model == null) {
      return false;
    }
    long[] s = model.shape();
    return s.length == 3 && s[2] == 3;
  }

  /**
   * The {@code image_layout} setting: true for {@code nchw}. Unset: {@code nchw} on decoded images
   * ({@link SampleSpace#decodedImages()}), else {@code nhwc}.
   */
  static boolean channelsFirst(Object layout, SampleSpace model) {
    if (layout == null) {
      return model != null && model.decodedImages() && images(model);
    }
    String v = String.valueOf(layout).trim().toLowerCase(java.util.Locale.ROOT);
    if (!v.equals("nchw") && !v.equals("nhwc")) {
      throw new IllegalArgumentException(
          "image_layout must be nchw ([N, 3, H, W] in [0, 1]) or nhwc (the rows as they are: [N,"
              + " H, W, 3] in [-1, 1]), got '"
              + layout
              + "'");
    }
    if (!images(model)) {
      throw new IllegalArgumentException(
          "image_layout is for image samples of shape [H, W, 3]; this model's samples are "
              + (model == null ? "unknown" : Arrays.toString(model.shape()))
              + ": leave image_layout unset and give image_shape");
    }
    return v.equals("nchw");
  }

  @Override
  public RewardModel load(String name, Map<String, Object> settings, SampleSpace model) {
    if (!names().contains(name)) {
      throw new IllegalArgumentException(
          "reward_score: this factory makes 'torchscript', not '" + name + "'");
    }
    if (settings == null) {
      settings = Map.of();
    }
    FactorySettings.checkKeys(settings, keys(), "reward 'torchscript'");
    Path path = TorchSettings.file(settings, "reward_path");
    boolean nchw = channelsFirst(settings.get("image_layout"), model);
    long[] shape = TorchSettings.shape(settings, "image_shape");
    if (nchw) {
      long[] hw3 = model.shape();
      long[] chw = {3, hw3[0], hw3[1]};
      if (shape == null) {
        shape = chw;
      } else if (!Arrays.equals(shape, chw)) {
        throw new IllegalArgumentException(
            "image_shape "
                + Arrays.toString(shape)
                + " does not fit image_layout nchw: the module takes "
                + Arrays.toString(model.shape())
                + " images as "
                + Arrays.toString(chw)
                + " in [0, 1]; use image_shape "
                + Arrays.toString(chw)
                + " (or leave it unset), or image_layout nhwc for the rows as they are");
      }
    }
    if (shape == null) {
      if (model != null && model.shape().length > 1) {
        shape = model.shape();
      } else {
        throw new IllegalArgumentException(
            "image_shape must be set for reward torchscript: one sample's shape, e.g. [3, 64, 64]");
      }
    }
    long size = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    if (model != null && size != model.dim()) {
      throw new IllegalArgumentException(
          "image_shape "
              + Arrays.toString(shape)
              + " holds "
              + size
              + " values but the model's samples have "
              + model.dim());
    }
    if (!nchw && model != null && reorders(shape, model.shape())) {
      // Same sizes in another order is a reshape, not a transpose: the values would be scrambled.
      throw new IllegalArgumentException(
          "image_shape "
              + Arrays.toString(shape)
              + " reorders the samples' axes "
              + Arrays.toString(model.shape())
              + " under image_layout nhwc: rows reach the module as they are, not transposed; use"
              + " image_layout nchw for [N, 3, H, W] in [0, 1] (images only), or image_shape "
              + Arrays.toString(model.shape())
              + " and permute in the module");
    }
    TorchShim shim = TorchShim.get();
    String deviceKey = settings.containsKey("reward_device") ? "reward_device" : "device";
    int device = TorchSettings.device(settings, deviceKey, shim);
    TorchModule module = shim.load(path, device);
    try {
      return RewardModel.promptFree(new TorchScriptReward(shim, module, shape, nchw));
    } catch (RuntimeException e) {
      module.close();
      throw e;
    }
  }
}
