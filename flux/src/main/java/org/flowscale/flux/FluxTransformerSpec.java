package org.flowscale.flux;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.TensorInfo;
import org.flowscale.bindings.weights.WeightsException;

/**
 * What a FLUX.1 transformer checkpoint in Black Forest Labs' layout holds, read off its tensor
 * names and a few anchor shapes (as candle and stable-diffusion.cpp tell variants apart): the
 * widths, the depths, and whether it is FLUX.1-dev (it has {@code guidance_in}) or FLUX.1-schnell.
 * Names may carry ComfyUI's {@code model.diffusion_model.} prefix; then only prefixed tensors
 * belong to the transformer (an all-in-one file's {@code vae.*} and {@code text_encoders.*} are
 * ignored).
 *
 * <p>{@link #shapeOf} is the architecture's rule for the real size of every parameter, so {@link
 * org.flowscale.bindings.torch.TorchWeights} can check each tensor before anything is loaded.
 *
 * @param prefix the prefix stripped from names ({@code ""} or {@code "model.diffusion_model."})
 * @param guidance whether it has {@code guidance_in} (FLUX.1-dev, guidance-distilled)
 * @param hidden the hidden width (3072)
 * @param inChannels packed input channels (64 = 16 latent channels x 2 x 2)
 * @param outChannels packed output channels (64)
 * @param contextDim T5 state width (4096)
 * @param vecDim CLIP pooled width (768)
 * @param mlpHidden MLP width (12288)
 * @param headDim attention head width (128, from the QK norms' scale)
 * @param doubleBlocks double-stream blocks (19)
 * @param singleBlocks single-stream blocks (38)
 */
