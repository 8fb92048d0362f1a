package org.flowscale.cli;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.flowscale.api.FlowscaleConfig;
import org.flowscale.api.Pipeline;
import org.flowscale.api.Text;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code flowscale serve}: one pipeline behind an HTTP endpoint, for callers outside the JVM. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Serves generations over HTTP: POST /v1/generate, GET /v1/health.",
      "",
      "The config (and key=value overrides) says what to load (model, reward_score, backend)"
          + " and gives every request its defaults; a request is a JSON object of request keys"
          + " (text_prompt, filtering_method, max_nfe, seed, deadline_s, ...) and gets the report"
          + " and the PNG back. Binds to the loopback address unless --host says otherwise."
          + " SIGTERM or Ctrl-C drains running requests, then stops."
    },
    footer = {
      "",
      "Example:",
      "  flowscale serve --config config/toy/quantity_aware/rbf.yaml --port 8080",
      "  curl -s localhost:8080/v1/generate -H 'Content-Type: application/json' \\",
      "       -d '{\"text_prompt\": \"two red circles\", \"seed\": 3}'"
    })
final class ServeCommand implements Callable<Integer> {
  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "The server's YAML config (default: the built-in defaults: toy world, RBF).")
  Path config;

  @Parameters(paramLabel = "key=value", description = "Overrides of config keys.")
  List<String> overrides = new ArrayList<>();

  @Option(
      names = "--host",
      paramLabel = "ADDRESS",
      defaultValue = "127.0.0.1",
      description = "The address to listen on (default: ${DEFAULT-VALUE}, this machine only).")
  String host;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "8080",
      description = "The port (default: ${DEFAULT-VALUE}; 0: any free port).")
  int port;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      defaultValue = "1",
      description = "Generations that run at once (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(
      names = "--queue",
      paramLabel = "N",
      defaultValue = "16",
      description =
          "Requests that may wait beyond those running (default: ${DEFAULT-VALUE}); more are"
              + " answered 429 with Retry-After.")
  int queue;

  @Option(
      names = "--max-deadline",
      paramLabel = "SECONDS",
      defaultValue = "300",
      description =
          "The longest a request may run, waiting included (default: ${DEFAULT-VALUE}); a"
              + " request's deadline_s can only be shorter.")
  double maxDeadline;

  @Option(
      names = "--grace",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description =
          "On SIGTERM, how long running requests may finish before they are cancelled"
              + " (default: ${DEFAULT-VALUE}).")
  double grace;

  @ParentCommand Main main;

  @Override
  public Integer call() throws InterruptedException {
    check(port >= 0 && port <= 65535, "--port must be in [0, 65535], got " + port);
    check(
        concurrency >= 1 && concurrency <= 1024,
        "--concurrency must be in [1, 1024], got " + concurrency);
    check(queue >= 0 && queue <= 100_000, "--queue must be in [0, 100000], got " + queue);
    check(maxDeadline > 0 && maxDeadline <= 86_400, "--max-deadline must be in (0, 86400] s");
    check(grace >= 0 && grace <= 3_600, "--grace must be in [0, 3600] s");
    InetAddress address = resolve(host);
    FlowscaleConfig cfg =
        config == null
            ? FlowscaleConfig.of(Map.of()).withOverrides(overrides)
            : FlowscaleConfig.loadWithoutPrompt(config, overrides);
    if (!address.isLoopbackAddress()) {
      main.err.println(
          "flowscale: warning: --host "
              + host
              + " is not a loopback address: anyone who can reach this machine can run"
              + " generations (the server has no authentication)");
    }
    Server.Settings settings =
        new Server.Settings(host, port, queue, seconds(maxDeadline), seconds(grace));
    CountDownLatch cleaned = new CountDownLatch(1);
    try (Pipeline pipeline = Pipeline.fromConfig(cfg, concurrency)) {
      Server server;
      try {
        server = Server.start(pipeline, cfg, settings);
      } catch (IOException e) {
        throw new CliException.RunFailure(
            "cannot listen on " + host + ":" + port + ": " + Text.oneLine(e.getMessage()), e);
      }
      Thread hook =
          new Thread(
              () -> {
                main.err.println(
                    "flowscale: stopping: running requests get up to "
                        + fmt(grace)
                        + " s to finish");
                server.shutdown(settings.grace());
                try {
                  cleaned.await(60, TimeUnit.SECONDS); // let the main thread close the pipeline
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "flowscale-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      main.err.println(
          "flowscale: serving model "
              + pipeline.modelName()
              + ", reward "
              + pipeline.rewardName()
              + " on "
              + pipeline.backend()
              + " at "
              + url(server.address())
              + " (concurrency "
              + concurrency
              + ", queue "
              + queue
              + "): POST /v1/generate, GET /v1/health; SIGTERM or Ctrl-C stops");
      server.awaitStopped();
    } finally {
      cleaned.countDown();
    }
    main.err.println("flowscale: stopped");
    main.err.flush();
    return Main.EXIT_OK;
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new CliException.ConfigError(message);
    }
  }

  private static InetAddress resolve(String host) {
    try {
      return InetAddress.getByName(host);
    } catch (UnknownHostException e) {
      throw new CliException.ConfigError("--host " + Text.quote(host) + " is not a known address");
    }
  }

  private static Duration seconds(double s) {
    return Duration.ofNanos(Math.round(s * 1e9));
  }

  private static String fmt(double s) {
    return s == Math.rint(s) ? Long.toString((long) s) : String.format(Locale.ROOT, "%.3f", s);
  }

  static String url(InetSocketAddress a) {
    InetAddress ip = a.getAddress();
    String h = ip instanceof Inet6Address ? "[" + ip.getHostAddress() + "]" : ip.getHostAddress();
    return "http://" + h + ":" + a.getPort();
  }
}
