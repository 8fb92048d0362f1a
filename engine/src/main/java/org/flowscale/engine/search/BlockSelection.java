package org.flowscale.engine.search;

import org.flowscale.engine.ops.Tensor;

/**
 * CoDe and SVDD (MATH.md section 6): {@code B} chains, each replicated into {@code K} particles
 * that advance {@code Lb} steps stochastically, after which each chain keeps its particle of best
 * Tweedie reward. SVDD is {@code Lb = 1}; SVDD+DPS nudges every proposal along the reward gradient
 * before it is scored.
 *
 * <p>Budget {@code NFE = B K S}, spent as: {@code B K} distinct initial noises evaluated at {@code
 * t = 1} (the first selection picks each chain's best of them, so that no evaluation is spent on
 * identical copies), then {@code B K} evaluations at each of the {@code S - 1} later nonzero grid
 * times. Particles landing at {@code t = 0} are their own Tweedie estimates and cost nothing. With
 * a particle schedule ({@link #counts}), {@code K} is replaced by the count of each grid time, so
 * the run spends {@code B} times their sum; each selection keeps a chain's best and replicates it
 * into the next time's count.
 */
abstract class BlockSelection extends SearchTemplate {
  private final boolean nudge;

  BlockSelection(FilteringMethod id, boolean nudge) {
    super(id);
    this.nudge = nudge;
  }

  /** Steps between selections. */
  abstract int blockSize(SearchConfig config);

  /**
   * Particles per chain evaluated at each of the {@code S} nonzero grid times ({@code K} at every
   * one unless a particle schedule says otherwise); the step to {@code t = 0} repeats the last.
   */
  int[] counts(SearchConfig config) {
    return ParticleSchedule.CONSTANT.counts(config.nParticles(), 0, config.maxSteps());
  }

  private static int[] replicate(int chains, int k) {
    int[] index = new int[chains * k];
    for (int i = 0; i < index.length; i++) {
      index[i] = i / k;
    }
    return index;
  }

  @Override
  SearchResult search(SearchConfig config, SearchRun run) {
    int chains = config.batchSize();
    int[] counts = counts(config);
    int k = counts[0];
    int n = chains * k;
    int steps = config.maxSteps();
    int block = blockSize(config);
    double[] grid = run.grid;
    Tensor x = run.initialNoise(n);
    Tensor u = run.states(n);
    Tensor x0 = run.states(n);
    Tensor chainX = run.states(chains);
    Tensor chainU = run.states(chains);
    Tensor dir = nudge ? run.states(chains) : null;
    Tensor dirAll = nudge ? run.states(n) : null;
    if (nudge && block != 1) {
      // The shared per-chain gradient is only right while the particles still share a state.
      throw new IllegalStateException("nudged block selection runs with block_size 1");
    }
    int[] replicate = replicate(chains, k);
    double[] r = SearchRun.fill(n, grid[0]);
    run.velocity(x, r, u);
    run.tweedie(x, u, r, x0);
    double[] chainReward = select(run, 0, grid[0], x, u, x0, run.score(x0, r), chainX, chainU, k);
    int i = 0;
    int round = 0;
    while (i < steps) {
      int len = Math.min(block, steps - i);
      // The count of the population this block lands on (a schedule changes it only with SVDD,
      // whose blocks are single steps).
      int next = counts[Math.min(i + 1, steps - 1)];
      if (next != k) {
        k = next;
        n = chains * k;
        run.free(x);
        run.free(u);
        run.free(x0);
        run.free(dirAll);
        x = run.states(n);
        u = run.states(n);
        x0 = run.states(n);
        dirAll = nudge ? run.states(n) : null;
        replicate = replicate(chains, k);
      }
      run.gather(chainX, replicate, x);
      run.gather(chainU, replicate, u);
      for (int l = 0; l < len; l++, i++) {
        double[] from = SearchRun.fill(n, grid[i]);
        double[] to = SearchRun.fill(n, grid[i + 1]);
        if (nudge) {
          // The proposals of a chain leave from one state: one gradient per chain, shared.
          run.dpsDirection(chainX, chainU, SearchRun.fill(chains, grid[i]), dir);
          run.gather(dir, replicate, dirAll);
        }
        run.step(x, u, from, to, x);
        if (nudge) {
          run.add(x, dirAll);
        }
        if (grid[i + 1] > 0) {
          run.velocity(x, to, u);
        }
      }
      round++;
      Tensor est = x;
      // At t = 0 the state is the estimate of the time the last step left.
      double estTime = grid[i] > 0 ? grid[i] : grid[i - 1];
      if (grid[i] > 0) {
        run.tweedie(x, u, SearchRun.fill(n, grid[i]), x0);
        est = x0;
      }
      double[] rewards = run.score(est, SearchRun.fill(n, estTime));
      chainReward = select(run, round, grid[i], x, u, est, rewards, chainX, chainU, k);
    }
    int best = SearchRun.argmax(chainReward, 0, chains);
    run.trace(round, best, 0, chainReward[best], TraceEntry.Event.FINAL);
    return run.result(chainX, best, chainX, best, chainReward[best], grid[steps - 1]);
  }

  /** Keeps each chain's particle of best reward; returns the chains' rewards. */
  private static double[] select(
      SearchRun run,
      int round,
      double time,
      Tensor x,
      Tensor u,
      Tensor est,
      double[] rewards,
      Tensor chainX,
      Tensor chainU,
      int k) {
    int chains = chainX.rows();
    int[] idx = new int[chains];
    double[] chosen = new double[chains];
    for (int b = 0; b < chains; b++) {
      idx[b] = SearchRun.argmax(rewards, b * k, (b + 1) * k);
      chosen[b] = rewards[idx[b]];
      for (int j = b * k; j < (b + 1) * k; j++) {
        run.trace(round, b, time, rewards[j], TraceEntry.Event.PROPOSED);
      }
      run.trace(round, b, time, chosen[b], TraceEntry.Event.ACCEPTED);
    }
    run.gather(x, idx, chainX);
    run.gather(u, idx, chainU);
    run.intermediates(round, time, est, rewards);
    return chosen;
  }
}
