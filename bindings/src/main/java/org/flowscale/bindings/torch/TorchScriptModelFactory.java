package org.flowscale.bindings.torch;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.flowscale.engine.model.FactorySettings;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.ModelFactory;

/**
 * {@code model: torchscript}: a {@link TorchScriptVelocityModel}. Settings:
 *
 * <ul>
 *   <li>{@code model_path} (required): the TorchScript file;
 *   <li>{@code sample_shape} (required): one particle's shape, e.g. {@code [16, 64, 64]};
 *   <li>{@code device}: {@code cpu} (default), {@code cuda} or {@code cuda:N};
 *   <li>{@code cond}: a list of numbers passed to forward as a third argument {@code [N, C]}.
 * </ul>
 *
 * The module is loaded once; the prompt is not interpreted: a prompt-conditioned module bakes its
 * conditioning in (or takes it through {@code cond}), so every request shares the one module.
 */
public final class TorchScriptModelFactory implements ModelFactory {
  @Override
  public String name() {
    return "torchscript";
  }

  @Override
  public Set<String> keys() {
    return Set.of("model_path", "sample_shape", "device", "cond");
  }

  /** Starts loading the libtorch shim in the background ({@link TorchShim#preload}). */
  @Override
  public void prepare() {
    TorchShim.preload();
  }

  @Override
  public FlowModel load(Map<String, Object> settings) {
    if (settings == null) {
      settings = Map.of();
    }
    FactorySettings.checkKeys(settings, keys(), "model 'torchscript'");
    Path path = TorchSettings.file(settings, "model_path");
    long[] shape = TorchSettings.shape(settings, "sample_shape");
    if (shape == null) {
      throw new IllegalArgumentException(
          "sample_shape must be set for model torchscript: one particle's shape, e.g. [3, 32, 32]");
    }
    float[] cond = TorchSettings.floats(settings, "cond");
    TorchShim shim = TorchShim.get();
    int device = TorchSettings.device(settings, "device", shim);
    TorchModule module = shim.load(path, device);
    try {
      return FlowModel.promptFree(new TorchScriptVelocityModel(shim, module, shape, cond));
    } catch (RuntimeException e) {
      module.close();
      throw e;
    }
  }
}
