package org.flowscale.api;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** What this build of flowscale is: its version, and the Java runtime it runs on. */
public final class Flowscale {
  /** flowscale's version, as Maven filtered it into the jar ({@code unknown} outside a build). */
  public static final String VERSION = load();

  private Flowscale() {}

  private static String load() {
    try (InputStream in = Flowscale.class.getResourceAsStream("version.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "unknown");
      return v.startsWith("${") ? "unknown" : v;
    } catch (IOException e) {
      return "unknown";
    }
  }

  /**
   * {@return the Java runtime's version and vendor, e.g. {@code 25.0.3+9-LTS (Eclipse Adoptium)}}
   */
  public static String javaVersion() {
    return Runtime.version().toString() + " (" + System.getProperty("java.vendor", "?") + ")";
  }
}
