package org.flowscale.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.flowscale.api.Text;
import org.flowscale.api.batch.BatchSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code flowscale summarize DIR}: rebuilds a batch folder's summary from its item directories. */
@Command(
    name = "summarize",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Rebuilds a batch folder's summary from its item directories.",
      "",
      "Writes DIR/summary.csv (one row per item: prompt, seed, method, reward, NFE, time,"
          + " status), summary_methods.csv (mean and standard error of the reward per method and"
          + " budget, over completed items), summary.json (both) and, when several budgets ran,"
          + " reward_vs_nfe.png. Use it once shards that ran on different machines have written"
          + " (or been copied) into one folder."
    })
final class SummarizeCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "DIR", description = "The batch folder (batch --out).")
  Path dir;

  @ParentCommand Main main;

  @Override
  public Integer call() {
    BatchSummary summary;
    try {
      summary = BatchSummary.read(dir);
      summary.write(dir);
    } catch (IOException e) {
      throw new CliException.RunFailure(
          "cannot summarize " + dir + ": " + Text.oneLine(e.getMessage()), e);
    }
    main.out.print(summary.table());
    main.out.println(
        "flowscale: wrote "
            + dir.resolve(BatchSummary.CSV)
            + " ("
            + BatchCommand.counts(summary)
            + (summary.severalBudgets() ? "; plot " + BatchSummary.PLOT : "")
            + ")");
    return Main.EXIT_OK;
  }
}
