package org.flowscale.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.flowscale.engine.math.DiffusionCoefficient;
import org.flowscale.engine.math.SamplingScheme;
import org.flowscale.engine.model.Factories;
import org.flowscale.engine.model.Reward;
import org.flowscale.engine.model.VelocityModel;
import org.flowscale.engine.ops.cpu.CpuParticleOps;
import org.flowscale.engine.search.FilteringMethod;
import org.flowscale.engine.search.ParticleSchedule;
import org.flowscale.engine.search.RbfOutput;
import org.flowscale.engine.search.SearchConfig;
import org.flowscale.engine.search.SearchListener;
import org.flowscale.engine.search.SearchMethods;
import org.flowscale.engine.search.SearchResult;
import org.flowscale.engine.search.SopSettings;

/**
 * The paper's table on the toy world: search methods x sampling modes {linear ODE, linear SDE,
 * VP-SDE} x NFE budgets, mean and standard error of the final reward over prompts x seeds, for a
 * counting and a compositional prompt set, plus wall time per method. Prints markdown and writes
 * {@code paper-table.csv}, {@code paper-table.md} and {@code paper-table.png} to the output folder.
 *
 * <p>Settings follow the paper's (section 7 of MATH.md), scaled with the budget {@code N} at {@code
 * S = 10} steps on the exp time grid: BoN and SMC {@code N / S} particles; CoDe (block 2) and SVDD
 * 2 chains x {@code N / (2 S)} particles; RBF 2 chains with {@code K0 = N / 20} initial particles
 * (25 at 500 NFE, as in the paper), with the reference's {@code last_step} output and, as {@code
 * rbf-run_best}, the whole run's best; SMC and SVDD with the linear particle schedule (SMC one
 * population adding up to {@code N}, SVDD 2 chains of {@code N / 2}); Search over Paths one chain
 * of {@code floor((N - 4) / 16)} copies at the reference's rounds. The base row is one plain sample
 * ({@code S} NFE). SDE modes use the paper's diffusion, {@code square} with norm 3. SMC's {@code
 * reward_weight} is 1 for counting (integer rewards) and 0.1 for compositional (rewards in [0, 1],
 * like VQAScore). The DPS methods are left out: the counting and compositional rewards are not
 * differentiable.
 *
 * <p>Usage: {@code PaperTable [--out DIR] [--prompts N] [--seeds N] [--nfe 50,500,1000] [--threads
 * N]}. Runs are independent and deterministic, so the threads change only the time.
 */
public final class PaperTable {
  private static final int STEPS = 10;

  /**
   * Quantity prompts: high counts and two facts, which plain sampling of the toy world rarely
   * satisfies (base rewards of about -2.5 to -14 at 10 NFE), so the search has room to work.
   */
  static final List<String> COUNTING =
      List.of(
          "three red circles and two blue squares",
          "four blue circles and two yellow squares",
          "five yellow circles",
          "six red squares",
          "one red circle and two blue squares and three green triangles",
          "four green triangles",
          "two green circles and three yellow triangles",
          "three blue triangles and three red circles");

  /**
   * Two-fact compositional prompts (the toy model's beta is calibrated to a base of about 0.73).
   */
  static final List<String> COMPOSITIONAL =
      List.of(
          "two blue squares and one red circle",
          "one green triangle and one yellow circle",
          "two red triangles and one blue circle",
          "one yellow square and two green circles",
          "one red square and one blue triangle",
          "two green squares and one yellow triangle",
          "one blue circle and two red squares",
          "one yellow triangle and one green square");

  /** A sampling mode of the table. */
  record Mode(String label, SamplingScheme scheme) {}

  static final List<Mode> MODES =
      List.of(
          new Mode("linear ODE", SamplingScheme.linearOde()),
          new Mode("linear SDE", SamplingScheme.linearSde(DiffusionCoefficient.SQUARE, 3)),
          new Mode("VP-SDE", SamplingScheme.vpSde(DiffusionCoefficient.SQUARE, 3)));

  /** A prompt set with its reward. */
  record PromptSet(String reward, List<String> prompts, double smcLambda) {}

  /**
   * Table rows: the base sample, then the methods; {@code -linear} is the adaptive particle
   * schedule, {@code rbf-run_best} RBF with the whole run's best proposal as output (the engine's
   * rule before the reference's {@code last_step} became the default).
   */
  static final List<String> ROWS =
      List.of(
          "base",
          "bon",
          "smc",
          "smc-linear",
          "code",
          "svdd",
          "svdd-linear",
          "rbf",
          "rbf-run_best",
          "sop");

