package org.flowscale.engine.search;

import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.ops.Tensor;

/**
 * Search over Paths (MATH.md section 6a, the reference's rewind trainer), in {@code t1000} units
 * {@code s0 = ode_seed_t}, {@code df = forward_step}, {@code db = backward_step}, {@code E =
 * ode_step}:
 *
 * <ol>
 *   <li>{@code B} noises at {@code t = 1} are solved with the ODE to {@code s0} in E Euler steps
 *       evenly spaced in t ({@code B E} NFE).
 *   <li>Each round replicates every chain's state K times, noises each copy forward from {@code s}
 *       to {@code f = s + df} with the sampling interpolant's transition, solves the ODE back to
 *       {@code max(0, f - db)} in E Euler steps ({@code B K E} NFE) and scores the Tweedie estimate
 *       of the last velocity evaluated; each chain keeps its copy of best reward. Rounds go on
 *       until {@code t = 0}: {@code ceil(s0 / (db - df))} of them, round k starting at {@code s0 -
 *       k (db - df)}.
 *   <li>The output is the kept estimate of the best chain.
 * </ol>
 *
 * {@code NFE = B E + B K E ceil(s0 / (db - df))}, refused when over {@code max_nfe}.
 *
 * <p>The ODE solves and the forward noise use the sampling interpolant, so Search over Paths runs
 * in every sampling mode: on the model's own (linear) path, or on VP or polynomial through the
 * conversion. Its ODE is the probability-flow ODE of that path whatever {@code sample_method} says
 * (the reference's solver is deterministic too); {@code max_steps}, {@code time_schedule}, {@code
 * time_shift} and {@code init_n_particles} are not read. The last Euler step of the last round
 * lands on its Tweedie estimate, as every method's step to {@code t = 0} does, so the output is
 * that round's kept estimate and {@code finalState} equals it.
 */
public final class Sop extends SearchTemplate {
  public Sop() {
    super(FilteringMethod.SOP);
  }

  @Override
  public void validate(SearchConfig config) {
    Rules.particleSchedule(config);
    Rules.noBlocks(config);
    Rules.sopBudget(config);
  }

  @Override
  SearchResult search(SearchConfig config, SearchRun run) {
    SopSettings sop = config.sop();
    SamplingScheme ode = run.scheme.ode();
    int chains = config.batchSize();
    int k = config.nParticles();
    int n = chains * k;
    int e = sop.odeStep();
    long rounds = sop.rounds();

    // 1. B noises, ODE from t = 1 to s0.
    Tensor chainX = run.initialNoise(chains);
    Tensor chainU = run.states(chains);
    Tensor chainX0 = run.states(chains);
    solve(run, ode, chainX, chainU, run.grid[0], sop.roundStart(0), e, chainX0);

    // 2. rounds of forward noise and ODE back, best of K per chain.
    Tensor x = run.states(n);
    Tensor u = run.states(n);
    Tensor x0 = run.states(n);
    int[] replicate = new int[n];
    for (int i = 0; i < n; i++) {
      replicate[i] = i / k;
    }
    double[] chainReward = new double[chains];
    double[] chainTime = new double[chains];
    double end = sop.roundStart(0);
    for (long round = 0; round < rounds; round++) {
      double start = sop.roundStart(round);
      double peak = sop.roundPeak(round);
      end = sop.roundStart(round + 1);
      run.gather(chainX, replicate, x);
      run.noiseForward(x, start, peak, x);
      double scored = solve(run, ode, x, u, peak, end, e, x0);
      double[] rewards = run.score(x0, SearchRun.fill(n, scored));
      int[] idx = new int[chains];
      int r = (int) round + 1;
      for (int b = 0; b < chains; b++) {
        idx[b] = SearchRun.argmax(rewards, b * k, (b + 1) * k);
        chainReward[b] = rewards[idx[b]];
        chainTime[b] = scored;
        for (int j = b * k; j < (b + 1) * k; j++) {
          run.trace(r, b, end, rewards[j], TraceEntry.Event.PROPOSED);
        }
        run.trace(r, b, end, chainReward[b], TraceEntry.Event.ACCEPTED);
      }
      run.gather(x, idx, chainX);
      run.gather(x0, idx, chainX0);
      run.intermediates(r, end, x0, rewards);
    }
    int best = SearchRun.argmax(chainReward, 0, chains);
    run.trace((int) rounds, best, end, chainReward[best], TraceEntry.Event.FINAL);
    return run.result(chainX0, best, chainX, best, chainReward[best], chainTime[best]);
  }

  /**
   * The ODE from {@code from} to {@code to} in {@code steps} Euler steps evenly spaced in t, in
   * place on x ({@code steps} NFE per row); {@code x0} receives the Tweedie estimate of the last
   * velocity evaluated, whose time is returned.
   */
  private static double solve(
      SearchRun run,
      SamplingScheme ode,
      Tensor x,
      Tensor u,
      double from,
      double to,
      int steps,
      Tensor x0) {
    int n = x.rows();
    double last = from;
    for (int j = 0; j < steps; j++) {
      double t = from - j * (from - to) / steps;
      double next = j == steps - 1 ? to : from - (j + 1) * (from - to) / steps;
      double[] now = SearchRun.fill(n, t);
      run.velocity(x, now, u);
      if (j == steps - 1) {
        run.tweedie(x, u, now, x0);
        last = t;
      }
      run.step(ode, x, u, now, SearchRun.fill(n, next), x);
    }
    return last;
  }
}
