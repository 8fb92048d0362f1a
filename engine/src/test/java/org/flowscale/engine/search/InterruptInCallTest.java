package org.flowscale.engine.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.flowscale.engine.model.GaussianModel;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.ops.Tensor;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.junit.jupiter.api.Test;

/**
 * An interrupt of the searching thread that arrives while a reward blocks (a remote reward waiting
 * for its HTTP answer) surfaces as that call's exception, as the HTTP client makes it. It ended the
 * run as a reward failure; it is the stop the caller asked for, with the best sample so far.
 */
class InterruptInCallTest {
  private static final float[] TARGET = {0.5f, -0.5f, 0.25f, 0f, 1f, -1f};

  /** The quadratic reward; its call number {@code blockAt} waits until interrupted. */
  private static Reward blocking(int blockAt, CountDownLatch blocked) {
    Fixtures.Quadratic q = new Fixtures.Quadratic(TARGET);
    return new Reward() {
      private int calls;

      @Override
      public String name() {
        return "blocking";
      }

      @Override
      public void score(ParticleOps ops, Tensor x0, Tensor out) {
        if (calls++ == blockAt) {
          blocked.countDown();
          try {
            Thread.sleep(60_000);
          } catch (InterruptedException e) {
            // what an HTTP client does: keep the flag, fail the call
            Thread.currentThread().interrupt();
            throw new IllegalStateException("the request was interrupted", e);
          }
        }
        q.score(ops, x0, out);
      }
    };
  }

  private static Throwable runAndInterrupt(int blockAt) throws Exception {
    GaussianModel g = Fixtures.gaussian(TARGET.length);
    SearchConfig c =
        Fixtures.config(FilteringMethod.RBF, 2, 1, 1, 5, 60, 10, Fixtures.SCHEMES.get(2));
    CountDownLatch blocked = new CountDownLatch(1);
    AtomicReference<Throwable> out = new AtomicReference<>();
    Thread search =
        new Thread(
            () -> {
              try (CpuParticleOps ops = new CpuParticleOps()) {
                SearchMethods.of(FilteringMethod.RBF)
                    .run(c, ops, g, blocking(blockAt, blocked), null);
              } catch (Throwable t) {
                out.set(t);
              }
            });
    search.start();
    assertTrue(blocked.await(60, TimeUnit.SECONDS), "the reward call was reached");
    search.interrupt();
    search.join(60_000);
    assertTrue(!search.isAlive(), "the search ended");
    return out.get();
  }

  @Test
  void anInterruptDuringARewardCallStopsTheRunWithTheBestSoFar() throws Exception {
    Throwable t = runAndInterrupt(3);
    SearchStoppedException e = assertInstanceOf(SearchStoppedException.class, t);
    assertEquals(SearchStoppedException.Reason.INTERRUPTED, e.reason());
    assertTrue(e.partial().isPresent(), "three reward calls scored samples before");
    assertTrue(Double.isFinite(e.partial().get().reward()), e.getMessage());
    assertInstanceOf(IllegalStateException.class, e.getCause(), "the call's own failure is kept");
  }

  @Test
  void anInterruptDuringTheFirstRewardCallStopsWithNothingScored() throws Exception {
    SearchStoppedException e = assertInstanceOf(SearchStoppedException.class, runAndInterrupt(0));
    assertEquals(SearchStoppedException.Reason.INTERRUPTED, e.reason());
    assertTrue(e.partial().isEmpty());
  }
}
