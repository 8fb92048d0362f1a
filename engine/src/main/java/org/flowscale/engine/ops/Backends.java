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

  /**
   * A backend named in a config: a provider's name and an optional device, {@code cpu}, {@code
   * cuda}, {@code cuda:1}.
   *
   * @param name the provider's name
   * @param device the device ordinal, or -1 when the spec names none (the provider's default)
   */
  public record Spec(String name, int device) {
    /**
     * Reads {@code name} or {@code name:N}.
     *
     * @throws IllegalArgumentException when the device part is not an ordinal
     */
    public static Spec parse(String spec) {
      if (spec == null || spec.isBlank()) {
        throw new IllegalArgumentException("a backend must be named (cpu, cuda, cuda:N)");
      }
      int colon = spec.indexOf(':');
      if (colon < 0) {
        return new Spec(spec, -1);
      }
      String n = spec.substring(colon + 1);
      if (!n.matches("[0-9]{1,4}")) {
        throw new IllegalArgumentException(
            "backend '" + spec + "': the device after ':' must be an ordinal (0, 1, ...)");
      }
      return new Spec(spec.substring(0, colon), Integer.parseInt(n));
    }

    @Override
    public String toString() {
      return device < 0 ? name : name + ":" + device;
    }
  }

  /**
   * Creates the backend of that spec ({@code cpu}, {@code cuda}, {@code cuda:1}), or explains which
   * exist and why this one cannot run.
   */
  public static ParticleOps create(String spec) {
    Spec s = Spec.parse(spec);
    List<String> known = new ArrayList<>();
    for (ParticleOpsProvider p : providers()) {
      known.add(p.name());
      if (p.name().equals(s.name())) {
        var why = p.unavailableReason();
        if (why.isPresent()) {
          throw new IllegalStateException(
              "particle backend '" + s.name() + "' cannot run here: " + why.get());
        }
        return s.device() < 0 ? p.create() : p.create(s.device());
      }
    }
    throw new IllegalArgumentException(
        "unknown particle backend '" + s.name() + "': available are " + known);
  }
}
