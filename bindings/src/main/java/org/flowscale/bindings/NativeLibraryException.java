package org.flowscale.bindings;

/** A native library could not be found, loaded, or lacks a symbol. */
public class NativeLibraryException extends RuntimeException
    implements org.flowscale.engine.ops.NativeFailure {
  public NativeLibraryException(String message) {
    super(message);
  }

  public NativeLibraryException(String message, Throwable cause) {
    super(message, cause);
  }
}
