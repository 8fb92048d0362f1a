package org.flowscale.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.ServiceLoader;
import org.flowscale.engine.model.ModelFactory;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.RewardFactory;
import org.flowscale.engine.model.RewardModel;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.Backends;
import org.flowscale.engine.ops.ParticleOps;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.SearchMethod;
import org.flowscale.engine.search.SearchMethods;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.rewards.WeightedRewardModel;

/**
 * Runs one resolved config: first everything that can refuse it (the method's budget rules, the
 * backend, the model and reward factories with their settings and prompt, the image size), then the
 * run directory and the search, then the outputs. A refusal before the search is a {@link
 * CliException.ConfigError} (exit 2); anything that goes wrong once the search started is a {@link
 * CliException.RunFailure} (exit 1).
 */
final class Runner implements AutoCloseable {
  private final RunSettings settings;
  private final SearchMethod method;
  private final ParticleOps ops;
  private final VelocityModel model;
  private final Reward reward;
  private final WeightedRewardModel weighted;
  private final Optional<ImageOutput> images;

  /** What a finished run left behind. */
  record Outcome(Path directory, SearchResult result, List<String> files) {}

  private Runner(
      RunSettings settings,
      SearchMethod method,
      ParticleOps ops,
      VelocityModel model,
      Reward reward,
      WeightedRewardModel weighted,
      Optional<ImageOutput> images) {
    this.settings = settings;
    this.method = method;
    this.ops = ops;
    this.model = model;
    this.reward = reward;
    this.weighted = weighted;
    this.images = images;
  }

  /**
   * Checks everything a run needs and makes its parts; the caller closes the runner.
   *
   * @throws CliException.ConfigError when the config cannot run
   * @throws CliException.RunFailure when the machinery fails (a native library, an I/O error)
   */
  static Runner prepare(RunSettings s) {
    SearchMethod method;
    try {
      method = SearchMethods.of(s.search().method());
    } catch (IllegalStateException e) {
      throw new CliException.RunFailure(e.getMessage(), e);
    }
    return prepare(s, method);
  }

  /** {@link #prepare(RunSettings)} with the method given (tests script one). */
  static Runner prepare(RunSettings s, SearchMethod method) {
    SearchConfig config = s.search();
    refuse(() -> method.validate(config), "");
    ParticleOps ops = null;
    VelocityModel model = null;
    Reward reward = null;
    WeightedRewardModel weighted = null;
    try {
      ops = refuse(() -> Backends.create(s.backend()), "backend: ", true);
      ParticleOps o = ops;
      ModelFactory mf = modelFactory(s.model());
      model =
          refuse(
              () -> mf.create(s.modelSettings(), s.prompt()), "model '" + s.model() + "': ", false);
      VelocityModel m = model;
      if (s.rewards().isEmpty()) {
        RewardFactory rf = rewardFactory(s.reward());
        reward =
            refuse(
                () -> rf.create(s.reward(), s.rewardSettings(), s.prompt(), m),
                "reward_score '" + s.reward() + "': ",
                true);
      } else {
        weighted = weighted(s.rewards(), m);
        WeightedRewardModel w = weighted;
        reward = refuse(() -> w.condition(s.prompt()), "rewards: ", false);
      }
      if (config.method().usesGradient()) {
        if (!reward.differentiable()) {
          throw new CliException.ConfigError(
              "filtering_method "
                  + config.method().configName()
                  + " follows the reward's gradient, but "
                  + (s.reward() != null
                      ? "reward_score '" + s.reward() + "' is not differentiable"
                      : "not every reward of rewards (" + weighted + ") is differentiable"));
        }
        if (!model.hasVjp()) {
          throw new CliException.ConfigError(
              "filtering_method "
                  + config.method().configName()
                  + " needs the model's vector-Jacobian product, which model '"
                  + s.model()
                  + "' does not provide");
        }
      }
      Optional<ImageOutput> images = ImageOutput.forModel(model);
      checkImageSize(s, images, model);
      Runner r = new Runner(s, method, o, model, reward, weighted, images);
      ops = null;
      model = null;
      reward = null;
      weighted = null;
      return r;
    } finally {
      closeQuietly(reward);
      closeQuietly(weighted);
      closeQuietly(model);
      closeQuietly(ops);
    }
  }

  /** Loads every reward of {@code rewards} (each once) as one weighted sum. */
  private static WeightedRewardModel weighted(
      List<RunSettings.RewardTerm> terms, VelocityModel model) {
    List<WeightedRewardModel.Term> loaded = new ArrayList<>();
    try {
      for (int i = 0; i < terms.size(); i++) {
        RunSettings.RewardTerm t = terms.get(i);
        RewardFactory f = rewardFactory(t.score());
        RewardModel rm =
            refuse(
                () -> f.load(t.score(), t.settings(), model),
                "rewards entry " + (i + 1) + " (score: " + t.score() + "): ",
                true);
        Object served = t.settings().get("reward_model");
        String label = t.score() + (served == null ? "" : " '" + served + "'");
        loaded.add(new WeightedRewardModel.Term(rm, t.weight(), label));
      }
      WeightedRewardModel w = WeightedRewardModel.of(loaded);
      loaded = List.of();
      return w;
    } finally {
      loaded.forEach(t -> closeQuietly(t.model()));
    }
  }

  private static void checkImageSize(
      RunSettings s, Optional<ImageOutput> images, VelocityModel model) {
    if (s.height() == null && s.width() == null) {
      return;
    }
    if (images.isEmpty()) {
      return; // the model took height/width itself, or has no image form to check against
    }
    ImageOutput io = images.get();
    if ((s.height() != null && s.height() != io.height())
        || (s.width() != null && s.width() != io.width())) {
      throw new CliException.ConfigError(
          "bad value for height/width: got "
              + s.height()
              + "x"
              + s.width()
              + ", but model '"
              + s.model()
              + "' makes "
              + io.height()
              + "x"
              + io.width()
              + " images (set them to null or to its size)");
    }
  }

