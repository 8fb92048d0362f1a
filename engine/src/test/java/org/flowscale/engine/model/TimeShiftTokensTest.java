package org.flowscale.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Set;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.junit.jupiter.api.Test;

/** The time-shift token count a model states survives every view the engine wraps it in. */
class TimeShiftTokensTest {
  private static VelocityModel shifted() {
    return new VelocityModel() {
      @Override
      public int dim() {
        return 4;
      }

      @Override
      public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {}

      @Override
      public int timeShiftTokens() {
        return 4096;
      }
    };
  }

  @Test
  void unshiftedByDefault() {
    assertEquals(0, new GaussianModel(new float[] {0, 0}, 1).timeShiftTokens());
  }

  @Test
  void viewsKeepIt() {
    FlowModel loaded = FlowModel.promptFree(shifted());
    assertEquals(4096, loaded.timeShiftTokens());
    assertEquals(4096, loaded.condition("a prompt").timeShiftTokens());
    ModelFactory f =
        new ModelFactory() {
          @Override
          public String name() {
            return "shifted";
          }

          @Override
          public Set<String> keys() {
            return Set.of();
          }

          @Override
          public FlowModel load(Map<String, Object> settings) {
            return FlowModel.promptFree(shifted());
          }
        };
    try (VelocityModel oneOff = f.create(Map.of(), "p")) {
      assertEquals(4096, oneOff.timeShiftTokens());
    }
  }
}
