package org.flowscale.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flowscale.engine.model.Factories;

/**
 * A cheap look at a {@code run} command line, before picocli and the config resolver start, to find
 * the model and reward the config names and let their factories {@link
 * org.flowscale.engine.model.ModelFactory#prepare prepare} in the background (the TorchScript and
 * FLUX factories start loading the libtorch shim, about a second on a cold start, which then
 * overlaps with the rest of start-up). Only a hint: it reads the config file's top-level {@code
 * model:} and {@code reward_score:} lines and the {@code model=} / {@code reward_score=} overrides,
 * and a guess that misses only costs the overlap; the real config is resolved and checked as
 * before, and a load that fails in the background is reported by the run exactly as without it.
 * Anything unusual (another command, no readable config, a value it cannot read) prepares nothing.
 *
 * <p>The cost: a run that fails before it needs the shim (a bad override, say) still waits for the
 * load to finish before it exits, since the exit's own JNI methods wait for the loader lock (about
 * 0.7 s more on a cold start, bench/RESULTS.md). Calling {@link #start} after the config is
 * resolved instead would avoid that and give up most of the overlap.
 */
final class Preload {
  private Preload() {}

  /** Configs larger than this are not looked at (a config is a few hundred bytes). */
  private static final long MAX_CONFIG_BYTES = 1 << 20;

  /** Prepares the factories a {@code run} command line names; never throws. */
  static void start(String[] args) {
    try {
      List<String> models = models(args);
      List<String> rewards = rewards(args);
      if (models.isEmpty() && rewards.isEmpty()) {
        return;
      }
      bindNatives();
      for (String name : models) {
        Factories.model(name).prepare();
      }
      for (String name : rewards) {
        Factories.reward(name).prepare();
      }
    } catch (RuntimeException | IOException e) {
      // Only a hint: the run reports whatever is wrong when it gets there.
    }
  }

  /**
   * While the dynamic loader maps libtorch and runs its constructors (most of that second), it
   * holds the C library's loader lock, and the JVM binds a JNI method on its first call with dlsym,
   * which takes that lock: a thread that calls a JDK native method for the first time then waits
   * for the whole load. So this thread first calls, once, the JDK natives that the command line and
   * the config resolver reach first (found with {@code -Xlog:jni+resolve=debug}): stack traces,
   * reflective arrays, annotations (their values, their proxy classes and its dynamic module), the
   * environment, and reading a file through NIO. A native missed here only costs part of the
   * overlap.
   */
  private static void bindNatives() {
    new Throwable().fillInStackTrace();
    Object array = java.lang.reflect.Array.newInstance(String.class, 1);
    java.lang.reflect.Array.getLength(array);
    String.class.isInstance(array);
    picocli.CommandLine.Command command =
        RunCommand.class.getAnnotation(picocli.CommandLine.Command.class);
    if (command != null) {
      command.name();
    }
    System.getenv();
    // A pattern switch: its bootstrap asks whether preview features are enabled (a native).
    Object any = array;
    String kind =
        switch (any) {
          case String[] strings -> "strings";
          default -> "other";
        };
    kind.length();
    // (The config file was read through NIO by names().)
  }

  /** The model names the command line's config would use (at most one). */
  static List<String> models(String[] args) throws IOException {
    return names(args, "model");
  }

  /** The reward names the command line's config would use (at most one). */
  static List<String> rewards(String[] args) throws IOException {
    return names(args, "reward_score");
  }

  private static List<String> names(String[] args, String key) throws IOException {
    int i = 0;
    while (i < args.length && args[i].equals("--debug")) {
      i++;
    }
    if (i >= args.length || !args[i].equals("run")) {
      return List.of();
    }
    Path config = null;
    String override = null;
    for (i++; i < args.length; i++) {
      String a = args[i];
      if ((a.equals("--config") || a.equals("-c")) && i + 1 < args.length) {
        config = Path.of(args[++i]);
      } else if (a.startsWith("--config=")) {
        config = Path.of(a.substring("--config=".length()));
      } else if (a.startsWith(key + "=")) {
        override = plain(a.substring(key.length() + 1));
      }
    }
    if (override != null) {
      return List.of(override);
    }
    if (config == null || !Files.isRegularFile(config) || Files.size(config) > MAX_CONFIG_BYTES) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (String line : Files.readString(config).split("\n")) {
      if (line.startsWith(key + ":")) {
        String v = plain(line.substring(key.length() + 1));
        if (v != null) {
          out.add(v);
        }
      }
    }
    return out.size() == 1 ? out : List.of();
  }

  /** A plain scalar (a bare word, optionally quoted, then an optional comment), else null. */
  private static String plain(String value) {
    String v = value.strip();
    int hash = v.indexOf(" #");
    if (hash >= 0) {
      v = v.substring(0, hash).strip();
    }
    if (v.length() >= 2
        && (v.charAt(0) == '"' || v.charAt(0) == '\'')
        && v.charAt(v.length() - 1) == v.charAt(0)) {
      v = v.substring(1, v.length() - 1);
    }
    return v.matches("[A-Za-z0-9_.-]+") ? v : null;
  }
}
