package org.flowscale.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flowscale.api.batch.Shard;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * A Kubernetes Indexed Job that runs a batch: {@code shards} pods, pod {@code i} running shard
 * {@code i} (its {@code JOB_COMPLETION_INDEX}) with {@code gpus} GPUs, all writing into one batch
 * folder on a shared volume that also holds the weights. A pod that fails or is preempted is
 * replaced with the same index and resumes (done items are skipped); Kubernetes is the scheduler.
 *
 * @param name the Job's name
 * @param image the container image; it must have {@code flowscale} on its PATH
 * @param shards completions (and parallelism)
 * @param gpus {@code nvidia.com/gpu} per pod, each a worker
 * @param claim the PersistentVolumeClaim of the shared volume (ReadWriteMany for several nodes)
 * @param mount where the volume is mounted, also the working directory
 * @param batchArgs the batch's own arguments (config, prompts, out, seeds, overrides), as paths
 *     inside the pod
 */
record KubernetesJob(
    String name,
    String image,
    int shards,
    int gpus,
    String claim,
    String mount,
    List<String> batchArgs) {

  /** Retries per index before the index counts as failed. */
  static final int BACKOFF_PER_INDEX = 3;

  /** The manifest as YAML, headed by comments saying how to use it. */
  String yaml() {
    Map<String, Object> env = new LinkedHashMap<>();
    env.put("name", Shard.K8S_INDEX);
    env.put(
        "valueFrom",
        Map.of(
            "fieldRef",
            Map.of(
                "fieldPath", "metadata.annotations['batch.kubernetes.io/job-completion-index']")));

    List<String> args = new ArrayList<>();
    args.add("batch");
    args.addAll(batchArgs);
    args.add("--shards");
    args.add(Integer.toString(shards));
    args.add("--gpus");
    args.add(gpuList(gpus));
    args.add("--progress");
    args.add("lines");

    Map<String, Object> container = new LinkedHashMap<>();
    container.put("name", "flowscale");
    container.put("image", image);
    container.put("command", List.of("flowscale"));
    container.put("args", args);
    container.put("workingDir", mount);
    container.put("env", List.of(env));
    container.put("resources", Map.of("limits", Map.of("nvidia.com/gpu", gpus)));
    container.put("volumeMounts", List.of(Map.of("name", "data", "mountPath", mount)));

    Map<String, Object> podSpec = new LinkedHashMap<>();
    podSpec.put("restartPolicy", "Never");
    podSpec.put("containers", List.of(container));
    podSpec.put(
        "volumes",
        List.of(Map.of("name", "data", "persistentVolumeClaim", Map.of("claimName", claim))));

    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put("completionMode", "Indexed");
    spec.put("completions", shards);
    spec.put("parallelism", shards);
    spec.put("backoffLimitPerIndex", BACKOFF_PER_INDEX);
    spec.put("podReplacementPolicy", "Failed");
    spec.put("template", Map.of("spec", podSpec));

    Map<String, Object> job = new LinkedHashMap<>();
    job.put("apiVersion", "batch/v1");
    job.put("kind", "Job");
    job.put("metadata", Map.of("name", name, "labels", Map.of("app", "flowscale-batch")));
    job.put("spec", spec);

    DumperOptions o = new DumperOptions();
    o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    o.setIndent(2);
    o.setWidth(120);
    o.setSplitLines(false);
    String header =
        String.join(
            "\n",
            "# flowscale batch as a Kubernetes Indexed Job: "
                + shards
                + " pods, pod I runs shard I/"
                + shards
                + " ("
                + Shard.K8S_INDEX
                + ").",
            "# A pod that fails or is preempted is replaced with the same index"
                + " (podReplacementPolicy: Failed waits",
            "# until the old pod is gone, so one process runs each shard) and resumes:"
                + " done items are skipped.",
            "# The PersistentVolumeClaim '"
                + claim
                + "' (ReadWriteMany) holds the config, prompts, weights and outputs;",
            "# paths in the args are inside the pod, relative to " + mount + ".",
            "# backoffLimitPerIndex and podReplacementPolicy need Kubernetes 1.29 or later.",
            "# Apply: kubectl apply -f job.yaml; when every index succeeded:"
                + " flowscale summarize <the batch's --out>",
            "");
    return header + new Yaml(o).dump(job);
  }

  static String gpuList(int gpus) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < gpus; i++) {
      ids.add(Integer.toString(i));
    }
    return String.join(",", ids);
  }
}
