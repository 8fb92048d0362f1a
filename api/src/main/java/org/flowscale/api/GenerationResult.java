package org.flowscale.api;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.search.TimeSplit;
import org.flowscale.engine.search.TraceEntry;

/**
 * What one generation produced: its status, the chosen sample with its reward, the NFE spent, the
 * per-round trace, where the time went, and the image (when the model's samples are images). A run
 * that stopped early ({@link RunStatus#CANCELLED}, {@link RunStatus#INTERRUPTED}) or failed holds
 * the best sample scored until then, if any.
 */
public final class GenerationResult {
  private final RunStatus status;
  private final String stopReason;
  private final GenerationRequest request;
  private final SearchResult search;
  private final Image image;
  private final OffsetDateTime startedAt;
  private final Duration wall;
  private final String backend;

  GenerationResult(
      RunStatus status,
      String stopReason,
      GenerationRequest request,
      SearchResult search,
      Image image,
      OffsetDateTime startedAt,
      Duration wall,
      String backend) {
    this.status = status;
    this.stopReason = stopReason;
    this.request = request;
    this.search = search;
    this.image = image;
    this.startedAt = startedAt;
    this.wall = wall;
    this.backend = backend;
  }

  /** {@return how the run ended} */
  public RunStatus status() {
    return status;
  }

  /**
   * {@return why a run stopped early ({@code cancelled}, {@code deadline}, {@code interrupted})}
   */
  public Optional<String> stopReason() {
    return Optional.ofNullable(stopReason);
  }

  /** {@return the request that ran} */
  public GenerationRequest request() {
    return request;
  }

  /**
   * {@return the search's result: the chosen sample, its reward, NFE, trace and time split} Empty
   * only for a run that stopped or failed before anything was scored.
   */
  public Optional<SearchResult> search() {
    return Optional.ofNullable(search);
  }

  /** {@return the chosen sample's reward (NaN when nothing was scored)} */
  public double reward() {
    return search == null ? Double.NaN : search.reward();
  }

  /**
   * {@return the sampling time of the chosen sample's Tweedie estimate (NaN when nothing was
   * scored)} The last nonzero time for the methods that end at {@code t = 0}, the chosen proposal's
   * for RBF.
   */
  public double outputTime() {
    return search == null ? Double.NaN : search.outputTime();
  }

  /** {@return model evaluations spent (0 when nothing was scored)} */
  public long nfe() {
    return search == null ? 0 : search.nfe();
  }

  /** {@return the chosen sample (its Tweedie estimate, in the model's data space), if any} */
  public Optional<float[]> sample() {
    return search == null ? Optional.empty() : Optional.of(search.sample().clone());
  }

  /** {@return the chosen sample as an image, when the model's samples are (or decode to) images} */
  public Optional<Image> image() {
    return Optional.ofNullable(image);
  }

  /** {@return the per-round trace (empty when nothing was scored)} */
  public List<TraceEntry> trace() {
    return search == null ? List.of() : search.trace();
  }

  /** {@return where the search's time went: model, reward, engine} */
  public TimeSplit time() {
    return search == null ? new TimeSplit(0, 0, 0) : search.time();
  }

  /** {@return when the run started} */
  public OffsetDateTime startedAt() {
    return startedAt;
  }

  /** {@return the run's wall time, conditioning included} */
  public Duration wall() {
    return wall;
  }

  /** {@return the particle backend it ran on ({@code cpu}, {@code cuda})} */
  public String backend() {
    return backend;
  }

  GenerationResult withStatus(RunStatus s, String reason) {
    return new GenerationResult(s, reason, request, search, image, startedAt, wall, backend);
  }

  @Override
  public String toString() {
    return "GenerationResult["
        + status.configName()
        + (stopReason == null ? "" : " (" + stopReason + ")")
        + ", reward "
        + reward()
        + ", "
        + nfe()
        + " NFE, "
        + wall.toMillis()
        + " ms]";
  }
}
