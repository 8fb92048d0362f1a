package org.flowscale.api;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * A run's output folder, {@code root_dir/tag[_timestamp]}. It is claimed atomically when made, so
 * an existing run directory is never written into; every file goes to a temporary name first and is
 * renamed into place once complete, so a crash never leaves a half-written file.
 */
final class RunDirectory {
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
  private static final int MAX_SAME_SECOND = 1000;

  private final Path path;

  private RunDirectory(Path path) {
    this.path = path;
  }

  /**
   * Makes a new run directory.
   *
   * @param timestamp append {@code _yyyyMMdd-HHmmss} (and {@code -2}, {@code -3}, ... when several
   *     runs start within one second)
   * @throws ConfigurationException when {@code timestamp} is off and the directory exists
   * @throws IOException when the folder cannot be made
   */
  static RunDirectory create(Path rootDir, String tag, boolean timestamp, LocalDateTime now)
      throws IOException {
    Files.createDirectories(rootDir);
    if (!timestamp) {
      Path p = rootDir.resolve(tag);
      try {
        return new RunDirectory(Files.createDirectory(p));
      } catch (FileAlreadyExistsException e) {
        throw new ConfigurationException(
            "the run directory "
                + p
                + " already exists and is never overwritten: choose another tag or set"
                + " save_now=true");
      }
    }
    String base = tag + "_" + now.format(STAMP);
    for (int i = 1; i <= MAX_SAME_SECOND; i++) {
      Path p = rootDir.resolve(i == 1 ? base : base + "-" + i);
      try {
        return new RunDirectory(Files.createDirectory(p));
      } catch (FileAlreadyExistsException e) {
        // another run started in the same second: take the next suffix
      }
    }
    throw new IOException("could not find a free run directory name for " + rootDir.resolve(base));
  }

  Path path() {
    return path;
  }

  /** Something that writes a file's bytes. */
  @FunctionalInterface
  interface Content {
    void writeTo(OutputStream out) throws IOException;
  }

  /** Writes text (UTF-8) to {@code name} (a path relative to the run directory). */
  Path writeString(String name, String text) throws IOException {
    return write(name, out -> out.write(text.getBytes(StandardCharsets.UTF_8)));
  }

  /**
   * Writes {@code name} (relative, may hold subfolders) through a temporary file, synced, then
   * renamed into place; refuses to replace an existing file.
   */
  Path write(String name, Content content) throws IOException {
    Path target = path.resolve(name).normalize();
    if (!target.startsWith(path) || target.equals(path)) {
      throw new IllegalArgumentException("not a file inside the run directory: " + name);
    }
    Files.createDirectories(target.getParent());
    if (Files.exists(target)) {
      throw new FileAlreadyExistsException(target.toString(), null, "will not overwrite");
    }
    Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName() + ".", ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
          OutputStream out = Channels.newOutputStream(ch)) {
        content.writeTo(out);
        out.flush();
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return target;
  }
}
