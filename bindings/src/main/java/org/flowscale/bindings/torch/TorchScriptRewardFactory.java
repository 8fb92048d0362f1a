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
 *       TorchScript model, {@code [32, 32, 3]} for the toy world); its size must match the model's;
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
