package org.flowscale.api.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * A batch folder's results, rebuilt from its item directories alone (so shards that ran on
 * different machines are summarised once their folders are gathered): one {@link ItemRow} per item
 * and, per method and budget, the mean and standard error of the reward over the completed items.
 *
 * <p>Rows come in plan order (the plans under {@code plans/}, by name), then items that no plan
 * lists, by id. An item's status comes from its {@code done.json}; without one, from its {@code
 * report.json} ({@code failed}, {@code interrupted}, ...), or {@code incomplete} when it has
 * neither; a planned item with no directory is {@code pending}.
 */
public final class BatchSummary {
  /** The summary files, as {@link #write} names them. */
  public static final String CSV = "summary.csv";

  /** Per method and budget. */
  public static final String METHODS_CSV = "summary_methods.csv";

  /** Rows and groups as JSON. */
  public static final String JSON_FILE = "summary.json";

  /** Mean reward against budget, one line per method (when several budgets were run). */
  public static final String PLOT = "reward_vs_nfe.png";

  /**
   * One method at one budget.
   *
   * @param method the config's {@code tag} when set, else {@code filtering_method}
   * @param maxNfe the budget
   * @param items the items of this method and budget (any status)
   * @param completed those completed: the statistics are over them
   * @param failed those failed
   * @param meanReward the mean reward (NaN when none completed)
   * @param seReward the standard error of the mean, {@code s / sqrt(n)} with the sample standard
   *     deviation (NaN below two)
   * @param meanNfe the mean NFE spent
   * @param meanSeconds the mean wall time of a generation
   */
  public record Group(
      String method,
      long maxNfe,
      int items,
      int completed,
      int failed,
      double meanReward,
      double seReward,
      double meanNfe,
      double meanSeconds) {}

  private final List<ItemRow> rows;
  private final List<Group> groups;

  BatchSummary(List<ItemRow> rows) {
    this.rows = List.copyOf(rows);
    this.groups = group(rows);
  }

  /**
   * Reads a batch folder's items.
   *
   * @param folder the batch folder
   * @return the summary of its items
   * @throws org.flowscale.api.ConfigurationException when the folder is not a batch folder
   * @throws IOException when it cannot be read
   */
  public static BatchSummary read(Path folder) throws IOException {
    return read(BatchDirectory.open(folder));
  }

  static BatchSummary read(BatchDirectory dir) throws IOException {
    Map<String, JsonNode> planned = new LinkedHashMap<>();
    for (Path plan : dir.planFiles()) {
      try {
        for (JsonNode item : BatchDirectory.planItems(plan)) {
          String id = item.path("id").asText("");
          if (!id.isEmpty()) {
            planned.putIfAbsent(id, item);
          }
        }
      } catch (IOException e) {
        // a plan file that cannot be read only hides pending items
      }
    }
    List<String> ids = new ArrayList<>(planned.keySet());
    TreeSet<String> dirs = new TreeSet<>(dir.itemIds());
    for (String id : dirs) {
      if (!planned.containsKey(id)) {
        ids.add(id);
      }
    }
    List<ItemRow> rows = new ArrayList<>();
    for (String id : ids) {
      rows.add(row(dir, id, planned.get(id), dirs.contains(id)));
    }
    return new BatchSummary(rows);
  }

  private static ItemRow row(BatchDirectory dir, String id, JsonNode planned, boolean exists) {
    if (exists) {
      var done = dir.readJson(id, BatchDirectory.DONE);
      if (done.isPresent()) {
        ItemRow r = ItemRow.fromJson(done.get());
        return r.id().equals(id) ? r : withId(r, id);
      }
    }
    JsonNode what = exists ? dir.readJson(id, BatchDirectory.ITEM).orElse(planned) : planned;
    if (what == null) {
      what = BatchDirectory.JSON.createObjectNode();
    }
    String status = exists ? ItemRow.INCOMPLETE : ItemRow.PENDING;
    String error = null;
    long nfe = 0;
    double reward = Double.NaN;
    double seconds = Double.NaN;
    if (exists) {
      var report = dir.readJson(id, "report.json");
      if (report.isPresent()) {
        JsonNode r = report.get();
        String s = r.path("status").asText("");
        status =
            switch (s) {
              case "failed" -> ItemRow.FAILED;
              case "interrupted", "cancelled" -> ItemRow.INTERRUPTED;
              default -> ItemRow.INCOMPLETE; // running (its process died) or unknown
            };
        error = r.path("error").isTextual() ? r.get("error").asText() : null;
        nfe = r.path("nfe").asLong(0);
        reward = r.path("best_reward").isNumber() ? r.get("best_reward").asDouble() : Double.NaN;
        JsonNode wall = r.path("time_seconds").path("wall");
        seconds = wall.isNumber() ? wall.asDouble() : Double.NaN;
      }
    }
    return new ItemRow(
        id,
        what.path("text_prompt").asText(""),
        what.path("seed").asLong(0),
        what.path("method").asText(""),
        what.path("max_nfe").asLong(0),
        nfe,
        reward,
        seconds,
        status,
        error);
  }

