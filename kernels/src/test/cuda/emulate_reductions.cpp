// Runs the reduction kernels (group argmax, log-sum-exp, ESS, resampling) on the host with the
// built-ins of host_device.h: each block's threads run as fibers, __syncthreads is a block
// barrier and the warp shuffles exchange through per-warp slots between warp barriers. Results
// are compared with a port of the CPU backend's loops (CpuParticleOps): argmax and resampled
// indices exactly, log-sum-exp and ESS to 1e-12. Run by KernelEmulationTest.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include <algorithm>
#include "host_device.h"
#include "../../main/cuda/particle_ops.cu"

template <class F> static void launch(unsigned grid, unsigned block, F body) {
  std::string why;
  if (!hostdev::launch("kernel", {grid, 1, 1}, {block, 1, 1}, true,
                       [](void* f) { (*static_cast<F*>(f))(); }, &body, &why)) {
    printf("launch failed: %s\n", why.c_str());
    exit(1);
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
