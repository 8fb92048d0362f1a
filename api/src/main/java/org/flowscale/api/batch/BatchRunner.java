package org.flowscale.api.batch;

import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.flowscale.api.Cancellation;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.FlowscaleException;
import org.flowscale.api.GenerationResult;
import org.flowscale.api.NativeException;
import org.flowscale.api.Pipeline;
import org.flowscale.api.RunOutputs;
import org.flowscale.api.Text;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.search.SearchListener;

/**
 * Runs a shard of a {@link BatchPlan} into a batch folder ({@link BatchDirectory}), resuming where
 * earlier runs stopped: items already done are skipped, unfinished ones are cleared and redone.
 *
 * <p>Each worker owns one {@link Pipeline} (the model loads once per worker, not per item) on its
 * own backend, {@code cuda:0}, {@code cuda:1}, ..., and takes the shard's next item from one shared
 * list, so no item runs twice. Results do not depend on the worker: an item's result is decided by
 * its config and seed alone.
 *
 * <pre>{@code
 * FlowscaleConfig config = FlowscaleConfig.loadWithoutPrompt(Path.of("rbf.yaml"), List.of());
 * BatchPlan plan = BatchPlan.create(config, PromptFile.read(Path.of("prompts.txt")),
 *     BatchPlan.parseSeeds("0..3"));
 * BatchOutcome o = BatchRunner.builder(plan, Path.of("out")).workers(List.of("cuda:0", "cuda:1"))
 *     .build().run();
 * }</pre>
 *
 * <p>An item is done when its generation completed (or stopped at its own {@code deadline_s}); a
 * failed one is kept with its error in {@code report.json} and tried again by the next run. {@link
 * #stop} cancels the running items (they stay not done) and starts no more. One process per shard:
 * two processes running the same shard into the same folder at once would clear each other's
 * unfinished items.
 */
public final class BatchRunner {
  private final BatchPlan plan;
  private final Path out;
  private final Shard shard;
  private final List<String> workers;
  private final BatchListener listener;

  private final AtomicReference<String> stopReason = new AtomicReference<>();
  private final Set<Cancellation> running = ConcurrentHashMap.newKeySet();

  private BatchRunner(Builder b) {
    this.plan = b.plan;
    this.out = b.out;
    this.shard = b.shard;
    this.workers = List.copyOf(b.workers.isEmpty() ? List.of(plan.config().backend()) : b.workers);
    this.listener = b.listener;
  }

  /**
   * A runner of {@code plan} into the batch folder {@code out}: the whole batch, one worker.
   *
   * @param plan the items to run
   * @param out the batch folder (made when missing; a rerun resumes it)
   * @return a builder of the runner
   */
  public static Builder builder(BatchPlan plan, Path out) {
    return new Builder(plan, out);
  }

  /**
   * Asks the run to stop: running items are cancelled (they stay not done, with their best sample
   * so far kept) and no new ones start. Safe from any thread, e.g. a shutdown hook; idempotent.
   *
   * @param reason the stop reason the cancelled items record; null for {@code stopped}
   */
  public void stop(String reason) {
    String why = reason == null ? "stopped" : reason;
    stopReason.compareAndSet(null, why);
    for (Cancellation c : running) {
      c.cancel(why);
    }
  }

  /**
   * Runs the shard's items that are not done, then writes the batch folder's summary.
   *
   * @return what ran and what is left, with the summary
   * @throws ConfigurationException when the folder cannot be made or a worker's pipeline refuses
   *     its config (before any item ran)
   * @throws FlowscaleException when a worker's pipeline fails to load, or the summary cannot be
   *     written
   */
  public BatchOutcome run() {
    BatchDirectory dir = BatchDirectory.create(out);
    try {
      dir.writePlan(plan);
    } catch (IOException e) {
      throw new FlowscaleException(
          "cannot write the plan into " + out + ": " + Text.oneLine(e.getMessage()), e, null);
    }
    List<BatchItem> mine = shard.select(plan.items());
    List<BatchItem> todo = new ArrayList<>();
    for (BatchItem i : mine) {
      if (!dir.isDone(i.id())) {
        todo.add(i);
      }
    }
    List<String> names = workerNames(workers);
    long nfe = todo.stream().mapToLong(BatchItem::maxNfe).sum();
    listener.onStart(
        new BatchListener.BatchStart(
            plan.items().size(),
            shard,
            mine.size(),
            mine.size() - todo.size(),
            todo.size(),
            nfe,
            names));
    Counts counts = new Counts();
    if (!todo.isEmpty() && stopReason.get() == null) {
      List<Pipeline> pipelines = load(plan.config(), workers);
      try {
        runWorkers(dir, todo, names, pipelines, counts);
      } finally {
        pipelines.forEach(Pipeline::close);
      }
    }
    BatchSummary summary;
    try {
      summary = BatchSummary.read(dir);
      summary.write(dir.root());
    } catch (IOException e) {
      throw new FlowscaleException(
          "cannot write the summary into " + out + ": " + Text.oneLine(e.getMessage()), e, null);
    }
    int done = counts.done.get();
    int failed = counts.failed.get();
    return new BatchOutcome(
        mine.size(),
        mine.size() - todo.size(),
        done,
        failed,
        todo.size() - done - failed,
        stopReason.get() != null,
        summary);
  }

