package org.flowscale.bench.nfe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.SearchMethods;

/**
 * What the NFE-throughput benchmarks run: every registered search method (so a method added later
 * is measured without touching this code) on each model, at the paper's setting of that method as
 * the shipped toy config states it (500 NFE, 10 exp steps, VP-SDE with square diffusion, norm 3;
 * BoN and SMC 50 x 1, CoDe and SVDD 2 x 25, RBF 2 chains with 25 initial particles).
 *
 * <p>Models: {@code toy} (the exact toy world with its counting or aesthetic reward) and two
 * TorchScript MLPs with the TorchScript reward of {@code bench/reference/make_models.py}: {@code
 * mlp64} (a 64-value state) and {@code mlp64x64} (64 tokens of 64 values). The MLP cases need the
 * libtorch shim ({@code -Dflowscale.shim}) and the model files ({@code -Dflowscale.nfe.models},
 * default {@code bench/target/nfe-models}).
 */
public final class NfeCases {
  /** The models, in table order. */
  public static final List<String> MODELS = List.of("toy", "mlp64", "mlp64x64");

  /** Where the shipped configs are looked for, in order, for method {@code m}: {@code m.yaml}. */
  private static final List<String> CONFIG_DIRS =
      List.of("config/toy/quantity_aware", "config/toy/aesthetic", "config/toy/compositional");

  private NfeCases() {}

  /** The repository root: {@code -Dflowscale.root}, else the working directory. */
  static Path root() {
    return Path.of(System.getProperty("flowscale.root", ".")).toAbsolutePath().normalize();
  }

  static Path modelDir() {
    return Path.of(
            System.getProperty(
                "flowscale.nfe.models", root().resolve("bench/target/nfe-models").toString()))
        .toAbsolutePath();
  }

  /** Every method with a registered implementation, in {@link FilteringMethod} order. */
  public static List<String> methods() {
    List<String> out = new ArrayList<>();
    for (FilteringMethod m : FilteringMethod.values()) {
      try {
        SearchMethods.of(m);
        out.add(m.configName());
      } catch (IllegalStateException e) {
        // declared but not implemented: nothing to measure
      }
    }
    return out;
  }

  /**
   * The config of one case, or the reason it cannot run (a config the method or model refuses, a
   * missing shim or model file): that reason is printed in the table instead of a number.
   */
  public static FlowscaleConfig config(String method, String model) {
    Path base = null;
    for (String dir : CONFIG_DIRS) {
      Path p = root().resolve(dir).resolve(method + ".yaml");
      if (Files.isRegularFile(p)) {
        base = p;
        break;
      }
    }
    List<String> overrides =
        new ArrayList<>(List.of("root_dir=" + root().resolve("bench/target/nfe-runs")));
    if (base == null) {
      // A method without a shipped toy config: the RBF config's setting, with this method.
      base = root().resolve("config/toy/quantity_aware/rbf.yaml");
      overrides.add("filtering_method=" + method);
    }
    if (!model.equals("toy")) {
      String shape =
          switch (model) {
            case "mlp64" -> "[64]";
            case "mlp64x64" -> "[64, 64]";
            default ->
                throw new IllegalArgumentException("unknown model '" + model + "': " + MODELS);
          };
      Path dir = modelDir();
      for (String f : List.of(model + ".pt", "reward64.pt")) {
        if (!Files.isRegularFile(dir.resolve(f))) {
          throw new IllegalStateException(
              "no "
                  + dir.resolve(f)
                  + " (make it: /usr/bin/python3 bench/reference/make_models.py "
                  + dir
                  + ")");
        }
      }
      overrides.addAll(
          List.of(
              "model=torchscript",
              "model_path=" + dir.resolve(model + ".pt"),
              "sample_shape=" + shape,
              "reward_score=torchscript",
              "reward_path=" + dir.resolve("reward64.pt"),
              "image_shape=" + shape,
              "device=cpu",
              "text_prompt=unconditional"));
    }
    return FlowscaleConfig.load(base, overrides);
  }

  /** Why a case cannot run, or empty when it can (its config resolves). */
  public static Optional<String> refusal(String method, String model) {
    try {
      config(method, model);
      return Optional.empty();
    } catch (RuntimeException e) {
      return Optional.of(e.getMessage() == null ? e.toString() : e.getMessage());
    }
  }
}
