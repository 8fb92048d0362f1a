package org.flowscale.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.FlowscaleException;
import org.flowscale.api.Text;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code flowscale} command. Exit codes: 0 success (also a run stopped by its deadline), 2
 * nothing ran (bad usage or config, an unwritable root_dir, a model, reward or library that cannot
 * be loaded), 1 a failure during the run, 130/143 stopped by SIGINT/SIGTERM with the best sample so
 * far saved. Errors go to stderr as one message, with a stack trace only under {@code --debug}.
 */
@Command(
    name = "flowscale",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = "Inference-time scaling of flow models: search (RBF, BoN, SMC, CoDe, SVDD, DPS)",
    footer = {
      "",
      "Exit codes: 0 success, 2 nothing ran (bad usage or config, unwritable root_dir, a model"
          + " or library that cannot be loaded), 1 failure during the run, 130/143 stopped by"
          + " SIGINT/SIGTERM (partial results saved).",
      "Start with: flowscale demo"
    })
public final class Main implements Callable<Integer> {
  /** Success. */
  public static final int EXIT_OK = 0;

  /** A failure during the run. */
  public static final int EXIT_FAILURE = 1;

  /** Nothing ran: bad usage or config, or an input that cannot be loaded or written. */
  public static final int EXIT_USAGE = 2;

  @Option(
      names = "--debug",
      scope = ScopeType.INHERIT,
      description = "Show the stack trace of an error.")
  boolean debug;

  @Spec CommandSpec spec;

  final PrintStream out;
  final PrintStream err;

  Main(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /** No subcommand: show the usage (to stderr: it is a usage error). */
  @Override
  public Integer call() {
    err.println("flowscale: a command is missing");
    spec.commandLine().usage(err);
    return EXIT_USAGE;
  }

  public static void main(String[] args) {
    // The library logs loading and failures for services; a command prints its own one-line
    // messages (a logged failure would repeat the error on extra lines).
    if (!java.util.Arrays.asList(args).contains("--debug")) {
      QUIET.setLevel(java.util.logging.Level.SEVERE);
    }
    System.exit(execute(args, System.out, System.err));
  }

  /** Held so the level set on it is not lost to garbage collection. */
  private static final java.util.logging.Logger QUIET =
      java.util.logging.Logger.getLogger("org.flowscale");

  /**
   * The subcommands, in the order the usage lists them. They are registered here rather than in the
   * annotation so that a command line naming one builds only that one (see {@link
   * #subcommandsFor}).
   */
  static final List<Map.Entry<String, Supplier<Object>>> SUBCOMMANDS =
      List.of(
          Map.entry("demo", DemoCommand::new),
          Map.entry("run", RunCommand::new),
          Map.entry("batch", BatchCommand::new),
          Map.entry("serve", ServeCommand::new),
          Map.entry("summarize", SummarizeCommand::new),
          Map.entry("keys", KeysCommand::new));

  /**
   * The subcommands to build for {@code args}: only the one named when the arguments before it are
   * all {@code --debug} (then nothing else can be asked of the top command: not its usage, not
   * another subcommand), else all of them. picocli builds a command's model by reflection over its
   * annotations, in the interpreter on a cold start (its classes are Java 5 class files, which the
   * JDK's start-up cache does not keep): building one instead of six saves a few hundred
   * milliseconds of CPU per run.
   */
  static List<Map.Entry<String, Supplier<Object>>> subcommandsFor(String[] args) {
    for (String a : args) {
      if (a.equals("--debug")) {
        continue;
      }
      for (Map.Entry<String, Supplier<Object>> e : SUBCOMMANDS) {
        if (e.getKey().equals(a)) {
          return List.of(e);
        }
      }
      break;
    }
    return SUBCOMMANDS;
  }

  /** Runs the command line in this process; returns the exit code. */
  static int execute(String[] args, PrintStream out, PrintStream err) {
    Main main = new Main(out, err);
    CommandLine cl = new CommandLine(main);
    for (Map.Entry<String, Supplier<Object>> e : subcommandsFor(args)) {
      cl.addSubcommand(e.getKey(), e.getValue().get());
    }
    cl.setExpandAtFiles(false);
    cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    cl.setParameterExceptionHandler(
        (ex, argv) -> {
          String sub = ex.getCommandLine().getCommandName();
          String where = sub.equals("flowscale") ? "flowscale" : "flowscale " + sub;
          err.println(
              "flowscale: " + Text.oneLine(ex.getMessage()) + " (see '" + where + " --help')");
          if (main.debug) {
            ex.printStackTrace(err);
          }
          return EXIT_USAGE;
        });
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          report(ex, err, main.debug);
          return switch (ex) {
            case CliException c -> c.exitCode();
            case ConfigurationException c -> EXIT_USAGE;
            default -> EXIT_FAILURE;
          };
        });
    try {
      return cl.execute(args);
    } catch (RuntimeException | Error e) {
      // picocli lets Errors (and failures of its own) through; they get the same treatment.
      report(e, err, main.debug);
      return EXIT_FAILURE;
    }
  }

  private static void report(Throwable ex, PrintStream err, boolean debug) {
    String msg =
        switch (ex) {
          case CliException.ConfigError c -> c.getMessage();
          case ConfigurationException c -> c.getMessage();
          case FlowscaleException f -> "run failed: " + Text.oneLine(f.getMessage());
          case CliException.RunFailure f -> "run failed: " + Text.oneLine(f.getMessage());
          case OutOfMemoryError o ->
              "run failed: out of memory (give Java more with FLOWSCALE_JAVA_OPTS=-Xmx16g)";
          default ->
              "run failed: "
                  + ex.getClass().getSimpleName()
                  + (ex.getMessage() == null ? "" : ": " + Text.oneLine(ex.getMessage()));
        };
    boolean hint =
        !debug && !(ex instanceof CliException.ConfigError || ex instanceof ConfigurationException);
    err.println("flowscale: " + msg + (hint ? " (--debug shows the stack trace)" : ""));
    if (debug) {
      ex.printStackTrace(err);
    }
    err.flush();
  }
}
