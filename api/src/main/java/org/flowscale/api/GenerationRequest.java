package org.flowscale.api;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchMethods;

/**
 * What one generation asks for: the prompt and the search (method, budget, steps, sampling mode,
 * seed), with an optional deadline. Immutable; checked when built, with the same keys, defaults and
 * messages as a config file (the defaults are the paper's RBF setting: 500 NFE, 10 steps, VP-SDE).
 * The model, reward and backend belong to the {@link Pipeline}, not to a request.
 *
 * <pre>{@code
 * GenerationRequest r = GenerationRequest.builder()
 *     .prompt("two blue squares and one red circle")
 *     .method("rbf")
 *     .maxNfe(500)
 *     .seed(7)
 *     .build();
 * }</pre>
 */
public final class GenerationRequest {
  /** Keys a pipeline fixes once: a request cannot change them. */
  static final Set<String> PIPELINE_KEYS =
      Set.of(
          ConfigSchema.MODEL,
          ConfigSchema.REWARD_SCORE,
          ConfigSchema.REWARDS,
          ConfigSchema.BACKEND);

  /** {@code reward_batch_size} when a request leaves it unset. */
  public static final int DEFAULT_REWARD_BATCH_SIZE = 4;

  private final String prompt;
  private final SearchConfig search;
  private final boolean timeShiftFromModel;
  private final Duration deadline;
  private final Map<String, Object> keys;

