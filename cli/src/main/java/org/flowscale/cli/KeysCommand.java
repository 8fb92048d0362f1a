package org.flowscale.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.Callable;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.Text;
import org.flowscale.engine.model.ModelFactory;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.ParticleOpsProvider;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code flowscale keys}: every config key, with its type, default and meaning. */
@Command(
    name = "keys",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Lists every config key: the command line's, then each model's and reward's.")
final class KeysCommand implements Callable<Integer> {
  @ParentCommand Main main;

  @Override
  public Integer call() {
    var out = main.out;
    out.println("Config keys (what they accept; default; meaning):");
    for (FlowscaleConfig.KeyInfo k : FlowscaleConfig.commonKeys()) {
      out.printf(
          "  %-22s %s; default %s; %s%n", k.name(), k.expected(), k.defaultValue(), k.help());
    }
    for (ModelFactory f : ServiceLoader.load(ModelFactory.class)) {
      out.println("Keys of model '" + f.name() + "': " + String.join(", ", sorted(f.keys())));
    }
    for (RewardFactory f : ServiceLoader.load(RewardFactory.class)) {
      out.println(
          "Keys of reward_score "
              + String.join("/", sorted(f.names()))
              + ": "
              + (f.keys().isEmpty() ? "(none)" : String.join(", ", sorted(f.keys()))));
    }
    List<String> backends = new ArrayList<>();
    for (ParticleOpsProvider p : Backends.providers()) {
      backends.add(
          p.name()
              + p.unavailableReason()
                  .map(r -> " (unavailable: " + Text.oneLine(r) + ")")
                  .orElse(""));
    }
    out.println("Backends: " + String.join(", ", backends));
    return Main.EXIT_OK;
  }

  private static List<String> sorted(java.util.Collection<String> c) {
    return c.stream().sorted().toList();
  }
}
