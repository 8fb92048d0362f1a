package org.flowscale.rewards.oip;

/**
 * The tensor data types of the Open Inference Protocol, by their wire names. Binary data (the
 * binary tensor data extension) holds each element little-endian in its native size; a {@link
 * #BYTES} element is a 4-byte little-endian length followed by that many bytes.
 */
public enum Datatype {
  BOOL(1),
  UINT8(1),
  UINT16(2),
  UINT32(4),
  UINT64(8),
  INT8(1),
  INT16(2),
  INT32(4),
  INT64(8),
  FP16(2),
  BF16(2),
  FP32(4),
  FP64(8),
  BYTES(-1);

  private final int size;

  Datatype(int size) {
    this.size = size;
  }

  /** Bytes per element, or -1 for {@link #BYTES} (variable). */
  public int size() {
    return size;
  }

  /** The type named {@code wire} ({@code "FP32"}), case-sensitive as the protocol says. */
  public static Datatype of(String wire) {
    for (Datatype d : values()) {
      if (d.name().equals(wire)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        "unknown datatype " + (wire == null ? "null" : "'" + wire + "'"));
  }
}
