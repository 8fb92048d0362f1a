package org.flowscale.flux;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.weights.Json;

/**
 * One of FLUX.1's two tokenizers, run by Hugging Face tokenizers (DJL's binding, whose native
 * library ships in its jar: no network, no Python): token ids of a prompt, truncated and padded to
 * a fixed length, exactly as the reference pipelines make them.
 *
 * <ul>
 *   <li><b>T5</b> ({@code tokenizer_2/}): the folder's {@code tokenizer.json} (SentencePiece
 *       unigram), {@code </s>} appended, truncated to {@code max_sequence_length} (256 for
 *       FLUX.1-schnell, 512 for dev) and padded with {@code <pad>} to that length.
 *   <li><b>CLIP</b> ({@code tokenizer/}): the repos ship only {@code vocab.json} and {@code
 *       merges.txt} (+ {@code special_tokens_map.json}, {@code tokenizer_config.json}); this builds
 *       the {@code tokenizer.json} that transformers' {@code CLIPTokenizerFast} converts them to,
 *       in memory: NFC, whitespace runs to one space, lower case, CLIP's pre-tokenizer pattern,
 *       byte-level BPE with {@code </w>} word ends, {@code <|startoftext|> ... <|endoftext|>};
 *       truncated to 77 and padded with the folder's pad token (FLUX's: {@code <|endoftext|>}). On
 *       text without HTML entities or mojibake (which openai's CLIP fixes with ftfy first) this is
 *       openai's and transformers' slow {@code CLIPTokenizer}'s tokenization too.
 * </ul>
 *
 * Thread-safe (the native tokenizer is).
 */
