package org.flowscale.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.flowscale.api.Flowscale;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.Pipeline;
import org.flowscale.api.Text;
import org.flowscale.api.batch.BatchItem;
import org.flowscale.api.batch.BatchListener;
import org.flowscale.api.batch.BatchOutcome;
import org.flowscale.api.batch.BatchPlan;
import org.flowscale.api.batch.BatchRunner;
import org.flowscale.api.batch.BatchSummary;
import org.flowscale.api.batch.PromptFile;
import org.flowscale.api.batch.Shard;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code flowscale batch --config C --prompts FILE [--seeds 0..3] [--shard I/N | --shards N]
 * [--gpus 0,1]}: a prompt set times seeds, each item into its own directory, resumable, shardable
 * across machines and split across local GPUs; then a summary of the whole batch folder.
 */
@Command(
    name = "batch",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Runs a config over a prompt set and seeds; resumes, shards and summarises.",
      "",
      "The prompt file is plain text (one prompt a line; blank and # lines skipped) or JSON"
          + " Lines, one object a line whose keys override the config for that line:"
          + " {\"text_prompt\": \"two red circles\", \"seed\": 3, \"max_nfe\": 200}. A line that"
          + " sets seed is one item, any other one item per seed. Everything is checked before"
          + " any work; a bad line is named by its number.",
      "",
      "Each item goes to OUT/items/ID/ (config.yaml, final.png, report.json) and is marked done"
          + " by done.json, written last. Running the same command again skips done items and"
          + " redoes the rest. At the end OUT/summary.csv, summary_methods.csv, summary.json"
          + " (and reward_vs_nfe.png when several budgets ran) cover every item in OUT."
    },
    footer = {
      "",
      "Examples:",
      "  flowscale batch --config config/toy/quantity_aware/rbf.yaml --prompts prompts.txt"
          + " --seeds 0..3",
      "  flowscale batch ... --shard 0/4          # this machine's quarter; others run 1/4 .. 3/4",
      "  flowscale batch ... --shards 4           # the index from JOB_COMPLETION_INDEX or"
          + " SLURM_ARRAY_TASK_ID",
      "  flowscale batch ... --gpus 0,1,2,3       # one worker (its own pipeline) per GPU",
      "  flowscale batch ... --out /data/out --shards 4 --print-k8s-job > job.yaml",
      "  flowscale summarize OUT                  # rebuild the summary after shards finished",
      "",
      "Exit codes: 0 every item of the shard done, 1 an item failed or the run was stopped"
          + " (run again to retry), 2 bad usage, config or prompt file (nothing ran)."
    })
final class BatchCommand implements Callable<Integer> {
  static final String DEFAULT_WORKER_BACKEND = "cuda:{gpu}";

  @Option(
      names = {"-c", "--config"},
      required = true,
      paramLabel = "FILE",
      description = "The YAML config (text_prompt, if set, is ignored: the prompts come per line).")
  Path config;

  @Option(
      names = {"-p", "--prompts"},
      required = true,
      paramLabel = "FILE",
      description = "The prompt set: plain text or JSON Lines (*.jsonl).")
  Path prompts;

  @Option(
      names = "--seeds",
      paramLabel = "SEEDS",
      description =
          "Seeds of every line that sets none: 0..3, 1,5,9 or 0..3,10 (default: the config's"
              + " seed).")
  String seeds;

  @Option(
      names = {"-o", "--out"},
      paramLabel = "DIR",
      description =
          "The batch folder; the same folder resumes (default: root_dir/<prompt file name>).")
  Path out;

  @Option(
      names = "--shard",
      paramLabel = "I/N",
      description = "Run only shard I of N (0-based): items I, I+N, I+2N, ... in plan order.")
  String shard;

  @Option(
      names = "--shards",
      paramLabel = "N",
      description =
          "Split into N shards and run the one named by JOB_COMPLETION_INDEX (a Kubernetes"
              + " Indexed Job) or SLURM_ARRAY_TASK_ID (a Slurm array).")
  Integer shards;

  @Option(
      names = "--gpus",
      paramLabel = "LIST",
      description =
          "One worker per GPU, e.g. 0,1,2,3: each loads its own pipeline on backend cuda:N and"
              + " takes the next item not yet taken.")
  String gpus;

  @Option(
      names = "--worker-backend",
      paramLabel = "TEMPLATE",
      defaultValue = DEFAULT_WORKER_BACKEND,
      description =
          "The backend of a --gpus worker, {gpu} replaced by its GPU (default: ${DEFAULT-VALUE})."
              + " 'cpu' runs the workers on CPU threads instead (the tests stand in for GPUs"
              + " this way).")
  String workerBackend;

  @Option(
      names = "--print-k8s-job",
      description =
          "Print a Kubernetes Indexed Job that runs this batch (one pod per shard, --shards N"
              + " of them, with --gpus GPUs each) and exit; needs --out.")
  boolean printK8sJob;

