package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.flowscale.api.batch.BatchItem;
import org.flowscale.api.batch.BatchListener;
import org.flowscale.api.batch.ItemRow;
import org.flowscale.api.batch.Shard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/** {@code flowscale batch} and {@code summarize} in-process, on the toy world. */
class BatchCommandTest {
  @TempDir Path tmp;

  /** A small, fast toy-world search whose rewards differ between prompts and seeds. */
  static final String CONFIG =
      "model: toy\nreward_score: counting\nfiltering_method: bon\nbatch_size: 4\nmax_steps: 5\n"
          + "max_nfe: 20\n";

  static final List<String> PROMPTS =
      List.of(
          "three red circles and two blue squares",
          "one blue square and four green triangles",
          "six yellow circles",
          "two red triangles and three blue circles",
          "five green squares",
          "one red circle and one yellow triangle",
          "four blue triangles and two red squares",
          "three yellow squares and one green circle",
          "two green circles and two blue triangles",
          "six red squares",
          "one yellow circle and five blue squares",
          "four red circles and two green squares");

  private Path write(String name, String text) throws IOException {
    Path p = tmp.resolve(name);
    Files.writeString(p, text);
    return p;
  }

  private String config() throws IOException {
    return write("c.yaml", CONFIG).toString();
  }

  /** A refusal before any work: exit 2, one message containing {@code part}, nothing written. */
  private void refused(String part, String... args) {
    Cli r = Cli.run(args);
    assertEquals(2, r.code(), r.toString());
    assertTrue(r.err().startsWith("flowscale: "), r.toString());
    assertTrue(r.err().contains(part), "expected '" + part + "' in " + r);
    assertEquals(1, r.err().strip().lines().count(), r.toString());
    assertFalse(r.hasStackTrace(), r.toString());
    assertFalse(Files.exists(tmp.resolve("out")), "nothing written: " + r);
  }

  @Test
  void badPromptFilesAreRefusedWithTheLineBeforeAnyWork() throws Exception {
    String c = config();
    String out = tmp.resolve("out").toString();
    refused(
        "prompts file '" + tmp.resolve("empty.txt") + "' is empty",
        "batch",
        "-c",
        c,
        "-p",
        write("empty.txt", "").toString(),
        "--out",
        out);
    refused(
        "', line 3: not valid JSON",
        "batch",
        "-c",
        c,
        "--out",
        out,
        "-p",
        write("bad.jsonl", "{\"text_prompt\": \"six red squares\"}\n\n{\"text_prompt\": 3\n")
            .toString());
    refused(
        "', line 2: unknown key 'max_nef': did you mean 'max_nfe'?",
        "batch",
        "-c",
        c,
        "--out",
        out,
        "-p",
        write(
                "keys.jsonl",
                "{\"text_prompt\": \"six red squares\"}\n"
                    + "{\"text_prompt\": \"five green squares\", \"max_nef\": 40}\n")
            .toString());
    refused(
        "line 1: key 'beta' belongs to the model",
        "batch",
        "-c",
        c,
        "--out",
        out,
        "-p",
        write("beta.jsonl", "{\"text_prompt\": \"six red squares\", \"beta\": 2.0}\n").toString());
  }

  @Test
  void badUsageIsRefused() throws Exception {
    String c = config();
    String p = write("p.txt", "six red squares\n").toString();
    String out = tmp.resolve("out").toString();
    refused("not both", "batch", "-c", c, "-p", p, "--out", out, "--shard", "0/2", "--shards", "2");
    refused(
        "shard 2/2: the index must be in [0, 1]",
        "batch",
        "-c",
        c,
        "-p",
        p,
        "--out",
        out,
        "--shard",
        "2/2");
    refused("GPU 1 is listed twice", "batch", "-c", c, "-p", p, "--out", out, "--gpus", "0,1,1");
    refused("bad seeds", "batch", "-c", c, "-p", p, "--out", out, "--seeds", "3..1");
    refused("go with --print-k8s-job", "batch", "-c", c, "-p", p, "--out", out, "--image", "x");
    refused("--print-k8s-job needs --out", "batch", "-c", c, "-p", p, "--print-k8s-job");
    refused("needs --shards N", "batch", "-c", c, "-p", p, "--out", out, "--print-k8s-job");
    refused("is not a batch folder", "summarize", tmp.toString());
  }

