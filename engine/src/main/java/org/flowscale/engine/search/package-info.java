/**
 * The search algorithms of MATH.md section 6 and their shared contract.
 *
 * <p>Callers use {@link org.flowscale.engine.search.SearchMethods#of} to get a {@link
 * org.flowscale.engine.search.SearchMethod} for a {@link
 * org.flowscale.engine.search.FilteringMethod}, {@link
 * org.flowscale.engine.search.SearchMethod#validate} a {@link
 * org.flowscale.engine.search.SearchConfig} (budget and block-size rules, refused with the numbers
 * that clash and what fits), {@link org.flowscale.engine.search.SearchMethod#checkInputs} the model
 * and reward (the DPS methods need gradients), then {@link
 * org.flowscale.engine.search.SearchMethod#run}.
 *
 * <p>Methods and NFE spent ({@code B} chains, {@code K} particles, {@code S} steps, {@code N}
 * budget):
 *
 * <ul>
 *   <li>{@code bon}, {@code dps} ({@link org.flowscale.engine.search.Bon}, {@link
 *       org.flowscale.engine.search.Dps}): {@code B S};
 *   <li>{@code smc} ({@link org.flowscale.engine.search.Smc}): {@code B S};
 *   <li>{@code code}, {@code svdd}, {@code svdd_dps} ({@link org.flowscale.engine.search.Code},
 *       {@link org.flowscale.engine.search.Svdd}, {@link org.flowscale.engine.search.SvddDps}):
 *       {@code B K S};
 *   <li>{@code svdd} and {@code smc} with {@code particle_schedule linear} ({@link
 *       org.flowscale.engine.search.ParticleSchedule}): {@code B floor(N / B)} (SMC: {@code B = 1},
 *       so exactly {@code N});
 *   <li>{@code rbf}, {@code rbf_dps} ({@link org.flowscale.engine.search.Rbf}, {@link
 *       org.flowscale.engine.search.RbfDps}): {@code B K0 + B floor((N - B K0) / B)}, the most
 *       rounds that fit;
 *   <li>{@code sop} ({@link org.flowscale.engine.search.Sop}): {@code B E + B K E ceil(s0 / (db -
 *       df))}.
 * </ul>
 *
 * <p>Conventions shared by every method (implemented once, in {@code SearchRun}): the model is
 * queried at {@code x * inputScale} and its own time (the conversion); a step that ends at {@code t
 * = 0} lands on the Tweedie estimate (every method's output is a final Tweedie, and no SDE noise is
 * added after the last model call); rewards are always taken on Tweedie estimates; every random
 * draw is addressed by (seed, stream, row, element) with a fresh stream per operation, so a run is
 * reproducible bit for bit; the time split times model and reward calls between backend
 * synchronisations.
 */
package org.flowscale.engine.search;
