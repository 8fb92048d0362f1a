package org.flowscale.bindings.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The {@code void** kernelParams} of {@code cuLaunchKernel}, reusable: a fixed array of slots, each
 * 8 bytes, and an array of pointers to them. The driver copies the values at launch (and at graph
 * capture), so one instance serves every launch of one thread. Not thread-safe.
 */
public final class KernelArgs implements AutoCloseable {
  /** The most parameters a kernel may take through this class. */
  public static final int MAX = 24;

  private final Arena arena = Arena.ofShared();
  private final MemorySegment values = arena.allocate(8L * MAX, 16);
  private final MemorySegment pointers = arena.allocate(ADDRESS.byteSize() * MAX, 16);

  public KernelArgs() {
    for (int i = 0; i < MAX; i++) {
      pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
    }
  }

  /** A 64-bit parameter (a pointer, {@code size_t} or {@code unsigned long long}). */
  public KernelArgs i64(int slot, long v) {
    values.set(JAVA_LONG, 8L * check(slot), v);
    return this;
  }

  /** A 32-bit integer parameter. */
  public KernelArgs i32(int slot, int v) {
    values.set(JAVA_INT, 8L * check(slot), v);
    return this;
  }

  /** A double parameter. */
  public KernelArgs f64(int slot, double v) {
    values.set(JAVA_DOUBLE, 8L * check(slot), v);
    return this;
  }

  /** The pointer array to pass as {@code kernelParams}. */
  public MemorySegment pointers() {
    return pointers;
  }

  private static int check(int slot) {
    if (slot < 0 || slot >= MAX) {
      throw new IllegalArgumentException(
          "kernel parameter slot " + slot + " not in [0, " + MAX + ")");
    }
    return slot;
  }

  @Override
  public void close() {
    if (arena.scope().isAlive()) {
      arena.close();
    }
  }
}
