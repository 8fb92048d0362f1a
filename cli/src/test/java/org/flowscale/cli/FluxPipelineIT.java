package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.flowscale.flux.FluxPipelineFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt in, image out, through the shaded jar: the shipped config/flux/schnell configs on the CPU
 * with the tiny FLUX.1-schnell folder of flux/src/test/python/make_flux_pipeline_fixtures.py (every
 * part: transformer, VAE, both text encoders, both tokenizers in their shipped forms). Every method
 * writes a decoded final.png, a report and step grids; a DPS method with classifier-free guidance
 * runs a differentiable TorchScript image reward through the decoder; a folder with a part missing
 * is a one-line error that names the file, with nothing written.
 */
class FluxPipelineIT {
  private static final String WHAT = "FLUX pipeline end-to-end test";

  @TempDir Path tmp;

  private static final Map<String, List<String>> METHODS =
      Map.of(
          "bon", List.of("batch_size=2", "max_nfe=6"),
          "smc", List.of("batch_size=3", "max_nfe=9"),
          "code", List.of("batch_size=2", "n_particles=2", "max_nfe=12"),
          "svdd", List.of("batch_size=1", "n_particles=3", "max_nfe=9"),
          "rbf", List.of("batch_size=1", "init_n_particles=3", "max_nfe=12"));

  @Test
  void everyMethodWritesADecodedImageAReportAndStepGrids() throws Exception {
    Path fx = fixtures();
    for (Map.Entry<String, List<String>> m : METHODS.entrySet()) {
      Path runs = tmp.resolve("runs-" + m.getKey());
      List<String> cmd = command(fx, "config/flux/schnell/" + m.getKey() + ".yaml", runs);
      cmd.addAll(m.getValue());
      cmd.add("save_intermediate=true");
      EndToEndIT.Proc p = EndToEndIT.exec(cmd, Map.of());
      assertEquals(0, p.code(), m.getKey() + ": " + p);
      assertFalse(p.hasStackTrace(), p.toString());
      assertFalse(p.err().contains("SLF4J"), p.err());
      Path run = EndToEndIT.only(runs);
      // the decoded 64x48 image (PNGs upscale small images 4x: 256x192)
      int[] size = pngSize(run.resolve("final.png"));
      assertEquals(64 * 4, size[1], "final.png height: the decoded image's");
      assertEquals(48 * 4, size[0], "final.png width: the decoded image's");
      JsonNode report = new ObjectMapper().readTree(run.resolve("report.json").toFile());
      assertEquals("completed", report.get("status").asText());
      assertEquals(m.getKey(), report.get("method").asText());
      long max = Long.parseLong(m.getValue().get(m.getValue().size() - 1).split("=")[1]);
      assertTrue(report.get("nfe").asLong() <= max, report.toString());
      try (Stream<Path> s = Files.list(run.resolve("steps"))) {
        List<Path> grids = s.toList();
        assertFalse(grids.isEmpty(), m.getKey() + " wrote no step grids");
        for (Path g : grids) {
          assertTrue(pngSize(g)[1] >= 64, g + " holds decoded 64x48 images");
        }
      }
    }
    // the prompt's embeddings were computed once and cached for every later run
    try (Stream<Path> s = Files.list(tmp.resolve("emb"))) {
      assertEquals(1, s.count());
    }
  }

  @Test
  void dpsWithGuidanceRunsTheRewardGradientThroughTheDecoder() throws Exception {
    Path fx = fixtures();
    Path runs = tmp.resolve("runs-dps");
    List<String> cmd = command(fx, "config/flux/schnell/bon.yaml", runs);
    cmd.addAll(
        List.of(
            "filtering_method=dps",
            "batch_size=2",
            "max_nfe=12",
            "cfg_scale=3.5",
            "negative_prompt=blurry",
            "dps_step_size=0.5"));
    EndToEndIT.Proc p = EndToEndIT.exec(cmd, Map.of());
    assertEquals(0, p.code(), p.toString());
    JsonNode report =
        new ObjectMapper().readTree(EndToEndIT.only(runs).resolve("report.json").toFile());
    // 2 chains x 3 steps x 2 NFE per guided evaluation
    assertEquals(12, report.get("nfe").asLong(), report.toString());
    assertTrue(report.get("gradient_passes").asLong() > 0, report.toString());
    assertTrue(Files.isRegularFile(EndToEndIT.only(runs).resolve("final.png")));

    // the same budget without room for guidance's second evaluation is refused before any work
    List<String> tight = new ArrayList<>(cmd);
    tight.replaceAll(a -> a.equals("max_nfe=12") ? "max_nfe=11" : a);
    EndToEndIT.Proc q = EndToEndIT.exec(tight, Map.of());
    assertEquals(2, q.code(), q.toString());
    assertTrue(q.err().contains("classifier-free guidance"), q.err());
  }