  private static ItemRow withId(ItemRow r, String id) {
    return new ItemRow(
        id,
        r.prompt(),
        r.seed(),
        r.method(),
        r.maxNfe(),
        r.nfe(),
        r.reward(),
        r.seconds(),
        r.status(),
        r.error());
  }

  /** {@return one row per item} */
  public List<ItemRow> rows() {
    return rows;
  }

  /** {@return per method (in order of first appearance) and budget (ascending)} */
  public List<Group> groups() {
    return groups;
  }

  /** {@return how many items have each status, in a fixed order} */
  public Map<String, Integer> counts() {
    Map<String, Integer> out = new LinkedHashMap<>();
    for (String s :
        List.of(
            ItemRow.COMPLETED,
            ItemRow.CANCELLED,
            ItemRow.FAILED,
            ItemRow.INTERRUPTED,
            ItemRow.INCOMPLETE,
            ItemRow.PENDING)) {
      int n = (int) rows.stream().filter(r -> r.status().equals(s)).count();
      if (n > 0) {
        out.put(s, n);
      }
    }
    return out;
  }

  /** {@return whether groups differ in budget, so a reward-against-NFE plot says something} */
  public boolean severalBudgets() {
    return groups.stream().filter(g -> g.completed() > 0).map(Group::maxNfe).distinct().count() > 1;
  }

  private static List<Group> group(List<ItemRow> rows) {
    Map<String, Map<Long, List<ItemRow>>> by = new LinkedHashMap<>();
    for (ItemRow r : rows) {
      by.computeIfAbsent(r.method(), m -> new java.util.TreeMap<>())
          .computeIfAbsent(r.maxNfe(), b -> new ArrayList<>())
          .add(r);
    }
    List<Group> out = new ArrayList<>();
    by.forEach(
        (method, budgets) ->
            budgets.forEach(
                (budget, list) -> {
                  List<ItemRow> done =
                      list.stream().filter(r -> r.status().equals(ItemRow.COMPLETED)).toList();
                  double[] rewards =
                      done.stream().mapToDouble(ItemRow::reward).filter(Double::isFinite).toArray();
                  out.add(
                      new Group(
                          method,
                          budget,
                          list.size(),
                          done.size(),
                          (int)
                              list.stream().filter(r -> r.status().equals(ItemRow.FAILED)).count(),
                          mean(rewards),
                          standardError(rewards),
                          done.stream().mapToLong(ItemRow::nfe).average().orElse(Double.NaN),
                          mean(
                              done.stream()
                                  .mapToDouble(ItemRow::seconds)
                                  .filter(Double::isFinite)
                                  .toArray())));
                }));
    return Collections.unmodifiableList(out);
  }

  static double mean(double[] v) {
    if (v.length == 0) {
      return Double.NaN;
    }
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return s / v.length;
  }

  /** {@code s / sqrt(n)}, with the sample standard deviation {@code s}; NaN below two values. */
  static double standardError(double[] v) {
    int n = v.length;
    if (n < 2) {
      return Double.NaN;
    }
    double m = mean(v);
    double ss = 0;
    for (double x : v) {
      ss += (x - m) * (x - m);
    }
    return Math.sqrt(ss / (n - 1) / n);
  }

