/**
 * The toy world: an exact text-to-image flow model and honest rewards that run on any CPU in
 * seconds, for users without a GPU and for tests whose right answers are known.
 *
 * <ul>
 *   <li>{@link org.flowscale.engine.toy.ToyWorld}: {@code K} procedurally generated 32x32 RGB
 *       templates of coloured circles, squares and triangles;
 *   <li>{@link org.flowscale.engine.toy.ToyModel}: the exact velocity (and its VJP) of the mixture
 *       {@code sum_k pi_k N(template_k, s^2 I)} under the linear interpolant, with the prompt
 *       reweighting the templates;
 *   <li>{@link org.flowscale.engine.toy.Prompt}: the prompt grammar ({@code two blue squares and
 *       one red circle});
 *   <li>{@link org.flowscale.engine.toy.Detector} and the rewards {@link
 *       org.flowscale.engine.toy.CountingReward}, {@link
 *       org.flowscale.engine.toy.CompositionalReward} and {@link
 *       org.flowscale.engine.toy.AestheticReward};
 *   <li>{@link org.flowscale.engine.toy.ToyModelFactory} ({@code model: toy}) and {@link
 *       org.flowscale.engine.toy.ToyRewardFactory} ({@code reward_score: counting | compositional |
 *       aesthetic}), found with {@link java.util.ServiceLoader}.
 * </ul>
 */
package org.flowscale.engine.toy;
