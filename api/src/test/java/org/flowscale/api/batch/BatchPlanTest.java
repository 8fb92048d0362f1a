package org.flowscale.api.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.FlowscaleConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plans: items, their ids, and every line checked against the config before any work. */
class BatchPlanTest {
  @TempDir Path tmp;

  static final String CONFIG =
      "model: test_gaussian\nreward_score: test_norm\nfiltering_method: bon\nbatch_size: 2\n"
          + "max_steps: 2\nmax_nfe: 4\n";

  static FlowscaleConfig config(String... overrides) {
    return FlowscaleConfig.parse(CONFIG, "c.yaml", List.of(overrides), false);
  }

  private PromptFile prompts(String name, String text) throws Exception {
    Path p = tmp.resolve(name);
    Files.writeString(p, text);
    return PromptFile.read(p);
  }

  private String refusal(String jsonl) throws Exception {
    PromptFile f = prompts("p.jsonl", jsonl);
    return assertThrows(
            ConfigurationException.class, () -> BatchPlan.create(config(), f, List.of()))
        .getMessage();
  }

  @Test
  void itemsArePromptMajorAndALineWithItsOwnSeedIsOneItem() throws Exception {
    PromptFile f =
        prompts(
            "p.jsonl",
            "{\"text_prompt\": \"a\"}\n{\"text_prompt\": \"b\", \"seed\": 7, \"max_nfe\": 6}\n"
                + "{\"text_prompt\": \"c\", \"tag\": \"bon_wide\"}\n");
    BatchPlan plan = BatchPlan.create(config(), f, BatchPlan.parseSeeds("0..1"));
    List<String> got =
        plan.items().stream().map(i -> i.prompt() + i.seed() + "@" + i.position()).toList();
    assertEquals(List.of("a0@0", "a1@1", "b7@2", "c0@3", "c1@4"), got);
    BatchItem b = plan.items().get(2);
    assertEquals(6, b.maxNfe());
    assertEquals(6, b.config().search().maxNfe(), "the line's override is in its config");
    assertEquals(2, b.line());
    assertEquals("bon", b.method());
    assertEquals("bon_wide", plan.items().get(3).method(), "a tag names the method in summaries");
    assertEquals("a", plan.items().get(0).config().prompt().orElseThrow());
  }

  @Test
  void withoutSeedsEachLineTakesTheConfigsSeed() throws Exception {
    BatchPlan plan = BatchPlan.create(config("seed=5"), prompts("p.txt", "a\nb\n"), List.of());
    assertEquals(List.of(5L, 5L), plan.items().stream().map(BatchItem::seed).toList());
  }

  @Test
  void idsAreStableAndNameThePromptAndSeed() throws Exception {
    PromptFile f = prompts("p.txt", "Two Red Circles, please!\nb\n");
    BatchPlan one = BatchPlan.create(config(), f, List.of(0L, 1L));
    BatchPlan two = BatchPlan.create(config(), f, List.of(0L, 1L));
    List<String> ids = one.items().stream().map(BatchItem::id).toList();
    assertEquals(ids, two.items().stream().map(BatchItem::id).toList());
    assertEquals(one.key(), two.key());
    assertTrue(ids.get(0).matches("two-red-circles-please-s0-[0-9a-f]{10}"), ids.get(0));
    assertTrue(ids.get(1).startsWith("two-red-circles-please-s1-"), ids.get(1));

    // Where and how long items run does not rename them; what they compute does.
    List<String> elsewhere =
        BatchPlan.create(config("backend=cpu", "deadline_s=100", "root_dir=x"), f, List.of(0L, 1L))
            .items()
            .stream()
            .map(BatchItem::id)
            .toList();
    assertEquals(ids, elsewhere);
    List<String> explicitDefault =
        BatchPlan.create(config("diffusion_norm=3.0"), f, List.of(0L, 1L)).items().stream()
            .map(BatchItem::id)
            .toList();
    assertEquals(ids, explicitDefault, "a key set to its default changes nothing");
    BatchItem bigger = BatchPlan.create(config("max_nfe=6"), f, List.of(0L)).items().get(0);
    assertNotEquals(ids.get(0), bigger.id());
    BatchItem otherModel = BatchPlan.create(config("mean=1.0"), f, List.of(0L)).items().get(0);
    assertNotEquals(ids.get(0), otherModel.id());
  }

