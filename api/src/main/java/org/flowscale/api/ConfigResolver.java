package org.flowscale.api;

import java.math.BigInteger;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.Interpolant;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.model.ModelFactory;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.ParticleOpsProvider;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.ParticleSchedule;
import org.flowscale.engine.search.RbfOutput;
import org.flowscale.engine.search.SearchConfig;

/**
 * Turns a config document plus overrides into {@link RunSettings}: every key known (the command
 * line's, the selected model's and reward's), every value of the right type and range, before any
 * work starts. All problems found are reported together.
 */
final class ConfigResolver {
  private ConfigResolver() {}

  /** A value with where it came from, for messages. */
  private record Given(Object value, String text, String origin) {}

  /**
   * Resolves a config.
   *
   * @param document the config file's mapping
   * @param source names the document in messages
   * @param overrides applied over the document, in order
   * @throws ConfigurationException listing every problem
   */
  static RunSettings resolve(
      Map<String, Object> document, String source, List<Overrides.Override> overrides) {
    return resolve(document, source, overrides, true);
  }

  /**
   * Resolves a config.
   *
   * @param promptRequired whether a missing {@code text_prompt} is a problem (a run needs one; a
   *     pipeline's config, whose prompts come per request, does not)
   */
  static RunSettings resolve(
      Map<String, Object> document,
      String source,
      List<Overrides.Override> overrides,
      boolean promptRequired) {
    Map<String, Given> given = new LinkedHashMap<>();
    document.forEach((k, v) -> given.put(k, new Given(v, null, "in " + Text.quote(source))));
    for (Overrides.Override o : overrides) {
      given.remove(o.key());
      given.put(
          o.key(),
          new Given(o.value(), o.text(), "in override " + Text.quote(o.key() + "=" + o.text())));
    }
    return new ConfigResolver.Run(given, promptRequired).resolve();
  }

  private static final class Run {
    private final Map<String, Given> given;
    private final boolean promptRequired;
    private final List<String> problems = new ArrayList<>();
    private final Map<String, Object> values = new LinkedHashMap<>();
    private boolean weighted;

    Run(Map<String, Given> given, boolean promptRequired) {
      this.given = given;
      this.promptRequired = promptRequired;
    }

