package org.flowscale.bindings.torch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.flowscale.engine.ops.NativeTensor;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * One libtorch call on engine tensors: {@link NativeTensor}s (host or device memory with an
 * address) are passed as they are; other tensors are staged through host memory with {@link
 * ParticleOps#download}/{@link ParticleOps#upload}. Orders the call with the backend's device work
 * (see {@link CudaStreamSource}). Models living outside this package (FLUX) make their libtorch
 * calls through it too: open one per velocity call, describe the inputs and outputs, {@link #run}.
 */
public final class TorchCall implements AutoCloseable {
  private final TorchShim shim;
  private final ParticleOps ops;
  private Arena arena; // made on first use: zero-copy calls need none
  private final List<Runnable> uploads = new ArrayList<>();
  private int cudaDevice = -1;

  /** A call on tensors of {@code ops}. */
  public TorchCall(TorchShim shim, ParticleOps ops) {
    this.shim = shim;
    this.ops = ops;
  }

  /** Host memory of {@code bytes}, freed with this call. */
  public MemorySegment scratch(long bytes) {
    if (arena == null) {
      arena = Arena.ofConfined();
    }
    return arena.allocate(Math.max(1, bytes), 64);
  }

  /** A tensor read by libtorch, viewed with {@code shape}. */
  public TensorDesc input(Tensor t, long[] shape) {
    if (t instanceof NativeTensor n) {
      noteDevice(n);
      return TensorDesc.of(n, shape);
    }
    MemorySegment host = scratch(t.byteSize());
    ops.download(t, host);
    return new TensorDesc(host.address(), shape, TorchDType.of(t.dtype()), -1);
  }

  /**
   * A tensor written by libtorch, viewed with {@code shape}; staged ones are uploaded at the end.
   */
  public TensorDesc output(Tensor t, long[] shape) {
    if (t instanceof NativeTensor n) {
      noteDevice(n);
      return TensorDesc.of(n, shape);
    }
    MemorySegment host = scratch(t.byteSize());
    uploads.add(() -> ops.upload(host, t));
    return new TensorDesc(host.address(), shape, TorchDType.of(t.dtype()), -1);
  }

  private void noteDevice(NativeTensor n) {
    if (n.deviceIndex() >= 0) {
      cudaDevice = n.deviceIndex();
    }
  }

  /** Runs {@code call} ordered after the backend's queued work and before what follows. */
  public void run(Runnable call) {
    boolean device = cudaDevice >= 0;
    CudaStreamSource shared = device && ops instanceof CudaStreamSource s ? s : null;
    if (shared != null) {
      shim.setCudaStream(shared.cudaDevice(), shared.cudaStream());
    } else if (device) {
      ops.synchronize();
    }
    call.run();
    if (device && shared == null) {
      shim.cudaSynchronizeIfAvailable(cudaDevice);
    }
    for (Runnable u : uploads) {
      u.run();
    }
  }

  @Override
  public void close() {
    if (arena != null) {
      arena.close();
    }
  }

  /** {@code [n, shape...]}. */
  public static long[] batched(int n, long[] shape) {
    long[] s = new long[shape.length + 1];
    s[0] = n;
    System.arraycopy(shape, 0, s, 1, shape.length);
    return s;
  }
}
