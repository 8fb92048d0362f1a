package org.flowscale.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Checks before any work that run directories can be made under {@code root_dir}: the deepest part
 * of it that exists must be a directory in which a directory can be made (tried with a hidden probe
 * that is removed at once, because permissions alone do not tell: root may write anywhere except on
 * read-only or virtual file systems). A dry run thus finds an unwritable {@code root_dir} without
 * leaving anything behind.
 */
final class RootDirCheck {
  private RootDirCheck() {}

  /**
   * @throws ConfigurationException naming the cause: not a directory, permission denied, read-only
   *     file system
   */
  static void check(Path rootDir) {
    Path abs = rootDir.toAbsolutePath().normalize();
    Path p = abs;
    while (p != null && !Files.exists(p)) {
      p = p.getParent();
    }
    String what = "root_dir " + Text.quote(rootDir.toString());
    if (p == null) {
      throw new ConfigurationException(what + " cannot be made: no part of it exists");
    }
    if (!Files.isDirectory(p)) {
      throw new ConfigurationException(what + " cannot be made: not a directory: " + p);
    }
    Path probe =
        p.resolve(
            ".flowscale-probe-"
                + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36));
    try {
      Files.createDirectory(probe);
    } catch (IOException e) {
      // The probe's name means nothing to the user: name the folder it was made in.
      throw new ConfigurationException(
          what
              + (p.equals(abs) ? " is not writable: " : " cannot be made: ")
              + Text.ioReason(e).replace(probe.toString(), p.toString()),
          e);
    }
    try {
      Files.delete(probe);
    } catch (IOException e) {
      throw new ConfigurationException(
          what + ": cannot remove the probe directory " + probe + ": " + Text.ioReason(e), e);
    }
  }
}
