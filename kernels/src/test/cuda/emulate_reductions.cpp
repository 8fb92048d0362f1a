// Runs the reduction kernels (group argmax, log-sum-exp, ESS, resampling) on the host: each GPU
// thread of a block is an OS thread; __syncthreads is a block barrier and the warp shuffles
// exchange through per-warp slots between warp barriers. Results are compared with a port of the
// CPU backend's loops (CpuParticleOps): argmax and resampled indices exactly, log-sum-exp and ESS
// to 1e-12. Run by KernelEmulationTest.
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>
#include <algorithm>
struct dim3 { unsigned x = 1, y = 1, z = 1; };
static thread_local dim3 blockIdx, threadIdx;
static dim3 blockDim, gridDim;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
struct float4 { float x, y, z, w; };
struct uint2 { unsigned x, y; };
struct uint4 { unsigned x, y, z, w; };
static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline float __uint_as_float(unsigned i) { float f; memcpy(&f, &i, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned i; memcpy(&i, &f, 4); return i; }
static inline double __longlong_as_double(long long i) { double f; memcpy(&f, &i, 8); return f; }
static inline void sincospif(float x, float* s, float* c) { *s = (float)sin(M_PI * x); *c = (float)cos(M_PI * x); }
static std::mutex atomic_mu;
static int atomicCAS(int* p, int cmp, int v) { std::lock_guard<std::mutex> g(atomic_mu); int o = *p; if (o == cmp) *p = v; return o; }
static int atomicMin(int* p, int v) { std::lock_guard<std::mutex> g(atomic_mu); int o = *p; if (v < o) *p = v; return o; }
static void __threadfence_system() {}
static std::unique_ptr<std::barrier<>> block_bar;
static std::vector<std::unique_ptr<std::barrier<>>> warp_bar;
static uint64_t xch[32][32];
static void __syncthreads() { block_bar->arrive_and_wait(); }
template <class T> static T shfl(T v, int src_lane) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  uint64_t b = 0; memcpy(&b, &v, sizeof(T)); xch[warp][lane] = b;
  warp_bar[warp]->arrive_and_wait();
  uint64_t o = xch[warp][(src_lane >= 0 && src_lane < 32) ? src_lane : lane];
  warp_bar[warp]->arrive_and_wait();
  T r; memcpy(&r, &o, sizeof(T)); return r;
}
template <class T> static T __shfl_down_sync(unsigned, T v, int off) { int l = (threadIdx.x & 31) + off; return shfl(v, l < 32 ? l : -1); }
template <class T> static T __shfl_up_sync(unsigned, T v, int off) { int l = (threadIdx.x & 31) - off; return shfl(v, l >= 0 ? l : -1); }
using std::min; using std::isinf; using std::isfinite; using std::fmax;
#include "../../main/cuda/particle_ops.cu"

template <class F> static void launch(unsigned grid, unsigned block, F body) {
  blockDim.x = block; gridDim.x = grid;
  for (unsigned b = 0; b < grid; b++) {
    block_bar = std::make_unique<std::barrier<>>(block);
    warp_bar.clear();
    for (unsigned w = 0; w < block / 32; w++) warp_bar.push_back(std::make_unique<std::barrier<>>(32));
    std::vector<std::thread> ts;
    for (unsigned t = 0; t < block; t++) ts.emplace_back([=] { blockIdx.x = b; threadIdx.x = t; body(); });
    for (auto& t : ts) t.join();
  }
}

// ---- ports of CpuParticleOps ----
static int cpu_argmax(const double* v, int start, int size) {
  int best = start; double bv = v[start];
  for (int i = start + 1; i < start + size; i++) { double x = v[i]; if (x > bv || (std::isnan(bv) && !std::isnan(x))) { best = i; bv = x; } }
  return best;
}
static double cpu_lse(const std::vector<double>& v) {
  if (v.empty()) return -INFINITY;
  double m = -INFINITY; for (double x : v) { if (std::isnan(x)) return NAN; m = std::max(m, x); }
  if (std::isinf(m)) return m;
  double s = 0; for (double x : v) s += exp(x - m); return m + log(s);
}
static int cpu_search(const std::vector<double>& cdf, double pos) {
  int lo = 0, hi = (int)cdf.size() - 1;
  while (lo < hi) { int mid = (unsigned)(lo + hi) >> 1; if (cdf[mid] > pos) hi = mid; else lo = mid + 1; }
  return lo;
}

