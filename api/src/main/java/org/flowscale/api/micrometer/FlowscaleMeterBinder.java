package org.flowscale.api.micrometer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import org.flowscale.api.Pipeline;
import org.flowscale.api.PipelineMetrics;

/**
 * Exposes a {@link Pipeline}'s counters ({@link Pipeline#metrics()}) to a Micrometer registry:
 *
 * <pre>{@code
 * new FlowscaleMeterBinder(pipeline).bindTo(registry);
 * }</pre>
 *
 * <table class="striped">
 *   <caption>Meters (each tagged {@code model}, {@code reward}, {@code backend} and the given
 *   tags)</caption>
 *   <thead>
 *     <tr><th>name</th><th>type</th><th>what it counts</th></tr>
 *   </thead>
 *   <tbody>
 *     <tr><td>{@code flowscale.generations.started}</td><td>function counter</td>
 *       <td>generations started</td></tr>
 *     <tr><td>{@code flowscale.generations} (tag {@code outcome}: {@code completed}, {@code
 *       cancelled}, {@code interrupted}, {@code failed})</td><td>function counter</td>
 *       <td>generations finished, by outcome</td></tr>
 *     <tr><td>{@code flowscale.generations.active}</td><td>gauge</td>
 *       <td>generations running now</td></tr>
 *     <tr><td>{@code flowscale.nfe}</td><td>function counter</td>
 *       <td>model evaluations spent</td></tr>
 *     <tr><td>{@code flowscale.search.time} (tag {@code part}: {@code model}, {@code reward},
 *       {@code engine})</td><td>function counter, seconds</td>
 *       <td>where the searches' time went</td></tr>
 *   </tbody>
 * </table>
 *
 * <p>The meters read the pipeline's counters when the registry asks (nothing is recorded per
 * round), and hold the pipeline weakly, as Micrometer's function meters do: keep a reference to the
 * pipeline for as long as it should be reported. Micrometer is not a dependency of flowscale: this
 * class is the only one that refers to it, and is loaded only when an application calls it.
 */
public final class FlowscaleMeterBinder implements MeterBinder {
  private final Pipeline pipeline;
  private final Tags tags;

  /**
   * A binder for {@code pipeline}'s counters.
   *
   * @param pipeline the pipeline to report
   */
  public FlowscaleMeterBinder(Pipeline pipeline) {
    this(pipeline, Tags.empty());
  }

  /**
   * A binder for {@code pipeline}'s counters with extra tags (e.g. a pipeline's role when an
   * application runs several).
   *
   * @param pipeline the pipeline to report
   * @param tags added to every meter
   */
  public FlowscaleMeterBinder(Pipeline pipeline, Iterable<Tag> tags) {
    this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
    this.tags =
        Tags.of(
                "model", pipeline.modelName(),
                "reward", pipeline.rewardName(),
                "backend", pipeline.backend())
            .and(tags == null ? Tags.empty() : tags);
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    counter(
        registry,
        "flowscale.generations.started",
        "generations started",
        null,
        null,
        m -> m.requests());
    outcome(registry, "completed", PipelineMetrics::completed);
    outcome(registry, "cancelled", PipelineMetrics::cancelled);
    outcome(registry, "interrupted", PipelineMetrics::interrupted);
    outcome(registry, "failed", PipelineMetrics::failed);
    Gauge.builder("flowscale.generations.active", pipeline, p -> p.metrics().active())
        .description("generations running now")
        .baseUnit("generations")
        .tags(tags)
        .register(registry);
    counter(
        registry, "flowscale.nfe", "model evaluations spent", "evaluations", null, m -> m.nfe());
    time(registry, "model", PipelineMetrics::modelNanos);
    time(registry, "reward", PipelineMetrics::rewardNanos);
    time(registry, "engine", PipelineMetrics::engineNanos);
  }

  private void outcome(
      MeterRegistry registry, String outcome, ToDoubleFunction<PipelineMetrics> f) {
    counter(
        registry,
        "flowscale.generations",
        "generations finished, by outcome",
        "generations",
        Tags.of("outcome", outcome),
        f);
  }

  private void time(MeterRegistry registry, String part, ToDoubleFunction<PipelineMetrics> nanos) {
    counter(
        registry,
        "flowscale.search.time",
        "time the searches spent, by part: model, reward, engine (particle work, bookkeeping)",
        "seconds",
        Tags.of("part", part),
        m -> nanos.applyAsDouble(m) / 1e9);
  }

  private void counter(
      MeterRegistry registry,
      String name,
      String description,
      String unit,
      Tags extra,
      ToDoubleFunction<PipelineMetrics> value) {
    FunctionCounter.builder(name, pipeline, p -> value.applyAsDouble(p.metrics()))
        .description(description)
        .baseUnit(unit == null ? "generations" : unit)
        .tags(extra == null ? tags : tags.and(extra))
        .register(registry);
  }
}
