package org.flowscale.bench.nfe;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.GenerationRequest;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.Pipeline;
import org.flowscale.engine.search.TimeSplit;

/**
 * The same search run several times in one JVM, one JSON line per run: how the first (cold) run
 * compares with later (warm) ones, in wall and in the calling thread's CPU time, with the search's
 * time split. The Java side of {@code bench/reference/compare.py}'s in-process rows; the Python
 * side is {@code rbf_reference.py --repeat}.
 *
 * <p>Usage: {@code RepeatSearch --config FILE [--repeat 10] [key=value ...]}
 */
public final class RepeatSearch {
  private RepeatSearch() {}

  public static void main(String[] args) {
    Path config = null;
    int repeat = 10;
    List<String> overrides = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config" -> config = Path.of(args[++i]);
        case "--repeat" -> repeat = Integer.parseInt(args[++i]);
        default -> overrides.add(args[i]);
      }
    }
    if (config == null) {
      System.err.println("usage: RepeatSearch --config FILE [--repeat N] [key=value ...]");
      System.exit(2);
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    FlowscaleConfig c = FlowscaleConfig.load(config, overrides);
    GenerationRequest request = c.request();
    try (Pipeline p = Pipeline.fromConfig(c)) {
      for (int i = 0; i < repeat; i++) {
        long cpu0 = threads.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        GenerationResult r = p.generate(request);
        double wall = (System.nanoTime() - t0) / 1e9;
        double cpu = (threads.getCurrentThreadCpuTime() - cpu0) / 1e9;
        TimeSplit t = r.search().orElseThrow().time();
        System.out.printf(
            Locale.ROOT,
            "{\"repeat\": %d, \"wall_s\": %.6f, \"thread_cpu_s\": %.6f, \"model_s\": %.6f,"
                + " \"reward_s\": %.6f, \"engine_s\": %.6f, \"nfe\": %d, \"best_reward\": %.6f}%n",
            i,
            wall,
            cpu,
            t.modelNanos() / 1e9,
            t.rewardNanos() / 1e9,
            t.engineNanos() / 1e9,
            r.nfe(),
            r.reward());
      }
    }
  }
}
