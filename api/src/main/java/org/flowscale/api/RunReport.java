package org.flowscale.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.search.TimeSplit;

/**
 * {@code report.json}: how the run stands or ended, what ran, what it spent and what it found.
 * Written when the run starts (status {@code running}, with the process that runs it: {@code pid},
 * {@code host}, {@code process_started_at}) and replaced atomically when it ends ({@code
 * completed}, {@code cancelled}, {@code interrupted} or {@code failed} with the {@code error}). A
 * report still saying {@code running} whose process is gone (on {@code host}, no live process
 * {@code pid} started at {@code process_started_at}) belongs to a run that died (kill -9, power
 * loss). The trace itself is in {@code trace.jsonl}; the report holds a bounded summary of it.
 * Numbers that are not finite are written as null so every JSON reader accepts the file.
 */
final class RunReport {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final RunSettings settings;
  private final OffsetDateTime started;
  private RunStatus status = RunStatus.RUNNING;
  private String stopReason;
  private String error;
  private SearchResult result;
  private long nfe;
  private String backend;
  private long wallNanos;
  private OffsetDateTime finished;
  private Map<String, Object> trace;
  private List<String> warnings = List.of();
  private List<String> files = List.of();
  private int stepGrids;

  RunReport(RunSettings settings, OffsetDateTime started) {
    this.settings = settings;
    this.started = started;
    this.backend = settings.backend();
  }

  /** How the run ended (or {@code running}); why it stopped early; the failure's message. */
  RunReport status(RunStatus s, String stopReason, String error) {
    this.status = s;
    this.stopReason = stopReason;
    this.error = error;
    return this;
  }

  /**
   * What the search found (the best so far for a run that ended early), or null; the NFE it spent
   * (a run stopped before it scored anything spent some and found nothing).
   */
  RunReport result(SearchResult r, long nfe, String backend, long wallNanos) {
    this.result = r;
    this.nfe = r == null ? nfe : r.nfe();
    if (backend != null) {
      this.backend = backend;
    }
    this.wallNanos = wallNanos;
    return this;
  }

  RunReport finished(OffsetDateTime at) {
    this.finished = at;
    return this;
  }

  RunReport trace(Map<String, Object> summary) {
    this.trace = summary;
    return this;
  }

  RunReport warnings(List<String> w) {
    this.warnings = List.copyOf(w);
    return this;
  }

  /** The run directory's files (relative to it), step grids counted rather than listed. */
  RunReport files(List<String> f, int grids) {
    this.files = List.copyOf(f);
    this.stepGrids = grids;
    return this;
  }

  /** The report's JSON text. */
  String json() {
    ObjectNode root = JSON.createObjectNode();
    root.put("status", status.configName());
    if (stopReason != null) {
      root.put("stop_reason", stopReason);
    }
    if (error != null) {
      root.put("error", error);
    }
    ProcessHandle self = ProcessHandle.current();
    root.put("pid", self.pid());
    root.put("host", host());
    root.put("process_started_at", self.info().startInstant().map(Instant::toString).orElse(null));
    root.put("started_at", started.toString());
    if (finished != null) {
      root.put("finished_at", finished.toString());
    }
    root.put("method", settings.search().method().configName());
    root.put("text_prompt", settings.prompt());
    root.put("model", settings.model());
    root.put("reward_score", settings.reward());
    if (!settings.rewards().isEmpty()) {
      ArrayNode terms = root.putArray("rewards");
      for (RewardTerm t : settings.rewards()) {
        ObjectNode n = terms.addObject();
        n.put("score", t.score());
        n.put("weight", t.weight());
        if (t.settings().get("reward_model") instanceof String served) {
          n.put("reward_model", served);
        }
      }
    }
    root.put("backend", backend);
    root.put("seed", settings.search().seed());
    root.put("max_nfe", settings.search().maxNfe());
    if (result == null) {
      root.put("nfe", nfe);
      root.putNull("best_reward");
    } else {
      root.put("nfe", result.nfe());
      root.put("gradient_passes", result.gradientPasses());
      root.put("reward_calls", result.rewardCalls());
      number(root, "best_reward", result.reward());
      // The time of the output's Tweedie estimate: how sharp it is (RBF's rbf_output decides it).
      number(root, "output_time", result.outputTime());
      TimeSplit t = result.time();
      ObjectNode time = root.putObject("time_seconds");
      time.put("model", seconds(t.modelNanos()));
      time.put("reward", seconds(t.rewardNanos()));
      time.put("engine", seconds(t.engineNanos()));
      time.put("search_total", seconds(t.totalNanos()));
      time.put("wall", seconds(wallNanos));
    }
    if (trace != null) {
      root.set("trace", JSON.valueToTree(trace));
    }
    ArrayNode w = root.putArray("warnings");
    warnings.forEach(w::add);
    ArrayNode fileList = root.putArray("files");
    files.forEach(fileList::add);
    root.put("step_grids", stepGrids);

    ObjectNode versions = root.putObject("versions");
    versions.put("flowscale", Flowscale.VERSION);
    versions.put("java", Flowscale.javaVersion());
    versions.put(
        "os",
        System.getProperty("os.name")
            + " "
            + System.getProperty("os.version")
            + " "
            + System.getProperty("os.arch"));
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the report as JSON", e);
    }
  }

  private static volatile String host;

  /** This machine's name, without a DNS lookup (which can hang on a misconfigured machine). */
  static String host() {
    String h = host;
    if (h != null) {
      return h;
    }
    h = System.getenv("HOSTNAME");
    try {
      Path p = Path.of("/proc/sys/kernel/hostname");
      if (Files.isReadable(p)) {
        h = Files.readString(p).strip();
      }
    } catch (java.io.IOException | RuntimeException e) {
      // fall back to the environment
    }
    if (h == null || h.isBlank()) {
      h = System.getenv("COMPUTERNAME");
    }
    host = h == null || h.isBlank() ? "unknown" : h;
    return host;
  }

  private static void number(ObjectNode node, String key, double v) {
    if (Double.isFinite(v)) {
      node.put(key, v);
    } else {
      node.putNull(key);
    }
  }

  private static double seconds(long nanos) {
    return Math.round(nanos / 1e5) / 1e4;
  }
}
