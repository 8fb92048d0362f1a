package org.flowscale.bench;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.flowscale.api.GenerationRequest;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.Pipeline;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.SearchMethod;
import org.flowscale.engine.search.SearchMethods;
import org.flowscale.engine.search.SearchResult;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * Requests per second through the library API ({@link Pipeline#generate}) beside the bare search
 * call it wraps ({@link SearchMethod#run} on the same model, reward and backend, already
 * conditioned on the prompt), on the toy world at small budgets, where a per-request overhead would
 * show most. The API adds per request: the prompt's conditioning (a cache hit in the toy model),
 * checks, a slot, a stop-control listener, decoding the image, the result and its counters.
 *
 * <p>Both run in the same JMH run on the same single thread; their ratio is the API's overhead.
 * Results are in {@code bench/RESULTS.md}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 2,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx1g"})
public class ApiOverheadBenchmark {
  static final String PROMPT = "two blue squares and one red circle";

  /** {@code method/max_nfe}: BoN at 20 NFE (2 chains x 10 steps), RBF at 100 NFE. */
  @Param({"bon/20", "rbf/100"})
  public String setting;

  private Pipeline pipeline;
  private GenerationRequest request;

  private FlowModel model;
  private RewardModel rewardModel;
  private VelocityModel velocity;
  private Reward reward;
  private ParticleOps ops;
  private SearchMethod method;
  private SearchConfig config;

  @Setup
  public void setUp() {
    String[] s = setting.split("/");
    GenerationRequest.Builder b =
        GenerationRequest.builder()
            .prompt(PROMPT)
            .method(s[0])
            .maxNfe(Long.parseLong(s[1]))
            .chains(2)
            .steps(10)
            .seed(11);
    if (s[0].equals("rbf")) {
      b.initialParticles(5);
    }
    request = b.build();
    pipeline = Pipeline.builder().model("toy").reward("counting").backend("cpu").build();

    // The same search wired by hand, as a caller without the API would: load, condition once.
    model = Factories.model("toy").load(Map.of());
    rewardModel = Factories.reward("counting").load("counting", Map.of(), model);
    velocity = model.condition(PROMPT);
    reward = rewardModel.condition(PROMPT);
    ops = Backends.create("cpu");
    config = request.search();
    method = SearchMethods.of(config.method());
  }

  @TearDown
  public void tearDown() {
    pipeline.close();
    reward.close();
    velocity.close();
    rewardModel.close();
    model.close();
    ops.close();
  }

  /** One request through {@link Pipeline#generate}: image, reward, NFE, trace, time split. */
  @Benchmark
  public GenerationResult api() {
    return pipeline.generate(request);
  }

  /** The bare search the pipeline runs for that request. */
  @Benchmark
  public SearchResult bare() {
    return method.run(config, ops, velocity, reward, SearchListener.NONE);
  }
}
