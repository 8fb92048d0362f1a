package org.flowscale.flux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.flowscale.bindings.torch.TorchDType;
import org.flowscale.bindings.weights.Checkpoint;
import org.flowscale.bindings.weights.SafeDType;
import org.flowscale.bindings.weights.SafeTensorsWriter;
import org.flowscale.bindings.weights.SafeTensorsWriter.Entry;
import org.flowscale.bindings.weights.TensorInfo;
import org.flowscale.engine.model.FlowModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damaged and wrong checkpoints end in one-line errors that name the file and the problem, one
 * after another in the same JVM, which then still loads a good checkpoint.
 */
class FluxCheckpointErrorsTest {
  @TempDir Path tmp;

  /** The schnell fixture rewritten entry by entry ({@code edit} returns null to drop one). */
  private Path rewrite(String name, Function<Entry, Entry> edit, List<Entry> extra) {
    FluxFixtures fx = FluxFixtures.get();
    Path out = tmp.resolve(name);
    try (Checkpoint c = Checkpoint.open(fx.file("schnell.safetensors"))) {
      List<Entry> entries = new ArrayList<>();
      for (String n : c.names()) {
        TensorInfo i = c.info(n);
        Entry e = edit.apply(new Entry(n, i.dtype(), i.shape(), c.data(n)));
        if (e != null) {
          entries.add(e);
        }
      }
      entries.addAll(extra);
      SafeTensorsWriter.write(out, entries, Map.of());
    }
    return out;
  }

  private static String failure(Path checkpoint) {
    FluxFixtures fx = FluxFixtures.get();
    FluxFixtures.Case c = fx.cases.get(0);
    Map<String, Object> s = new HashMap<>(fx.settings(c, "bf16", Map.of()));
    s.put("model_path", checkpoint.toString());
    String m =
        assertThrows(IllegalArgumentException.class, () -> new FluxModelFactory().load(s).close())
            .getMessage();
    assertFalse(m.contains("\n"), "one line: " + m);
    assertTrue(m.startsWith("model_path: "), m);
    return m;
  }

  private static Entry f32(String name, long... shape) {
    long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    return Entry.f32(name, shape, new float[(int) n]);
  }

  @Test
  void truncatedDownload() throws Exception {
    FluxFixtures fx = FluxFixtures.get();
    byte[] all = Files.readAllBytes(fx.file("schnell.safetensors"));
    Path p = tmp.resolve("truncated.safetensors");
    Files.write(p, Arrays.copyOf(all, all.length - 5000));
    String m = failure(p);
    assertTrue(m.contains("truncated.safetensors") && m.contains("truncated file"), m);
    assertTrue(m.contains(": tensor '"), "names the tensor cut off: " + m);
  }

  @Test
  void notSafetensorsAtAll() throws Exception {
    Path p = tmp.resolve("notes.safetensors");
    Files.writeString(p, "these are my notes, not weights; long enough to have a header size");
    String m = failure(p);
    assertTrue(m.contains("notes.safetensors") && m.contains("runs past the end"), m);
  }

  @Test
  void wrongDtype() {
    String bad = "double_blocks.3.img_attn.qkv.weight";
    Path p =
        rewrite(
            "int.safetensors",
            e ->
                e.name().equals(bad)
                    ? new Entry(bad, SafeDType.I16, e.shape(), e.data()) // same bytes, integer type
                    : e,
            List.of());
    String m = failure(p);
    assertTrue(m.contains("int.safetensors does not fit the FLUX.1-schnell transformer"), m);
    assertTrue(m.contains(bad + " is I16, but the module holds"), m);
  }

  @Test
  void fp8WhereLibtorchHasNone() {
    if (FluxFixtures.get().shim.dtypeSupported(TorchDType.F8_E4M3)) {
      return; // libtorch >= 2.1 reads FP8 checkpoints (converted to the model's dtype)
    }
    String bad = "img_in.weight";
    Path p =
        rewrite(
            "fp8.safetensors",
            e -> {
              if (!e.name().equals(bad)) {
                return e;
              }
              long n = Arrays.stream(e.shape()).reduce(1, (a, b) -> a * b);
              return new Entry(
                  bad, SafeDType.F8_E4M3, e.shape(), MemorySegment.ofArray(new byte[(int) n]));
            },
            List.of());
    String m = failure(p);
    assertTrue(m.contains(bad + " is F8_E4M3, which libtorch") && m.contains("2.1"), m);
  }

  @Test
  void missingBlocksAndTensors() {
    // the last double block gone: the depth no longer matches the architecture file
    Path p =
        rewrite(
            "short.safetensors",
            e -> e.name().startsWith("double_blocks.18.") ? null : e,
            List.of());
    String m = failure(p);
    assertTrue(m.contains("has 18 double and 38 single blocks") && m.contains("19 and 38"), m);
    assertTrue(m.contains("--double-blocks 18"), m);

    // a block in the middle gone: the names say which
    p =
        rewrite(
            "hole.safetensors", e -> e.name().startsWith("double_blocks.7.") ? null : e, List.of());
    m = failure(p);
    assertTrue(m.contains("missing (double_blocks.7."), m);
    assertTrue(m.contains(": 24 missing"), "a double block holds 24 tensors: " + m);

    // one tensor gone
    p =
        rewrite(
            "bias.safetensors",
            e -> e.name().equals("final_layer.linear.bias") ? null : e,
            List.of());
    m = failure(p);
    assertTrue(m.contains("1 missing (final_layer.linear.bias)"), m);
  }