  @Test
  void theRewardModuleTakesChannelsFirstAndAnotherLayoutIsOneLine() throws Exception {
    // image_reward.pt follows the contract ([N, 3, H, W] in [0, 1], the default on decoded
    // images); every run above feeds it. An image_shape that does not fit is refused at load.
    Path fx = fixtures();
    Path runs = tmp.resolve("runs-layout");
    List<String> cmd = command(fx, "config/flux/schnell/rbf.yaml", runs);
    cmd.addAll(METHODS.get("rbf"));
    List<String> shape = new ArrayList<>(cmd);
    shape.add("image_shape=[64, 48, 3]");
    shape.add("--dry-run");
    EndToEndIT.Proc p = EndToEndIT.exec(shape, Map.of());
    assertEquals(2, p.code(), p.toString());
    assertFalse(p.hasStackTrace(), p.toString());
    assertTrue(p.err().contains("image_shape [64, 48, 3] does not fit image_layout nchw"), p.err());
    assertEquals(1, p.err().strip().lines().count(), p.err());
    // the rows as they are ([N, 64, 48, 3] in [-1, 1]) reach the channels-first module: the run
    // stops with libtorch's error in one line (after the log's warning)
    List<String> nhwc = new ArrayList<>(cmd);
    nhwc.add("image_layout=nhwc");
    EndToEndIT.Proc q = EndToEndIT.exec(nhwc, Map.of());
    assertTrue(q.code() != 0, q.toString());
    assertFalse(q.hasStackTrace(), q.toString());
    List<String> failed = q.err().lines().filter(l -> l.startsWith("flowscale:")).toList();
    assertEquals(1, failed.size(), q.err());
    assertTrue(failed.get(0).contains("reward 'torchscript' failed: forward:"), q.err());
    assertTrue(failed.get(0).contains("must match the size of tensor b (3)"), q.err());
  }

  @Test
  void aFolderWithAPartMissingIsOneLineNamingTheFileAndWritesNothing() throws Exception {
    Path fx = fixtures();
    Path folder = tmp.resolve("folder");
    copy(fx.resolve("folder"), folder);
    Files.delete(folder.resolve("tokenizer_2/tokenizer.json"));
    Path runs = tmp.resolve("runs-missing");
    List<String> cmd = command(fx, "config/flux/schnell/rbf.yaml", runs);
    cmd.replaceAll(a -> a.startsWith("model_dir=") ? "model_dir=" + folder : a);
    cmd.addAll(METHODS.get("rbf"));
    EndToEndIT.Proc p = EndToEndIT.exec(cmd, Map.of());
    assertEquals(2, p.code(), p.toString());
    assertFalse(p.hasStackTrace(), p.toString());
    assertTrue(p.err().contains("tokenizer_2/tokenizer.json"), p.err());
    assertEquals(1, p.err().strip().lines().count(), p.err());
    assertFalse(Files.exists(runs), "nothing is written for a run that cannot start");
  }

  @Test
  void theDevConfigRunsOnADevFolderAndRemakesSchnellsCachedEmbeddings() throws Exception {
    Path fx = fixtures();
    // schnell first: the prompt's embeddings are cached at T5 length 256
    Path runs = tmp.resolve("runs-schnell");
    List<String> schnell = command(fx, "config/flux/schnell/rbf.yaml", runs);
    schnell.addAll(METHODS.get("rbf"));
    EndToEndIT.Proc p = EndToEndIT.exec(schnell, Map.of());
    assertEquals(0, p.code(), p.toString());
    Path cached;
    try (Stream<Path> s = Files.list(tmp.resolve("emb"))) {
      cached = s.findFirst().orElseThrow();
    }
    assertEquals(256, t5Tokens(cached));

    // the same prompt on FLUX.1-dev (guidance_scale 3.5 in its config) pads T5 to 512
    Path dev = tmp.resolve("dev-folder");
    copy(fx.resolve("folder"), dev);
    Files.delete(dev.resolve("flux1-schnell.safetensors"));
    Files.copy(fx.resolve("dev/flux1-dev.safetensors"), dev.resolve("flux1-dev.safetensors"));
    Path devRuns = tmp.resolve("runs-dev");
    List<String> cmd = command(fx, "config/flux/dev/rbf.yaml", devRuns);
    cmd.replaceAll(a -> a.startsWith("model_dir=") ? "model_dir=" + dev : a);
    cmd.addAll(METHODS.get("rbf"));
    Path run = EndToEndIT.completedRun(cmd, devRuns);
    JsonNode report = new ObjectMapper().readTree(run.resolve("report.json").toFile());
    assertEquals("completed", report.get("status").asText());
    assertTrue(Files.isRegularFile(run.resolve("final.png")));
    assertEquals(512, t5Tokens(cached), "dev remade the prompt's 256-token cache entry");
  }

