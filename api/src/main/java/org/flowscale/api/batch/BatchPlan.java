package org.flowscale.api.batch;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.Text;
import org.flowscale.engine.model.Factories;

/**
 * The items of a batch: every prompt line of a {@link PromptFile} with every seed, prompt-major
 * ({@code line 1 seed 0, line 1 seed 1, ..., line 2 seed 0, ...}). A line that sets {@code seed}
 * gives one item with that seed; other lines take each of the batch's seeds (the config's {@code
 * seed} when none are given).
 *
 * <p>Every item's config is resolved and checked when the plan is made, so a bad override (an
 * unknown key, a value out of range, a budget that does not fit the method) is refused with its
 * line before any work. A line may not change what the batch loads once (the model, the reward and
 * their keys, the backend) or where outputs go ({@code root_dir}, {@code save_now}).
 */
public final class BatchPlan {
  /** Keys only the batch sets: where items go. */
  static final Set<String> OUTPUT_KEYS = Set.of("root_dir", "save_now");

  /** Keys a pipeline fixes once. */
  static final Set<String> PIPELINE_KEYS = Set.of("model", "reward_score", "rewards", "backend");

  /**
   * Keys that say where or how long a run goes, not what it computes: they are left out of an
   * item's identity (so {@code --gpus} and a deadline do not rename items).
   */
  static final Set<String> NOT_IDENTITY =
      Set.of(
          "root_dir",
          "save_now",
          "save_intermediate",
          "deadline_s",
          "backend",
          "device",
          "reward_device");

  /** The most seeds one batch takes (a typo guard). */
  public static final int MAX_SEEDS = 100_000;

  /** The most items one batch holds. */
  public static final int MAX_ITEMS = 1_000_000;

  private static final int SLUG_CHARS = 40;

  private final FlowscaleConfig config;
  private final PromptFile prompts;
  private final List<Long> seeds;
  private final List<BatchItem> items;

  private BatchPlan(
      FlowscaleConfig config, PromptFile prompts, List<Long> seeds, List<BatchItem> items) {
    this.config = config;
    this.prompts = prompts;
    this.seeds = List.copyOf(seeds);
    this.items = List.copyOf(items);
  }

  /**
   * Plans a batch.
   *
   * @param config the batch's config (its {@code text_prompt}, if any, is replaced by each line's)
   * @param prompts the prompt file, one item per line and seed
   * @param seeds the seeds of every line that does not set its own; empty for the config's seed
   * @return the plan: every item's config, checked
   * @throws ConfigurationException naming every bad line (up to ten) with its number
   */
  public static BatchPlan create(FlowscaleConfig config, PromptFile prompts, List<Long> seeds) {
    List<Long> s = seeds == null || seeds.isEmpty() ? List.of(config.search().seed()) : seeds;
    Set<String> pipelineKeys = pipelineKeys(config);
    Map<String, String> identityDefaults = identityDefaults();
    List<BatchItem> items = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Map<String, Integer> seen = new HashMap<>();
    for (PromptFile.Line line : prompts.lines()) {
      List<String> overrides;
      try {
        overrides = overrides(line, pipelineKeys);
      } catch (IllegalArgumentException e) {
        problems.add("line " + line.number() + ": " + e.getMessage());
        continue;
      }
      // A line that sets its own seed is one item; any other line is one item per seed.
      List<List<String>> runs = new ArrayList<>();
      if (line.overrides().containsKey("seed")) {
        runs.add(overrides);
      } else {
        for (long seed : s) {
          List<String> o = new ArrayList<>(overrides);
          o.add("seed=" + seed);
          runs.add(o);
        }
      }
      for (List<String> o : runs) {
        FlowscaleConfig c;
        try {
          c = config.withOverrides(o);
          c.request(); // the method's budget rules
        } catch (ConfigurationException e) {
          problems.add("line " + line.number() + ": " + Text.oneLine(e.getMessage()));
          break;
        }
        String id = id(line.prompt(), c, identityDefaults);
        Integer before = seen.putIfAbsent(id, line.number());
        if (before != null) {
          problems.add(
              "line "
                  + line.number()
                  + " repeats line "
                  + before
                  + " (the same prompt, overrides and seed "
                  + c.search().seed()
                  + "): remove one");
          break;
        }
        if (items.size() >= MAX_ITEMS) {
          throw new ConfigurationException(
              "the batch has more than " + MAX_ITEMS + " items: split the prompt file");
        }
        items.add(
            new BatchItem(
                id,
                items.size(),
                line.number(),
                line.prompt(),
                c.search().seed(),
                method(c),
                c.search().maxNfe(),
                c));
      }
      if (problems.size() > 50) {
        break;
      }
    }
    if (!problems.isEmpty()) {
      throw PromptFile.problems(prompts.path(), problems);
    }
    return new BatchPlan(config, prompts, s, items);
  }