    RunSettings resolve() {
      for (ConfigKey key : ConfigSchema.KEYS.values()) {
        Given g = given.get(key.name());
        if (g == null) {
          values.put(key.name(), key.defaultValue());
          continue;
        }
        try {
          values.put(key.name(), key.coerce(g.value(), g.text()));
        } catch (IllegalArgumentException e) {
          problems.add(e.getMessage() + " (" + Text.oneLine(g.origin()) + ")");
          values.put(key.name(), key.defaultValue());
        }
      }
      if (promptRequired
          && values.get(ConfigSchema.TEXT_PROMPT) == null
          && !given.containsKey("text_prompt")) {
        problems.add("text_prompt must be set (e.g. text_prompt='two red circles')");
      }

      List<ModelFactory> models = new ArrayList<>();
      ServiceLoader.load(ModelFactory.class).forEach(models::add);
      List<RewardFactory> rewards = new ArrayList<>();
      ServiceLoader.load(RewardFactory.class).forEach(rewards::add);

      String modelName = (String) values.get(ConfigSchema.MODEL);
      ModelFactory model = findModel(models, modelName);
      String rewardName = (String) values.get(ConfigSchema.REWARD_SCORE);
      @SuppressWarnings("unchecked")
      List<Map<String, Object>> entries =
          (List<Map<String, Object>>) values.get(ConfigSchema.REWARDS);
      RewardFactory reward = null;
      weighted = entries != null;
      if (weighted) {
        Given g = given.get(ConfigSchema.REWARD_SCORE);
        if (g != null && g.value() != null) {
          problems.add(
              "set either reward_score or rewards, not both (with rewards, leave reward_score out"
                  + " or set it to null; "
                  + Text.oneLine(g.origin())
                  + ")");
        }
        rewardName = null;
        values.put(ConfigSchema.REWARD_SCORE, null);
      } else if (rewardName == null) {
        problems.add("reward_score must be set (a reward's name), or rewards (a weighted sum)");
      } else {
        reward = findReward(rewards, rewardName);
      }
      checkBackend((String) values.get(ConfigSchema.BACKEND));

      Set<String> modelKeys = model == null ? Set.of() : model.keys();
      Set<String> rewardKeys = reward == null ? Set.of() : reward.keys();
      Map<String, Object> modelSettings = new TreeMap<>();
      Map<String, Object> rewardSettings = new TreeMap<>();
      for (Map.Entry<String, Given> e : given.entrySet()) {
        String k = e.getKey();
        Given g = e.getValue();
        if (ConfigSchema.KEYS.containsKey(k)) {
          continue;
        }
        boolean known = false;
        if (modelKeys.contains(k)) {
          known = true;
          putSetting(modelSettings, k, g);
        }
        if (rewardKeys.contains(k)) {
          known = true;
          putSetting(rewardSettings, k, g);
        }
        if (!known) {
          unknownKey(
              k,
              g,
              models,
              rewards,
              model == null || (!weighted && reward == null),
              modelKeys,
              rewardKeys);
        }
      }
      // Keys of the command line that a factory also reads (height, width) are passed on.
      for (String k : ConfigSchema.KEYS.keySet()) {
        Object v = values.get(k);
        if (v != null && modelKeys.contains(k)) {
          modelSettings.put(k, widen(v));
        }
        if (v != null && rewardKeys.contains(k)) {
          rewardSettings.put(k, widen(v));
        }
      }

      List<RewardTerm> terms = weighted ? terms(entries, rewards) : List.of();

      Path rootDir = path((String) values.get("root_dir"));
      String tag = (String) values.get("tag");
      checkTag(tag);
      Integer height = (Integer) values.get("height");
      Integer width = (Integer) values.get("width");
      positiveOrNull("height", height);
      positiveOrNull("width", width);
      java.time.Duration deadline = deadline((Double) values.get("deadline_s"));
      checkGuidance();
      if (values.get("reward_batch_size") != null
          && (Integer) values.get("reward_batch_size") < 1) {
        problems.add(
            "bad value for reward_batch_size: got "
                + values.get("reward_batch_size")
                + ", expected a whole number >= 1");
      }

      SearchConfig search = null;
      if (problems.isEmpty()) {
        try {
          search = searchConfig();
        } catch (IllegalArgumentException e) {
          problems.add(Text.oneLine(e.getMessage()));
        }
      }
      if (!problems.isEmpty()) {
        throw new ConfigurationException(
            problems.size() == 1
                ? problems.getFirst()
                : problems.size()
                    + " problems in the config:\n  - "
                    + String.join("\n  - ", problems),
            problems,
            null);
      }

      Map<String, Object> resolved = new LinkedHashMap<>(values);
      resolved.putAll(modelSettings);
      rewardSettings.forEach(resolved::putIfAbsent);
      return new RunSettings(
          search,
          (String) values.get(ConfigSchema.TEXT_PROMPT),
          modelName,
          modelSettings,
          rewardName,
          rewardSettings,
          terms,
          (String) values.get(ConfigSchema.BACKEND),
          rootDir,
          tag != null ? tag : search.method().configName(),
          (Boolean) values.get("save_now"),
          height,
          width,
          (Boolean) values.get("save_intermediate"),
          deadline,
          resolved);
    }

    /** cfg_scale must be finite; negative_prompt means nothing without guidance. */
    private void checkGuidance() {
      double cfg = (Double) values.get("cfg_scale");
      if (!Double.isFinite(cfg) || cfg < 0 || cfg > 100) {
        problems.add("bad value for cfg_scale: got " + cfg + ", expected a number in [0, 100]");
      } else if (cfg == 1.0 && values.get("negative_prompt") != null) {
        problems.add(
            "negative_prompt is set but cfg_scale is 1 (no guidance): set cfg_scale > 1 to steer"
                + " away from it, or remove negative_prompt");
      }
    }

