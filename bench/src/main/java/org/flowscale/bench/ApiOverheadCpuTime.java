package org.flowscale.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/**
 * The comparison of {@link ApiOverheadBenchmark} (a request through {@code Pipeline.generate}
 * beside the bare search call) timed in CPU time (all Java threads), with the two calls interleaved
 * (api, bare, bare, api, ...) so that load from other processes on a shared machine falls on both
 * alike: a companion to the JMH run for machines where wall-clock throughput swings.
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar
 * org.flowscale.bench.ApiOverheadCpuTime [pairs]}
 */
public final class ApiOverheadCpuTime {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private ApiOverheadCpuTime() {}

  public static void main(String[] args) {
    int pairs = args.length > 0 ? Integer.parseInt(args[0]) : 60;
    System.out.printf(
        "CPU time of all Java threads per request, %d interleaved pairs after %d warm-up pairs%n",
        pairs, pairs / 2);
    System.out.println("setting   api ms   bare ms   api / bare   mean api - bare (95% CI)");
    for (String setting : new String[] {"bon/20", "rbf/100"}) {
      ApiOverheadBenchmark b = new ApiOverheadBenchmark();
      b.setting = setting;
      b.setUp();
      try {
        for (int i = 0; i < pairs / 2; i++) {
          b.api();
          b.bare();
        }
        long[] api = new long[pairs];
        long[] bare = new long[pairs];
        double[] diff = new double[pairs];
        for (int i = 0; i < pairs; i++) {
          if (i % 2 == 0) {
            api[i] = cpu(b::api);
            bare[i] = cpu(b::bare);
          } else {
            bare[i] = cpu(b::bare);
            api[i] = cpu(b::api);
          }
          diff[i] = api[i] - bare[i];
        }
        double mean = Arrays.stream(diff).average().orElse(0);
        double sd =
            Math.sqrt(Arrays.stream(diff).map(d -> (d - mean) * (d - mean)).sum() / (pairs - 1));
        double half = 1.96 * sd / Math.sqrt(pairs);
        double a = median(api);
        double r = median(bare);
        System.out.printf(
            "%-8s %7.3f  %8.3f   %10.4f   %+.3f ms (%+.3f .. %+.3f)%n",
            setting, a / 1e6, r / 1e6, a / r, mean / 1e6, (mean - half) / 1e6, (mean + half) / 1e6);
      } finally {
        b.tearDown();
      }
    }
  }

  private static long cpu(Runnable call) {
    long t0 = threadsCpu();
    call.run();
    return threadsCpu() - t0;
  }

  /**
   * CPU nanoseconds of all Java threads (the caller and the common pool's workers, which run the
   * toy model's rows): the process's CPU clock ticks too coarsely (10 ms) for one request.
   */
  private static long threadsCpu() {
    long sum = 0;
    for (long id : THREADS.getAllThreadIds()) {
      long t = THREADS.getThreadCpuTime(id);
      if (t > 0) {
        sum += t;
      }
    }
    return sum;
  }

  private static double median(long[] v) {
    long[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
  }
}