  private static final class Counts {
    final AtomicInteger done = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();
  }

  private void runWorkers(
      BatchDirectory dir,
      List<BatchItem> todo,
      List<String> names,
      List<Pipeline> pipelines,
      Counts counts) {
    AtomicInteger next = new AtomicInteger();
    AtomicReference<Throwable> fatal = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < pipelines.size(); w++) {
      String name = names.get(w);
      Pipeline p = pipelines.get(w);
      Thread t =
          Thread.ofPlatform()
              .name("flowscale-batch-" + name)
              .unstarted(
                  () -> {
                    try {
                      work(dir, todo, next, name, p, counts);
                    } catch (Throwable e) {
                      fatal.compareAndSet(null, e);
                      stop("a worker failed");
                    }
                  });
      threads.add(t);
      t.start();
    }
    boolean interrupted = false;
    for (Thread t : threads) {
      while (true) {
        try {
          t.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
          stop("interrupted");
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Throwable f = fatal.get();
    if (f instanceof Error e) {
      throw e;
    }
    if (f != null) {
      throw new FlowscaleException(
          "a batch worker failed: " + Text.oneLine(String.valueOf(f.getMessage())), f, null);
    }
  }

  private void work(
      BatchDirectory dir,
      List<BatchItem> todo,
      AtomicInteger next,
      String worker,
      Pipeline p,
      Counts counts) {
    while (stopReason.get() == null) {
      int k = next.getAndIncrement();
      if (k >= todo.size()) {
        return;
      }
      BatchItem item = todo.get(k);
      Outcome o = runItem(dir, item, worker, p);
      if (ItemRow.isDone(o.row().status())) {
        counts.done.incrementAndGet();
      } else if (o.row().status().equals(ItemRow.FAILED)) {
        counts.failed.incrementAndGet();
      }
      listener.onItemEnd(worker, item, o.row());
      if (!o.pipelineUsable()) {
        return; // its device is gone: the other workers and the next run do the rest
      }
    }
  }

  private record Outcome(ItemRow row, boolean pipelineUsable) {}

  private Outcome runItem(BatchDirectory dir, BatchItem item, String worker, Pipeline p) {
    Cancellation cancel = new Cancellation();
    running.add(cancel);
    String why = stopReason.get();
    if (why != null) {
      cancel.cancel(why);
    }
    RunOutputs outputs = null;
    try {
      dir.clearUnfinished(item.id());
      FlowscaleConfig c =
          item.config()
              .withOverrides(
                  List.of(
                      "root_dir=" + TextNode.valueOf(dir.itemsDir().toString()),
                      "tag=" + TextNode.valueOf(item.id()),
                      "save_now=false"));
      outputs = RunOutputs.create(c, p.sampleSpace(), LocalDateTime.now());
      dir.writeItem(item, shard.toString(), worker);
      listener.onItemStart(worker, item);
      SearchListener progress =
          new SearchListener() {
            @Override
            public void onProgress(long nfe, long maxNfe) {
              listener.onItemProgress(worker, item, nfe, maxNfe);
            }
          };
      GenerationResult r = p.generate(c.request(), outputs.listener(progress), cancel);
      outputs.complete(r);
      String status = status(r, cancel);
      ItemRow row =
          new ItemRow(
              item.id(),
              item.prompt(),
              item.seed(),
              item.method(),
              item.maxNfe(),
              r.nfe(),
              r.reward(),
              r.wall().toNanos() / 1e9,
              status,
              null);
      if (ItemRow.isDone(status)) {
        dir.markDone(row, shard.toString(), worker);
      }
      return new Outcome(row, true);
    } catch (FlowscaleException e) {
      if (outputs != null) {
        try {
          outputs.fail(e, p.backend());
        } catch (FlowscaleException second) {
          e.addSuppressed(second);
        }
      }
      boolean usable = !(e instanceof NativeException n) || n.pipelineUsable();
      GenerationResult partial = e.partial().orElse(null);
      return new Outcome(failedRow(item, partial, Text.oneLine(e.getMessage())), usable);
    } catch (IOException | RuntimeException e) {
      String message =
          (e instanceof IOException ? "cannot write the item's files: " : "")
              + Text.oneLine(String.valueOf(e.getMessage()));
      return new Outcome(failedRow(item, null, message), true);
    } finally {
      running.remove(cancel);
    }
  }

  private static ItemRow failedRow(BatchItem item, GenerationResult partial, String error) {
    if (partial == null) {
      return ItemRow.withoutOutcome(item, ItemRow.FAILED, error);
    }
    return new ItemRow(
        item.id(),
        item.prompt(),
        item.seed(),
        item.method(),
        item.maxNfe(),
        partial.nfe(),
        partial.reward(),
        partial.wall().toNanos() / 1e9,
        ItemRow.FAILED,
        error);
  }

  /** The summary's status of a generation that returned. */
  private static String status(GenerationResult r, Cancellation ours) {
    return switch (r.status()) {
      case COMPLETED -> ItemRow.COMPLETED;
      case CANCELLED ->
          !ours.isCancelled() && r.stopReason().orElse("").equals("deadline")
              ? ItemRow.CANCELLED
              : ItemRow.INTERRUPTED;
      case INTERRUPTED, RUNNING -> ItemRow.INTERRUPTED;
      case FAILED -> ItemRow.FAILED;
    };
  }

  /**
   * Loads every worker's pipeline at once (each its own model copy on its own device).
   *
   * @throws ConfigurationException or another {@link FlowscaleException} when any fails (then none
   *     is kept)
   */
  static List<Pipeline> load(FlowscaleConfig config, List<String> specs) {
    int n = specs.size();
    Pipeline[] made = new Pipeline[n];
    RuntimeException[] errors = new RuntimeException[n];
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < n; w++) {
      int i = w;
      Runnable load =
          () -> {
            try {
              made[i] =
                  Pipeline.fromConfig(
                      config.withOverrides(workerOverrides(config.resolved(), specs.get(i))));
            } catch (ConfigurationException e) {
              errors[i] =
                  n == 1
                      ? e
                      : new ConfigurationException(
                          "worker " + specs.get(i) + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
              errors[i] = e;
            }
          };
      if (n == 1) {
        load.run();
      } else {
        Thread t = Thread.ofPlatform().name("flowscale-batch-load-" + i).start(load);
        threads.add(t);
      }
    }
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        threads.forEach(Thread::interrupt);
      }
    }
    RuntimeException first = null;
    for (int i = 0; i < n; i++) {
      if (errors[i] != null && first == null) {
        first = errors[i];
      }
    }
    if (first == null) {
      for (Pipeline p : made) {
        if (p == null) {
          first = new FlowscaleException("loading the pipelines was interrupted", null, null);
        }
      }
    }
    if (first != null) {
      for (Pipeline p : made) {
        if (p != null) {
          p.close();
        }
      }
      throw first;
    }
    return List.of(made);
  }

