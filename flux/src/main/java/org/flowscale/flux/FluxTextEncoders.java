package org.flowscale.flux;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flowscale.bindings.torch.TensorDesc;
import org.flowscale.bindings.torch.TorchDType;
import org.flowscale.bindings.torch.TorchException;
import org.flowscale.bindings.torch.TorchModule;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.bindings.torch.TorchWeights;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.Json;
import org.flowscale.bindings.weights.TensorInfo;
import org.flowscale.bindings.weights.WeightsException;

/**
 * FLUX.1's text side: the T5 v1.1 encoder ({@code text_encoder_2/}) and CLIP-L's text model ({@code
 * text_encoder/}) with their tokenizers, turning a prompt into the transformer's conditioning: T5's
 * last hidden states {@code [T, d]} (T = {@code max_sequence_length}, every padding token attended,
 * as BFL's and diffusers' pipelines run it) and CLIP's pooled output {@code [768]} at the
 * end-of-text token.
 *
 * <p>{@link #check} reads every header, tokenizer and config without loading a tensor: names,
 * shapes and dtypes against the architecture files, the tokenizers against the embeddings' sizes.
 * The weights are loaded on the first prompt that needs them (never, when every prompt's embeddings
 * are cached on disk) and after each encoding are kept, moved to the host, or freed, as {@code
 * text_encoders} says. Thread-safe: encodings run one at a time.
 */
final class FluxTextEncoders implements AutoCloseable {
  private static final Pattern T5_BLOCK = Pattern.compile("encoder\\.block\\.(\\d+)\\..*");
  private static final Pattern CLIP_LAYER =
      Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\..*");

  /** A prompt's conditioning on the host, F32. */
  record Embeddings(float[] t5, int tokens, float[] clipPooled) {}

  private final TorchShim shim;
  private final FluxSettings.Parts parts;
  private final TorchDType dtype;
  private final int device;
  private final FluxTokenizer t5Tokenizer;
  private final FluxTokenizer clipTokenizer;
  private final Encoder t5;
  private final Encoder clip;
  private final long clipEos;
  private final boolean clipLegacyEos;
  private long encoded;

  private FluxTextEncoders(
      TorchShim shim,
      FluxSettings.Parts parts,
      TorchDType dtype,
      FluxTokenizer t5Tokenizer,
      FluxTokenizer clipTokenizer,
      Encoder t5,
      Encoder clip,
      boolean clipLegacyEos) {
    this.shim = shim;
    this.parts = parts;
    this.dtype = dtype;
    this.device = parts.textEncoderDevice();
    this.t5Tokenizer = t5Tokenizer;
    this.clipTokenizer = clipTokenizer;
    this.t5 = t5;
    this.clip = clip;
    this.clipEos = clipTokenizer.eosId();
    this.clipLegacyEos = clipLegacyEos;
  }

  /**
   * Checks both encoders and tokenizers (headers, configs, architecture files; no tensor is read)
   * and returns them ready to load on first use.
   *
   * @param contextDim the transformer's T5 width, {@code vecDim} its CLIP width
   * @param tokens T5's sequence length
   * @throws IllegalArgumentException naming the file and what is wrong
   */
  static FluxTextEncoders open(
      TorchShim shim,
      FluxSettings.Parts parts,
      TorchDType dtype,
      int contextDim,
      int vecDim,
      int tokens) {
    Encoder t5 = Encoder.t5(shim, parts);
    Encoder clip = Encoder.clip(shim, parts);
    if (t5.width != contextDim) {
      throw new IllegalArgumentException(
          "text_encoder_2: "
              + t5.source
              + " makes states of width "
              + t5.width
              + ", the transformer takes "
              + contextDim
              + ": not the T5 encoder of this FLUX model");
    }
    if (clip.width != vecDim) {
      throw new IllegalArgumentException(
          "text_encoder: "
              + clip.source
              + " makes pooled vectors of width "
              + clip.width
              + ", the transformer takes "
              + vecDim
              + ": not the CLIP text encoder of this FLUX model");
    }
    FluxTokenizer t5Tok = FluxTokenizer.t5(parts.t5Tokenizer(), tokens);
    FluxTokenizer clipTok = null;
    try {
      clipTok = FluxTokenizer.clip(parts.clipTokenizer(), clip.positions);
      fits(t5Tok, t5, "tokenizer_2", "text_encoder_2");
      fits(clipTok, clip, "tokenizer", "text_encoder");
      Object eos = config(parts.clip()).get("eos_token_id");
      boolean legacy = eos instanceof Number n && n.longValue() == 2;
      return new FluxTextEncoders(shim, parts, dtype, t5Tok, clipTok, t5, clip, legacy);
    } catch (RuntimeException e) {
      t5Tok.close();
      if (clipTok != null) {
        clipTok.close();
      }
      throw e;
    }
  }

