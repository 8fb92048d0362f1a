package org.flowscale.engine.search;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.math.Affine;
import org.flowscale.engine.math.Conversion;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * The machinery every search method shares, for one run: particle buffers, model evaluation with
 * the interpolant conversion, Tweedie estimates, scoring, reverse-time steps, the DPS nudge, noise
 * streams, NFE and gradient accounting, the time split and the trace.
 *
 * <p>Methods describe particles by their sampling times ({@code r}, one per row, so chains may sit
 * at different steps) and leave all the arithmetic here. Every operation is batched over rows and
 * runs on the backend; the host only sees per-particle scalars (times, rewards, indices).
 *
 * <p>Budget: {@link #velocity} refuses to go past {@code max_nfe}, so a method bug can never
 * overspend silently.
 *
 * <p>Noise: every stochastic operation takes a fresh stream from {@link #newStream()} and draws
 * element {@code j} of row {@code i} from {@code (seed, stream, i, j)}; streams are handed out in
 * program order, which is itself a deterministic function of the config and the rewards, so a run
 * is reproducible bit for bit and no draw is ever used twice.
 */
final class SearchRun implements AutoCloseable {
  /**
   * Floor of {@code |r|} in the DPS nudge {@code eta grad / |r|}, so a zero reward cannot blow up.
   */
  static final double MIN_REWARD_SCALE = 1e-6;

  final SearchConfig config;
  final ParticleOps ops;
  final VelocityModel model;
  final Reward reward;
  final SearchListener listener;
  final SamplingScheme scheme;
  final double[] grid;
  final int dim;

  private final long startNanos = System.nanoTime();
  private long modelNanos;
  private long rewardNanos;
  private long nfe;
  private long gradientPasses;
  private long rewardRows;
  private long nextStream;
  private final List<TraceEntry> trace = new ArrayList<>();
  private final List<Tensor> owned = new ArrayList<>();
  private final Map<String, Tensor> scratch = new HashMap<>();

  /** What the run is doing now: tells a failure's source. */
  private SearchFailedException.Source phase = SearchFailedException.Source.ENGINE;

  /** The best scored row so far (one row), kept for a stopped or failed run's partial result. */
  private Tensor bestSoFar;

  private double bestSoFarReward = Double.NEGATIVE_INFINITY;
  private double bestSoFarTime;
  private Events.Round round;
  private int rounds;
  private int firstRows;

  SearchRun(
      SearchConfig config,
      ParticleOps ops,
      VelocityModel model,
      Reward reward,
      SearchListener listener) {
    if (config == null || ops == null || model == null || reward == null) {
      throw new IllegalArgumentException("config, ops, model and reward must not be null");
    }
    this.config = config;
    this.ops = ops;
    this.model = model;
    this.reward = reward;
    this.listener = listener == null ? SearchListener.NONE : listener;
    this.scheme = config.scheme();
    this.grid = config.timeGrid();
    this.dim = model.dim();
    if (model.nfePerEvaluation() != config.nfePerEvaluation()) {
      throw new IllegalArgumentException(
          "the model costs "
              + model.nfePerEvaluation()
              + " NFE per evaluation, the search config plans with "
              + config.nfePerEvaluation());
    }
    if (dim <= 0) {
      throw new IllegalArgumentException("model dim must be > 0, got " + dim);
    }
  }

  // ---- buffers ----

  /** A new F32 tensor of {@code rows} particles, zero-filled so that no garbage (NaN) lurks. */
  Tensor states(int rows) {
    Tensor t = ops.allocate(rows, dim, DType.F32);
    owned.add(t);
    try (Arena a = Arena.ofConfined()) {
      ops.upload(a.allocate(Math.max(1, t.byteSize()), 8), t);
    }
    return t;
  }

  /** Frees a tensor made by {@link #states} before the run ends (to bound peak memory). */
  void free(Tensor t) {
    if (t != null && owned.remove(t)) {
      t.close();
    }
  }

  /** A reusable scratch tensor; the same key gives the same tensor while the shape matches. */
  private Tensor scratch(String key, int rows, int cols, DType dtype) {
    Tensor t = scratch.get(key);
    if (t != null && t.rows() == rows && t.cols() == cols && t.dtype() == dtype) {
      return t;
    }
    if (t != null) {
      t.close();
    }
    t = ops.allocate(rows, cols, dtype);
    scratch.put(key, t);
    return t;
  }

  private Tensor doubles(String key, double[] values, int cols) {
    Tensor t = scratch(key, values.length / cols, cols, DType.F64);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_DOUBLE, Math.max(1, values.length));
      MemorySegment.copy(values, 0, s, JAVA_DOUBLE, 0, values.length);
      ops.upload(s, t);
    }
    return t;
  }

  private Tensor ints(String key, int[] values) {
    Tensor t = scratch(key, values.length, 1, DType.I32);
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_INT, Math.max(1, values.length));
      MemorySegment.copy(values, 0, s, JAVA_INT, 0, values.length);
      ops.upload(s, t);
    }
    return t;
  }

  /** A fresh noise stream; never returns the same one twice in a run. */
  long newStream() {
    return nextStream++;
  }

  /**
   * {@code rows} independent initial particles at {@code grid[0]}: standard normal draws scaled by
   * the sampling interpolant's sigma there (1 for the linear path at t = 1).
   */
  Tensor initialNoise(int rows) {
    Tensor x = states(rows);
    Noise noise = new Noise(config.seed(), newStream(), null);
    ops.gaussian(noise, x);
    double sigma = scheme.sampling().at(grid[0]).sigma();
    if (sigma != 1) {
      ops.affine(x, null, coefficients("init", rows, i -> new Affine(sigma, 0, 0)), null, x);
    }
    return x;
  }

  // ---- flow operations ----

  private interface RowAffine {
    Affine at(int row);
  }

  private Tensor coefficients(String key, int rows, RowAffine f) {
    double[] c = new double[3 * rows];
    for (int i = 0; i < rows; i++) {
      Affine a = f.at(i);
      c[3 * i] = a.x();
      c[3 * i + 1] = a.u();
      c[3 * i + 2] = a.z();
    }
    return doubles(key, c, 3);
  }

  /** The model's input for states at sampling times r: {@code x * inputScale}; x itself if 1. */
  private Tensor modelInput(Tensor x, Conversion[] cv) {
    boolean scaled = false;
    for (Conversion c : cv) {
      scaled |= c.inputScale() != 1;
    }
    if (!scaled) {
      return x;
    }
    Tensor in = scratch("model-input", x.rows(), x.cols(), x.dtype());
    ops.affine(
        x,
        null,
        coefficients("model-input-coef", x.rows(), i -> new Affine(cv[i].inputScale(), 0, 0)),
        null,
        in);
    return in;
  }

  private Conversion[] conversions(double[] r) {
    Conversion[] cv = new Conversion[r.length];
    for (int i = 0; i < r.length; i++) {
      if (!(r[i] > 0)) {
        throw new IllegalStateException("the model is never queried at time " + r[i]);
      }
      cv[i] = scheme.conversion(r[i]);
    }
    return cv;
  }

  private Tensor modelTimes(Conversion[] cv) {
    double[] t = new double[cv.length];
    for (int i = 0; i < cv.length; i++) {
      t[i] = cv[i].modelTime();
    }
    return doubles("model-time", t, 1);
  }

  /**
   * The raw model velocity of each row of {@code x} at sampling time {@code r[i] > 0} into {@code
   * u}: the model sees {@code x * inputScale} at its own time. Costs {@code rows} NFE.
   *
   * @throws IllegalStateException if that would exceed {@code max_nfe} (a method bug)
   */
  void velocity(Tensor x, double[] r, Tensor u) {
    int rows = x.rows();
    if (r.length != rows) {
      throw new IllegalArgumentException(
          "one time per row: " + r.length + " for " + rows + " rows");
    }
    long n = (long) rows * config.nfePerEvaluation();
    if (nfe + n > config.maxNfe()) {
      throw new IllegalStateException(
          "internal error: "
              + n
              + " more NFE after "
              + nfe
              + " would exceed max_nfe "
              + config.maxNfe());
    }
    checkStop();
    nextRound(rows);
    Conversion[] cv = conversions(r);
    Tensor in = modelInput(x, cv);
    Tensor t = modelTimes(cv);
    ops.synchronize();
    Events.ModelCall event = new Events.ModelCall();
    event.begin();
    long t0 = System.nanoTime();
    phase = SearchFailedException.Source.MODEL;
    model.velocity(ops, in, t, u);
    ops.synchronize();
    phase = SearchFailedException.Source.ENGINE;
    modelNanos += System.nanoTime() - t0;
    nfe += n;
    event.end();
    if (event.shouldCommit()) {
      event.method = config.method().configName();
      event.rows = rows;
      event.callNfe = n;
      event.nfe = nfe;
      event.commit();
    }
    listener.onProgress(nfe, config.maxNfe());
  }

  /**
   * Stops the run when the listener asks or the thread was interrupted: throws a {@link
   * SearchStoppedException} with the best sample so far.
   */
  private void checkStop() {
    boolean interrupted = Thread.interrupted();
    if (!interrupted && !listener.stopRequested()) {
      return;
    }
    if (interrupted) {
      Thread.currentThread().interrupt(); // keep the flag for the caller
    }
    throw new SearchStoppedException(
        interrupted
            ? SearchStoppedException.Reason.INTERRUPTED
            : SearchStoppedException.Reason.REQUESTED,
        partial());
  }

  /** Ends the current round's JFR event and starts the next one at a model call of n rows. */
  private void nextRound(int n) {
    endRound();
    Events.Round r = new Events.Round();
    if (rounds == 0) {
      firstRows = n;
    }
    r.round = rounds++;
    r.rows = n;
    r.begin();
    round = r;
  }

  private void endRound() {
    Events.Round r = round;
    round = null;
    if (r != null) {
      r.end();
      if (r.shouldCommit()) {
        r.method = config.method().configName();
        r.nfe = nfe;
        r.commit();
      }
    }
  }

  /** The source to blame for a failure that happens now. */
  SearchFailedException.Source phase() {
    return phase;
  }

  /**
   * Tweedie estimates {@code x0_hat} of the rows of x (velocity u) at times r into out. At {@code r
   * = 0} the state is its own estimate and u is not read.
   */
  void tweedie(Tensor x, Tensor u, double[] r, Tensor out) {
    boolean anyPositive = false;
    for (double ri : r) {
      anyPositive |= ri > 0;
    }
    Tensor coef =
        coefficients("tweedie", x.rows(), i -> r[i] > 0 ? scheme.tweedie(r[i]) : Affine.IDENTITY);
    ops.affine(x, anyPositive ? u : null, coef, null, out);
  }

  /**
   * One reverse-time step of every row from {@code from[i]} to {@code to[i]} (MATH.md section 4),
   * with a fresh noise stream; out may be x.
   *
   * <p>A step that ends at {@code t = 0} lands on the Tweedie estimate at {@code from[i]}: every
   * method's output is a "final Tweedie" (MATH.md section 6). For the linear ODE this is exactly
   * the Euler step ({@code x - r u}); for an SDE it leaves out the noise {@code g sqrt(d) z} that
   * nothing after the last step could remove (with the exp grid at 10 steps the last step starts at
   * {@code t = 0.44}, and that noise is about 0.4 per value under the paper's diffusion).
   */
  void step(Tensor x, Tensor u, double[] from, double[] to, Tensor out) {
    step(scheme, x, u, from, to, out);
  }

  /** {@link #step} with another scheme (Search over Paths' ODE solves use {@code scheme.ode()}). */
  void step(SamplingScheme s, Tensor x, Tensor u, double[] from, double[] to, Tensor out) {
    Affine[] a = new Affine[x.rows()];
    boolean noisy = false;
    for (int i = 0; i < a.length; i++) {
      a[i] = to[i] == 0 ? s.tweedie(from[i]) : s.step(from[i], from[i] - to[i]);
      noisy |= a[i].z() != 0;
    }
    long stream = newStream();
    Noise noise = noisy ? new Noise(config.seed(), stream, null) : null;
    ops.affine(x, u, coefficients("step", a.length, i -> a[i]), noise, out);
  }

  /**
   * Noises every row of x forward from time {@code s} to {@code f} with the sampling interpolant's
   * transition ({@link SamplingScheme#forward}), with a fresh noise stream; out may be x.
   */
  void noiseForward(Tensor x, double s, double f, Tensor out) {
    Affine a = scheme.forward(s, f);
    Noise noise = new Noise(config.seed(), newStream(), null);
    ops.affine(x, null, coefficients("forward", x.rows(), i -> a), noise, out);
  }

  /**
   * Rewards of the rows of {@code x0} (clean estimates), host side. {@code times[i]} is the
   * sampling time of row i's estimate (where the velocity it came from was evaluated), kept with
   * the best row so far.
   */
  double[] score(Tensor x0, double[] times) {
    int n = x0.rows();
    Tensor out = scratch("scores", n, 1, DType.F64);
    ops.synchronize();
    Events.RewardCall event = new Events.RewardCall();
    event.begin();
    long t0 = System.nanoTime();
    phase = SearchFailedException.Source.REWARD;
    reward.score(ops, x0, out);
    ops.synchronize();
    phase = SearchFailedException.Source.ENGINE;
    rewardNanos += System.nanoTime() - t0;
    rewardRows += n;
    commit(event, n, false);
    double[] scores = download(out, n);
    keepBest(x0, scores, times);
    return scores;
  }

  private void commit(Events.RewardCall event, int n, boolean gradient) {
    event.end();
    if (event.shouldCommit()) {
      event.method = config.method().configName();
      event.reward = reward.name();
      event.rows = n;
      event.gradient = gradient;
      event.commit();
    }
  }

  /**
   * Keeps a copy of the best scored row so far (on the backend, one row), so a run that stops or
   * fails early still has its best sample. Costs one row copy per improvement.
   */
  private void keepBest(Tensor x0, double[] scores, double[] times) {
    int best = -1;
    for (int i = 0; i < scores.length; i++) {
      if (scores[i] > bestSoFarReward && (best < 0 || scores[i] > scores[best])) {
        best = i;
      }
    }
    if (best < 0 || x0.dtype() != DType.F32 || x0.cols() != dim) {
      return;
    }
    if (bestSoFar == null) {
      bestSoFar = ops.allocate(1, dim, DType.F32);
    }
    ops.gather(x0, ints("best-index", new int[] {best}), bestSoFar);
    bestSoFarReward = scores[best];
    bestSoFarTime = times[best];
  }

  /**
   * What the run has now, as a result: the best scored sample so far, the NFE spent and the trace;
   * null when nothing was scored yet.
   */
  SearchResult partial() {
    if (bestSoFar == null) {
      return null;
    }
    try {
      return result(bestSoFar, 0, bestSoFar, 0, bestSoFarReward, bestSoFarTime);
    } catch (RuntimeException e) {
      return null; // the backend itself failed: nothing can be read back
    }
  }

  private double[] download(Tensor column, int n) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(JAVA_DOUBLE, Math.max(1, n));
      ops.download(column, s);
      double[] v = new double[n];
      MemorySegment.copy(s, JAVA_DOUBLE, 0, v, 0, n);
      return v;
    }
  }

  /**
   * The DPS direction {@code eta grad_x r(x0_hat(x)) / |r|} of each row of x (velocity u at times
   * {@code r > 0}) into out. With {@code x0_hat = a x + b u(s x)} the chain rule gives {@code J^T g
   * = a g + b s vjp(g)}, where g is the reward gradient at {@code x0_hat} and vjp the model's
   * vector-Jacobian product at its input {@code s x}. One gradient pass per row.
   */
  void dpsDirection(Tensor x, Tensor u, double[] r, Tensor out) {
    int n = x.rows();
    Conversion[] cv = conversions(r);
    Tensor x0 = scratch("dps-x0", n, dim, DType.F32);
    tweedie(x, u, r, x0);
    Tensor scores = scratch("dps-scores", n, 1, DType.F64);
    Tensor g = scratch("dps-grad", n, dim, DType.F32);
    checkStop();
    ops.synchronize();
    Events.RewardCall rewardEvent = new Events.RewardCall();
    rewardEvent.begin();
    long t0 = System.nanoTime();
    phase = SearchFailedException.Source.REWARD;
    reward.gradient(ops, x0, scores, g);
    ops.synchronize();
    phase = SearchFailedException.Source.ENGINE;
    long t1 = System.nanoTime();
    rewardNanos += t1 - t0;
    rewardRows += n;
    commit(rewardEvent, n, true);
    Tensor in = modelInput(x, cv);
    Tensor t = modelTimes(cv);
    Tensor vjp = scratch("dps-vjp", n, dim, DType.F32);
    ops.synchronize();
    Events.ModelCall modelEvent = new Events.ModelCall();
    modelEvent.begin();
    long t2 = System.nanoTime();
    phase = SearchFailedException.Source.MODEL;
    model.velocityVjp(ops, in, t, g, vjp);
    ops.synchronize();
    phase = SearchFailedException.Source.ENGINE;
    modelNanos += System.nanoTime() - t2;
    gradientPasses += (long) n * config.nfePerEvaluation();
    modelEvent.end();
    if (modelEvent.shouldCommit()) {
      modelEvent.method = config.method().configName();
      modelEvent.rows = n;
      modelEvent.gradient = true;
      modelEvent.nfe = nfe;
      modelEvent.commit();
    }
    Affine[] tw = new Affine[n];
    for (int i = 0; i < n; i++) {
      tw[i] = scheme.tweedie(r[i]);
    }
    Tensor jtg = scratch("dps-jtg", n, dim, DType.F32);
    ops.affine(
        g,
        vjp,
        coefficients("dps-chain", n, i -> new Affine(tw[i].x(), tw[i].u() * cv[i].inputScale(), 0)),
        null,
        jtg);
    double[] rv = download(scores, n);
    double eta = config.dpsStepSize();
    ops.affine(
        jtg,
        null,
        coefficients(
            "dps-scale",
            n,
            i -> new Affine(eta / Math.max(Math.abs(rv[i]), MIN_REWARD_SCALE), 0, 0)),
        null,
        out);
  }

  /** {@code target += delta}, row-wise. */
  void add(Tensor target, Tensor delta) {
    ops.affine(
        target, delta, coefficients("add", target.rows(), i -> new Affine(1, 1, 0)), null, target);
  }

  /** {@code dst[i] = src[index[i]]}; dst and src must differ. */
  void gather(Tensor src, int[] index, Tensor dst) {
    ops.gather(src, ints("gather-index", index), dst);
  }

  /**
   * Replaces the rows of dst where {@code take[i]} by the same rows of src (same shape), in one
   * fused pass ({@code 0 x + 1 u} is exact in float for the finite values every buffer holds).
   */
  void select(Tensor dst, Tensor src, boolean[] take) {
    boolean any = false;
    for (boolean b : take) {
      any |= b;
    }
    if (!any) {
      return;
    }
    ops.affine(
        dst,
        src,
        coefficients("select", dst.rows(), i -> take[i] ? new Affine(0, 1, 0) : Affine.IDENTITY),
        null,
        dst);
  }

  /** Row {@code row} of an F32 tensor on the host. */
  float[] row(Tensor t, int row) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(Math.max(1, t.byteSize()), 8);
      ops.download(t, s);
      float[] v = new float[t.cols()];
      MemorySegment.copy(s, JAVA_FLOAT, (long) row * t.cols() * 4, v, 0, t.cols());
      return v;
    }
  }

  /** Calls the listener's per-step hook when it asks for intermediates. */
  void intermediates(int step, double time, Tensor tweedies, double[] rewards) {
    if (!listener.wantsIntermediates()) {
      return;
    }
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(Math.max(1, tweedies.byteSize()), 8);
      ops.download(tweedies, s);
      float[] v = new float[(int) tweedies.elements()];
      MemorySegment.copy(s, JAVA_FLOAT, 0, v, 0, v.length);
      listener.onStep(step, time, v, tweedies.rows(), rewards.clone());
    }
  }

  // ---- accounting ----

  long nfe() {
    return nfe;
  }

  /** Rows of the first model call: the particles the method started with (0 before any). */
  int firstRows() {
    return firstRows;
  }

  /** Appends a trace entry stamped with the NFE spent so far. */
  void trace(int round, int chain, double time, double rewardValue, TraceEntry.Event event) {
    trace.add(new TraceEntry(round, chain, time, rewardValue, event, nfe));
  }

  /**
   * Builds the result; the chosen rows are downloaded. {@code outputTime} is the sampling time of
   * the sample's Tweedie estimate.
   */
  SearchResult result(
      Tensor samples, int sampleRow, Tensor states, int stateRow, double best, double outputTime) {
    float[] sample = row(samples, sampleRow);
    float[] state = samples == states && sampleRow == stateRow ? sample : row(states, stateRow);
    long total = System.nanoTime() - startNanos;
    return new SearchResult(
        config.method(),
        sample,
        state,
        best,
        outputTime,
        nfe,
        config.maxNfe(),
        gradientPasses,
        rewardRows,
        trace,
        new TimeSplit(modelNanos, rewardNanos, Math.max(0, total - modelNanos - rewardNanos)));
  }

  /** {@code n} copies of one value. */
  static double[] fill(int n, double v) {
    double[] a = new double[n];
    java.util.Arrays.fill(a, v);
    return a;
  }

  /** Index of the largest value, ties to the first; NaN never wins unless all are NaN. */
  static int argmax(double[] v, int from, int to) {
    int best = from;
    for (int i = from + 1; i < to; i++) {
      if (v[i] > v[best] || (Double.isNaN(v[best]) && !Double.isNaN(v[i]))) {
        best = i;
      }
    }
    return best;
  }

  @Override
  public void close() {
    endRound();
    if (bestSoFar != null) {
      bestSoFar.close();
      bestSoFar = null;
    }
    for (Tensor t : scratch.values()) {
      t.close();
    }
    scratch.clear();
    for (Tensor t : owned) {
      t.close();
    }
    owned.clear();
  }
}
