package org.flowscale.bindings.torch;

import java.lang.foreign.MemorySegment;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;

/**
 * A backend whose tensors live on the Java heap and have no address: models must stage them through
 * download/upload. Only the copy operations exist.
 */
final class HeapOps implements ParticleOps {
  record HeapTensor(int rows, int cols, DType dtype, byte[] bytes) implements Tensor {
    @Override
    public void close() {}
  }

  HeapTensor of(float[] v, int rows, int cols) {
    HeapTensor t = allocate(rows, cols, DType.F32);
    MemorySegment.copy(
        MemorySegment.ofArray(v), 0, MemorySegment.ofArray(t.bytes), 0, t.byteSize());
    return t;
  }

  HeapTensor of(double[] v, int rows) {
    HeapTensor t = allocate(rows, 1, DType.F64);
    MemorySegment.copy(
        MemorySegment.ofArray(v), 0, MemorySegment.ofArray(t.bytes), 0, t.byteSize());
    return t;
  }

  double[] values(Tensor t) {
    MemorySegment s = MemorySegment.ofArray(((HeapTensor) t).bytes);
    double[] out = new double[(int) t.elements()];
    for (int i = 0; i < out.length; i++) {
      out[i] =
          t.dtype() == DType.F64
              ? s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_DOUBLE_UNALIGNED, i)
              : s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
    }
    return out;
  }

  @Override
  public String name() {
    return "heap";
  }

  @Override
  public HeapTensor allocate(int rows, int cols, DType dtype) {
    return new HeapTensor(rows, cols, dtype, new byte[rows * cols * dtype.bytes()]);
  }

  @Override
  public void upload(MemorySegment src, Tensor dst) {
    MemorySegment.copy(src, 0, MemorySegment.ofArray(((HeapTensor) dst).bytes), 0, dst.byteSize());
  }

  @Override
  public void download(Tensor src, MemorySegment dst) {
    MemorySegment.copy(MemorySegment.ofArray(((HeapTensor) src).bytes), 0, dst, 0, src.byteSize());
  }

  @Override
  public void copy(Tensor src, Tensor dst) {
    System.arraycopy(
        ((HeapTensor) src).bytes, 0, ((HeapTensor) dst).bytes, 0, (int) src.byteSize());
  }

  @Override
  public void affine(Tensor x, Tensor u, Tensor coef, Noise noise, Tensor out) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void gaussian(Noise noise, Tensor out) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void gather(Tensor src, Tensor index, Tensor dst) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void groupArgmax(Tensor values, int groupSize, Tensor outIndex) {
    throw new UnsupportedOperationException();
  }

  @Override
  public double logSumExp(Tensor values) {
    throw new UnsupportedOperationException();
  }

  @Override
  public double effectiveSampleSize(Tensor logWeights) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void resample(
      Tensor logWeights, Resampling scheme, long seed, long stream, Tensor outIndex) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void synchronize() {}

  @Override
  public void close() {}
}
