package org.flowscale.rewards.oip;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One named tensor of an inference request or response. Its data is held as the binary tensor data
 * extension lays it out (little-endian, row-major, no padding; BYTES elements length-prefixed), so
 * a tensor goes on the wire as binary without conversion and JSON data is converted once when read.
 */
public final class OipTensor {
  private final String name;
  private final Datatype datatype;
  private final long[] shape;
  private final byte[] raw;

  /**
   * A tensor over binary data in the extension's layout.
   *
   * @throws IllegalArgumentException when the data does not hold exactly the shape's elements
   */
  public OipTensor(String name, Datatype datatype, long[] shape, byte[] raw) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("a tensor needs a name");
    }
    if (datatype == null || shape == null || raw == null) {
      throw new IllegalArgumentException("tensor '" + name + "' needs a datatype, shape and data");
    }
    this.name = name;
    this.datatype = datatype;
    this.shape = shape.clone();
    this.raw = raw;
    long n = elements(this.shape, name);
    if (datatype == Datatype.BYTES) {
      long found = countBytesElements(raw, name);
      if (found != n) {
        throw new IllegalArgumentException(
            "tensor '"
                + name
                + "' of shape "
                + Arrays.toString(shape)
                + " needs "
                + n
                + " BYTES elements, its data holds "
                + found);
      }
    } else if (n * datatype.size() != raw.length) {
      throw new IllegalArgumentException(
          "tensor '"
              + name
              + "' "
              + datatype
              + " "
              + Arrays.toString(shape)
              + " needs "
              + n * datatype.size()
              + " bytes of data, got "
              + raw.length);
    }
  }

  /** A UINT8 tensor; {@code data} is used as is (not copied). */
  public static OipTensor ofUint8(String name, long[] shape, byte[] data) {
    return new OipTensor(name, Datatype.UINT8, shape, data);
  }

  /** An FP32 tensor. */
  public static OipTensor ofFp32(String name, long[] shape, float[] data) {
    ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(data);
    return new OipTensor(name, Datatype.FP32, shape, b.array());
  }

  /** An FP64 tensor. */
  public static OipTensor ofFp64(String name, long[] shape, double[] data) {
    ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asDoubleBuffer().put(data);
    return new OipTensor(name, Datatype.FP64, shape, b.array());
  }

  /** A BYTES tensor of UTF-8 strings. */
  public static OipTensor ofStrings(String name, long[] shape, List<String> data) {
    List<byte[]> elements = new ArrayList<>(data.size());
    for (String s : data) {
      elements.add(s.getBytes(StandardCharsets.UTF_8));
    }
    return ofBytes(name, shape, elements);
  }

  /** A BYTES tensor. */
  public static OipTensor ofBytes(String name, long[] shape, List<byte[]> data) {
    long total = 0;
    for (byte[] e : data) {
      total += 4L + e.length;
    }
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(total)).order(ByteOrder.LITTLE_ENDIAN);
    for (byte[] e : data) {
      b.putInt(e.length).put(e);
    }
    return new OipTensor(name, Datatype.BYTES, shape, b.array());
  }

  public String name() {
    return name;
  }

  public Datatype datatype() {
    return datatype;
  }

  /** A copy of the shape. */
  public long[] shape() {
    return shape.clone();
  }

  /** The number of elements (the product of the shape). */
  public long elements() {
    return elements(shape, name);
  }

  /** The data in the binary extension's layout (not copied: do not modify). */
  public byte[] raw() {
    return raw;
  }

  /** The values of an FP32, FP64 or integer tensor as doubles (FP64 and FP32 exactly). */
  public double[] toDoubles() {
    int n = Math.toIntExact(elements());
    double[] out = new double[n];
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n; i++) {
      out[i] =
          switch (datatype) {
            case FP64 -> b.getDouble(i * 8);
            case FP32 -> b.getFloat(i * 4);
            case FP16 -> Float.float16ToFloat(b.getShort(i * 2));
            case BF16 -> Float.intBitsToFloat((b.getShort(i * 2) & 0xffff) << 16);
            case INT8 -> b.get(i);
            case UINT8 -> b.get(i) & 0xff;
            case INT16 -> b.getShort(i * 2);
            case UINT16 -> b.getShort(i * 2) & 0xffff;
            case INT32 -> b.getInt(i * 4);
            case UINT32 -> b.getInt(i * 4) & 0xffffffffL;
            case INT64 -> b.getLong(i * 8);
            case UINT64 -> {
              long v = b.getLong(i * 8);
              yield v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
            }
            case BOOL -> b.get(i) != 0 ? 1 : 0;
            case BYTES ->
                throw new IllegalArgumentException(
                    "tensor '" + name + "' holds BYTES, not numbers");
          };
    }
    return out;
  }

  /** The values of an FP32 tensor. */
  public float[] toFloats() {
    if (datatype != Datatype.FP32) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' is " + datatype + ", expected FP32");
    }
    float[] out = new float[Math.toIntExact(elements())];
    ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
    return out;
  }

  /** The elements of a BYTES tensor. */
  public List<byte[]> toByteElements() {
    if (datatype != Datatype.BYTES) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' is " + datatype + ", expected BYTES");
    }
    List<byte[]> out = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining()) {
      byte[] e = new byte[b.getInt()];
      b.get(e);
      out.add(e);
    }
    return out;
  }

  /** The elements of a BYTES tensor as UTF-8 text. */
  public List<String> toStrings() {
    return toByteElements().stream().map(e -> new String(e, StandardCharsets.UTF_8)).toList();
  }

  @Override
  public String toString() {
    return name + " " + datatype + " " + Arrays.toString(shape);
  }

  static long elements(long[] shape, String name) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "tensor '" + name + "' has a negative dimension: " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  private static long countBytesElements(byte[] raw, String name) {
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    long n = 0;
    while (b.hasRemaining()) {
      if (b.remaining() < 4) {
        throw new IllegalArgumentException(
            "tensor '" + name + "': BYTES data ends inside an element's length");
      }
      long len = b.getInt() & 0xffffffffL;
      if (len > b.remaining()) {
        throw new IllegalArgumentException(
            "tensor '"
                + name
                + "': a BYTES element claims "
                + len
                + " bytes, only "
                + b.remaining()
                + " remain");
      }
      b.position(b.position() + (int) len);
      n++;
    }
    return n;
  }
}
