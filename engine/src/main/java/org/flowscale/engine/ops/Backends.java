package org.flowscale.engine.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds {@link ParticleOps} backends registered as {@link ParticleOpsProvider} services. */
public final class Backends {
  private Backends() {}

  /** Every backend on the class path (available or not). */
  public static List<ParticleOpsProvider> providers() {
    List<ParticleOpsProvider> out = new ArrayList<>();
    ServiceLoader.load(ParticleOpsProvider.class).forEach(out::add);
    return out;
  }

  /** Creates the backend of that name, or explains which exist and why this one cannot run. */
  public static ParticleOps create(String name) {
    List<String> known = new ArrayList<>();
    for (ParticleOpsProvider p : providers()) {
      known.add(p.name());
      if (p.name().equals(name)) {
        var why = p.unavailableReason();
        if (why.isPresent()) {
          throw new IllegalStateException(
              "particle backend '" + name + "' cannot run here: " + why.get());
        }
        return p.create();
      }
    }
    throw new IllegalArgumentException(
        "unknown particle backend '" + name + "': available are " + known);
  }
}
