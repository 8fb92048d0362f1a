package org.flowscale.rewards.aesthetic;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.TensorInfo;
import org.flowscale.bindings.weights.WeightsException;

/**
 * The sizes of an aesthetic CLIP checkpoint (made by {@code
 * tools/rewards/convert_aesthetic_clip.py}: OpenAI CLIP's vision tower under {@code visual.*} and
 * the LAION head under {@code layers.*}), read off its tensors, and the shape every tensor must
 * have for those sizes, so that a damaged or foreign file is refused with one line naming what does
 * not fit before anything is loaded.
 *
 * @param width the tower's width (1024 for ViT-L/14)
 * @param patch the patch size (14)
 * @param grid patches per side ({@code 16}: resolution {@code patch x grid = 224})
 * @param layers residual blocks (24)
 * @param mlpHidden the blocks' MLP width (4096)
 * @param embed the image embedding's size (768)
 * @param heads attention heads (the file's {@code heads} metadata, else {@code width / 64})
 * @param head the head's layer widths after the embedding (1024, 128, 64, 16, 1)
 */
record AestheticClipSpec(
    int width, int patch, int grid, int layers, int mlpHidden, int embed, int heads, int[] head) {

  private static final Pattern BLOCK =
      Pattern.compile("visual\\.transformer\\.resblocks\\.(\\d+)\\.(.+)");
  private static final Pattern HEAD = Pattern.compile("layers\\.(\\d+)\\.(weight|bias)");
  private static final int[] HEAD_LAYERS = {0, 2, 4, 6, 7};

  /** The resolution images are resized and cropped to. */
  int resolution() {
    return patch * grid;
  }

  /**
   * Reads the sizes off {@code c}'s tensors.
   *
   * @throws WeightsException naming the file and what is missing or inconsistent
   */
  static AestheticClipSpec of(Checkpoint c) {
    String src = c.source().getFileName().toString();
    long[] cls = need(c, "visual.class_embedding", 1);
    int width = (int) cls[0];
    long[] conv = need(c, "visual.conv1.weight", 4);
    int patch = (int) conv[2];
    if (conv[0] != width || conv[1] != 3 || conv[3] != patch) {
      throw bad(
          src,
          "visual.conv1.weight is "
              + Arrays.toString(conv)
              + ", expected ["
              + width
              + ", 3, p, p]");
    }
    long[] pos = need(c, "visual.positional_embedding", 2);
    int grid = (int) Math.round(Math.sqrt(pos[0] - 1));
    if (pos[1] != width || (long) grid * grid + 1 != pos[0]) {
      throw bad(
          src,
          "visual.positional_embedding is "
              + Arrays.toString(pos)
              + ", expected [g * g + 1, "
              + width
              + "]");
    }
    long[] proj = need(c, "visual.proj", 2);
    int embed = (int) proj[1];
    TreeSet<Integer> blocks = new TreeSet<>();
    for (String n : c.names()) {
      Matcher m = BLOCK.matcher(n);
      if (m.matches()) {
        blocks.add(Integer.parseInt(m.group(1)));
      }
    }
    if (blocks.isEmpty()) {
      throw bad(src, "no visual.transformer.resblocks.* tensors");
    }
    int layers = blocks.last() + 1;
    if (blocks.size() != layers) {
      throw bad(src, "residual blocks are not numbered 0.." + (layers - 1) + " without gaps");
    }
    int mlp = (int) need(c, "visual.transformer.resblocks.0.mlp.c_fc.weight", 2)[0];
    int[] head = new int[HEAD_LAYERS.length];
    long in = embed;
    for (int i = 0; i < HEAD_LAYERS.length; i++) {
      String n = "layers." + HEAD_LAYERS[i] + ".weight";
      long[] w = need(c, n, 2);
      if (w[1] != in) {
        throw bad(
            src,
            n
                + " is "
                + Arrays.toString(w)
                + ", expected [k, "
                + in
                + "] (the head's input must be the CLIP embedding's "
                + embed
                + " values)");
      }
      head[i] = (int) w[0];
      in = w[0];
    }
    if (head[head.length - 1] != 1) {
      throw bad(src, "layers.7.weight makes " + head[head.length - 1] + " values, expected 1");
    }
    int heads = heads(c.metadata(), width, src);
    return new AestheticClipSpec(width, patch, grid, layers, mlp, embed, heads, head);
  }

  private static int heads(Map<String, String> metadata, int width, String src) {
    String h = metadata.get("heads");
    int heads;
    if (h != null) {
      try {
        heads = Integer.parseInt(h.strip());
      } catch (NumberFormatException e) {
        throw bad(src, "metadata heads is not a number: '" + h + "'");
      }
    } else {
      heads = width / 64;
    }
    if (heads < 1 || width % heads != 0) {
      throw bad(
          src,
          heads
              + " attention heads do not divide the width "
              + width
              + (h == null
                  ? " (no heads metadata: set it with convert_aesthetic_clip.py --heads)"
                  : ""));
    }
    return heads;
  }

  /** The shape the tensor {@code name} must have, or null for names this spec does not know. */
  long[] shapeOf(String name) {
    long w = width;
    switch (name) {
      case "visual.class_embedding",
          "visual.ln_pre.weight",
          "visual.ln_pre.bias",
          "visual.ln_post.weight",
          "visual.ln_post.bias" -> {
        return new long[] {w};
      }
      case "visual.conv1.weight" -> {
        return new long[] {w, 3, patch, patch};
      }
      case "visual.positional_embedding" -> {
        return new long[] {(long) grid * grid + 1, w};
      }
      case "visual.proj" -> {
        return new long[] {w, embed};
      }
      default -> {}
    }
    Matcher b = BLOCK.matcher(name);
    if (b.matches()) {
      return switch (b.group(2)) {
        case "ln_1.weight",
            "ln_1.bias",
            "ln_2.weight",
            "ln_2.bias",
            "attn.out_proj.bias",
            "mlp.c_proj.bias" ->
            new long[] {w};
        case "attn.in_proj_weight" -> new long[] {3 * w, w};
        case "attn.in_proj_bias" -> new long[] {3 * w};
        case "attn.out_proj.weight" -> new long[] {w, w};
        case "mlp.c_fc.weight" -> new long[] {mlpHidden, w};
        case "mlp.c_fc.bias" -> new long[] {mlpHidden};
        case "mlp.c_proj.weight" -> new long[] {w, mlpHidden};
        default -> null;
      };
    }
    Matcher h = HEAD.matcher(name);
    if (h.matches()) {
      int layer = Integer.parseInt(h.group(1));
      for (int i = 0; i < HEAD_LAYERS.length; i++) {
        if (HEAD_LAYERS[i] == layer) {
          long out = head[i];
          long in = i == 0 ? embed : head[i - 1];
          return h.group(2).equals("weight") ? new long[] {out, in} : new long[] {out};
        }
      }
    }
    return null;
  }

  private static long[] need(Checkpoint c, String name, int rank) {
    if (!c.contains(name)) {
      throw bad(
          c.source().getFileName().toString(),
          "no tensor "
              + name
              + ": not an aesthetic CLIP checkpoint (make one with"
              + " tools/rewards/convert_aesthetic_clip.py)");
    }
    TensorInfo info = c.info(name);
    long[] s = info.shape();
    if (s.length != rank) {
      throw bad(
          c.source().getFileName().toString(),
          name + " has shape " + Arrays.toString(s) + ", expected " + rank + " dimensions");
    }
    return s;
  }

  private static WeightsException bad(String src, String what) {
    return new WeightsException(src + ": " + what);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AestheticClipSpec s
        && s.width == width
        && s.patch == patch
        && s.grid == grid
        && s.layers == layers
        && s.mlpHidden == mlpHidden
        && s.embed == embed
        && s.heads == heads
        && Arrays.equals(s.head, head);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(new int[] {width, patch, grid, layers, mlpHidden, embed, heads}) * 31
        + Arrays.hashCode(head);
  }

  @Override
  public String toString() {
    return "CLIP vision tower width "
        + width
        + ", "
        + layers
        + " blocks, "
        + heads
        + " heads, patch "
        + patch
        + " at "
        + resolution()
        + "px, "
        + embed
        + "-dim embedding; head "
        + Arrays.toString(head);
  }
}
