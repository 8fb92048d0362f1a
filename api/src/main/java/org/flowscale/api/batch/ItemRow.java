package org.flowscale.api.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/**
 * One item's line of the summary.
 *
 * @param id the item's id (its directory under {@code items/})
 * @param prompt {@code text_prompt}
 * @param seed {@code seed}
 * @param method the config's {@code tag} when set, else {@code filtering_method}
 * @param maxNfe the budget
 * @param nfe NFE spent (0 when nothing ran)
 * @param reward the chosen sample's reward (NaN when nothing was scored)
 * @param seconds the generation's wall time (NaN when unknown)
 * @param status {@code completed}, {@code cancelled} (its own deadline), {@code failed}, {@code
 *     interrupted}, {@code incomplete} (started, never finished) or {@code pending} (not started)
 * @param error why it failed, or null
 */
public record ItemRow(
    String id,
    String prompt,
    long seed,
    String method,
    long maxNfe,
    long nfe,
    double reward,
    double seconds,
    String status,
    String error) {

  /** Status of a finished item. */
  public static final String COMPLETED = "completed";

  /** Status of an item stopped by its own {@code deadline_s} (done: a rerun would do the same). */
  public static final String CANCELLED = "cancelled";

  /** Status of an item whose generation failed (redone by the next run). */
  public static final String FAILED = "failed";

  /** Status of an item stopped by a signal or {@link BatchRunner#stop} (redone by the next run). */
  public static final String INTERRUPTED = "interrupted";

  /** Status of an item that started and never finished (its process died). */
  public static final String INCOMPLETE = "incomplete";

  /** Status of an item of a plan that has not started. */
  public static final String PENDING = "pending";

  /**
   * {@return whether {@code status} marks the item done}
   *
   * @param status an item's status
   */
  public static boolean isDone(String status) {
    return COMPLETED.equals(status) || CANCELLED.equals(status);
  }

  /** A row for an item that has no outcome (yet). */
  static ItemRow withoutOutcome(BatchItem i, String status, String error) {
    return new ItemRow(
        i.id(),
        i.prompt(),
        i.seed(),
        i.method(),
        i.maxNfe(),
        0,
        Double.NaN,
        Double.NaN,
        status,
        error);
  }

  ObjectNode toJson() {
    ObjectNode n = BatchDirectory.JSON.createObjectNode();
    n.put("id", id);
    n.put("text_prompt", prompt);
    n.put("seed", seed);
    n.put("method", method);
    n.put("max_nfe", maxNfe);
    n.put("nfe", nfe);
    number(n, "reward", reward);
    number(n, "time_s", seconds);
    n.put("status", status);
    if (error != null) {
      n.put("error", error);
    }
    return n;
  }

  /** A row from {@code done.json} or a summary's row (missing numbers read as NaN or 0). */
  static ItemRow fromJson(JsonNode n) {
    return new ItemRow(
        text(n, "id"),
        text(n, "text_prompt"),
        n.path("seed").asLong(0),
        text(n, "method"),
        n.path("max_nfe").asLong(0),
        n.path("nfe").asLong(0),
        n.path("reward").isNumber() ? n.get("reward").asDouble() : Double.NaN,
        n.path("time_s").isNumber() ? n.get("time_s").asDouble() : Double.NaN,
        text(n, "status"),
        n.path("error").isTextual() ? n.get("error").asText() : null);
  }

  private static String text(JsonNode n, String key) {
    JsonNode v = n.get(key);
    return v == null || v.isNull() ? "" : v.asText();
  }

  static void number(ObjectNode n, String key, double v) {
    if (Double.isFinite(v)) {
      n.put(key, v);
    } else {
      n.putNull(key);
    }
  }

  /** The CSV header of {@link #csv()}. */
  static final String CSV_HEADER = "id,prompt,seed,method,max_nfe,nfe,reward,time_s,status,error";

  /** This row as CSV (RFC 4180 quoting; a reward is written exactly, to the last bit). */
  String csv() {
    return String.join(
        ",",
        Csv.field(id),
        Csv.field(prompt),
        Long.toString(seed),
        Csv.field(method),
        Long.toString(maxNfe),
        Long.toString(nfe),
        Csv.number(reward),
        Double.isFinite(seconds) ? String.format(Locale.ROOT, "%.3f", seconds) : "",
        Csv.field(status),
        Csv.field(error == null ? "" : error));
  }
}
