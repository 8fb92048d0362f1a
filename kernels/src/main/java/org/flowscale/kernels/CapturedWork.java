package org.flowscale.kernels;

import org.flowscale.bindings.cuda.CudaGraphExec;

/**
 * A round of particle work recorded as a CUDA graph by {@link CudaParticleOps#capture}: every
 * launch with the arguments it had when captured (the same tensors, coefficients' addresses, seeds
 * and noise streams), replayed with one driver call. Update the tensors' contents (e.g. the
 * coefficient tensors) between launches to change what the replay computes.
 */
public final class CapturedWork implements AutoCloseable {
  private final CudaParticleOps ops;
  private final CudaGraphExec exec;

  CapturedWork(CudaParticleOps ops, CudaGraphExec exec) {
    this.ops = ops;
    this.exec = exec;
  }

  /** Enqueues the whole recorded round on the backend's stream (asynchronous). */
  public void launch() {
    ops.launchGraph(exec);
  }

  @Override
  public void close() {
    exec.close();
  }
}
