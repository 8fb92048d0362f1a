package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.Interpolant;
import org.flowscale.engine.math.TimeSchedule;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.ParticleSchedule;
import org.flowscale.engine.search.RbfOutput;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SopSettings;
import org.junit.jupiter.api.Test;

class ConfigResolverTest {
  private static Map<String, Object> doc(String yaml) {
    return ConfigYaml.loadDocument(yaml, "test.yaml");
  }

  private static final String BASE =
      "text_prompt: a prompt\nmodel: test_gaussian\nreward_score: test_norm\n";

  private static RunSettings resolve(String yaml, String... overrides) {
    return ConfigResolver.resolve(doc(yaml), "test.yaml", Overrides.parse(List.of(overrides)));
  }

  private static String problem(String yaml, String... overrides) {
    var e = assertThrows(ConfigurationException.class, () -> resolve(yaml, overrides));
    return e.getMessage();
  }

  @Test
  void defaultsAreThePapersRbfSetting() {
    RunSettings s = resolve(BASE);
    var c = s.search();
    assertEquals(FilteringMethod.RBF, c.method());
    assertEquals(2, c.batchSize());
    assertEquals(25, c.initNParticles());
    assertEquals(500, c.maxNfe());
    assertEquals(10, c.maxSteps());
    assertEquals(TimeSchedule.EXP, c.timeSchedule());
    assertTrue(c.scheme().convert());
    assertTrue(c.scheme().sde());
    assertTrue(c.scheme().sampling() instanceof Interpolant.Vp);
    assertEquals(DiffusionCoefficient.SQUARE, c.scheme().diffusion());
    assertEquals(3.0, c.scheme().diffusionNorm());
    assertEquals("rbf", s.tag(), "a null tag becomes the method's name");
    assertTrue(s.saveNow());
    assertFalse(s.saveIntermediate());
    assertEquals("cpu", s.backend());
    assertEquals(SearchConfig.builder().build(), c, "the builder's defaults are the CLI's");
  }

  @Test
  void searchKeysOfIssue13ReachTheSearchConfig() {
    var c =
        resolve(
                BASE,
                "filtering_method=sop",
                "n_particles=31",
                "batch_size=1",
                "ode_step=2",
                "ode_seed_t=100",
                "forward_step=700.5",
                "backward_step=750",
                "rbf_output=run_best",
                "particle_schedule=linear",
                "time_shift=4096",
                "convert_scheduler=polynomial",
                "scheduler_n=2")
            .search();
    assertEquals(FilteringMethod.SOP, c.method());
    assertEquals(new SopSettings(2, 100, 700.5, 750), c.sop());
    assertEquals(RbfOutput.RUN_BEST, c.rbfOutput());
    assertEquals(ParticleSchedule.LINEAR, c.particleSchedule());
    assertEquals(4096, c.timeShiftTokens());
    assertEquals(new Interpolant.Polynomial(2), c.scheme().sampling());
    assertTrue(c.scheme().convert());
    var d = resolve(BASE).search();
    assertEquals(RbfOutput.LAST_STEP, d.rbfOutput());
    assertEquals(ParticleSchedule.CONSTANT, d.particleSchedule());
    assertEquals(SopSettings.DEFAULT, d.sop());
    assertEquals(0, d.timeShiftTokens());
  }

  @Test
  void badValuesOfIssue13sKeysAreRefusedByName() {
    String m = problem(BASE, "convert_scheduler=polynomial");
    assertTrue(m.contains("convert_scheduler polynomial needs scheduler_n"), m);
    String n = problem(BASE, "scheduler_n=2");
    assertTrue(n.contains("scheduler_n 2.0 is the exponent of convert_scheduler polynomial"), n);
    String slow = problem(BASE, "convert_scheduler=polynomial", "scheduler_n=0.5");
    assertTrue(slow.contains("use scheduler_n >= 1"), slow);
    String back = problem(BASE, "backward_step=700");
    assertTrue(back.contains("backward_step 700.0 must be finite and > forward_step 780.0"), back);
    assertTrue(problem(BASE, "rbf_output=best").contains("last_step, run_best"));
    assertTrue(problem(BASE, "particle_schedule=square").contains("constant, linear"));
  }

  @Test
  void overridesWinOverTheFileAndAreTyped() {
    RunSettings s =
        resolve(
            BASE + "max_nfe: 100\nseed: 1\n",
            "max_nfe=60",
            "seed=7",
            "convert_scheduler=null",
            "sample_method=ode",
            "filtering_method=BoN",
            "diffusion_norm=2",
            "tag=007",
            "text_prompt=two red circles");
    assertEquals(60, s.search().maxNfe());
    assertEquals(7, s.search().seed());
    assertFalse(s.search().scheme().convert());
    assertFalse(s.search().scheme().sde());
    assertEquals(FilteringMethod.BON, s.search().method(), "choices ignore case");
    assertEquals(2.0, s.search().scheme().diffusionNorm(), "a whole number is a fine double");
    assertEquals("007", s.tag(), "text keys take the override verbatim");
    assertEquals("two red circles", s.prompt());
    assertEquals(60L, s.resolved().get("max_nfe"));
    assertNull(s.resolved().get("convert_scheduler"));
  }

