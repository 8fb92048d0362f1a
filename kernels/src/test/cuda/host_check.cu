// Runs the kernels' RNG and bfloat16 helpers on the host so HostMathTest can compare them with
// the Java reference without a GPU. Reads one query per line on stdin, answers one line each:
//   g SEED STREAM PARTICLE BLOCK -> the 4 Gaussian floats of that Philox block (hex bits)
//   m A B                        -> box_muller of the word pair (a, b): 2 floats (hex bits)
//   u SEED STREAM INDEX          -> the uniform as double (hex bits)
//   b FLOATBITS                  -> the bfloat16 bits of the float, and back (hex)
// Numbers are unsigned decimal.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../../main/cuda/particle_ops.cu"

int main() {
  char op[4];
  while (scanf("%3s", op) == 1) {
    if (strcmp(op, "g") == 0) {
      unsigned long long seed, stream;
      unsigned particle, blk;
      if (scanf("%llu %llu %u %u", &seed, &stream, &particle, &blk) != 4) return 2;
      float z[4];
      gaussian4(seed, stream, particle, blk, z);
      printf("%08x %08x %08x %08x\n", FS_F2U(z[0]), FS_F2U(z[1]), FS_F2U(z[2]), FS_F2U(z[3]));
    } else if (strcmp(op, "m") == 0) {
      unsigned a, b;
      if (scanf("%u %u", &a, &b) != 2) return 2;
      float n0, n1;
      box_muller(a, b, &n0, &n1);
      printf("%08x %08x\n", FS_F2U(n0), FS_F2U(n1));
    } else if (strcmp(op, "u") == 0) {
      unsigned long long seed, stream, index;
      if (scanf("%llu %llu %llu", &seed, &stream, &index) != 3) return 2;
      double d = uniform(seed, stream, index);
      unsigned long long bits;
      memcpy(&bits, &d, 8);
      printf("%016llx\n", bits);
    } else if (strcmp(op, "b") == 0) {
      unsigned bits;
      if (scanf("%u", &bits) != 1) return 2;
      u16 h = f32_to_bf16(FS_U2F(bits));
      printf("%04x %08x\n", h, FS_F2U(bf16_to_f32(h)));
    } else {
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
