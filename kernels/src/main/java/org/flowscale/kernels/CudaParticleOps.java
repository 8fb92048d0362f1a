package org.flowscale.kernels;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.flowscale.bindings.cuda.CudaContext;
import org.flowscale.bindings.cuda.CudaDevice;
import org.flowscale.bindings.cuda.CudaDriver;
import org.flowscale.bindings.cuda.CudaEvent;
import org.flowscale.bindings.cuda.CudaException;
import org.flowscale.bindings.cuda.CudaFunction;
import org.flowscale.bindings.cuda.CudaGraph;
import org.flowscale.bindings.cuda.CudaGraphExec;
import org.flowscale.bindings.cuda.CudaModule;
import org.flowscale.bindings.cuda.CudaStream;
import org.flowscale.bindings.cuda.DeviceBuffer;
import org.flowscale.bindings.cuda.KernelArgs;
import org.flowscale.bindings.cuda.PinnedBuffer;
import org.flowscale.bindings.torch.CudaStreamSource;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.ops.Noise;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Resampling;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.TensorChecks;

/**
 * The particle operations on one CUDA device: tensors in device memory of the primary context
 * (shared with libtorch), every operation a kernel launch (or a driver copy) on this instance's own
 * stream, results identical to {@link org.flowscale.engine.ops.cpu.CpuParticleOps} up to float
 * rounding in the Gaussian draws and summation order in the reductions.
 *
 * <p>Operations are asynchronous. Shape and dtype errors throw at the call; errors only visible in
 * the data (an index out of range, a negative noise id, a coefficient that needs an absent operand,
 * weights without a finite entry) are found by the kernels and thrown as {@link
 * IllegalArgumentException} at the next synchronising call ({@link #synchronize}, {@link
 * #download}, {@link #logSumExp}, {@link #effectiveSampleSize}, {@link StreamCounter#value}); the
 * affected rows hold NaN (or the index -1, or are left untouched for gather). The kernels record
 * such errors in device memory; each synchronising call copies the record back.
 *
 * <p>Closing a tensor or stream counter is stream-ordered: its memory is freed once the work queued
 * before the close has run (an event marks the point), so closing right after queuing work that
 * uses it is safe and does not wait.
 *
 * <p>One restriction beyond the CPU backend: the tensors of one {@link #affine} call (x, u, out)
 * share a dtype, F32 or BF16 (the kernels are specialised per dtype; the CPU also mixes them).
 *
 * <p>A round of work can be recorded once and replayed as a CUDA graph. A graph replays its
 * launches' parameters exactly, so noise drawn with a {@link Noise} (a fixed stream) is the same on
 * every replay; a round that needs fresh noise per replay (an RBF or SMC round) takes its noise
 * from a device-resident {@link StreamCounter} through {@link CountedNoise} ({@link
 * #affineCounted}, {@link #gaussianCounted}, {@link #resampleCounted}) and is recorded with {@link
 * #capture(StreamCounter, long, Runnable)}, which ends the round by advancing the counter on the
 * device: replay {@code k} draws what eager calls with stream {@code base + k * perRound + offset}
 * draw. {@link #capture(Runnable)} records the work as it is, for rounds without noise or with
 * deliberately repeated draws. A {@link CapturedWork} refuses to launch once a tensor or counter it
 * uses has been closed, and closing the backend destroys the graphs still open.
 *
 * <p>Methods are serialised on the instance; use one instance per host thread for concurrency.
 */
public final class CudaParticleOps implements ParticleOps, CudaStreamSource {
  private static final int BLOCK = 256;
  private static final int REDUCE_THREADS = 1024;
  private static final int MAX_GRID_Y = 65535;

  /** Device-side record: the error record {code, row, value, 0}, then two reduction results. */
  private static final long RECORD_BYTES = 32;

  private static final long SCALARS = 16;

  /** Host copy of the record, plus 8 bytes for reading a stream counter. */
  private static final long HOST_RECORD_BYTES = 40;

  /** Freed memory the stream may still use, beyond which a free waits for the oldest. */
  private static final long MAX_PENDING_FREE_BYTES = 256L << 20;

  private final CudaContext context;
  private final CudaDevice device;
  private final CudaStream stream;
  private final CudaModule module;

  /** The kernels' error record and reduction results, in device memory. */
  private final DeviceBuffer record;

  /** Where each synchronising call copies {@link #record} to. */
  private final PinnedBuffer hostRecord;

  private final KernelArgs args;
  private final Kernels k;
  private final int maxBlocks;

  /** Scratch device memory; replaced buffers stay alive until close, as graphs may use them. */
  private DeviceBuffer scratch;

  private final Deque<AutoCloseable> retired = new ArrayDeque<>();

  /** A buffer to free once the stream has passed {@code fence} (null: at the next sync). */
  private record PendingFree(DeviceBuffer buffer, CudaEvent fence) {}

  private final Deque<PendingFree> pendingFrees = new ArrayDeque<>();
  private long pendingFreeBytes;
  private final Deque<CudaEvent> spareFences = new ArrayDeque<>();

  /** Graphs not yet closed; closing the backend destroys them first. */
  private final Set<CapturedWork> graphs = Collections.newSetFromMap(new IdentityHashMap<>());

