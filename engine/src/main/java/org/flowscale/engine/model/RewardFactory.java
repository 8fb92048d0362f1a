package org.flowscale.engine.model;

import java.util.Map;
import java.util.Set;

/**
 * Makes rewards from config settings ({@code reward_score: NAME} plus its keys); found with {@link
 * java.util.ServiceLoader}.
 */
public interface RewardFactory {
  /** The config names this factory serves ({@code counting}, {@code torchscript}, ...). */
  Set<String> names();

  /** The settings keys it accepts. */
  Set<String> keys();

  /**
   * A reward for {@code prompt}.
   *
   * @param name one of {@link #names()}
   * @param model the velocity model the reward will judge samples of (e.g. for image size)
   * @throws IllegalArgumentException naming the bad setting
   */
  Reward create(String name, Map<String, Object> settings, String prompt, VelocityModel model);
}
