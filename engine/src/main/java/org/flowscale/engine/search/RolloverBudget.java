package org.flowscale.engine.search;

import java.util.Arrays;
import org.flowscale.engine.ops.Tensor;

/**
 * Rollover budget forcing, the paper's method (MATH.md section 6), and RBF+DPS.
 *
 * <ol>
 *   <li>{@code B K0} initial noises, one velocity each at {@code t = 1}; each chain keeps its
 *       initial particle of best Tweedie reward, {@code r*_b}.
 *   <li>Quota {@code q = floor((N - B K0) / (S B))} NFE per chain per step.
 *   <li>Every round, every chain draws one SDE proposal from its current state to its next grid
 *       time, evaluates the velocity there (1 NFE) and scores its Tweedie. Chains sit at different
 *       steps, so times are per chain. A proposal beating {@code r*_b} is a rollover: the chain
 *       moves to it at once and the unused quota of this step is added to the next step's. Else,
 *       when the chain's quota for this step is used up, it moves to this step's best proposal
 *       ({@code r*_b} unchanged) with the plain quota {@code q}.
 *   <li>Rounds stop when the next one would exceed {@code N}: the engine spends the whole budget
 *       ({@code B K0 + B floor((N - B K0) / B)} NFE, all of it when B divides {@code N - B K0}),
 *       because the budget is what the user asked to spend. The reference implementation stops one
 *       round earlier, when {@code nfe + B >= N} (498 of 500 NFE at the paper's setting).
 *   <li>The output ({@code rbf_output}, ties to the first scored; the initial particles are not
 *       proposals):
 *       <ul>
 *         <li>{@code last_step} (the default, the reference's rule): each chain remembers the best
 *             proposal scored from the position it is on and forgets it whenever it advances; the
 *             output is the Tweedie estimate of the best of these over chains. It comes from the
 *             last step reached, where the estimate is sharp.
 *         <li>{@code run_best}: the Tweedie estimate of the highest-reward proposal of the whole
 *             run, whenever it was scored.
 *       </ul>
 *       The result's {@code outputTime} is the time the output was scored at (its proposal's).
 * </ol>
 *
 * <p><b>The last steps.</b> Chains advance at most to grid index {@code S - 2}; from there they
 * keep proposing onto the last nonzero time {@code t_{S-1}} with all the budget that is left (their
 * carried-over quota plus the quota of the final step and the division's remainder), rolling over
 * {@code r*_b} without moving. They never step to {@code t = 0}, because
 *
 * <ul>
 *   <li>a proposal at {@code t = 0} needs no model call (the state is its own Tweedie estimate), so
 *       it would either be free, breaking the meaning of the NFE budget, or be charged an NFE that
 *       is never spent;
 *   <li>the Tweedie estimate at {@code t_{S-1}} already is the denoised sample: for the linear ODE
 *       the final Euler step to 0 lands exactly on it, and an SDE step to 0 would only add noise
 *       {@code g sqrt(d) z} that nothing removes afterwards.
 * </ul>
 *
 * This is what the reference implementation does (it stops advancing two steps before the end and
 * keeps proposing there), so the paper's numbers were measured with it. The result's {@code
 * finalState} is the chosen proposal's state at its time (not 0). RBF therefore needs {@code
 * max_steps >= 2}.
 *
 * <p><b>The output choice.</b> An early Tweedie estimate is a blurred average of the data (on the
 * toy world, a see-through blend of layouts), and a reward can credit it: {@code run_best} then
 * returns a blur where a user wants a crisp picture. {@code last_step} returns a proposal scored
 * from the chain's final position, at the last nonzero time {@code t_{S-1}}. The initial particles
 * are never candidates: at {@code t = 1} all of them share one Tweedie estimate, the mean of the
 * data.
 *
 * <p>RBF+DPS nudges every proposal before it is scored: the gradient is taken once per chain
 * position (through the velocity already computed there) and added to each proposal from it.
 */
abstract class RolloverBudget extends SearchTemplate {
  private final boolean nudge;

  RolloverBudget(FilteringMethod id, boolean nudge) {
    super(id);
    this.nudge = nudge;
  }

  @Override
  public void validate(SearchConfig config) {
    Rules.particleSchedule(config);
    Rules.noBlocks(config);
    Rules.dpsStep(config);
    Rules.rbfBudget(config);
  }

