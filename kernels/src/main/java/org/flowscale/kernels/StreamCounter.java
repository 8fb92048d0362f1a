package org.flowscale.kernels;

import org.flowscale.bindings.cuda.DeviceBuffer;

/**
 * A 64-bit noise-stream counter in device memory, for rounds replayed as CUDA graphs. A graph bakes
 * its kernels' parameters in, so a noise stream passed as a parameter would give every replay the
 * same draws; noise addressed by a {@link CountedNoise} instead reads the counter when its kernel
 * runs, and {@link CudaParticleOps#capture(StreamCounter, long, Runnable)} ends the recorded round
 * with a kernel that advances it. Created by {@link CudaParticleOps#streamCounter(long)}.
 *
 * <p>Arithmetic is modulo 2<sup>64</sup>, like Java's {@code long} addition: a counter at {@code c}
 * plus offset {@code o} addresses stream {@code c + o} exactly as {@link
 * org.flowscale.engine.ops.Noise#stream()} does.
 */
public final class StreamCounter implements AutoCloseable {
  private final CudaParticleOps owner;
  private final DeviceBuffer buffer;
  private volatile boolean closed;

  StreamCounter(CudaParticleOps owner, DeviceBuffer buffer) {
    this.owner = owner;
    this.buffer = buffer;
  }

  /**
   * The counter's value once all work queued so far on the backend's stream has run (synchronises;
   * not allowed while capturing).
   */
  public long value() {
    return owner.readCounter(this);
  }

  /**
   * Sets the counter, ordered on the backend's stream after the work queued so far (asynchronous).
   * Replaying a round from the same value reproduces its draws.
   */
  public void set(long value) {
    owner.writeCounter(this, value);
  }

  /** The device pointer of the counter. */
  long address() {
    if (closed) {
      throw new IllegalStateException("stream counter has been closed");
    }
    return buffer.address();
  }

  CudaParticleOps owner() {
    return owner;
  }

  boolean isClosed() {
    return closed;
  }

  /**
   * Frees the counter once the work queued on the backend's stream so far has run. Graphs recorded
   * with it can no longer be launched.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    owner.free(buffer);
  }

  @Override
  public String toString() {
    return "StreamCounter[cuda:" + owner.deviceIndex() + "]";
  }
}