public record FluxTransformerSpec(
    String prefix,
    boolean guidance,
    int hidden,
    int inChannels,
    int outChannels,
    int contextDim,
    int vecDim,
    int mlpHidden,
    int headDim,
    int doubleBlocks,
    int singleBlocks) {

  /** ComfyUI's prefix of the transformer's names in its checkpoints. */
  public static final String COMFY_PREFIX = "model.diffusion_model.";

  /** The width of the sinusoidal time and guidance embeddings. */
  static final int TIME_DIM = 256;

  private static final Pattern DOUBLE = Pattern.compile("double_blocks\\.(\\d+)\\..*");
  private static final Pattern SINGLE = Pattern.compile("single_blocks\\.(\\d+)\\..*");

  /** Heads per attention: {@code hidden / headDim} (24). */
  public int heads() {
    return hidden / headDim;
  }

  /** Latent channels: {@code inChannels / 4} (16). */
  public int latentChannels() {
    return inChannels / 4;
  }

  /** The model's name for messages. */
  public String variant() {
    return guidance ? "FLUX.1-dev (guidance-distilled)" : "FLUX.1-schnell";
  }

  /** The module name of a checkpoint name: the prefix stripped, or null when it is not ours. */
  public String moduleName(String checkpointName) {
    if (prefix.isEmpty()) {
      return checkpointName;
    }
    return checkpointName.startsWith(prefix) ? checkpointName.substring(prefix.length()) : null;
  }

  /**
   * Reads the spec of {@code c}.
   *
   * @throws WeightsException when it is not a FLUX.1 transformer in BFL's layout (saying what it
   *     looks like instead: diffusers' layout, a Stable Diffusion checkpoint, ...), or an
   *     image-conditioned variant this model cannot feed
   */
  public static FluxTransformerSpec of(Checkpoint c) {
    Map<String, TensorInfo> all = c.infos();
    String prefix = "";
    for (String n : all.keySet()) {
      if (n.startsWith(COMFY_PREFIX)) {
        prefix = COMFY_PREFIX;
        break;
      }
    }
    Map<String, TensorInfo> t = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, TensorInfo> e : all.entrySet()) {
      if (prefix.isEmpty()) {
        t.put(e.getKey(), e.getValue());
      } else if (e.getKey().startsWith(prefix)) {
        t.put(e.getKey().substring(prefix.length()), e.getValue());
      }
    }
    if (!t.containsKey("img_in.weight") && !hasBlocks(t.keySet())) {
      throw new WeightsException(c.source() + " " + notFlux(all));
    }
    TensorInfo imgIn = t.get("img_in.weight");
    if (imgIn == null || imgIn.shape().length != 2) {
      throw new WeightsException(
          c.source()
              + " is missing img_in.weight [hidden, 64] (or has it with the wrong rank): a damaged"
              + " FLUX.1 transformer checkpoint");
    }
    int hidden = (int) imgIn.shape()[0];
    int in = (int) imgIn.shape()[1];
    if (in != 64) {
      throw new WeightsException(
          c.source()
              + ": img_in takes "
              + in
              + " channels; FLUX.1 schnell and dev take 64 (16 latent channels in 2x2 patches)."
              + (in > 64
                  ? " This looks like an image-conditioned variant (FLUX.1 Fill, Canny or Depth),"
                      + " whose conditioning image flowscale does not provide"
                  : ""));
    }
    int out = dim(t, "final_layer.linear.weight", 0, in);
    int ctx = dim(t, "txt_in.weight", 1, 4096);
    int vec = dim(t, "vector_in.in_layer.weight", 1, 768);
    int mlp = dim(t, "double_blocks.0.img_mlp.0.weight", 0, -1);
    if (mlp < 0) {
      int l1 = dim(t, "single_blocks.0.linear1.weight", 0, -1);
      mlp = l1 > 0 ? l1 - 3 * hidden : 4 * hidden;
    }
    int head = -1;
    for (Map.Entry<String, TensorInfo> e : t.entrySet()) {
      if (e.getKey().endsWith(".norm.query_norm.scale") && e.getValue().shape().length == 1) {
        head = (int) e.getValue().shape()[0];
        break;
      }
    }
    if (head <= 0 || hidden % head != 0) {
      throw new WeightsException(
          c.source()
              + ": cannot tell the attention head width (the blocks' norm.query_norm.scale"
              + (head <= 0
                  ? " are missing"
                  : " has " + head + " values, which do not divide the" + " hidden width " + hidden)
              + "): a damaged FLUX.1 transformer checkpoint");
    }
    return new FluxTransformerSpec(
        prefix,
        t.containsKey("guidance_in.in_layer.weight"),
        hidden,
        in,
        out,
        ctx,
        vec,
        mlp,
        head,
        count(t.keySet(), DOUBLE),
        count(t.keySet(), SINGLE));
  }

  private static boolean hasBlocks(Iterable<String> names) {
    for (String n : names) {
      if (n.startsWith("double_blocks.") || n.startsWith("single_blocks.")) {
        return true;
      }
    }
    return false;
  }

  private static int dim(Map<String, TensorInfo> t, String name, int axis, int fallback) {
    TensorInfo i = t.get(name);
    return i == null || i.shape().length <= axis ? fallback : (int) i.shape()[axis];
  }

  /** One more than the highest block index named (gaps show up as missing names later). */
  private static int count(Iterable<String> names, Pattern p) {
    int n = 0;
    for (String name : names) {
      Matcher m = p.matcher(name);
      if (m.matches()) {
        try {
          n = Math.max(n, Integer.parseInt(m.group(1)) + 1);
        } catch (NumberFormatException e) {
          // a silly index: reported as unexpected by the name check
        }
      }
    }
    return n;
  }

  /** What a checkpoint without FLUX's names looks like. */
  static String notFlux(Map<String, TensorInfo> all) {
    TreeSet<String> names = new TreeSet<>(all.keySet());
    boolean diffusersFlux = false;
    boolean sd = false;
    for (String n : names) {
      if (n.startsWith("transformer_blocks.")
          || n.startsWith("single_transformer_blocks.")
          || n.equals("x_embedder.weight")) {
        diffusersFlux = true;
      }
      if (n.contains("input_blocks.")
          || n.startsWith("first_stage_model.")
          || n.startsWith("cond_stage_model.")
          || n.startsWith("conditioner.embedders.")
          || n.startsWith("down_blocks.")
          || n.startsWith("joint_blocks.")) {
        sd = true;
      }
    }
    if (diffusersFlux) {
      return "is a FLUX transformer in diffusers' layout (transformer_blocks.*, x_embedder.*);"
          + " model: flux reads Black Forest Labs' single-file layout (flux1-schnell.safetensors,"
          + " flux1-dev.safetensors)";
    }
    List<String> sample = new ArrayList<>();
    for (String n : names) {
      if (sample.size() == 3) {
        break;
      }
      sample.add(n);
    }
    if (sd) {
      return "is not a FLUX.1 transformer: it looks like a Stable Diffusion checkpoint (UNet or"
          + " MMDiT names such as "
          + String.join(", ", sample)
          + "); model: flux needs flux1-schnell.safetensors or flux1-dev.safetensors";
    }
    return "is not a FLUX.1 transformer checkpoint: none of its "
        + names.size()
        + " tensors is img_in.weight or a double_blocks/single_blocks name"
        + (sample.isEmpty() ? "" : " (it holds " + String.join(", ", sample) + ", ...)");
  }

  /**
   * The real shape of a module parameter (by its name without prefix), or null for a name the
   * FLUX.1 architecture does not have.
   */
  public long[] shapeOf(String name) {
    long h = hidden;
    long m = mlpHidden;
    String n = name;
    if (n.startsWith("double_blocks.") || n.startsWith("single_blocks.")) {
      int dot = n.indexOf('.', n.indexOf('.') + 1);
      String kind = n.substring(0, n.indexOf('.'));
      n = kind + ".*" + n.substring(dot);
    }
    return switch (n) {
      case "img_in.weight" -> new long[] {h, inChannels};
      case "txt_in.weight" -> new long[] {h, contextDim};
      case "time_in.in_layer.weight", "guidance_in.in_layer.weight" -> new long[] {h, TIME_DIM};
      case "vector_in.in_layer.weight" -> new long[] {h, vecDim};
      case "img_in.bias",
          "txt_in.bias",
          "time_in.in_layer.bias",
          "time_in.out_layer.bias",
          "guidance_in.in_layer.bias",
          "guidance_in.out_layer.bias",
          "vector_in.in_layer.bias",
          "vector_in.out_layer.bias",
          "double_blocks.*.img_attn.proj.bias",
          "double_blocks.*.txt_attn.proj.bias",
          "double_blocks.*.img_mlp.2.bias",
          "double_blocks.*.txt_mlp.2.bias",
          "single_blocks.*.linear2.bias" ->
          new long[] {h};
      case "time_in.out_layer.weight",
          "guidance_in.out_layer.weight",
          "vector_in.out_layer.weight",
          "double_blocks.*.img_attn.proj.weight",
          "double_blocks.*.txt_attn.proj.weight" ->
          new long[] {h, h};
      case "double_blocks.*.img_mod.lin.weight", "double_blocks.*.txt_mod.lin.weight" ->
          new long[] {6 * h, h};
      case "double_blocks.*.img_mod.lin.bias", "double_blocks.*.txt_mod.lin.bias" ->
          new long[] {6 * h};
      case "double_blocks.*.img_attn.qkv.weight", "double_blocks.*.txt_attn.qkv.weight" ->
          new long[] {3 * h, h};
      case "double_blocks.*.img_attn.qkv.bias", "double_blocks.*.txt_attn.qkv.bias" ->
          new long[] {3 * h};
      case "double_blocks.*.img_attn.norm.query_norm.scale",
          "double_blocks.*.img_attn.norm.key_norm.scale",
          "double_blocks.*.txt_attn.norm.query_norm.scale",
          "double_blocks.*.txt_attn.norm.key_norm.scale",
          "single_blocks.*.norm.query_norm.scale",
          "single_blocks.*.norm.key_norm.scale" ->
          new long[] {headDim};
      case "double_blocks.*.img_mlp.0.weight", "double_blocks.*.txt_mlp.0.weight" ->
          new long[] {m, h};
      case "double_blocks.*.img_mlp.0.bias", "double_blocks.*.txt_mlp.0.bias" -> new long[] {m};
      case "double_blocks.*.img_mlp.2.weight", "double_blocks.*.txt_mlp.2.weight" ->
          new long[] {h, m};
      case "single_blocks.*.linear1.weight" -> new long[] {3 * h + m, h};
      case "single_blocks.*.linear1.bias" -> new long[] {3 * h + m};
      case "single_blocks.*.linear2.weight" -> new long[] {h, h + m};
      case "single_blocks.*.modulation.lin.weight" -> new long[] {3 * h, h};
      case "single_blocks.*.modulation.lin.bias" -> new long[] {3 * h};
      case "final_layer.linear.weight" -> new long[] {outChannels, h};
      case "final_layer.linear.bias" -> new long[] {outChannels};
      case "final_layer.adaLN_modulation.1.weight" -> new long[] {2 * h, h};
      case "final_layer.adaLN_modulation.1.bias" -> new long[] {2 * h};
      default -> null;
    };
  }

  @Override
  public String toString() {
    return variant()
        + ": hidden "
        + hidden
        + ", "
        + heads()
        + " heads of "
        + headDim
        + ", MLP "
        + mlpHidden
        + ", "
        + doubleBlocks
        + " double + "
        + singleBlocks
        + " single blocks, T5 width "
        + contextDim
        + ", CLIP width "
        + vecDim;
  }
}
