// CUDA's built-ins for running the kernels of src/main/cuda on the host: include this, then
// particle_ops.cu, then call hostdev::launch. Used by the emulated CUDA driver (a test fixture,
// src/test/emulated-driver) and by emulate_reductions.cpp (KernelEmulationTest).
//
// A launch runs on the calling thread, block after block. Kernels without barriers run their
// threads one after another. Kernels with __syncthreads or warp shuffles ("cooperative") run each
// block's threads as fibers: a fiber runs until it reaches a barrier, and the barrier lets its
// fibers on once all of them have arrived, so the reductions run their real code, barriers and
// shuffles included. Everything is per OS thread, so several threads can run launches at once.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace hostdev {
struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};
}  // namespace hostdev

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

inline thread_local hostdev::Dim3 blockIdx, threadIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// One block runs at a time on a thread, so thread-local statics are the block's shared memory.
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
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

using std::fmax;
using std::isfinite;
using std::isinf;
using std::min;

namespace hostdev {

// Where the launch running on this thread reports a fault (the first one counts).
inline thread_local std::string* fault_sink = nullptr;
inline thread_local const char* kernel_name = "kernel";
// Whether memory is device memory, for atomics; null: all memory counts.
inline bool (*device_memory)(const void* p, size_t n) = nullptr;

inline void fault(const std::string& why) {
  if (fault_sink != nullptr && fault_sink->empty()) *fault_sink = std::string(kernel_name) + ": " + why;
}

#if defined(__x86_64__)
extern "C" void hostdev_switch(void** save_sp, void* load_sp);
// Saves the callee-saved registers and the SSE/x87 control words on the current stack, stores
// the stack pointer in *save_sp, switches to load_sp and restores what was saved there.
asm(R"(
  .text
  .p2align 4
  .weak hostdev_switch
  .hidden hostdev_switch
  .type hostdev_switch, @function
hostdev_switch:
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
  .size hostdev_switch, .-hostdev_switch
)");

// A fresh stack whose first switch enters `entry` (which must never return).
inline void* fiber_stack(char* base, size_t size, void (*entry)()) {
  uint64_t* sp = reinterpret_cast<uint64_t*>((reinterpret_cast<uintptr_t>(base) + size) & ~15ull);
  *--sp = 0;                                  // entry's return address: none
  *--sp = reinterpret_cast<uint64_t>(entry);  // where hostdev_switch's ret goes
  for (int i = 0; i < 6; i++) *--sp = 0;      // rbp rbx r12 r13 r14 r15
  --sp;
  uint32_t* cw = reinterpret_cast<uint32_t*>(sp);
  cw[0] = 0x1F80;  // MXCSR default
  cw[1] = 0x037F;  // x87 control word default
  return sp;
}
#else
#error "the host fibers of host_device.h are written for x86-64"
#endif

struct Fiber {
  void* sp = nullptr;
  Dim3 tid;
  bool done = false;
};

struct Block {
  unsigned n = 0;
  unsigned arrived = 0, gen = 0;
  unsigned warp_arrived[32] = {}, warp_gen[32] = {}, warp_count[32] = {};
  uint64_t xch[32][32] = {};
  uint64_t progress = 0;
};

// Stacks for up to 1024 fibers per thread, each with a guard page below it.
struct Stacks {
  static constexpr size_t SIZE = 64 * 1024, GUARD = 4096, MAX = 1024;
  char* base = nullptr;
  char* get(size_t i) {
    if (base == nullptr) {
      void* p = mmap(nullptr, MAX * (SIZE + GUARD), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) {
        std::perror("host_device.h: fiber stacks");
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

inline thread_local Stacks tl_stacks;
inline thread_local Block* tl_block = nullptr;
inline thread_local Fiber* tl_fiber = nullptr;
inline thread_local void* tl_sched_sp = nullptr;
inline thread_local void (*tl_body)(void*) = nullptr;
inline thread_local void* tl_arg = nullptr;

inline void yield() { hostdev_switch(&tl_fiber->sp, tl_sched_sp); }

inline unsigned linear_tid() {
  return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

inline void block_barrier() {
  Block* b = tl_block;
  if (b == nullptr) {
    fault("reached __syncthreads but runs as a non-cooperative kernel");
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

inline void warp_barrier(unsigned w) {
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
    fault("used a warp shuffle but runs as a non-cooperative kernel");
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

inline void fiber_main() {
  Fiber* f = tl_fiber;
  tl_body(tl_arg);
  f->done = true;
  tl_block->progress++;
  hostdev_switch(&f->sp, tl_sched_sp);
  std::abort();  // a finished fiber is never resumed
}

// Runs the current block's threads as fibers; false if they can no longer make progress.
inline bool run_block_fibers(unsigned n) {
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
      hostdev_switch(&tl_sched_sp, f.sp);
      if (f.done) alive--;
    }
    if (alive > 0 && b.progress == before) {
      fault("the block's threads wait at barriers none of them can pass (__syncthreads or a"
            " shuffle in divergent code)");
      ok = false;
      break;
    }
  }
  tl_block = nullptr;
  tl_fiber = nullptr;
  return ok;
}

// Runs a launch on the calling thread: body(arg) once per GPU thread, with blockIdx and threadIdx
// set. False, with `why` set, if the kernel faulted.
inline bool launch(const char* name, Dim3 grid, Dim3 block, bool cooperative,
                   void (*body)(void*), void* arg, std::string* why) {
  if (block.x * block.y * block.z > Stacks::MAX) {
    *why = std::string(name) + ": more than 1024 threads per block";
    return false;
  }
  std::string f;
  fault_sink = &f;
  kernel_name = name;
  tl_body = body;
  tl_arg = arg;
  gridDim = grid;
  blockDim = block;
  const unsigned n = block.x * block.y * block.z;
  for (unsigned bz = 0; bz < grid.z && f.empty(); bz++) {
    for (unsigned by = 0; by < grid.y && f.empty(); by++) {
      for (unsigned bx = 0; bx < grid.x && f.empty(); bx++) {
        blockIdx = {bx, by, bz};
        if (cooperative) {
          run_block_fibers(n);
          continue;
        }
        for (unsigned tz = 0; tz < block.z; tz++) {
          for (unsigned ty = 0; ty < block.y; ty++) {
            for (unsigned tx = 0; tx < block.x; tx++) {
              threadIdx = {tx, ty, tz};
              body(arg);
            }
          }
        }
      }
    }
  }
  fault_sink = nullptr;
  tl_body = nullptr;
  tl_arg = nullptr;
  if (!f.empty()) {
    *why = f;
    return false;
  }
  return true;
}

}  // namespace hostdev

static inline void __syncthreads() { hostdev::block_barrier(); }
template <class T>
static T __shfl_down_sync(unsigned, T v, int delta) {
  const int lane = (int)(hostdev::linear_tid() & 31);
  return hostdev::shfl(v, lane + delta < 32 ? lane + delta : lane);
}
template <class T>
static T __shfl_up_sync(unsigned, T v, int delta) {
  const int lane = (int)(hostdev::linear_tid() & 31);
  return hostdev::shfl(v, lane - delta >= 0 ? lane - delta : lane);
}

static int atomicCAS(int* p, int compare, int value) {
  if (hostdev::device_memory != nullptr && !hostdev::device_memory(p, sizeof(int))) {
    char where[64];
    std::snprintf(where, sizeof where, "%p", static_cast<void*>(p));
    hostdev::fault(std::string("atomicCAS on ") + where +
                   ", which is not device memory; the emulated device has no host-native atomics"
                   " (CU_DEVICE_ATTRIBUTE_HOST_NATIVE_ATOMIC_SUPPORTED = 0), so an atomic on"
                   " mapped host memory is a fault here");
  }
  __atomic_compare_exchange_n(p, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return compare;
}

static int atomicMin(int* p, int value) {
  if (hostdev::device_memory != nullptr && !hostdev::device_memory(p, sizeof(int))) {
    char where[64];
    std::snprintf(where, sizeof where, "%p", static_cast<void*>(p));
    hostdev::fault(std::string("atomicMin on ") + where +
                   ", which is not device memory; the emulated device has no host-native atomics");
  }
  int old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
  while (value < old &&
         !__atomic_compare_exchange_n(p, &old, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
  }
  return old;
}