  private static void fits(FluxTokenizer tok, Encoder enc, String tokKey, String encKey) {
    if (tok.vocabSize() > enc.vocab) {
      throw new IllegalArgumentException(
          tokKey
              + ": "
              + tok.source()
              + " has "
              + tok.vocabSize()
              + " tokens, but the "
              + encKey
              + " embedding has "
              + enc.vocab
              + " rows: the tokenizer does not belong to that encoder");
    }
  }

  /** T5's sequence length. */
  int tokens() {
    return t5Tokenizer.length();
  }

  /** How many prompts were encoded (tests: a cached prompt is not). */
  synchronized long encoded() {
    return encoded;
  }

  /** Whether the encoders' weights are on their device now. */
  synchronized boolean loaded() {
    return t5.module != null && !t5.offloaded;
  }

  /** Bytes of the two encoders' weights in {@code dtype}. */
  long weightBytes() {
    return (t5.elements + clip.elements) * dtype.bytes();
  }

  /** T5's token ids of a prompt (tests). */
  long[] t5Ids(String prompt) {
    return t5Tokenizer.ids(prompt);
  }

  /** CLIP's token ids of a prompt (tests). */
  long[] clipIds(String prompt) {
    return clipTokenizer.ids(prompt);
  }

  /** Encodes {@code prompt} with both encoders (loading them first when needed). */
  synchronized Embeddings encode(String prompt) {
    long[] t5Ids = t5Tokenizer.ids(prompt);
    long[] clipIds = clipTokenizer.ids(prompt);
    long eos = eosIndex(clipIds);
    try {
      t5.ready(dtype, device);
      clip.ready(dtype, device);
      int tokens = t5Ids.length;
      float[] states = new float[tokens * t5.width];
      float[] pooled = new float[clip.width];
      try (Arena a = Arena.ofConfined()) {
        MemorySegment ids = a.allocateFrom(ValueLayout.JAVA_LONG, t5Ids);
        MemorySegment out = a.allocate(ValueLayout.JAVA_FLOAT, states.length);
        t5.module.forward(
            List.of(new TensorDesc(ids.address(), new long[] {1, tokens}, TorchDType.I64, -1)),
            List.of(
                new TensorDesc(
                    out.address(), new long[] {1, tokens, t5.width}, TorchDType.F32, -1)));
        MemorySegment.copy(out, ValueLayout.JAVA_FLOAT, 0, states, 0, states.length);
        MemorySegment cids = a.allocateFrom(ValueLayout.JAVA_LONG, clipIds);
        MemorySegment eosSeg = a.allocateFrom(ValueLayout.JAVA_LONG, eos);
        MemorySegment pout = a.allocate(ValueLayout.JAVA_FLOAT, pooled.length);
        clip.module.forward(
            List.of(
                new TensorDesc(cids.address(), new long[] {1, clipIds.length}, TorchDType.I64, -1),
                new TensorDesc(eosSeg.address(), new long[] {1}, TorchDType.I64, -1)),
            List.of(
                new TensorDesc(pout.address(), new long[] {1, clip.width}, TorchDType.F32, -1)));
        MemorySegment.copy(pout, ValueLayout.JAVA_FLOAT, 0, pooled, 0, pooled.length);
      }
      encoded++;
      return new Embeddings(states, tokens, pooled);
    } finally {
      release();
    }
  }

  /** CLIP's pooling position, as transformers finds it. */
  private long eosIndex(long[] ids) {
    int at = 0;
    for (int i = 0; i < ids.length; i++) {
      // legacy configs (eos_token_id 2): argmax of the ids, i.e. the first largest id
      if (clipLegacyEos ? ids[i] > ids[at] : ids[i] == clipEos) {
        at = i;
        if (!clipLegacyEos) {
          break;
        }
      }
    }
    return at;
  }

