package org.flowscale.engine.search;

import org.flowscale.engine.ops.Tensor;

/**
 * Sequential Monte Carlo as in DAS / FK steering (MATH.md section 6): {@code B} particles whose
 * log-weights start at {@code r0 / lam}; before each step, when {@code ESS < ess_threshold B},
 * particles (states, last velocities, last rewards) are resampled in proportion to their weights
 * and the weights reset to uniform; after each step every weight is multiplied by {@code exp((r_new
 * - r_prev) / lam)}. There is no resampling before the last step: that step lands on the Tweedie
 * estimate each particle was just scored on, so it cannot change a reward, and resampling there
 * would only make the final weights uniform and the output an arbitrary resampled row. The particle
 * of largest final weight is returned, ties to the higher final reward. {@code NFE = B S}.
 *
 * <p>With {@code particle_schedule linear} (MATH.md section 6b) one population ({@code batch_size
 * 1}) has {@code n_i} particles at grid time i, shrinking linearly so that they add up to exactly
 * {@code max_nfe}. Before each step but the last, the population is resampled onto the next time's
 * count whenever that count differs (and, as always, when ESS falls below the threshold); the step
 * to {@code t = 0} keeps the last count (no NFE), as the reference does by repeating it.
 */
public final class Smc extends SearchTemplate {
  public Smc() {
    super(FilteringMethod.SMC);
  }

  @Override
  public void validate(SearchConfig config) {
    Rules.singleParticle(config);
    Rules.noBlocks(config);
    Rules.particleSchedule(config);
    if (config.particleSchedule() == ParticleSchedule.CONSTANT) {
      Rules.fixedBudget(config);
    }
  }

  /** The population at each of the {@code S} nonzero grid times. */
  static int[] counts(SearchConfig config) {
    return config.particleSchedule() == ParticleSchedule.LINEAR
        ? ParticleSchedule.linear(config.evaluationBudget(), config.maxSteps())
        : ParticleSchedule.CONSTANT.counts(config.batchSize(), 0, config.maxSteps());
  }

  /** The index of the largest log-weight, ties to the higher reward, then to the first. */
  static int largestWeight(double[] logW, double[] reward) {
    int best = SearchRun.argmax(logW, 0, logW.length);
    for (int i = 0; i < logW.length; i++) {
      if (logW[i] == logW[best] && reward[i] > reward[best]) {
        best = i;
      }
    }
    return best;
  }

  @Override
  SearchResult search(SearchConfig config, SearchRun run) {
    int[] counts = counts(config);
    int n = counts[0];
    try (LogWeights weights = new LogWeights(run.ops, n)) {
      double lam = config.rewardWeight();
      double[] grid = run.grid;
      int steps = config.maxSteps();
      Tensor x = run.initialNoise(n);
      Tensor u = run.states(n);
      Tensor x0 = run.states(n);
      Tensor spare = run.states(n);
      double[] r = SearchRun.fill(n, grid[0]);
      run.velocity(x, r, u);
      run.tweedie(x, u, r, x0);
      double[] prev = run.score(x0, r);
      double[] logW = new double[n];
      for (int b = 0; b < n; b++) {
        logW[b] = prev[b] / lam;
        run.trace(0, b, grid[0], prev[b], TraceEntry.Event.PROPOSED);
      }
      weights.set(logW);
      run.intermediates(0, grid[0], x0, prev);
      for (int i = 0; i < steps; i++) {
        // Never before the last step: it lands on the Tweedie estimate each particle was just
        // scored on, so its reward cannot change, and resampling would only make the final
        // weights uniform and the output an arbitrary resampled row.
        int next = counts[Math.min(i + 1, steps - 1)];
        if (i < steps - 1 && (next != n || weights.ess() < config.essThreshold() * n)) {
          int[] idx = weights.resample(config.resampling(), config.seed(), run.newStream(), next);
          if (next == n) {
            run.gather(x, idx, spare);
            Tensor t = x;
            x = spare;
            spare = t;
            run.gather(u, idx, spare);
            t = u;
            u = spare;
            spare = t;
          } else {
            // The schedule changes the population's size: fresh buffers of the next size.
            Tensor nx = run.states(next);
            Tensor nu = run.states(next);
            run.gather(x, idx, nx);
            run.gather(u, idx, nu);
            for (Tensor t : new Tensor[] {x, u, x0, spare}) {
              run.free(t);
            }
            x = nx;
            u = nu;
            x0 = run.states(next);
            spare = run.states(next);
          }
          double[] kept = new double[next];
          for (int b = 0; b < next; b++) {
            kept[b] = prev[idx[b]];
            run.trace(i, idx[b], grid[i], kept[b], TraceEntry.Event.RESAMPLED);
          }
          prev = kept;
          n = next;
          weights.reset(n);
        }
        double[] to = SearchRun.fill(n, grid[i + 1]);
        run.step(x, u, SearchRun.fill(n, grid[i]), to, x);
        Tensor est = x;
        double estTime = grid[i];
        if (grid[i + 1] > 0) {
          run.velocity(x, to, u);
          run.tweedie(x, u, to, x0);
          est = x0;
          estTime = grid[i + 1];
        }
        double[] now = run.score(est, SearchRun.fill(n, estTime));
        double[] delta = new double[n];
        for (int b = 0; b < n; b++) {
          delta[b] = (now[b] - prev[b]) / lam;
          run.trace(i + 1, b, grid[i + 1], now[b], TraceEntry.Event.PROPOSED);
        }
        weights.add(delta);
        prev = now;
        run.intermediates(i + 1, grid[i + 1], est, now);
      }
      int best = largestWeight(weights.values(), prev);
      run.trace(steps, best, 0, prev[best], TraceEntry.Event.FINAL);
      return run.result(x, best, x, best, prev[best], grid[steps - 1]);
    }
  }
}
