package org.flowscale.bindings.torch;

/**
 * A call into libtorch (through the flowscale shim) failed; the message is libtorch's, prefixed
 * with what was being done. The native side is left consistent: the failed call changed nothing the
 * caller owns except, possibly, its output buffers.
 */
public class TorchException extends RuntimeException
    implements org.flowscale.engine.ops.NativeFailure {
  public TorchException(String message) {
    super(message);
  }
}