  /** What {@code text_encoders} asks for after an encoding. */
  private void release() {
    switch (parts.textEncoders()) {
      case KEEP -> {}
      case OFFLOAD -> {
        t5.offload();
        clip.offload();
      }
      case RELOAD -> {
        t5.free();
        clip.free();
      }
    }
  }

  @Override
  public synchronized void close() {
    t5.free();
    clip.free();
    t5Tokenizer.close();
    clipTokenizer.close();
  }

  /** The JSON config next to a weights file or in a weights folder, or an empty map. */
  static Map<?, ?> config(Path weights) {
    Path dir = Files.isDirectory(weights) ? weights : weights.toAbsolutePath().getParent();
    Path f = dir == null ? null : dir.resolve("config.json");
    if (f == null || !Files.isRegularFile(f)) {
      return Map.of();
    }
    try {
      return Json.parse(Files.readString(f, StandardCharsets.UTF_8)) instanceof Map<?, ?> m
          ? m
          : Map.of();
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(f + " is not readable JSON: " + e.getMessage(), e);
    }
  }

  /** One encoder: its checkpoint, architecture, sizes and, while loaded, its module. */
  static final class Encoder {
    final TorchShim shim;
    final String key;
    final String what;
    final Path source;
    final Path architecture;
    final java.util.function.Function<String, String> rename;
    final java.util.function.Function<String, long[]> shapes;
    final long[] ints; // num_heads, (T5) max distance
    final int width;
    final int vocab;
    final int positions;
    final long elements;
    TorchModule module;
    boolean offloaded;

    private Encoder(
        TorchShim shim,
        String key,
        String what,
        Path source,
        Path architecture,
        java.util.function.Function<String, String> rename,
        java.util.function.Function<String, long[]> shapes,
        long[] ints,
        int width,
        int vocab,
        int positions,
        long elements) {
      this.shim = shim;
      this.key = key;
      this.what = what;
      this.source = source;
      this.architecture = architecture;
      this.rename = rename;
      this.shapes = shapes;
      this.ints = ints;
      this.width = width;
      this.vocab = vocab;
      this.positions = positions;
      this.elements = elements;
    }

