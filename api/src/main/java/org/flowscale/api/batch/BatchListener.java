package org.flowscale.api.batch;

/**
 * Hears a batch run's progress. Workers call it from their own threads, at once: an implementation
 * must be thread-safe and quick (it runs inside the search loop for {@link #onItemProgress}).
 */
public interface BatchListener {
  /** Hears nothing. */
  BatchListener NONE = new BatchListener() {};

  /**
   * The run is about to start its items.
   *
   * @param start what the run found: the batch's size, this shard's, what is already done
   */
  default void onStart(BatchStart start) {}

  /**
   * A worker started an item.
   *
   * @param worker the worker's name (its backend spec)
   * @param item the item
   */
  default void onItemStart(String worker, BatchItem item) {}

  /**
   * A worker's item spent {@code nfe} of its {@code maxNfe}.
   *
   * @param worker the worker's name (its backend spec)
   * @param item the item
   * @param nfe the NFE spent so far
   * @param maxNfe the item's budget
   */
  default void onItemProgress(String worker, BatchItem item, long nfe, long maxNfe) {}

  /**
   * A worker's item ended (done or not: see {@link ItemRow#status()}).
   *
   * @param worker the worker's name (its backend spec)
   * @param item the item
   * @param row what the item's summary row says
   */
  default void onItemEnd(String worker, BatchItem item, ItemRow row) {}

  /**
   * What a batch run found before starting.
   *
   * @param batchItems the plan's items
   * @param shard this process's shard
   * @param shardItems the shard's items
   * @param alreadyDone the shard's items done by earlier runs (skipped)
   * @param toRun the shard's items this run will do
   * @param toRunNfe their summed budgets (for an ETA)
   * @param workers the workers (backend specs)
   */
  record BatchStart(
      int batchItems,
      Shard shard,
      int shardItems,
      int alreadyDone,
      int toRun,
      long toRunNfe,
      java.util.List<String> workers) {}
}
