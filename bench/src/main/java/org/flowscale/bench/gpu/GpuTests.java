package org.flowscale.bench.gpu;

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
 * Runs the CUDA test classes from the carried test jars without Maven (the GPU machine has neither
 * Maven nor a network). Prints one line per test and a summary; exits 1 on a failure, and with
 * {@code --require-gpu} also when any test was skipped (on the GPU machine a skip means the GPU was
 * not found).
 */
public final class GpuTests {
  private GpuTests() {}

  /** How the GPU tests word their assumption when no GPU is found. */
  static final String NEEDS_GPU = "needs a CUDA GPU";

  static final List<String> CLASSES =
      List.of(
          "org.flowscale.bindings.cuda.CudaDriverTest",
          "org.flowscale.bindings.cuda.CudaDriverGpuTest",
          "org.flowscale.kernels.PtxTest",
          "org.flowscale.kernels.CudaParticleOpsProviderTest",
          "org.flowscale.kernels.LaunchShapeTest",
          "org.flowscale.kernels.CudaParticleOpsTest",
          "org.flowscale.kernels.CudaLifetimeTest",
          "org.flowscale.kernels.CudaSearchTest");

  public static void main(String[] args) {
    boolean requireGpu = List.of(args).contains("--require-gpu");
    LauncherDiscoveryRequest request =
        LauncherDiscoveryRequestBuilder.request()
            .selectors(CLASSES.stream().map(c -> selectClass(c)).toList())
            .build();
    AtomicInteger skipped = new AtomicInteger();
    AtomicInteger gpuSkipped = new AtomicInteger();
    TestExecutionListener printer =
        new TestExecutionListener() {
          @Override
          public void executionSkipped(TestIdentifier id, String reason) {
            if (id.isTest()) {
              skipped.incrementAndGet();
            }
            System.out.println("SKIP " + name(id) + ": " + reason);
          }

          @Override
          public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            if (!id.isTest() && result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
              return;
            }
            String status =
                switch (result.getStatus()) {
                  case SUCCESSFUL -> "PASS";
                  case ABORTED -> "SKIP";
                  case FAILED -> "FAIL";
                };
            if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
              skipped.incrementAndGet();
              // Only skips for want of a GPU matter with --require-gpu; e.g. the no-driver
              // test is meant to skip on a GPU machine.
              String why = result.getThrowable().map(Throwable::getMessage).orElse("");
              if (why != null && why.contains(NEEDS_GPU)) {
                gpuSkipped.incrementAndGet();
              }
            }
            System.out.println(
                status
                    + " "
                    + name(id)
                    + result.getThrowable().map(t -> ": " + firstLine(t.getMessage())).orElse(""));
          }
        };
    SummaryGeneratingListener summary = new SummaryGeneratingListener();
    Launcher launcher = LauncherFactory.create();
    launcher.execute(request, printer, summary);
    PrintWriter out = new PrintWriter(System.out, true);
    summary.getSummary().printFailuresTo(out, 40);
    summary.getSummary().printTo(out);
    long failed = summary.getSummary().getTotalFailureCount();
    if (summary.getSummary().getTestsFoundCount() == 0) {
      System.out.println("GPU tests: no tests found (are the test jars in the bundle?)");
      System.exit(1);
    }
    if (failed > 0) {
      System.out.println("GPU tests: " + failed + " FAILED");
      System.exit(1);
    }
    if (requireGpu && gpuSkipped.get() > 0) {
      System.out.println(
          "GPU tests: "
              + gpuSkipped.get()
              + " skipped for want of a GPU, but --require-gpu was given");
      System.exit(1);
    }
    System.out.println("GPU tests: all passed (" + skipped.get() + " skipped)");
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.lines().findFirst().orElse("");
  }

  private static String name(TestIdentifier id) {
    String legacy = id.getLegacyReportingName();
    String parent =
        id.getParentId().map(p -> p.replaceAll(".*class:([^\\]]+)\\].*", "$1")).orElse("");
    int dot = parent.lastIndexOf('.');
    return (dot >= 0 ? parent.substring(dot + 1) : parent) + "." + legacy;
  }
}
