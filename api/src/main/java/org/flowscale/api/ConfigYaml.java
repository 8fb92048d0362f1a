package org.flowscale.api;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.AbstractConstruct;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * YAML for configs and {@code key=value} overrides, with one set of typing rules for both: {@code
 * null}/{@code ~}/empty is null, {@code true}/{@code false} are booleans, decimal integers are
 * {@link Long} (or {@link BigInteger} when too large), decimals with a point or an exponent and
 * {@code .inf}/{@code .nan} are {@link Double}, {@code [a, b]} are lists; everything else is a
 * string. These are YAML 1.2's core rules; unlike YAML 1.1 (and PyYAML), {@code yes}, {@code on},
 * {@code 0x1F}, {@code 010} and dates stay what they look like to a person: strings and decimals.
 */
final class ConfigYaml {
  private ConfigYaml() {}

  private static final Pattern CORE_NULL = Pattern.compile("^(?:~|null|Null|NULL)$");
  private static final Pattern CORE_EMPTY = Pattern.compile("^$");
  private static final Pattern CORE_BOOL =
      Pattern.compile("^(?:true|True|TRUE|false|False|FALSE)$");
  private static final Pattern CORE_INT = Pattern.compile("^[-+]?[0-9][0-9_]*$");
  private static final Pattern CORE_FLOAT =
      Pattern.compile(
          "^[-+]?(?:[0-9][0-9_]*\\.[0-9_]*|\\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$"
              + "|^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"
              + "|^[-+]?\\.(?:inf|Inf|INF)$"
              + "|^\\.(?:nan|NaN|NAN)$");

  /**
   * YAML 1.2 core schema resolution (decimal only), so that configs type like a person reads. (The
   * patterns are prefixed: Resolver's own static BOOL, INT, ... would shadow same-named fields.)
   */
  private static final class CoreResolver extends Resolver {
    @Override
    protected void addImplicitResolvers() {
      addImplicitResolver(Tag.BOOL, CORE_BOOL, "tTfF");
      addImplicitResolver(Tag.INT, CORE_INT, "-+0123456789");
      addImplicitResolver(Tag.FLOAT, CORE_FLOAT, "-+0123456789.");
      addImplicitResolver(Tag.NULL, CORE_NULL, "~nN\0");
      addImplicitResolver(Tag.NULL, CORE_EMPTY, null);
    }
  }

  /** Safe construction (no classes from tags) with decimal-only numbers. */
  private static final class CoreConstructor extends SafeConstructor {
    CoreConstructor(LoaderOptions options) {
      super(options);
      yamlConstructors.put(Tag.INT, new ConstructDecimal(false));
      yamlConstructors.put(Tag.FLOAT, new ConstructDecimal(true));
    }

    private final class ConstructDecimal extends AbstractConstruct {
      private final boolean floating;

      ConstructDecimal(boolean floating) {
        this.floating = floating;
      }

      @Override
      public Object construct(Node node) {
        String raw = constructScalar((ScalarNode) node).replace("_", "");
        try {
          if (floating) {
            return switch (raw.toLowerCase(java.util.Locale.ROOT)) {
              case ".inf", "+.inf" -> Double.POSITIVE_INFINITY;
              case "-.inf" -> Double.NEGATIVE_INFINITY;
              case ".nan" -> Double.NaN;
              default -> Double.parseDouble(raw);
            };
          }
          BigInteger v = new BigInteger(raw.startsWith("+") ? raw.substring(1) : raw);
          return v.bitLength() < 64 ? (Object) v.longValue() : v;
        } catch (NumberFormatException e) {
          throw new YAMLException(
              "not a " + (floating ? "number" : "whole number") + ": " + Text.quote(raw));
        }
      }
    }
  }

  private static Yaml yaml() {
    LoaderOptions lo = new LoaderOptions();
    lo.setAllowDuplicateKeys(false);
    lo.setAllowRecursiveKeys(false);
    lo.setMaxAliasesForCollections(50);
    lo.setNestingDepthLimit(20);
    lo.setCodePointLimit(1 << 20);
    DumperOptions dopt = new DumperOptions();
    dopt.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    dopt.setIndent(2);
    dopt.setWidth(120);
    dopt.setSplitLines(false);
    return new Yaml(new CoreConstructor(lo), new Representer(dopt), dopt, lo, new CoreResolver());
  }

  /**
   * A config document: a mapping from key names to values (an empty document is an empty map).
   *
   * @param source names the document in error messages (a path, "the built-in demo config")
   * @throws ConfigurationException when it is not YAML or not a mapping of names
   */
  static Map<String, Object> loadDocument(String text, String source) {
    Object doc;
    try {
      doc = yaml().load(text);
    } catch (YAMLException | IllegalArgumentException | ClassCastException e) {
      throw new ConfigurationException(source + ": broken YAML " + describe(e), e);
    }
    if (doc == null) {
      return new LinkedHashMap<>();
    }
    if (!(doc instanceof Map<?, ?> map)) {
      throw new ConfigurationException(
          source
              + ": a config must be a mapping of 'key: value' lines, got "
              + ConfigKey.describeType(doc));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      if (!(e.getKey() instanceof String k) || k.isBlank()) {
        throw new ConfigurationException(
            source + ": config keys must be names, got " + Text.quote(String.valueOf(e.getKey())));
      }
      out.put(k, e.getValue());
    }
    return out;
  }

  /**
   * One override value, typed by the same rules as a config file.
   *
   * @throws IllegalArgumentException with YAML's complaint when it cannot be read
   */
  static Object parseValue(String text) {
    Object v;
    try {
      v = yaml().load(text);
    } catch (YAMLException | IllegalArgumentException | ClassCastException e) {
      throw new IllegalArgumentException("cannot read the value " + describe(e), e);
    }
    // A value that YAML reads as nothing only because it starts a comment ("#3") is text.
    if (v == null && !text.isBlank() && !CORE_NULL.matcher(text.strip()).matches()) {
      return text;
    }
    return v;
  }

  /** A mapping as block YAML, readable back by {@link #loadDocument} to equal values. */
  static String dump(Map<String, Object> map) {
    return yaml().dump(map);
  }

  private static String describe(Exception e) {
    if (e instanceof MarkedYAMLException m) {
      Mark mark = m.getProblemMark() != null ? m.getProblemMark() : m.getContextMark();
      String where =
          mark == null
              ? ""
              : "at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
      String problem = m.getProblem() != null ? m.getProblem() : m.getContext();
      return (where.isEmpty() ? "" : where + ": ") + Text.oneLine(problem);
    }
    return "(" + Text.oneLine(e.getMessage()) + ")";
  }
}
