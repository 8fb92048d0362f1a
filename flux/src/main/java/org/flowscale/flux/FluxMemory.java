package org.flowscale.flux;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The memory a FLUX.1 pipeline needs on each device, estimated from the checkpoints' headers before
 * anything loads, and the check that refuses a run that cannot fit.
 *
 * <p>The estimate: weights (elements x the dtype's bytes; the text encoders on {@code
 * text_encoder_device}), plus the largest working set of one phase: a transformer forward of {@code
 * model_batch_size} particles ({@code 3 tokens (3 hidden + mlp) bytes} per particle: one single
 * block's fused projection and its two neighbours, the activations inference keeps), a VAE decode
 * of {@code reward_batch_size} (4, the default) images ({@code 6 H W 128 bytes} per image: the
 * full-resolution feature maps of the last up level), or a text encoding. The transformer stays
 * loaded while prompts are encoded, so on a shared device the encoders' weights add to it (whatever
 * {@code text_encoders} says: that policy only frees them for sampling). Particle buffers of the
 * search come on top (tens of MiB per particle at 1024x1024). The DPS methods keep every block's
 * activations for the backward: roughly 40x the forward's per particle of a chunk.
 */
final class FluxMemory {
  private FluxMemory() {}

  /** Images decoded at once in the estimate (the default reward_batch_size). */
  static final int DECODE_BATCH = 4;

  private static final double GIB = 1024.0 * 1024 * 1024;

  /** Bytes per device ("cpu", "cuda:0") with their parts, for the report. */
  record Estimate(Map<String, Long> bytes, Map<String, List<String>> parts) {
    long on(String device) {
      return bytes.getOrDefault(device, 0L);
    }
  }

  static String deviceName(int device) {
    return device < 0 ? "cpu" : "cuda:" + device;
  }

  static Estimate estimate(
      FluxSettings s,
      FluxTransformerSpec spec,
      long transformerElements,
      long aeElements,
      long encoderElements,
      int tokens) {
    int b = s.dtype().bytes();
    long imageTokens = (long) (s.height() / 16) * (s.width() / 16);
    long seq = imageTokens + tokens;
    long forward = 3L * seq * (3L * spec.hidden() + spec.mlpHidden()) * b * s.modelBatchSize();
    long decode = aeElements > 0 ? 6L * s.height() * s.width() * 128 * b * DECODE_BATCH : 0;
    long encode = encoderElements > 0 ? 3L * tokens * 4L * spec.contextDim() * b : 0;
    String main = deviceName(s.device());
    String text = deviceName(s.parts().textEncoderDevice());
    Map<String, Long> bytes = new LinkedHashMap<>();
    Map<String, List<String>> parts = new LinkedHashMap<>();
    add(bytes, parts, main, transformerElements * b, "transformer weights");
    add(bytes, parts, main, aeElements * b, "VAE decoder weights");
    add(bytes, parts, text, encoderElements * b, "T5 + CLIP weights");
    long work = Math.max(forward, decode);
    if (main.equals(text)) {
      work = Math.max(work, encode);
      add(bytes, parts, main, work, "largest working set (forward, decode or encoding)");
    } else {
      add(bytes, parts, main, work, "largest working set (forward or decode)");
      add(bytes, parts, text, encode, "encoding");
    }
    return new Estimate(bytes, parts);
  }

  private static void add(
      Map<String, Long> bytes, Map<String, List<String>> parts, String d, long n, String what) {
    if (n <= 0) {
      return;
    }
    bytes.merge(d, n, Long::sum);
    parts.computeIfAbsent(d, k -> new ArrayList<>()).add(what + " " + gib(n));
  }

  static String gib(long bytes) {
    return String.format(Locale.ROOT, "%.2f GiB", bytes / GIB);
  }

  /** The memory of a device, or -1 when it cannot be told. */
  static long capacity(int device, double limitGb) {
    if (!Double.isNaN(limitGb)) {
      return (long) (limitGb * GIB);
    }
    try {
      if (device < 0) {
        return ((com.sun.management.OperatingSystemMXBean)
                ManagementFactory.getOperatingSystemMXBean())
            .getTotalMemorySize();
      }
      return org.flowscale.bindings.cuda.CudaDevice.query(device).totalMemory();
    } catch (RuntimeException | LinkageError e) {
      return -1;
    }
  }

  /** One line per device: needs and has. */
  static List<String> report(Estimate e, FluxSettings s) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, Long> d : e.bytes().entrySet()) {
      int ordinal = d.getKey().equals("cpu") ? -1 : Integer.parseInt(d.getKey().substring(5));
      long has = capacity(ordinal, ordinal == s.device() ? s.parts().memoryLimitGb() : Double.NaN);
      out.add(
          "memory on "
              + d.getKey()
              + ": about "
              + gib(d.getValue())
              + " ("
              + String.join(", ", e.parts().get(d.getKey()))
              + ")"
              + (has < 0 ? "; the device's size is unknown" : " of " + gib(has)));
    }
    return out;
  }

  /**
   * Refuses a run that cannot fit on one of its devices.
   *
   * @throws IllegalArgumentException saying which device, what it needs, what it has, and what
   *     would help
   */
  static void check(Estimate e, FluxSettings s) {
    for (Map.Entry<String, Long> d : e.bytes().entrySet()) {
      int ordinal = d.getKey().equals("cpu") ? -1 : Integer.parseInt(d.getKey().substring(5));
      long has = capacity(ordinal, ordinal == s.device() ? s.parts().memoryLimitGb() : Double.NaN);
      if (has >= 0 && d.getValue() > has) {
        throw new IllegalArgumentException(
            "model flux cannot fit on "
                + d.getKey()
                + ": it needs about "
                + gib(d.getValue())
                + " ("
                + String.join(", ", e.parts().get(d.getKey()))
                + ") and the device has "
                + gib(has)
                + "; try text_encoder_device=cpu, a smaller model_batch_size or image, dtype bf16,"
                + " or memory_limit_gb if the size was misread");
      }
    }
  }
}