  /**
   * The per-chain per-step quota {@code floor((N - B K0) / (S B))}, in evaluations (N the
   * evaluation budget: {@code max_nfe} halved under classifier-free guidance).
   */
  static long quota(SearchConfig c) {
    return (c.evaluationBudget() - (long) c.batchSize() * c.initNParticles())
        / ((long) c.maxSteps() * c.batchSize());
  }

  @Override
  SearchResult search(SearchConfig config, SearchRun run) {
    int chains = config.batchSize();
    int k0 = config.initNParticles();
    double[] grid = run.grid;
    int last = config.maxSteps() - 2;
    long q = quota(config);

    // 1. initial particles, each chain keeps its best
    int n0 = chains * k0;
    Tensor x = run.initialNoise(n0);
    Tensor u = run.states(n0);
    Tensor x0 = run.states(n0);
    double[] r = SearchRun.fill(n0, grid[0]);
    run.velocity(x, r, u);
    run.tweedie(x, u, r, x0);
    double[] initial = run.score(x0, r);
    Tensor cur = run.states(chains);
    Tensor curU = run.states(chains);
    double[] best = new double[chains];
    int[] idx = new int[chains];
    for (int b = 0; b < chains; b++) {
      idx[b] = SearchRun.argmax(initial, b * k0, (b + 1) * k0);
      best[b] = initial[idx[b]];
      for (int j = b * k0; j < (b + 1) * k0; j++) {
        run.trace(0, b, grid[0], initial[j], TraceEntry.Event.PROPOSED);
      }
      run.trace(0, b, grid[0], best[b], TraceEntry.Event.ACCEPTED);
    }
    run.gather(x, idx, cur);
    run.gather(u, idx, curU);
    run.intermediates(0, grid[0], x0, initial);
    run.free(x);
    run.free(u);
    run.free(x0);

    // 2.-4. rounds of proposals under per-chain quotas
    Tensor p = run.states(chains);
    Tensor pu = run.states(chains);
    Tensor p0 = run.states(chains);
    Tensor stepBest = run.states(chains);
    Tensor stepBestU = run.states(chains);
    Tensor dir = nudge ? run.states(chains) : null;
    // The output candidates, one per chain: its best proposal of the run (run_best), or of the
    // step it is on (last_step, forgotten whenever the chain advances).
    boolean lastStep = config.rbfOutput() == RbfOutput.LAST_STEP;
    Tensor outX0 = run.states(chains);
    Tensor outState = run.states(chains);
    boolean[] hasOut = new boolean[chains];
    double[] outReward = SearchRun.fill(chains, Double.NaN);
    double[] outTime = new double[chains];
    double[] stepBestReward = SearchRun.fill(chains, Double.NEGATIVE_INFINITY);
    boolean[] hasStepBest = new boolean[chains];
    int[] pos = new int[chains];
    long[] quota = new long[chains];
    long[] used = new long[chains];
    Arrays.fill(quota, q);
    if (nudge) {
      run.dpsDirection(cur, curU, times(grid, pos, 0), dir);
    }
    int round = 0;
    while (run.nfe() + (long) chains * config.nfePerEvaluation() <= config.maxNfe()) {
      round++;
      double[] from = times(grid, pos, 0);
      double[] to = times(grid, pos, 1);
      run.step(cur, curU, from, to, p);
      if (nudge) {
        run.add(p, dir);
      }
      run.velocity(p, to, pu);
      run.tweedie(p, pu, to, p0);
      double[] rp = run.score(p0, to);
      boolean[] newOut = new boolean[chains];
      boolean[] toProposal = new boolean[chains];
      boolean[] newStepBest = new boolean[chains];
      boolean[] toStepBest = new boolean[chains];
      for (int b = 0; b < chains; b++) {
        used[b]++;
        if (!hasOut[b]
            || rp[b] > outReward[b]
            || (Double.isNaN(outReward[b]) && !Double.isNaN(rp[b]))) {
          newOut[b] = true;
          hasOut[b] = true;
          outReward[b] = rp[b];
          outTime[b] = to[b];
        }
        if (rp[b] > best[b]) {
          best[b] = rp[b];
          run.trace(round, b, to[b], rp[b], TraceEntry.Event.ROLLED_OVER);
          if (pos[b] < last) {
            toProposal[b] = true;
            quota[b] = q + (quota[b] - used[b]);
          }
        } else {
          run.trace(round, b, to[b], rp[b], TraceEntry.Event.PROPOSED);
          if (rp[b] > stepBestReward[b] || (!hasStepBest[b] && !Double.isNaN(rp[b]))) {
            newStepBest[b] = true;
            hasStepBest[b] = true;
            stepBestReward[b] = rp[b];
          }
          if (pos[b] < last && used[b] >= quota[b]) {
            if (hasStepBest[b]) {
              toStepBest[b] = true;
              run.trace(round, b, to[b], stepBestReward[b], TraceEntry.Event.ACCEPTED);
            } else {
              // Every proposal of this step scored NaN: move on with the current one.
              toProposal[b] = true;
              run.trace(round, b, to[b], rp[b], TraceEntry.Event.ACCEPTED);
            }
            quota[b] = q;
          }
        }
        if (toProposal[b] || toStepBest[b]) {
          pos[b]++;
          used[b] = 0;
          hasStepBest[b] = false;
          stepBestReward[b] = Double.NEGATIVE_INFINITY;
          if (lastStep) {
            // This round's proposal belongs to the step just left: forget that step's record.
            newOut[b] = false;
            hasOut[b] = false;
            outReward[b] = Double.NaN;
          }
        }
      }
      run.select(stepBest, p, newStepBest);
      run.select(stepBestU, pu, newStepBest);
      run.select(cur, p, toProposal);
      run.select(curU, pu, toProposal);
      run.select(cur, stepBest, toStepBest);
      run.select(curU, stepBestU, toStepBest);
      run.select(outX0, p0, newOut);
      run.select(outState, p, newOut);
      if (nudge) {
        renudge(run, grid, pos, cur, curU, dir, toProposal, toStepBest);
      }
      run.intermediates(round, to[0], p0, rp);
    }
    int chosen = bestCandidate(hasOut, outReward);
    run.trace(round, chosen, outTime[chosen], outReward[chosen], TraceEntry.Event.FINAL);
    return run.result(outX0, chosen, outState, chosen, outReward[chosen], outTime[chosen]);
  }

