package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunDirectoryTest {
  @TempDir Path tmp;
  private static final LocalDateTime NOW = LocalDateTime.of(2026, 11, 27, 20, 15, 3);

  @Test
  void timestampedNamesNeverCollide() throws IOException {
    Path root = tmp.resolve("runs/deeper");
    RunDirectory a = RunDirectory.create(root, "rbf", true, NOW);
    RunDirectory b = RunDirectory.create(root, "rbf", true, NOW);
    RunDirectory c = RunDirectory.create(root, "rbf", true, NOW);
    assertEquals(root.resolve("rbf_20261127-201503"), a.path());
    assertEquals(root.resolve("rbf_20261127-201503-2"), b.path());
    assertEquals(root.resolve("rbf_20261127-201503-3"), c.path());
  }

  @Test
  void anExistingDirectoryIsNeverReused() throws IOException {
    RunDirectory.create(tmp, "mine", false, NOW);
    var e =
        assertThrows(
            ConfigurationException.class, () -> RunDirectory.create(tmp, "mine", false, NOW));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());
  }

  @Test
  void filesAppearWholeOrNotAtAll() throws IOException {
    RunDirectory d = RunDirectory.create(tmp, "t", false, NOW);
    d.writeString("config.yaml", "seed: 1\n");
    d.writeString("steps/step_000.png", "x");
    assertEquals("seed: 1\n", Files.readString(d.path().resolve("config.yaml")));
    assertThrows(FileAlreadyExistsException.class, () -> d.writeString("config.yaml", "other"));
    assertEquals("seed: 1\n", Files.readString(d.path().resolve("config.yaml")));
    assertThrows(
        IOException.class,
        () ->
            d.write(
                "report.json",
                out -> {
                  out.write("{\"half\":".getBytes());
                  throw new IOException("disk full");
                }));
    assertTrue(Files.notExists(d.path().resolve("report.json")), "no half-written file");
    try (Stream<Path> all = Files.walk(d.path())) {
      List<String> names = all.map(p -> d.path().relativize(p).toString()).sorted().toList();
      assertEquals(List.of("", "config.yaml", "steps", "steps/step_000.png"), names);
    }
    assertThrows(IllegalArgumentException.class, () -> d.writeString("../escape", "x"));
  }
}