  /** T5 tokens of a cached embeddings file, from its safetensors header. */
  private static long t5Tokens(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] len = in.readNBytes(8);
      long n = java.nio.ByteBuffer.wrap(len).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
      JsonNode h = new ObjectMapper().readTree(in.readNBytes((int) n));
      return h.get("t5").get("shape").get(0).asLong();
    }
  }

  @Test
  void dryRunChecksTheFolderPrintsTheMemoryAndRefusesWhatCannotFit() throws Exception {
    Path fx = fixtures();
    Path runs = tmp.resolve("runs-dry");
    List<String> cmd = command(fx, "config/flux/schnell/rbf.yaml", runs);
    cmd.addAll(METHODS.get("rbf"));
    cmd.add("--dry-run");
    EndToEndIT.Proc p = EndToEndIT.exec(cmd, Map.of());
    assertEquals(0, p.code(), p.toString());
    assertTrue(p.err().contains("memory on cpu: about"), p.err());
    assertTrue(p.err().contains("T5 length 256"), p.err());
    assertTrue(p.err().contains("the config is valid (dry run: nothing ran)"), p.err());
    assertFalse(Files.exists(runs), "a dry run writes no run directory");
    assertFalse(Files.exists(tmp.resolve("emb")), "a dry run encodes no prompt");

    List<String> small = new ArrayList<>(cmd);
    small.add(small.size() - 1, "memory_limit_gb=0.0001");
    EndToEndIT.Proc q = EndToEndIT.exec(small, Map.of());
    assertEquals(2, q.code(), q.toString());
    assertFalse(q.hasStackTrace(), q.toString());
    assertTrue(q.err().contains("cannot fit on cpu"), q.err());
    assertEquals(1, q.err().strip().lines().count(), q.err());

    // and the same refusal before any work without --dry-run
    small.remove("--dry-run");
    EndToEndIT.Proc r = EndToEndIT.exec(small, Map.of());
    assertEquals(2, r.code(), r.toString());
    assertTrue(r.err().contains("cannot fit on cpu"), r.err());
    assertFalse(Files.exists(runs), "nothing is written for a run that cannot fit");
  }

  private List<String> command(Path fx, String config, Path runs) {
    return TorchRuns.command(
        WHAT,
        "run",
        "--config",
        EndToEndIT.ROOT.resolve(config).toString(),
        "--progress",
        "none",
        "text_prompt=Two red circles and one blue square.",
        "model_dir=" + fx.resolve("folder"),
        "architecture_dir=" + fx.resolve("arch"),
        "reward_path=" + fx.resolve("image_reward.pt"),
        "text_embeddings=" + tmp.resolve("emb"),
        "axes_dim=[4, 6, 6]",
        "height=64",
        "width=48",
        "dtype=float32",
        "device=cpu",
        "backend=cpu",
        "max_steps=3",
        "root_dir=" + runs);
  }

  /** Width and height from a PNG's IHDR. */
  static int[] pngSize(Path png) throws IOException {
    try (InputStream in = Files.newInputStream(png);
        DataInputStream d = new DataInputStream(in)) {
      d.skipNBytes(16);
      return new int[] {d.readInt(), d.readInt()};
    }
  }

  private static void copy(Path src, Path dst) throws IOException {
    try (Stream<Path> all = Files.walk(src)) {
      for (Path p : all.toList()) {
        Path t = dst.resolve(src.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
  }

  /** The flux module's pipeline fixtures (its tests make them first; else they are made now). */
  private static Path fixtures() {
    return TorchRuns.fixtures(WHAT, FluxPipelineFixtures::make);
  }
}
