package org.flowscale.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.flowscale.bindings.testing.TorchTesting;

/**
 * What the command line's libtorch tests share: the native shim the shaded jar is run with, and the
 * rule that a missing shim or PyTorch skips them (with the reason) unless {@code
 * flowscale.torch.required} is set ({@code bin/test} sets it), as in the modules below.
 */
final class TorchRuns {
  private TorchRuns() {}

  /** A fixtures maker: one of the modules' {@code make(root)}. */
  interface Maker {
    Path make(Path root) throws Exception;
  }

  /** The fixtures {@code maker} makes (or reuses) for the repository; else skip or fail. */
  static Path fixtures(String what, Maker maker) {
    try {
      return maker.make(EndToEndIT.ROOT);
    } catch (Exception e) {
      throw TorchTesting.unavailable(what, "could not make the fixtures: " + e.getMessage());
    }
  }

  /**
   * {@code java -Dflowscale.shim=... -Xss8m -jar flowscale.jar args...}, a list to add to; skips or
   * fails the test {@code what} when there is no shim.
   */
  static List<String> command(String what, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-Dflowscale.shim=" + shim(what));
    cmd.add("-Xss8m");
    cmd.add("-jar");
    cmd.add(EndToEndIT.JAR.toString());
    cmd.addAll(List.of(args));
    return cmd;
  }

  private static String shim(String what) {
    String s = System.getProperty("flowscale.shim");
    if (s == null || s.isBlank()) {
      s = System.getenv("FLOWSCALE_SHIM");
    }
    if (s == null || s.isBlank()) {
      s = EndToEndIT.ROOT.resolve("native/build/libflowscale_shim.so").toString();
    }
    if (!Files.isRegularFile(Path.of(s))) {
      throw TorchTesting.unavailable(
          what, "no libtorch shim at " + s + " (bin/test builds it into native/build)");
    }
    return s;
  }
}
