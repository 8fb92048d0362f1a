package org.flowscale.bench.torch;

import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.kernels.CudaParticleOps;

/**
 * The CUDA backend with its stream hidden: TorchScript models then synchronise around each libtorch
 * call instead of queueing on the backend's {@link CudaStreamSource} stream. The baseline that the
 * shared-stream design is measured against.
 */
final class SyncedOps implements ParticleOps {
  private final CudaParticleOps ops;

  SyncedOps(CudaParticleOps ops) {
    this.ops = ops;
  }

  @Override
  public String name() {
    return ops.name() + " (synchronised around libtorch)";
  }

  @Override
  public Tensor allocate(int rows, int cols, DType dtype) {
    return ops.allocate(rows, cols, dtype);
  }

  @Override
  public void upload(MemorySegment src, Tensor dst) {
    ops.upload(src, dst);
  }

  @Override
  public void download(Tensor src, MemorySegment dst) {
    ops.download(src, dst);
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    ops.copy(src, dst);
  }

  @Override
  public void affine(Tensor x, Tensor u, Tensor coef, Noise noise, Tensor out) {
    ops.affine(x, u, coef, noise, out);
  }

  @Override
  public void gaussian(Noise noise, Tensor out) {
    ops.gaussian(noise, out);
  }

  @Override
  public void gather(Tensor src, Tensor index, Tensor dst) {
    ops.gather(src, index, dst);
  }

  @Override
  public void groupArgmax(Tensor values, int groupSize, Tensor outIndex) {
    ops.groupArgmax(values, groupSize, outIndex);
  }

  @Override
  public double logSumExp(Tensor values) {
    return ops.logSumExp(values);
  }

  @Override
  public double effectiveSampleSize(Tensor logWeights) {
    return ops.effectiveSampleSize(logWeights);
  }

  @Override
  public void resample(
      Tensor logWeights, Resampling scheme, long seed, long stream, Tensor outIndex) {
    ops.resample(logWeights, scheme, seed, stream, outIndex);
  }

  @Override
  public int firstNonFiniteRow(Tensor t) {
    return ops.firstNonFiniteRow(t);
  }

  @Override
  public void synchronize() {
    ops.synchronize();
  }

  @Override
  public void close() {
    ops.close();
  }
}