    /**
     * The entries of {@code rewards}: each names a reward factory ({@code score}), a {@code weight}
     * (default 1) and that factory's keys. Their resolved form (weights filled in) replaces the
     * given list in config.yaml.
     */
    private List<RewardTerm> terms(
        List<Map<String, Object>> entries, List<RewardFactory> factories) {
      List<RewardTerm> terms = new ArrayList<>();
      List<Map<String, Object>> resolvedEntries = new ArrayList<>();
      String origin = Text.oneLine(given.get(ConfigSchema.REWARDS).origin());
      for (int i = 0; i < entries.size(); i++) {
        Map<String, Object> e = entries.get(i);
        String where = "rewards entry " + (i + 1);
        Object score = e.get("score");
        if (!(score instanceof String name) || name.isBlank()) {
          problems.add(
              where
                  + " needs score: a reward's name, got "
                  + ConfigKey.describeType(score)
                  + " ("
                  + origin
                  + ")");
          continue;
        }
        RewardFactory f = null;
        for (RewardFactory c : factories) {
          if (c.names().contains(name)) {
            f = c;
          }
        }
        if (f == null) {
          List<String> names =
              factories.stream().flatMap(c -> c.names().stream()).sorted().distinct().toList();
          problems.add(where + ": " + unknownName("score", name, names) + " (" + origin + ")");
          continue;
        }
        double weight = 1.0;
        Object w = e.get("weight");
        if (w != null) {
          if (w instanceof Long l) {
            weight = l;
          } else if (w instanceof Double d && Double.isFinite(d)) {
            weight = d;
          } else {
            problems.add(
                where
                    + ": bad value for weight: got "
                    + ConfigKey.describeType(w)
                    + ", expected a finite number ("
                    + origin
                    + ")");
            continue;
          }
        }
        Map<String, Object> settings = new TreeMap<>();
        for (Map.Entry<String, Object> kv : e.entrySet()) {
          String k = kv.getKey();
          if (k.equals("score") || k.equals("weight")) {
            continue;
          }
          if (!f.keys().contains(k)) {
            Set<String> valid = new LinkedHashSet<>(List.of("score", "weight"));
            valid.addAll(f.keys());
            String near = Suggest.nearest(k, valid);
            problems.add(
                where
                    + " (score: "
                    + name
                    + "): unknown key "
                    + Text.quote(k)
                    + (near != null ? ": did you mean '" + near + "'?" : "")
                    + " (accepted: "
                    + String.join(", ", valid)
                    + "; "
                    + origin
                    + ")");
            continue;
          }
          putSetting(settings, k, new Given(kv.getValue(), null, where + " " + origin));
        }
        for (String k : ConfigSchema.KEYS.keySet()) {
          Object v = values.get(k);
          if (v != null && f.keys().contains(k) && !settings.containsKey(k)) {
            settings.put(k, widen(v));
          }
        }
        terms.add(new RewardTerm(name, weight, settings));
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("score", name);
        r.put("weight", weight);
        r.putAll(settings);
        resolvedEntries.add(r);
      }
      values.put(ConfigSchema.REWARDS, resolvedEntries);
      return terms;
    }

