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
   * A hint that {@link #load} will probably be called soon: starts slow preparation that needs no
   * settings (loading a native library) in the background and returns at once. A service that
   * embeds flowscale calls it at boot, to overlap that preparation with its own start-up. Must be
   * cheap, idempotent and thread-safe, and must not throw; a preparation that fails must leave
   * {@link #load} to report the failure exactly as it would without the hint. Nothing by default.
   */
  default void prepare() {}

  /**
   * Checks what {@link #load} would load without loading it: file headers (names, shapes, dtypes),
   * and the memory each device would need, refusing what cannot fit. Empty for models whose load is
   * cheap enough to be its own check (a dry run then loads and closes the model).
   *
   * @throws IllegalArgumentException naming the bad setting or file, or the device that is too
   *     small
   */
  default java.util.Optional<ModelPlan> plan(Map<String, Object> settings) {
    return java.util.Optional.empty();
  }

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
