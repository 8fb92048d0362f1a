package org.flowscale.engine.model;

import java.util.Map;

/**
 * Makes velocity models from config settings ({@code model: NAME} plus its keys); found with {@link
 * java.util.ServiceLoader}, so a model living in another module (e.g. TorchScript through the
 * native shim) is usable from configs without the engine depending on it.
 */
public interface ModelFactory {
  /** The config name ({@code toy}, {@code torchscript}). */
  String name();

  /** The settings keys this factory accepts (for validation and suggestions). */
  java.util.Set<String> keys();

  /**
   * A model conditioned on {@code prompt}.
   *
   * @param settings the model's settings: values are String, Long, Double, Boolean or List
   * @throws IllegalArgumentException naming the bad setting
   */
  VelocityModel create(Map<String, Object> settings, String prompt);
}
