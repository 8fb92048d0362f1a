package org.flowscale.api;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.flowscale.engine.search.SearchConfig;

/**
 * A resolved, validated flowscale config: the YAML a user writes (the reference implementation's
 * keys: {@code text_prompt}, {@code filtering_method}, {@code max_nfe}, ...), with {@code
 * key=value} overrides typed like OmegaConf's, every key known and every value checked before any
 * work. It says what to load (model, reward, backend: {@link Pipeline#fromConfig}), what to run
 * ({@link #request()}) and where outputs go ({@link RunOutputs}). Immutable.
 *
 * <p>Typing follows YAML 1.2's core schema: {@code 3} is a number, {@code true} a boolean, {@code
 * null} null, {@code [1, 2]} a list, anything else text. An unknown key is refused with the nearest
 * known one; all problems are reported together in one {@link ConfigurationException}.
 */
public final class FlowscaleConfig {
  /** Larger than any sensible config: refuse before reading it all. */
  public static final long MAX_CONFIG_BYTES = 1 << 20;

  private final RunSettings settings;
  private final String source;

  private FlowscaleConfig(RunSettings settings, String source) {
    this.settings = settings;
    this.source = source;
  }

  /**
   * The config of a run: a YAML file plus {@code key=value} overrides; {@code text_prompt} must be
   * set.
   *
   * @param file the YAML config
   * @param overrides {@code key=value} overrides (values typed as YAML) that win over the file
   * @return the resolved, checked config
   * @throws ConfigurationException naming every problem (a file that cannot be read, broken YAML,
   *     unknown keys, bad values, a missing prompt)
   */
  public static FlowscaleConfig load(Path file, List<String> overrides) {
    return parse(read(file), file.toString(), overrides, true);
  }

  /**
   * The config of a pipeline or service whose prompts come per request: like {@link #load}, but
   * {@code text_prompt} may be missing.
   *
   * @param file the YAML config
   * @param overrides {@code key=value} overrides (values typed as YAML) that win over the file
   * @return the resolved, checked config
   * @throws ConfigurationException naming every problem
   */
  public static FlowscaleConfig loadWithoutPrompt(Path file, List<String> overrides) {
    return parse(read(file), file.toString(), overrides, false);
  }

  /**
   * A config from YAML text.
   *
   * @param yaml the config's YAML text (a flat mapping of keys to values)
   * @param source names the text in messages (a path, "the built-in demo config")
   * @param overrides {@code key=value} overrides (values typed as YAML) that win over the text
   * @param promptRequired whether a missing {@code text_prompt} is a problem
   * @return the resolved, checked config
   * @throws ConfigurationException naming every problem
   */
  public static FlowscaleConfig parse(
      String yaml, String source, List<String> overrides, boolean promptRequired) {
    Map<String, Object> doc = ConfigYaml.loadDocument(yaml, source);
    return resolve(doc, source, overrides, promptRequired);
  }

  /**
   * A config from keys and values (as YAML would read them: String, Long or Integer, Double,
   * Boolean, List, or null), e.g. {@code Map.of("model", "toy", "max_nfe", 200)}; the prompt may be
   * missing.
   *
   * @param keys config keys and their values
   * @return the resolved, checked config
   * @throws ConfigurationException naming every problem
   */
  public static FlowscaleConfig of(Map<String, ?> keys) {
    return resolve(widen(keys), "the given keys", List.of(), false);
  }

  /** Keys as a YAML document holds them: whole numbers as Long (resolved values are Integer). */
  private static Map<String, Object> widen(Map<String, ?> keys) {
    Map<String, Object> doc = new LinkedHashMap<>();
    keys.forEach((k, v) -> doc.put(k, v instanceof Integer i ? (Object) i.longValue() : v));
    return doc;
  }

  private static FlowscaleConfig resolve(
      Map<String, Object> doc, String source, List<String> overrides, boolean promptRequired) {
    RunSettings s = ConfigResolver.resolve(doc, source, Overrides.parse(overrides), promptRequired);
    return new FlowscaleConfig(s, source);
  }

  /**
   * This config with more {@code key=value} overrides (typed as YAML), checked again as a whole.
   *
   * @param overrides {@code key=value} overrides
   * @return a new config; this one is unchanged
   * @throws ConfigurationException naming every problem
   */
  public FlowscaleConfig withOverrides(List<String> overrides) {
    Map<String, Object> doc = widen(settings.resolved());
    if (settings.prompt() == null) {
      doc.remove(ConfigSchema.TEXT_PROMPT); // missing, not null: a request will give it
    }
    return new FlowscaleConfig(
        ConfigResolver.resolve(doc, source, Overrides.parse(overrides), settings.prompt() != null),
        source);
  }

