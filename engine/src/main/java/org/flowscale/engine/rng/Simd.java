package org.flowscale.engine.rng;

/**
 * Whether the engine's vectorised loops (jdk.incubator.vector) are in use: the one place that
 * decides. Both forms give the same bits, so this changes speed only.
 *
 * <p>They are used when the JVM resolved the module ({@code --add-modules jdk.incubator.vector})
 * and its preferred vectors hold at least 4 ints, unless {@code -Dflowscale.simd=false}. Adding the
 * module is the opt-in, and it pays only in long-running processes: until the JIT's optimising
 * compiler has compiled them, vector operations run 100 to 1000 times slower than scalar code (each
 * is an object and a library call), and that takes about ten seconds of CPU time for the noise
 * loops. A short search (the command line's 500-NFE runs) finishes long before that, so {@code
 * bin/flowscale} does not add the module; {@code bin/bench} does, and so can any long run through
 * {@code FLOWSCALE_JAVA_OPTS} (see README, Benchmarks).
 */
public final class Simd {
  private static final String MODULE = "jdk.incubator.vector";
  private static final boolean AVAILABLE = detect();
  private static final boolean ENABLED =
      AVAILABLE && !"false".equalsIgnoreCase(System.getProperty("flowscale.simd", "true"));

  private Simd() {}

  /** Whether vectorised loops run by default in this JVM. */
  public static boolean enabled() {
    return ENABLED;
  }

  /** Whether they could run: the module is resolved and the vectors fit (tests force them). */
  public static boolean available() {
    return AVAILABLE;
  }

  /** A short description for reports and benchmarks, e.g. "jdk.incubator.vector, 16 lanes". */
  public static String describe() {
    if (ENABLED) {
      return MODULE + ", " + VectorNormals.LANES + " float lanes";
    }
    if (AVAILABLE) {
      return "scalar (flowscale.simd=false)";
    }
    return moduleResolved()
        ? "scalar (vectors narrower than 4 ints)"
        : "scalar (" + MODULE + " not resolved; java --add-modules " + MODULE + " enables it)";
  }

  private static boolean moduleResolved() {
    return ModuleLayer.boot().findModule(MODULE).isPresent();
  }

  private static boolean detect() {
    if (!moduleResolved()) {
      return false;
    }
    try {
      // Loads the vector classes only now that the module is known to be there.
      return VectorNormals.usable();
    } catch (LinkageError e) {
      return false;
    }
  }
}
