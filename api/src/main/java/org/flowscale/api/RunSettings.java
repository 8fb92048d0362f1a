package org.flowscale.api;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.search.SearchConfig;

/**
 * A resolved, validated config: everything a run needs, typed.
 *
 * @param search the search's typed config
 * @param prompt {@code text_prompt}
 * @param model {@code model}: the ModelFactory's name
 * @param modelSettings the model factory's own keys that the config sets
 * @param reward {@code reward_score}: the reward's name, or null when {@code rewards} is set
 * @param rewardSettings the reward factory's own keys that the config sets
 * @param rewards the terms of {@code rewards} (a weighted sum), or empty when {@code reward_score}
 *     names the reward
 * @param backend {@code backend}: the ParticleOps provider's name
 * @param rootDir {@code root_dir}
 * @param tag {@code tag}, or the method's name when the config leaves it null
 * @param saveNow {@code save_now}: append a timestamp to the run directory's name
 * @param height {@code height}, or null for the model's own
 * @param width {@code width}, or null for the model's own
 * @param saveIntermediate {@code save_intermediate}
 * @param deadline {@code deadline_s}, or null for none
 * @param resolved every key with its final value, in schema order (what config.yaml holds)
 */
record RunSettings(
    SearchConfig search,
    String prompt,
    String model,
    Map<String, Object> modelSettings,
    String reward,
    Map<String, Object> rewardSettings,
    List<RewardTerm> rewards,
    String backend,
    Path rootDir,
    String tag,
    boolean saveNow,
    Integer height,
    Integer width,
    boolean saveIntermediate,
    java.time.Duration deadline,
    Map<String, Object> resolved) {

  RunSettings {
    rewards = List.copyOf(rewards);
    modelSettings =
        java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(modelSettings));
    rewardSettings =
        java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(rewardSettings));
    resolved = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(resolved));
  }
}
