package org.flowscale.api.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.flowscale.api.Cancellation;
import org.flowscale.api.GenerationRequest;
import org.flowscale.api.Pipeline;
import org.flowscale.api.PipelineMetrics;
import org.flowscale.api.RunStatus;
import org.junit.jupiter.api.Test;

/** The pipeline's counters as Micrometer meters, and Micrometer kept out of everything else. */
class FlowscaleMeterBinderTest {
  @Test
  void aRegistrySeesGenerationsByOutcomeNfeAndTime() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (Pipeline p = Pipeline.builder().model("test_gaussian").reward("test_norm").build()) {
      new FlowscaleMeterBinder(p, Tags.of("role", "test")).bindTo(registry);
      GenerationRequest r =
          GenerationRequest.builder().prompt("p").method("bon").maxNfe(20).seed(1).build();
      assertEquals(RunStatus.COMPLETED, p.generate(r).status());
      assertEquals(RunStatus.COMPLETED, p.generate(r).status());
      Cancellation c = new Cancellation();
      c.cancel();
      assertEquals(RunStatus.CANCELLED, p.generate(r, c).status());

      PipelineMetrics m = p.metrics();
      assertEquals(3.0, count(registry, "flowscale.generations.started", null, null));
      assertEquals(2.0, count(registry, "flowscale.generations", "outcome", "completed"));
      assertEquals(1.0, count(registry, "flowscale.generations", "outcome", "cancelled"));
      assertEquals(0.0, count(registry, "flowscale.generations", "outcome", "failed"));
      assertEquals(0.0, count(registry, "flowscale.generations", "outcome", "interrupted"));
      assertEquals(40.0, count(registry, "flowscale.nfe", null, null));
      assertEquals((double) m.nfe(), count(registry, "flowscale.nfe", null, null));
      assertEquals(
          m.modelNanos() / 1e9, count(registry, "flowscale.search.time", "part", "model"), 1e-12);
      assertTrue(count(registry, "flowscale.search.time", "part", "model") > 0);
      assertEquals(0.0, registry.get("flowscale.generations.active").gauge().value());
      var started = registry.get("flowscale.generations.started").functionCounter().getId();
      assertEquals("test_gaussian", started.getTag("model"));
      assertEquals("test_norm", started.getTag("reward"));
      assertEquals("cpu", started.getTag("backend"));
      assertEquals("test", started.getTag("role"));
    }
  }

  private static double count(SimpleMeterRegistry registry, String name, String tag, String value) {
    var search = registry.get(name);
    if (tag != null) {
      search = search.tag(tag, value);
    }
    return search.functionCounter().count();
  }

  /**
   * Micrometer is optional: no class of the library outside {@code org.flowscale.api.micrometer}
   * refers to it, so an application without Micrometer never loads it.
   */
  @Test
  void onlyTheBinderPackageRefersToMicrometer() throws IOException {
    Path classes =
        Path.of(Pipeline.class.getProtectionDomain().getCodeSource().getLocation().getPath());
    List<Path> referring;
    try (Stream<Path> s = Files.walk(classes)) {
      referring =
          s.filter(f -> f.toString().endsWith(".class"))
              .filter(f -> !classes.relativize(f).startsWith("org/flowscale/api/micrometer"))
              .filter(FlowscaleMeterBinderTest::mentionsMicrometer)
              .toList();
    }
    assertTrue(referring.isEmpty(), "classes that refer to Micrometer: " + referring);
    assertTrue(
        mentionsMicrometer(
            classes.resolve("org/flowscale/api/micrometer/FlowscaleMeterBinder.class")),
        "the scan finds a reference where there is one");
    assertFalse(Files.isDirectory(classes.resolve("io/micrometer")));
  }

  private static boolean mentionsMicrometer(Path classFile) {
    try {
      return new String(Files.readAllBytes(classFile), StandardCharsets.ISO_8859_1)
          .contains("io/micrometer");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
