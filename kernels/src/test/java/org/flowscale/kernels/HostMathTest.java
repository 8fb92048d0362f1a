package org.flowscale.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.flowscale.engine.ops.DType;
import org.flowscale.engine.rng.BoxMullerF32;
import org.flowscale.engine.rng.Philox;
import org.flowscale.engine.testing.BoxMullerEdges;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The kernels' Philox, Box-Muller and bfloat16 code, compiled by nvcc for the host (the same source
 * as the PTX) and compared with the Java reference: catches a wrong draw on machines without a GPU.
 * Skipped (visibly) without nvcc.
 */
class HostMathTest {
  private static Path binary;

  @BeforeEach
  void compileOnce() throws Exception {
    String nvcc = PtxTest.nvcc();
    assumeTrue(nvcc != null, "no nvcc here: the kernels' host build cannot be checked");
    if (binary != null) {
      return;
    }
    Path dir = Path.of("target", "host-check");
    Files.createDirectories(dir);
    Path out = dir.resolve("host_check");
    Process p =
        new ProcessBuilder(
                nvcc,
                "-O2",
                "-arch=sm_90",
                // float as the device rounds it (and as Java does): no FMA contraction on the host
                "-Xcompiler",
                "-ffp-contract=off",
                "-o",
                out.toString(),
                "src/test/cuda/host_check.cu")
            .redirectErrorStream(true)
            .start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nvcc timed out");
    assertEquals(0, p.exitValue(), () -> "nvcc failed on host_check.cu:\n" + log);
    binary = out;
  }

