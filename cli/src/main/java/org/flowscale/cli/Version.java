package org.flowscale.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/** The version of flowscale, as Maven filtered it into {@code version.properties}. */
final class Version implements CommandLine.IVersionProvider {
  static final String FLOWSCALE = load();

  private static String load() {
    try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
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

  static String java() {
    return Runtime.version().toString() + " (" + System.getProperty("java.vendor", "?") + ")";
  }

  @Override
  public String[] getVersion() {
    return new String[] {"flowscale " + FLOWSCALE, "Java " + java()};
  }
}
