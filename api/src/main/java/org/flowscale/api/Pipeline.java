package org.flowscale.api;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.flowscale.engine.model.DecodedReward;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.GuidedVelocity;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.ModelFactory;
import org.flowscale.engine.model.ModelPlan;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.SampleDecoder;
import org.flowscale.engine.model.SampleSpace;
import org.flowscale.engine.model.TransientFailure;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.model.WeightedRewardModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.NativeFailure;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchFailedException;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.SearchMethod;
import org.flowscale.engine.search.SearchMethods;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.search.SearchStoppedException;

/**
 * A loaded model, reward and particle backend that serve many generations: built once (the weights
 * load once), used for many requests with different prompts (each prompt's conditioning is computed
 * once and cached by the model), closed once. The library's entry point; the command line is one of
 * its users.
 *
 * <pre>{@code
 * try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
 *   GenerationResult r = p.generate(GenerationRequest.builder()
 *       .prompt("two blue squares and one red circle").maxNfe(200).build());
 *   System.out.println(r.status() + " " + r.reward());
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> {@link #generate} is thread-safe. Up to {@link Builder#concurrency}
 * generations run at once, each on its own backend instance (made on first need, then reused); more
 * callers wait for a free slot. Models and rewards are shared between concurrent generations: the
 * built-in ones allow it, and a provider that does not must say so. {@link #close} waits for
 * running generations to finish.
 *
 * <p><b>Control.</b> A generation stops early, returning the best sample so far, when its {@link
 * Cancellation} is cancelled, its deadline passes, its listener's {@link
 * SearchListener#stopRequested} answers true (status {@link RunStatus#CANCELLED}), or its thread is
 * interrupted (status {@link RunStatus#INTERRUPTED}, the interrupt flag kept); each is checked once
 * per round, before every model call.
 *
 * <p><b>Errors.</b> A request that cannot run throws {@link ConfigurationException} before any
 * work; a failure during a run throws {@link ModelException}, {@link RewardException} or {@link
 * NativeException} carrying the best sample so far ({@link FlowscaleException#partial()}).
 *
 * <p><b>Observability.</b> Loading and failures are logged through {@link System.Logger} (logger
 * {@code org.flowscale}); nothing is logged per round. Model calls, reward calls, rounds and whole
 * searches are Java Flight Recorder events ({@code flowscale.*}); {@link #metrics()} counts
 * requests, NFE and time.
 */
