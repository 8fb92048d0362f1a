package org.flowscale.engine.search;

import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;

/**
 * What every method's run shares: its checks before any work (budget rules, then the inputs) and
 * the run's resources. A method supplies only its own loop, so no method can skip a check.
 */
abstract class SearchTemplate implements SearchMethod {
  private final FilteringMethod id;

  SearchTemplate(FilteringMethod id) {
    this.id = id;
  }

  @Override
  public final FilteringMethod id() {
    return id;
  }

  @Override
  public final SearchResult run(
      SearchConfig config,
      ParticleOps ops,
      VelocityModel model,
      Reward reward,
      SearchListener listener) {
    validate(config);
    checkInputs(config, model, reward);
    try (SearchRun run = new SearchRun(config, ops, model, reward, listener)) {
      return search(config, run);
    }
  }

  /** The method's own loop, over a run whose config and inputs have been checked. */
  abstract SearchResult search(SearchConfig config, SearchRun run);
}