  /** The config of one table cell's runs. */
  static SearchConfig config(String row, long nfe, Mode mode, PromptSet set, long seed) {
    int b;
    int k = 1;
    int block = 1;
    int k0 = 1;
    FilteringMethod m;
    long budget = nfe;
    ParticleSchedule schedule = ParticleSchedule.CONSTANT;
    RbfOutput output = RbfOutput.LAST_STEP;
    switch (row) {
      case "base" -> {
        m = FilteringMethod.BON;
        b = 1;
        budget = STEPS;
      }
      case "bon", "smc" -> {
        m = FilteringMethod.byName(row);
        b = (int) (nfe / STEPS);
      }
      case "smc-linear" -> {
        m = FilteringMethod.SMC;
        b = 1;
        schedule = ParticleSchedule.LINEAR;
      }
      case "code", "svdd" -> {
        m = FilteringMethod.byName(row);
        b = 2;
        k = (int) Math.max(1, nfe / (2 * STEPS));
        block = row.equals("code") ? 2 : 1;
      }
      case "svdd-linear" -> {
        m = FilteringMethod.SVDD;
        b = 2;
        schedule = ParticleSchedule.LINEAR;
      }
      case "rbf", "rbf-run_best" -> {
        m = FilteringMethod.RBF;
        b = 2;
        k0 = (int) Math.max(1, nfe / 20);
        output = row.equals("rbf") ? RbfOutput.LAST_STEP : RbfOutput.RUN_BEST;
      }
      case "sop" -> {
        // The reference's rounds (E 4, 4 rounds): one chain, as many copies as fit.
        m = FilteringMethod.SOP;
        b = 1;
        SopSettings d = SopSettings.DEFAULT;
        k = (int) Math.max(1, (nfe - d.odeStep()) / (d.odeStep() * d.rounds()));
      }
      default -> throw new IllegalArgumentException("unknown row " + row);
    }
    return SearchConfig.builder()
        .method(m)
        .batchSize(b)
        .nParticles(k)
        .blockSize(block)
        .initNParticles(k0)
        .maxNfe(budget)
        .maxSteps(STEPS)
        .scheme(mode.scheme())
        .rewardWeight(set.smcLambda())
        .dpsStepSize(0)
        .seed(seed)
        .particleSchedule(schedule)
        .rbfOutput(output)
        .build();
  }

  /** One run's outcome; {@code outputTime} is the time of the output's Tweedie estimate. */
  record Outcome(double reward, long nfe, long nanos, double outputTime) {}

  /** One cell: all runs of a (set, row, mode, nfe). */
  record Cell(String set, String row, String mode, long nfe, List<Outcome> runs) {
    double mean() {
      return runs.stream().mapToDouble(Outcome::reward).average().orElse(Double.NaN);
    }

    double se() {
      int n = runs.size();
      if (n < 2) {
        return Double.NaN;
      }
      double m = mean();
      double ss = runs.stream().mapToDouble(o -> (o.reward() - m) * (o.reward() - m)).sum();
      return Math.sqrt(ss / (n - 1) / n);
    }

    double meanNfe() {
      return runs.stream().mapToLong(Outcome::nfe).average().orElse(Double.NaN);
    }

    double meanOutputTime() {
      return runs.stream().mapToDouble(Outcome::outputTime).average().orElse(Double.NaN);
    }

    double meanMillis() {
      return runs.stream().mapToLong(Outcome::nanos).average().orElse(Double.NaN) / 1e6;
    }
  }

