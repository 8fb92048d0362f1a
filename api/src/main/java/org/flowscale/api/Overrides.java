package org.flowscale.api;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code key=value} overrides from the command line, as OmegaConf's dot-list: the value is read as
 * YAML (so {@code 3} is a number, {@code true} a boolean, {@code null} null, {@code [1, 2]} a list
 * and anything else text); a later override of the same key wins.
 */
final class Overrides {
  private Overrides() {}

  private static final Pattern KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_-]*");

  /**
   * One parsed override.
   *
   * @param key the config key
   * @param text the value as typed
   * @param value the value typed by YAML's rules (see {@link ConfigYaml})
   */
  record Override(String key, String text, Object value) {}

  /**
   * Parses every argument; the first bad one is reported.
   *
   * @throws ConfigurationException naming the argument and what is wrong with it
   */
  static List<Override> parse(List<String> args) {
    List<Override> out = new ArrayList<>();
    for (String arg : args) {
      out.add(parseOne(arg));
    }
    return out;
  }

  static Override parseOne(String arg) {
    int eq = arg.indexOf('=');
    if (eq < 0) {
      String hint =
          arg.endsWith(".yaml") || arg.endsWith(".yml")
              ? "; to use a config file write --config " + arg
              : "";
      throw new ConfigurationException(
          "override " + Text.quote(arg) + " is not key=value (e.g. max_nfe=100)" + hint);
    }
    String key = arg.substring(0, eq);
    String text = arg.substring(eq + 1);
    if (!KEY.matcher(key).matches()) {
      throw new ConfigurationException(
          "override "
              + Text.quote(arg)
              + ": "
              + (key.isEmpty() ? "the key is missing" : Text.quote(key) + " is not a key name")
              + " (keys are names like max_nfe; see 'flowscale keys')");
    }
    try {
      return new Override(key, text, ConfigYaml.parseValue(text));
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(
          "override "
              + Text.quote(arg)
              + ": "
              + e.getMessage()
              + " (quote text: "
              + key
              + "='...')",
          e);
    }
  }
}
