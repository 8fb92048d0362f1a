// The emulated driver's device: runs flowscale's kernels (src/main/cuda/particle_ops.cu, compiled
// here by the host compiler with CUDA's built-ins emulated) for cuLaunchKernel. TEST FIXTURE.
//
// A launch runs on the worker thread of its stream, block after block. Kernels without barriers
// run their threads one after another. Kernels with __syncthreads or warp shuffles (the
// reductions) run each block's threads as fibers on that worker: a fiber runs until it reaches a
// barrier, and a barrier lets its fibers on once all of them have arrived, so the reductions run
// their real code, barriers and shuffles included, one block at a time.
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "emu.h"

// ---- CUDA built-ins, for the host ----

struct float4 {
  float x, y, z, w;
};
struct uint2 {
  unsigned x, y;
};
struct uint4 {
  unsigned x, y, z, w;
};
static inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }

// Per worker thread: each stream runs its kernels on its own thread.
thread_local fsemu::Dim3 blockIdx, threadIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One block runs at a time on a worker, so thread-local statics are the block's shared memory.
#define __shared__ static thread_local

static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __int_as_float(int i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
static inline float __uint_as_float(unsigned i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}
static inline unsigned __float_as_uint(float f) {
  unsigned i;
  std::memcpy(&i, &f, 4);
  return i;
}
static inline double __longlong_as_double(long long i) {
  double f;
  std::memcpy(&f, &i, 8);
  return f;
}
static inline void sincospif(float x, float* s, float* c) {
  *s = (float)std::sin(M_PI * x);
  *c = (float)std::cos(M_PI * x);
}
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

using std::fmax;
using std::isfinite;
using std::isinf;
using std::min;

// ---- fibers ----

namespace {

#if defined(__x86_64__)
extern "C" void fsemu_switch(void** save_sp, void* load_sp);
// Saves the callee-saved registers and the SSE/x87 control words on the current stack, stores
// the stack pointer in *save_sp, switches to load_sp and restores what was saved there.
asm(R"(
  .text
  .p2align 4
  .globl fsemu_switch
  .hidden fsemu_switch
  .type fsemu_switch, @function
fsemu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size fsemu_switch, .-fsemu_switch
)");

// A fresh stack whose first switch enters `entry` (which must never return).
void* fiber_stack(char* base, size_t size, void (*entry)()) {
  uint64_t* sp = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(base) + size) & ~15ull);
  *--sp = 0;                                   // entry's return address: none
  *--sp = reinterpret_cast<uint64_t>(entry);   // where fsemu_switch's ret goes
  for (int i = 0; i < 6; i++) *--sp = 0;       // rbp rbx r12 r13 r14 r15
  --sp;
  uint32_t* cw = reinterpret_cast<uint32_t*>(sp);
  cw[0] = 0x1F80;  // MXCSR default
  cw[1] = 0x037F;  // x87 control word default
  return sp;
}
#else
#error "the emulated CUDA driver's fibers are written for x86-64"
#endif

struct Fiber {
  void* sp = nullptr;
  fsemu::Dim3 tid;
  bool done = false;
};

struct Block {
  unsigned n = 0;
  unsigned arrived = 0, gen = 0;
  unsigned warp_arrived[32] = {}, warp_gen[32] = {}, warp_count[32] = {};
  uint64_t xch[32][32] = {};
  uint64_t progress = 0;
};

// Stacks for up to 1024 fibers per worker thread, each with a guard page below it.
struct Stacks {
  static constexpr size_t SIZE = 64 * 1024, GUARD = 4096, MAX = 1024;
  char* base = nullptr;
  char* get(size_t i) {
    if (base == nullptr) {
      void* p = mmap(nullptr, MAX * (SIZE + GUARD), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) {
        std::perror("emulated CUDA driver: fiber stacks");
        std::abort();
      }
      base = static_cast<char*>(p);
      for (size_t k = 0; k < MAX; k++) mprotect(base + k * (SIZE + GUARD), GUARD, PROT_NONE);
    }
    return base + i * (SIZE + GUARD) + GUARD;
  }
  ~Stacks() {
    if (base != nullptr) munmap(base, MAX * (SIZE + GUARD));
  }
};

thread_local Stacks tl_stacks;
thread_local Block* tl_block = nullptr;
thread_local Fiber* tl_fiber = nullptr;
thread_local void* tl_sched_sp = nullptr;
thread_local const fsemu::KernelDef* tl_kernel = nullptr;
thread_local const uint64_t* tl_slots = nullptr;
thread_local std::string* tl_fault = nullptr;

void fault(const std::string& why) {
  if (tl_fault != nullptr && tl_fault->empty()) *tl_fault = why;
}

void yield() { fsemu_switch(&tl_fiber->sp, tl_sched_sp); }

