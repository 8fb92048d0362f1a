package org.flowscale.flux;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.flowscale.bindings.testing.TorchTesting;
import org.flowscale.bindings.weights.SafeTensors;
import org.flowscale.engine.model.DecodedReward;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.SampleDecoder;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole FLUX.1 folder against the fixture script's references: tokenizers (ids exactly), the T5
 * encoder, CLIP's pooled output and the VAE decoder (float32, 1e-5 relative), the per-prompt
 * embeddings cache, and damaged folders.
 */
class FluxPipelineTest {
  @TempDir Path tmp;

  private static FluxModel load(FluxPipelineFixtures fx, Map<String, Object> extra) {
    return (FluxModel) new FluxModelFactory().load(fx.settings(extra));
  }

  @Test
  void tokenizersMatchTheReferenceIdsExactly() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    try (FluxModel m = load(fx, Map.of())) {
      FluxTextEncoders text = m.textEncoders();
      assertEquals(256, text.tokens(), "schnell's T5 length");
      for (FluxPipelineFixtures.Prompt p : fx.prompts) {
        assertArrayEquals(p.t5Ids(), text.t5Ids(p.text()), "T5 ids of '" + p.text() + "'");
        assertArrayEquals(p.clipIds(), text.clipIds(p.text()), "CLIP ids of '" + p.text() + "'");
      }
      assertFalse(text.loaded(), "tokenizing loads no encoder weights");
    }
  }

  @Test
  void maxSequenceLengthSetsT5sPaddingAndTruncationKeepsTheEndToken() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    try (FluxModel m = load(fx, Map.of("max_sequence_length", 16L))) {
      assertEquals(16, m.textEncoders().tokens());
      // a short prompt: the reference's ids, </s>, then <pad> (0) up to 16
      long[] shortRef = fx.prompts.get(0).t5Ids();
      long[] shortIds = m.textEncoders().t5Ids(fx.prompts.get(0).text());
      assertArrayEquals(java.util.Arrays.copyOf(shortRef, 16), shortIds);
      // a long one (90 tokens): the first 15, then </s> (1) last, as the reference truncates
      FluxPipelineFixtures.Prompt p = fx.prompts.get(6);
      long[] ref = p.t5Ids();
      assertTrue(ref[20] != 0 && ref[20] != 1, "the fixture prompt is longer than 16 tokens");
      long[] ids = m.textEncoders().t5Ids(p.text());
      assertEquals(16, ids.length);
      assertArrayEquals(java.util.Arrays.copyOf(ref, 15), java.util.Arrays.copyOf(ids, 15));
      assertEquals(1, ids[15], "</s> ends a truncated prompt");
      FluxTextEncoders.Embeddings e = m.textEncoders().encode(p.text());
      assertEquals(16, e.tokens());
      assertEquals(16 * 32, e.t5().length);
    }
  }

  @Test
  void aDevFolderPadsT5To512AndAFolderWithBothTransformersIsRefused() throws IOException {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    Path dev = fx.copyFolder(tmp.resolve("dev"));
    Files.delete(dev.resolve("flux1-schnell.safetensors"));
    Files.copy(fx.dir.resolve("dev/flux1-dev.safetensors"), dev.resolve("flux1-dev.safetensors"));
    try (FluxModel m = load(fx, Map.of("model_dir", dev.toString()))) {
      assertTrue(m.spec().guidance(), "flux1-dev.safetensors was picked");
      assertEquals(512, m.textEncoders().tokens(), "dev's T5 length");
      for (FluxPipelineFixtures.Prompt p : fx.prompts) {
        long[] ids = m.textEncoders().t5Ids(p.text());
        // the reference's 256 ids hold every prompt whole: dev pads the same ids further
        assertArrayEquals(java.util.Arrays.copyOf(p.t5Ids(), 512), ids, p.text());
      }
      try (VelocityModel v = m.condition(fx.prompts.get(0).text())) {
        assertEquals(1, m.textEncoders().encoded());
      }
    }
    var plan =
        FluxModel.plan(
            fx.shim, FluxSettings.parse(fx.settings(Map.of("model_dir", dev.toString())), fx.shim));
    assertTrue(
        String.join("\n", plan.report()).contains("T5 length 512"), plan.report().toString());

    Files.copy(
        fx.folder().resolve("flux1-schnell.safetensors"), dev.resolve("flux1-schnell.safetensors"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> load(fx, Map.of("model_dir", dev.toString())).close());
    assertTrue(
        e.getMessage().contains("holds both flux1-schnell.safetensors and flux1-dev"),
        e.getMessage());
    // model_path picks one
    try (FluxModel m =
        load(
            fx,
            Map.of(
                "model_dir",
                dev.toString(),
                "model_path",
                dev.resolve("flux1-schnell.safetensors").toString()))) {
      assertEquals(256, m.textEncoders().tokens());
    }
  }

  @Test
  void imageSidesMustBeMultiplesOf16AndGuidanceScaleIsDevsAlone() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    for (String[] c : new String[][] {{"height", "1000"}, {"width", "40"}}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> load(fx, Map.of(c[0], Long.parseLong(c[1]))).close());
      assertTrue(e.getMessage().startsWith(c[0] + " must be a multiple of 16"), e.getMessage());
      assertTrue(e.getMessage().endsWith("got " + c[1]), e.getMessage());
    }
    IllegalArgumentException g =
        assertThrows(
            IllegalArgumentException.class, () -> load(fx, Map.of("guidance_scale", 3.5)).close());
    assertTrue(g.getMessage().contains("only FLUX.1-dev takes a guidance scale"), g.getMessage());
  }

  @Test
  void eachPartMayBeGivenByItsOwnKey() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    Path f = fx.folder();
    Map<String, Object> s = new java.util.HashMap<>(fx.settings(Map.of()));
    s.remove("model_dir");
    s.put("model_path", f.resolve("flux1-schnell.safetensors").toString());
    s.put("ae_path", f.resolve("ae.safetensors").toString());
    s.put("text_encoder_path", f.resolve("text_encoder/model.safetensors").toString());
    s.put(
        "text_encoder_2_path", f.resolve("text_encoder_2/model.safetensors.index.json").toString());
    s.put("tokenizer_path", f.resolve("tokenizer").toString());
    s.put("tokenizer_2_path", f.resolve("tokenizer_2").toString());
    try (FluxModel m = (FluxModel) new FluxModelFactory().load(s)) {
      FluxPipelineFixtures.Prompt p = fx.prompts.get(1);
      assertArrayEquals(p.clipIds(), m.textEncoders().clipIds(p.text()));
      FluxTextEncoders.Embeddings e = m.textEncoders().encode(p.text());
      assertTrue(TorchTesting.relErr(widen(e.t5()), p.t5()) < 1e-5);
      assertTrue(TorchTesting.relErr(widen(e.clipPooled()), p.clipPooled()) < 1e-5);
      assertTrue(m.decoder().isPresent(), "ae_path gives the decoder");
    }
    // a part's own key overrides model_dir's
    Map<String, Object> bad = new java.util.HashMap<>(fx.settings(Map.of()));
    bad.put("ae_path", tmp.resolve("nowhere/ae.safetensors").toString());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new FluxModelFactory().load(bad).close());
    assertTrue(e.getMessage().startsWith("ae_path"), e.getMessage());
    assertTrue(e.getMessage().contains("nowhere/ae.safetensors"), e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    // encoders need all four parts
    Map<String, Object> three = new java.util.HashMap<>(s);
    three.remove("tokenizer_2_path");
    IllegalArgumentException e3 =
        assertThrows(
            IllegalArgumentException.class, () -> new FluxModelFactory().load(three).close());
    assertTrue(e3.getMessage().contains("missing: tokenizer_2_path"), e3.getMessage());
  }

  @Test
  void aCachedEmbeddingOfAnotherT5LengthIsEncodedAgain() throws IOException {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    Path cache = tmp.resolve("emb-len");
    FluxPipelineFixtures.Prompt p = fx.prompts.get(0);
    Path file = cache.resolve(FluxTextEmbeddings.fileName(p.text()));
    Map<String, Object> at16 =
        Map.of("text_embeddings", cache.toString(), "max_sequence_length", 16L);
    try (FluxModel m = load(fx, at16);
        VelocityModel v = m.condition(p.text())) {
      assertEquals(1, m.textEncoders().encoded());
    }
    try (SafeTensors f = SafeTensors.open(file)) {
      assertArrayEquals(new long[] {16, 32}, f.info("t5").shape());
    }
    // schnell's default 256 with the same folder: the 16-token entry is stale
    try (FluxModel m = load(fx, Map.of("text_embeddings", cache.toString()));
        VelocityModel v = m.condition(p.text())) {
      assertEquals(1, m.textEncoders().encoded(), "a cache entry of another length is remade");
    }
    try (SafeTensors f = SafeTensors.open(file)) {
      assertArrayEquals(new long[] {256, 32}, f.info("t5").shape());
      assertTrue(TorchTesting.relErr(widen(f.floats("t5")), p.t5()) < 1e-5);
    }
    try (FluxModel m = load(fx, Map.of("text_embeddings", cache.toString()));
        VelocityModel v = m.condition(p.text())) {
      assertEquals(0, m.textEncoders().encoded(), "and then used");
    }
  }

  @Test
  void encodersMatchTheReference() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    try (FluxModel m = load(fx, Map.of())) {
      for (FluxPipelineFixtures.Prompt p : fx.prompts) {
        FluxTextEncoders.Embeddings e = m.textEncoders().encode(p.text());
        assertEquals(256, e.tokens());
        double t5 = TorchTesting.relErr(widen(e.t5()), p.t5());
        double clip = TorchTesting.relErr(widen(e.clipPooled()), p.clipPooled());
        assertTrue(t5 < 1e-5, "T5 states of '" + p.text() + "': relative error " + t5);
        assertTrue(clip < 1e-5, "CLIP pooled of '" + p.text() + "': relative error " + clip);
      }
      assertFalse(m.textEncoders().loaded(), "text_encoders reload frees them after encoding");
    }
  }

  @Test
  void decoderMatchesTheReferenceAndItsVjpAutograd() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    try (FluxModel m = load(fx, Map.of());
        CpuParticleOps ops = new CpuParticleOps();
        Arena a = Arena.ofConfined()) {
      SampleDecoder d = m.decoder().orElseThrow();
      assertArrayEquals(new long[] {64, 48, 3}, d.imageSpace().shape());
      int n = 2;
      Tensor z = ops.allocate(n, m.dim(), DType.F32);
      Tensor img = ops.allocate(n, d.imageSpace().dim(), DType.F32);
      ops.upload(a.allocateFrom(JAVA_FLOAT, fx.decodeZ), z);
      d.decode(ops, z, img);
      double err = TorchTesting.relErr(read(ops, img, a), fx.decodeImage);
      assertTrue(err < 1e-5, "decoded images: relative error " + err);
      // the host decoder (PNGs) agrees with the device one
      float[] host = m.imageDecoder().orElseThrow().decode(fx.decodeZ, 1);
      double[] ref1 = java.util.Arrays.copyOfRange(fx.decodeImage, host.length, 2 * host.length);
      assertTrue(TorchTesting.relErr(widen(host), ref1) < 1e-5);
      Tensor g = ops.allocate(n, d.imageSpace().dim(), DType.F32);
      float[] cot = new float[fx.decodeCotangent.length];
      for (int i = 0; i < cot.length; i++) {
        cot[i] = (float) fx.decodeCotangent[i];
      }
      ops.upload(a.allocateFrom(JAVA_FLOAT, cot), g);
      Tensor vjp = ops.allocate(n, m.dim(), DType.F32);
      d.decodeVjp(ops, z, g, vjp);
      double verr = TorchTesting.relErr(read(ops, vjp, a), fx.decodeVjp);
      assertTrue(verr < 1e-5, "decoder VJP: relative error " + verr);
    }
  }

  @Test
  void torchScriptRewardTakesDecodedImagesChannelsFirstInZeroOneWithTheGradientThroughTheDecoder() {
    // The reward contract on FLUX: the module gets [N, 3, H, W] in [0, 1] (image_layout nchw, the
    // default on decoded images); scores and the DPS gradient with respect to the latents match
    // eager PyTorch computing the same from the same latents.
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    try (FluxModel m = load(fx, Map.of());
        CpuParticleOps ops = new CpuParticleOps();
        Arena a = Arena.ofConfined()) {
      SampleDecoder d = m.decoder().orElseThrow();
      assertTrue(d.imageSpace().decodedImages());
      Map<String, Object> settings = new HashMap<>();
      settings.put("reward_path", fx.dir.resolve("image_reward.pt").toString());
      int n = 2;
      for (int batch : new int[] {1, 2}) {
        try (RewardModel rm =
                Factories.reward("torchscript").load("torchscript", settings, d.imageSpace());
            Reward r = new DecodedReward(d, rm.condition(""), m.dim(), batch)) {
          assertTrue(rm.toString().contains("image_shape [3, 64, 48], image_layout nchw"), "" + rm);
          assertTrue(r.differentiable());
          Tensor z = ops.allocate(n, m.dim(), DType.F32);
          ops.upload(a.allocateFrom(JAVA_FLOAT, fx.decodeZ), z);
          Tensor s = ops.allocate(n, 1, DType.F64);
          r.score(ops, z, s);
          double[] scores = readF64(ops, s, a);
          double serr = TorchTesting.relErr(scores, fx.decodeReward);
          assertTrue(serr < 1e-5, "scores " + Arrays.toString(scores) + ": relative error " + serr);
          Tensor s2 = ops.allocate(n, 1, DType.F64);
          Tensor g = ops.allocate(n, m.dim(), DType.F32);
          r.gradient(ops, z, s2, g);
          double gerr = TorchTesting.relErr(read(ops, g, a), fx.decodeRewardGrad);
          assertTrue(gerr < 1e-5, "reward gradient through the decoder: relative error " + gerr);
          double[] scores2 = readF64(ops, s2, a);
          assertTrue(TorchTesting.relErr(scores2, fx.decodeReward) < 1e-5);
        }
      }
      // the rows as they are ([N, H, W, 3] in [-1, 1]) reach a channels-first module: one line
      settings.put("image_layout", "nhwc");
      try (RewardModel rm =
              Factories.reward("torchscript").load("torchscript", settings, d.imageSpace());
          Reward r = new DecodedReward(d, rm.condition(""), m.dim(), 2)) {
        Tensor z = ops.allocate(n, m.dim(), DType.F32);
        ops.upload(a.allocateFrom(JAVA_FLOAT, fx.decodeZ), z);
        Tensor s = ops.allocate(n, 1, DType.F64);
        RuntimeException e = assertThrows(RuntimeException.class, () -> r.score(ops, z, s));
        assertTrue(e.getMessage().lines().findFirst().orElse("").contains("size"), e.getMessage());
      }
    }
  }

  @Test
  void embeddingsAreCachedPerPromptAndEncodersNeverLoadForCachedPrompts() throws IOException {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    Path cache = tmp.resolve("emb");
    String prompt = fx.prompts.get(1).text();
    try (FluxModel m = load(fx, Map.of("text_embeddings", cache.toString()));
        VelocityModel v = m.condition(prompt)) {
      assertEquals(1, m.textEncoders().encoded());
      assertTrue(Files.isRegularFile(cache.resolve(FluxTextEmbeddings.fileName(prompt))));
    }
    try (SafeTensors f = SafeTensors.open(cache.resolve(FluxTextEmbeddings.fileName(prompt)))) {
      assertEquals(prompt, f.metadata().get("prompt"));
      double err = TorchTesting.relErr(widen(f.floats("t5")), fx.prompts.get(1).t5());
      assertTrue(err < 1e-5, "cached T5 states: " + err);
    }
    try (FluxModel m = load(fx, Map.of("text_embeddings", cache.toString()));
        VelocityModel v = m.condition(prompt)) {
      assertEquals(0, m.textEncoders().encoded(), "a cached prompt is not encoded again");
      assertFalse(m.textEncoders().loaded());
    }
  }

  @Test
  void keepAndOffloadPoliciesEncodeTheSame() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    FluxPipelineFixtures.Prompt p = fx.prompts.get(0);
    for (String policy : new String[] {"keep", "offload"}) {
      try (FluxModel m = load(fx, Map.of("text_encoders", policy))) {
        FluxTextEncoders.Embeddings a = m.textEncoders().encode(p.text());
        assertEquals(policy.equals("keep"), m.textEncoders().loaded(), policy);
        FluxTextEncoders.Embeddings b = m.textEncoders().encode(p.text());
        assertArrayEquals(a.t5(), b.t5(), policy);
        assertTrue(TorchTesting.relErr(widen(b.clipPooled()), p.clipPooled()) < 1e-5, policy);
      }
    }
  }

  @Test
  void aMissingPartIsNamedWithTheFileExpected() throws IOException {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    String[][] cases = {
      {"ae.safetensors", "ae.safetensors"},
      {
        "text_encoder_2/model.safetensors.index.json", "text_encoder_2/model.safetensors.index.json"
      },
      {"tokenizer/merges.txt", "tokenizer/merges.txt"},
      {"tokenizer_2/tokenizer.json", "tokenizer_2/tokenizer.json"},
      {"flux1-schnell.safetensors", "flux1-schnell.safetensors"},
    };
    for (String[] c : cases) {
      Path folder = fx.copyFolder(tmp.resolve("missing-" + c[0].replace('/', '_')));
      if (c[0].startsWith("text_encoder_2/")) {
        try (var l = Files.list(folder.resolve("text_encoder_2"))) {
          for (Path f : l.toList()) {
            if (f.toString().contains("safetensors")) {
              Files.delete(f);
            }
          }
        }
      } else {
        Files.delete(folder.resolve(c[0]));
      }
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> load(fx, Map.of("model_dir", folder.toString())).close());
      assertTrue(e.getMessage().contains(c[1]), e.getMessage());
      assertTrue(e.getMessage().contains("missing"), e.getMessage());
      assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
  }

  @Test
  void aWrongTokenizerIsRefusedNamingTheFile() throws IOException {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    Path folder = fx.copyFolder(tmp.resolve("swapped"));
    // T5's tokenizer.json where CLIP's tokenizer_2 should be: CLIP's as a tokenizer.json
    Path t5tok = folder.resolve("tokenizer_2/tokenizer.json");
    String clipJson =
        FluxTokenizer.clipTokenizerJson(
            Map.of("a", 0L, "<|startoftext|>", 1L, "<|endoftext|>", 2L),
            "#version: 0.2\n",
            t5tok,
            1,
            2);
    Files.writeString(t5tok, clipJson);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> load(fx, Map.of("model_dir", folder.toString())).close());
    assertTrue(e.getMessage().contains("tokenizer_2/tokenizer.json"), e.getMessage());
    assertTrue(e.getMessage().contains("not T5"), e.getMessage());

    Path folder2 = fx.copyFolder(tmp.resolve("vocab"));
    Files.writeString(folder2.resolve("tokenizer/vocab.json"), "{\"a\": 0, \"b\": 1}");
    IllegalArgumentException e2 =
        assertThrows(
            IllegalArgumentException.class,
            () -> load(fx, Map.of("model_dir", folder2.toString())).close());
    assertTrue(e2.getMessage().contains("tokenizer/vocab.json"), e2.getMessage());
  }

  @Test
  void aTruncatedShardIsRefusedNamingIt() throws IOException {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    Path folder = fx.copyFolder(tmp.resolve("truncated"));
    Path shard = folder.resolve("text_encoder_2/model-00002-of-00002.safetensors");
    long size = Files.size(shard);
    try (var ch = Files.newByteChannel(shard, StandardOpenOption.WRITE)) {
      ch.truncate(size - 100);
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> load(fx, Map.of("model_dir", folder.toString())).close());
    assertTrue(e.getMessage().contains("model-00002-of-00002.safetensors"), e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
  }

  @Test
  void conditioningRunsTheTransformerOnEncodedPrompts() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    try (FlowModel m = load(fx, Map.of());
        VelocityModel v = m.condition("a cat");
        CpuParticleOps ops = new CpuParticleOps()) {
      Tensor x = ops.allocate(2, v.dim(), DType.F32);
      Tensor t = ops.allocate(2, 1, DType.F64);
      Tensor out = ops.allocate(2, v.dim(), DType.F32);
      try (Arena a = Arena.ofConfined()) {
        ops.upload(a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_DOUBLE, 0.5, 0.9), t);
      }
      v.velocity(ops, x, t, out);
      assertTrue(v.decoder().isPresent());
      // the prompt is encoded once: a second conditioning (a batch's next chain, CFG's positive
      // prompt again) takes the model's in-memory embeddings
      try (VelocityModel again = m.condition("a cat")) {
        assertEquals(1, ((FluxModel) m).textEncoders().encoded());
      }
      try (VelocityModel other = m.condition("a dog")) {
        assertEquals(2, ((FluxModel) m).textEncoders().encoded());
      }
    }
  }

  @Test
  void thePlanChecksTheFolderAndRefusesWhatCannotFit() {
    FluxPipelineFixtures fx = FluxPipelineFixtures.get();
    var shim = fx.shim;
    var plan = FluxModel.plan(shim, FluxSettings.parse(fx.settings(Map.of()), shim));
    String report = String.join("\n", plan.report());
    assertTrue(report.contains("memory on cpu: about"), report);
    assertTrue(report.contains("T5 length 256"), report);
    assertArrayEquals(new long[] {64, 48, 3}, plan.space().shape(), "rewards judge images");
    Map<String, Object> tiny = Map.of("memory_limit_gb", 1e-4);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> FluxModel.plan(shim, FluxSettings.parse(fx.settings(tiny), shim)));
    assertTrue(e.getMessage().contains("cannot fit on cpu"), e.getMessage());
    IllegalArgumentException l =
        assertThrows(IllegalArgumentException.class, () -> load(fx, tiny).close());
    assertTrue(l.getMessage().contains("cannot fit on cpu"), l.getMessage());
  }

  private static double[] read(CpuParticleOps ops, Tensor t, Arena a) {
    MemorySegment s = a.allocate(t.byteSize(), 8);
    ops.download(t, s);
    double[] out = new double[(int) t.elements()];
    for (int i = 0; i < out.length; i++) {
      out[i] = s.getAtIndex(JAVA_FLOAT, i);
    }
    return out;
  }

  private static double[] readF64(CpuParticleOps ops, Tensor t, Arena a) {
    MemorySegment s = a.allocate(t.byteSize(), 8);
    ops.download(t, s);
    return s.toArray(java.lang.foreign.ValueLayout.JAVA_DOUBLE);
  }

  private static double[] widen(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }
}
