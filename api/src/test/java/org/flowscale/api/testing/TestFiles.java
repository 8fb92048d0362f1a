package org.flowscale.api.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What a run or batch left on disk, for the tests that check nothing else was written. */
public final class TestFiles {
  private TestFiles() {}

  /** Every regular file under {@code dir}, relative to it, sorted. */
  public static List<String> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .map(p -> dir.relativize(p).toString())
          .sorted()
          .toList();
    }
  }
}
