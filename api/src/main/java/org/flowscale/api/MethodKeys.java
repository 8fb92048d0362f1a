package org.flowscale.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;

/**
 * Which search keys each method reads, so a config that sets one its method ignores gets a warning
 * instead of silence, and a fixed-budget method that cannot spend {@code max_nfe} says so. A method
 * not listed here (a newer one) gets no ignored-key warnings: add it to {@link #READERS}.
 */
final class MethodKeys {
  private MethodKeys() {}

  /** Method-specific keys and the methods that read them (config names). */
  static final Map<String, Set<String>> READERS =
      Map.ofEntries(
          Map.entry("n_particles", Set.of("code", "svdd", "svdd_dps", "bon", "dps", "smc", "sop")),
          Map.entry("block_size", Set.of("code")),
          Map.entry("init_n_particles", Set.of("rbf", "rbf_dps")),
          Map.entry("reward_weight", Set.of("smc")),
          Map.entry("ess_threshold", Set.of("smc")),
          Map.entry("resampling", Set.of("smc")),
          Map.entry("dps_step_size", Set.of("dps", "svdd_dps", "rbf_dps")),
          Map.entry("rbf_output", Set.of("rbf", "rbf_dps")),
          Map.entry("ode_step", Set.of("sop")),
          Map.entry("ode_seed_t", Set.of("sop")),
          Map.entry("forward_step", Set.of("sop")),
          Map.entry("backward_step", Set.of("sop")),
          Map.entry(
              "max_steps",
              Set.of("bon", "dps", "smc", "code", "svdd", "svdd_dps", "rbf", "rbf_dps")),
          Map.entry(
              "time_schedule",
              Set.of("bon", "dps", "smc", "code", "svdd", "svdd_dps", "rbf", "rbf_dps")),
          // FilteringMethod.shiftsTime: the step-mode methods, never rbf's grid or sop's times.
          Map.entry("time_shift", Set.of("bon", "dps", "smc", "code", "svdd", "svdd_dps")));

  /** The methods the table knows. */
  static final Set<String> KNOWN =
      Set.of("bon", "dps", "smc", "code", "svdd", "svdd_dps", "rbf", "rbf_dps", "sop");

  /** The most particles the method holds at once. */
  static long peakParticles(SearchConfig s) {
    long b = s.batchSize();
    return switch (s.method()) {
      case RBF, RBF_DPS -> b * s.initNParticles();
      case SOP -> b * (1 + (long) s.nParticles()); // the kept chains and their proposals
      default -> b * s.nParticles();
    };
  }

  /** How {@link #peakParticles} is made, in the config's words. */
  static String particlesText(SearchConfig s) {
    return switch (s.method()) {
      case RBF, RBF_DPS ->
          "batch_size " + s.batchSize() + " x init_n_particles " + s.initNParticles();
      default -> "batch_size " + s.batchSize() + " x n_particles " + s.nParticles();
    };
  }

  /**
   * One line per setting the config gives (different from its default) that the run ignores, and
   * one when a fixed-budget method spends less than {@code max_nfe} although a larger batch would
   * fit.
   */
  static List<String> warnings(SearchConfig s, Map<String, Object> values, Set<String> given) {
    List<String> w = new ArrayList<>();
    String m = s.method().configName();
    if (KNOWN.contains(m)) {
      for (String key : READERS.keySet().stream().sorted().toList()) {
        if (changed(key, values, given) && !READERS.get(key).contains(m)) {
          w.add(
              key
                  + " "
                  + values.get(key)
                  + " is ignored by "
                  + m
                  + " (only "
                  + String.join(", ", READERS.get(key).stream().sorted().toList())
                  + " read it)");
        }
      }
    }
    boolean sde = "sde".equals(values.get("sample_method"));
    for (String key : List.of("diffusion_coefficient", "diffusion_norm")) {
      if (!sde && changed(key, values, given)) {
        w.add(key + " " + values.get(key) + " is ignored: sample_method ode has no diffusion");
      }
    }
    if (changed("exp_diff_coeff_sigma", values, given)
        && !(sde && "exp".equals(values.get("diffusion_coefficient")))) {
      w.add(
          "exp_diff_coeff_sigma "
              + values.get("exp_diff_coeff_sigma")
              + " is ignored: only the sde's exp diffusion_coefficient reads it");
    }
    budget(s).ifPresent(w::add);
    return w;
  }

  /**
   * The budget warning of a fixed-budget method (B K S NFE, twice that under classifier-free
   * guidance, whatever max_nfe says).
   */
  private static java.util.Optional<String> budget(SearchConfig s) {
    FilteringMethod m = s.method();
    boolean perParticle =
        m == FilteringMethod.CODE || m == FilteringMethod.SVDD || m == FilteringMethod.SVDD_DPS;
    boolean single =
        m == FilteringMethod.BON || m == FilteringMethod.DPS || m == FilteringMethod.SMC;
    if (!perParticle && !single) {
      return java.util.Optional.empty();
    }
    long k = perParticle ? s.nParticles() : 1;
    int perEvaluation = s.nfePerEvaluation(); // 2 under classifier-free guidance
    long perChain = k * s.maxSteps() * perEvaluation;
    long spend = s.batchSize() * perChain;
    long fit = s.maxNfe() / perChain;
    if (spend >= s.maxNfe() || fit <= s.batchSize()) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(
        m.configName()
            + " spends batch_size "
            + s.batchSize()
            + (perParticle ? " x n_particles " + k : "")
            + " x max_steps "
            + s.maxSteps()
            + (perEvaluation > 1 ? " x " + perEvaluation + " (cfg_scale)" : "")
            + " = "
            + spend
            + " of max_nfe "
            + s.maxNfe()
            + " NFE; batch_size "
            + fit
            + " would spend "
            + fit * perChain);
  }

  private static boolean changed(String key, Map<String, Object> values, Set<String> given) {
    ConfigKey k = ConfigSchema.KEYS.get(key);
    return given.contains(key) && k != null && !Objects.equals(values.get(key), k.defaultValue());
  }
}
