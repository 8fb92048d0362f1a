package org.flowscale.engine.ops.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The F32 affine step {@code out = a x + b u + s z} on the machine's widest vectors, with one loop
 * for every pattern of coefficients: a zero {@code b} or {@code s} masks its term to {@code -0.0},
 * which leaves the sum's bits unchanged (even for infinite or NaN operands, which a product with 0
 * would not), so the result is bit for bit the scalar definition ({@code v = a x}, then {@code v +=
 * b u} when b != 0, then {@code v += s z} when s != 0) and no branch depends on the data: the JIT
 * compiles this once, whichever coefficients come first (the scalar loops it replaces had one
 * branch per pattern, each a deoptimisation when first taken). Used only when {@link
 * org.flowscale.engine.rng.Simd#enabled()}.
 */
final class VectorAffine {
  private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  private static final ByteOrder ORDER = ByteOrder.nativeOrder();
  private static final FloatVector NEG_ZERO = FloatVector.broadcast(F, -0.0f);

  private VectorAffine() {}

  /**
   * Elements {@code k0 .. k0 + len - 1} of out from the same elements of x and u and {@code z[0 ..
   * len - 1]}. When a term's coefficient is 0 its operand is not used, but must be readable: pass x
   * for a missing u and any array of {@code len} floats for a missing z.
   */
  static void f32(
      MemorySegment x,
      MemorySegment u,
      MemorySegment out,
      long k0,
      int len,
      float a,
      float b,
      float s,
      float[] z) {
    VectorMask<Float> skipU = FloatVector.broadcast(F, b).compare(VectorOperators.EQ, 0f);
    VectorMask<Float> skipZ = FloatVector.broadcast(F, s).compare(VectorOperators.EQ, 0f);
    int lanes = F.length();
    int full = len - len % lanes;
    long byte0 = k0 * Float.BYTES;
    int j = 0;
    for (; j < full; j += lanes) {
      long at = byte0 + (long) j * Float.BYTES;
      FloatVector v = FloatVector.fromMemorySegment(F, x, at, ORDER).mul(a);
      FloatVector bu = FloatVector.fromMemorySegment(F, u, at, ORDER).mul(b);
      v = v.add(bu.blend(NEG_ZERO, skipU));
      FloatVector sz = FloatVector.fromArray(F, z, j).mul(s);
      v = v.add(sz.blend(NEG_ZERO, skipZ));
      v.intoMemorySegment(out, at, ORDER);
    }
    if (j < len) {
      VectorMask<Float> m = F.indexInRange(j, len);
      long at = byte0 + (long) j * Float.BYTES;
      FloatVector v = FloatVector.fromMemorySegment(F, x, at, ORDER, m).mul(a);
      FloatVector bu = FloatVector.fromMemorySegment(F, u, at, ORDER, m).mul(b);
      v = v.add(bu.blend(NEG_ZERO, skipU));
      FloatVector sz = FloatVector.fromArray(F, z, j, m).mul(s);
      v = v.add(sz.blend(NEG_ZERO, skipZ));
      v.intoMemorySegment(out, at, ORDER, m);
    }
  }
}
