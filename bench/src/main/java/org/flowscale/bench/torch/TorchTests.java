package org.flowscale.bench.torch;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * Runs the libtorch tests ({@code org.flowscale.bindings.torch}, from the bindings test jar in the
 * GPU bundle) without Maven, for {@code bench/gpu/torch-check.sh}. The tests read their settings
 * from system properties ({@code flowscale.shim}, {@code flowscale.torch.fixtures}, {@code
 * flowscale.torch.device}, {@code flowscale.torch.required}). Prints one line per test and a
 * summary; exits 1 when a test fails, was skipped, or none was found: on the GPU machine every one
 * must run.
 */
public final class TorchTests {
  private TorchTests() {}

  /**
   * The test classes, named: package scanning finds nothing in a shaded jar (it has no directory
   * entries to scan from).
   */
  static final List<String> CLASSES =
      List.of(
          "org.flowscale.bindings.torch.TorchShimLoadTest",
          "org.flowscale.bindings.torch.TorchScriptModelTest",
          "org.flowscale.bindings.torch.TorchErrorsTest",
          "org.flowscale.bindings.torch.TorchScriptFactoryTest",
          "org.flowscale.bindings.torch.TorchScriptSearchTest");

  /** Runs {@link #CLASSES}, or the test classes named as arguments (e.g. the FLUX tests). */
  public static void main(String[] args) {
    List<String> classes = args.length > 0 ? List.of(args) : CLASSES;
    LauncherDiscoveryRequest request =
        LauncherDiscoveryRequestBuilder.request()
            .selectors(classes.stream().map(c -> selectClass(c)).toList())
            .build();
    AtomicInteger skipped = new AtomicInteger();
    TestExecutionListener printer =
        new TestExecutionListener() {
          @Override
          public void executionSkipped(TestIdentifier id, String reason) {
            skipped.incrementAndGet();
            System.out.println("SKIP " + id.getDisplayName() + ": " + reason);
          }

          @Override
          public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            if (!id.isTest() && result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
              return;
            }
            if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
              skipped.incrementAndGet();
            }
            String status =
                switch (result.getStatus()) {
                  case SUCCESSFUL -> "PASS";
                  case ABORTED -> "SKIP";
                  case FAILED -> "FAIL";
                };
            String why =
                result
                    .getThrowable()
                    .map(t -> ": " + String.valueOf(t.getMessage()).lines().findFirst().orElse(""))
                    .orElse("");
            System.out.println(status + " " + id.getLegacyReportingName() + why);
          }
        };
    SummaryGeneratingListener summary = new SummaryGeneratingListener();
    Launcher launcher = LauncherFactory.create();
    launcher.execute(request, printer, summary);
    PrintWriter out = new PrintWriter(System.out, true);
    summary.getSummary().printFailuresTo(out, 30);
    summary.getSummary().printTo(out);
    long found = summary.getSummary().getTestsFoundCount();
    long failed = summary.getSummary().getTotalFailureCount();
    if (found == 0) {
      System.out.println("torch tests: none found (is the bindings test jar in the bundle?)");
      System.exit(1);
    } else if (failed > 0 || skipped.get() > 0) {
      System.out.println("torch tests: " + failed + " FAILED, " + skipped.get() + " skipped");
      System.exit(1);
    }
    System.out.println("torch tests: all " + found + " passed");
  }
}
