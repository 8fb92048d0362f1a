package org.flowscale.engine.search;

import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;

/**
 * What every method's run shares: its checks before any work (budget rules, then the inputs), the
 * run's resources, and how a run ends early: a stop ({@link SearchStoppedException}) and any
 * failure of the model, the reward or the engine ({@link SearchFailedException}, naming the source)
 * both carry the best sample scored so far. A method supplies only its own loop, so no method can
 * skip a check.
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
    Events.Search event = new Events.Search();
    event.begin();
    String outcome = "failed";
    try (SearchRun run = new SearchRun(config, ops, model, reward, listener)) {
      try {
        SearchResult r = search(config, run);
        outcome = "completed";
        return r;
      } catch (SearchStoppedException e) {
        outcome = "stopped";
        throw e;
      } catch (RuntimeException | StackOverflowError e) {
        if (!(e instanceof NonFiniteException) && Thread.currentThread().isInterrupted()) {
          // An interrupt that reached a blocking call (a remote reward's HTTP request, a sleep)
          // comes out as that call's failure: it is the stop the caller asked for, not a fault.
          outcome = "stopped";
          SearchStoppedException stopped =
              new SearchStoppedException(SearchStoppedException.Reason.INTERRUPTED, run.partial());
          stopped.initCause(e);
          throw stopped;
        }
        SearchFailedException.Source source =
            e instanceof NonFiniteException n ? n.source() : run.phase();
        throw new SearchFailedException(source, e, run.partial());
      } finally {
        event.end();
        if (event.shouldCommit()) {
          event.method = id.configName();
          event.nfe = run.nfe();
          event.maxNfe = config.maxNfe();
          event.batch = run.firstRows();
          event.particleBytes = 4L * model.dim();
          event.outcome = outcome;
          event.commit();
        }
      }
    }
  }

  /** The method's own loop, over a run whose config and inputs have been checked. */
  abstract SearchResult search(SearchConfig config, SearchRun run);
}
