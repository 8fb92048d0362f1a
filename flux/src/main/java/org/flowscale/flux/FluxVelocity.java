package org.flowscale.flux;

import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * FLUX's velocity for one prompt: the loaded {@link FluxModel}'s weights with that prompt's text
 * embeddings. Closing it lets go of the embeddings (the model keeps the weights).
 */
final class FluxVelocity implements VelocityModel {
  private final FluxModel model;
  private final FluxModel.Conditioning conditioning;
  private boolean closed;

  FluxVelocity(FluxModel model, FluxModel.Conditioning conditioning) {
    this.model = model;
    this.conditioning = conditioning;
  }

  @Override
  public int dim() {
    return model.dim();
  }

  @Override
  public long[] shape() {
    return model.shape();
  }

  @Override
  public int timeShiftTokens() {
    return model.timeShiftTokens();
  }

  @Override
  public java.util.Optional<org.flowscale.engine.model.SampleDecoder> decoder() {
    return model.decoder();
  }

  @Override
  public java.util.Optional<org.flowscale.engine.model.ImageDecoder> imageDecoder() {
    return model.imageDecoder();
  }

  /** The T5 sequence length of the prompt's embeddings. */
  int tokens() {
    return conditioning.tokens;
  }

  @Override
  public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("this FLUX velocity model is closed");
      }
    }
    model.velocity(ops, x, t, out, conditioning);
  }

  /** FLUX's VJP runs through libtorch's autograd (the DPS methods use it). */
  @Override
  public boolean hasVjp() {
    return true;
  }

  @Override
  public void velocityVjp(ParticleOps ops, Tensor x, Tensor t, Tensor v, Tensor out) {
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("this FLUX velocity model is closed");
      }
    }
    model.velocityVjp(ops, x, t, v, out, conditioning);
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      conditioning.release();
    }
  }

  @Override
  public String toString() {
    return model + " with " + conditioning.tokens + " text tokens";
  }
}
