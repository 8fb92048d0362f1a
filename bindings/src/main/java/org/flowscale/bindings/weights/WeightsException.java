package org.flowscale.bindings.weights;

/**
 * A checkpoint that cannot be read or does not fit: a damaged or foreign safetensors file, a shard
 * index naming files that are not there, or tensors whose names, shapes or dtypes do not match what
 * the model needs. The message is one line and names the file and, where there is one, the tensor.
 */
public class WeightsException extends RuntimeException {
  public WeightsException(String message) {
    super(message);
  }

  public WeightsException(String message, Throwable cause) {
    super(message, cause);
  }
}
