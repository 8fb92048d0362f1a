package org.flowscale.engine.toy;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.flowscale.engine.model.FactorySettings;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.ModelFactory;
import org.flowscale.engine.model.PromptCache;
import org.flowscale.engine.model.VelocityModel;

/**
 * The {@code toy} model: the exact velocity of the toy world's Gaussian mixture, conditioned on a
 * prompt. Settings (all optional):
 *
 * <ul>
 *   <li>{@code template_seed} (integer, default {@value ToyWorld#DEFAULT_SEED}): the seed the
 *       templates are generated from;
 *   <li>{@code n_templates} (integer in [{@value ToyWorld#COVERAGE_TEMPLATES}, {@value
 *       #MAX_TEMPLATES}], default {@value ToyWorld#DEFAULT_TEMPLATES}): the number {@code K} of
 *       templates; the minimum keeps every one-fact prompt and every two-fact prompt with counts of
 *       one or two satisfiable;
 *   <li>{@code noise_std} (number in (0, 1], default {@value #DEFAULT_NOISE_STD}): the per-pixel
 *       standard deviation {@code s} of each mixture component;
 *   <li>{@code beta} (number in [0, 100], default {@value #DEFAULT_BETA}): how strongly the prompt
 *       reweights the templates, {@code pi_k ~ exp(beta * match)} with {@code match} the fraction
 *       of the prompt's facts template k satisfies.
 * </ul>
 *
 * A null prompt gives the unconditional model (uniform weights); a prompt that does not parse is
 * refused with the parser's message. The templates are generated once per loaded model; each
 * prompt's mixture weights are computed once and cached (the {@value #CACHED_PROMPTS} most recent
 * prompts).
 *
 * <p>The default {@code beta} is calibrated so that plain sampling of two-fact prompts scores about
 * 0.73 on the compositional reward, like FLUX.1's base VQAScore of 0.726 in the paper: see {@code
 * BetaCalibrationTest}.
 */
public final class ToyModelFactory implements ModelFactory {
  /** The default prompt strength (calibrated, see the class comment). */
  public static final double DEFAULT_BETA = 7.0;

  /** The default per-pixel standard deviation: small enough for crisp samples. */
  public static final double DEFAULT_NOISE_STD = 0.05;

  /** The most templates a config may ask for (memory: 12 KB each). */
  public static final int MAX_TEMPLATES = 16384;

  /** How many prompts a loaded toy model keeps conditioned. */
  public static final int CACHED_PROMPTS = 64;

  private static final Set<String> KEYS =
      Set.of("template_seed", "n_templates", "noise_std", "beta");

  private static volatile ToyWorld lastWorld;

  @Override
  public String name() {
    return "toy";
  }

  @Override
  public Set<String> keys() {
    return KEYS;
  }

  @Override
  public FlowModel load(Map<String, Object> settings) {
    FactorySettings.checkKeys(settings, KEYS, "model 'toy'");
    long seed =
        FactorySettings.integer(
            settings, "template_seed", ToyWorld.DEFAULT_SEED, Long.MIN_VALUE, Long.MAX_VALUE);
    int count =
        (int)
            FactorySettings.integer(
                settings,
                "n_templates",
                ToyWorld.DEFAULT_TEMPLATES,
                ToyWorld.COVERAGE_TEMPLATES,
                MAX_TEMPLATES);
    double noise = FactorySettings.number(settings, "noise_std", DEFAULT_NOISE_STD, 0, true, 1);
    double beta = FactorySettings.number(settings, "beta", DEFAULT_BETA, 0, false, 100);
    ToyWorld world = world(seed, count);
    PromptCache<ToyModel> cache = new PromptCache<>(CACHED_PROMPTS, null);
    return new FlowModel() {
      @Override
      public int dim() {
        return ToyWorld.DIM;
      }

      @Override
      public long[] shape() {
        return new long[] {ToyWorld.SIZE, ToyWorld.SIZE, ToyWorld.CHANNELS};
      }

      @Override
      public Optional<ImageDecoder> imageDecoder() {
        return Optional.of(ImageDecoder.pixels(ToyWorld.SIZE, ToyWorld.SIZE));
      }

      @Override
      public VelocityModel condition(String prompt) {
        return cache.get(
            prompt, p -> ToyModel.of(world, p == null ? null : Prompt.parse(p), noise, beta));
      }

      @Override
      public void close() {
        cache.clear();
      }

      @Override
      public String toString() {
        return "toy world (" + count + " templates, seed " + seed + ")";
      }
    };
  }

  /** The world for (seed, count), reusing the last one made: searches make many models. */
  static ToyWorld world(long seed, int count) {
    ToyWorld w = lastWorld;
    if (w == null || w.seed() != seed || w.size() != count) {
      w = ToyWorld.generate(seed, count);
      lastWorld = w;
    }
    return w;
  }
}
