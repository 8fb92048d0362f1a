package org.flowscale.bench.nfe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.flowscale.engine.rng.Simd;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs {@link NfeBenchmark} for every registered search method on every model and prints one table:
 * NFE per second of whole searches, and the time per NFE split into model, reward and engine. The
 * {@code bin/bench --nfe} profile.
 *
 * <p>Arguments: {@code --models toy,mlp64,mlp64x64} (default all), {@code --methods rbf,bon}
 * (default every registered one), {@code --quick} (1 warm-up and 2 measured iterations of 2 s
 * instead of 2 x 3 s and 3 x 4 s), {@code --out FILE} (also write the table as markdown). A case
 * that cannot run (no shim, a config the method refuses) gets its reason instead of numbers.
 *
 * <p>Columns: {@code NFE/s} is NFE spent per second of whole searches (JMH throughput, with its
 * 99.9% error); the rest are microseconds per NFE: the search's wall time, then its parts: in the
 * model, in the reward, and the engine (everything else), and {@code outside model} = reward +
 * engine, the figure to set against the reference loop's time outside its model.
 */
public final class NfeTable {
  /** System properties the benchmark forks need. */
  private static final List<String> FORWARDED =
      List.of("flowscale.shim", "flowscale.root", "flowscale.nfe.models", "flowscale.simd");

  private NfeTable() {}

  record Row(String method, String model, String refusal, RunResult result) {}

  public static void main(String[] args) throws RunnerException, IOException {
    List<String> models = NfeCases.MODELS;
    List<String> methods = NfeCases.methods();
    boolean quick = false;
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--models" -> models = split(args[++i]);
        case "--methods" -> methods = split(args[++i]);
        case "--quick" -> quick = true;
        case "--out" -> out = Path.of(args[++i]);
        default -> {
          System.err.println(
              "usage: NfeTable [--models toy,mlp64,mlp64x64] [--methods rbf,...] [--quick] [--out"
                  + " FILE]");
          System.exit(2);
        }
      }
    }
    Map<String, Row> rows = new LinkedHashMap<>();
    for (String model : models) {
      List<String> runnable = new ArrayList<>();
      for (String method : methods) {
        Optional<String> why = NfeCases.refusal(method, model);
        rows.put(method + "/" + model, new Row(method, model, why.orElse(null), null));
        if (why.isEmpty()) {
          runnable.add(method);
        }
      }
      if (runnable.isEmpty()) {
        continue;
      }
      System.err.printf(
          "nfe: %s: %d searches (%s), JMH %s%n",
          model, runnable.size(), String.join(", ", runnable), quick ? "quick" : "full");
      ChainedOptionsBuilder o =
          new OptionsBuilder()
              .include(NfeBenchmark.class.getName() + ".search")
              .param("model", model)
              .param("method", runnable.toArray(String[]::new))
              .jvmArgsAppend(forkArgs())
              .forks(1)
              .shouldFailOnError(false)
              .verbosity(VerboseMode.SILENT);
      if (quick) {
        o.warmupIterations(1)
            .warmupTime(TimeValue.seconds(2))
            .measurementIterations(2)
            .measurementTime(TimeValue.seconds(2));
      }
      Collection<RunResult> results = new Runner(o.build()).run();
      for (RunResult r : results) {
        String method = r.getParams().getParam("method");
        rows.put(method + "/" + model, new Row(method, model, null, r));
      }
    }
    String table = table(rows.values(), quick);
    System.out.println(table);
    if (out != null) {
      Files.writeString(out, table, StandardCharsets.UTF_8);
      System.err.println("nfe: wrote " + out);
    }
  }

  private static List<String> split(String s) {
    return Arrays.stream(s.split(",")).map(String::strip).filter(x -> !x.isEmpty()).toList();
  }

  private static String[] forkArgs() {
    List<String> a =
        new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED", "-Xss8m", "-Xmx2g"));
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
      a.add("--add-modules=jdk.incubator.vector");
    }
    for (String p : FORWARDED) {
      String v = System.getProperty(p);
      if (v != null) {
        a.add("-D" + p + "=" + v);
      }
    }
    return a.toArray(String[]::new);
  }

  static String table(Collection<Row> rows, boolean quick) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "NFE throughput of whole searches (%s, %d CPUs, Java %s, CPU backend: %s, JMH %s),"
                + " %s%n%n",
            cpuName(),
            Runtime.getRuntime().availableProcessors(),
            Runtime.version(),
            Simd.describe(),
            quick ? "1 x 2 s warm-up, 2 x 2 s measured" : "2 x 3 s warm-up, 3 x 4 s measured",
            OffsetDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_LOCAL_DATE_TIME)));
    sb.append(
        "| method | model | NFE/s | us/NFE | model us/NFE | reward us/NFE | engine us/NFE |"
            + " outside model us/NFE |\n");
    sb.append("|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      sb.append("| ").append(r.method()).append(" | ").append(r.model()).append(" | ");
      if (r.result() == null) {
        String why = r.refusal() == null ? "failed (see the JMH log above)" : r.refusal();
        sb.append("n/a: ").append(why.replace('|', '/')).append(" | | | | | |\n");
        continue;
      }
      Result<?> primary = r.result().getPrimaryResult();
      Map<String, Result> sec = r.result().getSecondaryResults();
      double nfe = score(sec, "nfe");
      double perNfe = 1e6 / nfe;
      double model = score(sec, "modelNanos") / nfe / 1e3;
      double reward = score(sec, "rewardNanos") / nfe / 1e3;
      double engine = score(sec, "engineNanos") / nfe / 1e3;
      double nfeError = sec.get("nfe").getScoreError();
      sb.append(
          String.format(
              Locale.ROOT,
              "%.0f ± %.0f | %.1f | %.1f | %.1f | %.1f | %.1f |%n",
              nfe,
              Double.isNaN(nfeError) ? 0 : nfeError,
              perNfe,
              model,
              reward,
              engine,
              reward + engine));
      if (primary.getScore() <= 0) {
        throw new IllegalStateException("no searches measured for " + r.method());
      }
    }
    return sb.toString();
  }

  private static double score(Map<String, Result> sec, String name) {
    Result<?> r = sec.get(name);
    if (r == null) {
      throw new IllegalStateException("JMH reported no '" + name + "' counter");
    }
    return r.getScore();
  }

  private static String cpuName() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).strip();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: the JVM's view below
    }
    return System.getProperty("os.arch");
  }
}
