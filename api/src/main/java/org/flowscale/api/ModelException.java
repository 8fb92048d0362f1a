package org.flowscale.api;

/** The velocity model failed: while loading its weights or during a run. */
public final class ModelException extends FlowscaleException {
  private final String model;

  public ModelException(String model, String message, Throwable cause, GenerationResult partial) {
    super(message, cause, partial);
    this.model = model;
  }

  /** The model's config name ({@code toy}, {@code flux}, ...). */
  public String model() {
    return model;
  }
}
