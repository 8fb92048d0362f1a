package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code flowscale batch} as separate processes: shards side by side, a crash and a resume. */
class BatchIT {
  @TempDir static Path shared;
  @TempDir Path tmp;

  private static List<String> reference;

  /** A batch process that is running. */
  record Running(Process process, Path out, Path err) {
    EndToEndIT.Proc await() throws Exception {
      if (!process.waitFor(180, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("timed out");
      }
      return new EndToEndIT.Proc(
          process.exitValue(),
          Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    }
  }

  static Running start(Path dir, Map<String, String> env, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-jar");
    cmd.add(EndToEndIT.JAR.toString());
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile(dir, "out", ".txt");
    Path err = Files.createTempFile(dir, "err", ".txt");
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().remove("JOB_COMPLETION_INDEX");
    pb.environment().remove("SLURM_ARRAY_TASK_ID");
    pb.environment().remove("SLURM_ARRAY_TASK_MIN");
    pb.environment().putAll(env);
    return new Running(pb.start(), out, err);
  }

  /** The batch's arguments: the 12-prompt file on the fast toy config, into {@code out}. */
  static String[] batch(Path dir, Path out, String... more) throws IOException {
    Path config = dir.resolve("c.yaml");
    Path prompts = dir.resolve("prompts.txt");
    if (!Files.exists(config)) {
      Files.writeString(config, BatchCommandTest.CONFIG);
      Files.writeString(prompts, String.join("\n", BatchCommandTest.PROMPTS) + "\n");
    }
    List<String> a =
        new ArrayList<>(
            List.of(
                "batch",
                "-c",
                config.toString(),
                "-p",
                prompts.toString(),
                "--out",
                out.toString(),
                "--progress",
                "lines"));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  /** The summary of one uninterrupted, unsharded run (made once). */
  static synchronized List<String> reference() throws Exception {
    if (reference == null) {
      Path out = shared.resolve("reference");
      EndToEndIT.Proc p = start(shared, Map.of(), batch(shared, out)).await();
      assertEquals(0, p.code(), p.toString());
      reference = BatchCommandTest.results(out.resolve("summary.csv"));
      assertEquals(13, reference.size(), reference.toString());
    }
    return reference;
  }

  static long done(Path out) throws IOException {
    Path items = out.resolve("items");
    if (!Files.isDirectory(items)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(items)) {
      return s.filter(d -> Files.exists(d.resolve("done.json"))).count();
    }
  }

  @Test
  void threeShardsAsSeparateProcessesCoverEveryItemExactlyOnce() throws Exception {
    Path out = tmp.resolve("out");
    // The same shards named three ways: explicitly, by Kubernetes, by a Slurm array from 1.
    Running s0 = start(tmp, Map.of(), batch(tmp, out, "--shard", "0/3"));
    Running s1 = start(tmp, Map.of("JOB_COMPLETION_INDEX", "1"), batch(tmp, out, "--shards", "3"));
    Running s2 =
        start(
            tmp,
            Map.of("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_MIN", "1"),
            batch(tmp, out, "--shards", "3"));
    Set<String> shards = new HashSet<>();
    for (Running r : List.of(s0, s1, s2)) {
      EndToEndIT.Proc p = r.await();
      assertEquals(0, p.code(), p.toString());
      assertTrue(
          p.out().contains("shard ") && p.out().contains("has 4: 0 done before, 4 done now"),
          p.toString());
      assertTrue(p.err().contains("flowscale: [4/4] completed"), p.toString());
      shards.add(p.out().replaceAll("(?s).*shard (\\d/3).*", "$1"));
    }
    assertEquals(Set.of("0/3", "1/3", "2/3"), shards);

    // Each item ran once, in the shard its position names.
    ObjectMapper json = new ObjectMapper();
    List<String> ids = new ArrayList<>();
    try (Stream<Path> s = Files.list(out.resolve("items"))) {
      for (Path d : s.sorted().toList()) {
        ids.add(d.getFileName().toString());
        assertTrue(Files.exists(d.resolve("done.json")), d.toString());
      }
    }
    assertEquals(12, ids.size());
    List<String> ref = reference();
    for (int k = 1; k < ref.size(); k++) {
      String id = ref.get(k).split(",")[0];
      String shard =
          json.readTree(out.resolve("items").resolve(id).resolve("done.json").toFile())
              .get("shard")
              .asText();
      assertEquals(((k - 1) % 3) + "/3", shard, id);
    }

    EndToEndIT.Proc s = start(tmp, Map.of(), "summarize", out.toString()).await();
    assertEquals(0, s.code(), s.toString());
    assertEquals(ref, BatchCommandTest.results(out.resolve("summary.csv")), "same as one process");
  }

  @Test
  void aRunKilledMidwayAndRestartedEndsWithTheSameSummary() throws Exception {
    Path out = tmp.resolve("out");
    // A crash: SIGKILL once the first item is done (the others not yet run, or half written).
    Running crashed = start(tmp, Map.of(), batch(tmp, out));
    while (done(out) < 1 && crashed.process().isAlive()) {
      Thread.sleep(10);
    }
    crashed.process().destroyForcibly();
    crashed.await();
    long afterCrash = done(out);
    assertTrue(afterCrash >= 1 && afterCrash < 12, "killed midway: " + afterCrash + " done");

    // A preemption: SIGTERM once one more item is done; the running item stays not done.
    Running preempted = start(tmp, Map.of(), batch(tmp, out));
    while (done(out) < afterCrash + 1 && preempted.process().isAlive()) {
      Thread.sleep(10);
    }
    preempted.process().destroy();
    EndToEndIT.Proc p = preempted.await();
    long afterStop = done(out);
    assertTrue(afterStop < 12, "stopped midway: " + afterStop + " done; " + p);
    assertTrue(p.code() == 143 || p.code() == 1, p.toString());
    assertTrue(p.err().contains(afterCrash + " already done"), p.toString());

    EndToEndIT.Proc resumed = start(tmp, Map.of(), batch(tmp, out)).await();
    assertEquals(0, resumed.code(), resumed.toString());
    assertTrue(resumed.out().contains(afterStop + " done before"), resumed.toString());
    assertEquals(
        reference(),
        BatchCommandTest.results(out.resolve("summary.csv")),
        "the same items, statuses, NFE and rewards (bit for bit) as an uninterrupted run");
  }
}
