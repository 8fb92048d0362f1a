package org.flowscale.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Locale;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.search.TimeSplit;
import org.flowscale.engine.search.TraceEntry;

/**
 * {@code report.json}: what ran, what it spent and what it found. Numbers that are not finite (a
 * reward of -inf) are written as null so every JSON reader accepts the file.
 */
final class RunReport {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private RunReport() {}

  /**
   * The report's JSON text.
   *
   * @param files the run directory's files, relative to it
   * @param wallNanos the search's wall time as the command line measured it
   */
  static String json(
      RunSettings settings,
      SearchResult result,
      String backend,
      OffsetDateTime started,
      long wallNanos,
      List<String> files) {
    return json(
        settings, RunStatus.COMPLETED, null, null, result, backend, started, wallNanos, files);
  }

  /**
   * The report's JSON text for a run in any state.
   *
   * @param status how the run ended (or {@code running})
   * @param stopReason why it stopped early, or null
   * @param error the failure's message, or null
   * @param result what the search found (the best so far for a run that ended early), or null
   */
  static String json(
      RunSettings settings,
      RunStatus status,
      String stopReason,
      String error,
      SearchResult result,
      String backend,
      OffsetDateTime started,
      long wallNanos,
      List<String> files) {
    ObjectNode root = JSON.createObjectNode();
    root.put("status", status.configName());
    if (stopReason != null) {
      root.put("stop_reason", stopReason);
    }
    if (error != null) {
      root.put("error", error);
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
    root.put("started_at", started.toString());
    if (result == null) {
      root.put("nfe", 0);
      root.putNull("best_reward");
      putVersionsAndFiles(root, files);
      return write(root);
    }
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

    ArrayNode trace = root.putArray("reward_trace");
    for (TraceEntry e : result.trace()) {
      ObjectNode n = trace.addObject();
      n.put("round", e.round());
      n.put("chain", e.chain());
      number(n, "time", e.time());
      number(n, "reward", e.reward());
      n.put("event", e.event().name().toLowerCase(Locale.ROOT));
      n.put("nfe", e.nfe());
    }

    putVersionsAndFiles(root, files);
    return write(root);
  }

  private static void putVersionsAndFiles(ObjectNode root, List<String> files) {
    ArrayNode fileList = root.putArray("files");
    files.forEach(fileList::add);

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
  }

  private static String write(ObjectNode root) {
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the report as JSON", e);
    }
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
