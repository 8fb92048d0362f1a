// Shared declarations of the emulated CUDA driver: a TEST FIXTURE that stands in for
// libcuda.so.1 so the CUDA backend's tests run on machines without a GPU (see README.md).
// driver.cpp implements the driver API; kernels.cpp runs the kernels of particle_ops.cu on the
// host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fsemu {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

// One kernel the emulator can run: its parameters as cuLaunchKernel passes them (sizes, and which
// are pointers, so they can be checked against live memory before the kernel runs) and its host
// emulation, called once per GPU thread with the parameters' values in 8-byte slots.
struct KernelDef {
  std::string name;
  std::vector<size_t> sizes;
  std::vector<bool> pointers;
  // Uses __syncthreads or warp shuffles: the threads of a block run as fibers that meet at
  // barriers. Otherwise the threads run one after another.
  bool cooperative = false;
  void (*invoke)(const uint64_t* slots) = nullptr;
};

// The kernel named `name`, or null (kernels.cpp).
const KernelDef* find_kernel(const std::string& name);

// Runs one launch on the calling thread. False, with `why` set, if the kernel faulted (a barrier
// no thread can pass, an atomic on memory that is not device memory).
bool run_kernel(const KernelDef& k, Dim3 grid, Dim3 block, const uint64_t* slots,
                std::string* why);

// Whether [p, p + n) lies in live device memory (driver.cpp); used by the emulated atomics.
bool is_device_memory(const void* p, size_t n);

}  // namespace fsemu