  /**
   * Makes the run directory, runs the search and writes the outputs.
   *
   * @param out where the final summary goes (stdout)
   * @param progress shows NFE against the budget
   */
  Outcome run(Path rootDir, LocalDateTime now, Progress progress) {
    RunDirectory dir;
    try {
      dir = RunDirectory.create(rootDir, settings.tag(), settings.saveNow(), now);
      dir.writeString("config.yaml", configYaml(settings));
    } catch (IOException e) {
      throw new CliException.RunFailure(
          "cannot write the run directory under " + rootDir + ": " + e.getMessage(), e);
    }
    List<String> files = new ArrayList<>(List.of("config.yaml"));
    StepImages steps =
        settings.saveIntermediate() && images.isPresent()
            ? new StepImages(dir, images.get(), files)
            : null;
    SearchListener listener =
        new SearchListener() {
          @Override
          public void onProgress(long nfe, long maxNfe) {
            progress.onProgress(nfe, maxNfe);
          }

          @Override
          public boolean wantsIntermediates() {
            return steps != null;
          }

          @Override
          public void onStep(int step, double time, float[] tweedies, int rows, double[] rewards) {
            if (steps != null) {
              steps.write(step, time, tweedies, rows, rewards);
            }
          }
        };
    OffsetDateTime started = OffsetDateTime.now();
    long t0 = System.nanoTime();
    SearchResult result;
    try {
      result = method.run(settings.search(), ops, model, reward, listener);
    } catch (UncheckedIOException e) {
      throw new CliException.RunFailure(
          "writing intermediate images to " + dir.path() + " failed: " + e.getCause().getMessage(),
          e);
    } catch (RuntimeException | StackOverflowError e) {
      throw new CliException.RunFailure(
          e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + Text.oneLine(e.getMessage()))
              + " (what was written so far is in "
              + dir.path()
              + ")",
          e);
    }
    long wall = System.nanoTime() - t0;
    progress.finish(result.nfe());
    try {
      if (images.isPresent()) {
        ImageOutput io = images.get();
        dir.write("final.png", out -> io.writeSample(out, result.sample()));
        files.add("final.png");
      }
      files.add("report.json");
      dir.writeString(
          "report.json",
          RunReport.json(settings, result, ops.name(), started, wall, List.copyOf(files)));
    } catch (IOException e) {
      throw new CliException.RunFailure(
          "cannot write the outputs to " + dir.path() + ": " + e.getMessage(), e);
    }
    return new Outcome(dir.path(), result, List.copyOf(files));
  }

  /** The resolved config as YAML, headed by where it came from. */
  static String configYaml(RunSettings s) {
    return "# flowscale "
        + Version.FLOWSCALE
        + ": the resolved config of this run; `flowscale run --config config.yaml` repeats it"
        + " (with save_now: true)\n"
        + ConfigYaml.dump(new java.util.LinkedHashMap<>(s.resolved()));
  }

  /** One line for stdout after a run. */
  static String summary(Outcome o) {
    SearchResult r = o.result();
    return String.format(
        Locale.ROOT,
        "flowscale: %s spent %d of %d NFE, best reward %s; wrote %s (%s)",
        r.method().configName(),
        r.nfe(),
        r.maxNfe(),
        Double.isFinite(r.reward()) ? String.format(Locale.ROOT, "%.4f", r.reward()) : r.reward(),
        o.directory(),
        shortList(o.files()));
  }

  /** The run's files, with the step grids counted rather than listed. */
  private static String shortList(List<String> files) {
    List<String> top = files.stream().filter(f -> !f.startsWith("steps/")).toList();
    long steps = files.size() - top.size();
    return String.join(", ", top) + (steps > 0 ? ", steps/ with " + steps + " grids" : "");
  }

  private static ModelFactory modelFactory(String name) {
    for (ModelFactory f : ServiceLoader.load(ModelFactory.class)) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    throw new CliException.ConfigError("unknown model '" + name + "'");
  }

  private static RewardFactory rewardFactory(String name) {
    for (RewardFactory f : ServiceLoader.load(RewardFactory.class)) {
      if (f.names().contains(name)) {
        return f;
      }
    }
    throw new CliException.ConfigError("unknown reward_score '" + name + "'");
  }

  /** Work that may refuse the config with an IllegalArgumentException. */
  @FunctionalInterface
  private interface Refusable<T> {
    T get();
  }

  /**
   * Runs {@code work}, turning its refusal into a config error.
   *
   * @param unavailableToo whether an IllegalStateException also refuses (a backend that exists but
   *     cannot run on this machine, a reward server that is not up: nothing ran yet, so it is the
   *     config's choice that fails)
   */
  private static <T> T refuse(Refusable<T> work, String prefix, boolean unavailableToo) {
    try {
      return work.get();
    } catch (IllegalArgumentException e) {
      throw new CliException.ConfigError(prefix + Text.oneLine(e.getMessage()), e);
    } catch (IllegalStateException e) {
      if (unavailableToo) {
        throw new CliException.ConfigError(prefix + Text.oneLine(e.getMessage()), e);
      }
      throw e;
    }
  }

  private static void refuse(Runnable work, String prefix) {
    refuse(
        () -> {
          work.run();
          return null;
        },
        prefix,
        false);
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      // closing after a failure: the first error is the one to report
    }
  }

  @Override
  public void close() {
    closeQuietly(reward);
    closeQuietly(weighted);
    closeQuietly(model);
    closeQuietly(ops);
  }
}