  @Test
  void extraAndMisshapedTensors() {
    Path p =
        rewrite(
            "extra.safetensors",
            e -> e,
            List.of(f32("double_blocks.2.img_attn.lora_A.weight", 4, 48), f32("ema_decay")));
    String m = failure(p);
    assertTrue(m.contains("2 unexpected (double_blocks.2.img_attn.lora_A.weight, ema_decay)"), m);

    String bad = "single_blocks.5.linear2.weight";
    p = rewrite("shape.safetensors", e -> e.name().equals(bad) ? f32(bad, 48, 200) : e, List.of());
    m = failure(p);
    assertTrue(m.contains("1 mis-shaped (" + bad + " is [48, 200], expected [48, 240])"), m);
  }

  @Test
  void otherModelsAreNamedForWhatTheyAre() {
    Path sd = tmp.resolve("sd15.safetensors");
    SafeTensorsWriter.write(
        sd,
        List.of(
            f32("model.diffusion_model.input_blocks.0.0.weight", 4, 4, 3, 3),
            f32("first_stage_model.decoder.conv_in.weight", 4, 4, 3, 3),
            f32("cond_stage_model.transformer.text_model.final_layer_norm.weight", 8)),
        Map.of());
    String m = failure(sd);
    assertTrue(m.contains("sd15.safetensors is not a FLUX.1 transformer"), m);
    assertTrue(m.contains("Stable Diffusion"), m);

    Path diffusers = tmp.resolve("diffusion_pytorch_model.safetensors");
    SafeTensorsWriter.write(
        diffusers,
        List.of(
            f32("x_embedder.weight", 48, 64), f32("transformer_blocks.0.attn.to_q.weight", 48, 48)),
        Map.of());
    m = failure(diffusers);
    assertTrue(m.contains("diffusers' layout") && m.contains("flux1-schnell.safetensors"), m);

    Path fill =
        rewrite(
            "fill.safetensors",
            e -> e.name().equals("img_in.weight") ? f32("img_in.weight", 48, 384) : e,
            List.of());
    m = failure(fill);
    assertTrue(m.contains("img_in takes 384 channels") && m.contains("Fill"), m);
  }

  @Test
  void settingsThatDoNotFit() {
    FluxFixtures fx = FluxFixtures.get();
    FluxFixtures.Case c = fx.cases.get(0);
    Map<String, Object> s = new HashMap<>(fx.settings(c, "bf16", Map.of()));
    s.remove("axes_dim");
    String m =
        assertThrows(IllegalArgumentException.class, () -> new FluxModelFactory().load(s))
            .getMessage();
    assertTrue(m.contains("axes_dim [16, 56, 56] covers 128") && m.contains("have 16"), m);

    Map<String, Object> g = new HashMap<>(fx.settings(c, "bf16", Map.of("guidance_scale", 3.5)));
    m =
        assertThrows(IllegalArgumentException.class, () -> new FluxModelFactory().load(g))
            .getMessage();
    assertTrue(m.contains("guidance_scale") && m.contains("FLUX.1-schnell"), m);

    for (var bad :
        List.of(
            Map.<String, Object>of("height", 100L),
            Map.<String, Object>of("dtype", "float16"),
            Map.<String, Object>of("dtype", "int8"),
            Map.<String, Object>of("model_batch_size", 0L),
            Map.<String, Object>of("device", "tpu"),
            Map.<String, Object>of("axes_dim", List.of(4L, 6L)),
            Map.<String, Object>of("model_path", tmp.resolve("nope.safetensors").toString()),
            Map.<String, Object>of("steps", 4L))) {
      Map<String, Object> b = new HashMap<>(fx.settings(c, "bf16", Map.of()));
      b.putAll(bad);
      String key = bad.keySet().iterator().next();
      String msg =
          assertThrows(IllegalArgumentException.class, () -> new FluxModelFactory().load(b))
              .getMessage();
      assertTrue(msg.contains(key), key + ": " + msg);
    }

    // an architecture file that is not FLUX's
    Map<String, Object> arch = new HashMap<>(fx.settings(c, "bf16", Map.of()));
    arch.put("architecture_path", fx.file("schnell.safetensors").toString());
    String e =
        assertThrows(IllegalArgumentException.class, () -> new FluxModelFactory().load(arch))
            .getMessage();
    assertTrue(e.contains("architecture_path") && e.contains("tools/flux/flux_arch.py"), e);
    // a TorchScript file, but not a FLUX architecture
    Map<String, Object> other = new HashMap<>(fx.settings(c, "bf16", Map.of()));
    other.put("architecture_path", fx.file("not-flux.pt").toString());
    e =
        assertThrows(IllegalArgumentException.class, () -> new FluxModelFactory().load(other))
            .getMessage();
    assertTrue(e.contains("not-flux.pt is not a flowscale FLUX.1 architecture file"), e);
  }

  @Test
  void aGoodCheckpointStillLoadsAfterwards() throws Exception {
    truncatedDownload();
    missingBlocksAndTensors();
    FluxFixtures fx = FluxFixtures.get();
    FluxFixtures.Case c = fx.cases.get(1);
    try (FlowModel m = new FluxModelFactory().load(fx.settings(c, "bf16", Map.of()))) {
      assertEquals(16 * c.h() * c.w(), m.dim());
    }
  }
}