  /** The summary's rows without the wall times (which differ from run to run). */
  static List<String> results(Path csv) throws IOException {
    return Files.readAllLines(csv).stream()
        .map(
            line -> {
              String[] f = line.split(",", -1);
              return String.join(",", f[0], f[2], f[3], f[4], f[5], f[6], f[8]);
            })
        .toList();
  }

  @Test
  void twoCpuWorkersStandingInForGpusGiveTheResultsOfOne() throws Exception {
    String c = config();
    String p = write("p.txt", String.join("\n", PROMPTS.subList(0, 4)) + "\n").toString();
    Cli one =
        Cli.run(
            "batch",
            "-c",
            c,
            "-p",
            p,
            "--seeds",
            "0..1",
            "--out",
            tmp.resolve("one").toString(),
            "--progress",
            "none");
    assertEquals(0, one.code(), one.toString());
    Cli two =
        Cli.run(
            "batch",
            "-c",
            c,
            "-p",
            p,
            "--seeds",
            "0..1",
            "--out",
            tmp.resolve("two").toString(),
            "--gpus",
            "0,1",
            "--worker-backend",
            "cpu",
            "--progress",
            "lines");
    assertEquals(0, two.code(), two.toString());
    assertTrue(two.err().contains("8 to run on 2 workers (cpu#0, cpu#1)"), two.err());
    assertTrue(two.err().contains("on cpu#0") && two.err().contains("on cpu#1"), two.err());
    List<String> a = results(tmp.resolve("one/summary.csv"));
    assertEquals(9, a.size());
    assertEquals(a, results(tmp.resolve("two/summary.csv")));
    assertTrue(
        a.stream().skip(1).map(l -> l.split(",")[5]).distinct().count() > 2,
        "rewards differ between items, so equal rewards mean something: " + a);
    assertTrue(one.out().contains("8 done now"), one.out());
    assertTrue(
        one.out().contains("bon") && one.out().contains("+-"), "the method table: " + one.out());

    // summarize rebuilds the same files from the item directories alone
    Files.delete(tmp.resolve("one/summary.csv"));
    Cli s = Cli.run("summarize", tmp.resolve("one").toString());
    assertEquals(0, s.code(), s.toString());
    assertEquals(a, results(tmp.resolve("one/summary.csv")));
    assertTrue(s.out().contains("8 items in the folder: 8 completed"), s.out());
  }

  @Test
  void dryRunListsTheShardsItemsAndWritesNothing() throws Exception {
    String c = config();
    String p = write("p.txt", String.join("\n", PROMPTS.subList(0, 3)) + "\n").toString();
    Cli r =
        Cli.run(
            "batch",
            "-c",
            c,
            "-p",
            p,
            "--out",
            tmp.resolve("out").toString(),
            "--shard",
            "1/2",
            "--seeds",
            "0..1",
            "--dry-run");
    assertEquals(0, r.code(), r.toString());
    assertEquals(3, r.out().lines().count(), "items 1, 3, 5 of 6: " + r.out());
    assertTrue(r.out().contains("one-blue-square-and-four-green-triangles-s1-"), r.out());
    assertTrue(r.err().contains("6 items, shard 1/2 has 3, 0 done, 3 to run"), r.err());
    assertFalse(Files.exists(tmp.resolve("out")));
  }

