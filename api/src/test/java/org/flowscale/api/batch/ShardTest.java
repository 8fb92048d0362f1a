package org.flowscale.api.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.flowscale.api.ConfigurationException;
import org.junit.jupiter.api.Test;

/** Shards: disjoint, covering, and named by the scheduler's environment. */
class ShardTest {
  @Test
  void shardsAreDisjointAndCoverEveryItem() {
    for (int n : new int[] {12, 13}) {
      List<Integer> items = IntStream.range(0, n).boxed().toList();
      List<Integer> all = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        Shard s = new Shard(i, 3);
        List<Integer> mine = s.select(items);
        mine.forEach(k -> assertTrue(s.contains(k)));
        all.addAll(mine);
      }
      assertEquals(items, all.stream().sorted().toList(), "each item exactly once");
    }
    assertEquals(
        List.of(1, 4, 7, 10), new Shard(1, 3).select(IntStream.range(0, 12).boxed().toList()));
  }

  @Test
  void parsesIndexOverCount() {
    assertEquals(new Shard(2, 4), Shard.parse("2/4"));
    assertEquals("2/4", Shard.parse(" 2/4 ").toString());
    for (String bad : new String[] {"4/4", "1", "a/b", "-1/3", "1/0", "/3"}) {
      assertThrows(ConfigurationException.class, () -> Shard.parse(bad), bad);
    }
  }

  @Test
  void takesTheIndexFromKubernetesOrSlurm() {
    assertEquals(new Shard(2, 3), Shard.fromEnvironment(3, Map.of("JOB_COMPLETION_INDEX", "2")));
    assertEquals(new Shard(1, 3), Shard.fromEnvironment(3, Map.of("SLURM_ARRAY_TASK_ID", "1")));
    assertEquals(
        new Shard(0, 3),
        Shard.fromEnvironment(3, Map.of("SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_MIN", "1")),
        "an array numbered from 1");
    assertEquals(
        new Shard(1, 3),
        Shard.fromEnvironment(3, Map.of("JOB_COMPLETION_INDEX", "1", "SLURM_ARRAY_TASK_ID", "0")),
        "Kubernetes first");
    String none =
        assertThrows(ConfigurationException.class, () -> Shard.fromEnvironment(3, Map.of()))
            .getMessage();
    assertTrue(none.contains("JOB_COMPLETION_INDEX") && none.contains("--shard I/3"), none);
    String out =
        assertThrows(
                ConfigurationException.class,
                () -> Shard.fromEnvironment(3, Map.of("SLURM_ARRAY_TASK_ID", "3")))
            .getMessage();
    assertTrue(out.contains("--array=0-2"), out);
    assertThrows(
        ConfigurationException.class,
        () -> Shard.fromEnvironment(3, Map.of("JOB_COMPLETION_INDEX", "x")));
  }
}