  static Outcome runOne(SearchConfig c, String rewardName, String prompt) {
    VelocityModel model = Factories.model("toy").create(Map.of(), prompt);
    try (model;
        Reward reward = Factories.reward(rewardName).create(rewardName, Map.of(), prompt, model);
        CpuParticleOps ops = new CpuParticleOps()) {
      long t0 = System.nanoTime();
      SearchResult r = SearchMethods.of(c.method()).run(c, ops, model, reward, SearchListener.NONE);
      return new Outcome(r.reward(), r.nfe(), System.nanoTime() - t0, r.outputTime());
    }
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of("outputs", "paper-table");
    int prompts = 4;
    int seeds = 2;
    long[] budgets = {50, 500, 1000};
    int threads = 1;
    for (int i = 0; i < args.length; i++) {
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--out" -> out = Path.of(need(args[i], v));
        case "--prompts" -> prompts = Integer.parseInt(need(args[i], v));
        case "--seeds" -> seeds = Integer.parseInt(need(args[i], v));
        case "--nfe" ->
            budgets =
                Arrays.stream(need(args[i], v).split(",")).mapToLong(Long::parseLong).toArray();
        case "--threads" -> threads = Integer.parseInt(need(args[i], v));
        case "-h", "--help" -> {
          System.out.println(
              "usage: paper-table [--out DIR] [--prompts N<=8] [--seeds N] [--nfe 50,500,1000]"
                  + " [--threads N]");
          return;
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
      i++;
    }
    if (prompts < 1 || prompts > COUNTING.size() || seeds < 1 || threads < 1) {
      throw new IllegalArgumentException(
          "--prompts must be in 1.." + COUNTING.size() + ", --seeds and --threads >= 1");
    }
    List<PromptSet> sets =
        List.of(
            new PromptSet("counting", COUNTING.subList(0, prompts), 1.0),
            new PromptSet("compositional", COMPOSITIONAL.subList(0, prompts), 0.1));
    List<Cell> cells = run(sets, budgets, seeds, threads);
    String md = markdown(cells, sets, budgets, prompts, seeds);
    System.out.println(md);
    Files.createDirectories(out);
    Files.writeString(out.resolve("paper-table.md"), md, StandardCharsets.UTF_8);
    writeCsv(cells, out.resolve("paper-table.csv"));
    Chart.write(cells, sets, budgets, out.resolve("paper-table.png"));
    System.out.println("wrote " + out.toAbsolutePath() + "/paper-table.{md,csv,png}");
  }

  private static String need(String opt, String v) {
    if (v == null) {
      throw new IllegalArgumentException(opt + " needs a value");
    }
    return v;
  }

  static List<Cell> run(List<PromptSet> sets, long[] budgets, int seeds, int threads)
      throws InterruptedException, ExecutionException {
    record Job(String set, String row, Mode mode, long nfe, Future<Outcome> f) {}
    List<Job> jobs = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      for (PromptSet set : sets) {
        for (String row : ROWS) {
          for (Mode mode : MODES) {
            for (long nfe : budgets) {
              for (String prompt : set.prompts()) {
                for (int s = 0; s < seeds; s++) {
                  SearchConfig c = config(row, nfe, mode, set, 1000L + s);
                  jobs.add(
                      new Job(
                          set.reward(),
                          row,
                          mode,
                          nfe,
                          pool.submit(() -> runOne(c, set.reward(), prompt))));
                }
              }
            }
          }
        }
      }
      Map<String, Cell> cells = new LinkedHashMap<>();
      int done = 0;
      for (Job j : jobs) {
        Outcome o = j.f().get();
        cells
            .computeIfAbsent(
                j.set() + "|" + j.row() + "|" + j.mode().label() + "|" + j.nfe(),
                key -> new Cell(j.set(), j.row(), j.mode().label(), j.nfe(), new ArrayList<>()))
            .runs()
            .add(o);
        if (++done % 50 == 0) {
          System.err.printf("%d / %d runs%n", done, jobs.size());
        }
      }
      return new ArrayList<>(cells.values());
    } finally {
      pool.shutdownNow();
    }
  }

  static Cell find(List<Cell> cells, String set, String row, String mode, long nfe) {
    for (Cell c : cells) {
      if (c.set().equals(set) && c.row().equals(row) && c.mode().equals(mode) && c.nfe() == nfe) {
        return c;
      }
    }
    return null;
  }

  static String markdown(
      List<Cell> cells, List<PromptSet> sets, long[] budgets, int prompts, int seeds) {
    StringBuilder sb = new StringBuilder();
    for (PromptSet set : sets) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%n**%s** reward, mean ± standard error over %d prompts x %d seeds (%d runs per"
                  + " cell)%n%n",
              set.reward(),
              prompts,
              seeds,
              prompts * seeds));
      sb.append("| method |");
      for (Mode m : MODES) {
        for (long n : budgets) {
          sb.append(' ').append(m.label()).append(" @").append(n).append(" |");
        }
      }
      sb.append(" wall s |\n|---|");
      sb.append("---|".repeat(MODES.size() * budgets.length)).append("---|\n");
      for (String row : ROWS) {
        sb.append("| ").append(row.equals("base") ? "base (1 sample)" : row).append(" |");
        double wall = 0;
        for (Mode m : MODES) {
          for (long n : budgets) {
            Cell c = find(cells, set.reward(), row, m.label(), n);
            sb.append(String.format(Locale.ROOT, " %.3f ± %.3f |", c.mean(), c.se()));
            wall += c.runs().stream().mapToLong(Outcome::nanos).sum() / 1e9;
          }
        }
        sb.append(String.format(Locale.ROOT, " %.1f |%n", wall));
      }
    }
    sb.append(
        "\nwall s: the method's summed run time over the whole row (all modes and budgets). The"
            + " base row is one sample at 10 NFE in every column. sop's solves are ODEs in every"
            + " mode (its linear ODE and linear SDE columns are the same runs' settings) and it"
            + " spends B E + B K E R <= N (36 of 50, 500 of 500, 996 of 1000).\n");
    return sb.toString();
  }

  static void writeCsv(List<Cell> cells, Path file) throws IOException {
    try (PrintStream p = new PrintStream(Files.newOutputStream(file), false, "UTF-8")) {
      p.println(
          "prompt_set,method,mode,nfe_budget,runs,mean_reward,se_reward,mean_nfe_spent,mean_wall_ms,"
              + "mean_output_time");
      for (Cell c : cells) {
        p.printf(
            Locale.ROOT,
            "%s,%s,%s,%d,%d,%.6f,%.6f,%.1f,%.2f,%.4f%n",
            c.set(),
            c.row(),
            c.mode(),
            c.nfe(),
            c.runs().size(),
            c.mean(),
            c.se(),
            c.meanNfe(),
            c.meanMillis(),
            c.meanOutputTime());
      }
    }
  }
}