  /**
   * Writes {@code summary.csv}, {@code summary_methods.csv}, {@code summary.json} and, when several
   * budgets were run, {@code reward_vs_nfe.png} (an old plot that no longer applies is removed).
   * Each file is replaced atomically.
   *
   * @param folder the batch folder
   * @return the names of the files written
   * @throws IOException when a file cannot be written
   */
  public List<String> write(Path folder) throws IOException {
    List<String> written = new ArrayList<>();
    StringBuilder csv = new StringBuilder(ItemRow.CSV_HEADER).append('\n');
    rows.forEach(r -> csv.append(r.csv()).append('\n'));
    BatchDirectory.writeAtomically(folder.resolve(CSV), csv.toString());
    written.add(CSV);

    StringBuilder methods =
        new StringBuilder(
            "method,max_nfe,items,completed,failed,mean_reward,se_reward,mean_nfe,mean_time_s\n");
    for (Group g : groups) {
      methods
          .append(Csv.field(g.method()))
          .append(',')
          .append(g.maxNfe())
          .append(',')
          .append(g.items())
          .append(',')
          .append(g.completed())
          .append(',')
          .append(g.failed())
          .append(',')
          .append(Csv.number(g.meanReward()))
          .append(',')
          .append(Csv.number(g.seReward()))
          .append(',')
          .append(Csv.number(g.meanNfe()))
          .append(',')
          .append(
              Double.isFinite(g.meanSeconds())
                  ? String.format(Locale.ROOT, "%.3f", g.meanSeconds())
                  : "")
          .append('\n');
    }
    BatchDirectory.writeAtomically(folder.resolve(METHODS_CSV), methods.toString());
    written.add(METHODS_CSV);

    BatchDirectory.writeAtomically(
        folder.resolve(JSON_FILE), BatchDirectory.JSON.writeValueAsString(toJson()) + "\n");
    written.add(JSON_FILE);

    Path plot = folder.resolve(PLOT);
    if (severalBudgets()) {
      BatchDirectory.writeAtomically(plot, RewardChart.png(groups));
      written.add(PLOT);
    } else {
      Files.deleteIfExists(plot);
    }
    return written;
  }

  /** {@return the summary as JSON: counts, groups and rows} */
  public ObjectNode toJson() {
    ObjectNode root = BatchDirectory.JSON.createObjectNode();
    root.put("items", rows.size());
    ObjectNode c = root.putObject("status_counts");
    counts().forEach(c::put);
    ArrayNode gs = root.putArray("methods");
    for (Group g : groups) {
      ObjectNode n = gs.addObject();
      n.put("method", g.method());
      n.put("max_nfe", g.maxNfe());
      n.put("items", g.items());
      n.put("completed", g.completed());
      n.put("failed", g.failed());
      ItemRow.number(n, "mean_reward", g.meanReward());
      ItemRow.number(n, "se_reward", g.seReward());
      ItemRow.number(n, "mean_nfe", g.meanNfe());
      ItemRow.number(n, "mean_time_s", g.meanSeconds());
    }
    ArrayNode rs = root.putArray("rows");
    rows.forEach(r -> rs.add(r.toJson()));
    return root;
  }

  /** {@return the groups as a text table, one line per method and budget} */
  public String table() {
    int width = Math.max(6, groups.stream().mapToInt(g -> g.method().length()).max().orElse(6));
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            Locale.ROOT,
            "%-" + width + "s %8s %7s %9s %22s %9s %8s%n",
            "method",
            "max_nfe",
            "items",
            "completed",
            "reward (mean +- se)",
            "mean NFE",
            "time s"));
    for (Group g : groups) {
      String reward =
          Double.isNaN(g.meanReward())
              ? "-"
              : String.format(Locale.ROOT, "%.4f", g.meanReward())
                  + (Double.isNaN(g.seReward())
                      ? ""
                      : String.format(Locale.ROOT, " +- %.4f", g.seReward()));
      b.append(
          String.format(
              Locale.ROOT,
              "%-" + width + "s %8d %7d %9d %22s %9s %8s%n",
              g.method(),
              g.maxNfe(),
              g.items(),
              g.completed(),
              reward,
              Double.isNaN(g.meanNfe()) ? "-" : String.format(Locale.ROOT, "%.1f", g.meanNfe()),
              Double.isNaN(g.meanSeconds())
                  ? "-"
                  : String.format(Locale.ROOT, "%.2f", g.meanSeconds())));
    }
    return b.toString();
  }
}
