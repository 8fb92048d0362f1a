/**
 * Prompt sets at scale: a {@link org.flowscale.api.batch.BatchPlan} (a {@link
 * org.flowscale.api.batch.PromptFile} times seeds, every item checked up front), run by a {@link
 * org.flowscale.api.batch.BatchRunner} into a {@link org.flowscale.api.batch.BatchDirectory} that
 * resumes (done items are skipped, unfinished ones redone), split into disjoint {@link
 * org.flowscale.api.batch.Shard}s across machines and into workers across devices, and summarised
 * by {@link org.flowscale.api.batch.BatchSummary}.
 */
package org.flowscale.api.batch;