  @Test
  void theKubernetesJobIsAnIndexedJobWithGpusAndASharedVolume() throws Exception {
    Cli r =
        Cli.run(
            "batch",
            "-c",
            "/data/configs/rbf.yaml",
            "-p",
            "/data/prompts.txt",
            "--out",
            "/data/out/rbf",
            "--shards",
            "4",
            "--gpus",
            "0,1",
            "--seeds",
            "0..3",
            "--image",
            "registry.example/flowscale:1",
            "--print-k8s-job",
            "max_nfe=1000");
    assertEquals(0, r.code(), r.toString());
    assertTrue(r.out().startsWith("# flowscale batch as a Kubernetes Indexed Job"), r.out());
    Map<String, Object> job = new Yaml().load(r.out());
    assertEquals("batch/v1", job.get("apiVersion"));
    assertEquals("Job", job.get("kind"));
    Map<?, ?> spec = (Map<?, ?>) job.get("spec");
    assertEquals("Indexed", spec.get("completionMode"));
    assertEquals(4, spec.get("completions"));
    assertEquals(4, spec.get("parallelism"));
    Map<?, ?> pod = (Map<?, ?>) ((Map<?, ?>) spec.get("template")).get("spec");
    Map<?, ?> container = (Map<?, ?>) ((List<?>) pod.get("containers")).get(0);
    assertEquals("registry.example/flowscale:1", container.get("image"));
    Map<?, ?> env = (Map<?, ?>) ((List<?>) container.get("env")).get(0);
    assertEquals("JOB_COMPLETION_INDEX", env.get("name"));
    assertEquals(
        "metadata.annotations['batch.kubernetes.io/job-completion-index']",
        ((Map<?, ?>) ((Map<?, ?>) env.get("valueFrom")).get("fieldRef")).get("fieldPath"));
    List<?> args = (List<?>) container.get("args");
    assertEquals(
        List.of(
            "batch",
            "--config",
            "/data/configs/rbf.yaml",
            "--prompts",
            "/data/prompts.txt",
            "--out",
            "/data/out/rbf",
            "--seeds",
            "0..3",
            "max_nfe=1000",
            "--shards",
            "4",
            "--gpus",
            "0,1",
            "--progress",
            "lines"),
        args);
    Map<?, ?> limits = (Map<?, ?>) ((Map<?, ?>) container.get("resources")).get("limits");
    assertEquals(2, limits.get("nvidia.com/gpu"));
    Map<?, ?> mount = (Map<?, ?>) ((List<?>) container.get("volumeMounts")).get(0);
    assertEquals("/data", mount.get("mountPath"));
    Map<?, ?> volume = (Map<?, ?>) ((List<?>) pod.get("volumes")).get(0);
    assertEquals(mount.get("name"), volume.get("name"));
    assertEquals(
        "flowscale-data", ((Map<?, ?>) volume.get("persistentVolumeClaim")).get("claimName"));
    assertEquals("Never", pod.get("restartPolicy"));
  }

  @Test
  void progressLinesCountItemsAndEstimateTheTimeLeftFromTheBudget() {
    AtomicLong now = new AtomicLong();
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8);
    BatchProgress.Lines lines = new BatchProgress.Lines(err, now::get);
    lines.onStart(new BatchListener.BatchStart(8, new Shard(0, 2), 4, 1, 3, 300, List.of("cpu")));
    BatchItem item = new BatchItem("a-s0-0123456789", 0, 1, "a", 0, "bon", 100, null);
    now.set(10_000_000_000L);
    lines.onItemProgress("cpu", item, 50, 100);
    lines.onItemEnd(
        "cpu",
        item,
        new ItemRow(item.id(), "a", 0, "bon", 100, 100, -1.5, 10.0, "completed", null));
    String out = buf.toString(StandardCharsets.UTF_8);
    assertTrue(out.contains("batch of 8 items, shard 0/2 has 4; 1 already done, 3 to run"), out);
    // 100 of 300 NFE in 10 s: 20 s left
    assertTrue(
        out.contains(
            "[2/4] completed a-s0-0123456789 (bon, seed 0, line 1) on cpu: reward -1.5000,"
                + " 100 NFE, 10.0 s; ETA 20 s"),
        out);
    assertEquals("1:01:01", BatchProgress.format(Duration.ofSeconds(3661)));
    assertEquals("cuda:0 NFE [####------] 200/500", BatchProgress.nfeBar("cuda:0", 200, 500));
  }
}
