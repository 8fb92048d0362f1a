package org.flowscale.engine.model;

import java.util.Map;
import java.util.Set;

/**
 * Loads flow models from config settings ({@code model: NAME} plus its keys); found with {@link
 * java.util.ServiceLoader}, so a model living in another module (e.g. TorchScript through the
 * native shim) is usable from configs without the engine depending on it.
 */
public interface ModelFactory {
  /** The config name ({@code toy}, {@code torchscript}). */
  String name();

  /** The settings keys this factory accepts (for validation and suggestions). */
  Set<String> keys();

  /**
   * Loads the model's weights once; {@link FlowModel#condition} then binds prompts.
   *
   * @param settings the model's settings: values are String, Long, Double, Boolean or List
   * @throws IllegalArgumentException naming the bad setting
   */
  FlowModel load(Map<String, Object> settings);

  /**
   * Loads and conditions in one go: a one-off model that owns its weights (closing it closes them).
   * A service that answers many prompts keeps the {@link #load loaded} model instead.
   *
   * @throws IllegalArgumentException naming the bad setting or why the prompt does not fit
   */
  default VelocityModel create(Map<String, Object> settings, String prompt) {
    return Owned.model(load(settings), prompt);
  }
}