  private GenerationRequest(
      String prompt,
      SearchConfig search,
      boolean timeShiftFromModel,
      Duration deadline,
      Map<String, Object> keys) {
    this.prompt = prompt;
    this.search = search;
    this.timeShiftFromModel = timeShiftFromModel;
    this.deadline = deadline;
    this.keys = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(keys));
  }

  /** The request of a resolved config. */
  static GenerationRequest of(RunSettings s) {
    Map<String, Object> k = new LinkedHashMap<>();
    s.resolved()
        .forEach(
            (key, v) -> {
              if (ConfigSchema.KEYS.containsKey(key) && !PIPELINE_KEYS.contains(key)) {
                k.put(key, v);
              }
            });
    validate(s.search());
    return new GenerationRequest(
        s.prompt(), s.search(), s.resolved().get("time_shift") == null, s.deadline(), k);
  }

  private static void validate(SearchConfig search) {
    try {
      SearchMethods.of(search.method()).validate(search);
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(Text.oneLine(e.getMessage()), e);
    }
  }

  /** {@return A builder with the defaults of a config file} */
  public static Builder builder() {
    return new Builder();
  }

  /** {@return the prompt ({@code text_prompt})} */
  public String prompt() {
    return prompt;
  }

  /** {@return the typed search} */
  public SearchConfig search() {
    return search;
  }

  /**
   * {@return whether the run takes the FLUX time shift's token count from the model ({@code
   * time_shift} left unset)}
   */
  public boolean timeShiftFromModel() {
    return timeShiftFromModel;
  }

  /**
   * {@return the wall-clock limit of the run, if any; it then stops with the best sample so far}
   */
  public Optional<Duration> deadline() {
    return Optional.ofNullable(deadline);
  }

  /**
   * {@return the classifier-free guidance scale ({@code cfg_scale}); 1 (the default) is no
   * guidance}
   */
  public double cfgScale() {
    Object v = keys.get("cfg_scale");
    return v instanceof Number n ? n.doubleValue() : 1.0;
  }

  /**
   * {@return whether the run uses classifier-free guidance ({@code cfg_scale} other than 1): two
   * velocity evaluations per particle step, each counted as an NFE}
   */
  public boolean guided() {
    return cfgScale() != 1.0;
  }

  /**
   * {@return the prompt guidance steers away from ({@code negative_prompt}); the empty prompt when
   * it is unset}
   */
  public String negativePrompt() {
    return keys.get("negative_prompt") instanceof String s ? s : "";
  }

  /**
   * {@return the most samples a latent model (FLUX) decodes and scores at once ({@code
   * reward_batch_size}); {@value #DEFAULT_REWARD_BATCH_SIZE} when it is unset}
   */
  public int rewardBatchSize() {
    Object v = keys.get("reward_batch_size");
    return v instanceof Number n ? n.intValue() : DEFAULT_REWARD_BATCH_SIZE;
  }

  /** {@return the request's keys with their final values (every key a request may set)} */
  public Map<String, Object> keys() {
    return keys;
  }

  /** {@return A builder starting from this request's keys} */
  public Builder toBuilder() {
    Builder b = new Builder();
    // resolved values hold Integers; requests are read as YAML reads them (Long)
    keys.forEach((k, v) -> b.keys.put(k, v instanceof Integer i ? (Object) i.longValue() : v));
    b.keys.put(ConfigSchema.TEXT_PROMPT, prompt);
    return b;
  }

  @Override
  public String toString() {
    return "GenerationRequest[" + Text.quote(prompt) + ", " + keys + "]";
  }

  /** The sampling modes of the paper's tables. */
  public enum SamplingMode {
    /** The flow's own ODE on the linear interpolant. */
    LINEAR_ODE,
    /** An SDE on the linear interpolant. */
    LINEAR_SDE,
    /** An SDE on the VP interpolant through the conversion (the paper's setting). */
    VP_SDE
  }

  /** Builds a {@link GenerationRequest}; every setter takes the config key's rules. */
  public static final class Builder {
    private final Map<String, Object> keys = new LinkedHashMap<>();

    private Builder() {}

    /**
     * Sets {@code text_prompt} (required).
     *
     * @param prompt the prompt the model and the reward are conditioned on
     * @return this builder
     */
    public Builder prompt(String prompt) {
      return set(ConfigSchema.TEXT_PROMPT, prompt);
    }

    /**
     * Sets {@code filtering_method}: rbf, bon, smc, code, svdd, dps, svdd_dps, rbf_dps, ...
     *
     * @param method the search method's config name
     * @return this builder
     */
    public Builder method(String method) {
      return set("filtering_method", method);
    }

    /**
     * Sets {@code max_nfe}: the NFE budget, never exceeded.
     *
     * @param maxNfe model evaluations the search may spend (&gt; 0)
     * @return this builder
     */
    public Builder maxNfe(long maxNfe) {
      return set("max_nfe", maxNfe);
    }

    /**
     * Sets {@code max_steps}: sampling steps.
     *
     * @param steps the number of steps of the time grid
     * @return this builder
     */
    public Builder steps(int steps) {
      return set("max_steps", steps);
    }

    /**
     * Sets {@code batch_size}: independent chains.
     *
     * @param chains the number of chains
     * @return this builder
     */
    public Builder chains(int chains) {
      return set("batch_size", chains);
    }

    /**
     * Sets {@code n_particles}: particles per chain (CoDe, SVDD).
     *
     * @param particles particles per chain
     * @return this builder
     */
    public Builder particles(int particles) {
      return set("n_particles", particles);
    }

    /**
     * Sets {@code init_n_particles}: RBF's initial particles per chain.
     *
     * @param particles initial particles per chain
     * @return this builder
     */
    public Builder initialParticles(int particles) {
      return set("init_n_particles", particles);
    }

    /**
     * Sets the sampling mode ({@code convert_scheduler} and {@code sample_method}).
     *
     * @param mode linear ODE, linear SDE or VP-SDE
     * @return this builder
     */
    public Builder samplingMode(SamplingMode mode) {
      set("convert_scheduler", mode == SamplingMode.VP_SDE ? "vp" : null);
      return set("sample_method", mode == SamplingMode.LINEAR_ODE ? "ode" : "sde");
    }

    /**
     * Sets {@code seed}: same seed, same result.
     *
     * @param seed the random seed
     * @return this builder
     */
    public Builder seed(long seed) {
      return set("seed", seed);
    }

    /**
     * Sets classifier-free guidance ({@code cfg_scale} and {@code negative_prompt}): each particle
     * step evaluates the model on both prompts, {@code u_neg + cfgScale (u - u_neg)}, and counts
     * two NFE. Needs a model conditioned on the prompt.
     *
     * @param cfgScale the guidance scale, in [0, 100]; 1 turns guidance off
     * @param negativePrompt the prompt guidance steers away from; null (or {@code ""}) for the
     *     empty prompt, and null when {@code cfgScale} is 1
     * @return this builder
     */
    public Builder guidance(double cfgScale, String negativePrompt) {
      set("cfg_scale", cfgScale);
      return set("negative_prompt", negativePrompt);
    }

    /**
     * Sets {@code reward_batch_size}: the most samples a latent model (FLUX) decodes and scores at
     * once, which bounds the decoder's memory.
     *
     * @param samples at least 1; null for the default ({@value
     *     GenerationRequest#DEFAULT_REWARD_BATCH_SIZE})
     * @return this builder
     */
    public Builder rewardBatchSize(Integer samples) {
      return set("reward_batch_size", samples);
    }

    /**
     * Sets a wall-clock limit ({@code deadline_s}); null for none.
     *
     * @param deadline the longest the run may take, counted from the call of {@link
     *     Pipeline#generate} (waiting for a free slot included); null for none
     * @return this builder
     */
    public Builder deadline(Duration deadline) {
      return set("deadline_s", deadline == null ? null : deadline.toNanos() / 1e9);
    }

    /**
     * Sets any other key a request may set ({@code diffusion_norm}, {@code reward_weight}, ...),
     * with a value as YAML would read it. The model, reward and backend keys belong to the
     * pipeline.
     *
     * @param key a config key ({@code flowscale keys} lists them)
     * @param value its value: a String, Long or Integer, Double, Boolean, List, or null
     * @return this builder
     * @throws ConfigurationException for {@code model}, {@code reward_score} or {@code backend}
     */
    public Builder set(String key, Object value) {
      if (PIPELINE_KEYS.contains(key)) {
        throw new ConfigurationException(
            "key "
                + Text.quote(key)
                + " belongs to the pipeline, not to a request (build another pipeline)");
      }
      keys.put(key, value instanceof Integer i ? (Object) i.longValue() : value);
      return this;
    }

    /**
     * Builds the request, checked like a config file (every key known, every value in range, the
     * method's budget rules).
     *
     * @return the request
     * @throws ConfigurationException naming every problem
     */
    public GenerationRequest build() {
      Map<String, Object> doc = new LinkedHashMap<>(keys);
      for (String k : doc.keySet()) {
        if (!ConfigSchema.KEYS.containsKey(k)) {
          // a model's or reward's key: not a request's to set
          String near = Suggest.nearest(k, ConfigSchema.KEYS.keySet());
          throw new ConfigurationException(
              "unknown request key "
                  + Text.quote(k)
                  + (near != null ? ": did you mean '" + near + "'?" : "")
                  + " (a model's or reward's own keys belong to the pipeline)");
        }
      }
      return of(ConfigResolver.resolve(doc, "the request", List.of(), true));
    }
  }
}
