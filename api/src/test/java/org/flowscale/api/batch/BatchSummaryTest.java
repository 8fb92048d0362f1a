package org.flowscale.api.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.flowscale.api.ConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Summaries: statistics per method and budget, the files, and statuses read back from items. */
class BatchSummaryTest {
  @TempDir Path tmp;

  private static ItemRow row(String id, String method, long budget, double reward, String status) {
    return new ItemRow(id, "p " + id, 0, method, budget, budget, reward, 1.5, status, null);
  }

  @Test
  void meanAndStandardErrorPerMethodAndBudgetOverCompletedItems() {
    BatchSummary s =
        new BatchSummary(
            List.of(
                row("a", "rbf", 500, 1.0, "completed"),
                row("b", "rbf", 500, 2.0, "completed"),
                row("c", "rbf", 500, 6.0, "completed"),
                row("d", "rbf", 500, Double.NaN, "failed"),
                row("e", "bon", 50, -1.0, "completed"),
                row("f", "rbf", 50, 0.5, "completed")));
    assertEquals(3, s.groups().size());
    BatchSummary.Group rbf500 = s.groups().get(1);
    assertEquals("rbf", rbf500.method());
    assertEquals(500, rbf500.maxNfe());
    assertEquals(4, rbf500.items());
    assertEquals(3, rbf500.completed());
    assertEquals(1, rbf500.failed());
    assertEquals(3.0, rbf500.meanReward(), 1e-12);
    // sample sd of {1, 2, 6} = sqrt(7), se = sqrt(7 / 3)
    assertEquals(Math.sqrt(7.0 / 3.0), rbf500.seReward(), 1e-12);
    assertEquals(50, s.groups().get(0).maxNfe(), "budgets ascending within a method");
    assertTrue(Double.isNaN(s.groups().get(2).seReward()), "one item: no standard error");
    assertTrue(s.severalBudgets());
    assertTrue(s.table().contains("3.0000 +- 1.5275"), s.table());
  }

  @Test
  void writesCsvJsonAndAPlotWhenSeveralBudgetsRan() throws Exception {
    ItemRow tricky =
        new ItemRow(
            "x", "a \"quoted\", prompt", 3, "rbf", 500, 480, -0.1 - 0.2, 2.0, "completed", null);
    BatchSummary s = new BatchSummary(List.of(tricky, row("y", "rbf", 50, 0.25, "completed")));
    List<String> files = s.write(tmp);
    assertEquals(
        List.of("summary.csv", "summary_methods.csv", "summary.json", "reward_vs_nfe.png"), files);
    List<String> csv = Files.readAllLines(tmp.resolve("summary.csv"));
    assertEquals("id,prompt,seed,method,max_nfe,nfe,reward,time_s,status,error", csv.get(0));
    assertEquals(
        "x,\"a \"\"quoted\"\", prompt\",3,rbf,500,480,-0.30000000000000004,2.000,completed,",
        csv.get(1),
        "prompts quoted, rewards exact");
    JsonNode json = new ObjectMapper().readTree(tmp.resolve("summary.json").toFile());
    assertEquals(-0.1 - 0.2, json.get("rows").get(0).get("reward").asDouble());
    assertEquals(2, json.get("status_counts").get("completed").asInt());
    assertEquals(2, json.get("methods").size());
    BufferedImage plot = ImageIO.read(tmp.resolve("reward_vs_nfe.png").toFile());
    assertNotNull(plot);

    new BatchSummary(List.of(tricky)).write(tmp);
    assertFalse(Files.exists(tmp.resolve("reward_vs_nfe.png")), "a stale plot is removed");
  }

  @Test
  void aFolderThatIsNoBatchIsRefused() throws Exception {
    assertThrows(ConfigurationException.class, () -> BatchSummary.read(tmp.resolve("nope")));
    assertThrows(ConfigurationException.class, () -> BatchSummary.read(tmp));
  }

  @Test
  void statusesComeFromTheMarkerTheReportOrNothing() throws Exception {
    Path items = Files.createDirectories(tmp.resolve("items"));
    Path failed = Files.createDirectories(items.resolve("f"));
    Files.writeString(
        failed.resolve("item.json"),
        "{\"id\":\"f\",\"text_prompt\":\"p\",\"seed\":2,\"method\":\"bon\",\"max_nfe\":9}");
    Files.writeString(
        failed.resolve("report.json"),
        "{\"status\":\"failed\",\"error\":\"boom\",\"nfe\":3,\"best_reward\":-2.5}");
    Files.createDirectories(items.resolve("k")); // killed before writing anything
    Path running = Files.createDirectories(items.resolve("r"));
    Files.writeString(running.resolve("report.json"), "{\"status\":\"running\"}");
    List<ItemRow> rows = BatchSummary.read(tmp).rows();
    assertEquals(List.of("f", "k", "r"), rows.stream().map(ItemRow::id).toList());
    ItemRow f = rows.get(0);
    assertEquals("failed", f.status());
    assertEquals("boom", f.error());
    assertEquals(2, f.seed());
    assertEquals(-2.5, f.reward());
    assertEquals("incomplete", rows.get(1).status());
    assertEquals("incomplete", rows.get(2).status(), "a report still running: its process died");
  }
}