  /** What the capture in progress touches: its graph must not outlive any of it. */
  private final Set<CudaTensor> capturedTensors = new LinkedHashSet<>();

  private final Set<StreamCounter> capturedCounters = new LinkedHashSet<>();

  private boolean capturing;

  /** The counter of a {@link #capture(StreamCounter, long, Runnable)} in progress, else null. */
  private StreamCounter captureCounter;

  private long captureStreams;
  private boolean closed;

  private record Kernels(
      CudaFunction affineF32,
      CudaFunction affineBf16,
      CudaFunction gaussianF32,
      CudaFunction gaussianBf16,
      CudaFunction gather16,
      CudaFunction gather8,
      CudaFunction gather4,
      CudaFunction gather2,
      CudaFunction groupArgmax,
      CudaFunction logSumExp,
      CudaFunction ess,
      CudaFunction resample,
      CudaFunction advanceStreams) {
    static Kernels of(CudaModule m) {
      return new Kernels(
          m.function("fs_affine_f32"),
          m.function("fs_affine_bf16"),
          m.function("fs_gaussian_f32"),
          m.function("fs_gaussian_bf16"),
          m.function("fs_gather_16"),
          m.function("fs_gather_8"),
          m.function("fs_gather_4"),
          m.function("fs_gather_2"),
          m.function("fs_group_argmax"),
          m.function("fs_logsumexp"),
          m.function("fs_ess"),
          m.function("fs_resample"),
          m.function("fs_advance_streams"));
    }
  }