  /**
   * The overrides that put a worker on its backend: {@code backend} itself and, for a CUDA device,
   * the model's and reward's {@code device} / {@code reward_device} when the config puts them on
   * CUDA (so a worker's model runs beside its particles). A config that keeps them on the CPU keeps
   * them there.
   */
  static List<String> workerOverrides(Map<String, ?> resolved, String backendSpec) {
    List<String> o = new ArrayList<>();
    o.add("backend=" + TextNode.valueOf(backendSpec));
    Backends.Spec spec;
    try {
      spec = Backends.Spec.parse(backendSpec);
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(Text.oneLine(e.getMessage()), e);
    }
    if (spec.name().equals("cuda") && spec.device() >= 0) {
      for (String key : List.of("device", "reward_device")) {
        if (resolved.get(key) instanceof String v && v.startsWith("cuda")) {
          o.add(key + "=" + TextNode.valueOf("cuda:" + spec.device()));
        }
      }
    }
    return o;
  }

  /** Workers are named by their backend; repeated backends get {@code #i}. */
  static List<String> workerNames(List<String> specs) {
    Set<String> seen = new HashSet<>();
    boolean repeated = false;
    for (String s : specs) {
      repeated |= !seen.add(s);
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < specs.size(); i++) {
      out.add(repeated ? specs.get(i) + "#" + i : specs.get(i));
    }
    return out;
  }

  /** Says what a {@link BatchRunner} runs. */
  public static final class Builder {
    private final BatchPlan plan;
    private final Path out;
    private Shard shard = Shard.ALL;
    private List<String> workers = List.of();
    private BatchListener listener = BatchListener.NONE;

    private Builder(BatchPlan plan, Path out) {
      if (plan == null || out == null) {
        throw new IllegalArgumentException("a plan and an output folder are needed");
      }
      this.plan = plan;
      this.out = out;
    }

    /**
     * Runs only this shard's items (default: all).
     *
     * @param shard the shard; null for all items
     * @return this builder
     */
    public Builder shard(Shard shard) {
      this.shard = shard == null ? Shard.ALL : shard;
      return this;
    }

    /**
     * One worker per backend spec ({@code cuda:0}, {@code cuda:1}; the same spec may repeat, e.g.
     * {@code cpu} twice); empty for one worker on the config's backend.
     *
     * @param backendSpecs one backend spec per worker (at most 1024)
     * @return this builder
     * @throws ConfigurationException when there are more than 1024
     */
    public Builder workers(List<String> backendSpecs) {
      if (backendSpecs.size() > 1024) {
        throw new ConfigurationException("at most 1024 workers, got " + backendSpecs.size());
      }
      this.workers = List.copyOf(backendSpecs);
      return this;
    }

    /**
     * Hears progress (from the workers' threads).
     *
     * @param listener the listener; null for none
     * @return this builder
     */
    public Builder listener(BatchListener listener) {
      this.listener = listener == null ? BatchListener.NONE : listener;
      return this;
    }

    /** {@return the runner} */
    public BatchRunner build() {
      return new BatchRunner(this);
    }
  }
}
