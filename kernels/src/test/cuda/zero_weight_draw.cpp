// Builds the input of CudaParticleOpsTest.resamplingNeverDrawsAParticleOfWeightZero: log-weights
// for which fs_resample's CDF, as it was before zero weights were stepped past, gives a particle
// of weight 0 a one-ulp slice [cdf[z-1], cdf[z]), and a multinomial draw that lands in it. Chunk
// starts come from a scan of the chunk totals while each chunk accumulates sequentially, so the
// two can disagree by an ulp (about 1e-16 per draw): too rare to meet by chance, so the case is
// constructed. Not run by the tests (it takes a minute); kept so the data can be rebuilt.
//
//   g++ -O2 -std=c++17 -o zw zero_weight_draw.cpp
//   ./zw weights 1                 # random search: log-weights v, the index z and Philox word W
//   ./zw stream W SEED 65536       # a stream whose first 65536 uniforms include word W
//
// The arithmetic is the kernel's for n <= 32 (one warp, one particle per thread): block_sum's
// shuffle tree for log-sum-exp, the Hillis-Steele scan, cdf[t] = (inc_t - w_t) + w_t.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>
#define __device__
#define __host__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
struct float4 { float x, y, z, w; };
struct uint2 { unsigned x, y; };
struct uint4 { unsigned x, y, z, w; };
static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
struct dim3 { unsigned x = 1, y = 1, z = 1; };
static dim3 blockIdx, threadIdx, blockDim, gridDim;
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline float __uint_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
static inline double __longlong_as_double(long long i) { double f; memcpy(&f, &i, 8); return f; }
static int atomicCAS(int* p, int c, int v) { int o = *p; if (o == c) *p = v; return o; }
static void __syncthreads() { abort(); }
template <class T> T __shfl_down_sync(unsigned, T, int) { abort(); }
template <class T> T __shfl_up_sync(unsigned, T, int) { abort(); }
using std::fmax; using std::isfinite; using std::isinf; using std::min;
#include "../../main/cuda/particle_ops.cu"

struct Cdf { double total; std::vector<double> w, cdf; };

static Cdf kernel_cdf(const std::vector<double>& v) {
  const int n = (int)v.size();
  double m = -INFINITY;
  for (double x : v) m = fmax(m, x);
  double a[32];
  for (int i = 0; i < 32; i++) a[i] = i < n ? exp(v[i] - m) : 0.0;
  for (int off = 16; off > 0; off >>= 1) {
    double b[32];
    for (int L = 0; L < 32; L++) b[L] = a[L] + (L + off < 32 ? a[L + off] : a[L]);
    memcpy(a, b, sizeof a);
  }
  const double l = m + log(a[0]);
  double inc[32], mine[32];
  for (int i = 0; i < 32; i++) inc[i] = mine[i] = i < n ? exp(v[i] - l) : 0.0;
  for (int off = 1; off < 32; off <<= 1) {
    double b[32];
    for (int L = 0; L < 32; L++) b[L] = L >= off ? inc[L] + inc[L - off] : inc[L];
    memcpy(inc, b, sizeof inc);
  }
  Cdf c;
  for (int i = 0; i < n; i++) {
    c.w.push_back(exp(v[i] - l));
    c.cdf.push_back(inc[i] - mine[i] + 0.0 + exp(v[i] - l));
  }
  c.total = c.cdf[n - 1];
  return c;
}

static int search(const std::vector<double>& cdf, double pos) {
  int a = 0, b = (int)cdf.size() - 1;
  while (a < b) {
    const int mid = (int)(((unsigned)a + (unsigned)b) >> 1);
    if (cdf[mid] > pos) b = mid; else a = mid + 1;
  }
  return a;
}

static int weights(unsigned long long rng_seed) {
  std::mt19937_64 r(rng_seed);
  std::uniform_real_distribution<double> U(0, 1);
  for (long trial = 0;; trial++) {
    const int n = 8 + (int)(r() % 25);
    std::vector<double> v(n);
    for (int i = 0; i < n; i++) {
      const int k = (int)(r() % 10);
      if (k < 2 && i > 0) v[i] = -INFINITY;
      else if (k < 4) v[i] = -U(r) * 2;  // near the largest weight
      else v[i] = log(U(r)) + log(ldexp(1.0, -(45 + (int)(r() % 12))));  // near an ulp of the total
    }
    v[r() % n] = 0;
    const Cdf c = kernel_cdf(v);
    for (int z = 1; z < n; z++) {
      if (c.w[z] != 0.0 || !(c.cdf[z] > c.cdf[z - 1])) continue;
      const double t = c.cdf[z - 1] / c.total * 4294967296.0 - 0.5;
      for (long w = (long)t - 3; w <= (long)t + 3; w++) {
        if (w < 0 || w > 0xFFFFFFFFl) continue;
        const double pos = ((double)w + 0.5) * 2.3283064365386962890625e-10 * c.total;
        if (search(c.cdf, pos) != z) continue;
        printf("trial %ld: n=%d, zero-weight particle z=%d, Philox word W=%ld\n", trial, n, z, w);
        for (int i = 0; i < n; i++) printf("%a%s", v[i], i + 1 < n ? ", " : "\n");
        return 0;
      }
    }
  }
}

static int stream(u32 want, u64 seed, int m) {
  for (u64 s = 0;; s++) {
    for (int b = 0; b < m / 4; b++) {
      u32 w[4];
      philox((u32)b, 0xFFFFFFFFu, (u32)s, (u32)(s >> 32), (u32)seed, (u32)(seed >> 32), w);
      for (int j = 0; j < 4; j++) {
        if (w[j] == want) {
          printf("seed %llu stream %llu: draw %d\n", (unsigned long long)seed, (unsigned long long)s, 4 * b + j);
          return 0;
        }
      }
    }
  }
}

int main(int argc, char** argv) {
  if (argc == 3 && !strcmp(argv[1], "weights")) return weights(strtoull(argv[2], 0, 10));
  if (argc == 5 && !strcmp(argv[1], "stream")) {
    return stream((u32)strtoul(argv[2], 0, 10), strtoull(argv[3], 0, 10), atoi(argv[4]));
  }
  fprintf(stderr, "usage: %s weights RNG_SEED | %s stream WORD SEED DRAWS\n", argv[0], argv[0]);
  return 2;
}
