package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The published jars as a modular application uses them: each names its module ({@code
 * Automatic-Module-Name}), they resolve together on a module path with their providers bound
 * (ServiceLoader discovery works across modules), a pipeline runs from there, and each has its
 * sources and javadoc jars beside it.
 */
class ModulePathIT {
  static final Path ROOT = EndToEndIT.ROOT;
  static final String VERSION = System.getProperty("flowscale.version", "0.1.0-SNAPSHOT");
  static final Map<String, String> MODULES =
      Map.of(
          "engine", "org.flowscale.engine",
          "api", "org.flowscale.api",
          "bindings", "org.flowscale.bindings",
          "kernels", "org.flowscale.kernels",
          "rewards", "org.flowscale.rewards",
          "flux", "org.flowscale.flux",
          "cli", "org.flowscale.cli");

  static Path jar(String module, String classifier) {
    return ROOT.resolve(module)
        .resolve("target")
        .resolve("flowscale-" + module + "-" + VERSION + classifier + ".jar");
  }

  @Test
  void everyJarNamesItsModuleAndShipsSourcesAndJavadoc() throws Exception {
    for (var e : MODULES.entrySet()) {
      Path jar = jar(e.getKey(), "");
      try (JarFile f = new JarFile(jar.toFile())) {
        assertEquals(
            e.getValue(),
            f.getManifest().getMainAttributes().getValue("Automatic-Module-Name"),
            jar.toString());
      }
      assertTrue(Files.isRegularFile(jar(e.getKey(), "-sources")), e.getKey() + " sources jar");
      assertTrue(Files.isRegularFile(jar(e.getKey(), "-javadoc")), e.getKey() + " javadoc jar");
    }
    try (JarFile doc = new JarFile(jar("api", "-javadoc").toFile())) {
      // javadoc writes module-mode paths (org.flowscale.api/...) on a clean build
      assertTrue(
          doc.getEntry("org/flowscale/api/Pipeline.html") != null
              || doc.getEntry("org.flowscale.api/org/flowscale/api/Pipeline.html") != null,
          "the api javadoc jar has no Pipeline.html");
    }
  }

  @Test
  void theLibraryJarsResolveOnAModulePathAndFindTheirProviders() throws Exception {
    List<Path> path = new ArrayList<>();
    for (String m : List.of("engine", "api", "bindings", "kernels", "rewards", "flux")) {
      path.add(jar(m, ""));
    }
    // flowscale-api's own dependencies (SnakeYAML, Jackson), from this test's class path
    for (String entry : classPath()) {
      String name = Path.of(entry).getFileName().toString();
      if (name.startsWith("snakeyaml-") || name.startsWith("jackson-")) {
        path.add(Path.of(entry));
      }
    }
    ModuleFinder finder = ModuleFinder.of(path.toArray(Path[]::new));
    Configuration cf =
        ModuleLayer.boot()
            .configuration()
            .resolveAndBind(
                finder,
                ModuleFinder.of(),
                Set.of(
                    "org.flowscale.api",
                    "org.flowscale.bindings",
                    "org.flowscale.kernels",
                    "org.flowscale.rewards",
                    "org.flowscale.flux"));
    ModuleLayer layer =
        ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
    ModuleDescriptor engine =
        layer.findModule("org.flowscale.engine").orElseThrow().getDescriptor();
    assertTrue(engine.isAutomatic());
    Set<String> services =
        engine.provides().stream()
            .map(ModuleDescriptor.Provides::service)
            .collect(Collectors.toSet());
    assertTrue(services.contains("org.flowscale.engine.model.ModelFactory"), services.toString());
    assertTrue(services.contains("org.flowscale.engine.search.SearchMethod"), services.toString());

    // A generation from the module layer: the toy model, the counting reward and the CPU backend
    // are found by ServiceLoader in their modules.
    ClassLoader loader = layer.findLoader("org.flowscale.api");
    Thread t = Thread.currentThread();
    ClassLoader before = t.getContextClassLoader();
    t.setContextClassLoader(loader);
    try {
      Class<?> pipelineClass = loader.loadClass("org.flowscale.api.Pipeline");
      assertEquals(layer.findModule("org.flowscale.api").orElseThrow(), pipelineClass.getModule());
      Object builder = call(pipelineClass, null, "builder");
      call(builder.getClass(), builder, "model", "toy");
      try (AutoCloseable pipeline = (AutoCloseable) call(builder.getClass(), builder, "build")) {
        Class<?> requestClass = loader.loadClass("org.flowscale.api.GenerationRequest");
        Object rb = call(requestClass, null, "builder");
        call(rb.getClass(), rb, "prompt", "one red circle");
        call(rb.getClass(), rb, "maxNfe", 120L);
        Object request = call(rb.getClass(), rb, "build");
        Object result = call(pipelineClass, pipeline, "generate", request);
        Object status = call(result.getClass(), result, "status");
        assertEquals("COMPLETED", status.toString());
        assertTrue((Long) call(result.getClass(), result, "nfe") > 0);
      }
    } finally {
      t.setContextClassLoader(before);
    }
  }

  private static Object call(Class<?> type, Object target, String name, Object... args)
      throws Exception {
    for (Method m : type.getMethods()) {
      if (m.getName().equals(name) && m.getParameterCount() == args.length) {
        Class<?>[] p = m.getParameterTypes();
        boolean fits = true;
        for (int i = 0; i < p.length; i++) {
          fits &= p[i] == long.class ? args[i] instanceof Long : p[i].isInstance(args[i]);
        }
        if (fits) {
          return m.invoke(target, args);
        }
      }
    }
    throw new NoSuchMethodException(type.getName() + "." + name + Arrays.toString(args));
  }

  private static List<String> classPath() {
    String cp = System.getProperty("surefire.test.class.path");
    if (cp == null || cp.isBlank()) {
      cp = System.getProperty("java.class.path");
    }
    return Arrays.asList(cp.split(File.pathSeparator));
  }
}
