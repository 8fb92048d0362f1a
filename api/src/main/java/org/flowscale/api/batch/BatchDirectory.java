package org.flowscale.api.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.flowscale.api.ConfigurationException;
import org.flowscale.api.Flowscale;
import org.flowscale.api.Text;

/**
 * A batch's output folder:
 *
 * <pre>
 * DIR/
 *   plans/KEY.json        the items of each plan run here (every shard writes the same file)
 *   items/ID/             one item: config.yaml, final.png, report.json (a run directory),
 *                         item.json (what the item is), done.json (the done marker, written last)
 *   summary.csv           one row per item
 *   summary_methods.csv   mean and standard error of the reward per method and budget
 *   summary.json          both, as JSON
 *   reward_vs_nfe.png     when several budgets were run
 * </pre>
 *
 * An item is done exactly when its {@code done.json} exists. Every file is written to a temporary
 * name, synced and renamed into place, so a crash leaves either the whole file or none; an item
 * directory without {@code done.json} is the remains of an unfinished attempt, removed and redone
 * by the next run.
 */
public final class BatchDirectory {
  /** The done marker. */
  public static final String DONE = "done.json";

  /** What an item is (written when it starts). */
  public static final String ITEM = "item.json";

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path root;

  private BatchDirectory(Path root) {
    this.root = root;
  }

  /**
   * Opens (and makes, when missing) a batch folder.
   *
   * @param root the folder
   * @return the batch folder
   * @throws ConfigurationException when it cannot be made or is not a folder
   */
  public static BatchDirectory create(Path root) {
    try {
      Files.createDirectories(root.resolve("items"));
      Files.createDirectories(root.resolve("plans"));
      return new BatchDirectory(root);
    } catch (FileAlreadyExistsException e) {
      throw new ConfigurationException(
          "the batch folder " + Text.quote(root.toString()) + " is not a folder (a file is there)");
    } catch (IOException e) {
      throw new ConfigurationException(
          "cannot make the batch folder "
              + Text.quote(root.toString())
              + ": "
              + Text.oneLine(e.getMessage()));
    }
  }

  /**
   * Opens an existing batch folder for reading.
   *
   * @param root the folder
   * @return the batch folder
   * @throws ConfigurationException when it holds no {@code items/} or {@code plans/}
   */
  public static BatchDirectory open(Path root) {
    if (!Files.isDirectory(root)) {
      throw new ConfigurationException(
          "the batch folder " + Text.quote(root.toString()) + " does not exist");
    }
    if (!Files.isDirectory(root.resolve("items")) && !Files.isDirectory(root.resolve("plans"))) {
      throw new ConfigurationException(
          Text.quote(root.toString())
              + " is not a batch folder: it holds no items/ or plans/ (give the --out of"
              + " 'flowscale batch')");
    }
    return new BatchDirectory(root);
  }

  /** {@return the folder} */
  public Path root() {
    return root;
  }

  /** {@return where items go: {@code root_dir} of every item's config} */
  public Path itemsDir() {
    return root.resolve("items");
  }

  /**
   * {@return one item's directory}
   *
   * @param id the item's id
   */
  public Path itemDir(String id) {
    return itemsDir().resolve(id);
  }

  /**
   * {@return whether the item finished (its done marker exists)}
   *
   * @param id the item's id
   */
  public boolean isDone(String id) {
    return Files.isRegularFile(itemDir(id).resolve(DONE), LinkOption.NOFOLLOW_LINKS);
  }