public final class Pipeline implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("org.flowscale");

  private final String modelName;
  private final String rewardName;
  private final String backendSpec;
  private final FlowModel model;
  private final RewardModel reward;
  private final Optional<ImageDecoder> decoder;
  private final Optional<SampleDecoder> sampleDecoder;
  private final int concurrency;
  private final Semaphore slots;
  private final ConcurrentLinkedDeque<ParticleOps> idle = new ConcurrentLinkedDeque<>();
  private final List<ParticleOps> allOps = new ArrayList<>();
  private volatile boolean closed;

  private final LongAdder requests = new LongAdder();
  private final LongAdder completed = new LongAdder();
  private final LongAdder cancelled = new LongAdder();
  private final LongAdder interrupted = new LongAdder();
  private final LongAdder failed = new LongAdder();
  private final LongAdder nfe = new LongAdder();
  private final LongAdder modelNanos = new LongAdder();
  private final LongAdder rewardNanos = new LongAdder();
  private final LongAdder engineNanos = new LongAdder();
  private final AtomicInteger active = new AtomicInteger();

  private Pipeline(Builder b, FlowModel model, RewardModel reward, ParticleOps first) {
    this.modelName = b.model;
    this.rewardName = b.reward;
    this.backendSpec = b.backend;
    this.model = model;
    this.reward = reward;
    this.decoder = model.imageDecoder();
    this.sampleDecoder = model.decoder();
    this.concurrency = b.concurrency;
    this.slots = new Semaphore(b.concurrency, true);
    allOps.add(first);
    idle.add(first);
  }

  /**
   * {@return A builder: model {@code toy}, reward {@code counting}, backend {@code cpu} by default}
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The pipeline a config describes: its model, reward and backend with their settings (its search
   * keys are for {@link FlowscaleConfig#request()}).
   *
   * @param config a resolved config (its prompt may be missing)
   * @return a pipeline; the caller closes it
   * @throws ConfigurationException when the config's model, reward or backend refuses
   * @throws ModelException when the model fails to load
   * @throws RewardException when the reward fails to load
   * @throws NativeException when native code fails while loading
   */
  public static Pipeline fromConfig(FlowscaleConfig config) {
    return fromConfig(config, 1);
  }

  /**
   * The pipeline a config describes, running up to {@code concurrency} generations at once (a
   * service's pipeline). See {@link #fromConfig(FlowscaleConfig)}.
   *
   * @param config a resolved config (its prompt may be missing)
   * @param concurrency the most generations that run at once, in [1, 1024]
   * @return a pipeline; the caller closes it
   * @throws ConfigurationException when the config's model, reward or backend refuses
   * @throws ModelException when the model fails to load
   * @throws RewardException when the reward fails to load
   * @throws NativeException when native code fails while loading
   * @throws IllegalArgumentException when {@code concurrency} is out of range
   */
  public static Pipeline fromConfig(FlowscaleConfig config, int concurrency) {
    Builder b =
        builder()
            .model(config.model(), config.modelSettings())
            .backend(config.backend())
            .concurrency(concurrency);
    if (config.rewards().isEmpty()) {
      b.reward(config.reward(), config.rewardSettings());
    } else {
      b.rewards(config.rewards());
    }
    Pipeline p = b.build();
    try {
      p.checkImageSize(config.settings().height(), config.settings().width());
      return p;
    } catch (RuntimeException e) {
      p.close();
      throw e;
    }
  }

  /**
   * Checks a config without running it ({@code --dry-run}): a model whose factory can plan (FLUX)
   * is checked from its files' headers without loading a tensor, with the memory each device needs
   * (a run that cannot fit is refused); other models are loaded, {@code request} is checked on them
   * ({@link #check}), and they are closed.
   *
   * @param config a resolved config
   * @param request the request to check, usually {@code config.request()}
   * @return lines for people: the model's parts and memory estimate per device (may be empty)
   * @throws ConfigurationException when the config or the request cannot run
   * @throws ModelException when the model fails to load
   * @throws RewardException when the reward fails to load
   * @throws NativeException when native code fails while loading
   */
  public static List<String> dryRun(FlowscaleConfig config, GenerationRequest request) {
    Builder b = builder().model(config.model(), config.modelSettings()).backend(config.backend());
    if (config.rewards().isEmpty()) {
      b.reward(config.reward(), config.rewardSettings());
    } else {
      b.rewards(config.rewards());
    }
    Optional<List<String>> planned = b.plan(SearchMethods.of(request.search().method()));
    if (planned.isPresent()) {
      return planned.get();
    }
    try (Pipeline p = fromConfig(config)) { // no plan: loading is the check
      p.check(request);
    }
    return List.of();
  }

  private static Integer size(GenerationRequest request, String key) {
    return request.keys().get(key) instanceof Number n ? n.intValue() : null;
  }

  private void checkImageSize(Integer height, Integer width) {
    if ((height == null && width == null) || decoder.isEmpty()) {
      return; // the model took height/width itself, or has no image form to check against
    }
    ImageDecoder d = decoder.get();
    if ((height != null && height != d.height()) || (width != null && width != d.width())) {
      throw new ConfigurationException(
          "bad value for height/width: got "
              + height
              + "x"
              + width
              + ", but model '"
              + modelName
              + "' makes "
              + d.height()
              + "x"
              + d.width()
              + " images (set them to null or to its size)");
    }
  }

  /**
   * Runs one generation. See {@link #generate(GenerationRequest, SearchListener, Cancellation)}.
   *
   * @param request what to generate
   * @return the result; {@link GenerationResult#status()} says whether it completed or stopped
   *     early
   */
  public GenerationResult generate(GenerationRequest request) {
    return generate(request, SearchListener.NONE, null);
  }

  /**
   * Runs one generation that {@code cancellation} can stop from another thread. See {@link
   * #generate(GenerationRequest, SearchListener, Cancellation)}.
   *
   * @param request what to generate
   * @param cancellation stops the run from another thread (may be null)
   * @return the result; {@link GenerationResult#status()} says whether it completed or stopped
   *     early
   */
  public GenerationResult generate(GenerationRequest request, Cancellation cancellation) {
    return generate(request, SearchListener.NONE, cancellation);
  }

  /**
   * Runs one generation with a listener. See {@link #generate(GenerationRequest, SearchListener,
   * Cancellation)}.
   *
   * @param request what to generate
   * @param listener progress, intermediate images and stop requests (may be null)
   * @return the result; {@link GenerationResult#status()} says whether it completed or stopped
   *     early
   */
  public GenerationResult generate(GenerationRequest request, SearchListener listener) {
    return generate(request, listener, null);
  }

  /**
   * Runs one generation: conditions the model and reward on the request's prompt (cached per
   * prompt), runs the search on a free backend, and decodes the chosen sample to an image.
   *
   * @param request what to generate
   * @param listener progress and intermediate images; its {@link SearchListener#stopRequested} can
   *     stop the run (may be null)
   * @param cancellation stops the run from another thread (may be null)
   * @return the result; {@link GenerationResult#status()} says whether it completed or stopped
   *     early (then it holds the best sample so far)
   * @throws ConfigurationException when the request cannot run (nothing ran)
   * @throws ModelException when the model fails during the run
   * @throws RewardException when the reward fails during the run
   * @throws NativeException when native code or the device fails
   * @throws IllegalStateException when the pipeline is closed
   */
  public GenerationResult generate(
      GenerationRequest request, SearchListener listener, Cancellation cancellation) {
    if (request == null) {
      throw new IllegalArgumentException("request must not be null");
    }
    if (closed) {
      throw new IllegalStateException("the pipeline is closed");
    }
    SearchListener user = listener == null ? SearchListener.NONE : listener;
    OffsetDateTime startedAt = OffsetDateTime.now();
    long t0 = System.nanoTime();
    requests.increment();
    try {
      slots.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      interrupted.increment();
      return new GenerationResult(
          RunStatus.INTERRUPTED,
          "interrupted",
          request,
          null,
          null,
          startedAt,
          Duration.ofNanos(System.nanoTime() - t0),
          backendSpec,
          0);
    }
    ParticleOps ops = null;
    boolean opsUsable = true;
    active.incrementAndGet();
    try {
      if (closed) { // closed while this call waited for a slot: it started, so it failed
        failed.increment();
        throw new IllegalStateException("the pipeline is closed");
      }
      try {
        ops = takeOps();
      } catch (FlowscaleException e) {
        failed.increment();
        throw e;
      }
      return run(request, user, cancellation, ops, startedAt, t0);
    } catch (NativeException e) {
      opsUsable = e.pipelineUsable();
      throw e;
    } finally {
      active.decrementAndGet();
      if (ops != null) {
        if (opsUsable) {
          idle.push(ops);
        } else {
          dropOps(ops);
        }
      }
      slots.release();
    }
  }

  private GenerationResult run(
      GenerationRequest request,
      SearchListener user,
      Cancellation cancellation,
      ParticleOps ops,
      OffsetDateTime startedAt,
      long t0) {
    SearchConfig config = request.search();
    SearchMethod method = SearchMethods.of(config.method());
    long deadlineAt = request.deadline().map(d -> t0 + d.toNanos()).orElse(Long.MAX_VALUE);
    try (VelocityModel m = conditionModel(request);
        Reward r = conditionReward(request)) {
      SearchConfig c = prepare(config, method, request, m, r);
      // the NFE spent so far, for a run that stops before it scores anything (no partial result)
      AtomicLong spent = new AtomicLong();
      SearchListener l = control(user, cancellation, deadlineAt, spent);
      SearchResult result;
      try {
        result = method.run(c, ops, m, r, l);
      } catch (SearchStoppedException e) {
        boolean byThread =
            e.reason() == SearchStoppedException.Reason.INTERRUPTED
                || (cancellation != null && cancellation.isInterrupt());
        String why =
            e.reason() == SearchStoppedException.Reason.INTERRUPTED
                ? "interrupted"
                : cancellation != null && cancellation.isCancelled()
                    ? cancellation.reason()
                    : System.nanoTime() >= deadlineAt ? "deadline" : "cancelled";
        (byThread ? interrupted : cancelled).increment();
        GenerationResult g =
            finish(
                byThread ? RunStatus.INTERRUPTED : RunStatus.CANCELLED,
                why,
                request,
                e.partial().orElse(null),
                spent.get(),
                startedAt,
                t0,
                ops);
        LOG.log(Level.DEBUG, () -> "generation stopped (" + why + "): " + g);
        return g;
      } catch (SearchFailedException e) {
        GenerationResult partial =
            e.partial()
                .map(p -> finish(RunStatus.FAILED, null, request, p, p.nfe(), startedAt, t0, ops))
                .orElse(null);
        FlowscaleException f = failure(e, partial);
        LOG.log(Level.WARNING, () -> "generation failed: " + f.getMessage());
        throw f;
      }
      completed.increment();
      return finish(RunStatus.COMPLETED, null, request, result, result.nfe(), startedAt, t0, ops);
    } catch (RuntimeException e) {
      // the one place a started generation is counted as failed, whichever layer threw
      failed.increment();
      throw e;
    }
  }

  /**
   * Buffers of particles a search holds at once, each {@code dim} floats (states, velocities...).
   */
  static final int BUFFERS_PER_PARTICLE = 8;

  /**
   * Refuses a run whose particles cannot fit in this machine's memory, before anything is allocated
   * (a CPU-backend run would otherwise die allocating). Other backends report their own allocation
   * failures.
   */
  private void checkMemory(SearchConfig c, int dim) {
    if (!"cpu".equals(backendName())) {
      return;
    }
    long particles = MethodKeys.peakParticles(c);
    double need = (double) particles * dim * Float.BYTES * BUFFERS_PER_PARTICLE;
    long have = physicalMemory();
    if (have > 0 && need > have * 0.75) {
      throw new ConfigurationException(
          String.format(
              java.util.Locale.ROOT,
              "%s = %d particles of %d values need about %.1f GiB of particle memory, more than"
                  + " this machine's %.1f GiB allows; use fewer particles",
              MethodKeys.particlesText(c),
              particles,
              dim,
              need / (1L << 30),
              have / (double) (1L << 30)));
    }
  }

  private String backendName() {
    int colon = backendSpec.indexOf(':');
    return colon < 0 ? backendSpec : backendSpec.substring(0, colon);
  }

  private static long physicalMemory() {
    try {
      if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
          instanceof com.sun.management.OperatingSystemMXBean os) {
        return os.getTotalMemorySize();
      }
    } catch (RuntimeException | LinkageError e) {
      // unknown: no check
    }
    return 0;
  }

  /**
   * The request's search config on this model (its time shift, when the request leaves it to the
   * model), checked against the method's budget rules and what it needs of the model and reward.
   */
  private SearchConfig prepare(
      SearchConfig config,
      SearchMethod method,
      GenerationRequest request,
      VelocityModel m,
      Reward r) {
    if (request.timeShiftFromModel() && m.timeShiftTokens() > 0) {
      config = config.withTimeShiftTokens(m.timeShiftTokens());
    }
    SearchConfig c = config;
    refuse(() -> method.validate(c), "");
    refuse(() -> method.checkInputs(c, m, r), "");
    checkMemory(c, m.dim());
    return c;
  }

  /**
   * Checks that {@code request} can run on this pipeline, without running it: the model and the
   * reward are conditioned on its prompt (and keep that conditioning cached for the run that
   * follows), and the method's budget rules and needs are checked (a DPS method needs a
   * differentiable reward and a model with a vector-Jacobian product). A caller that writes outputs
   * calls this first, so a request that cannot run leaves nothing behind. A check is not a
   * generation: {@link #metrics()} does not count it.
   *
   * @param request the request to check
   * @throws ConfigurationException when the request cannot run on this pipeline
   * @throws IllegalStateException when the pipeline is closed
   */
  public void check(GenerationRequest request) {
    if (closed) {
      throw new IllegalStateException("the pipeline is closed");
    }
    SearchMethod method = SearchMethods.of(request.search().method());
    try (VelocityModel m = conditionModel(request);
        Reward r = conditionReward(request)) {
      prepare(request.search(), method, request, m, r);
    }
  }

  private VelocityModel conditionModel(GenerationRequest request) {
    // a request may repeat the image size (a config's height/width), never change it
    checkImageSize(size(request, "height"), size(request, "width"));
    if (request.guided() && !model.promptConditioned()) {
      throw new ConfigurationException(
          "cfg_scale "
              + request.cfgScale()
              + " needs a model conditioned on the prompt, and model '"
              + modelName
              + "' ignores prompts (both guided velocities would be the same); set cfg_scale 1");
    }
    try {
      VelocityModel positive = model.condition(request.prompt());
      if (!request.guided()) {
        return positive;
      }
      try {
        return new GuidedVelocity(
            positive, model.condition(request.negativePrompt()), request.cfgScale());
      } catch (RuntimeException e) {
        positive.close();
        throw e;
      }
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(
          "model '" + modelName + "': " + Text.oneLine(e.getMessage()), e);
    } catch (RuntimeException e) {
      throw classify(
          SearchFailedException.Source.MODEL, e, "model '" + modelName + "' failed", null);
    }
  }

  private Reward conditionReward(GenerationRequest request) {
    try {
      Reward r = reward.condition(request.prompt());
      if (sampleDecoder.isEmpty()) {
        return r;
      }
      // a latent model: the reward judges decoded images, in chunks
      return new DecodedReward(sampleDecoder.get(), r, model.dim(), request.rewardBatchSize());
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(
          "reward_score '" + rewardName + "': " + Text.oneLine(e.getMessage()), e);
    } catch (RuntimeException e) {
      throw classify(
          SearchFailedException.Source.REWARD, e, "reward '" + rewardName + "' failed", null);
    }
  }

  /** The user's listener with the cancellation and the deadline folded into its stop requests. */
  private static SearchListener control(
      SearchListener user, Cancellation cancellation, long deadlineAt, AtomicLong spent) {
    return new SearchListener() {
      @Override
      public void onProgress(long nfe, long maxNfe) {
        spent.set(nfe);
        user.onProgress(nfe, maxNfe);
      }

      @Override
      public void onStep(int step, double time, float[] tweedies, int rows, double[] rewards) {
        user.onStep(step, time, tweedies, rows, rewards);
      }

      @Override
      public void onStep(int step, double[] times, float[] tweedies, int rows, double[] rewards) {
        user.onStep(step, times, tweedies, rows, rewards);
      }

      @Override
      public void onTrace(org.flowscale.engine.search.TraceEntry entry) {
        user.onTrace(entry);
      }

      @Override
      public boolean wantsIntermediates() {
        return user.wantsIntermediates();
      }

      @Override
      public boolean stopRequested() {
        return (cancellation != null && cancellation.isCancelled())
            || System.nanoTime() >= deadlineAt
            || user.stopRequested();
      }
    };
  }

  private GenerationResult finish(
      RunStatus status,
      String reason,
      GenerationRequest request,
      SearchResult result,
      long spent,
      OffsetDateTime startedAt,
      long t0,
      ParticleOps ops) {
    Image image = null;
    if (result == null) {
      nfe.add(spent);
    } else {
      nfe.add(result.nfe());
      modelNanos.add(result.time().modelNanos());
      rewardNanos.add(result.time().rewardNanos());
      engineNanos.add(result.time().engineNanos());
      if (decoder.isPresent()) {
        ImageDecoder d = decoder.get();
        image = new Image(d.height(), d.width(), d.decode(result.sample(), 0));
      }
    }
    return new GenerationResult(
        status,
        reason,
        request,
        result,
        image,
        startedAt,
        Duration.ofNanos(System.nanoTime() - t0),
        ops.name(),
        spent);
  }

  private FlowscaleException failure(SearchFailedException e, GenerationResult partial) {
    Throwable cause = e.getCause() == null ? e : e.getCause();
    String what =
        switch (e.source()) {
          case MODEL -> "model '" + modelName + "' failed";
          case REWARD -> "reward '" + rewardName + "' failed";
          case ENGINE -> "the search failed";
        };
    return classify(e.source(), cause, what, partial);
  }

  private FlowscaleException classify(
      SearchFailedException.Source source, Throwable cause, String what, GenerationResult p) {
    String message =
        what
            + ": "
            + (cause.getMessage() == null
                ? cause.getClass().getSimpleName()
                : Text.oneLine(cause.getMessage()));
    if (cause instanceof NativeFailure nf) {
      String component =
          switch (source) {
            case MODEL -> "model";
            case REWARD -> "reward";
            case ENGINE -> "backend";
          };
      return new NativeException(component, message, !nf.contextLost(), cause, p);
    }
    return switch (source) {
      case MODEL -> new ModelException(modelName, message, cause, p);
      case REWARD ->
          new RewardException(rewardName, message, cause instanceof TransientFailure, cause, p);
      case ENGINE -> new FlowscaleException(message, cause, p);
    };
  }

  private ParticleOps takeOps() {
    ParticleOps ops = idle.poll();
    if (ops != null) {
      return ops;
    }
    ParticleOps made;
    try {
      made = Backends.create(backendSpec);
    } catch (RuntimeException e) {
      throw classify(
          SearchFailedException.Source.ENGINE, e, "backend '" + backendSpec + "' failed", null);
    }
    synchronized (allOps) {
      allOps.add(made);
    }
    return made;
  }

  private void dropOps(ParticleOps ops) {
    synchronized (allOps) {
      allOps.remove(ops);
    }
    closeQuietly(ops);
  }

  /** {@return the model's config name} */
  public String modelName() {
    return modelName;
  }

  /** {@return the reward's config name} */
  public String rewardName() {
    return rewardName;
  }

  /** {@return the backend spec ({@code cpu}, {@code cuda:1})} */
  public String backend() {
    return backendSpec;
  }

  /** {@return the most generations that run at once} */
  public int concurrency() {
    return concurrency;
  }

  /** {@return what the model's samples are: their size, shape and image form} */
  public SampleSpace sampleSpace() {
    return model;
  }

  /** {@return A snapshot of the pipeline's counters} */
  public PipelineMetrics metrics() {
    return new PipelineMetrics(
        requests.sum(),
        completed.sum(),
        cancelled.sum(),
        interrupted.sum(),
        failed.sum(),
        nfe.sum(),
        modelNanos.sum(),
        rewardNanos.sum(),
        engineNanos.sum(),
        active.get());
  }

  /**
   * Waits for running generations to finish, then frees the model, the reward and the backends.
   * Later calls of {@link #generate} throw {@link IllegalStateException}. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    slots.acquireUninterruptibly(concurrency);
    try {
      closeQuietly(reward);
      closeQuietly(model);
      synchronized (allOps) {
        for (ParticleOps o : allOps) {
          closeQuietly(o);
        }
        allOps.clear();
      }
      idle.clear();
    } finally {
      slots.release(concurrency);
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      LOG.log(Level.WARNING, () -> "closing " + c + " failed: " + e.getMessage());
    }
  }

  /** Work that may refuse the request with an IllegalArgumentException. */
  private static void refuse(Runnable work, String prefix) {
    try {
      work.run();
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(prefix + Text.oneLine(e.getMessage()), e);
    }
  }

  @Override
  public String toString() {
    return "Pipeline[model " + modelName + ", reward " + rewardName + ", " + backendSpec + "]";
  }

  /** Says what a {@link Pipeline} loads. */
  public static final class Builder {
    private String model = "toy";
    private Map<String, Object> modelSettings = Map.of();
    private String reward = "counting";
    private Map<String, Object> rewardSettings = Map.of();
    private List<RewardTerm> rewards = List.of();
    private String backend = "cpu";
    private int concurrency = 1;

    private Builder() {}

    /**
     * Sets the model ({@code model}), with its default settings.
     *
     * @param name a model factory's name ({@code toy}, {@code torchscript}, ...)
     * @return this builder
     */
    public Builder model(String name) {
      return model(name, Map.of());
    }

    /**
     * Sets the model ({@code model}) and its own keys.
     *
     * @param name a model factory's name ({@code toy}, {@code torchscript}, ...)
     * @param settings the factory's own keys, e.g. {@code beta} for the toy world (values as YAML
     *     would read them)
     * @return this builder
     */
    public Builder model(String name, Map<String, ?> settings) {
      this.model = name;
      this.modelSettings = widen(settings);
      return this;
    }

    /**
     * Sets the reward ({@code reward_score}), with its default settings.
     *
     * @param name a reward factory's name ({@code counting}, {@code torchscript}, ...)
     * @return this builder
     */
    public Builder reward(String name) {
      return reward(name, Map.of());
    }

    /**
     * Sets the reward ({@code reward_score}) and its own keys.
     *
     * @param name a reward factory's name ({@code counting}, {@code torchscript}, ...)
     * @param settings the factory's own keys (values as YAML would read them)
     * @return this builder
     */
    public Builder reward(String name, Map<String, ?> settings) {
      this.reward = name;
      this.rewardSettings = widen(settings);
      this.rewards = List.of();
      return this;
    }

    /**
     * Several rewards as one weighted sum ({@code rewards} in a config), each loaded once; the sum
     * is differentiable when every term is. Replaces {@link #reward}.
     *
     * @param terms the rewards and their weights (at least one)
     * @return this builder
     * @throws IllegalArgumentException when {@code terms} is empty
     */
    public Builder rewards(List<RewardTerm> terms) {
      if (terms == null || terms.isEmpty()) {
        throw new IllegalArgumentException("rewards needs at least one reward");
      }
      this.rewards = List.copyOf(terms);
      this.reward = "weighted";
      this.rewardSettings = Map.of();
      return this;
    }

    /**
     * Sets where particle operations run.
     *
     * @param spec a backend ({@code cpu}, {@code cuda}) with an optional device ({@code cuda:1})
     * @return this builder
     */
    public Builder backend(String spec) {
      this.backend = spec;
      return this;
    }

    /**
     * Sets the most generations that run at once (default 1); more callers wait. Each running
     * generation has its own backend instance (particle memory); the model and reward are shared.
     *
     * @param n in [1, 1024]
     * @return this builder
     * @throws IllegalArgumentException when {@code n} is out of range
     */
    public Builder concurrency(int n) {
      if (n < 1 || n > 1024) {
        throw new IllegalArgumentException("concurrency must be in [1, 1024], got " + n);
      }
      this.concurrency = n;
      return this;
    }

    /** Settings as factories take them: Long and Double, not Integer. */
    private static Map<String, Object> widen(Map<String, ?> settings) {
      Map<String, Object> out = new LinkedHashMap<>();
      if (settings != null) {
        settings.forEach((k, v) -> out.put(k, v instanceof Integer i ? (Object) i.longValue() : v));
      }
      return out;
    }

    /**
     * Checks what {@link #build} would load without loading the model, when its factory can plan
     * (FLUX: from its files' headers, with the memory each device needs); the reward is loaded
     * against the samples it would judge, checked against {@code method}'s needs (a gradient) and
     * closed. Empty when the model cannot plan.
     *
     * @throws ConfigurationException when the config cannot run (a part missing, a device too
     *     small, a bad reward setting)
     */
    Optional<List<String>> plan(SearchMethod method) {
      ModelFactory mf = factory(() -> Factories.model(model));
      Optional<ModelPlan> plan = load("model '" + model + "'", () -> mf.plan(modelSettings), true);
      if (plan.isEmpty()) {
        return Optional.empty();
      }
      SampleSpace space = plan.get().space();
      RewardModel r = null;
      try {
        if (rewards.isEmpty()) {
          RewardFactory rf = factory(() -> Factories.reward(reward));
          r =
              load(
                  "reward_score '" + reward + "'",
                  () -> rf.load(reward, rewardSettings, space),
                  false);
        } else {
          List<RewardFactory> rfs = new ArrayList<>();
          for (RewardTerm t : rewards) {
            rfs.add(factory(() -> Factories.reward(t.score())));
          }
          r = weighted(rfs, space);
        }
        // what a run checks once the model is loaded and needs no model: the reward's gradient
        RewardModel judged = r;
        refuse(() -> method.checkReward(judged.name(), judged.differentiable()), "");
      } finally {
        closeQuietly(r);
      }
      return Optional.of(plan.get().report());
    }

    /**
     * Loads the model and the reward and starts one backend instance.
     *
     * @return the pipeline; the caller closes it
     * @throws ConfigurationException when a name is unknown or a factory refuses its settings
     * @throws ModelException when the model fails to load
     * @throws RewardException when the reward fails to load
     * @throws NativeException when native code fails while loading
     */
    public Pipeline build() {
      ModelFactory mf = factory(() -> Factories.model(model));
      RewardFactory rf = rewards.isEmpty() ? factory(() -> Factories.reward(reward)) : null;
      List<RewardFactory> rfs = new ArrayList<>();
      for (RewardTerm t : rewards) {
        rfs.add(factory(() -> Factories.reward(t.score())));
      }
      ParticleOps ops = null;
      FlowModel m = null;
      RewardModel r = null;
      try {
        long t0 = System.nanoTime();
        try {
          ops = Backends.create(backend);
        } catch (IllegalArgumentException | IllegalStateException e) {
          throw new ConfigurationException("backend: " + Text.oneLine(e.getMessage()), e);
        }
        m = load("model '" + model + "'", () -> mf.load(modelSettings), true);
        // A latent model's rewards judge its decoded images (SampleDecoder's layout).
        SampleSpace space = m.decoder().map(SampleDecoder::imageSpace).orElse(m);
        r =
            rf != null
                ? load(
                    "reward_score '" + reward + "'",
                    () -> rf.load(reward, rewardSettings, space),
                    false)
                : weighted(rfs, space);
        Pipeline p = new Pipeline(this, m, r, ops);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        LOG.log(Level.INFO, () -> "loaded " + p + " in " + ms + " ms");
        ops = null;
        m = null;
        r = null;
        return p;
      } finally {
        closeQuietly(r);
        closeQuietly(m);
        closeQuietly(ops);
      }
    }

    /** Loads every term (each once) and owns them in one weighted sum. */
    private RewardModel weighted(List<RewardFactory> factories, SampleSpace space) {
      List<WeightedRewardModel.Term> loaded = new ArrayList<>();
      try {
        for (int i = 0; i < rewards.size(); i++) {
          RewardTerm t = rewards.get(i);
          RewardFactory f = factories.get(i);
          RewardModel rm =
              load(
                  "rewards entry " + (i + 1) + " (score: " + t.score() + ")",
                  () -> f.load(t.score(), t.settings(), space),
                  false);
          Object served = t.settings().get("reward_model");
          String label = t.score() + (served == null ? "" : " '" + served + "'");
          loaded.add(new WeightedRewardModel.Term(rm, t.weight(), label));
        }
        WeightedRewardModel w = WeightedRewardModel.of(loaded);
        loaded = List.of();
        return w;
      } finally {
        loaded.forEach(t -> closeQuietly(t.model()));
      }
    }

    private static <T> T factory(java.util.function.Supplier<T> lookup) {
      try {
        return lookup.get();
      } catch (IllegalArgumentException e) {
        throw new ConfigurationException(Text.oneLine(e.getMessage()), e);
      }
    }

    private <T> T load(String what, java.util.function.Supplier<T> work, boolean isModel) {
      try {
        return work.get();
      } catch (IllegalArgumentException e) {
        throw new ConfigurationException(what + ": " + Text.oneLine(e.getMessage()), e);
      } catch (RuntimeException e) {
        String message = what + " failed to load: " + Text.oneLine(String.valueOf(e.getMessage()));
        if (e instanceof NativeFailure nf) {
          throw new NativeException(
              isModel ? "model" : "reward", message, !nf.contextLost(), e, null);
        }
        if (isModel) {
          throw new ModelException(model, message, e, null);
        }
        throw new RewardException(reward, message, e instanceof TransientFailure, e, null);
      }
    }
  }
}
