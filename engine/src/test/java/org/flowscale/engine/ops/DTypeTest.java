package org.flowscale.engine.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DTypeTest {

  private static float bf16(float f) {
    return DType.fromBf16(DType.toBf16(f));
  }

  @Test
  void bf16RoundsToNearestEven() {
    assertEquals(1.0f, bf16(1.0f));
    float ulp = 0x1p-7f; // bf16 spacing at 1: 7 stored mantissa bits
    assertEquals(1.0f + ulp, bf16(1.0f + ulp));
    assertEquals(1.0f, bf16(1.0f + ulp / 2), "tie goes to the even mantissa (1.0)");
    assertEquals(1.0f + 2 * ulp, bf16(1.0f + 1.5f * ulp), "tie goes to the even mantissa (1+2u)");
    assertEquals(1.0f + ulp, bf16(1.0f + ulp / 2 + 0x1p-20f), "above the tie rounds up");
    assertEquals(-3.140625f, bf16(-3.14159f));
    assertEquals(0x1p-130f, bf16(0x1p-130f), "subnormals keep their top bits");
  }

  @Test
  void bf16SpecialValues() {
    assertTrue(Float.isNaN(bf16(Float.NaN)));
    assertTrue(Float.isNaN(bf16(Float.intBitsToFloat(0x7f800001))), "a NaN with low payload");
    assertEquals(Float.POSITIVE_INFINITY, bf16(Float.POSITIVE_INFINITY));
    assertEquals(Float.NEGATIVE_INFINITY, bf16(Float.NEGATIVE_INFINITY));
    assertEquals(Float.POSITIVE_INFINITY, bf16(Float.MAX_VALUE), "overflow rounds to infinity");
    assertEquals(Float.floatToIntBits(-0.0f), Float.floatToIntBits(bf16(-0.0f)));
  }

  @Test
  void sizes() {
    assertEquals(4, DType.F32.bytes());
    assertEquals(2, DType.BF16.bytes());
    assertEquals(8, DType.F64.bytes());
    assertEquals(4, DType.I32.bytes());
  }
}