  /** The ids of every item directory, sorted. */
  List<String> itemIds() throws IOException {
    if (!Files.isDirectory(itemsDir())) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(itemsDir())) {
      return s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
          .map(p -> p.getFileName().toString())
          .filter(n -> !n.startsWith("."))
          .sorted()
          .toList();
    }
  }

  /** The plan files, sorted by name. */
  List<Path> planFiles() throws IOException {
    Path plans = root.resolve("plans");
    if (!Files.isDirectory(plans)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(plans)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
    }
  }

  /**
   * Records a plan's items in {@code plans/KEY.json}, so that a summary can tell items not yet
   * started from items that never existed. Equal plans write equal files, so shards writing at once
   * do no harm.
   */
  void writePlan(BatchPlan plan) throws IOException {
    Path file = root.resolve("plans").resolve(plan.key() + ".json");
    if (Files.exists(file)) {
      return;
    }
    ObjectNode n = JSON.createObjectNode();
    n.put("prompts", plan.prompts().path().toString());
    n.put("config", plan.config().source());
    ArrayNode seeds = n.putArray("seeds");
    plan.seeds().forEach(seeds::add);
    ArrayNode items = n.putArray("items");
    for (BatchItem i : plan.items()) {
      items.add(identity(i));
    }
    writeAtomically(file, JSON.writeValueAsString(n) + "\n");
  }

  /** What an item is, as {@code item.json} and plan entries hold it. */
  static ObjectNode identity(BatchItem i) {
    ObjectNode n = JSON.createObjectNode();
    n.put("id", i.id());
    n.put("line", i.line());
    n.put("text_prompt", i.prompt());
    n.put("seed", i.seed());
    n.put("method", i.method());
    n.put("max_nfe", i.maxNfe());
    return n;
  }

  /**
   * Removes what an unfinished attempt of the item left, so it can start afresh.
   *
   * @throws IllegalStateException when the item is done (it must never be redone)
   */
  void clearUnfinished(String id) throws IOException {
    if (isDone(id)) {
      throw new IllegalStateException("item " + id + " is done and is never redone");
    }
    Path dir = itemDir(id);
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(
        dir,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
              throws IOException {
            Files.delete(file);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
            if (e != null) {
              throw e;
            }
            Files.delete(d);
            return FileVisitResult.CONTINUE;
          }
        });
  }

  /** Writes {@code item.json} into a started item's directory. */
  void writeItem(BatchItem item, String shard, String worker) throws IOException {
    ObjectNode n = identity(item);
    n.put("shard", shard);
    n.put("worker", worker);
    n.put("flowscale", Flowscale.VERSION);
    writeAtomically(itemDir(item.id()).resolve(ITEM), JSON.writeValueAsString(n) + "\n");
  }

  /** Marks an item done: writes {@code done.json} (its summary row) last, atomically. */
  void markDone(ItemRow row, String shard, String worker) throws IOException {
    ObjectNode n = row.toJson();
    n.put("shard", shard);
    n.put("worker", worker);
    n.put("finished_at", java.time.OffsetDateTime.now().toString());
    Path target = itemDir(row.id()).resolve(DONE);
    writeAtomically(target, JSON.writeValueAsString(n) + "\n");
    syncDirectory(target.getParent());
  }

  /** A JSON file of an item, if it is there and readable. */
  Optional<JsonNode> readJson(String id, String name) {
    Path file = itemDir(id).resolve(name);
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      JsonNode n = JSON.readTree(file.toFile());
      return n != null && n.isObject() ? Optional.of(n) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Reads a plan file's items. */
  static List<JsonNode> planItems(Path plan) throws IOException {
    JsonNode n = JSON.readTree(plan.toFile());
    List<JsonNode> out = new ArrayList<>();
    if (n != null && n.get("items") instanceof ArrayNode a) {
      a.forEach(out::add);
    }
    return out;
  }

  /** Writes text to {@code target} through a synced temporary file renamed over it. */
  static void writeAtomically(Path target, String text) throws IOException {
    writeAtomically(target, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Writes bytes to {@code target} through a synced temporary file renamed over it. */
  static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(bytes));
        ch.force(true);
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Makes a rename durable (best effort: not every file system syncs folders). */
  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // the marker is written either way; only durability across a power loss is weaker
    }
  }
}
