package org.flowscale.bench.nfe;

import java.util.concurrent.TimeUnit;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.GenerationRequest;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.Pipeline;
import org.flowscale.api.RunStatus;
import org.flowscale.engine.search.TimeSplit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * NFE throughput of whole searches: one benchmark operation is one complete search (500 NFE at the
 * method's paper setting, see {@link NfeCases}) through the public {@link Pipeline}, the model
 * loaded once. Besides searches per second, it counts per second the NFE spent and the nanoseconds
 * the search spent in the model, in the reward and in the engine (everything else: particle
 * operations, bookkeeping), so that {@link NfeTable} can print NFE/s and the time per NFE outside
 * the model.
 *
 * <p>{@code method} and {@code model} are parameters; {@link NfeTable} sets {@code method} to every
 * registered method. Run alone: {@code java -jar bench/target/benchmarks.jar NfeBenchmark -p
 * method=rbf -p model=toy}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 4)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xss8m", "-Xmx2g"})
public class NfeBenchmark {
  @Param({"rbf"})
  public String method;

  @Param({"toy"})
  public String model;

  private Pipeline pipeline;
  private GenerationRequest request;

  /** Per-second counters of what the searches spent (JMH divides each by the time). */
  @AuxCounters(AuxCounters.Type.OPERATIONS)
  @State(Scope.Thread)
  public static class Spent {
    public long nfe;
    public long modelNanos;
    public long rewardNanos;
    public long engineNanos;

    @Setup(Level.Iteration)
    public void reset() {
      nfe = 0;
      modelNanos = 0;
      rewardNanos = 0;
      engineNanos = 0;
    }
  }

  @Setup(Level.Trial)
  public void setUp() {
    FlowscaleConfig config = NfeCases.config(method, model);
    pipeline = Pipeline.fromConfig(config);
    request = config.request();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (pipeline != null) {
      pipeline.close();
    }
  }

  /** One whole search. */
  @Benchmark
  public GenerationResult search(Spent spent) {
    GenerationResult r = pipeline.generate(request);
    if (r.status() != RunStatus.COMPLETED || r.search().isEmpty()) {
      throw new IllegalStateException(method + " on " + model + " did not complete: " + r.status());
    }
    TimeSplit t = r.search().get().time();
    spent.nfe += r.nfe();
    spent.modelNanos += t.modelNanos();
    spent.rewardNanos += t.rewardNanos();
    spent.engineNanos += t.engineNanos();
    return r;
  }
}
