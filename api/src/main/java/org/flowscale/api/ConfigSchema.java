package org.flowscale.api;

import static org.flowscale.api.ConfigKey.Kind.BOOL;
import static org.flowscale.api.ConfigKey.Kind.DOUBLE;
import static org.flowscale.api.ConfigKey.Kind.INT;
import static org.flowscale.api.ConfigKey.Kind.LONG;
import static org.flowscale.api.ConfigKey.Kind.STRING;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.search.FilteringMethod;

/**
 * The command line's own config keys (the reference implementation's names), in the order {@code
 * config.yaml} lists them. The selected model's and reward's factories add their own keys. Defaults
 * are the paper's RBF setting (MATH.md section 7) on the toy world.
 */
final class ConfigSchema {
  private ConfigSchema() {}

  static final String TEXT_PROMPT = "text_prompt";
  static final String MODEL = "model";
  static final String REWARD_SCORE = "reward_score";
  static final String BACKEND = "backend";

  static final Map<String, ConfigKey> KEYS = build();

  private static Map<String, ConfigKey> build() {
    List<ConfigKey> keys =
        List.of(
            ConfigKey.of(TEXT_PROMPT, STRING, null, "the prompt the model and reward are given"),
            ConfigKey.of(MODEL, STRING, "toy", "the velocity model (a ModelFactory name)"),
            ConfigKey.of(REWARD_SCORE, STRING, "counting", "the reward (a RewardFactory name)"),
            ConfigKey.choice(
                "filtering_method",
                false,
                "rbf",
                names(FilteringMethod.values()),
                "the search method (MATH.md section 6)"),
            ConfigKey.of("batch_size", INT, 2, "B: independent chains"),
            ConfigKey.of("n_particles", INT, 1, "K: particles per chain (CoDe, SVDD)"),
            ConfigKey.of("block_size", INT, 1, "Lb: steps between CoDe selections"),
            ConfigKey.of("init_n_particles", INT, 25, "K0: RBF's initial particles per chain"),
            ConfigKey.of("max_nfe", LONG, 500L, "N: the NFE budget, never exceeded"),
            ConfigKey.of("max_steps", INT, 10, "S: sampling steps"),
            ConfigKey.choice(
                "time_schedule",
                false,
                "exp",
                names(TimeSchedule.values()),
                "the time grid (MATH.md section 5)"),
            ConfigKey.choice(
                "convert_scheduler",
                true,
                "vp",
                List.of("vp"),
                "sample on VP through the interpolant conversion, or null for the model's own"),
            ConfigKey.choice("sample_method", false, "sde", List.of("ode", "sde"), "ODE or SDE"),
            ConfigKey.choice(
                "diffusion_coefficient",
                false,
                "square",
                names(DiffusionCoefficient.values()),
                "the shape of the SDE's diffusion g(r)"),
            ConfigKey.of("diffusion_norm", DOUBLE, 3.0, "the scale of g(r)"),
            ConfigKey.of(
                "exp_diff_coeff_sigma",
                DOUBLE,
                DiffusionCoefficient.DEFAULT_EXP_SIGMA,
                "the width of the exp diffusion"),
            ConfigKey.of("reward_weight", DOUBLE, 1.0, "lambda: SMC's temperature"),
            ConfigKey.of(
                "ess_threshold", DOUBLE, 0.5, "SMC resamples when ESS < threshold * batch_size"),
            ConfigKey.choice(
                "resampling",
                false,
                "multinomial",
                names(Resampling.values()),
                "SMC's resampling scheme"),
            ConfigKey.of("dps_step_size", DOUBLE, 0.1, "eta: the DPS nudge size"),
            ConfigKey.nullable(
                "flux_shift_tokens",
                INT,
                null,
                "image tokens for FLUX.1-dev's time shift (null: the model's own, 0: no shift)"),
            ConfigKey.of("seed", LONG, 0L, "the random seed; same seed, same result"),
            ConfigKey.of(
                BACKEND,
                STRING,
                "cpu",
                "where particle operations run: a ParticleOps provider, with a device for cuda"
                    + " (cpu, cuda, cuda:1)"),
            ConfigKey.of("root_dir", STRING, "runs", "the folder that holds run directories"),
            ConfigKey.nullable(
                "tag", STRING, null, "the run directory's name (null: the method's name)"),
            ConfigKey.of("save_now", BOOL, true, "append a timestamp to the run directory's name"),
            ConfigKey.nullable(
                "height", INT, null, "image height; must match the model's (null: the model's)"),
            ConfigKey.nullable(
                "width", INT, null, "image width; must match the model's (null: the model's)"),
            ConfigKey.of(
                "save_intermediate",
                BOOL,
                false,
                "write a grid of the particles' Tweedie images after every step"),
            ConfigKey.nullable(
                "deadline_s",
                DOUBLE,
                null,
                "a run's wall-clock limit in seconds: it then stops with the best sample so far"
                    + " (status cancelled)"));
    Map<String, ConfigKey> m = new LinkedHashMap<>();
    keys.forEach(k -> m.put(k.name(), k));
    return java.util.Collections.unmodifiableMap(m);
  }

  private static List<String> names(Enum<?>[] values) {
    return Arrays.stream(values).map(e -> e.name().toLowerCase(java.util.Locale.ROOT)).toList();
  }
}
