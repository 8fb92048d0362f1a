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
 *   <li>{@code image_shape}: one sample's shape as the module takes it, e.g. {@code [3, 64, 64]};
 *       defaults to the model's sample shape when it declares one ({@code sample_shape} of a
 *       TorchScript model, {@code [32, 32, 3]} for the toy world, {@code [H, W, 3]} for a latent
 *       model's decoded images); its size must match the model's, and the model's sizes in another
 *       order are refused (rows are reshaped, never transposed: {@code [3, H, W]} over {@code [H,
 *       W, 3]} samples would scramble them);
 *   <li>{@code reward_device}: {@code cpu} (default), {@code cuda} or {@code cuda:N}; defaults to
 *       {@code device} when only that is set.
 * </ul>
 */
public final class TorchScriptRewardFactory implements RewardFactory {
  @Override
  public Set<String> names() {
    return Set.of("torchscript");
  }

  @Override
  public Set<String> keys() {
    return Set.of("reward_path", "image_shape", "reward_device", "device");
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
    long[] shape = TorchSettings.shape(settings, "image_shape");
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
    if (model != null && reorders(shape, model.shape())) {
      // Same sizes in another order is a reshape, not a transpose: the values would be scrambled.
      throw new IllegalArgumentException(
          "image_shape "
              + Arrays.toString(shape)
              + " reorders the samples' axes "
              + Arrays.toString(model.shape())
              + ": rows reach the module as they are, not transposed; use image_shape "
              + Arrays.toString(model.shape())
              + " (or leave it unset) and permute in the module, e.g. x.permute(0, 3, 1, 2) for"
              + " channels first");
    }
    TorchShim shim = TorchShim.get();
    String deviceKey = settings.containsKey("reward_device") ? "reward_device" : "device";
    int device = TorchSettings.device(settings, deviceKey, shim);
    TorchModule module = shim.load(path, device);
    try {
      return RewardModel.promptFree(new TorchScriptReward(shim, module, shape));
    } catch (RuntimeException e) {
      module.close();
      throw e;
    }
  }
}
