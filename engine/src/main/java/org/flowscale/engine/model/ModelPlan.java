package org.flowscale.engine.model;

import java.util.List;

/**
 * What a model would load, checked without loading it ({@code --dry-run}): every file's names,
 * shapes and dtypes read from headers, and the memory each device would need.
 *
 * @param space the samples a reward would judge (a latent model's decoded images), so rewards can
 *     be checked against it
 * @param report lines for people: the parts found and the memory estimate per device
 */
public record ModelPlan(SampleSpace space, List<String> report) {
  public ModelPlan {
    report = List.copyOf(report);
  }
}
