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
import org.flowscale.engine.search.ParticleSchedule;
import org.flowscale.engine.search.RbfOutput;

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
  static final String REWARDS = "rewards";
  static final String BACKEND = "backend";

  static final Map<String, ConfigKey> KEYS = build();

  private static Map<String, ConfigKey> build() {
    List<ConfigKey> keys =
        List.of(
            ConfigKey.of(TEXT_PROMPT, STRING, null, "the prompt the model and reward are given"),
            ConfigKey.of(MODEL, STRING, "toy", "the velocity model (a ModelFactory name)"),
            ConfigKey.nullable(
                REWARD_SCORE,
                STRING,
                "counting",
                "the reward (a RewardFactory name); null when rewards is set"),
            ConfigKey.nullable(
                REWARDS,
                ConfigKey.Kind.REWARDS,
                null,
                "instead of reward_score, a weighted sum: [{score: NAME, weight: 1.0, <its keys>},"
                    + " ...]"),
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
                List.of("vp", "polynomial"),
                "sample on VP or polynomial(scheduler_n) through the interpolant conversion, or"
                    + " null for the model's own"),
            ConfigKey.nullable(
                "scheduler_n",
                DOUBLE,
                null,
                "n >= 1 of convert_scheduler polynomial: alpha = (1 - t)^n (only read with it)"),
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
            ConfigKey.choice(
                "rbf_output",
                false,
                "last_step",
                names(RbfOutput.values()),
                "RBF's output: the best proposal of the last step reached (the reference's rule)"
                    + " or of the whole run"),
            ConfigKey.choice(
                "particle_schedule",
                false,
                "constant",
                names(ParticleSchedule.values()),
                "SVDD's and SMC's particles per step: constant, or shrinking linearly to add up to"
                    + " max_nfe (MATH.md 6b)"),
            ConfigKey.of("ode_step", INT, 4, "E: sop's Euler steps per ODE solve"),
            ConfigKey.of(
                "ode_seed_t", DOUBLE, 120.0, "s0: where sop's first ODE solve stops (t1000 units)"),
            ConfigKey.of(
                "forward_step",
                DOUBLE,
                780.0,
                "df: how far each sop round noises forward (t1000 units)"),
            ConfigKey.of(
                "backward_step",
                DOUBLE,
                810.0,
                "db > df: how far each sop round solves back (t1000 units)"),
            ConfigKey.nullable(
                "time_shift",
                INT,
                null,
                "image tokens of FLUX.1-dev's time shift, applied to the step-mode methods only,"
                    + " never to rbf's grid (null: the model's own, 0: no shift)"),
            ConfigKey.of(
                "cfg_scale",
                DOUBLE,
                1.0,
                "classifier-free guidance (true CFG): u_neg + cfg_scale (u - u_neg), two velocity"
                    + " evaluations per particle step, each counted as an NFE; 1 is off"),
            ConfigKey.nullable(
                "negative_prompt",
                STRING,
                null,
                "the prompt guidance steers away from (null: the empty prompt); needs cfg_scale"
                    + " != 1"),
            ConfigKey.nullable(
                "reward_batch_size",
                INT,
                null,
                "latent models (FLUX): the most Tweedie latents decoded and scored at once (null: "
                    + GenerationRequest.DEFAULT_REWARD_BATCH_SIZE
                    + "); a reward that reads the key (remote) gets it too"),
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