final class FluxTokenizer implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final int length;
  private final long padId;
  private final long eosId;
  private final int vocabSize;
  private final Path source;

  private FluxTokenizer(
      HuggingFaceTokenizer tokenizer,
      int length,
      long padId,
      long eosId,
      int vocabSize,
      Path source) {
    this.tokenizer = tokenizer;
    this.length = length;
    this.padId = padId;
    this.eosId = eosId;
    this.vocabSize = vocabSize;
    this.source = source;
  }

  /** The sequence length every prompt is padded or truncated to. */
  int length() {
    return length;
  }

  /** The end-of-text token's id (CLIP pools its output there). */
  long eosId() {
    return eosId;
  }

  /** One more than the largest id the tokenizer can produce. */
  int vocabSize() {
    return vocabSize;
  }

  /** Where it was read from, for messages. */
  Path source() {
    return source;
  }

  /** The prompt's ids: special tokens added, truncated and padded to {@link #length()}. */
  long[] ids(String prompt) {
    Encoding e = tokenizer.encode(prompt, true, false);
    long[] raw = e.getIds();
    long[] out = new long[length];
    Arrays.fill(out, padId);
    System.arraycopy(raw, 0, out, 0, Math.min(raw.length, length));
    return out;
  }

  @Override
  public void close() {
    tokenizer.close();
  }

  // ---- T5 ----

  /**
   * T5's tokenizer from {@code dir/tokenizer.json}.
   *
   * @throws IllegalArgumentException naming the file when it is missing or not a T5 tokenizer
   */
  static FluxTokenizer t5(Path dir, int length) {
    Path file = dir.resolve("tokenizer.json");
    String text = read(file, "tokenizer_2", "the T5 tokenizer");
    Map<?, ?> root = object(Json.parse(text), file);
    Object model = root.get("model");
    if (!(model instanceof Map<?, ?> m) || !"Unigram".equals(m.get("type"))) {
      String type = model instanceof Map<?, ?> m ? String.valueOf(m.get("type")) : "none";
      throw new IllegalArgumentException(
          "tokenizer_2: "
              + file
              + " is a "
              + type
              + " tokenizer, not T5's SentencePiece unigram one (is this CLIP's tokenizer? FLUX's"
              + " T5 tokenizer is tokenizer_2/tokenizer.json)");
    }
    int vocab = ((List<?>) m.get("vocab")).size();
    Map<String, Long> added = addedTokens(root);
    long eos = require(added, vocabIds(m), "</s>", file);
    long pad = require(added, vocabIds(m), "<pad>", file);
    return new FluxTokenizer(load(text, length, file), length, pad, eos, vocab, file);
  }

  private static Map<String, Long> vocabIds(Map<?, ?> unigram) {
    Map<String, Long> ids = new HashMap<>();
    List<?> v = (List<?>) unigram.get("vocab");
    for (int i = 0; i < v.size(); i++) {
      if (v.get(i) instanceof List<?> piece
          && !piece.isEmpty()
          && piece.get(0) instanceof String s) {
        ids.putIfAbsent(s, (long) i);
      }
    }
    return ids;
  }

  // ---- CLIP ----

  /**
   * CLIP's tokenizer from {@code dir/vocab.json} and {@code dir/merges.txt} (with the pad token of
   * {@code special_tokens_map.json} or {@code tokenizer_config.json}, default {@code
   * <|endoftext|>}).
   *
   * @throws IllegalArgumentException naming the file when one is missing or not CLIP's
   */
  static FluxTokenizer clip(Path dir, int length) {
    Path vocabFile = dir.resolve("vocab.json");
    Path mergesFile = dir.resolve("merges.txt");
    Map<?, ?> vocab =
        object(Json.parse(read(vocabFile, "tokenizer", "CLIP's vocabulary")), vocabFile);
    String merges = read(mergesFile, "tokenizer", "CLIP's BPE merges");
    Long bos = id(vocab, "<|startoftext|>");
    Long eos = id(vocab, "<|endoftext|>");
    if (bos == null || eos == null) {
      throw new IllegalArgumentException(
          "tokenizer: "
              + vocabFile
              + " has no <|startoftext|>/<|endoftext|> tokens: not CLIP's vocabulary (is this"
              + " another model's tokenizer? FLUX's CLIP tokenizer is tokenizer/vocab.json +"
              + " merges.txt)");
    }
    String padToken = specialToken(dir, "pad_token");
    Long pad = padToken == null ? eos : id(vocab, padToken);
    if (pad == null) {
      throw new IllegalArgumentException(
          "tokenizer: the pad token '" + padToken + "' is not in " + vocabFile);
    }
    long max = 0;
    for (Object v : vocab.values()) {
      max = Math.max(max, ((Number) v).longValue());
    }
    String json = clipTokenizerJson(vocab, merges, mergesFile, bos, eos);
    return new FluxTokenizer(
        load(json, length, vocabFile), length, pad, eos, (int) max + 1, vocabFile);
  }

  /** The tokenizer.json transformers' CLIPTokenizerFast makes of vocab.json and merges.txt. */
  static String clipTokenizerJson(
      Map<?, ?> vocab, String merges, Path mergesFile, long bos, long eos) {
    StringBuilder sb = new StringBuilder(merges.length() * 2 + vocab.size() * 16);
    sb.append("{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[");
    addedToken(sb, bos, "<|startoftext|>");
    sb.append(',');
    addedToken(sb, eos, "<|endoftext|>");
    sb.append("],\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},")
        .append("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"content\":\" \"},")
        .append("{\"type\":\"Lowercase\"}]},")
        .append("\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[")
        .append("{\"type\":\"Split\",\"pattern\":{\"Regex\":")
        .append(
            quote(
                "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]"
                    + "|[^\\s\\p{L}\\p{N}]+"))
        .append("},\"behavior\":\"Removed\",\"invert\":true},")
        .append("{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,")
        .append("\"use_regex\":false}]},")
        .append("\"post_processor\":{\"type\":\"RobertaProcessing\",\"sep\":[\"<|endoftext|>\",")
        .append(eos)
        .append("],\"cls\":[\"<|startoftext|>\",")
        .append(bos)
        .append("],\"trim_offsets\":false,\"add_prefix_space\":false},")
        .append("\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,")
        .append("\"trim_offsets\":true,\"use_regex\":true},")
        .append("\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<|endoftext|>\",")
        .append("\"continuing_subword_prefix\":\"\",\"end_of_word_suffix\":\"</w>\",")
        .append("\"fuse_unk\":false,\"byte_fallback\":false,\"vocab\":{");
    boolean first = true;
    for (Map.Entry<?, ?> e : vocab.entrySet()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      sb.append(quote(String.valueOf(e.getKey()))).append(':').append(e.getValue());
    }
    sb.append("},\"merges\":[");
    first = true;
    int lineNo = 0;
    for (String line : merges.split("\n", -1)) {
      lineNo++;
      String l = line.strip();
      if (l.isEmpty() || (lineNo == 1 && l.startsWith("#version"))) {
        continue;
      }
      String[] parts = l.split(" ");
      if (parts.length != 2) {
        throw new IllegalArgumentException(
            "tokenizer: "
                + mergesFile
                + " line "
                + lineNo
                + " is not a merge of two symbols ('"
                + (l.length() > 40 ? l.substring(0, 40) + "..." : l)
                + "'): not a BPE merges file");
      }
      if (!first) {
        sb.append(',');
      }
      first = false;
      sb.append(quote(parts[0] + " " + parts[1]));
    }
    return sb.append("]}}").toString();
  }

  private static void addedToken(StringBuilder sb, long id, String content) {
    sb.append("{\"id\":")
        .append(id)
        .append(",\"content\":")
        .append(quote(content))
        .append(",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,")
        .append("\"normalized\":true,\"special\":true}");
  }

  // ---- shared ----

  private static HuggingFaceTokenizer load(String json, int length, Path file) {
    Map<String, String> options = new HashMap<>();
    options.put("addSpecialTokens", "true");
    options.put("truncation", "true");
    options.put("padding", "false");
    options.put("maxLength", Integer.toString(length));
    try {
      return HuggingFaceTokenizer.newInstance(
          new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), options);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(
          file + ": Hugging Face tokenizers refuses it (" + oneLine(e.getMessage()) + ")", e);
    }
  }

  private static String oneLine(String s) {
    return s == null ? "no message" : s.lines().findFirst().orElse("").strip();
  }

  private static String read(Path file, String key, String what) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(
          key + ": " + what + " is missing: expected " + file + " (or set " + key + "_path)");
    } catch (IOException e) {
      throw new IllegalArgumentException(key + ": cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static Map<?, ?> object(Object parsed, Path file) {
    if (!(parsed instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException(file + " is not a JSON object");
    }
    return m;
  }

  private static Long id(Map<?, ?> vocab, String token) {
    return vocab.get(token) instanceof Number n ? n.longValue() : null;
  }

  private static Map<String, Long> addedTokens(Map<?, ?> root) {
    Map<String, Long> out = new HashMap<>();
    if (root.get("added_tokens") instanceof List<?> list) {
      for (Object o : list) {
        if (o instanceof Map<?, ?> t
            && t.get("content") instanceof String c
            && t.get("id") instanceof Number n) {
          out.put(c, n.longValue());
        }
      }
    }
    return out;
  }

  private static long require(
      Map<String, Long> added, Map<String, Long> vocab, String token, Path file) {
    Long id = added.containsKey(token) ? added.get(token) : vocab.get(token);
    if (id == null) {
      throw new IllegalArgumentException(
          "tokenizer_2: " + file + " has no '" + token + "' token: not T5's tokenizer");
    }
    return id;
  }

  /** A special token's text from special_tokens_map.json, else tokenizer_config.json, else null. */
  private static String specialToken(Path dir, String key) {
    for (String f : List.of("special_tokens_map.json", "tokenizer_config.json")) {
      Path p = dir.resolve(f);
      if (!Files.isRegularFile(p)) {
        continue;
      }
      try {
        Object v = ((Map<?, ?>) object(Json.parse(Files.readString(p)), p)).get(key);
        if (v instanceof String s) {
          return s;
        }
        if (v instanceof Map<?, ?> m && m.get("content") instanceof String s) {
          return s;
        }
      } catch (IOException | IllegalArgumentException | ClassCastException e) {
        throw new IllegalArgumentException(
            "tokenizer: cannot read " + p + ": " + e.getMessage(), e);
      }
    }
    return null;
  }

  /** A JSON string literal. */
  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  @Override
  public String toString() {
    return "FluxTokenizer[" + source + ", " + length + " tokens]";
  }
}
