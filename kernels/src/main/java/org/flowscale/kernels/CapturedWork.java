package org.flowscale.kernels;

import org.flowscale.bindings.cuda.CudaGraphExec;

/**
 * A round of particle work recorded as a CUDA graph by {@link CudaParticleOps#capture}: every
 * launch with the parameters it had when captured (the same tensors, coefficients' addresses, seeds
 * and noise streams), replayed with one driver call. Update the tensors' contents (e.g. the
 * coefficient tensors) between launches to change what the replay computes. Noise addressed through
 * a {@link StreamCounter} ({@link CountedNoise}) is read from the counter at replay time; a round
 * recorded with {@link CudaParticleOps#capture(StreamCounter, long, Runnable)} advances that
 * counter as its last step, so each replay draws fresh, addressed streams.
 */
public final class CapturedWork implements AutoCloseable {
  private final CudaParticleOps ops;
  private final CudaGraphExec exec;
  private final StreamCounter counter;

  CapturedWork(CudaParticleOps ops, CudaGraphExec exec, StreamCounter counter) {
    this.ops = ops;
    this.exec = exec;
    this.counter = counter;
  }

  /**
   * Enqueues the whole recorded round on the backend's stream (asynchronous).
   *
   * @throws IllegalStateException if the round's stream counter has been closed
   */
  public void launch() {
    ops.launchGraph(exec, counter);
  }

  @Override
  public void close() {
    exec.close();
  }
}
