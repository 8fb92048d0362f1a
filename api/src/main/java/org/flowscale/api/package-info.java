/**
 * flowscale's library API: inference-time scaling of flow models, embedded in a JVM service.
 *
 * <p>A {@link org.flowscale.api.Pipeline} is built once from a model, a reward and a particle
 * backend (it loads the weights), serves many {@link org.flowscale.api.GenerationRequest}s (each
 * with its own prompt, search method, budget and seed, concurrently up to its concurrency) and is
 * closed once. Each call returns a {@link org.flowscale.api.GenerationResult}: the image, its
 * reward, the NFE spent, the per-round trace and where the time went. A {@link
 * org.flowscale.api.Cancellation}, a deadline or a thread interrupt stops a run with the best
 * sample so far. Failures are {@link org.flowscale.api.FlowscaleException}s whose subtype says
 * whose fault it was.
 *
 * <p>{@link org.flowscale.api.FlowscaleConfig} reads the command line's YAML configs (with {@code
 * key=value} overrides and the same checks); {@link org.flowscale.api.RunOutputs} writes a run
 * directory with its {@code report.json}.
 *
 * <p>Observability: {@link org.flowscale.api.Pipeline#metrics()} counts requests, NFE and time
 * ({@link org.flowscale.api.micrometer.FlowscaleMeterBinder} binds them to a Micrometer registry);
 * the engine records Java Flight Recorder events {@code flowscale.ModelCall}, {@code
 * flowscale.RewardCall}, {@code flowscale.Round} and {@code flowscale.Search}.
 */
package org.flowscale.api;
