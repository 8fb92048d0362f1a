package org.flowscale.engine.model;

/**
 * A flow model's weights, loaded once and conditioned per request: the unit a service keeps while
 * prompts come and go (compare ONNX Runtime's {@code OrtSession} or DJL's {@code ZooModel}). {@link
 * ModelFactory#load} makes one; {@link #condition} binds a prompt and returns the {@link
 * VelocityModel} a search runs. Conditioning that costs something (a text encoder's embedding) is
 * computed once per prompt and may be cached by the implementation.
 *
 * <p>Ownership: this object owns the weights; a {@link VelocityModel} it returns shares them.
 * Closing that velocity model frees only what belongs to its request; closing this flow model frees
 * the weights and makes every velocity model it returned unusable.
 *
 * <p>Thread safety: {@link #condition} may be called from several threads at once; whether one
 * conditioned model may serve concurrent searches is for the implementation to say (the toy world's
 * can).
 */
public interface FlowModel extends SampleSpace, AutoCloseable {

  /**
   * The velocity model for {@code prompt} (null: unconditional, where the model allows it).
   *
   * @throws IllegalArgumentException when the prompt cannot condition this model (the message says
   *     why)
   */
  VelocityModel condition(String prompt);

  /**
   * Whether {@link #condition} makes the velocity depend on the prompt. Classifier-free guidance
   * ({@link GuidedVelocity}) is refused for models where it does not (a prompt-free TorchScript
   * module): both of its velocities would be the same.
   */
  default boolean promptConditioned() {
    return true;
  }

  @Override
  void close();

  /**
   * A flow model whose velocity does not depend on the prompt (a TorchScript module that bakes its
   * conditioning in, a test model): {@link #condition} returns a view of {@code model} whose {@code
   * close} does nothing, and closing the flow model closes {@code model}.
   */
  static FlowModel promptFree(VelocityModel model) {
    return Owned.promptFree(model);
  }
}
