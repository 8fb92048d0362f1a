package org.flowscale.api.batch;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.Text;

/**
 * A prompt set: a plain text file (one prompt a line; blank lines and lines starting with {@code #}
 * are skipped) or JSON Lines (one object a line: {@code {"text_prompt": "...", "seed": 3,
 * "max_nfe": 200}}, every key but {@code text_prompt} an override of the batch's config for that
 * line). A file named {@code *.jsonl} or {@code *.ndjson} is JSON Lines, {@code *.txt} plain text;
 * any other name is JSON Lines when its first prompt line starts with <code>{</code>.
 *
 * <p>Reading checks only the file's own form (UTF-8, JSON syntax, a prompt on every line); {@link
 * BatchPlan} checks the overrides against the config. Every problem names its line.
 */
public final class PromptFile {
  /** Larger than any sensible prompt set: refuse before reading it all. */
  public static final long MAX_BYTES = 64L << 20;

  private static final ObjectMapper JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** The most problems one message lists. */
  private static final int MAX_PROBLEMS = 10;

  /**
   * One prompt line.
   *
   * @param number the 1-based line number in the file
   * @param prompt {@code text_prompt}
   * @param overrides the line's other keys, as JSON values (empty for plain text)
   */
  public record Line(int number, String prompt, Map<String, JsonNode> overrides) {
    /** A line; {@code overrides} is copied. */
    public Line {
      overrides = Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
    }
  }

  private final Path path;
  private final boolean jsonLines;
  private final List<Line> lines;

  private PromptFile(Path path, boolean jsonLines, List<Line> lines) {
    this.path = path;
    this.jsonLines = jsonLines;
    this.lines = List.copyOf(lines);
  }

  /** {@return the file it was read from} */
  public Path path() {
    return path;
  }

  /** {@return whether the file is JSON Lines (else plain text)} */
  public boolean jsonLines() {
    return jsonLines;
  }

  /** {@return the prompt lines, in file order (at least one)} */
  public List<Line> lines() {
    return lines;
  }

  /** How messages name a line: {@code prompts file 'p.jsonl', line 3}. */
  static String where(Path path, int line) {
    return "prompts file " + Text.quote(path.toString()) + ", line " + line;
  }

  /**
   * Reads a prompt set.
   *
   * @param path a plain text file (one prompt a line) or JSON Lines ({@code .jsonl})
   * @return the prompt lines
   * @throws ConfigurationException naming the file and, for a bad line, its number (every bad line
   *     up to ten): a missing, unreadable or empty file, a line that is not a JSON object, a
   *     missing or empty {@code text_prompt}
   */
  public static PromptFile read(Path path) {
    String text = readText(path);
    List<String> raw = text.lines().toList();
    boolean jsonl = isJsonLines(path, raw);
    List<Line> out = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < raw.size(); i++) {
      String s = raw.get(i).strip();
      if (i == 0 && s.startsWith("\uFEFF")) {
        s = s.substring(1).strip();
      }
      if (s.isEmpty() || (!jsonl && s.startsWith("#"))) {
        continue;
      }
      int number = i + 1;
      try {
        out.add(jsonl ? jsonLine(number, s) : new Line(number, s, Map.of()));
      } catch (IllegalArgumentException e) {
        problems.add("line " + number + ": " + e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw problems(path, problems);
    }
    if (out.isEmpty()) {
      throw new ConfigurationException(
          "prompts file "
              + Text.quote(path.toString())
              + (raw.isEmpty() ? " is empty" : " holds no prompts (only blank or # lines)")
              + ": write one prompt a line, or JSON Lines with a text_prompt each");
    }
    return new PromptFile(path, jsonl, out);
  }

  /** One message for every bad line (up to ten). */
  static ConfigurationException problems(Path path, List<String> problems) {
    String file = "prompts file " + Text.quote(path.toString());
    if (problems.size() == 1) {
      return new ConfigurationException(file + ", " + problems.getFirst());
    }
    List<String> shown = problems.subList(0, Math.min(MAX_PROBLEMS, problems.size()));
    String more =
        problems.size() > shown.size() ? "; and " + (problems.size() - shown.size()) + " more" : "";
    return new ConfigurationException(
        problems.size() + " bad lines in " + file + ": " + String.join("; ", shown) + more);
  }

  private static boolean isJsonLines(Path path, List<String> raw) {
    String name = path.getFileName() == null ? "" : path.getFileName().toString();
    String lower = name.toLowerCase(Locale.ROOT);
    if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) {
      return true;
    }
    if (lower.endsWith(".txt")) {
      return false;
    }
    for (String line : raw) {
      String s = line.strip();
      if (s.startsWith("\uFEFF")) {
        s = s.substring(1).strip();
      }
      if (!s.isEmpty() && !s.startsWith("#")) {
        return s.startsWith("{");
      }
    }
    return false;
  }

  private static Line jsonLine(int number, String s) {
    JsonNode node;
    try {
      node = JSON.readTree(s);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not valid JSON: " + Text.oneLine(e.getOriginalMessage()));
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(
          "expected a JSON object such as {\"text_prompt\": \"two red circles\"}, got "
              + (node == null ? "nothing" : node.getNodeType().name().toLowerCase(Locale.ROOT)));
    }
    JsonNode prompt = node.get("text_prompt");
    if (prompt == null) {
      throw new IllegalArgumentException("text_prompt is missing");
    }
    if (!prompt.isTextual() || prompt.asText().isBlank()) {
      throw new IllegalArgumentException(
          "text_prompt must be non-empty text, got " + Text.quote(prompt.toString()));
    }
    Map<String, JsonNode> overrides = new LinkedHashMap<>();
    node.properties()
        .forEach(
            e -> {
              if (!e.getKey().equals("text_prompt")) {
                overrides.put(e.getKey(), e.getValue());
              }
            });
    return new Line(number, prompt.asText().strip(), overrides);
  }

  private static String readText(Path path) {
    String name = Text.quote(path.toString());
    try {
      if (Files.isDirectory(path)) {
        throw new ConfigurationException("prompts file " + name + " is a directory");
      }
      if (Files.size(path) > MAX_BYTES) {
        throw new ConfigurationException(
            "prompts file " + name + " is larger than " + MAX_BYTES + " bytes");
      }
      byte[] bytes = Files.readAllBytes(path);
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (NoSuchFileException e) {
      throw new ConfigurationException("prompts file " + name + " does not exist");
    } catch (AccessDeniedException e) {
      throw new ConfigurationException("prompts file " + name + " cannot be read (permission)");
    } catch (CharacterCodingException e) {
      throw new ConfigurationException("prompts file " + name + " is not UTF-8 text");
    } catch (IOException e) {
      throw new ConfigurationException(
          "prompts file " + name + " cannot be read: " + Text.oneLine(e.getMessage()));
    }
  }
}
