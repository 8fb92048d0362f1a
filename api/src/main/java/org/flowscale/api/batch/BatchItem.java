package org.flowscale.api.batch;

import org.flowscale.api.FlowscaleConfig;

/**
 * One generation of a batch: a prompt line of the prompt file with one seed.
 *
 * @param id the item's stable name, its directory under {@code items/}: a slug of the prompt, the
 *     seed and a hash of everything that decides the result ({@code
 *     two-red-circles-s3-1f0c2a9b7e}). The same prompt, config and seed give the same id in every
 *     process, on every machine, in every shard and with any number of workers; a changed config
 *     gives new ids.
 * @param position the item's place in the plan (0-based); shards split by it
 * @param line the prompt file's line (1-based)
 * @param prompt {@code text_prompt}
 * @param seed {@code seed}
 * @param method what the summary groups it under: the config's {@code tag} when set, else {@code
 *     filtering_method}
 * @param maxNfe {@code max_nfe}
 * @param config the item's resolved config: the batch's config with the line's overrides, its
 *     prompt and its seed (the output keys are set by the runner)
 */
public record BatchItem(
    String id,
    int position,
    int line,
    String prompt,
    long seed,
    String method,
    long maxNfe,
    FlowscaleConfig config) {

  @Override
  public String toString() {
    return id;
  }
}
