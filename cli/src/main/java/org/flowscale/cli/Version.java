package org.flowscale.cli;

import org.flowscale.api.Flowscale;
import picocli.CommandLine;

/** {@code --version}: flowscale's and Java's versions. */
final class Version implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    return new String[] {"flowscale " + Flowscale.VERSION, "Java " + Flowscale.javaVersion()};
  }
}
