package org.flowscale.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.flowscale.api.Text;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random strings as overrides: every one is refused with exit code 2 and a one-line message, never
 * a stack trace. Seeded, so a failure repeats.
 */
class OverridesFuzzTest {
  private static final String ALPHABET =
      "abcqz_=-=.:,[]{}'\"#&*!|>%@`?  \t\n\r\\/0123456789eE+~\u00e9\u6f22\u0000\u202e\ud83d\ude00";

  /** Keys whose values are typed (so a value holding 'q' or 'z' can never be valid). */
  private static final List<String> TYPED_KEYS =
      List.of(
          "batch_size",
          "max_nfe",
          "seed",
          "max_steps",
          "save_now",
          "diffusion_norm",
          "ess_threshold",
          "filtering_method",
          "sample_method",
          "convert_scheduler",
          "height");

  @TempDir Path tmp;

  private static String random(Random rnd, int maxLength) {
    int n = rnd.nextInt(maxLength + 1);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      int idx = rnd.nextInt(ALPHABET.length());
      char c = ALPHABET.charAt(idx);
      if (Character.isHighSurrogate(c) && idx + 1 < ALPHABET.length()) {
        b.append(c).append(ALPHABET.charAt(idx + 1));
      } else if (!Character.isLowSurrogate(c)) {
        b.append(c);
      }
    }
    return b.toString();
  }

  @Test
  void randomOverridesExitTwoWithOneMessage() throws IOException {
    Path config = tmp.resolve("c.yaml");
    Files.writeString(config, "text_prompt: p\nmodel: test_gaussian\nreward_score: test_norm\n");
    Random rnd = new Random(20261127L);
    for (int i = 0; i < 300; i++) {
      String arg =
          switch (i % 3) {
            case 0 -> random(rnd, 24);
            case 1 -> random(rnd, 6) + "=" + random(rnd, 12);
            default -> {
              String v = random(rnd, 10);
              int at = rnd.nextInt(v.length() + 1);
              String junk = rnd.nextBoolean() ? "q" : "z";
              yield TYPED_KEYS.get(rnd.nextInt(TYPED_KEYS.size()))
                  + "="
                  + v.substring(0, at)
                  + junk
                  + v.substring(at);
            }
          };
      // After "--" every string is an override, whatever it starts with.
      Cli r =
          Cli.run(
              "run", "--config", config.toString(), "--dry-run", "--progress", "none", "--", arg);
      String what = "override " + Text.quote(arg) + ": " + r;
      assertEquals(2, r.code(), what);
      assertTrue(r.err().startsWith("flowscale: "), what);
      assertEquals(1, r.err().strip().lines().count(), "one line: " + what);
      assertFalse(r.hasStackTrace(), what);
      assertEquals("", r.out(), what);
    }
  }
}
