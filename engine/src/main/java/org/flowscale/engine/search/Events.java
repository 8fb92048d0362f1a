package org.flowscale.engine.search;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * Java Flight Recorder events of a search, so the NFE cost of a production service can be profiled
 * with {@code jcmd <pid> JFR.start} and read in JDK Mission Control or {@code jfr print --events
 * 'flowscale.*'}. They cost nothing measurable when no recording runs (each is checked with {@code
 * shouldCommit} after timing).
 */
final class Events {
  private Events() {}

  /** One batched velocity evaluation. */
  @Name("flowscale.ModelCall")
  @Label("Model call")
  @Category({"flowscale", "Search"})
  @Description(
      "One batched velocity evaluation of rows particles: callNfe NFE (2 per row under"
          + " classifier-free guidance), or a vector-Jacobian product (gradient, no NFE)")
  @StackTrace(false)
  static final class ModelCall extends Event {
    @Label("Method")
    String method;

    @Label("Rows")
    @Description("Particles evaluated")
    int rows;

    @Label("NFE")
    @Description("What the call spent of the budget: rows times the NFE per evaluation")
    long callNfe;

    @Label("Gradient")
    @Description("A vector-Jacobian product (DPS), not a forward")
    boolean gradient;

    @Label("NFE so far")
    long nfe;
  }

  /** One batched reward evaluation. */
  @Name("flowscale.RewardCall")
  @Label("Reward call")
  @Category({"flowscale", "Search"})
  @StackTrace(false)
  static final class RewardCall extends Event {
    @Label("Method")
    String method;

    @Label("Reward")
    String reward;

    @Label("Rows")
    int rows;

    @Label("Gradient")
    boolean gradient;
  }

  /**
   * One round of a search: a batched model call and the scoring and particle work that follow it,
   * up to the next model call (or the end of the run).
   */
  @Name("flowscale.Round")
  @Label("Search round")
  @Category({"flowscale", "Search"})
  @StackTrace(false)
  static final class Round extends Event {
    @Label("Method")
    String method;

    @Label("Round")
    int round;

    @Label("Rows")
    @Description("Particles the round's model call evaluates")
    int rows;

    @Label("NFE so far")
    long nfe;
  }

  /** A whole search. */
  @Name("flowscale.Search")
  @Label("Search")
  @Category({"flowscale", "Search"})
  @StackTrace(false)
  static final class Search extends Event {
    @Label("Method")
    String method;

    @Label("NFE")
    long nfe;

    @Label("Budget")
    long maxNfe;

    @Label("Batch")
    @Description("Chains times particles the method starts with")
    int batch;

    @Label("Particle bytes")
    @DataAmount
    long particleBytes;

    @Label("Outcome")
    String outcome;
  }
}
