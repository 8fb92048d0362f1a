package org.flowscale.rewards;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Images as rewards receive them, rows of {@code H * W * 3} floats (HWC, RGB in [-1, 1]: the layout
 * of {@link org.flowscale.engine.model.ImageDecoder#pixels}), turned into what goes on the wire.
 */
public final class ImagePixels {
  private ImagePixels() {}

  /**
   * One value as an 8-bit channel: {@code round((x + 1) / 2 * 255)}, rounded half up and clamped to
   * [0, 255].
   */
  public static int toUint8(float x) {
    long v = Math.round((x + 1.0) * 127.5);
    return (int) Math.max(0, Math.min(255, v));
  }

  /** The channel value back in [-1, 1]: {@code v / 255 * 2 - 1}. */
  public static float fromUint8(int v) {
    return (float) (v / 127.5 - 1.0);
  }

  /**
   * Rows {@code [from, to)} of {@code pixels} (rows of {@code rowLength} floats) as 8-bit values.
   *
   * @throws IllegalArgumentException naming the first row that holds a NaN or infinity
   */
  public static byte[] uint8(float[] pixels, int rowLength, int from, int to) {
    byte[] out = new byte[Math.multiplyExact(to - from, rowLength)];
    int base = from * rowLength;
    for (int i = 0; i < out.length; i++) {
      float x = pixels[base + i];
      if (!Float.isFinite(x)) {
        throw nonFinite(from + i / rowLength, x);
      }
      out[i] = (byte) toUint8(x);
    }
    return out;
  }

  /**
   * Rows {@code [from, to)} as FP32 little-endian bytes, unchanged.
   *
   * @throws IllegalArgumentException naming the first row that holds a NaN or infinity
   */
  public static byte[] fp32(float[] pixels, int rowLength, int from, int to) {
    int n = Math.multiplyExact(to - from, rowLength);
    ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(n, 4)).order(ByteOrder.LITTLE_ENDIAN);
    int base = from * rowLength;
    for (int i = 0; i < n; i++) {
      float x = pixels[base + i];
      if (!Float.isFinite(x)) {
        throw nonFinite(from + i / rowLength, x);
      }
      b.putFloat(x);
    }
    return b.array();
  }

  private static IllegalArgumentException nonFinite(int row, float x) {
    return new IllegalArgumentException(
        "image " + row + " holds " + x + ": a broken sample is not sent to a reward");
  }
}
