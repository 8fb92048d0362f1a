package org.flowscale.engine.ops;

import java.util.Locale;

/** How resampling draws indices in proportion to weights. */
public enum Resampling {
  /** Independent categorical draws (the default, as in DAS / FK steering). */
  MULTINOMIAL,
  /** One uniform offset and evenly spaced positions: lower variance. */
  SYSTEMATIC;

  public static Resampling byName(String name) {
    for (Resampling r : values()) {
      if (r.name().toLowerCase(Locale.ROOT).equals(name)) {
        return r;
      }
    }
    throw new IllegalArgumentException(
        "unknown resampling '" + name + "': expected multinomial or systematic");
  }
}