unsigned linear_tid() {
  return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

void block_barrier() {
  Block* b = tl_block;
  if (b == nullptr) {
    fault(tl_kernel->name + " reached __syncthreads but is not registered as cooperative");
    return;
  }
  const unsigned g = b->gen;
  b->progress++;
  if (++b->arrived == b->n) {
    b->arrived = 0;
    b->gen++;
    return;
  }
  while (b->gen == g) yield();
}

void warp_barrier(unsigned w) {
  Block* b = tl_block;
  const unsigned g = b->warp_gen[w];
  b->progress++;
  if (++b->warp_arrived[w] == b->warp_count[w]) {
    b->warp_arrived[w] = 0;
    b->warp_gen[w]++;
    return;
  }
  while (b->warp_gen[w] == g) yield();
}

template <class T>
T shfl(T v, int src_lane) {
  Block* b = tl_block;
  if (b == nullptr) {
    fault(tl_kernel->name + " used a warp shuffle but is not registered as cooperative");
    return v;
  }
  const unsigned t = linear_tid(), lane = t & 31, warp = t >> 5;
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  b->xch[warp][lane] = bits;
  warp_barrier(warp);
  const bool in = src_lane >= 0 && (unsigned)src_lane < b->warp_count[warp];
  const uint64_t o = b->xch[warp][in ? (unsigned)src_lane : lane];
  warp_barrier(warp);
  T r;
  std::memcpy(&r, &o, sizeof(T));
  return r;
}

void fiber_main() {
  Fiber* f = tl_fiber;
  tl_kernel->invoke(tl_slots);
  f->done = true;
  tl_block->progress++;
  fsemu_switch(&f->sp, tl_sched_sp);
  std::abort();  // a finished fiber is never resumed
}

// Runs the current block's threads as fibers; false if they can no longer make progress.
bool run_block_fibers(unsigned n) {
  Block b;
  b.n = n;
  for (unsigned w = 0; w < 32; w++) b.warp_count[w] = n > 32 * w ? std::min(32u, n - 32 * w) : 0;
  std::vector<Fiber> fibers(n);
  for (unsigned i = 0; i < n; i++) {
    fibers[i].tid = {i % blockDim.x, (i / blockDim.x) % blockDim.y, i / (blockDim.x * blockDim.y)};
    fibers[i].sp = fiber_stack(tl_stacks.get(i), Stacks::SIZE, fiber_main);
  }
  tl_block = &b;
  unsigned alive = n;
  bool ok = true;
  while (alive > 0) {
    const uint64_t before = b.progress;
    for (Fiber& f : fibers) {
      if (f.done) continue;
      tl_fiber = &f;
      threadIdx = f.tid;
      fsemu_switch(&tl_sched_sp, f.sp);
      if (f.done) alive--;
    }
    if (alive > 0 && b.progress == before) {
      fault(tl_kernel->name + ": the block's threads wait at barriers none of them can pass"
            " (__syncthreads or a shuffle in divergent code)");
      ok = false;
      break;
    }
  }
  tl_block = nullptr;
  tl_fiber = nullptr;
  return ok;
}

}  // namespace

static inline void __syncthreads() { block_barrier(); }
template <class T>
static T __shfl_down_sync(unsigned, T v, int delta) {
  const int lane = (int)(linear_tid() & 31);
  return shfl(v, lane + delta < 32 ? lane + delta : lane);
}
template <class T>
static T __shfl_up_sync(unsigned, T v, int delta) {
  const int lane = (int)(linear_tid() & 31);
  return shfl(v, lane - delta >= 0 ? lane - delta : lane);
}

static int atomicCAS(int* p, int compare, int value) {
  if (!fsemu::is_device_memory(p, sizeof(int))) {
    char where[64];
    std::snprintf(where, sizeof where, "%p", static_cast<void*>(p));
    fault(tl_kernel->name + ": atomicCAS on " + where +
          ", which is not device memory; the emulated device has no host-native atomics"
          " (CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED = 0), so an atomic on mapped host"
          " memory is a fault here");
  }
  __atomic_compare_exchange_n(p, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return compare;
}

// ---- the kernels ----

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

// ---- the registry ----

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

const std::vector<fsemu::KernelDef>& registry() {
  static const std::vector<fsemu::KernelDef>* r = new std::vector<fsemu::KernelDef>{
      FS_KERNEL(fs_affine_f32, false),    FS_KERNEL(fs_affine_bf16, false),
      FS_KERNEL(fs_gaussian_f32, false),  FS_KERNEL(fs_gaussian_bf16, false),
      FS_KERNEL(fs_advance_streams, false), FS_KERNEL(fs_gather_16, false),
      FS_KERNEL(fs_gather_8, false),      FS_KERNEL(fs_gather_4, false),
      FS_KERNEL(fs_gather_2, false),      FS_KERNEL(fs_group_argmax, true),
      FS_KERNEL(fs_logsumexp, true),      FS_KERNEL(fs_ess, true),
      FS_KERNEL(fs_resample, true),       FS_KERNEL(add_one, false),
  };
  return *r;
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
  std::string f;
  tl_fault = &f;
  tl_kernel = &k;
  tl_slots = slots;
  gridDim = grid;
  blockDim = block;
  const unsigned n = block.x * block.y * block.z;
  for (unsigned bz = 0; bz < grid.z && f.empty(); bz++) {
    for (unsigned by = 0; by < grid.y && f.empty(); by++) {
      for (unsigned bx = 0; bx < grid.x && f.empty(); bx++) {
        blockIdx = {bx, by, bz};
        if (k.cooperative) {
          run_block_fibers(n);
          continue;
        }
        for (unsigned tz = 0; tz < block.z; tz++) {
          for (unsigned ty = 0; ty < block.y; ty++) {
            for (unsigned tx = 0; tx < block.x; tx++) {
              threadIdx = {tx, ty, tz};
              k.invoke(slots);
            }
          }
        }
      }
    }
  }
  tl_fault = nullptr;
  tl_kernel = nullptr;
  if (!f.empty()) {
    *why = f;
    return false;
  }
  return true;
}

}  // namespace fsemu
