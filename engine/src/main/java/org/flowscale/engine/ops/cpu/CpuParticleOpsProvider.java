package org.flowscale.engine.ops.cpu;

import java.util.Optional;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.ParticleOpsProvider;

/** Registers the CPU backend; it runs everywhere. */
public final class CpuParticleOpsProvider implements ParticleOpsProvider {
  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public Optional<String> unavailableReason() {
    return Optional.empty();
  }

  @Override
  public ParticleOps create() {
    return new CpuParticleOps();
  }
}
