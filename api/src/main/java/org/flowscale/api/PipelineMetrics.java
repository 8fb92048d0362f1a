package org.flowscale.api;

/**
 * Counters of a {@link Pipeline} since it was built: requests by outcome, NFE spent and where the
 * time went. A snapshot; {@link Pipeline#metrics()} makes a new one. {@code
 * org.flowscale.api.micrometer.FlowscaleMeterBinder} exposes the same counters to a Micrometer
 * registry when Micrometer is on the class path.
 *
 * @param requests generations started
 * @param completed generations that spent their budget
 * @param cancelled generations stopped by a cancellation or a deadline
 * @param interrupted generations stopped by a thread interrupt
 * @param failed generations that failed (configuration errors of a request included)
 * @param nfe model evaluations spent by all generations
 * @param modelNanos time in the velocity model
 * @param rewardNanos time in the reward
 * @param engineNanos the rest of the searches' time (particle work, bookkeeping)
 * @param active generations running now
 */
public record PipelineMetrics(
    long requests,
    long completed,
    long cancelled,
    long interrupted,
    long failed,
    long nfe,
    long modelNanos,
    long rewardNanos,
    long engineNanos,
    int active) {}
