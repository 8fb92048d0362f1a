package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class SuggestTest {
  private static final List<String> KEYS = List.copyOf(ConfigSchema.KEYS.keySet());

  @Test
  void distanceCountsEditsAndSwaps() {
    assertEquals(0, Suggest.distance("abc", "abc"));
    assertEquals(1, Suggest.distance("abc", "abd"));
    assertEquals(1, Suggest.distance("abc", "ab"));
    assertEquals(1, Suggest.distance("abc", "acb"), "a swap is one edit");
    assertEquals(3, Suggest.distance("", "abc"));
    assertEquals(3, Suggest.distance("kitten", "sitting"));
  }

  @Test
  void typosFindTheirKey() {
    assertEquals("max_nfe", Suggest.nearest("max_nef", KEYS));
    assertEquals("max_nfe", Suggest.nearest("max-nfe", KEYS));
    assertEquals("max_nfe", Suggest.nearest("MAX_NFE", KEYS));
    assertEquals("batch_size", Suggest.nearest("batchsize", KEYS));
    assertEquals("n_particles", Suggest.nearest("num_particles", KEYS));
    assertEquals("seed", Suggest.nearest("sed", KEYS));
    assertEquals("filtering_method", Suggest.nearest("filter_method", KEYS));
    assertEquals("diffusion_coefficient", Suggest.nearest("coefficient", KEYS));
  }

  @Test
  void farOffNamesGetNoSuggestion() {
    assertNull(Suggest.nearest("temperature", KEYS));
    assertNull(Suggest.nearest("zz", KEYS));
    assertNull(Suggest.nearest("x", List.of()));
  }
}
