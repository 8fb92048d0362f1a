package org.flowscale.api;

/** The velocity model failed: while loading its weights or during a run. */
public final class ModelException extends FlowscaleException {
  /** The model's config name. */
  private final String model;

  /**
   * A model failure.
   *
   * @param model the model's config name
   * @param message what failed, on one line
   * @param cause the model's own exception (may be null)
   * @param partial the run's best so far, or null when nothing ran
   */
  public ModelException(String model, String message, Throwable cause, GenerationResult partial) {
    super(message, cause, partial);
    this.model = model;
  }

  /** {@return the model's config name ({@code toy}, {@code flux}, ...)} */
  public String model() {
    return model;
  }
}
