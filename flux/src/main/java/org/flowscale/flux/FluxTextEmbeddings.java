package org.flowscale.flux;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.bindings.weights.SafeDType;
import org.flowscale.bindings.weights.SafeTensors;
import org.flowscale.bindings.weights.SafeTensorsWriter;
import org.flowscale.bindings.weights.TensorInfo;
import org.flowscale.bindings.weights.WeightsException;

/**
 * FLUX's text conditioning for one prompt, as a file: the per-prompt cache format of {@code model:
 * flux} ({@code text_embeddings} key). A safetensors file with
 *
 * <ul>
 *   <li>{@code t5}: T5-XXL's last hidden states {@code [T, 4096]} (or {@code [1, T, 4096]}), the
 *       prompt padded to T tokens as the reference pipeline pads it (256 for FLUX.1-schnell, 512
 *       for FLUX.1-dev); the model attends to every one of the T states;
 *   <li>{@code clip_pooled}: CLIP ViT-L/14's pooled text embedding {@code [768]} (or {@code [1,
 *       768]});
 *   <li>metadata {@code format = flowscale.flux.text_embeddings}, {@code version = 1}, and {@code
 *       prompt}: the exact prompt text. Optional, for people: {@code t5_model}, {@code clip_model},
 *       {@code max_sequence_length}.
 * </ul>
 *
 * F32, BF16 or F16 data (converted to the model's dtype on load). {@code text_embeddings} names
 * either one file or a directory of them, each named {@link #fileName(String)} (the SHA-256 of the
 * prompt's UTF-8 bytes, hex, {@code .safetensors}), which is where the text encoders cache what
 * they compute. A file whose {@code prompt} differs from the run's prompt is refused (sampling one
 * prompt's image under another's name would be a silent error); a file without {@code prompt}
 * metadata serves any prompt.
 */
public final class FluxTextEmbeddings {
  private FluxTextEmbeddings() {}

  /** The T5 states' tensor name. */
  public static final String T5 = "t5";

  /** The CLIP pooled embedding's tensor name. */
  public static final String CLIP_POOLED = "clip_pooled";

  /** Metadata: what the file is. */
  public static final String FORMAT = "flowscale.flux.text_embeddings";

  /** Metadata: the format version. */
  public static final String VERSION = "1";

  /** Metadata key of the prompt. */
  public static final String PROMPT = "prompt";

  /**
   * The two tensors of a checked file.
   *
   * @param tokens T, the T5 sequence length
   */
  public record Contents(TensorInfo t5, TensorInfo clipPooled, int tokens) {}

  /**
   * The cache file name of {@code prompt}: hex SHA-256 of its UTF-8 bytes + {@code .safetensors}.
   */
  public static String fileName(String prompt) {
    try {
      byte[] d =
          MessageDigest.getInstance("SHA-256").digest(prompt.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d) + ".safetensors";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /**
   * The file holding {@code prompt}'s embeddings: {@code setting} itself when it is a file, else
   * the prompt's file in that directory.
   *
   * @throws IllegalArgumentException when the directory has no file for the prompt
   */
  public static Path locate(Path setting, String prompt) {
    if (!Files.isDirectory(setting)) {
      return setting;
    }
    Path f = setting.resolve(fileName(prompt));
    if (!Files.isRegularFile(f)) {
      throw new IllegalArgumentException(
          "text_embeddings: "
              + setting.toAbsolutePath().normalize()
              + " has no embeddings for the prompt '"
              + prompt
              + "' (expected "
              + f.getFileName()
              + ")");
    }
    return f;
  }

  /**
   * Checks an opened embeddings file for {@code prompt} and a model with those widths.
   *
   * @throws WeightsException naming the file and the problem
   */
  public static Contents check(SafeTensors f, String prompt, int contextDim, int vecDim) {
    String where = "text_embeddings " + f.path();
    String made = f.metadata().get(PROMPT);
    if (made != null && !made.equals(prompt)) {
      throw new WeightsException(
          where + " holds the prompt '" + made + "', not the run's prompt '" + prompt + "'");
    }
    for (String name : List.of(T5, CLIP_POOLED)) {
      if (!f.contains(name)) {
        throw new WeightsException(
            where + " has no tensor '" + name + "' (it needs t5 [T, 4096] and clip_pooled [768])");
      }
      SafeDType d = f.info(name).dtype();
      if (d != SafeDType.F32 && d != SafeDType.BF16 && d != SafeDType.F16) {
        throw new WeightsException(
            where + ": " + name + " is " + d + ", expected F32, BF16 or F16");
      }
    }
    TensorInfo t5 = f.info(T5);
    long[] s = t5.shape();
    boolean ok = (s.length == 2 || (s.length == 3 && s[0] == 1)) && s[s.length - 1] == contextDim;
    if (!ok || s[s.length - 2] < 1) {
      throw new WeightsException(
          where + ": t5 is " + t5.shapeText() + ", the transformer needs [T, " + contextDim + "]");
    }
    TensorInfo clip = f.info(CLIP_POOLED);
    long[] c = clip.shape();
    if (!((c.length == 1 || (c.length == 2 && c[0] == 1)) && c[c.length - 1] == vecDim)) {
      throw new WeightsException(
          where
              + ": clip_pooled is "
              + clip.shapeText()
              + ", the transformer needs ["
              + vecDim
              + "]");
    }
    return new Contents(t5, clip, (int) s[s.length - 2]);
  }

  /**
   * Writes {@code prompt}'s embeddings (F32) to {@code file}, atomically.
   *
   * @param t5 {@code tokens x contextDim} values, row-major
   * @param clipPooled the pooled embedding
   * @param extra more metadata (e.g. {@code t5_model}), or null
   */
  public static void write(
      Path file,
      String prompt,
      float[] t5,
      int tokens,
      float[] clipPooled,
      Map<String, String> extra) {
    if (tokens < 1 || t5.length % tokens != 0) {
      throw new IllegalArgumentException(
          t5.length + " T5 values are not " + tokens + " tokens of equal width");
    }
    Map<String, String> meta = new LinkedHashMap<>();
    if (extra != null) {
      meta.putAll(extra);
    }
    meta.put("format", FORMAT);
    meta.put("version", VERSION);
    meta.put(PROMPT, prompt);
    SafeTensorsWriter.write(
        file,
        List.of(
            SafeTensorsWriter.Entry.f32(T5, new long[] {tokens, t5.length / tokens}, t5),
            SafeTensorsWriter.Entry.f32(CLIP_POOLED, new long[] {clipPooled.length}, clipPooled)),
        meta);
  }
}
