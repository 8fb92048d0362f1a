package org.flowscale.engine.search;

/**
 * Best of N (MATH.md section 6): {@code B} independent trajectories, the best final reward wins.
 */
public final class Bon extends Trajectories {
  public Bon() {
    super(FilteringMethod.BON, false);
  }
}
