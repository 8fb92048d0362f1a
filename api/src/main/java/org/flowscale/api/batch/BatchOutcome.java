package org.flowscale.api.batch;

/**
 * What a batch run did.
 *
 * @param shardItems the shard's items
 * @param skipped items already done by earlier runs
 * @param done items this run finished (completed, or stopped by their own deadline)
 * @param failed items whose generation failed (the next run tries them again)
 * @param notDone items this run did not finish: stopped, or left when every worker was lost (the
 *     next run does them)
 * @param stopped whether the run was stopped ({@link BatchRunner#stop})
 * @param summary the summary of the whole batch folder, as written at the end of the run
 */
public record BatchOutcome(
    int shardItems,
    int skipped,
    int done,
    int failed,
    int notDone,
    boolean stopped,
    BatchSummary summary) {

  /** {@return whether every item of the shard is done} */
  public boolean complete() {
    return skipped + done == shardItems;
  }
}