  /** {@return the batch's config} */
  public FlowscaleConfig config() {
    return config;
  }

  /** {@return the prompt file} */
  public PromptFile prompts() {
    return prompts;
  }

  /** {@return the seeds of lines that set none} */
  public List<Long> seeds() {
    return seeds;
  }

  /** {@return every item, in plan order} */
  public List<BatchItem> items() {
    return items;
  }

  /** {@return a name for this plan's item list: equal plans (in any process) have equal keys} */
  public String key() {
    StringBuilder b = new StringBuilder();
    items.forEach(i -> b.append(i.id()).append('\n'));
    return hash(b.toString()).substring(0, 12);
  }

  /**
   * Reads a seed list: numbers and inclusive ranges separated by commas, {@code 0..3}, {@code
   * 1,5,9}, {@code 0..3,10..11}.
   *
   * @param spec the seed list
   * @return the seeds, in the list's order
   * @throws ConfigurationException naming what is wrong
   */
  public static List<Long> parseSeeds(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new ConfigurationException("bad seeds '': expected e.g. 0..3 or 1,5,9");
    }
    LinkedHashSet<Long> out = new LinkedHashSet<>();
    for (String part : spec.split(",", -1)) {
      String p = part.strip();
      try {
        int dots = p.indexOf("..");
        if (dots >= 0) {
          long from = Long.parseLong(p.substring(0, dots).strip());
          long to = Long.parseLong(p.substring(dots + 2).strip());
          if (to < from) {
            throw new ConfigurationException(
                "bad seeds " + Text.quote(spec) + ": the range " + p + " runs backwards");
          }
          if (to - from >= MAX_SEEDS) {
            throw new ConfigurationException(
                "bad seeds " + Text.quote(spec) + ": more than " + MAX_SEEDS + " seeds");
          }
          for (long v = from; v <= to; v++) {
            out.add(v);
          }
        } else {
          out.add(Long.parseLong(p));
        }
      } catch (NumberFormatException e) {
        throw new ConfigurationException(
            "bad seeds "
                + Text.quote(spec)
                + ": "
                + Text.quote(p)
                + " is not a seed or a range (e.g. 0..3 or 1,5,9)");
      }
      if (out.size() > MAX_SEEDS) {
        throw new ConfigurationException(
            "bad seeds " + Text.quote(spec) + ": more than " + MAX_SEEDS + " seeds");
      }
    }
    return List.copyOf(out);
  }

  /** The model's and reward's own keys, and the pipeline keys: a line may not set them. */
  private static Set<String> pipelineKeys(FlowscaleConfig config) {
    Set<String> keys = new LinkedHashSet<>(PIPELINE_KEYS);
    try {
      keys.addAll(Factories.model(config.model()).keys());
      List<String> rewards = new ArrayList<>();
      if (config.reward() != null) {
        rewards.add(config.reward());
      }
      config.rewards().forEach(t -> rewards.add(t.score()));
      for (String r : rewards) {
        keys.addAll(Factories.reward(r).keys());
      }
    } catch (IllegalArgumentException e) {
      // the config resolved, so its factories exist; nothing more to add
    }
    return keys;
  }

  /** A line's keys as {@code key=value} overrides (JSON values are YAML flow values). */
  private static List<String> overrides(PromptFile.Line line, Set<String> pipelineKeys) {
    List<String> out = new ArrayList<>();
    out.add("text_prompt=" + jsonString(line.prompt()));
    for (Map.Entry<String, JsonNode> e : line.overrides().entrySet()) {
      String key = e.getKey();
      if (OUTPUT_KEYS.contains(key)) {
        throw new IllegalArgumentException(
            "key " + Text.quote(key) + " is the batch's to set (its items go under --out)");
      }
      if (key.equals("device") || key.equals("reward_device")) {
        throw new IllegalArgumentException(
            "key "
                + Text.quote(key)
                + " belongs to the pipeline, which the whole batch shares (--gpus picks devices)");
      }
      if (pipelineKeys.contains(key)) {
        throw new IllegalArgumentException(
            "key "
                + Text.quote(key)
                + " belongs to the model, reward or backend, which the whole batch loads once"
                + " (set it in the config or as key=value on the command line)");
      }
      if (e.getValue().isObject()) {
        throw new IllegalArgumentException(
            "the value of "
                + Text.quote(key)
                + " is a JSON object; config values are numbers, text, true/false, null or lists");
      }
      out.add(key + "=" + e.getValue().toString());
    }
    return out;
  }

  private static String jsonString(String s) {
    return com.fasterxml.jackson.databind.node.TextNode.valueOf(s).toString();
  }

  /** The summary's name for an item's method: {@code tag} when set, else the method. */
  static String method(FlowscaleConfig c) {
    Object tag = c.resolved().get("tag");
    return tag != null ? tag.toString() : c.search().method().configName();
  }

  /** Every common key's default, as text, for leaving defaults out of identities. */
  private static Map<String, String> identityDefaults() {
    Map<String, String> out = new HashMap<>();
    for (FlowscaleConfig.KeyInfo k : FlowscaleConfig.commonKeys()) {
      out.put(k.name(), k.defaultValue());
    }
    return out;
  }

  /**
   * The item's id: a slug of the prompt, the seed, and a hash of the keys that decide its result.
   * Keys at their default are left out of the hash, so a release that adds a key with a default
   * keeps existing ids (and a resumed batch its done items).
   */
  static String id(String prompt, FlowscaleConfig c, Map<String, String> defaults) {
    TreeMap<String, String> identity = new TreeMap<>();
    c.resolved()
        .forEach(
            (k, v) -> {
              if (NOT_IDENTITY.contains(k)) {
                return;
              }
              String text = String.valueOf(v);
              if (!k.equals("text_prompt") && Objects.equals(defaults.get(k), text)) {
                return;
              }
              identity.put(k, text);
            });
    identity.put("text_prompt", prompt);
    StringBuilder b = new StringBuilder();
    identity.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
    long seed = c.search().seed();
    return slug(prompt) + "-s" + seed + "-" + hash(b.toString()).substring(0, 10);
  }

  /** Lower-case ASCII words of the prompt joined by '-', at most 40 characters. */
  static String slug(String prompt) {
    String ascii =
        Normalizer.normalize(prompt, Normalizer.Form.NFKD)
            .replaceAll("\\p{M}+", "")
            .toLowerCase(Locale.ROOT);
    StringBuilder b = new StringBuilder();
    for (String word : ascii.split("[^a-z0-9]+")) {
      if (word.isEmpty()) {
        continue;
      }
      if (b.length() + word.length() + 1 > SLUG_CHARS) {
        if (b.isEmpty()) {
          b.append(word, 0, SLUG_CHARS);
        }
        break;
      }
      if (!b.isEmpty()) {
        b.append('-');
      }
      b.append(word);
    }
    return b.isEmpty() ? "prompt" : b.toString();
  }

  static String hash(String text) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(d.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
    }
  }
}
