package org.flowscale.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PromptCacheTest {

  @Test
  void computesEachPromptOnceAndEvictsTheLeastRecentlyUsed() {
    List<String> evicted = new ArrayList<>();
    PromptCache<String> cache = new PromptCache<>(2, evicted::add);
    AtomicInteger calls = new AtomicInteger();
    String a = cache.get("a", p -> p + calls.incrementAndGet());
    assertSame(a, cache.get("a", p -> "never"));
    cache.get("b", p -> p + calls.incrementAndGet());
    cache.get("a", p -> "never"); // a is now the most recent
    cache.get("c", p -> p + calls.incrementAndGet()); // evicts b
    assertEquals(List.of("b2"), evicted);
    assertEquals(3, cache.computed());
    assertEquals(2, cache.size());
    assertEquals("b4", cache.get("b", p -> p + calls.incrementAndGet()), "b is computed again");
    assertEquals(List.of("b2", "a1"), evicted);
    cache.clear();
    assertEquals(4, evicted.size(), "clear hands every held value to onEvict");
    assertEquals(0, cache.size());
  }

  @Test
  void nullIsAPromptOfItsOwnAndNullValuesAndBadCapacitiesAreRefused() {
    PromptCache<String> cache = new PromptCache<>(4, null);
    assertEquals("unconditional", cache.get(null, p -> "unconditional"));
    assertEquals("x", cache.get("null", p -> "x"));
    assertThrows(NullPointerException.class, () -> cache.get("y", p -> null));
    assertFalse(cache.size() > 2);
    assertThrows(IllegalArgumentException.class, () -> new PromptCache<String>(0, null));
  }

  @Test
  void oneOffModelsCloseWhatTheyLoadedAndAFailedConditionClosesItToo() {
    AtomicInteger closed = new AtomicInteger();
    ModelFactory factory =
        new ModelFactory() {
          @Override
          public String name() {
            return "counted";
          }

          @Override
          public java.util.Set<String> keys() {
            return java.util.Set.of();
          }

          @Override
          public FlowModel load(Map<String, Object> settings) {
            FlowModel shared = FlowModel.promptFree(new GaussianModel(new float[] {0, 0}, 1));
            return new FlowModel() {
              @Override
              public int dim() {
                return shared.dim();
              }

              @Override
              public VelocityModel condition(String prompt) {
                if ("bad".equals(prompt)) {
                  throw new IllegalArgumentException("bad prompt");
                }
                return shared.condition(prompt);
              }

              @Override
              public void close() {
                closed.incrementAndGet();
                shared.close();
              }
            };
          }
        };
    VelocityModel m = factory.create(Map.of(), "fine");
    assertEquals(2, m.dim());
    assertEquals(0, closed.get());
    m.close();
    assertEquals(1, closed.get(), "closing a one-off model closes its weights");
    assertThrows(IllegalArgumentException.class, () -> factory.create(Map.of(), "bad"));
    assertEquals(2, closed.get(), "a refused prompt leaves nothing loaded");

    FlowModel loaded = factory.load(Map.of());
    VelocityModel view = loaded.condition("p");
    view.close();
    assertEquals(2, closed.get(), "closing a conditioned view leaves the weights loaded");
    assertNotSame(view, loaded.condition("q"));
    loaded.close();
    assertTrue(closed.get() == 3);
  }
}