  @Test
  void slugsAreShortAsciiWords() {
    assertEquals("creme-brulee-on-a-plate", BatchPlan.slug("Crème brûlée   on a plate"));
    assertEquals("prompt", BatchPlan.slug("一只猫"));
    assertTrue(BatchPlan.slug("word ".repeat(30)).length() <= 40);
    assertEquals(40, BatchPlan.slug("x".repeat(100)).length());
  }

  @Test
  void anUnknownKeyIsRefusedWithItsLineAndTheNearestKey() throws Exception {
    String m = refusal("{\"text_prompt\": \"a\"}\n{\"text_prompt\": \"b\", \"max_nef\": 8}\n");
    assertTrue(m.startsWith("prompts file '" + tmp.resolve("p.jsonl") + "', line 2: "), m);
    assertTrue(m.contains("unknown key 'max_nef': did you mean 'max_nfe'?"), m);
  }

  @Test
  void linesMayNotChangeWhatTheBatchLoadsOrWhereItWrites() throws Exception {
    assertTrue(
        refusal("{\"text_prompt\": \"a\", \"model\": \"toy\"}\n")
            .contains("line 1: key 'model' belongs to the model"));
    assertTrue(
        refusal("{\"text_prompt\": \"a\", \"mean\": 1.0}\n")
            .contains("line 1: key 'mean' belongs to the model"));
    assertTrue(
        refusal("{\"text_prompt\": \"a\", \"rewards\": [{\"score\": \"test_norm\"}]}\n")
            .contains("line 1: key 'rewards' belongs to the model, reward or backend"));
    assertTrue(
        refusal("{\"text_prompt\": \"a\", \"root_dir\": \"x\"}\n")
            .contains("line 1: key 'root_dir' is the batch's to set"));
    assertTrue(
        refusal("{\"text_prompt\": \"a\", \"max_nfe\": {\"x\": 1}}\n")
            .contains("is a JSON object"));
  }

  @Test
  void aWeightedSumOfRewardsKeepsItsTermsKeysForThePipeline() throws Exception {
    FlowscaleConfig sum =
        FlowscaleConfig.parse(
            CONFIG.replace("reward_score: test_norm\n", "")
                + "rewards:\n  - {score: test_norm, weight: 0.5, target: 1.0}\n",
            "sum.yaml",
            List.of(),
            false);
    PromptFile ok = prompts("ok.jsonl", "{\"text_prompt\": \"a\", \"max_nfe\": 6}\n");
    assertEquals(6, BatchPlan.create(sum, ok, List.of()).items().get(0).maxNfe());
    PromptFile bad = prompts("bad.jsonl", "{\"text_prompt\": \"a\", \"target\": 2.0}\n");
    String m =
        assertThrows(ConfigurationException.class, () -> BatchPlan.create(sum, bad, List.of()))
            .getMessage();
    assertTrue(m.contains("line 1: key 'target' belongs to the model, reward or backend"), m);
  }

  @Test
  void badValuesAndBudgetsAreRefusedWithTheirLine() throws Exception {
    String m =
        refusal(
            "{\"text_prompt\": \"a\"}\n{\"text_prompt\": \"b\", \"max_nfe\": -3}\n"
                + "{\"text_prompt\": \"c\", \"seed\": \"x\"}\n");
    assertTrue(m.startsWith("2 bad lines"), m);
    assertTrue(m.contains("line 2: ") && m.contains("max_nfe"), m);
    assertTrue(m.contains("line 3: ") && m.contains("seed"), m);
  }

  @Test
  void aRepeatedItemIsRefused() throws Exception {
    String m =
        refusal("{\"text_prompt\": \"a\"}\n{\"text_prompt\": \"b\"}\n{\"text_prompt\": \"a\"}\n");
    assertTrue(m.contains("line 3 repeats line 1"), m);
  }

  @Test
  void seedListsAndRanges() {
    assertEquals(List.of(0L, 1L, 2L, 3L), BatchPlan.parseSeeds("0..3"));
    assertEquals(List.of(1L, 5L, 9L), BatchPlan.parseSeeds("1,5,9"));
    assertEquals(List.of(0L, 1L, 10L), BatchPlan.parseSeeds("0..1, 10, 1"));
    for (String bad : new String[] {"", "3..1", "a", "1,,2", "0..1000000"}) {
      assertThrows(ConfigurationException.class, () -> BatchPlan.parseSeeds(bad), bad);
    }
  }
}
