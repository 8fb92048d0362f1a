// The emulated driver's device: runs flowscale's kernels (src/main/cuda/particle_ops.cu, compiled
// here by the host compiler with CUDA's built-ins from src/test/cuda/host_device.h) for
// cuLaunchKernel. TEST FIXTURE. A launch runs on the worker thread of its stream.
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../cuda/host_device.h"
#include "emu.h"

// The device code's own idioms (int loop bounds against blockDim, partly filled vectors) are not
// host warnings worth reading.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include FSEMU_KERNELS_SOURCE
#pragma GCC diagnostic pop

// The kernel of CudaDriverGpuTest's hand-written PTX (add_one: p[tid.x] += 1 for tid.x < n).
extern "C" void add_one(float* p, unsigned n) {
  if (threadIdx.x < n) p[threadIdx.x] += 1.0f;
}

namespace {

template <class T>
T slot(const uint64_t* s, size_t i) {
  T v;
  std::memcpy(&v, &s[i], sizeof(T));
  return v;
}

template <auto F, class... A, size_t... I>
void call(const uint64_t* s, std::index_sequence<I...>) {
  F(slot<A>(s, I)...);
}

template <auto F, class... A>
fsemu::KernelDef def(const char* name, void (*)(A...), bool cooperative) {
  static_assert(((sizeof(A) <= 8) && ...), "kernel parameters must fit 8-byte slots");
  fsemu::KernelDef d;
  d.name = name;
  d.sizes = {sizeof(A)...};
  d.pointers = {std::is_pointer_v<A>...};
  d.cooperative = cooperative;
  d.invoke = [](const uint64_t* s) { call<F, A...>(s, std::index_sequence_for<A...>{}); };
  return d;
}

#define FS_KERNEL(f, cooperative) def<f>(#f, f, cooperative)

// Cooperative: the kernels with __syncthreads or warp shuffles.
const std::vector<fsemu::KernelDef>& registry() {
  static const std::vector<fsemu::KernelDef>* r = new std::vector<fsemu::KernelDef>{
      FS_KERNEL(fs_affine_f32, false),      FS_KERNEL(fs_affine_bf16, false),
      FS_KERNEL(fs_gaussian_f32, false),    FS_KERNEL(fs_gaussian_bf16, false),
      FS_KERNEL(fs_advance_streams, false), FS_KERNEL(fs_gather_16, false),
      FS_KERNEL(fs_gather_8, false),        FS_KERNEL(fs_gather_4, false),
      FS_KERNEL(fs_gather_2, false),        FS_KERNEL(fs_group_argmax, true),
      FS_KERNEL(fs_logsumexp, true),        FS_KERNEL(fs_ess, true),
      FS_KERNEL(fs_resample, true),         FS_KERNEL(add_one, false),
  };
  return *r;
}

struct Invocation {
  const fsemu::KernelDef* kernel;
  const uint64_t* slots;
};

void invoke(void* p) {
  const Invocation* i = static_cast<const Invocation*>(p);
  i->kernel->invoke(i->slots);
}

}  // namespace

namespace fsemu {

const KernelDef* find_kernel(const std::string& name) {
  for (const KernelDef& k : registry()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

bool run_kernel(const KernelDef& k, Dim3 grid, Dim3 block, const uint64_t* slots,
                std::string* why) {
  hostdev::device_memory = is_device_memory;
  Invocation i{&k, slots};
  return hostdev::launch(k.name.c_str(), {grid.x, grid.y, grid.z}, {block.x, block.y, block.z},
                         k.cooperative, invoke, &i, why);
}

}  // namespace fsemu
