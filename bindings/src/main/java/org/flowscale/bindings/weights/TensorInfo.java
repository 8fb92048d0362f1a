package org.flowscale.bindings.weights;

import java.util.Arrays;

/**
 * One tensor of a safetensors file as its header describes it.
 *
 * @param name the tensor's name (e.g. {@code double_blocks.0.img_attn.qkv.weight})
 * @param dtype its element type
 * @param shape its sizes, row-major (empty for a scalar)
 * @param begin the first byte of its data, relative to the start of the data section
 * @param end one past its last byte, relative to the start of the data section
 */
public record TensorInfo(String name, SafeDType dtype, long[] shape, long begin, long end) {
  public TensorInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** The number of elements (1 for a scalar). */
  public long elements() {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    return n;
  }

  /** The number of bytes of its data. */
  public long byteSize() {
    return end - begin;
  }

  /** Its shape as text, e.g. {@code [3072, 64]}. */
  public String shapeText() {
    return Arrays.toString(shape);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorInfo t
        && t.name.equals(name)
        && t.dtype == dtype
        && Arrays.equals(t.shape, shape)
        && t.begin == begin
        && t.end == end;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + dtype + " " + shapeText();
  }
}