  @Option(
      names = "--image",
      paramLabel = "IMAGE",
      description = "With --print-k8s-job: the container image (default: flowscale:<version>).")
  String image;

  @Option(
      names = "--job-name",
      paramLabel = "NAME",
      defaultValue = "flowscale-batch",
      description = "With --print-k8s-job: the Job's name (default: ${DEFAULT-VALUE}).")
  String jobName;

  @Option(
      names = "--volume-claim",
      paramLabel = "NAME",
      defaultValue = "flowscale-data",
      description =
          "With --print-k8s-job: the PersistentVolumeClaim holding weights and outputs (default:"
              + " ${DEFAULT-VALUE}).")
  String volumeClaim;

  @Option(
      names = "--mount",
      paramLabel = "DIR",
      defaultValue = "/data",
      description =
          "With --print-k8s-job: where the volume is mounted, also the working directory"
              + " (default: ${DEFAULT-VALUE}).")
  String mount;

  @Parameters(paramLabel = "key=value", description = "Overrides of config keys.")
  List<String> overrides = new ArrayList<>();

  @Mixin RunOptions options;

  @ParentCommand Main main;

  /** The environment the shard index is read from (a seam for tests). */
  Map<String, String> env = System.getenv();

  @Override
  public Integer call() {
    if (shard != null && shards != null) {
      throw new CliException.ConfigError("give --shard I/N or --shards N, not both");
    }
    List<Integer> devices = gpus == null ? List.of() : parseGpus(gpus);
    if (printK8sJob) {
      return printJob(devices);
    }
    checkNoK8sOptions();
    FlowscaleConfig c = FlowscaleConfig.loadWithoutPrompt(config, overrides);
    PromptFile file = PromptFile.read(prompts);
    BatchPlan plan =
        BatchPlan.create(c, file, seeds == null ? List.of() : BatchPlan.parseSeeds(seeds));
    Shard s =
        shard != null
            ? Shard.parse(shard)
            : shards != null ? Shard.fromEnvironment(shards, env) : Shard.ALL;
    Path dir = out != null ? out : c.rootDir().resolve(stem(prompts));
    List<String> workers = workerSpecs(devices, workerBackend);
    if (options.dryRun) {
      return dryRun(c, plan, s, dir, workers);
    }
    BatchOutcome outcome;
    try (BatchProgress progress = BatchProgress.create(options.progress, main.err)) {
      BatchRunner r =
          BatchRunner.builder(plan, dir).shard(s).workers(workers).listener(progress).build();
      outcome = runStoppable(r);
    }
    report(outcome, plan, s, dir);
    return outcome.complete() ? Main.EXIT_OK : Main.EXIT_FAILURE;
  }

  /**
   * Runs with SIGINT and SIGTERM (a preemption) stopping the running items and starting no more:
   * they stay not done, so the next run redoes them; the summary is still written.
   */
  private static BatchOutcome runStoppable(BatchRunner runner) {
    CountDownLatch finished = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              runner.stop("interrupted");
              try {
                finished.await(20, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "flowscale-batch-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      return runner.run();
    } finally {
      finished.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // the JVM is shutting down: the hook is running and now returns
      }
    }
  }

  private void report(BatchOutcome o, BatchPlan plan, Shard s, Path dir) {
    main.out.println(
        String.format(
            Locale.ROOT,
            "flowscale: batch of %d items%s: %d done before, %d done now, %d failed, %d not done%s",
            plan.items().size(),
            s.count() > 1 ? ", shard " + s + " has " + o.shardItems() : "",
            o.skipped(),
            o.done(),
            o.failed(),
            o.notDone(),
            o.stopped() ? " (stopped: run again to finish)" : ""));
    BatchSummary summary = o.summary();
    main.out.print(summary.table());
    main.out.println(
        "flowscale: wrote "
            + dir.resolve(BatchSummary.CSV)
            + " ("
            + counts(summary)
            + (summary.severalBudgets() ? "; plot " + BatchSummary.PLOT : "")
            + ")");
  }

  static String counts(BatchSummary summary) {
    List<String> parts = new ArrayList<>();
    summary.counts().forEach((k, v) -> parts.add(v + " " + k));
    return summary.rows().size() + " items in the folder: " + String.join(", ", parts);
  }

  /** The first line of a run's progress. */
  static String startLine(BatchListener.BatchStart s) {
    return String.format(
        Locale.ROOT,
        "flowscale: batch of %d items%s; %d already done, %d to run on %d worker%s (%s)",
        s.batchItems(),
        s.shard().count() > 1 ? ", shard " + s.shard() + " has " + s.shardItems() : "",
        s.alreadyDone(),
        s.toRun(),
        s.workers().size(),
        s.workers().size() == 1 ? "" : "s",
        String.join(", ", s.workers()));
  }