  /**
   * The chain whose candidate has the highest reward, ties to the first; NaN loses unless every
   * candidate is NaN. Every chain ends with a candidate: under {@code last_step} a chain reaches
   * grid index {@code S - 2} within {@code (S - 2) q} rounds (its quota never exceeds {@code q} per
   * step on average) and the run has at least {@code S q} rounds, so at least {@code 2 q} proposals
   * are scored from the position it ends on.
   */
  private static int bestCandidate(boolean[] has, double[] reward) {
    int best = -1;
    for (int b = 0; b < has.length; b++) {
      if (!has[b]) {
        continue;
      }
      if (best < 0
          || reward[b] > reward[best]
          || (Double.isNaN(reward[best]) && !Double.isNaN(reward[b]))) {
        best = b;
      }
    }
    if (best < 0) {
      throw new IllegalStateException("internal error: no RBF chain has an output candidate");
    }
    return best;
  }

  /** The grid time at each chain's position plus {@code ahead}. */
  private static double[] times(double[] grid, int[] pos, int ahead) {
    double[] t = new double[pos.length];
    for (int b = 0; b < pos.length; b++) {
      t[b] = grid[pos[b] + ahead];
    }
    return t;
  }

  /** Recomputes the DPS direction of the chains that moved, one gradient pass each. */
  private static void renudge(
      SearchRun run,
      double[] grid,
      int[] pos,
      Tensor cur,
      Tensor curU,
      Tensor dir,
      boolean[] a,
      boolean[] b) {
    int chains = pos.length;
    boolean[] moved = new boolean[chains];
    int m = 0;
    for (int i = 0; i < chains; i++) {
      moved[i] = a[i] || b[i];
      m += moved[i] ? 1 : 0;
    }
    if (m == 0) {
      return;
    }
    int[] sub = new int[m];
    int[] back = new int[chains];
    double[] t = new double[m];
    for (int i = 0, j = 0; i < chains; i++) {
      if (moved[i]) {
        back[i] = j;
        t[j] = grid[pos[i]];
        sub[j++] = i;
      }
    }
    Tensor sx = run.states(m);
    Tensor su = run.states(m);
    Tensor sd = run.states(m);
    Tensor full = run.states(chains);
    run.gather(cur, sub, sx);
    run.gather(curU, sub, su);
    run.dpsDirection(sx, su, t, sd);
    run.gather(sd, back, full);
    run.select(dir, full, moved);
    run.free(sx);
    run.free(su);
    run.free(sd);
    run.free(full);
  }
}