int main() {
  std::mt19937_64 r(9); std::normal_distribution<double> N;
  int bad = 0;
  // group argmax
  int sizes[] = {1, 7, 25, 32, 33, 64, 100};
  for (int gs : sizes) {
    int groups = 1 + r() % 40, n = groups * gs;
    std::vector<double> v(n);
    for (auto& x : v) { int k = r() % 10; x = k == 0 ? NAN : k == 1 ? -INFINITY : k == 2 ? 1.5 : k == 3 ? -0.0 : N(r); }
    for (int i = 0; i < gs; i++) { v[i] = NAN; if (groups > 1) v[gs + i] = 2.0; if (groups > 2) v[2 * gs + i] = -INFINITY; }
    std::vector<int> out(groups, -7);
    unsigned grid = std::min<long>((groups + 7) / 8, 132 * 32);
    launch(grid, 256, [&] { fs_group_argmax(v.data(), groups, gs, out.data()); });
    for (int g = 0; g < groups; g++) if (out[g] != cpu_argmax(v.data(), g * gs, gs)) { bad++; printf("argmax size %d group %d: %d vs %d\n", gs, g, out[g], cpu_argmax(v.data(), g * gs, gs)); break; }
  }
  // log-sum-exp and ESS
  int ns[] = {1, 2, 25, 1000, 1025, 5000};
  for (int n : ns) {
    std::vector<double> v(n);
    for (int i = 0; i < n; i++) v[i] = (r() % 8 == 0 && i > 0) ? -INFINITY : 50 * N(r);
    double res[2] = {NAN, NAN};
    launch(1, 1024, [&] { fs_logsumexp(v.data(), n, res); });
    double l = cpu_lse(v);
    if (!(fabs(res[0] - l) <= 1e-12 * std::max(1.0, fabs(l)))) { bad++; printf("lse n=%d: %.17g vs %.17g\n", n, res[0], l); }
    res[0] = res[1] = NAN;
    launch(1, 1024, [&] { fs_ess(v.data(), n, res); });
    double q = 0; for (double x : v) { double w = exp(x - l); q += w * w; }
    if (!(fabs(res[0] - l) <= 1e-12 * std::max(1.0, fabs(l))) || !(fabs(res[1] - q) <= 1e-12 * q)) { bad++; printf("ess n=%d\n", n); }
  }
  {
    std::vector<double> special[] = {{1, NAN, 2}, {-INFINITY, -INFINITY}, {3, INFINITY}};
    for (auto& v : special) { double res[1] = {0}; launch(1, 1024, [&] { fs_logsumexp(v.data(), (int)v.size(), res); });
      double l = cpu_lse(v); if (!(res[0] == l || (std::isnan(res[0]) && std::isnan(l)))) { bad++; printf("lse special: %g vs %g\n", res[0], l); } }
  }
  // resampling
  for (int sys = 0; sys < 2; sys++) for (int n : {1, 25, 1000, 3000}) for (int m : {n, 7}) {
    std::vector<double> v(n);
    for (int i = 0; i < n; i++) v[i] = (r() % 10 == 0 && i > 0) ? -INFINITY : 3 * N(r);
    unsigned long long seed = r(), stream = r();
    std::vector<double> cdf(n); std::vector<int> out(m, -7); int err[4] = {0};
    launch(1, 1024, [&] { fs_resample(v.data(), n, m, sys, seed, stream, nullptr, cdf.data(), out.data(), err); });
    double l = cpu_lse(v); std::vector<double> c(n); double acc = 0;
    for (int i = 0; i < n; i++) { acc += exp(v[i] - l); c[i] = acc; }
    double off = sys ? uniform(seed, stream, 0) : 0; int mism = 0;
    for (int k = 0; k < m; k++) { double pos = sys ? ((double)k + off) / m * acc : uniform(seed, stream, k) * acc; if (out[k] != cpu_search(c, pos)) mism++; }
    if (mism || err[0]) { bad++; printf("resample sys=%d n=%d m=%d: %d mismatches err=%d\n", sys, n, m, mism, err[0]); }
  }
  { std::vector<double> v = {-INFINITY, NAN}; std::vector<double> cdf(2); std::vector<int> out(2); int err[4] = {0};
    launch(1, 1024, [&] { fs_resample(v.data(), 2, 2, 0, 1, 2, nullptr, cdf.data(), out.data(), err); });
    if (err[0] != FS_ERR_WEIGHTS || out[0] != -1) { bad++; printf("resample bad weights not flagged\n"); } }
  // Resampling replayed as a graph with a stream counter (see emulate_kernels.cpp): replay k
  // picks exactly the indices of an eager launch with stream base + k.
  for (int sys = 0; sys < 2; sys++) {
    const int n = 300, m = 300; std::vector<double> v(n);
    for (auto& x : v) x = 3 * N(r);
    const unsigned long long seed = r(), base = 0xFFFFFFFFFFFFFFFEull;
    unsigned long long counter = base; std::vector<double> cdf(n); std::vector<int> out(m), eager(m), prev(m); int err[4] = {0};
    for (int k = 0; k < 4; k++) {
      launch(1, 1024, [&] { fs_resample(v.data(), n, m, sys, seed, 0, &counter, cdf.data(), out.data(), err); });
      launch(1, 1, [&] { fs_advance_streams(&counter, 1); });
      launch(1, 1024, [&] { fs_resample(v.data(), n, m, sys, seed, base + k, nullptr, cdf.data(), eager.data(), err); });
      if (out != eager || (k > 0 && out == prev) || counter != base + k + 1 || err[0]) {
        bad++; printf("resample graph replay %d sys=%d: differs from eager stream base+%d or repeats\n", k, sys, k);
      }
      prev = out;
    }
  }
  printf("emulation: %d failing cases\n", bad);
  return bad != 0;
}
