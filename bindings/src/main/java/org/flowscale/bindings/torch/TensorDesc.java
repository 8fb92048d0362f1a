package org.flowscale.bindings.torch;

import java.util.Arrays;
import org.flowscale.engine.ops.NativeTensor;

/**
 * Caller-owned memory handed to libtorch without a copy: element 0's address, a row-major shape, a
 * dtype and where the memory lives ({@code device} -1 for the host, else the CUDA ordinal). The
 * memory must stay valid for the duration of the call it is passed to.
 *
 * @param asDtype for inputs only: a dtype the shim converts the input to before the call (e.g. the
 *     engine's F64 times to a model's F32), or null for none
 */
public record TensorDesc(
    long address, long[] shape, TorchDType dtype, int device, TorchDType asDtype) {
  /** At most this many dimensions ({@code FS_MAX_DIMS}). */
  public static final int MAX_DIMS = 8;

  public TensorDesc {
    if (shape == null || shape.length > MAX_DIMS) {
      throw new IllegalArgumentException("shape must have at most " + MAX_DIMS + " dimensions");
    }
    shape = shape.clone();
    long n = 1;
    for (long s : shape) {
      if (s < 0) {
        throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
      }
      n *= s;
    }
    if (address == 0 && n != 0) {
      throw new IllegalArgumentException("null address for a non-empty tensor");
    }
    if (dtype == null) {
      throw new IllegalArgumentException("dtype must be set");
    }
    if (device < -1) {
      throw new IllegalArgumentException(
          "device must be -1 (host) or a CUDA ordinal, got " + device);
    }
  }

  /** Memory described without conversion. */
  public TensorDesc(long address, long[] shape, TorchDType dtype, int device) {
    this(address, shape, dtype, device, null);
  }

  /** A backend tensor's memory viewed with another shape of the same element count. */
  public static TensorDesc of(NativeTensor t, long... shape) {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    if (n != t.elements()) {
      throw new IllegalArgumentException(
          "shape "
              + Arrays.toString(shape)
              + " has "
              + n
              + " elements, the tensor ["
              + t.rows()
              + " x "
              + t.cols()
              + "] has "
              + t.elements());
    }
    return new TensorDesc(t.address(), shape, TorchDType.of(t.dtype()), t.deviceIndex());
  }

  /** The same memory, converted to {@code target} by the shim when used as an input. */
  public TensorDesc convertedTo(TorchDType target) {
    return new TensorDesc(address, shape, dtype, device, target);
  }

  /**
   * Rows {@code [from, from + count)} of the first dimension: the same memory from row {@code from}
   * on, with the first size {@code count} (e.g. one chunk of a particle batch).
   */
  public TensorDesc rows(long from, long count) {
    if (shape.length == 0 || from < 0 || count < 0 || from + count > shape[0]) {
      throw new IllegalArgumentException(
          "rows [" + from + ", " + (from + count) + ") of " + Arrays.toString(shape));
    }
    long row = dtype.bytes();
    for (int i = 1; i < shape.length; i++) {
      row *= shape[i];
    }
    long[] s = shape.clone();
    s[0] = count;
    long a = count == 0 || row == 0 ? address : address + from * row;
    return new TensorDesc(a, s, dtype, device, asDtype);
  }

  /** The number of elements. */
  public long elements() {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    return n;
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** The shape without a defensive copy, for the binding's hot path (never modified). */
  long[] sizes() {
    return shape;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorDesc d
        && d.address == address
        && Arrays.equals(d.shape, shape)
        && d.dtype == dtype
        && d.device == device
        && d.asDtype == asDtype;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(address) * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return "TensorDesc["
        + Arrays.toString(shape)
        + " "
        + dtype
        + (device < 0 ? " host" : " cuda:" + device)
        + (asDtype == null ? "" : " as " + asDtype)
        + "]";
  }
}
