package org.flowscale.engine.search;

import java.util.Locale;
import java.util.OptionalInt;

/**
 * A run produced NaN or an infinity and was stopped: the message names what held it (a velocity, a
 * reward, a Tweedie estimate, a gradient), the particle (its row in the batch the call was given),
 * the step and time when known, and the source to blame. The search wraps it in a {@link
 * SearchFailedException} with that source and the best sample scored before it.
 *
 * <p>Sources: {@link SearchFailedException.Source#MODEL} when the model returned non-finite values
 * for finite inputs, {@link SearchFailedException.Source#REWARD} when the reward did, {@link
 * SearchFailedException.Source#ENGINE} when the sampler's own arithmetic overflowed (a state or a
 * Tweedie estimate became non-finite from finite velocities, e.g. under a diffusion too strong for
 * the step size).
 */
public final class NonFiniteException extends ArithmeticException {
  private final SearchFailedException.Source source;
  private final String quantity;
  private final int particle;
  private final int step;
  private final double time;

  NonFiniteException(
      SearchFailedException.Source source,
      String quantity,
      String value,
      int particle,
      int step,
      int steps,
      double time,
      long modelCalls,
      long nfe) {
    super(message(source, quantity, value, particle, step, steps, time, modelCalls, nfe));
    this.source = source;
    this.quantity = quantity;
    this.particle = particle;
    this.step = step;
    this.time = time;
  }

  private static String message(
      SearchFailedException.Source source,
      String quantity,
      String value,
      int particle,
      int step,
      int steps,
      double time,
      long modelCalls,
      long nfe) {
    String who =
        switch (source) {
          case MODEL -> "the model returned " + value + " in its " + quantity;
          case REWARD -> "the reward returned " + value + " as its " + quantity;
          case ENGINE -> "the sampler's " + quantity + " became " + value;
        };
    StringBuilder b = new StringBuilder(who).append(" for particle ").append(particle);
    if (step >= 0) {
      b.append(" at step ").append(step).append(" of ").append(steps);
    }
    if (!Double.isNaN(time)) {
      b.append(String.format(Locale.ROOT, " (t = %.4g)", time));
    }
    b.append(", model call ").append(modelCalls).append(" after ").append(nfe).append(" NFE");
    if (source == SearchFailedException.Source.ENGINE) {
      b.append(
          "; the velocities were finite, so the sampling arithmetic overflowed (a diffusion too"
              + " strong for the step size?)");
    }
    return b.toString();
  }

  /** Whom to blame: the model, the reward, or the sampler (engine). */
  public SearchFailedException.Source source() {
    return source;
  }

  /** What held the value: {@code velocity}, {@code reward}, {@code Tweedie estimate}, ... */
  public String quantity() {
    return quantity;
  }

  /** The particle: its row in the batch of the call that produced the value. */
  public int particle() {
    return particle;
  }

  /** The grid step the particle sat at, when known. */
  public OptionalInt step() {
    return step < 0 ? OptionalInt.empty() : OptionalInt.of(step);
  }

  /** The sampling time, NaN when unknown. */
  public double time() {
    return time;
  }
}