  /** The config file's text, or a configuration error saying why it cannot be read. */
  static String read(Path file) {
    String name = Text.quote(file.toString());
    try {
      if (Files.isDirectory(file)) {
        throw new ConfigurationException("config file " + name + " is a directory");
      }
      if (Files.size(file) > MAX_CONFIG_BYTES) {
        throw new ConfigurationException(
            "config file " + name + " is larger than " + MAX_CONFIG_BYTES + " bytes");
      }
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigurationException("config file " + name + " does not exist");
    } catch (AccessDeniedException e) {
      throw new ConfigurationException("config file " + name + " cannot be read (permission)");
    } catch (CharacterCodingException e) {
      throw new ConfigurationException("config file " + name + " is not UTF-8 text");
    } catch (IOException e) {
      throw new ConfigurationException(
          "config file " + name + " cannot be read: " + Text.oneLine(e.getMessage()));
    }
  }

  /** {@return what to run: the prompt and the search of this config} */
  public GenerationRequest request() {
    if (settings.prompt() == null) {
      throw new ConfigurationException(
          "text_prompt must be set (e.g. text_prompt='two red circles')");
    }
    return GenerationRequest.of(settings);
  }

  /** {@return where the config came from (a path, "the given keys"), for messages} */
  public String source() {
    return source;
  }

  /** {@return {@code text_prompt}, or empty when a request will give it} */
  public Optional<String> prompt() {
    return Optional.ofNullable(settings.prompt());
  }

  /**
   * {@return the typed search config ({@code filtering_method}, budget, steps, sampling scheme,
   * seed)}
   */
  public SearchConfig search() {
    return settings.search();
  }

  /** {@return {@code model}: the model factory's name} */
  public String model() {
    return settings.model();
  }

  /** {@return the model factory's own keys that the config sets} */
  public Map<String, Object> modelSettings() {
    return settings.modelSettings();
  }

  /**
   * {@return {@code reward_score}: the reward's name, or null when {@link #rewards()} names
   * several}
   */
  public String reward() {
    return settings.reward();
  }

  /**
   * {@return {@code rewards}: the terms of a weighted sum of rewards, or empty with {@code
   * reward_score}}
   */
  public List<RewardTerm> rewards() {
    return settings.rewards();
  }

  /** {@return the reward factory's own keys that the config sets} */
  public Map<String, Object> rewardSettings() {
    return settings.rewardSettings();
  }

  /**
   * {@return {@code backend}: where particle operations run ({@code cpu}, {@code cuda}, {@code
   * cuda:1})}
   */
  public String backend() {
    return settings.backend();
  }

  /** {@return {@code root_dir}: the folder that holds run directories} */
  public Path rootDir() {
    return settings.rootDir();
  }

  /** {@return {@code tag}, or the method's name when the config leaves it unset} */
  public String tag() {
    return settings.tag();
  }

  /** {@return {@code save_now}: whether run directories get a timestamp} */
  public boolean saveNow() {
    return settings.saveNow();
  }

  /** {@return {@code save_intermediate}: whether runs write a grid of images after every step} */
  public boolean saveIntermediate() {
    return settings.saveIntermediate();
  }

  /** {@return {@code deadline_s}: a run's wall-clock limit, if set} */
  public Optional<Duration> deadline() {
    return Optional.ofNullable(settings.deadline());
  }

  /** {@return every key with its final value, in schema order (what {@code config.yaml} holds)} */
  public Map<String, Object> resolved() {
    return settings.resolved();
  }

  /**
   * {@return the resolved config as YAML, headed by a comment} {@link #load} reads it back to an
   * equal config (the run directory's {@code config.yaml}).
   */
  public String toYaml() {
    return yaml(settings);
  }

  static String yaml(RunSettings settings) {
    return "# flowscale "
        + Flowscale.VERSION
        + ": the resolved config of this run; `flowscale run --config config.yaml` repeats it"
        + " (with save_now: true)\n"
        + ConfigYaml.dump(new LinkedHashMap<>(settings.resolved()));
  }

  RunSettings settings() {
    return settings;
  }

  /**
   * One key of the common schema, for listings such as {@code flowscale keys}.
   *
   * @param name the key
   * @param expected what it accepts, in words
   * @param defaultValue its default, in words ({@code required} or {@code null} when none)
   * @param help one line on its meaning
   */
  public record KeyInfo(String name, String expected, String defaultValue, String help) {}

  /**
   * {@return the keys every config knows, in schema order} A model's and a reward's own keys come
   * from their factories.
   */
  public static List<KeyInfo> commonKeys() {
    List<KeyInfo> out = new ArrayList<>();
    for (ConfigKey k : ConfigSchema.KEYS.values()) {
      String def =
          k.defaultValue() == null
              ? (k.nullable() ? "null" : "required")
              : String.valueOf(k.defaultValue());
      out.add(new KeyInfo(k.name(), k.expected(), def, k.help()));
    }
    return List.copyOf(out);
  }

  @Override
  public String toString() {
    return "FlowscaleConfig[" + source + ": " + settings.resolved() + "]";
  }
}
