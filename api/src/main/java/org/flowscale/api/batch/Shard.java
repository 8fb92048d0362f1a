package org.flowscale.api.batch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.Text;

/**
 * One of {@code count} disjoint shares of a batch: item {@code k} (in {@link BatchPlan} order)
 * belongs to shard {@code k mod count}. Every process that is given the same prompt file, config
 * and seeds computes the same items, so shards need no coordinator: each takes its own share, and
 * together they cover every item exactly once.
 *
 * @param index this shard, in {@code [0, count)}
 * @param count how many shards the batch is split into
 */
public record Shard(int index, int count) {
  /** The whole batch. */
  public static final Shard ALL = new Shard(0, 1);

  /** Set by Kubernetes for each pod of an Indexed Job. */
  public static final String K8S_INDEX = "JOB_COMPLETION_INDEX";

  /** Set by Slurm for each task of a job array. */
  public static final String SLURM_INDEX = "SLURM_ARRAY_TASK_ID";

  /** The first task id of a Slurm array ({@code --array=1-4} starts at 1). */
  public static final String SLURM_MIN = "SLURM_ARRAY_TASK_MIN";

  /** More shards than this is a typo. */
  public static final int MAX_COUNT = 100_000;

  /** A shard; {@code index} in [0, count), {@code count} in [1, {@value #MAX_COUNT}]. */
  public Shard {
    if (count < 1 || count > MAX_COUNT) {
      throw new ConfigurationException(
          "the shard count must be in [1, " + MAX_COUNT + "], got " + count);
    }
    if (index < 0 || index >= count) {
      throw new ConfigurationException(
          "shard " + index + "/" + count + ": the index must be in [0, " + (count - 1) + "]");
    }
  }

  /**
   * Reads {@code I/N}, e.g. {@code 0/3}.
   *
   * @param spec the shard, {@code I/N}
   * @return the shard
   * @throws ConfigurationException when it is not two numbers or the index is out of range
   */
  public static Shard parse(String spec) {
    String s = spec == null ? "" : spec.strip();
    int slash = s.indexOf('/');
    if (slash < 0
        || !s.substring(0, slash).matches("[0-9]{1,6}")
        || !s.substring(slash + 1).matches("[0-9]{1,6}")) {
      throw new ConfigurationException(
          "bad shard " + Text.quote(spec) + ": expected I/N, e.g. 0/4 (the first of 4 shards)");
    }
    return new Shard(
        Integer.parseInt(s.substring(0, slash)), Integer.parseInt(s.substring(slash + 1)));
  }

  /**
   * Shard {@code I} of {@code count}, where {@code I} comes from the environment: {@code
   * JOB_COMPLETION_INDEX} (a Kubernetes Indexed Job), else {@code SLURM_ARRAY_TASK_ID} minus {@code
   * SLURM_ARRAY_TASK_MIN} (a Slurm array; the minimum defaults to 0).
   *
   * @param count the number of shards
   * @param env the environment, e.g. {@code System.getenv()}
   * @return the shard
   * @throws ConfigurationException when neither is set, or a value is not an index in range
   */
  public static Shard fromEnvironment(int count, Map<String, String> env) {
    String k8s = env.get(K8S_INDEX);
    if (k8s != null && !k8s.isBlank()) {
      return new Shard(number(K8S_INDEX, k8s, count), count);
    }
    String slurm = env.get(SLURM_INDEX);
    if (slurm != null && !slurm.isBlank()) {
      String min = env.get(SLURM_MIN);
      int first = min == null || min.isBlank() ? 0 : number(SLURM_MIN, min, Integer.MAX_VALUE);
      int id = number(SLURM_INDEX, slurm, Integer.MAX_VALUE);
      int index = id - first;
      if (index < 0 || index >= count) {
        throw new ConfigurationException(
            SLURM_INDEX
                + "="
                + id
                + (first != 0 ? " (array from " + first + ")" : "")
                + " is not a shard of "
                + count
                + ": use --array="
                + first
                + "-"
                + (first + count - 1));
      }
      return new Shard(index, count);
    }
    throw new ConfigurationException(
        "--shards "
            + count
            + " takes this process's shard from "
            + K8S_INDEX
            + " (Kubernetes Indexed Job) or "
            + SLURM_INDEX
            + " (Slurm array), and neither is set: give --shard I/"
            + count
            + " instead");
  }

  private static int number(String name, String value, int below) {
    String v = value.strip();
    if (!v.matches("[0-9]{1,9}")) {
      throw new ConfigurationException(
          name + "=" + Text.quote(value) + " is not a non-negative integer");
    }
    int n = Integer.parseInt(v);
    if (n >= below) {
      throw new ConfigurationException(
          name + "=" + n + " is not a shard of " + below + " (indices run from 0)");
    }
    return n;
  }

  /**
   * {@return whether the item at {@code position} in plan order is this shard's}
   *
   * @param position the item's 0-based position in plan order
   */
  public boolean contains(int position) {
    return Math.floorMod(position, count) == index;
  }

  /**
   * {@return this shard's share of {@code items} (in plan order), keeping their order}
   *
   * @param <T> the items' type
   * @param items every item, in plan order
   */
  public <T> List<T> select(List<T> items) {
    List<T> out = new ArrayList<>();
    for (int i = index; i < items.size(); i += count) {
      out.add(items.get(i));
    }
    return out;
  }

  @Override
  public String toString() {
    return index + "/" + count;
  }
}
