package org.flowscale.bindings.weights;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A model's weights in one or more safetensors files, looked up by tensor name: a single file
 * ({@code flux1-schnell.safetensors}), a sharded checkpoint through its index ({@code
 * model.safetensors.index.json}, whose {@code weight_map} names the shard of every tensor, as
 * Hugging Face writes T5-XXL), or a directory holding exactly one of either.
 *
 * <p>Every file is mapped and checked on {@link #open} (see {@link SafeTensors}); a shard index
 * whose shards are missing, or that names a tensor its shard lacks, and a tensor present in two
 * shards are errors naming the files. Closing the checkpoint unmaps every file.
 */
public final class Checkpoint implements AutoCloseable {
  private final Path source;
  private final List<SafeTensors> files;
  private final Map<String, SafeTensors> byName; // in file order, then data order

  private Checkpoint(Path source, List<SafeTensors> files, Map<String, SafeTensors> byName) {
    this.source = source;
    this.files = files;
    this.byName = byName;
  }

  /**
   * Opens a {@code .safetensors} file, a {@code *.safetensors.index.json} shard index, or a
   * directory with exactly one of either (an index wins over its own shards).
   *
   * @throws WeightsException naming the file and what is wrong
   */
  public static Checkpoint open(Path path) {
    Path p = path.toAbsolutePath().normalize();
    if (Files.isDirectory(p)) {
      return open(pick(p));
    }
    if (p.getFileName().toString().endsWith(".json")) {
      return openIndex(p);
    }
    SafeTensors f = SafeTensors.open(p);
    Map<String, SafeTensors> byName = new LinkedHashMap<>();
    for (String n : f.names()) {
      byName.put(n, f);
    }
    return new Checkpoint(p, List.of(f), byName);
  }

  private static Path pick(Path dir) {
    List<Path> indexes;
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> all = s.sorted().toList();
      indexes = all.stream().filter(f -> f.toString().endsWith(".safetensors.index.json")).toList();
      files = all.stream().filter(f -> f.toString().endsWith(".safetensors")).toList();
    } catch (IOException e) {
      throw new WeightsException(dir + ": cannot list: " + e.getMessage(), e);
    }
    if (indexes.size() == 1) {
      return indexes.get(0);
    }
    if (indexes.size() > 1) {
      throw new WeightsException(
          dir + " holds several shard indexes " + names(indexes) + ": name the one to use");
    }
    if (files.size() == 1) {
      return files.get(0);
    }
    if (files.isEmpty()) {
      throw new WeightsException(dir + " holds no .safetensors file");
    }
    throw new WeightsException(
        dir
            + " holds several .safetensors files "
            + names(files)
            + " and no *.safetensors.index.json: name the file to use");
  }

  private static String names(List<Path> paths) {
    return paths.stream().map(x -> x.getFileName().toString()).toList().toString();
  }

  private static Checkpoint openIndex(Path index) {
    Object root;
    try {
      root = Json.parse(Files.readString(index, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new WeightsException(index + ": cannot read: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new WeightsException(index + ": not valid JSON (" + e.getMessage() + ")");
    }
    if (!(root instanceof Map<?, ?> m) || !(m.get("weight_map") instanceof Map<?, ?> wm)) {
      throw new WeightsException(index + ": not a shard index (no \"weight_map\" object)");
    }
    Map<String, String> shardOf = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : wm.entrySet()) {
      if (!(e.getValue() instanceof String f)
          || f.isBlank()
          || f.contains("/")
          || f.contains("\\")) {
        throw new WeightsException(
            index
                + ": weight_map entry '"
                + e.getKey()
                + "' must name a shard file in the same directory, got "
                + e.getValue());
      }
      shardOf.put((String) e.getKey(), f);
    }
    if (shardOf.isEmpty()) {
      throw new WeightsException(index + ": weight_map is empty");
    }
    Map<String, SafeTensors> shards = new LinkedHashMap<>();
    try {
      for (String f : shardOf.values()) {
        if (!shards.containsKey(f)) {
          Path shard = index.resolveSibling(f);
          if (!Files.isRegularFile(shard)) {
            throw new WeightsException(index + " names shard " + f + ", which is missing");
          }
          shards.put(f, SafeTensors.open(shard));
        }
      }
      Map<String, SafeTensors> byName = new LinkedHashMap<>();
      for (SafeTensors s : shards.values()) {
        for (String n : s.names()) {
          SafeTensors other = byName.put(n, s);
          if (other != null) {
            throw new WeightsException(
                index
                    + ": tensor '"
                    + n
                    + "' is in two shards, "
                    + other.path().getFileName()
                    + " and "
                    + s.path().getFileName());
          }
        }
      }
      for (Map.Entry<String, String> e : shardOf.entrySet()) {
        SafeTensors s = shards.get(e.getValue());
        if (!s.contains(e.getKey())) {
          throw new WeightsException(
              index + " puts tensor '" + e.getKey() + "' in " + e.getValue() + ", which lacks it");
        }
      }
      return new Checkpoint(index, List.copyOf(shards.values()), byName);
    } catch (RuntimeException e) {
      for (SafeTensors s : shards.values()) {
        s.close();
      }
      throw e;
    }
  }

  /** What was opened: the file or the shard index. */
  public Path source() {
    return source;
  }

  /** The safetensors files, in the order the index names them (one for a single file). */
  public List<SafeTensors> files() {
    return files;
  }

  /** Every tensor name, file by file in data order (the order streaming reads them best). */
  public List<String> names() {
    return List.copyOf(byName.keySet());
  }

  /** Whether some file holds a tensor of that name. */
  public boolean contains(String name) {
    return byName.containsKey(name);
  }

  /**
   * The header entry of {@code name}.
   *
   * @throws WeightsException when no file holds it
   */
  public TensorInfo info(String name) {
    return file(name).info(name);
  }

  /** The file holding {@code name}. */
  public SafeTensors file(String name) {
    SafeTensors f = byName.get(name);
    if (f == null) {
      throw new WeightsException(source + " has no tensor '" + name + "'");
    }
    return f;
  }

  /** A read-only view of the raw bytes of {@code name} (see {@link SafeTensors#data}). */
  public MemorySegment data(String name) {
    return file(name).data(name);
  }

  /** The first file's {@code __metadata__} (an index's shards usually carry the same). */
  public Map<String, String> metadata() {
    return files.get(0).metadata();
  }

  /** Every tensor's header entry by name, in {@link #names()} order. */
  public Map<String, TensorInfo> infos() {
    Map<String, TensorInfo> out = new LinkedHashMap<>();
    for (Map.Entry<String, SafeTensors> e : byName.entrySet()) {
      out.put(e.getKey(), e.getValue().info(e.getKey()));
    }
    return Collections.unmodifiableMap(out);
  }

  /** Unmaps every file. Idempotent. */
  @Override
  public void close() {
    List<RuntimeException> errors = new ArrayList<>();
    for (SafeTensors f : files) {
      try {
        f.close();
      } catch (RuntimeException e) {
        errors.add(e);
      }
    }
    if (!errors.isEmpty()) {
      throw errors.get(0);
    }
  }

  @Override
  public String toString() {
    return "Checkpoint["
        + source
        + ", "
        + byName.size()
        + " tensors in "
        + files.size()
        + " file(s)]";
  }
}