  private static List<String> ask(List<String> queries) throws IOException, InterruptedException {
    // Queries go through a file: writing them to a pipe while the answers fill the other pipe
    // would deadlock.
    Path in = Files.createTempFile(binary.getParent(), "queries", ".txt");
    Files.write(in, queries, StandardCharsets.US_ASCII);
    Process p = new ProcessBuilder(binary.toString()).redirectInput(in.toFile()).start();
    List<String> out = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII))) {
      for (String line; (line = r.readLine()) != null; ) {
        out.add(line);
      }
    }
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), "host_check failed");
    assertEquals(queries.size(), out.size(), "one answer per query");
    return out;
  }

  /**
   * The kernel's draws are the CPU backend's ({@link Philox#gaussian4F32}, {@link BoxMullerF32})
   * bit for bit, and so within {@link BoxMullerF32#MAX_ERROR} of the double reference {@link
   * Philox#gaussian4} relative to the pair's radius.
   */
  @Test
  void gaussiansAreTheCpuBackendsBitForBit() throws Exception {
    Random rnd = new Random(42);
    List<String> q = new ArrayList<>();
    List<long[]> keys = new ArrayList<>();
    for (int i = 0; i < 20000; i++) {
      long seed = rnd.nextLong();
      long stream = rnd.nextInt(4) == 0 ? rnd.nextInt(100) : rnd.nextLong();
      int particle = rnd.nextInt(4) == 0 ? rnd.nextInt(64) : rnd.nextInt(Integer.MAX_VALUE);
      int block = rnd.nextInt(4) == 0 ? rnd.nextInt(16) : rnd.nextInt();
      keys.add(new long[] {seed, stream, particle, block});
      q.add(
          "g "
              + Long.toUnsignedString(seed)
              + " "
              + Long.toUnsignedString(stream)
              + " "
              + particle
              + " "
              + Integer.toUnsignedString(block));
    }
    List<String> a = ask(q);
    int[] scratch = new int[4];
    double[] ref = new double[4];
    float[] cpu = new float[4];
    double worst = 0;
    for (int i = 0; i < keys.size(); i++) {
      long[] k = keys.get(i);
      Philox.gaussian4(k[0], k[1], (int) k[2], (int) k[3], scratch, ref);
      Philox.gaussian4F32(k[0], k[1], (int) k[2], (int) k[3], scratch, cpu, 0);
      String[] words = a.get(i).split(" ");
      for (int j = 0; j < 4; j++) {
        int bits = Integer.parseUnsignedInt(words[j], 16);
        assertEquals(
            Integer.toHexString(Float.floatToRawIntBits(cpu[j])),
            Integer.toHexString(bits),
            "draw " + j + " of block " + i);
        double radius = Math.hypot(ref[j & ~1], ref[j | 1]);
        // Error relative to the pair's radius: the angle is exact to float rounding, so an
        // element near a zero of cos/sin has an absolute, not relative, float-sized error.
        double err = Math.abs(Float.intBitsToFloat(bits) - ref[j]) / Math.max(radius, 1e-3);
        worst = Math.max(worst, err);
      }
    }
    assertTrue(worst < BoxMullerF32.MAX_ERROR, "worst Gaussian error relative to radius: " + worst);
    System.out.println("HostMathTest: worst Gaussian error / radius over 80000 draws = " + worst);
  }

  /**
   * Word pairs at the edges of every reduction of the transform (u near 0, 1/2, 1 and the split at
   * 1 - sqrt(1/2); angles around every quadrant boundary), plus random pairs: bit for bit {@link
   * BoxMullerF32#pair}.
   */
  @Test
  void boxMullerIsBoxMullerF32AtEveryReductionEdge() throws Exception {
    List<int[]> pairs = new ArrayList<>();
    for (int ra : BoxMullerEdges.radial()) {
      for (int b : BoxMullerEdges.angular()) {
        pairs.add(new int[] {ra, b});
      }
    }
    Random rnd = new Random(5);
    for (int i = 0; i < 20000; i++) {
      pairs.add(new int[] {rnd.nextInt(), rnd.nextInt()});
    }
    List<String> q = new ArrayList<>();
    for (int[] p : pairs) {
      q.add("m " + Integer.toUnsignedString(p[0]) + " " + Integer.toUnsignedString(p[1]));
    }
    List<String> a = ask(q);
    float[] cpu = new float[2];
    for (int i = 0; i < pairs.size(); i++) {
      int[] p = pairs.get(i);
      BoxMullerF32.pair(p[0], p[1], cpu, 0);
      String expected =
          String.format(
              "%08x %08x", Float.floatToRawIntBits(cpu[0]), Float.floatToRawIntBits(cpu[1]));
      assertEquals(
          expected,
          a.get(i),
          "words " + Integer.toHexString(p[0]) + " " + Integer.toHexString(p[1]));
    }
  }

  @Test
  void uniformsAreBitExact() throws Exception {
    Random rnd = new Random(7);
    List<String> q = new ArrayList<>();
    List<long[]> keys = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      long seed = rnd.nextLong();
      long stream = rnd.nextLong();
      long index = rnd.nextBoolean() ? rnd.nextInt(1000) : rnd.nextLong() >>> 31;
      keys.add(new long[] {seed, stream, index});
      q.add("u " + Long.toUnsignedString(seed) + " " + Long.toUnsignedString(stream) + " " + index);
    }
    List<String> a = ask(q);
    for (int i = 0; i < keys.size(); i++) {
      long[] k = keys.get(i);
      double ref = Philox.uniform(k[0], k[1], k[2]);
      assertEquals(
          Double.doubleToRawLongBits(ref), Long.parseUnsignedLong(a.get(i), 16), "uniform " + i);
    }
  }

  @Test
  void bfloat16RoundingIsBitExact() throws Exception {
    Random rnd = new Random(3);
    List<Integer> bits = new ArrayList<>();
    int[] special = {
      0,
      0x80000000,
      0x7F800000,
      0xFF800000,
      0x7FC00000,
      0x7F800001,
      0xFFFFFFFF,
      0x00000001,
      0x3F808000,
      0x3F818000,
      0x3F80FFFF,
      0x7F7FFFFF,
      0x7F7F8000
    };
    for (int s : special) {
      bits.add(s);
    }
    for (int i = 0; i < 20000; i++) {
      bits.add(rnd.nextInt());
    }
    List<String> q = bits.stream().map(b -> "b " + Integer.toUnsignedString(b)).toList();
    List<String> a = ask(q);
    for (int i = 0; i < bits.size(); i++) {
      float f = Float.intBitsToFloat(bits.get(i));
      short ref = DType.toBf16(f);
      String[] w = a.get(i).split(" ");
      assertEquals(
          ref & 0xFFFF,
          Integer.parseInt(w[0], 16),
          "bf16 of 0x" + Integer.toHexString(bits.get(i)));
      assertEquals(
          Float.floatToRawIntBits(DType.fromBf16(ref)), Integer.parseUnsignedInt(w[1], 16));
    }
  }
}