    static Encoder t5(TorchShim shim, FluxSettings.Parts parts) {
      Path arch = parts.architecture("t5_encoder.pt", "text_encoder_2_path", "the T5 encoder");
      try (Checkpoint c = open("text_encoder_2", parts.t5())) {
        Map<String, TensorInfo> t = c.infos();
        java.util.function.Function<String, String> rename =
            n -> n.equals("encoder.embed_tokens.weight") || n.startsWith("decoder.") ? null : n;
        TensorInfo shared = t.get("shared.weight");
        TensorInfo bias =
            t.get("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
        TensorInfo q = t.get("encoder.block.0.layer.0.SelfAttention.q.weight");
        TensorInfo wi = t.get("encoder.block.0.layer.1.DenseReluDense.wi_0.weight");
        if (shared == null || bias == null || q == null || wi == null) {
          throw new IllegalArgumentException(
              "text_encoder_2: "
                  + c.source()
                  + " is not a T5 v1.1 encoder in transformers' names (it lacks "
                  + (shared == null
                      ? "shared.weight"
                      : bias == null
                          ? "the relative attention bias"
                          : q == null
                              ? "encoder.block.0...q.weight"
                              : "the gated feed-forward wi_0")
                  + ")"
                  + hint(t.keySet()));
        }
        long d = shared.shape()[1];
        long vocab = shared.shape()[0];
        long inner = q.shape()[0];
        long ff = wi.shape()[0];
        long buckets = bias.shape()[0];
        long heads = bias.shape()[1];
        Map<?, ?> cfg = config(parts.t5());
        long maxDistance =
            cfg.get("relative_attention_max_distance") instanceof Number n ? n.longValue() : 128;
        if (cfg.get("num_heads") instanceof Number n && n.longValue() != heads) {
          throw new IllegalArgumentException(
              "text_encoder_2: config.json says num_heads " + n + ", the weights have " + heads);
        }
        java.util.function.Function<String, long[]> shapes =
            n -> {
              if (n.equals("shared.weight")) {
                return new long[] {vocab, d};
              }
              if (n.equals("encoder.final_layer_norm.weight") || n.endsWith("layer_norm.weight")) {
                return new long[] {d};
              }
              if (n.endsWith("relative_attention_bias.weight")) {
                return new long[] {buckets, heads};
              }
              if (n.endsWith(".o.weight")) {
                return new long[] {d, inner};
              }
              if (n.endsWith(".q.weight") || n.endsWith(".k.weight") || n.endsWith(".v.weight")) {
                return new long[] {inner, d};
              }
              if (n.endsWith("wi_0.weight") || n.endsWith("wi_1.weight")) {
                return new long[] {ff, d};
              }
              if (n.endsWith("wo.weight")) {
                return new long[] {d, ff};
              }
              return null;
            };
        Encoder e =
            new Encoder(
                shim,
                "text_encoder_2",
                "T5 encoder",
                c.source(),
                arch,
                rename,
                shapes,
                new long[] {heads, maxDistance},
                (int) d,
                (int) vocab,
                0,
                elements(c, rename));
        e.verify(c, T5_BLOCK, "flowscale_t5_architecture", "--t5-layers");
        return e;
      }
    }

    static Encoder clip(TorchShim shim, FluxSettings.Parts parts) {
      Path arch = parts.architecture("clip_text.pt", "text_encoder_path", "the CLIP text encoder");
      try (Checkpoint c = open("text_encoder", parts.clip())) {
        Map<String, TensorInfo> t = c.infos();
        java.util.function.Function<String, String> rename =
            n ->
                n.startsWith("text_model.") && !n.equals("text_model.embeddings.position_ids")
                    ? n
                    : null;
        TensorInfo tok = t.get("text_model.embeddings.token_embedding.weight");
        TensorInfo pos = t.get("text_model.embeddings.position_embedding.weight");
        TensorInfo fc1 = t.get("text_model.encoder.layers.0.mlp.fc1.weight");
        if (tok == null || pos == null || fc1 == null) {
          throw new IllegalArgumentException(
              "text_encoder: "
                  + c.source()
                  + " is not a CLIP text model in transformers' names (it lacks "
                  + (tok == null
                      ? "text_model.embeddings.token_embedding.weight"
                      : pos == null ? "the position embedding" : "the first layer's MLP")
                  + ")"
                  + hint(t.keySet()));
        }
        long d = tok.shape()[1];
        long vocab = tok.shape()[0];
        long positions = pos.shape()[0];
        long inner = fc1.shape()[0];
        Map<?, ?> cfg = config(parts.clip());
        long heads = cfg.get("num_attention_heads") instanceof Number n ? n.longValue() : d / 64;
        if (heads <= 0 || d % heads != 0) {
          throw new IllegalArgumentException(
              "text_encoder: " + heads + " attention heads do not divide the width " + d);
        }
        java.util.function.Function<String, long[]> shapes =
            n -> {
              if (n.equals("text_model.embeddings.token_embedding.weight")) {
                return new long[] {vocab, d};
              }
              if (n.equals("text_model.embeddings.position_embedding.weight")) {
                return new long[] {positions, d};
              }
              if (n.endsWith("_proj.weight")) {
                return new long[] {d, d};
              }
              if (n.endsWith("fc1.weight")) {
                return new long[] {inner, d};
              }
              if (n.endsWith("fc1.bias")) {
                return new long[] {inner};
              }
              if (n.endsWith("fc2.weight")) {
                return new long[] {d, inner};
              }
              if (n.endsWith(".weight") || n.endsWith(".bias")) {
                return new long[] {d};
              }
              return null;
            };
        Encoder e =
            new Encoder(
                shim,
                "text_encoder",
                "CLIP text encoder",
                c.source(),
                arch,
                rename,
                shapes,
                new long[] {heads},
                (int) d,
                (int) vocab,
                (int) positions,
                elements(c, rename));
        e.verify(c, CLIP_LAYER, "flowscale_clip_architecture", "--clip-layers");
        return e;
      }
    }

    private static String hint(java.util.Set<String> names) {
      for (String n : names) {
        if (n.startsWith("text_model.")) {
          return ": it looks like CLIP's text encoder (text_encoder/)";
        }
        if (n.startsWith("encoder.block.") || n.equals("shared.weight")) {
          return ": it looks like a T5 encoder (text_encoder_2/)";
        }
      }
      return "";
    }

    private static Checkpoint open(String key, Path p) {
      try {
        return Checkpoint.open(p);
      } catch (WeightsException e) {
        throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
      }
    }

    private static long elements(Checkpoint c, java.util.function.Function<String, String> rename) {
      long n = 0;
      for (TensorInfo i : c.infos().values()) {
        if (rename.apply(i.name()) != null) {
          n += i.elements();
        }
      }
      return n;
    }

    /** Loads the architecture and checks the checkpoint against it (no tensor is copied). */
    private void verify(Checkpoint c, Pattern layer, String versionAttr, String depthFlag) {
      TorchModule m = architecture();
      try {
        int archLayers = layers(m.slots().stream().map(TorchModule.Slot::name).toList(), layer);
        int ckptLayers = layers(c.names(), layer);
        if (archLayers != ckptLayers) {
          throw new IllegalArgumentException(
              key
                  + ": "
                  + c.source()
                  + " has "
                  + ckptLayers
                  + " layers, the architecture file "
                  + architecture.getFileName()
                  + " "
                  + archLayers
                  + " (make a matching one: python3 tools/flux/make_architectures.py DIR "
                  + depthFlag
                  + " "
                  + ckptLayers
                  + ")");
        }
        TorchWeights.check(m, c, options(null, -1), what);
      } catch (WeightsException e) {
        throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
      } finally {
        m.close();
      }
    }

    private static int layers(List<String> names, Pattern p) {
      int n = 0;
      for (String s : names) {
        Matcher m = p.matcher(s);
        if (m.matches()) {
          n = Math.max(n, Integer.parseInt(m.group(1)) + 1);
        }
      }
      return n;
    }

    private TorchWeights.Options options(TorchDType dtype, int device) {
      return TorchWeights.options().rename(rename).expectShapes(shapes).dtype(dtype).device(device);
    }

    private TorchModule architecture() {
      TorchModule m;
      try {
        m = shim.load(architecture, -1);
      } catch (TorchException e) {
        throw new IllegalArgumentException(
            "architecture_dir: libtorch cannot load "
                + architecture
                + " ("
                + e.getMessage().lines().findFirst().orElse("")
                + "); remake it with python3 tools/flux/make_architectures.py",
            e);
      }
      String attr =
          key.equals("text_encoder_2")
              ? "flowscale_t5_architecture"
              : "flowscale_clip_architecture";
      try {
        long[] v = m.ints(attr);
        if (v.length != 1 || v[0] != 1) {
          throw new IllegalArgumentException(
              "architecture_dir: " + architecture + " is of another version; remake it");
        }
      } catch (TorchException e) {
        m.close();
        throw new IllegalArgumentException(
            "architecture_dir: " + architecture + " is not flowscale's " + what + " architecture");
      } catch (RuntimeException e) {
        m.close();
        throw e;
      }
      return m;
    }

    /** Makes the module usable on {@code device}: loads it, or brings it back from the host. */
    void ready(TorchDType dtype, int device) {
      if (module != null) {
        if (offloaded) {
          module.to(device, dtype);
          offloaded = false;
        }
        return;
      }
      TorchModule m = architecture();
      try (Checkpoint c = open(key, source)) {
        TorchWeights.load(m, c, options(dtype, device), what);
        if (key.equals("text_encoder_2")) {
          m.setInts("num_heads", ints[0]);
          m.setInts("relative_attention_max_distance", ints[1]);
        } else {
          m.setInts("num_heads", ints[0]);
        }
        m.setOptimize(false);
        module = m;
      } catch (WeightsException e) {
        m.close();
        throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
      } catch (RuntimeException e) {
        m.close();
        throw e;
      }
    }

    void offload() {
      if (module != null && !offloaded) {
        module.to(-1, null);
        offloaded = true;
      }
    }

    void free() {
      if (module != null) {
        module.close();
        module = null;
        offloaded = false;
      }
    }
  }
}
