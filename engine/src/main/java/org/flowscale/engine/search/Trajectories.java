package org.flowscale.engine.search;

import org.flowscale.engine.ops.Tensor;

/**
 * {@code B} independent trajectories from {@code t = 1} to 0 ({@code K = 1}), the best final sample
 * wins: BoN, and DPS when every step is nudged along the reward gradient. {@code NFE = B S}: one
 * velocity per particle at each of the {@code S} nonzero grid times.
 *
 * <p>The DPS nudge follows Chung et al.'s DPS: the gradient {@code grad_x r(x0_hat(x))} is taken at
 * the state a step leaves from, through the velocity already computed there (no extra NFE), and
 * added to the state the step lands on: {@code x' = step(x) + eta grad / |r|}.
 */
abstract class Trajectories extends SearchTemplate {
  private final boolean nudge;

  Trajectories(FilteringMethod id, boolean nudge) {
    super(id);
    this.nudge = nudge;
  }

  @Override
  public void validate(SearchConfig config) {
    Rules.particleSchedule(config);
    Rules.singleParticle(config);
    Rules.noBlocks(config);
    Rules.dpsStep(config);
    Rules.fixedBudget(config);
  }

  @Override
  SearchResult search(SearchConfig config, SearchRun run) {
    int n = config.batchSize();
    double[] grid = run.grid;
    int steps = config.maxSteps();
    Tensor x = run.initialNoise(n);
    Tensor u = run.states(n);
    Tensor next = run.states(n);
    Tensor dir = nudge ? run.states(n) : null;
    Tensor x0 = run.listener.wantsIntermediates() ? run.states(n) : null;
    for (int i = 0; i < steps; i++) {
      double[] r = SearchRun.fill(n, grid[i]);
      run.velocity(x, r, u);
      if (x0 != null) {
        run.tweedie(x, u, r, x0);
        run.intermediates(i, grid[i], x0, run.score(x0, r));
      }
      run.step(x, u, r, SearchRun.fill(n, grid[i + 1]), next);
      if (nudge) {
        run.dpsDirection(x, u, r, dir);
        run.add(next, dir);
      }
      Tensor swap = x;
      x = next;
      next = swap;
    }
    // At t = 0 the state is its own Tweedie estimate.
    double[] rewards = run.score(x, SearchRun.fill(n, grid[steps - 1]));
    for (int b = 0; b < n; b++) {
      run.trace(steps, b, 0, rewards[b], TraceEntry.Event.PROPOSED);
    }
    int best = SearchRun.argmax(rewards, 0, n);
    run.trace(steps, best, 0, rewards[best], TraceEntry.Event.FINAL);
    return run.result(x, best, x, best, rewards[best], grid[steps - 1]);
  }
}