  /**
   * The backend on device {@code ordinal}: retains its primary context, creates a stream, loads the
   * kernels. Everything acquired is released again if a later step fails.
   */
  public CudaParticleOps(int ordinal) {
    List<AutoCloseable> acquired = new ArrayList<>();
    try {
      this.context = track(acquired, CudaContext.retainPrimary(ordinal));
      this.device = CudaDevice.query(ordinal);
      if (CudaDriver.cuDeviceGetAttribute(
              CudaDriver.CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING, context.device())
          == 0) {
        throw new IllegalStateException(
            device + " lacks unified addressing, which the CUDA backend needs");
      }
      this.stream = track(acquired, CudaStream.create(true));
      this.module = track(acquired, CudaModule.load(Ptx.read(Ptx.PARTICLE_OPS)));
      this.k = Kernels.of(module);
      this.record = track(acquired, DeviceBuffer.allocate(RECORD_BYTES));
      CudaDriver.cuMemsetD32Async(record.address(), 0, RECORD_BYTES / 4, stream.handle());
      this.hostRecord = track(acquired, PinnedBuffer.allocate(HOST_RECORD_BYTES));
      this.hostRecord.segment().fill((byte) 0);
      this.args = track(acquired, new KernelArgs());
      stream.synchronize();
      this.scratch = track(acquired, DeviceBuffer.allocate(64 * 1024));
      this.maxBlocks = device.multiprocessors() * 32;
    } catch (RuntimeException | Error e) {
      for (int i = acquired.size() - 1; i >= 0; i--) {
        try {
          acquired.get(i).close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  private static <T extends AutoCloseable> T track(List<AutoCloseable> list, T resource) {
    list.add(resource);
    return resource;
  }

  @Override
  public String name() {
    return "cuda";
  }

  /** The device ordinal. */
  public int deviceIndex() {
    return context.ordinal();
  }

  /** The device this backend runs on. */
  public CudaDevice device() {
    return device;
  }

  /** The stream every operation is queued on (for interop, e.g. handing it to libtorch). */
  public CudaStream stream() {
    return stream;
  }

  /** Lets libtorch queue its work on this backend's stream: no syncs around model calls. */
  @Override
  public int cudaDevice() {
    return deviceIndex();
  }

  @Override
  public long cudaStream() {
    return stream.handle();
  }

  /** The primary context, retained by this backend. */
  public CudaContext context() {
    return context;
  }

  // ---- memory ----

  @Override
  public synchronized CudaTensor allocate(int rows, int cols, DType dtype) {
    open();
    if (rows < 0 || cols < 0) {
      throw new IllegalArgumentException(
          "tensor shape must be non-negative, got [" + rows + " x " + cols + "]");
    }
    if (dtype == null) {
      throw new IllegalArgumentException("dtype must not be null");
    }
    return new CudaTensor(
        this, deviceMemory((long) rows * cols * dtype.bytes()), rows, cols, dtype);
  }

  /**
   * Device memory; frees what the stream has finished with first, and on OOM waits for the rest.
   */
  private DeviceBuffer deviceMemory(long bytes) {
    reclaim(false);
    try {
      return DeviceBuffer.allocate(bytes);
    } catch (CudaException e) {
      if (e.code() != CudaDriver.CUDA_ERROR_OUT_OF_MEMORY || pendingFrees.isEmpty() || capturing) {
        throw e;
      }
      stream.synchronize();
      reclaim(true);
      return DeviceBuffer.allocate(bytes);
    }
  }

  /**
   * Frees {@code b} once the work queued so far on the stream has run (it may still use it): an
   * event marks the point, and the memory goes when a later call finds the event passed. Never
   * waits, unless more than {@link #MAX_PENDING_FREE_BYTES} are waiting.
   */
  synchronized void free(DeviceBuffer b) {
    if (closed) {
      // The backend's context retain is gone: the memory went with the context, or (if libtorch
      // still holds it) is leaked as the ParticleOps contract says. Either way, nothing to raise.
      try {
        b.close();
      } catch (RuntimeException ignored) {
        // see above
      }
      return;
    }
    context.makeCurrent();
    if (capturing) {
      // An event recorded now would become a node of the graph: free at the next sync instead.
      pendingFree(b, null);
      return;
    }
    CudaEvent fence = spareFences.isEmpty() ? CudaEvent.createWithoutTiming() : spareFences.pop();
    try {
      fence.record(stream);
    } catch (RuntimeException e) {
      // The context is unusable: no work of it runs any more, so the memory can go now.
      for (AutoCloseable c : List.of(fence, b)) {
        try {
          c.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
    pendingFree(b, fence);
    while (pendingFreeBytes > MAX_PENDING_FREE_BYTES && pendingFrees.peekFirst().fence() != null) {
      pendingFrees.peekFirst().fence().synchronize();
      reclaim(false);
    }
    reclaim(false);
  }

  private void pendingFree(DeviceBuffer b, CudaEvent fence) {
    pendingFrees.addLast(new PendingFree(b, fence));
    pendingFreeBytes += b.byteSize();
  }

  /**
   * Frees the pending buffers the stream is done with: all of them when it is idle (just
   * synchronised), else those whose fence has passed (fences pass in stream order).
   */
  private void reclaim(boolean streamIdle) {
    while (!pendingFrees.isEmpty()) {
      PendingFree p = pendingFrees.peekFirst();
      if (!streamIdle && (p.fence() == null || !p.fence().isComplete())) {
        return;
      }
      pendingFrees.pollFirst();
      pendingFreeBytes -= p.buffer().byteSize();
      if (p.fence() != null) {
        spareFences.push(p.fence());
      }
      p.buffer().close();
    }
  }

  /**
   * Waits for the stream, frees what it was using, and throws the first error the kernels recorded
   * since the last check.
   */
  private void syncAndRaise() {
    hostRecordCopy();
    stream.synchronize();
    reclaim(true);
    raiseDeviceErrors();
  }

  /** Queues the copy of the device record to the host (read after the next stream sync). */
  private void hostRecordCopy() {
    record.copyToHostAsync(hostRecord.segment(), RECORD_BYTES, stream);
  }

  @Override
  public synchronized void upload(MemorySegment src, Tensor dst) {
    open();
    notCapturing("upload");
    CudaTensor d = cuda(dst, "dst");
    TensorChecks.hostBytes(src, d.byteSize(), "src");
    if (d.byteSize() == 0) {
      return;
    }
    if (src.isNative()) {
      d.buffer().copyFromHostAsync(src, d.byteSize(), stream);
      // The caller may reuse src as soon as we return, also when it is pinned memory.
      stream.synchronize();
    } else {
      try (Arena a = Arena.ofConfined()) {
        MemorySegment tmp = a.allocate(d.byteSize(), 64);
        MemorySegment.copy(src, 0, tmp, 0, d.byteSize());
        d.buffer().copyFromHostAsync(tmp, d.byteSize(), stream);
        stream.synchronize();
      }
    }
  }

  @Override
  public synchronized void download(Tensor src, MemorySegment dst) {
    open();
    notCapturing("download");
    CudaTensor s = cuda(src, "src");
    TensorChecks.hostBytes(dst, s.byteSize(), "dst");
    if (s.byteSize() > 0) {
      if (dst.isNative()) {
        s.buffer().copyToHostAsync(dst, s.byteSize(), stream);
        syncAndRaise();
      } else {
        try (Arena a = Arena.ofConfined()) {
          MemorySegment tmp = a.allocate(s.byteSize(), 64);
          s.buffer().copyToHostAsync(tmp, s.byteSize(), stream);
          syncAndRaise();
          MemorySegment.copy(tmp, 0, dst, 0, s.byteSize());
        }
      }
    } else {
      syncAndRaise();
    }
  }

  @Override
  public synchronized void copy(Tensor src, Tensor dst) {
    open();
    CudaTensor s = cuda(src, "src");
    CudaTensor d = cuda(dst, "dst");
    TensorChecks.sameShape(s, d, "src", "dst");
    TensorChecks.dtype(d, s.dtype(), "dst");
    if (s.byteSize() > 0 && s != d) {
      s.buffer().copyToAsync(d.buffer(), s.byteSize(), stream);
    }
  }

  /**
   * Fills a tensor with all-one bits: NaN for F32, BF16 and F64, -1 for I32. Tests poison outputs
   * with it so that an element a kernel forgot to write can never pass.
   */
  public synchronized void poison(Tensor t) {
    open();
    CudaTensor c = cuda(t, "tensor");
    long bytes = c.byteSize();
    if (bytes == 0) {
      return;
    }
    if (bytes % 4 == 0) {
      CudaDriver.cuMemsetD32Async(c.address(), 0xFFFFFFFF, bytes / 4, stream.handle());
    } else {
      CudaDriver.cuMemsetD16Async(c.address(), 0xFFFF, bytes / 2, stream.handle());
    }
  }

  // ---- elementwise ----

  @Override
  public synchronized void affine(Tensor x, Tensor u, Tensor coef, Noise noise, Tensor out) {
    open();
    CudaTensor xs = cuda(x, "x");
    CudaTensor os = cuda(out, "out");
    CudaTensor us = u == null ? null : cuda(u, "u");
    CudaTensor cs = cuda(coef, "coef");
    checkAffine(xs, us, cs, os);
    if (noise != null) {
      fixedStream("affine");
    }
    CudaTensor ids = noise == null ? null : noiseIds(noise.ids(), xs.rows());
    launchAffine(
        xs,
        us,
        cs,
        noise != null,
        ids,
        noise == null ? 0 : noise.seed(),
        noise == null ? 0 : noise.stream(),
        0,
        os);
  }

  /**
   * {@link #affine} with noise drawn from stream {@code counter + noise.offset()}, the counter read
   * on the device when the kernel runs: the graph-replay form (see {@link #capture(StreamCounter,
   * long, Runnable)}). Eagerly, with the counter at {@code c}, identical to {@code affine(x, u,
   * coef, noise.at(c), out)}.
   */
  public synchronized void affineCounted(
      Tensor x, Tensor u, Tensor coef, CountedNoise noise, Tensor out) {
    open();
    if (noise == null) {
      throw new IllegalArgumentException(
          "counted noise must not be null (use affine without noise)");
    }
    CudaTensor xs = cuda(x, "x");
    CudaTensor os = cuda(out, "out");
    CudaTensor us = u == null ? null : cuda(u, "u");
    CudaTensor cs = cuda(coef, "coef");
    checkAffine(xs, us, cs, os);
    long counter = counted(noise.counter(), noise.offset(), "affineCounted");
    CudaTensor ids = noiseIds(noise.ids(), xs.rows());
    launchAffine(xs, us, cs, true, ids, noise.seed(), noise.offset(), counter, os);
  }

  private void checkAffine(CudaTensor xs, CudaTensor us, CudaTensor cs, CudaTensor os) {
    TensorChecks.floating(xs, "x");
    TensorChecks.floating(os, "out");
    TensorChecks.sameShape(xs, os, "x", "out");
    if (us != null) {
      TensorChecks.floating(us, "u");
      TensorChecks.sameShape(xs, us, "x", "u");
      TensorChecks.dtype(us, xs.dtype(), "u");
    }
    TensorChecks.dtype(os, xs.dtype(), "out");
    TensorChecks.coefficients(cs, xs.rows());
  }

  private void launchAffine(
      CudaTensor xs,
      CudaTensor us,
      CudaTensor cs,
      boolean hasNoise,
      CudaTensor ids,
      long seed,
      long stream,
      long counter,
      CudaTensor os) {
    if (xs.elements() == 0) {
      return;
    }
    args.i64(0, xs.address())
        .i64(1, us == null ? 0 : us.address())
        .i64(2, cs.address())
        .i64(3, ids == null ? 0 : ids.address())
        .i32(4, hasNoise ? 1 : 0)
        .i64(5, seed)
        .i64(6, stream)
        .i64(7, counter)
        .i64(8, os.address())
        .i32(9, xs.rows())
        .i32(10, xs.cols())
        .i64(11, record.address());
    launchRows(
        xs.dtype() == DType.F32 ? k.affineF32() : k.affineBf16(), xs.rows(), groups4(xs.cols()));
  }

  @Override
  public synchronized void gaussian(Noise noise, Tensor out) {
    open();
    if (noise == null) {
      throw new IllegalArgumentException("noise must not be null");
    }
    CudaTensor os = cuda(out, "out");
    TensorChecks.floating(os, "out");
    fixedStream("gaussian");
    launchGaussian(noiseIds(noise.ids(), os.rows()), noise.seed(), noise.stream(), 0, os);
  }

  /**
   * {@link #gaussian} drawn from stream {@code counter + noise.offset()}, the counter read on the
   * device when the kernel runs: the graph-replay form. Eagerly, with the counter at {@code c},
   * identical to {@code gaussian(noise.at(c), out)}.
   */
  public synchronized void gaussianCounted(CountedNoise noise, Tensor out) {
    open();
    if (noise == null) {
      throw new IllegalArgumentException("noise must not be null");
    }
    CudaTensor os = cuda(out, "out");
    TensorChecks.floating(os, "out");
    long counter = counted(noise.counter(), noise.offset(), "gaussianCounted");
    launchGaussian(noiseIds(noise.ids(), os.rows()), noise.seed(), noise.offset(), counter, os);
  }

  private void launchGaussian(CudaTensor ids, long seed, long stream, long counter, CudaTensor os) {
    if (os.elements() == 0) {
      return;
    }
    args.i64(0, ids == null ? 0 : ids.address())
        .i64(1, seed)
        .i64(2, stream)
        .i64(3, counter)
        .i64(4, os.address())
        .i32(5, os.rows())
        .i32(6, os.cols())
        .i64(7, record.address());
    launchRows(
        os.dtype() == DType.F32 ? k.gaussianF32() : k.gaussianBf16(),
        os.rows(),
        groups4(os.cols()));
  }

  @Override
  public synchronized void gather(Tensor src, Tensor index, Tensor dst) {
    open();
    CudaTensor s = cuda(src, "src");
    CudaTensor d = cuda(dst, "dst");
    CudaTensor ix = cuda(index, "index");
    TensorChecks.gather(s, ix, d);
    long rowBytes = (long) s.cols() * s.dtype().bytes();
    if (d.rows() == 0 || rowBytes == 0) {
      return;
    }
    long from = s.address();
    if (s == d) {
      // Gathering in place would read rows already overwritten: go through a copy.
      DeviceBuffer tmp = scratch(s.byteSize());
      s.buffer().copyToAsync(tmp, s.byteSize(), stream);
      from = tmp.address();
    }
    int width = rowBytes % 16 == 0 ? 16 : rowBytes % 8 == 0 ? 8 : rowBytes % 4 == 0 ? 4 : 2;
    long units = rowBytes / width;
    if (units > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("rows of " + rowBytes + " bytes are too long to gather");
    }
    CudaFunction f =
        switch (width) {
          case 16 -> k.gather16();
          case 8 -> k.gather8();
          case 4 -> k.gather4();
          default -> k.gather2();
        };
    args.i64(0, from)
        .i64(1, ix.address())
        .i64(2, d.address())
        .i32(3, s.rows())
        .i32(4, d.rows())
        .i32(5, (int) units)
        .i64(6, record.address());
    launchRows(f, d.rows(), (int) units);
  }

  // ---- per-particle scalars ----

  @Override
  public synchronized void groupArgmax(Tensor values, int groupSize, Tensor outIndex) {
    open();
    CudaTensor v = column(values, DType.F64, "values");
    CudaTensor o = column(outIndex, DType.I32, "outIndex");
    int groups = TensorChecks.groups(v, groupSize, o);
    if (groups == 0) {
      return;
    }
    args.i64(0, v.address()).i32(1, groups).i32(2, groupSize).i64(3, o.address());
    int warpsPerBlock = BLOCK / 32;
    int grid = (int) Math.min((groups + warpsPerBlock - 1L) / warpsPerBlock, maxBlocks);
    context.makeCurrent();
    k.groupArgmax().launch(grid, 1, BLOCK, 1, 0, stream, args);
  }

  @Override
  public synchronized double logSumExp(Tensor values) {
    open();
    notCapturing("logSumExp");
    CudaTensor v = column(values, DType.F64, "values");
    if (v.rows() == 0) {
      return Double.NEGATIVE_INFINITY;
    }
    poisonScalars();
    args.i64(0, v.address()).i32(1, v.rows()).i64(2, record.address() + SCALARS);
    context.makeCurrent();
    k.logSumExp().launch(1, 1, REDUCE_THREADS, 1, 0, stream, args);
    syncAndRaise();
    return scalar(0);
  }

  @Override
  public synchronized double effectiveSampleSize(Tensor logWeights) {
    open();
    notCapturing("effectiveSampleSize");
    CudaTensor v = column(logWeights, DType.F64, "logWeights");
    if (v.rows() == 0) {
      throw new IllegalArgumentException("logWeights must not be empty");
    }
    poisonScalars();
    args.i64(0, v.address()).i32(1, v.rows()).i64(2, record.address() + SCALARS);
    context.makeCurrent();
    k.ess().launch(1, 1, REDUCE_THREADS, 1, 0, stream, args);
    syncAndRaise();
    double lse = scalar(0);
    if (!Double.isFinite(lse)) {
      throw new IllegalArgumentException(
          "logWeights must be finite or -inf with at least one finite entry; log-sum-exp is "
              + lse);
    }
    return 1 / scalar(1);
  }

  @Override
  public synchronized void resample(
      Tensor logWeights, Resampling scheme, long seed, long stream, Tensor outIndex) {
    open();
    fixedStream("resample");
    launchResample(logWeights, scheme, seed, stream, 0, outIndex);
  }

  /**
   * {@link #resample} with its uniforms drawn from stream {@code counter + offset}, the counter
   * read on the device when the kernel runs: the graph-replay form. Eagerly, with the counter at
   * {@code c}, identical to {@code resample(logWeights, scheme, seed, c + offset, outIndex)}.
   */
  public synchronized void resampleCounted(
      Tensor logWeights,
      Resampling scheme,
      long seed,
      StreamCounter counter,
      long offset,
      Tensor outIndex) {
    open();
    if (offset < 0) {
      throw new IllegalArgumentException("stream offset must be >= 0, got " + offset);
    }
    long c = counted(counter, offset, "resampleCounted");
    launchResample(logWeights, scheme, seed, offset, c, outIndex);
  }

  private void launchResample(
      Tensor logWeights, Resampling scheme, long seed, long stream, long counter, Tensor outIndex) {
    CudaTensor v = column(logWeights, DType.F64, "logWeights");
    CudaTensor o = column(outIndex, DType.I32, "outIndex");
    if (scheme == null) {
      throw new IllegalArgumentException("resampling scheme must not be null");
    }
    if (v.rows() == 0) {
      throw new IllegalArgumentException("logWeights must not be empty");
    }
    if (o.rows() == 0) {
      return;
    }
    DeviceBuffer cdf = scratch((long) v.rows() * Double.BYTES);
    args.i64(0, v.address())
        .i32(1, v.rows())
        .i32(2, o.rows())
        .i32(3, scheme == Resampling.SYSTEMATIC ? 1 : 0)
        .i64(4, seed)
        .i64(5, stream)
        .i64(6, counter)
        .i64(7, cdf.address())
        .i64(8, o.address())
        .i64(9, record.address());
    context.makeCurrent();
    k.resample().launch(1, 1, REDUCE_THREADS, 1, 0, this.stream, args);
  }

  @Override
  public synchronized void synchronize() {
    open();
    notCapturing("synchronize");
    context.makeCurrent();
    syncAndRaise();
  }

  // ---- noise-stream counters ----

  /**
   * A device-resident noise-stream counter holding {@code initial} (set on this backend's stream,
   * ordered before any later work). See {@link StreamCounter} and {@link #capture(StreamCounter,
   * long, Runnable)}.
   */
  public synchronized StreamCounter streamCounter(long initial) {
    open();
    StreamCounter c = new StreamCounter(this, deviceMemory(Long.BYTES));
    try {
      writeCounter(c, initial);
    } catch (RuntimeException | Error e) {
      c.close();
      throw e;
    }
    return c;
  }

  /**
   * Adds {@code by} to the counter on the device (modulo 2<sup>64</sup>), ordered after the work
   * queued before it; capturable. {@link #capture(StreamCounter, long, Runnable)} ends its round
   * with this; call it directly to advance a counter between eager rounds or inside a plain {@link
   * #capture(Runnable)}.
   */
  public synchronized void advance(StreamCounter counter, long by) {
    open();
    long address = counterAddress(counter, "advance");
    if (by < 0) {
      throw new IllegalArgumentException("streams to advance by must be >= 0, got " + by);
    }
    args.i64(0, address).i64(1, by);
    context.makeCurrent();
    k.advanceStreams().launch(1, 1, 1, 1, 0, stream, args);
  }

  synchronized long readCounter(StreamCounter counter) {
    open();
    notCapturing("reading a stream counter");
    long address = counterAddress(counter, "value");
    CudaDriver.cuMemcpyDtoHAsync(
        hostRecord.segment().asSlice(RECORD_BYTES, Long.BYTES),
        address,
        Long.BYTES,
        stream.handle());
    syncAndRaise();
    return hostRecord.segment().get(JAVA_LONG, RECORD_BYTES);
  }

  synchronized void writeCounter(StreamCounter counter, long value) {
    open();
    long address = counterAddress(counter, "set");
    if (capturing && counter == captureCounter) {
      throw new IllegalStateException(
          "setting the round's own stream counter inside its capture would rewind it on every"
              + " replay");
    }
    // Two 32-bit memsets: asynchronous and stream-ordered without a host buffer that must outlive
    // the copy (and capturable, as memset nodes).
    CudaDriver.cuMemsetD32Async(address, (int) value, 1, stream.handle());
    CudaDriver.cuMemsetD32Async(address + 4, (int) (value >>> 32), 1, stream.handle());
  }

  // ---- graphs ----

  /**
   * Records what {@code work} issues on this backend as a CUDA graph instead of running it; {@link
   * CapturedWork#launch()} replays it with the parameters it was recorded with, so noise drawn with
   * a fixed {@link Noise} stream repeats on every replay (use {@link #capture(StreamCounter, long,
   * Runnable)} for fresh noise). Only asynchronous operations may be captured (affine, gaussian,
   * gather, copy, groupArgmax, resample, their counted forms, advance); synchronising ones throw
   * {@link IllegalStateException}. If {@code work} throws, the capture is abandoned and the
   * exception propagates.
   */
  public CapturedWork capture(Runnable work) {
    return record(null, 0, work);
  }

  /**
   * Records one round of work that draws fresh noise on every replay. {@code work} takes all its
   * randomness from {@code counter}: {@link #affineCounted}, {@link #gaussianCounted} and {@link
   * #resampleCounted} with offsets in {@code [0, streamsPerRound)}, one offset per noise use; the
   * recorded round then ends with {@link #advance advance(counter, streamsPerRound)}. If the
   * counter holds {@code base} before the first replay (nothing else touching it), replay {@code k
   * = 0, 1, ...} draws exactly what the eager calls with stream {@code base + k * streamsPerRound +
   * offset} draw, so the same seed and base reproduce the same sequence, and no stream is used
   * twice. {@link StreamCounter#set} rewinds it. Recording does not run the work or move the
   * counter.
   *
   * @throws IllegalArgumentException if {@code streamsPerRound < 1}, or (propagated from {@code
   *     work}) a counted operation uses another counter or an offset outside {@code [0,
   *     streamsPerRound)}
   * @throws IllegalStateException (propagated from {@code work}) if it draws noise from a fixed
   *     stream ({@link #affine} with a {@link Noise}, {@link #gaussian}, {@link #resample}), which
   *     would repeat on every replay
   */
  public CapturedWork capture(StreamCounter counter, long streamsPerRound, Runnable work) {
    synchronized (this) {
      open();
      counterAddress(counter, "capture");
    }
    if (streamsPerRound < 1) {
      throw new IllegalArgumentException(
          "a round must use at least one stream, got streamsPerRound = " + streamsPerRound);
    }
    return record(counter, streamsPerRound, work);
  }

  private CapturedWork record(StreamCounter counter, long streamsPerRound, Runnable work) {
    if (work == null) {
      throw new IllegalArgumentException("work must not be null");
    }
    CudaGraph graph;
    synchronized (this) {
      open();
      notCapturing("capture");
      context.makeCurrent();
      stream.beginCapture();
      capturing = true;
      captureCounter = counter;
      captureStreams = streamsPerRound;
      capturedTensors.clear();
      capturedCounters.clear();
    }
    try {
      work.run();
      if (counter != null) {
        advance(counter, streamsPerRound);
      }
    } catch (RuntimeException | Error e) {
      synchronized (this) {
        endCaptureState();
        try {
          stream.endCapture().close();
        } catch (RuntimeException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
    List<CudaTensor> tensors;
    List<StreamCounter> counters;
    synchronized (this) {
      tensors = List.copyOf(capturedTensors);
      counters = List.copyOf(capturedCounters);
      endCaptureState();
      graph = stream.endCapture();
    }
    try (graph) {
      CudaGraphExec exec = graph.instantiate();
      synchronized (this) {
        CapturedWork w = new CapturedWork(this, exec, tensors, counters);
        graphs.add(w);
        return w;
      }
    }
  }

  private void endCaptureState() {
    capturing = false;
    captureCounter = null;
    capturedTensors.clear();
    capturedCounters.clear();
  }

  /**
   * Replays captured work, unless something it uses has been closed: the graph holds raw device
   * addresses, and a replay touching freed memory would fault with a sticky error that loses the
   * context.
   */
  synchronized void launchGraph(CapturedWork w) {
    open();
    if (w.isClosed()) {
      throw new IllegalStateException("the captured work has been closed");
    }
    for (StreamCounter c : w.counters()) {
      if (c.isClosed()) {
        throw new IllegalStateException(
            "the graph's stream counter has been closed; the replay would write freed memory");
      }
    }
    for (CudaTensor t : w.tensors()) {
      if (t.isClosed()) {
        throw new IllegalStateException(
            "the captured work uses "
                + t
                + ", which has been closed; the replay would touch freed memory");
      }
    }
    notCapturing("launching a captured graph");
    context.makeCurrent();
    w.exec().launch(stream);
  }

  /** Destroys a graph (safe while launches of it are still queued: the driver defers it). */
  synchronized void closeGraph(CapturedWork w) {
    graphs.remove(w);
    if (closed) {
      return; // destroyed with the backend
    }
    context.makeCurrent();
    w.exec().close();
  }

  // ---- lifecycle ----

  /** Waits for queued work, then frees the stream, kernels and scratch memory. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    RuntimeException first = null;
    try {
      context.makeCurrent();
      stream.synchronize();
    } catch (RuntimeException e) {
      first = e;
    }
    // Graphs first: destroying one after its module and context are gone is undefined behaviour.
    List<AutoCloseable> all = new ArrayList<>();
    for (CapturedWork w : graphs) {
      all.add(w.exec());
    }
    graphs.clear();
    for (PendingFree p : pendingFrees) {
      all.add(p.buffer());
      if (p.fence() != null) {
        all.add(p.fence());
      }
    }
    pendingFrees.clear();
    pendingFreeBytes = 0;
    all.addAll(spareFences);
    spareFences.clear();
    all.add(scratch);
    all.addAll(retired);
    all.add(args);
    all.add(hostRecord);
    all.add(record);
    all.add(module);
    all.add(stream);
    all.add(context);
    for (AutoCloseable c : all) {
      try {
        c.close();
      } catch (Exception e) {
        if (first == null) {
          first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  // ---- helpers ----

  /**
   * 2-D launch: x over {@code units} per row, y over rows, grid-stride loops in the kernel. A row
   * of fewer than 32 units gets a block as wide as the row (the next power of two), so one warp
   * spans several rows instead of idling lanes past the end of one.
   */
  private void launchRows(CudaFunction f, int rows, int units) {
    int[] shape = rowsBlock(units);
    int bx = shape[0];
    int by = shape[1];
    int gy = (int) Math.min((rows + (long) by - 1) / by, MAX_GRID_Y);
    long gxNeeded = (units + (long) bx - 1) / bx;
    int gx = (int) Math.max(1, Math.min(gxNeeded, Math.max(1, maxBlocks / gy)));
    context.makeCurrent();
    f.launch(gx, gy, bx, by, 0, stream, args);
  }

  /** Block (x, y) for rows of {@code units}: x the next power of two >= units, x * y = 256. */
  static int[] rowsBlock(int units) {
    int bx = units <= 1 ? 1 : Math.min(BLOCK, Integer.highestOneBit(units - 1) << 1);
    return new int[] {bx, BLOCK / bx};
  }

  private static int groups4(int cols) {
    return (cols + 3) >>> 2;
  }

  /** Scratch of at least {@code bytes}; a replaced buffer is kept until close (graphs). */
  private DeviceBuffer scratch(long bytes) {
    if (scratch.byteSize() < bytes) {
      retired.push(scratch);
      context.makeCurrent();
      scratch = deviceMemory(Math.max(bytes, 2 * scratch.byteSize()));
    }
    return scratch;
  }

  /** NaN in the reduction outputs, so a result the kernel did not write can never pass. */
  private void poisonScalars() {
    CudaDriver.cuMemsetD32Async(record.address() + SCALARS, 0xFFFFFFFF, 4, stream.handle());
  }

  /** Reduction result {@code i} of the record copied at the last sync. */
  private double scalar(int i) {
    return hostRecord.segment().get(JAVA_DOUBLE, SCALARS + 8L * i);
  }

  /**
   * Throws the first error a kernel recorded, as copied at the last sync, and clears it (on the
   * device too, ordered before any later kernel).
   */
  private void raiseDeviceErrors() {
    MemorySegment e = hostRecord.segment();
    int code = e.getAtIndex(JAVA_INT, 0);
    if (code == 0) {
      return;
    }
    int row = e.getAtIndex(JAVA_INT, 1);
    int value = e.getAtIndex(JAVA_INT, 2);
    e.asSlice(0, SCALARS).fill((byte) 0);
    CudaDriver.cuMemsetD32Async(record.address(), 0, SCALARS / 4, stream.handle());
    String what =
        switch (code) {
          case 1 -> "gather: index[" + row + "] = " + value + " is outside src's rows";
          case 2 -> "noise.ids[" + row + "] must be >= 0, got " + value;
          case 3 -> "affine: u is null but coef[" + row + ", 1] is not 0";
          case 4 -> "affine: noise is null but coef[" + row + ", 2] is not 0";
          case 5 -> "resample: logWeights must be finite or -inf with at least one finite entry";
          default ->
              "unknown device error code " + code + " (row " + row + ", value " + value + ")";
        };
    throw new IllegalArgumentException(what + " (found on the device; affected rows hold NaN/-1)");
  }

  /** Checks the backend is open and binds its context to the calling thread. */
  private void open() {
    if (closed) {
      throw new IllegalStateException("the cuda backend has been closed");
    }
    context.makeCurrent();
  }

  private void notCapturing(String what) {
    if (capturing) {
      throw new IllegalStateException(
          what + " synchronises with the host and cannot be part of a captured graph");
    }
  }

  private CudaTensor cuda(Tensor t, String name) {
    if (t == null) {
      throw new IllegalArgumentException(name + " must not be null");
    }
    if (!(t instanceof CudaTensor c)) {
      throw new IllegalArgumentException(
          name + " is a " + t.getClass().getSimpleName() + ", not a tensor of the cuda backend");
    }
    if (c.isClosed()) {
      throw new IllegalStateException(name + " has been closed");
    }
    if (c.deviceIndex() != deviceIndex()) {
      throw new IllegalArgumentException(
          name + " lives on cuda:" + c.deviceIndex() + ", this backend on cuda:" + deviceIndex());
    }
    if (capturing) {
      capturedTensors.add(c);
    }
    return c;
  }

  /** The counter's device address, checked to be a live counter of this backend. */
  private long counterAddress(StreamCounter counter, String what) {
    if (counter == null) {
      throw new IllegalArgumentException(what + ": stream counter must not be null");
    }
    if (counter.owner() != this) {
      throw new IllegalArgumentException(
          what + ": " + counter + " belongs to another cuda backend instance");
    }
    if (counter.isClosed()) {
      throw new IllegalStateException(what + ": stream counter has been closed");
    }
    if (capturing) {
      capturedCounters.add(counter);
    }
    return counter.address();
  }

  /**
   * The address to pass for counted noise; inside {@link #capture(StreamCounter, long, Runnable)}
   * also checks it is that capture's counter at an offset the round owns, so replays never share a
   * stream.
   */
  private long counted(StreamCounter counter, long offset, String what) {
    long address = counterAddress(counter, what);
    if (capturing && captureCounter != null) {
      if (counter != captureCounter) {
        throw new IllegalArgumentException(
            what
                + " uses a stream counter other than the one the round is captured with; that"
                + " counter would not advance between replays");
      }
      if (offset >= captureStreams) {
        throw new IllegalArgumentException(
            what
                + ": stream offset "
                + offset
                + " is outside the round's [0, "
                + captureStreams
                + "); the next replay would draw it again");
      }
    }
    return address;
  }

  /** Rejects fixed-stream noise inside a counter capture, where every replay would repeat it. */
  private void fixedStream(String what) {
    if (capturing && captureCounter != null) {
      throw new IllegalStateException(
          what
              + " draws from a fixed stream, which every replay of the graph would repeat; use"
              + " its counted form with the round's stream counter");
    }
  }

  private CudaTensor noiseIds(Tensor noiseIds, int rows) {
    if (noiseIds == null) {
      return null;
    }
    CudaTensor ids = cuda(noiseIds, "noise.ids");
    TensorChecks.noiseIds(ids, rows);
    return ids;
  }

  private CudaTensor column(Tensor t, DType dtype, String name) {
    CudaTensor c = cuda(t, name);
    TensorChecks.column(c, dtype, name);
    return c;
  }
}