    private SearchConfig searchConfig() {
      String convertTo = (String) values.get("convert_scheduler");
      Double n = (Double) values.get("scheduler_n");
      boolean polynomial = "polynomial".equals(convertTo);
      if (polynomial && n == null) {
        throw new IllegalArgumentException(
            "convert_scheduler polynomial needs scheduler_n, its exponent n >= 1"
                + " (alpha = (1 - t)^n), e.g. scheduler_n=2");
      }
      if (!polynomial && n != null) {
        throw new IllegalArgumentException(
            "scheduler_n "
                + n
                + " is the exponent of convert_scheduler polynomial, not of "
                + (convertTo == null ? "null (no conversion)" : convertTo)
                + "; set convert_scheduler=polynomial or scheduler_n=null");
      }
      boolean convert = convertTo != null;
      Interpolant sampling =
          !convert
              ? new Interpolant.Linear()
              : polynomial ? new Interpolant.Polynomial(n) : new Interpolant.Vp();
      SamplingScheme scheme =
          new SamplingScheme(
              sampling,
              convert,
              values.get("sample_method").equals("sde"),
              DiffusionCoefficient.byName((String) values.get("diffusion_coefficient")),
              (Double) values.get("diffusion_norm"),
              (Double) values.get("exp_diff_coeff_sigma"));
      return SearchConfig.builder()
          .method(FilteringMethod.byName((String) values.get("filtering_method")))
          .batchSize((Integer) values.get("batch_size"))
          .nParticles((Integer) values.get("n_particles"))
          .blockSize((Integer) values.get("block_size"))
          .initNParticles((Integer) values.get("init_n_particles"))
          .maxNfe((Long) values.get("max_nfe"))
          .maxSteps((Integer) values.get("max_steps"))
          .timeSchedule(TimeSchedule.byName((String) values.get("time_schedule")))
          .timeShiftTokens(
              values.get("time_shift") == null ? 0 : (Integer) values.get("time_shift"))
          .scheme(scheme)
          .rewardWeight((Double) values.get("reward_weight"))
          .essThreshold((Double) values.get("ess_threshold"))
          .resampling(Resampling.byName((String) values.get("resampling")))
          .dpsStepSize((Double) values.get("dps_step_size"))
          .seed((Long) values.get("seed"))
          .rbfOutput(RbfOutput.byName((String) values.get("rbf_output")))
          .nfePerEvaluation((Double) values.get("cfg_scale") == 1.0 ? 1 : 2)
          .particleSchedule(ParticleSchedule.byName((String) values.get("particle_schedule")))
          .sop(
              (Integer) values.get("ode_step"),
              (Double) values.get("ode_seed_t"),
              (Double) values.get("forward_step"),
              (Double) values.get("backward_step"))
          .build();
    }

    private ModelFactory findModel(List<ModelFactory> models, String name) {
      for (ModelFactory f : models) {
        if (f.name().equals(name)) {
          return f;
        }
      }
      List<String> names = models.stream().map(ModelFactory::name).sorted().toList();
      problems.add(unknownName("model", name, names));
      return null;
    }

    private RewardFactory findReward(List<RewardFactory> rewards, String name) {
      for (RewardFactory f : rewards) {
        if (f.names().contains(name)) {
          return f;
        }
      }
      List<String> names =
          rewards.stream().flatMap(f -> f.names().stream()).sorted().distinct().toList();
      problems.add(unknownName("reward_score", name, names));
      return null;
    }

    private void checkBackend(String spec) {
      Backends.Spec s;
      try {
        s = Backends.Spec.parse(spec);
      } catch (IllegalArgumentException e) {
        problems.add("bad value for backend: " + Text.oneLine(e.getMessage()));
        return;
      }
      List<String> names = Backends.providers().stream().map(ParticleOpsProvider::name).toList();
      if (!names.contains(s.name())) {
        problems.add(unknownName("backend", s.name(), names));
      }
    }

    private static String unknownName(String key, String name, List<String> names) {
      String near = Suggest.nearest(name, names);
      return "unknown "
          + key
          + " "
          + Text.quote(name)
          + (near != null ? ": did you mean '" + near + "'?" : "")
          + (names.isEmpty()
              ? " (none is installed)"
              : " (available: " + String.join(", ", names) + ")");
    }

    private void putSetting(Map<String, Object> settings, String key, Given g) {
      if (g.value() == null) {
        return; // null asks for the factory's default
      }
      String bad = unsupported(g.value());
      if (bad != null) {
        problems.add(
            "bad value for "
                + key
                + ": got "
                + bad
                + ", expected text, a number, true/false or a list of those ("
                + Text.oneLine(g.origin())
                + ")");
        return;
      }
      settings.put(key, g.value());
    }