  @Test
  void factoryKeysGoToTheirFactory() {
    RunSettings s = resolve(BASE + "mean: 0.5\n", "target=1", "variance=null", "height=2");
    assertEquals(Map.of("mean", 0.5), s.modelSettings(), "null asks for the default");
    assertEquals(Map.of("target", 1L), s.rewardSettings());
    assertEquals(0.5, s.resolved().get("mean"));
  }

  @Test
  void unknownKeysSuggestTheNearest() {
    String m = problem(BASE + "max_nef: 100\n");
    assertTrue(m.contains("unknown key 'max_nef': did you mean 'max_nfe'?"), m);
    assertTrue(m.contains("in 'test.yaml'"), m);
    String o = problem(BASE, "varience=1");
    assertTrue(o.contains("did you mean 'variance'?"), "model keys are candidates too: " + o);
    assertTrue(o.contains("override 'varience=1'"), o);
    String far = problem(BASE, "temperature=1");
    assertTrue(far.contains("unknown key 'temperature'") && !far.contains("did you mean"), far);
  }

  @Test
  void aKeyOfAnotherFactoryIsNamedAsSuch() {
    String m =
        problem("text_prompt: p\nmodel: test_gaussian\nreward_score: counting\n", "target=1");
    assertEquals(
        "key target is a setting of reward_score test_flat/test_norm, but reward_score is"
            + " 'counting' (in override 'target=1')",
        m);
    String toy = problem("text_prompt: p\nmodel: toy\nreward_score: counting\n", "mean=1");
    assertTrue(toy.startsWith("key mean is a setting of model 'test_gaussian'"), toy);
  }

  @Test
  void wrongTypesNameKeyValueAndWhatIsAllowed() {
    String m = problem(BASE, "batch_size=two");
    assertEquals(
        "bad value for batch_size: got text 'two', expected a whole number (in override"
            + " 'batch_size=two')",
        m);
    assertTrue(problem(BASE, "batch_size=2.5").contains("the number 2.5"));
    assertTrue(problem(BASE, "batch_size=4.0").contains("without a decimal point: 4"));
    assertTrue(problem(BASE, "save_now=yes").contains("expected true or false"));
    assertTrue(problem(BASE, "max_steps=[1, 2]").contains("a list of 2"));
    assertTrue(problem(BASE, "seed=99999999999999999999").contains("out of range"));
    assertTrue(problem(BASE, "batch_size=3000000000").contains("out of range"));
    String choice = problem(BASE, "filtering_method=rfb");
    assertTrue(choice.contains("expected one of bon, smc, code, svdd, rbf"), choice);
    assertTrue(choice.contains("did you mean 'rbf'?"), choice);
    assertTrue(problem(BASE, "mean=[1, {a: 2}]").contains("bad value for mean"));
    assertTrue(problem(BASE, "tag=a/b").contains("bad value for tag"));
    assertTrue(problem(BASE, "text_prompt=null").contains("text_prompt"));
  }

  @Test
  void outOfRangeValuesAreRefused() {
    assertEquals("batch_size must be > 0, got 0", problem(BASE, "batch_size=0"));
    assertTrue(problem(BASE, "max_nfe=-5").contains("max_nfe must be > 0, got -5"));
    assertTrue(problem(BASE, "ess_threshold=1.5").contains("ess_threshold must be in [0, 1]"));
    assertTrue(problem(BASE, "reward_weight=.nan").contains("reward_weight"));
    assertTrue(problem(BASE, "diffusion_norm=-1").contains("diffusion_norm"));
    assertTrue(problem(BASE, "height=0").contains("bad value for height"));
  }

  @Test
  void everyProblemIsListedAtOnce() {
    String m = problem("model: test_gaussian\nreward_score: test_norm\nseeed: 1\n", "max_steps=x");
    assertTrue(m.startsWith("3 problems in the config:"), m);
    assertTrue(m.contains("max_steps") && m.contains("seeed") && m.contains("text_prompt"), m);
  }

  @Test
  void theToyWorldsKeysAreKnown() {
    RunSettings s = resolve("text_prompt: one red circle\n", "beta=4", "n_templates=400");
    assertEquals("toy", s.model());
    assertEquals(Map.of("beta", 4L, "n_templates", 400L), s.modelSettings());
    assertTrue(problem("text_prompt: p\n", "bta=4").contains("did you mean 'beta'?"));
  }

  @Test
  void unknownFactoriesAndBackendsSuggest() {
    String m = problem(BASE, "model=test_gausian");
    assertTrue(m.contains("unknown model 'test_gausian': did you mean 'test_gaussian'?"), m);
    assertTrue(problem(BASE, "reward_score=test_nrom").contains("did you mean 'test_norm'?"));
    assertTrue(problem(BASE, "backend=cpuu").contains("did you mean 'cpu'?"));
  }

  @Test
  void resolvedConfigListsEveryKeyInSchemaOrder() {
    RunSettings s = resolve(BASE);
    List<String> keys = List.copyOf(s.resolved().keySet());
    assertEquals(
        List.copyOf(ConfigSchema.KEYS.keySet()), keys.subList(0, ConfigSchema.KEYS.size()));
    // What config.yaml holds resolves to the same settings.
    RunSettings again =
        ConfigResolver.resolve(
            ConfigYaml.loadDocument(FlowscaleConfig.yaml(s), "config.yaml"),
            "config.yaml",
            List.of());
    assertEquals(s.search(), again.search());
    assertEquals(new LinkedHashMap<>(s.resolved()), new LinkedHashMap<>(again.resolved()));
  }
}
