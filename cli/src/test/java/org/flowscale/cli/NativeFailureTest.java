package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.flowscale.api.GenerationRequest;
import org.flowscale.api.NativeException;
import org.flowscale.api.Pipeline;
import org.flowscale.bindings.torch.TorchShim;
import org.flowscale.engine.ops.NativeFailure;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real native failure (libtorch refusing a file) reaches a library user as a {@link
 * NativeException} with libtorch's own message, and the JVM carries on. Skipped without the shim,
 * unless {@code flowscale.torch.required} is set ({@code bin/test} sets it).
 */
class NativeFailureTest {
  @TempDir Path tmp;

  private static void needsShim() {
    try {
      TorchShim.get();
    } catch (RuntimeException e) {
      String why = "the libtorch shim is not available: " + e.getMessage();
      if (Boolean.getBoolean("flowscale.torch.required")) {
        Assertions.fail(why);
      }
      Assumptions.abort(why);
    }
  }

  @Test
  void libtorchRefusingTheModelFileIsANativeExceptionWithItsMessage() throws Exception {
    needsShim();
    Path corrupt = tmp.resolve("corrupt.pt");
    Files.writeString(corrupt, "not a TorchScript archive");
    Map<String, Object> settings =
        Map.of("model_path", corrupt.toString(), "sample_shape", List.of(3L, 2L, 2L));
    var e =
        assertThrows(
            NativeException.class,
            () -> Pipeline.builder().model("torchscript", settings).reward("counting").build());
    assertEquals("model", e.component());
    assertTrue(e.pipelineUsable(), "a refused file does not lose the device");
    assertTrue(e.partial().isEmpty(), "nothing ran");
    assertInstanceOf(NativeFailure.class, e.getCause());
    assertTrue(e.getMessage().startsWith("model 'torchscript' failed to load: "), e.getMessage());
    assertTrue(e.getMessage().contains("corrupt.pt"), "libtorch's message: " + e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    // the JVM and the library carry on
    try (Pipeline p = Pipeline.builder().model("toy").reward("counting").build()) {
      GenerationRequest r =
          GenerationRequest.builder()
              .prompt("one red circle")
              .method("bon")
              .chains(2)
              .steps(10)
              .maxNfe(20)
              .build();
      assertEquals(20, p.generate(r).nfe());
    }
  }
}
