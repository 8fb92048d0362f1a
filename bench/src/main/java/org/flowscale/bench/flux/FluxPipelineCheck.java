package org.flowscale.bench.flux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.flowscale.bindings.torch.TorchScriptReward;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.engine.model.DecodedReward;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.ModelFactory;
import org.flowscale.engine.model.SampleDecoder;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchMethods;
import org.flowscale.engine.search.SearchResult;

/**
 * The FLUX.1 pipeline on the GPU: a whole folder (transformer, VAE, T5-XXL, CLIP-L; random weights
 * of the real sizes made by bench/gpu/flux_pipeline_check.py) through {@code model: flux}: load
 * time, prompt encoding time (first prompt: the encoders' load and the encoding; then encoding
 * alone), decode time per image at the run's size, and one whole RBF run at the paper's setting
 * (500 NFE, 2 x 25, 10 steps, VP-SDE) with a cheap TorchScript image reward, its time split into
 * transformer, decoder, reward and engine. Prints markdown rows.
 *
 * <p>Usage: {@code FluxPipelineCheck FOLDER ARCH_DIR DEVICE BACKEND SIZE [MAX_NFE]} (SIZE real:
 * 1024x1024; tiny: 64x48 for a dry run of the flow on a CPU; MAX_NFE default 500).
 */
public final class FluxPipelineCheck {
  private FluxPipelineCheck() {}

  /** The decoder, timed. */
  private static final class TimedDecoder implements SampleDecoder {
    final SampleDecoder d;
    final ParticleOps ops;
    long nanos;
    long images;

    TimedDecoder(SampleDecoder d, ParticleOps ops) {
      this.d = d;
      this.ops = ops;
    }

    @Override
    public SampleSpace imageSpace() {
      return d.imageSpace();
    }

    @Override
    public void decode(ParticleOps o, Tensor latents, Tensor out) {
      o.synchronize();
      long t0 = System.nanoTime();
      d.decode(o, latents, out);
      o.synchronize();
      nanos += System.nanoTime() - t0;
      images += latents.rows();
    }
  }

  public static void main(String[] args) throws Exception {
    Path folder = Path.of(args[0]);
    Path arch = Path.of(args[1]);
    String device = args[2];
    String backend = args[3];
    boolean real = args[4].equals("real");
    long maxNfe = args.length > 5 ? Long.parseLong(args[5]) : 500;
    int h = real ? 1024 : 64;
    int w = real ? 1024 : 48;
    Map<String, Object> s = new HashMap<>();
    s.put("model_dir", folder.toString());
    s.put("architecture_dir", arch.toString());
    s.put("device", device);
    s.put("dtype", "bf16");
    s.put("height", (long) h);
    s.put("width", (long) w);
    s.put("text_encoders", "keep");
    if (!real) {
      s.put("axes_dim", List.of(4L, 6L, 6L));
    }
    TorchShim shim = TorchShim.get();
    ModelFactory f = new org.flowscale.flux.FluxModelFactory();
    System.out.println("| what | value |");
    System.out.println("|---|---|");
    for (String line : f.plan(s).orElseThrow().report()) {
      row("plan", line.replace("|", "/"));
    }
    long t0 = System.nanoTime();
    try (FlowModel model = f.load(s);
        ParticleOps ops = Backends.create(backend)) {
      row("load (transformer + VAE, encoders checked)", ms(System.nanoTime() - t0));
      long t1 = System.nanoTime();
      VelocityModel v = model.condition("a photo of two red apples and one green pear");
      row("first prompt: T5 + CLIP load and encoding", ms(System.nanoTime() - t1));
      long t2 = System.nanoTime();
      model.condition("a red cube on top of a blue sphere").close();
      row("next prompt: encoding (encoders kept)", ms(System.nanoTime() - t2));
      long t3 = System.nanoTime();
      model.condition("a red cube on top of a blue sphere").close();
      row("same prompt again (cached)", ms(System.nanoTime() - t3));

      SampleDecoder dec = model.decoder().orElseThrow();
      for (int n : new int[] {1, 4}) {
        try (Tensor z = random(ops, n, model.dim());
            Tensor img = ops.allocate(n, dec.imageSpace().dim(), DType.F32)) {
          dec.decode(ops, z, img); // warm-up
          ops.synchronize();
          int iters = 3;
          long d0 = System.nanoTime();
          for (int i = 0; i < iters; i++) {
            dec.decode(ops, z, img);
          }
          ops.synchronize();
          row(
              "VAE decode " + h + "x" + w + ", batch " + n + ", per image",
              ms((System.nanoTime() - d0) / (iters * (long) n)));
        }
      }

      TimedDecoder timed = new TimedDecoder(dec, ops);
      int devIndex =
          device.equals("cpu")
              ? -1
              : Integer.parseInt(device.replace("cuda:", "").replace("cuda", "0"));
      TorchScriptReward image =
          new TorchScriptReward(
              shim,
              shim.load(folder.resolve("image_reward.pt"), devIndex),
              new long[] {3, h, w},
              true); // the FLUX contract: [N, 3, H, W] in [0, 1], mapped by libtorch
      SearchConfig config =
          SearchConfig.builder().method(FilteringMethod.RBF).maxNfe(maxNfe).seed(1).build();
      try (DecodedReward reward = new DecodedReward(timed, image, model.dim(), 4)) {
        long r0 = System.nanoTime();
        SearchResult r = SearchMethods.of(FilteringMethod.RBF).run(config, ops, v, reward, null);
        long wall = System.nanoTime() - r0;
        long transformer = r.time().modelNanos();
        long rewardAll = r.time().rewardNanos();
        long engine = r.time().engineNanos();
        row("RBF run: NFE", Long.toString(r.nfe()));
        row("RBF run: wall", ms(wall));
        row("RBF run: transformer", ms(transformer) + pct(transformer, wall));
        row(
            "RBF run: VAE decoder (" + timed.images + " images)",
            ms(timed.nanos) + pct(timed.nanos, wall));
        row("RBF run: reward", ms(rewardAll - timed.nanos) + pct(rewardAll - timed.nanos, wall));
        row("RBF run: engine", ms(engine) + pct(engine, wall));
      } finally {
        v.close();
      }
    }
  }

  private static Tensor random(ParticleOps ops, int n, int dim) {
    Tensor t = ops.allocate(n, dim, DType.F32);
    Random rnd = new Random(7);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(ValueLayout.JAVA_FLOAT, (long) n * dim);
      for (long i = 0; i < (long) n * dim; i++) {
        s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
      }
      ops.upload(s, t);
    }
    return t;
  }

  private static void row(String what, String value) {
    System.out.println("| " + what + " | " + value + " |");
    System.out.flush();
  }

  private static String ms(long nanos) {
    return String.format(Locale.ROOT, "%.1f ms", nanos / 1e6);
  }

  private static String pct(long part, long whole) {
    return String.format(Locale.ROOT, " (%.2f%%)", 100.0 * part / whole);
  }
}
