package org.flowscale.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's "Embedding" example is a working program: extracted from README.md, compiled with
 * javac against this module's class path (warnings are errors) and run in a fresh JVM, where it
 * writes one PNG per prompt. Its Maven coordinates name this build's artifact and version.
 */
class EmbeddingExampleTest {
  @TempDir Path tmp;

  private static String section() throws Exception {
    Path root = Path.of(System.getProperty("flowscale.root", "..")).toAbsolutePath();
    String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
    int start = readme.indexOf("\n## Embedding\n");
    assertTrue(start >= 0, "README.md has an Embedding section");
    int end = readme.indexOf("\n## ", start + 1);
    return readme.substring(start, end < 0 ? readme.length() : end);
  }

  private static String block(String section, String language, String containing) {
    Matcher m = Pattern.compile("```" + language + "\\n(.*?)```", Pattern.DOTALL).matcher(section);
    while (m.find()) {
      if (m.group(1).contains(containing)) {
        return m.group(1);
      }
    }
    throw new AssertionError("no ```" + language + " block with " + containing);
  }

  @Test
  void theMavenCoordinatesAreThisBuilds() throws Exception {
    String xml = block(section(), "xml", "<artifactId>");
    assertTrue(xml.contains("<groupId>org.flowscale</groupId>"), xml);
    assertTrue(xml.contains("<artifactId>flowscale-api</artifactId>"), xml);
    String version = System.getProperty("flowscale.version");
    assertNotNull(version, "the pom passes flowscale.version");
    assertTrue(xml.contains("<version>" + version + "</version>"), xml);
  }

  @Test
  void theExampleCompilesAndRuns() throws Exception {
    String source = block(section(), "java", "public static void main");
    Matcher name = Pattern.compile("public class (\\w+)").matcher(source);
    assertTrue(name.find(), "the example is a public class");
    Path src = tmp.resolve("src").resolve(name.group(1) + ".java");
    Files.createDirectories(src.getParent());
    Files.writeString(src, source, StandardCharsets.UTF_8);
    Path classes = Files.createDirectories(tmp.resolve("classes"));
    String classPath = classPath();

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    StringWriter log = new StringWriter();
    boolean ok;
    try (StandardJavaFileManager files =
        javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
      ok =
          javac
              .getTask(
                  log,
                  files,
                  diagnostics,
                  List.of(
                      "--release",
                      "25",
                      "-Xlint:all",
                      "-Werror",
                      "-d",
                      classes.toString(),
                      "-cp",
                      classPath),
                  null,
                  files.getJavaFileObjects(src))
              .call();
    }
    assertTrue(ok, "the README example compiles cleanly: " + diagnostics.getDiagnostics() + log);

    Path out = Files.createDirectories(tmp.resolve("out"));
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.add("-cp");
    cmd.add(classes + File.pathSeparator + classPath);
    cmd.add(name.group(1));
    cmd.add(out.toString());
    Path stdout = tmp.resolve("stdout.txt");
    Path stderr = tmp.resolve("stderr.txt");
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .start();
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the example did not finish in 300 s");
    }
    String printed = Files.readString(stdout) + "\n--- stderr\n" + Files.readString(stderr);
    assertEquals(0, p.exitValue(), printed);
    assertTrue(printed.contains("two blue squares and one red circle: COMPLETED"), printed);
    assertTrue(printed.contains("three green triangles: COMPLETED"), printed);
    assertTrue(printed.contains("PipelineMetrics[requests=2, completed=2"), printed);
    for (int i = 0; i < 2; i++) {
      BufferedImage img = ImageIO.read(out.resolve("sample-" + i + ".png").toFile());
      assertNotNull(img, "sample-" + i + ".png is a PNG");
      assertEquals(256, img.getWidth());
      assertEquals(256, img.getHeight());
    }
  }

  /** This test's class path: the API, the engine, their dependencies. */
  private static String classPath() {
    String cp = System.getProperty("surefire.test.class.path");
    if (cp == null || cp.isBlank()) {
      cp = System.getProperty("java.class.path");
    }
    return cp;
  }
}
