package org.flowscale.engine.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A small least-recently-used cache of per-prompt conditioning (a parsed prompt, a text encoder's
 * embedding), so a service answering the same prompt again does not recompute it. Thread-safe; the
 * value is computed at most once per prompt while it stays cached (other callers for that prompt
 * wait). Evicted values are handed to {@code onEvict} (e.g. to free native memory); so is every
 * value still held when the cache is {@link #clear cleared}.
 *
 * @param <V> the conditioning
 */
public final class PromptCache<V> {
  private final int capacity;
  private final Consumer<? super V> onEvict;
  private final LinkedHashMap<Key, V> map = new LinkedHashMap<>(16, 0.75f, true);
  private long computed;

  /** A null prompt is a key of its own (unconditional). */
  private record Key(String prompt) {}

  /**
   * @param capacity the most prompts kept (at least 1)
   * @param onEvict called with each value dropped from the cache, or null
   */
  public PromptCache(int capacity, Consumer<? super V> onEvict) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
    }
    this.capacity = capacity;
    this.onEvict = onEvict == null ? v -> {} : onEvict;
  }

  /** The cached value for {@code prompt}, computing it with {@code make} on a miss. */
  public synchronized V get(String prompt, Function<String, ? extends V> make) {
    Key key = new Key(prompt);
    V v = map.get(key);
    if (v != null) {
      return v;
    }
    v = Objects.requireNonNull(make.apply(prompt), "conditioning must not be null");
    computed++;
    map.put(key, v);
    if (map.size() > capacity) {
      var eldest = map.entrySet().iterator().next();
      map.remove(eldest.getKey());
      onEvict.accept(eldest.getValue());
    }
    return v;
  }

  /** How many values were computed (misses) since the cache was made. */
  public synchronized long computed() {
    return computed;
  }

  /** How many prompts are held now. */
  public synchronized int size() {
    return map.size();
  }

  /** Drops every value, handing each to {@code onEvict}. */
  public synchronized void clear() {
    for (Map.Entry<Key, V> e : map.entrySet()) {
      onEvict.accept(e.getValue());
    }
    map.clear();
  }
}