    /** Why a value cannot go to a factory (which takes String, Long, Double, Boolean, List). */
    private static String unsupported(Object v) {
      return switch (v) {
        case String s -> null;
        case Long l -> null;
        case Double d -> null;
        case Boolean b -> null;
        case List<?> list -> {
          for (Object e : list) {
            if (e == null) {
              yield "a list holding null";
            }
            String inner = unsupported(e);
            if (inner != null) {
              yield "a list holding " + inner;
            }
          }
          yield null;
        }
        case BigInteger b -> "the whole number " + b + " (out of range)";
        default -> ConfigKey.describeType(v);
      };
    }

    private void unknownKey(
        String key,
        Given g,
        List<ModelFactory> models,
        List<RewardFactory> rewards,
        boolean factoryUnknown,
        Set<String> modelKeys,
        Set<String> rewardKeys) {
      for (ModelFactory f : models) {
        if (f.keys().contains(key)) {
          if (!factoryUnknown) {
            problems.add(
                "key "
                    + key
                    + " is a setting of model '"
                    + f.name()
                    + "', but model is '"
                    + values.get(ConfigSchema.MODEL)
                    + "' ("
                    + Text.oneLine(g.origin())
                    + ")");
          }
          return;
        }
      }
      for (RewardFactory f : rewards) {
        if (f.keys().contains(key)) {
          if (weighted) {
            problems.add(
                "key "
                    + key
                    + " is a setting of reward_score "
                    + String.join("/", f.names().stream().sorted().toList())
                    + ": with rewards, put it inside that reward's entry ("
                    + Text.oneLine(g.origin())
                    + ")");
          } else if (!factoryUnknown) {
            problems.add(
                "key "
                    + key
                    + " is a setting of reward_score "
                    + String.join("/", f.names().stream().sorted().toList())
                    + ", but reward_score is '"
                    + values.get(ConfigSchema.REWARD_SCORE)
                    + "' ("
                    + Text.oneLine(g.origin())
                    + ")");
          }
          return;
        }
      }
      Set<String> valid = new LinkedHashSet<>(ConfigSchema.KEYS.keySet());
      valid.addAll(modelKeys);
      valid.addAll(rewardKeys);
      String near = Suggest.nearest(key, valid);
      problems.add(
          "unknown key "
              + Text.quote(key)
              + (near != null ? ": did you mean '" + near + "'?" : "")
              + " ("
              + Text.oneLine(g.origin())
              + "; 'flowscale keys' lists every key)");
    }

    private Path path(String s) {
      try {
        return Path.of(s);
      } catch (InvalidPathException e) {
        problems.add("bad value for root_dir: " + Text.quote(s) + " is not a path");
        return Path.of(".");
      }
    }

    private void checkTag(String tag) {
      if (tag == null) {
        return;
      }
      boolean ok =
          !tag.isBlank()
              && !tag.equals(".")
              && !tag.equals("..")
              && tag.chars().noneMatch(c -> c == '/' || c == '\\' || c == 0 || c < 0x20)
              && tag.length() <= 100;
      if (ok) {
        try {
          Path.of(tag);
        } catch (InvalidPathException e) {
          ok = false;
        }
      }
      if (!ok) {
        problems.add(
            "bad value for tag: got "
                + Text.quote(tag)
                + ", expected a folder name (no slashes or control characters, at most 100"
                + " characters)");
      }
    }

    private java.time.Duration deadline(Double seconds) {
      if (seconds == null) {
        return null;
      }
      if (!(seconds > 0) || seconds > 1e9) {
        problems.add(
            "bad value for deadline_s: got "
                + seconds
                + ", expected seconds > 0 (at most 1e9) or null");
        return null;
      }
      return java.time.Duration.ofNanos((long) (seconds * 1e9));
    }

    private void positiveOrNull(String key, Integer v) {
      if (v != null && v <= 0) {
        problems.add(
            "bad value for " + key + ": got " + v + ", expected a whole number > 0 or null");
      }
    }

    /** Factories take Long and Double (as YAML reads them), not Integer. */
    private static Object widen(Object v) {
      return v instanceof Integer i ? (Object) i.longValue() : v;
    }
  }
}