  private int dryRun(FlowscaleConfig c, BatchPlan plan, Shard s, Path dir, List<String> workers) {
    try (Pipeline p = Pipeline.fromConfig(c)) {
      // loads the model and reward once, as every worker will
    }
    List<BatchItem> mine = s.select(plan.items());
    int done = 0;
    for (BatchItem i : mine) {
      boolean d = Files.isRegularFile(dir.resolve("items").resolve(i.id()).resolve("done.json"));
      done += d ? 1 : 0;
      main.out.println(
          String.join(
              "\t",
              i.id(),
              "line " + i.line(),
              "seed " + i.seed(),
              i.method(),
              "max_nfe " + i.maxNfe(),
              d ? "done" : "to run"));
    }
    main.err.println(
        "flowscale: the batch is valid (dry run: nothing ran): "
            + plan.items().size()
            + " items"
            + (s.count() > 1 ? ", shard " + s + " has " + mine.size() : "")
            + ", "
            + done
            + " done, "
            + (mine.size() - done)
            + " to run on "
            + String.join(", ", workers.isEmpty() ? List.of(c.backend()) : workers)
            + "; out "
            + dir);
    return Main.EXIT_OK;
  }

  private int printJob(List<Integer> devices) {
    if (out == null) {
      throw new CliException.ConfigError(
          "--print-k8s-job needs --out DIR: the batch folder on the shared volume, as the pods"
              + " see it");
    }
    int n =
        shards != null
            ? shards
            : shard != null
                ? Shard.parse(shard).count()
                : fail("--print-k8s-job needs --shards N: the number of pods");
    new Shard(0, n); // checks the count
    if (!jobName.matches("[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?")) {
      throw new CliException.ConfigError(
          "bad --job-name "
              + Text.quote(jobName)
              + ": Kubernetes names are lower-case letters, digits and '-' (at most 52)");
    }
    // Check what can be checked here: the files exist on this machine when the volume is mounted.
    if (Files.isRegularFile(config) && Files.isRegularFile(prompts)) {
      FlowscaleConfig c = FlowscaleConfig.loadWithoutPrompt(config, overrides);
      BatchPlan.create(
          c, PromptFile.read(prompts), seeds == null ? List.of() : BatchPlan.parseSeeds(seeds));
    }
    List<String> args = new ArrayList<>();
    args.addAll(List.of("--config", config.toString(), "--prompts", prompts.toString()));
    args.addAll(List.of("--out", out.toString()));
    if (seeds != null) {
      args.addAll(List.of("--seeds", seeds));
    }
    if (!workerBackend.equals(DEFAULT_WORKER_BACKEND)) {
      args.addAll(List.of("--worker-backend", workerBackend));
    }
    args.addAll(overrides);
    KubernetesJob job =
        new KubernetesJob(
            jobName,
            image != null ? image : "flowscale:" + Flowscale.VERSION,
            n,
            Math.max(1, devices.size()),
            volumeClaim,
            mount,
            args);
    main.out.print(job.yaml());
    return Main.EXIT_OK;
  }

  private static int fail(String message) {
    throw new CliException.ConfigError(message);
  }

  private void checkNoK8sOptions() {
    if (image != null
        || !jobName.equals("flowscale-batch")
        || !volumeClaim.equals("flowscale-data")
        || !mount.equals("/data")) {
      throw new CliException.ConfigError(
          "--image, --job-name, --volume-claim and --mount go with --print-k8s-job");
    }
  }

  /** {@code 0,1,3} as device ordinals, each once. */
  static List<Integer> parseGpus(String spec) {
    LinkedHashSet<Integer> out = new LinkedHashSet<>();
    for (String part : spec.split(",", -1)) {
      String p = part.strip();
      if (!p.matches("[0-9]{1,4}")) {
        throw new CliException.ConfigError(
            "bad --gpus " + Text.quote(spec) + ": expected device numbers such as 0,1,2,3");
      }
      if (!out.add(Integer.parseInt(p))) {
        throw new CliException.ConfigError(
            "bad --gpus " + Text.quote(spec) + ": GPU " + p + " is listed twice");
      }
    }
    return List.copyOf(out);
  }

  /** One backend spec per GPU; none without --gpus (one worker on the config's backend). */
  static List<String> workerSpecs(List<Integer> devices, String template) {
    List<String> out = new ArrayList<>();
    for (int d : devices) {
      out.add(template.replace("{gpu}", Integer.toString(d)));
    }
    return out;
  }

  /** The prompt file's name without its extension: the default batch folder's name. */
  static String stem(Path prompts) {
    String name = prompts.getFileName() == null ? "batch" : prompts.getFileName().toString();
    int dot = name.lastIndexOf('.');
    String s = dot > 0 ? name.substring(0, dot) : name;
    return s.isBlank() ? "batch" : s;
  }
}
