package org.flowscale.flux;

import java.util.Map;
import java.util.Set;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.weights.WeightsException;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.ModelFactory;

/**
 * {@code model: flux}: FLUX.1-schnell or FLUX.1-dev from Black Forest Labs' transformer checkpoint
 * (see {@link FluxModel}; the keys are {@link FluxSettings}'). A checkpoint that does not fit is a
 * bad setting: its one-line message names the file and what is wrong.
 */
public final class FluxModelFactory implements ModelFactory {
  @Override
  public String name() {
    return "flux";
  }

  /** Starts loading the libtorch shim in the background ({@link TorchShim#preload}). */
  @Override
  public void prepare() {
    TorchShim.preload();
  }

  @Override
  public Set<String> keys() {
    return FluxSettings.KEYS;
  }

  /** Checks the folder from its headers and estimates the memory per device; loads nothing. */
  @Override
  public java.util.Optional<org.flowscale.engine.model.ModelPlan> plan(
      Map<String, Object> settings) {
    TorchShim shim = TorchShim.get();
    return java.util.Optional.of(FluxModel.plan(shim, FluxSettings.parse(settings, shim)));
  }

  @Override
  public FlowModel load(Map<String, Object> settings) {
    TorchShim shim = TorchShim.get();
    FluxSettings s = FluxSettings.parse(settings, shim);
    try {
      return FluxModel.load(shim, s);
    } catch (WeightsException e) {
      throw new IllegalArgumentException("model_path: " + e.getMessage(), e);
    }
  }
}
