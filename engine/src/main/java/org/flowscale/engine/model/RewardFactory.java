package org.flowscale.engine.model;

import java.util.Map;
import java.util.Set;

/**
 * Loads rewards from config settings ({@code reward_score: NAME} plus its keys); found with {@link
 * java.util.ServiceLoader}.
 */
public interface RewardFactory {
  /** The config names this factory serves ({@code counting}, {@code torchscript}, ...). */
  Set<String> names();

  /** The settings keys it accepts. */
  Set<String> keys();

  /**
   * Loads the reward once; {@link RewardModel#condition} then binds prompts.
   *
   * @param name one of {@link #names()}
   * @param space the samples the reward will judge (their size, their image form), or null when
   *     unknown
   * @throws IllegalArgumentException naming the bad setting
   */
  RewardModel load(String name, Map<String, Object> settings, SampleSpace space);

  /**
   * A hint that {@link #load} will probably be called soon: starts slow preparation that needs no
   * settings (loading a native library) in the background and returns at once. A service that
   * embeds flowscale calls it at boot, to overlap that preparation with its own start-up. Must be
   * cheap, idempotent and thread-safe, and must not throw; a preparation that fails must leave
   * {@link #load} to report the failure exactly as it would without the hint. Nothing by default.
   */
  default void prepare() {}

  /**
   * Loads and conditions in one go: a one-off reward that owns what it loaded (closing it closes
   * that).
   *
   * @throws IllegalArgumentException naming the bad setting or why the prompt does not fit
   */
  default Reward create(
      String name, Map<String, Object> settings, String prompt, SampleSpace space) {
    return Owned.reward(load(name, settings, space), prompt);
  }
}
