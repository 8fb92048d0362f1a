package org.flowscale.kernels;

import java.util.List;
import org.flowscale.bindings.cuda.CudaGraphExec;

/**
 * A round of particle work recorded as a CUDA graph by {@link CudaParticleOps#capture}: every
 * launch with the parameters it had when captured (the same tensors, coefficients' addresses, seeds
 * and noise streams), replayed with one driver call. Update the tensors' contents (e.g. the
 * coefficient tensors) between launches to change what the replay computes. Noise addressed through
 * a {@link StreamCounter} ({@link CountedNoise}) is read from the counter at replay time; a round
 * recorded with {@link CudaParticleOps#capture(StreamCounter, long, Runnable)} advances that
 * counter as its last step, so each replay draws fresh, addressed streams.
 *
 * <p>The graph holds the device addresses of the tensors and counters the round used, so it keeps a
 * reference to each and refuses to launch once any of them has been closed. Closing the backend
 * destroys the graph; close this before that, or after (then closing does nothing).
 */
public final class CapturedWork implements AutoCloseable {
  private final CudaParticleOps ops;
  private final CudaGraphExec exec;
  private final List<CudaTensor> tensors;
  private final List<StreamCounter> counters;
  private volatile boolean closed;

  CapturedWork(
      CudaParticleOps ops,
      CudaGraphExec exec,
      List<CudaTensor> tensors,
      List<StreamCounter> counters) {
    this.ops = ops;
    this.exec = exec;
    this.tensors = tensors;
    this.counters = counters;
  }

  /**
   * Enqueues the whole recorded round on the backend's stream (asynchronous).
   *
   * @throws IllegalStateException if this work, its backend, or a tensor or stream counter the
   *     round uses has been closed
   */
  public void launch() {
    ops.launchGraph(this);
  }

  /** The tensors the recorded round uses (read or written). */
  List<CudaTensor> tensors() {
    return tensors;
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    ops.closeGraph(this);
  }

  boolean isClosed() {
    return closed;
  }

  CudaGraphExec exec() {
    return exec;
  }

  List<StreamCounter> counters() {
    return counters;
  }
}
