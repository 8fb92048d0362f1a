package org.flowscale.cli.testing;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.flowscale.api.testing.TestModelFactory;
import org.flowscale.engine.model.FlowModel;
import org.flowscale.engine.model.ImageDecoder;
import org.flowscale.engine.model.ModelFactory;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;

/**
 * A test-only model ({@code model: test_gate}): {@code test_gaussian} whose every model call first
 * passes a gate the test holds, so a test can keep a generation running (a full queue, a shutdown
 * with requests in flight) without depending on timing.
 */
public final class GateModelFactory implements ModelFactory {
  private static final Semaphore ENTERED = new Semaphore(0);
  private static volatile CountDownLatch open = new CountDownLatch(0);

  /** Closes the gate: model calls wait until {@link #open()}. */
  public static void close() {
    ENTERED.drainPermits();
    open = new CountDownLatch(1);
  }

  /** Opens the gate: waiting and later model calls pass. */
  public static void open() {
    open.countDown();
  }

  /** Waits until a model call reached the gate. */
  public static void awaitCall() throws InterruptedException {
    if (!ENTERED.tryAcquire(60, TimeUnit.SECONDS)) {
      throw new AssertionError("no model call reached the gate in 60 s");
    }
  }

  @Override
  public String name() {
    return "test_gate";
  }

  @Override
  public Set<String> keys() {
    return new TestModelFactory().keys();
  }

  @Override
  public FlowModel load(Map<String, Object> settings) {
    FlowModel inner = new TestModelFactory().load(settings);
    return new FlowModel() {
      @Override
      public int dim() {
        return inner.dim();
      }

      @Override
      public Optional<ImageDecoder> imageDecoder() {
        return inner.imageDecoder();
      }

      @Override
      public VelocityModel condition(String prompt) {
        VelocityModel m = inner.condition(prompt);
        return new VelocityModel() {
          @Override
          public int dim() {
            return m.dim();
          }

          @Override
          public void velocity(ParticleOps ops, Tensor x, Tensor t, Tensor out) {
            ENTERED.release();
            try {
              if (!open.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the test never opened the gate");
              }
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IllegalStateException("interrupted at the gate", e);
            }
            m.velocity(ops, x, t, out);
          }

          @Override
          public Optional<ImageDecoder> imageDecoder() {
            return m.imageDecoder();
          }
        };
      }

      @Override
      public void close() {
        inner.close();
      }
    };
  }
}
