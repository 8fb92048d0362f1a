// The emulated CUDA driver API: the subset of libcuda.so.1 that flowscale's bindings use
// (bindings/src/main/java/org/flowscale/bindings/cuda/CudaDriver.java), backed by host memory
// and host threads. A TEST FIXTURE: tests select it with -Dflowscale.cuda.driver=PATH; nothing in
// the product looks for it. See README.md for what it models and what it does not.
//
// What it is strict about, because the real driver is (or may be):
//  - every stream has its own worker thread, so work is truly asynchronous; an optional delay
//    before each piece of stream work (fsemu_set_delay_us, or FSEMU_DELAY_US) makes races certain;
//  - cuMemFree frees at once, without waiting for queued work (the real driver "may" wait);
//  - device memory is never reused, and every pointer a copy, memset or kernel uses is checked
//    against the live allocations when the work runs: work that touches freed memory faults with
//    a sticky CUDA_ERROR_ILLEGAL_ADDRESS that every later call of the context returns;
//  - handles are never reused: a destroyed stream, event, module or graph, or one that died with
//    its context, is reported as such instead of being undefined behaviour;
//  - modules are PTX text whose .version, .target and kernel parameters are checked; a failure
//    fills the JIT error log of cuModuleLoadDataEx;
//  - stream capture records into replayable graphs; synchronising a capturing stream invalidates
//    the capture.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "emu.h"

#define API extern "C" __attribute__((visibility("default")))

using CUresult = int;
using CUdeviceptr = unsigned long long;
using Handle = void*;

namespace {

enum : int {
  OK = 0,
  E_INVALID_VALUE = 1,
  E_OUT_OF_MEMORY = 2,
  E_NOT_INITIALIZED = 3,
  E_INVALID_DEVICE = 101,
  E_INVALID_IMAGE = 200,
  E_INVALID_CONTEXT = 201,
  E_INVALID_PTX = 218,
  E_UNSUPPORTED_PTX_VERSION = 222,
  E_INVALID_HANDLE = 400,
  E_ILLEGAL_STATE = 401,
  E_NOT_FOUND = 500,
  E_NOT_READY = 600,
  E_ILLEGAL_ADDRESS = 700,
  E_CONTEXT_IS_DESTROYED = 709,
  E_LAUNCH_FAILED = 719,
  E_NOT_SUPPORTED = 801,
  E_CAPTURE_UNSUPPORTED = 900,
  E_CAPTURE_INVALIDATED = 901,
  E_UNKNOWN = 999,
};

struct ErrorInfo {
  int code;
  const char* name;
  const char* text;
};

const ErrorInfo ERRORS[] = {
    {OK, "CUDA_SUCCESS", "no error"},
    {E_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {E_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {E_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {E_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {E_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {E_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {E_INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {E_UNSUPPORTED_PTX_VERSION, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
     "the provided PTX was compiled with an unsupported toolchain."},
    {E_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {E_ILLEGAL_STATE, "CUDA_ERROR_ILLEGAL_STATE",
     "the operation cannot be performed in the present state"},
    {E_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {E_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
    {E_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {E_CONTEXT_IS_DESTROYED, "CUDA_ERROR_CONTEXT_IS_DESTROYED", "context is destroyed"},
    {E_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {E_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {E_CAPTURE_UNSUPPORTED, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
     "operation not permitted when stream is capturing"},
    {E_CAPTURE_INVALIDATED, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
     "operation failed due to a previous error during capture"},
    {E_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

const ErrorInfo* error_info(int code) {
  for (const ErrorInfo& e : ERRORS) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

// Why the last failing call on this thread failed; cuGetErrorString appends it to the driver's
// text, so a CudaException on the Java side says what the emulator objected to.
thread_local int tl_note_code = 0;
thread_local std::string tl_note;
thread_local std::string tl_text;

CUresult fail(int code, std::string note) {
  tl_note_code = code;
  tl_note = std::move(note);
  return code;
}

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// ---- the emulated device ----

constexpr size_t TOTAL_MEMORY = 16ull << 30;
constexpr size_t PAGE = 4096;
constexpr int DRIVER_VERSION = 13000;  // CUDA 13.0: PTX ISA up to 9.0
constexpr int PTX_MAJOR = 9, PTX_MINOR = 0;
constexpr int SM = 90;
const char* const DEVICE_NAME = "flowscale emulated CUDA device (test fixture, not a GPU)";

int multiprocessors() {
  const char* s = std::getenv("FSEMU_SMS");
  int n = s ? std::atoi(s) : 0;
  return n > 0 ? n : 4;
}

std::atomic<unsigned> g_delay_us{0};

// ---- handles ----

enum Kind { CONTEXT, STREAM, EVENT, MODULE, FUNCTION, GRAPH, GRAPH_EXEC };
const char* const KIND_NAMES[] = {"context", "stream", "event", "module", "function", "graph",
                                  "graph exec"};

struct Context;

// Objects are never deleted: a stale handle, or work still queued on a worker, can always be
// told apart from a live one without touching freed memory.
struct Object {
  uint64_t handle = 0;
  Kind kind = CONTEXT;
  Context* ctx = nullptr;
  virtual ~Object() = default;
};

struct Event;

struct Node {
  enum Type { KERNEL, MEMSET, COPY, RECORD } type = KERNEL;
  // kernel
  const fsemu::KernelDef* kernel = nullptr;
  fsemu::Dim3 grid, block;
  std::vector<uint64_t> args;
  // memset, copy
  enum Dir { HTOD, DTOH, DTOD } dir = DTOD;
  uint64_t dst = 0, src = 0;
  size_t bytes = 0;
  uint32_t value = 0;
  int width = 0;
  // event record
  Event* event = nullptr;
  uint64_t generation = 0;
};

struct Stream : Object {
  unsigned flags = 0;
  bool legacy = false;  // the context's NULL stream
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<Node>> queue;
  uint64_t submitted = 0, finished = 0;
  bool stop = false;
  bool capturing = false, capture_invalid = false;
  std::string capture_why;
  std::vector<Node> captured;
  std::thread worker;
};

struct Context : Object {
  int retains = 0;
  std::atomic<int> sticky{0};
  std::mutex sticky_mu;
  std::string sticky_why;
  std::vector<Stream*> streams;  // live streams, under g_mu
  Stream* legacy = nullptr;
};

struct Event : Object {
  unsigned flags = 0;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t recorded = 0, completed = 0;
  std::chrono::steady_clock::time_point when;
};

struct Function;

struct Module : Object {
  std::map<std::string, Function*> functions;
};

struct Function : Object {
  const fsemu::KernelDef* kernel = nullptr;
  Module* module = nullptr;
};

struct Graph : Object {
  std::vector<Node> nodes;
};

std::mutex g_mu;  // the handle tables and contexts
bool g_init = false;
uint64_t g_next = 0xC0DA0000;
std::unordered_map<uint64_t, Object*>* g_live = new std::unordered_map<uint64_t, Object*>();
std::unordered_map<uint64_t, std::string>* g_dead = new std::unordered_map<uint64_t, std::string>();
Context* g_primary = nullptr;
thread_local uint64_t tl_ctx = 0;

struct LaunchStat {
  int count = 0;
  fsemu::Dim3 grid, block;
};
std::mutex g_stats_mu;
std::map<std::string, LaunchStat>* g_stats = new std::map<std::string, LaunchStat>();

// Under g_mu.
template <class T>
T* add(T* o, Kind kind, Context* ctx) {
  o->handle = (g_next += 0x10);
  o->kind = kind;
  o->ctx = ctx;
  (*g_live)[o->handle] = o;
  return o;
}

// Under g_mu.
void kill(Object* o, const std::string& how) {
  g_live->erase(o->handle);
  (*g_dead)[o->handle] = how;
}

// The live object of `kind` behind `h`, or null with the error set (takes g_mu).
template <class T>
T* lookup(Handle h, Kind kind, const char* call, CUresult* r) {
  const uint64_t key = reinterpret_cast<uint64_t>(h);
  std::lock_guard<std::mutex> l(g_mu);
  auto it = g_live->find(key);
  if (it != g_live->end() && it->second->kind == kind) return static_cast<T*>(it->second);
  auto d = g_dead->find(key);
  if (d != g_dead->end()) {
    const bool with_ctx = d->second.find("context") != std::string::npos;
    *r = fail(with_ctx ? E_CONTEXT_IS_DESTROYED : E_INVALID_HANDLE,
              std::string(call) + ": " + KIND_NAMES[kind] + " " + hex(key) + " " + d->second +
                  (with_ctx ? " (undefined behaviour with a real driver)" : ""));
  } else {
    *r = fail(E_INVALID_HANDLE, std::string(call) + ": " + hex(key) + " is not a live " +
                                    KIND_NAMES[kind]);
  }
  return nullptr;
}

CUresult sticky_error(Context* c) {
  std::lock_guard<std::mutex> l(c->sticky_mu);
  return fail(c->sticky.load(), "an earlier fault left the context unusable: " + c->sticky_why);
}

void set_sticky(Context* c, int code, const std::string& why) {
  std::lock_guard<std::mutex> l(c->sticky_mu);
  if (c->sticky.load() == 0) {
    c->sticky_why = why;
    c->sticky.store(code);
    std::fprintf(stderr, "[emulated CUDA driver] %s: %s\n", error_info(code)->name, why.c_str());
  }
}

// The calling thread's context, checked; null with the error set.
Context* current(const char* call, CUresult* r) {
  if (!g_init) {
    *r = fail(E_NOT_INITIALIZED, std::string(call) + ": cuInit has not been called");
    return nullptr;
  }
  if (tl_ctx == 0) {
    *r = fail(E_INVALID_CONTEXT, std::string(call) + ": no context is current on this thread");
    return nullptr;
  }
  return lookup<Context>(reinterpret_cast<Handle>(tl_ctx), CONTEXT, call, r);
}

// Current context that is not in an error state.
Context* usable(const char* call, CUresult* r) {
  Context* c = current(call, r);
  if (c != nullptr && c->sticky.load() != 0) {
    *r = sticky_error(c);
    return nullptr;
  }
  return c;
}

// ---- memory ----

struct Region {
  uintptr_t base = 0;
  size_t size = 0, mapped = 0;
  bool host = false, live = true;
  Context* ctx = nullptr;
  std::string freed;
};

std::mutex g_mem_mu;  // the region table
std::map<uintptr_t, Region>* g_regions = new std::map<uintptr_t, Region>();
// Held shared while stream work runs and exclusively by frees, so memory never goes away under
// a kernel that is running; work still queued finds it gone.
std::shared_mutex g_exec_mu;
uintptr_t g_bump = 0, g_arena_end = 0;
size_t g_device_bytes = 0;

bool reserve_arena() {
  // Virtual address space only: allocations never reuse an address, so a stale pointer never
  // aliases newer memory. Pages are committed as allocations are made and returned on free.
  for (size_t gib = 256; gib >= 4; gib /= 2) {
    void* p = mmap(nullptr, gib << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p != MAP_FAILED) {
      g_bump = reinterpret_cast<uintptr_t>(p);
      g_arena_end = g_bump + (gib << 30);
      return true;
    }
  }
  return false;
}

// Under g_mem_mu.
const Region* region_of(uintptr_t p) {
  auto it = g_regions->upper_bound(p);
  if (it == g_regions->begin()) return nullptr;
  --it;
  return p < it->second.base + it->second.mapped ? &it->second : nullptr;
}

// Empty when [p, p + n) is live memory of `ctx` that the device can touch, else why not.
std::string check_range(Context* ctx, uint64_t p, size_t n, const std::string& what) {
  std::lock_guard<std::mutex> l(g_mem_mu);
  const Region* r = region_of(p);
  if (r == nullptr) return what + " " + hex(p) + " is not memory of the device (nor mapped host memory)";
  if (!r->live) return what + " " + hex(p) + " points into memory " + r->freed;
  if (r->ctx != ctx) return what + " " + hex(p) + " belongs to another context";
  if (n > r->base + r->size - p) {
    return what + " [" + hex(p) + ", +" + std::to_string(n) + ") runs past the end of its " +
           std::to_string(r->size) + "-byte allocation";
  }
  return "";
}

CUresult allocate(Context* c, size_t bytes, bool host, uintptr_t* out, const char* call) {
  if (bytes == 0) return fail(E_INVALID_VALUE, std::string(call) + ": size 0");
  if (bytes > TOTAL_MEMORY) {
    return fail(E_OUT_OF_MEMORY, std::string(call) + ": " + std::to_string(bytes) +
                                     " bytes is more than the emulated device's 16 GiB");
  }
  const size_t mapped = (bytes + PAGE - 1) / PAGE * PAGE;
  std::lock_guard<std::mutex> l(g_mem_mu);
  if (!host && g_device_bytes + bytes > TOTAL_MEMORY) {
    return fail(E_OUT_OF_MEMORY, std::string(call) + ": the emulated device's 16 GiB are in use");
  }
  if (g_arena_end - g_bump < mapped + PAGE) {
    return fail(E_OUT_OF_MEMORY,
                std::string(call) + ": the address space reserved for the emulator is used up");
  }
  const uintptr_t base = g_bump;
  g_bump += mapped + PAGE;  // one guard page after every allocation
  if (mprotect(reinterpret_cast<void*>(base), mapped, PROT_READ | PROT_WRITE) != 0) {
    return fail(E_OUT_OF_MEMORY, std::string(call) + ": mprotect failed");
  }
  Region r;
  r.base = base;
  r.size = bytes;
  r.mapped = mapped;
  r.host = host;
  r.ctx = c;
  (*g_regions)[base] = r;
  if (!host) g_device_bytes += bytes;
  *out = base;
  return OK;
}

// Under g_mem_mu and g_exec_mu (exclusive).
void release(Region& r, const char* how) {
  void* p = reinterpret_cast<void*>(r.base);
  madvise(p, r.mapped, MADV_DONTNEED);
  mprotect(p, r.mapped, PROT_NONE);
  r.live = false;
  r.freed = how;
  if (!r.host) g_device_bytes -= r.size;
}

CUresult free_region(uint64_t p, bool host, const char* call) {
  std::unique_lock<std::shared_mutex> x(g_exec_mu);
  std::lock_guard<std::mutex> l(g_mem_mu);
  auto it = g_regions->find(p);
  if (it == g_regions->end() || it->second.host != host) {
    return fail(E_INVALID_VALUE, std::string(call) + ": " + hex(p) + " is not the start of an " +
                                     (host ? "cuMemHostAlloc" : "cuMemAlloc") + " allocation");
  }
  if (!it->second.live) {
    return fail(E_INVALID_VALUE, std::string(call) + ": " + hex(p) + " was " + it->second.freed);
  }
  release(it->second, host ? "freed by cuMemFreeHost" : "freed by cuMemFree");
  return OK;
}

// ---- stream work ----

void complete(Event* e, uint64_t generation) {
  {
    std::lock_guard<std::mutex> l(e->mu);
    e->completed = std::max(e->completed, generation);
    e->when = std::chrono::steady_clock::now();
  }
  e->cv.notify_all();
}

// Runs one node; empty on success, else the fault (and its code in *code).
std::string run(Context* c, const Node& n, int* code) {
  *code = E_ILLEGAL_ADDRESS;
  switch (n.type) {
    case Node::KERNEL: {
      for (size_t i = 0; i < n.args.size(); i++) {
        if (n.kernel->pointers[i] && n.args[i] != 0) {
          std::string why = check_range(c, n.args[i], 1,
                                        n.kernel->name + " parameter " + std::to_string(i));
          if (!why.empty()) return why;
        }
      }
      std::string why;
      if (!fsemu::run_kernel(*n.kernel, n.grid, n.block, n.args.data(), &why)) {
        *code = why.find("atomic") != std::string::npos ? E_ILLEGAL_ADDRESS : E_LAUNCH_FAILED;
        return why;
      }
      return "";
    }
    case Node::MEMSET: {
      std::string why = check_range(c, n.dst, n.bytes, "memset destination");
      if (!why.empty()) return why;
      if (n.width == 4) {
        uint32_t* p = reinterpret_cast<uint32_t*>(n.dst);
        std::fill(p, p + n.bytes / 4, n.value);
      } else {
        uint16_t* p = reinterpret_cast<uint16_t*>(n.dst);
        std::fill(p, p + n.bytes / 2, static_cast<uint16_t>(n.value));
      }
      return "";
    }
    case Node::COPY: {
      if (n.dir != Node::HTOD) {
        std::string why = check_range(c, n.src, n.bytes, "copy source");
        if (!why.empty()) return why;
      }
      if (n.dir != Node::DTOH) {
        std::string why = check_range(c, n.dst, n.bytes, "copy destination");
        if (!why.empty()) return why;
      }
      std::memmove(reinterpret_cast<void*>(n.dst), reinterpret_cast<const void*>(n.src), n.bytes);
      return "";
    }
    case Node::RECORD:
      return "";
  }
  return "";
}

void execute(Stream* s, const std::vector<Node>& work) {
  for (const Node& n : work) {
    if (n.type == Node::RECORD) {
      complete(n.event, n.generation);
      continue;
    }
    if (s->ctx->sticky.load() != 0) continue;  // a faulted context runs nothing more
    int code = 0;
    std::string why;
    {
      std::shared_lock<std::shared_mutex> x(g_exec_mu);
      why = run(s->ctx, n, &code);
    }
    if (!why.empty()) set_sticky(s->ctx, code, "stream " + hex(s->handle) + ": " + why);
  }
}

void worker_main(Stream* s) {
  for (;;) {
    std::vector<Node> work;
    {
      std::unique_lock<std::mutex> l(s->mu);
      s->cv.wait(l, [&] { return !s->queue.empty() || s->stop; });
      if (s->queue.empty()) return;
      work = std::move(s->queue.front());
      s->queue.pop_front();
    }
    const unsigned delay = g_delay_us.load();
    if (delay > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay));
    execute(s, work);
    {
      std::lock_guard<std::mutex> l(s->mu);
      s->finished++;
    }
    s->cv.notify_all();
  }
}

// Under g_mu.
Stream* new_stream(Context* c, unsigned flags, bool legacy) {
  Stream* s = add(new Stream(), STREAM, c);
  s->flags = flags;
  s->legacy = legacy;
  s->worker = std::thread(worker_main, s);
  if (legacy) {
    c->legacy = s;
  } else {
    c->streams.push_back(s);
  }
  return s;
}

// The stream behind a handle of `c` (0 and the legacy/per-thread handles: the NULL stream).
Stream* stream_of(Handle h, Context* c, const char* call, CUresult* r) {
  const uint64_t v = reinterpret_cast<uint64_t>(h);
  if (v <= 2) {
    std::lock_guard<std::mutex> l(g_mu);
    return c->legacy != nullptr ? c->legacy : new_stream(c, 0, true);
  }
  Stream* s = lookup<Stream>(h, STREAM, call, r);
  if (s != nullptr && s->ctx != c) {
    *r = fail(E_INVALID_HANDLE, std::string(call) + ": the stream belongs to another context");
    return nullptr;
  }
  return s;
}

void drain(Stream* s) {
  std::unique_lock<std::mutex> l(s->mu);
  s->cv.wait(l, [&] { return s->finished == s->submitted; });
}

// Queues work on a stream, or records it into the stream's capture.
void submit(Stream* s, std::vector<Node> nodes) {
  {
    std::lock_guard<std::mutex> l(s->mu);
    if (s->capturing) {
      for (Node& n : nodes) s->captured.push_back(std::move(n));
      return;
    }
    s->queue.push_back(std::move(nodes));
    s->submitted++;
  }
  s->cv.notify_all();
}

// A call that is illegal on a capturing stream: invalidates the capture and fails.
bool refuse_if_capturing(Stream* s, const char* call, CUresult* r) {
  std::lock_guard<std::mutex> l(s->mu);
  if (!s->capturing) return false;
  s->capture_invalid = true;
  s->capture_why = std::string(call) + " on the capturing stream";
  *r = fail(E_CAPTURE_UNSUPPORTED, std::string(call) + " is not allowed on a capturing stream");
  return true;
}

// Synchronous copies run on the legacy stream, which waits for the blocking streams.
void legacy_sync(Context* c) {
  std::vector<Stream*> all;
  {
    std::lock_guard<std::mutex> l(g_mu);
    for (Stream* s : c->streams) {
      if ((s->flags & 1) == 0) all.push_back(s);
    }
    if (c->legacy != nullptr) all.push_back(c->legacy);
  }
  for (Stream* s : all) drain(s);
}

CUresult copy_now(Context* c, Node n) {
  legacy_sync(c);
  int code = 0;
  std::string why;
  {
    std::shared_lock<std::shared_mutex> x(g_exec_mu);
    why = run(c, n, &code);
  }
  return why.empty() ? OK : fail(E_INVALID_VALUE, why);
}

CUresult copy_async(Node::Dir dir, uint64_t dst, uint64_t src, size_t bytes, Handle hs,
                    const char* call) {
  CUresult r = OK;
  Context* c = usable(call, &r);
  if (c == nullptr) return r;
  Stream* s = stream_of(hs, c, call, &r);
  if (s == nullptr) return r;
  if (bytes == 0) return OK;
  if (dir != Node::HTOD) {
    std::string why = check_range(c, src, bytes, std::string(call) + ": source");
    if (!why.empty()) return fail(E_INVALID_VALUE, why);
  }
  if (dir != Node::DTOH) {
    std::string why = check_range(c, dst, bytes, std::string(call) + ": destination");
    if (!why.empty()) return fail(E_INVALID_VALUE, why);
  }
  Node n;
  n.type = Node::COPY;
  n.dir = dir;
  n.dst = dst;
  n.src = src;
  n.bytes = bytes;
  submit(s, {n});
  return OK;
}

CUresult copy_sync(Node::Dir dir, uint64_t dst, uint64_t src, size_t bytes, const char* call) {
  CUresult r = OK;
  Context* c = usable(call, &r);
  if (c == nullptr) return r;
  if (bytes == 0) return OK;
  Node n;
  n.type = Node::COPY;
  n.dir = dir;
  n.dst = dst;
  n.src = src;
  n.bytes = bytes;
  return copy_now(c, n);
}

CUresult memset_async(uint64_t dst, uint32_t value, size_t count, int width, Handle hs,
                      const char* call) {
  CUresult r = OK;
  Context* c = usable(call, &r);
  if (c == nullptr) return r;
  Stream* s = stream_of(hs, c, call, &r);
  if (s == nullptr) return r;
  if (dst % width != 0) {
    return fail(E_INVALID_VALUE, std::string(call) + ": " + hex(dst) + " is not " +
                                     std::to_string(width) + "-byte aligned");
  }
  if (count == 0) return OK;
  std::string why = check_range(c, dst, count * width, call);
  if (!why.empty()) return fail(E_INVALID_VALUE, why);
  Node n;
  n.type = Node::MEMSET;
  n.dst = dst;
  n.bytes = count * width;
  n.value = value;
  n.width = width;
  submit(s, {n});
  return OK;
}

// ---- PTX ----

struct Entry {
  std::string name;
  std::vector<size_t> sizes;
};

std::string strip_comments(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') i++;
    } else if (s.compare(i, 2, "/*") == 0) {
      size_t e = s.find("*/", i + 2);
      for (size_t k = i; k < std::min(s.size(), e == std::string::npos ? s.size() : e + 2); k++) {
        if (s[k] == '\n') o += '\n';
      }
      i = e == std::string::npos ? s.size() : e + 2;
    } else {
      o += s[i++];
    }
  }
  return o;
}

int line_of(const std::string& s, size_t pos) {
  return 1 + (int)std::count(s.begin(), s.begin() + std::min(pos, s.size()), '\n');
}

size_t type_size(const std::string& t) {
  static const char* const kTypes[][2] = {
      {".u8", "1"},  {".s8", "1"},  {".b8", "1"},  {".u16", "2"}, {".s16", "2"},
      {".b16", "2"}, {".f16", "2"}, {".u32", "4"}, {".s32", "4"}, {".b32", "4"},
      {".f32", "4"}, {".u64", "8"}, {".s64", "8"}, {".b64", "8"}, {".f64", "8"}};
  for (auto& k : kTypes) {
    if (t == k[0]) return (size_t)std::atoi(k[1]);
  }
  return 0;
}


// The whitespace-separated token at or after *pos; *pos moves past it.
std::string next_token(const std::string& s, size_t* pos, size_t* start = nullptr) {
  const size_t b = s.find_first_not_of(" \t\r\n", *pos);
  if (b == std::string::npos) {
    *pos = s.size();
    if (start != nullptr) *start = s.size();
    return "";
  }
  size_t e = s.find_first_of(" \t\r\n", b);
  if (e == std::string::npos) e = s.size();
  *pos = e;
  if (start != nullptr) *start = b;
  return s.substr(b, e - b);
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Checks a PTX module as far as the emulator can judge it (what a driver/PTX mismatch would make
// the real JIT reject) and lists its kernels with their parameter sizes.
CUresult parse_ptx(const std::string& raw, std::vector<Entry>* entries, std::string* log) {
  const std::string s = strip_comments(raw);
  size_t pos = 0, at = 0;
  std::string tok = next_token(s, &pos, &at);
  if (tok != ".version") {
    *log = "ptx input, line " + std::to_string(line_of(s, at)) + "; fatal : Parsing error near '" +
           tok.substr(0, 40) + "': syntax error (emulated driver: PTX starts with .version)";
    return E_INVALID_PTX;
  }
  std::string version = next_token(s, &pos, &at);
  int major = -1, minor = -1;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) {
    *log = "ptx input, line " + std::to_string(line_of(s, at)) + "; fatal : Parsing error near '" +
           version.substr(0, 40) + "': syntax error";
    return E_INVALID_PTX;
  }
  if (major > PTX_MAJOR || (major == PTX_MAJOR && minor > PTX_MINOR)) {
    *log = "ptxas application ptx input, line " + std::to_string(line_of(s, at)) +
           "; fatal : Unsupported .version " + version + "; current version is '" +
           std::to_string(PTX_MAJOR) + "." + std::to_string(PTX_MINOR) + "'";
    return E_UNSUPPORTED_PTX_VERSION;
  }
  size_t t = s.find(".target");
  if (t == std::string::npos) {
    *log = "ptx input: fatal : no .target directive";
    return E_INVALID_PTX;
  }
  size_t tp = t + 7;
  std::string target = next_token(s, &tp);
  int sm = 0;
  if (std::sscanf(target.c_str(), "sm_%d", &sm) != 1) {
    *log = "ptx input, line " + std::to_string(line_of(s, t)) + "; fatal : Parsing error near '" +
           target.substr(0, 40) + "': syntax error";
    return E_INVALID_PTX;
  }
  if (sm > SM) {
    *log = "ptxas application ptx input, line " + std::to_string(line_of(s, t)) +
           "; fatal : SM version specified by .target is higher than default SM version assumed"
           " (.target " + target + "; the emulated device is sm_" + std::to_string(SM) + ")";
    return E_INVALID_PTX;
  }
  for (size_t k = s.find(".entry"); k != std::string::npos; k = s.find(".entry", k + 6)) {
    const size_t open = s.find('(', k), close = open == std::string::npos ? open : s.find(')', open);
    Entry e;
    if (open != std::string::npos) e.name = trim(s.substr(k + 6, open - k - 6));
    if (close == std::string::npos || e.name.empty() ||
        e.name.find_first_of(" \t\r\n") != std::string::npos) {
      *log = "ptx input, line " + std::to_string(line_of(s, k)) +
             "; fatal : Parsing error near '.entry': syntax error";
      return E_INVALID_PTX;
    }
    const std::string params = s.substr(open + 1, close - open - 1);
    size_t b = 0;
    while (b <= params.size()) {
      size_t c = params.find(',', b);
      if (c == std::string::npos) c = params.size();
      const std::string p = trim(params.substr(b, c - b));
      b = c + 1;
      if (p.empty()) continue;
      size_t q = 0, size = 0;
      bool is_param = false;
      std::string last;
      for (std::string w = next_token(p, &q); !w.empty(); w = next_token(p, &q)) {
        if (w == ".param") is_param = true;
        if (size == 0) size = type_size(w);
        last = w;
      }
      const size_t bracket = last.find('[');
      if (bracket != std::string::npos) size *= (size_t)std::atoi(last.c_str() + bracket + 1);
      if (!is_param || size == 0) {
        *log = "ptx input, line " + std::to_string(line_of(s, k)) + "; fatal : kernel '" +
               e.name + "': cannot read parameter '" + p + "'";
        return E_INVALID_PTX;
      }
      e.sizes.push_back(size);
    }
    entries->push_back(e);
  }
  return OK;
}

// Fills CU_JIT_ERROR_LOG_BUFFER if one was given; true if so.
bool write_log(unsigned n, const int* options, void** values, const std::string& log) {
  char* buffer = nullptr;
  int size_slot = -1;
  for (unsigned i = 0; i < n; i++) {
    if (options[i] == 5) buffer = static_cast<char*>(values[i]);  // CU_JIT_ERROR_LOG_BUFFER
    if (options[i] == 6) size_slot = (int)i;                      // ..._SIZE_BYTES
    if (options[i] == 4) values[i] = nullptr;  // CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES: nothing
  }
  if (size_slot < 0) return false;
  const size_t capacity = reinterpret_cast<uintptr_t>(values[size_slot]);
  size_t written = 0;
  if (buffer != nullptr && capacity > 0) {
    written = std::min(log.size(), capacity - 1);
    std::memcpy(buffer, log.data(), written);
    buffer[written] = '\0';
    written++;
  }
  values[size_slot] = reinterpret_cast<void*>(static_cast<uintptr_t>(log.empty() ? 0 : written));
  return buffer != nullptr;
}

CUresult load_module(Handle* out, const void* image, unsigned n, const int* options,
                     void** values, const char* call) {
  CUresult r = OK;
  Context* c = usable(call, &r);
  if (c == nullptr) return r;
  if (out == nullptr || image == nullptr) return fail(E_INVALID_VALUE, std::string(call) + ": null");
  if (n > 0 && (options == nullptr || values == nullptr)) {
    return fail(E_INVALID_VALUE, std::string(call) + ": options without values");
  }
  const char* text = static_cast<const char*>(image);
  std::string log;
  std::vector<Entry> entries;
  CUresult code = OK;
  if (std::memcmp(text, "\x7f" "ELF", 4) == 0) {
    code = E_NOT_SUPPORTED;
    log = "emulated driver: cubin images are not supported, only PTX text";
  } else {
    code = parse_ptx(std::string(text, strnlen(text, 64u << 20)), &entries, &log);
  }
  // PTX built by kernels/build-ptx.sh names its source's hash: it must be the source the
  // emulator's kernels were compiled from, or the emulator would run other code than the PTX.
  static const char kStamp[] = "// flowscale source sha256 ";
  const char* stamp = code == OK ? std::strstr(text, kStamp) : nullptr;
  if (stamp != nullptr) {
    const std::string sha(stamp + sizeof kStamp - 1, strnlen(stamp + sizeof kStamp - 1, 64));
    if (sha != FSEMU_KERNELS_SHA256) {
      code = E_INVALID_PTX;
      log = "emulated driver: this PTX was built from a particle_ops.cu with sha256 " + sha +
            ", the emulator from one with sha256 " FSEMU_KERNELS_SHA256
            ": rebuild the emulator (bin/test does)";
    }
  }
  std::vector<const fsemu::KernelDef*> defs;
  for (size_t i = 0; code == OK && i < entries.size(); i++) {
    const fsemu::KernelDef* d = fsemu::find_kernel(entries[i].name);
    if (d == nullptr) {
      code = E_NOT_SUPPORTED;
      log = "emulated driver: no host emulation of kernel '" + entries[i].name +
            "' (it runs flowscale's kernels of particle_ops.cu and the bindings test's add_one)";
    } else if (d->sizes != entries[i].sizes) {
      std::string want, got;
      for (size_t z : d->sizes) want += " " + std::to_string(z);
      for (size_t z : entries[i].sizes) got += " " + std::to_string(z);
      code = E_INVALID_PTX;
      log = "emulated driver: kernel '" + entries[i].name + "' takes parameters of" + got +
            " bytes in the PTX but" + want + " in its host emulation: is the PTX older than the"
            " .cu source the emulator was built from?";
    }
    defs.push_back(d);
  }
  const bool logged = write_log(n, options, values, code == OK ? "" : log);
  if (code != OK) return fail(code, std::string(call) + ": " + (logged ? "see the JIT error log" : log));
  std::lock_guard<std::mutex> l(g_mu);
  Module* m = add(new Module(), MODULE, c);
  for (size_t i = 0; i < entries.size(); i++) {
    Function* f = add(new Function(), FUNCTION, c);
    f->kernel = defs[i];
    f->module = m;
    m->functions[entries[i].name] = f;
  }
  *out = reinterpret_cast<Handle>(m->handle);
  return OK;
}

// Finishes the context's work, stops its streams and frees everything it owned.
void destroy_context(Context* c) {
  std::vector<Stream*> streams;
  {
    std::lock_guard<std::mutex> l(g_mu);
    for (Stream* s : c->streams) streams.push_back(s);
    if (c->legacy != nullptr) streams.push_back(c->legacy);
    c->streams.clear();
    c->legacy = nullptr;
  }
  for (Stream* s : streams) {
    {
      std::lock_guard<std::mutex> l(s->mu);
      s->stop = true;
    }
    s->cv.notify_all();
    if (s->worker.joinable()) s->worker.join();
  }
  {
    std::lock_guard<std::mutex> l(g_mu);
    std::vector<Object*> owned;
    for (auto& kv : *g_live) {
      if (kv.second->ctx == c) owned.push_back(kv.second);
    }
    for (Object* o : owned) kill(o, "died with its context");
    kill(c, "was destroyed (the primary context's last retain was released)");
  }
  std::unique_lock<std::shared_mutex> x(g_exec_mu);
  std::lock_guard<std::mutex> l(g_mem_mu);
  for (auto& kv : *g_regions) {
    if (kv.second.ctx == c && kv.second.live) release(kv.second, "freed with its context");
  }
}

}  // namespace

// ---- fsemu::is_device_memory, for the emulated atomics ----

bool fsemu::is_device_memory(const void* p, size_t n) {
  std::lock_guard<std::mutex> l(g_mem_mu);
  const Region* r = region_of(reinterpret_cast<uintptr_t>(p));
  return r != nullptr && r->live && !r->host &&
         n <= r->base + r->size - reinterpret_cast<uintptr_t>(p);
}

// ---- errors ----

API CUresult cuGetErrorName(CUresult code, const char** out) {
  const ErrorInfo* e = error_info(code);
  if (out == nullptr) return E_INVALID_VALUE;
  *out = e != nullptr ? e->name : nullptr;
  return e != nullptr ? OK : E_INVALID_VALUE;
}

API CUresult cuGetErrorString(CUresult code, const char** out) {
  const ErrorInfo* e = error_info(code);
  if (out == nullptr) return E_INVALID_VALUE;
  if (e == nullptr) {
    *out = nullptr;
    return E_INVALID_VALUE;
  }
  tl_text = e->text;
  if (tl_note_code == code && !tl_note.empty()) tl_text += " [emulated driver: " + tl_note + "]";
  *out = tl_text.c_str();
  return OK;
}

// ---- initialisation, devices, contexts ----

API CUresult cuInit(unsigned flags) {
  if (flags != 0) return fail(E_INVALID_VALUE, "cuInit: flags must be 0");
  std::lock_guard<std::mutex> l(g_mu);
  if (!g_init) {
    if (!reserve_arena()) return fail(E_OUT_OF_MEMORY, "cuInit: cannot reserve address space");
    if (const char* d = std::getenv("FSEMU_DELAY_US")) g_delay_us.store((unsigned)std::atoi(d));
    g_init = true;
  }
  return OK;
}

API CUresult cuDriverGetVersion(int* v) {
  if (v == nullptr) return E_INVALID_VALUE;
  *v = DRIVER_VERSION;
  return OK;
}

API CUresult cuDeviceGetCount(int* n) {
  if (!g_init) return fail(E_NOT_INITIALIZED, "cuDeviceGetCount: cuInit has not been called");
  if (n == nullptr) return E_INVALID_VALUE;
  *n = 1;
  return OK;
}

API CUresult cuDeviceGet(int* device, int ordinal) {
  if (!g_init) return fail(E_NOT_INITIALIZED, "cuDeviceGet: cuInit has not been called");
  if (device == nullptr) return E_INVALID_VALUE;
  if (ordinal != 0) return fail(E_INVALID_DEVICE, "the emulator has one device, 0");
  *device = 0;
  return OK;
}

API CUresult cuDeviceGetName(char* name, int len, int device) {
  if (device != 0) return fail(E_INVALID_DEVICE, "the emulator has one device, 0");
  if (name == nullptr || len <= 0) return E_INVALID_VALUE;
  std::snprintf(name, (size_t)len, "%s", DEVICE_NAME);
  return OK;
}

API CUresult cuDeviceGetAttribute(int* v, int attribute, int device) {
  if (device != 0) return fail(E_INVALID_DEVICE, "the emulator has one device, 0");
  if (v == nullptr) return E_INVALID_VALUE;
  switch (attribute) {
    case 1: *v = 1024; break;        // MAX_THREADS_PER_BLOCK
    case 2: case 3: *v = 1024; break;  // MAX_BLOCK_DIM_X, _Y
    case 4: *v = 64; break;          // MAX_BLOCK_DIM_Z
    case 5: *v = 0x7FFFFFFF; break;  // MAX_GRID_DIM_X
    case 6: case 7: *v = 65535; break;
    case 8: *v = 48 * 1024; break;   // MAX_SHARED_MEMORY_PER_BLOCK
    case 10: *v = 32; break;         // WARP_SIZE
    case 16: *v = multiprocessors(); break;
    case 41: *v = 1; break;          // UNIFIED_ADDRESSING
    case 75: *v = SM / 10; break;    // COMPUTE_CAPABILITY_MAJOR
    case 76: *v = SM % 10; break;    // COMPUTE_CAPABILITY_MINOR
    case 86: *v = 0; break;          // HOST_NATIVE_ATOMIC_SUPPORTED
    default: *v = 0; break;
  }
  return OK;
}

API CUresult cuDeviceTotalMem_v2(size_t* bytes, int device) {
  if (device != 0) return fail(E_INVALID_DEVICE, "the emulator has one device, 0");
  if (bytes == nullptr) return E_INVALID_VALUE;
  *bytes = TOTAL_MEMORY;
  return OK;
}

API CUresult cuDevicePrimaryCtxRetain(Handle* out, int device) {
  if (!g_init) return fail(E_NOT_INITIALIZED, "cuDevicePrimaryCtxRetain: cuInit has not been called");
  if (device != 0) return fail(E_INVALID_DEVICE, "the emulator has one device, 0");
  if (out == nullptr) return E_INVALID_VALUE;
  std::lock_guard<std::mutex> l(g_mu);
  if (g_primary == nullptr) g_primary = add(new Context(), CONTEXT, nullptr);
  g_primary->retains++;
  *out = reinterpret_cast<Handle>(g_primary->handle);
  return OK;
}

API CUresult cuDevicePrimaryCtxRelease_v2(int device) {
  if (device != 0) return fail(E_INVALID_DEVICE, "the emulator has one device, 0");
  Context* c = nullptr;
  {
    std::lock_guard<std::mutex> l(g_mu);
    if (g_primary == nullptr) {
      return fail(E_INVALID_CONTEXT, "cuDevicePrimaryCtxRelease: the primary context is not retained");
    }
    if (--g_primary->retains > 0) return OK;
    c = g_primary;
    g_primary = nullptr;
  }
  destroy_context(c);
  return OK;
}

API CUresult cuCtxSetCurrent(Handle ctx) {
  if (ctx == nullptr) {
    tl_ctx = 0;
    return OK;
  }
  CUresult r = OK;
  Context* c = lookup<Context>(ctx, CONTEXT, "cuCtxSetCurrent", &r);
  if (c == nullptr) return r == E_CONTEXT_IS_DESTROYED ? E_INVALID_CONTEXT : r;
  tl_ctx = c->handle;
  return OK;
}

API CUresult cuCtxGetCurrent(Handle* out) {
  if (out == nullptr) return E_INVALID_VALUE;
  *out = reinterpret_cast<Handle>(tl_ctx);
  return OK;
}

API CUresult cuCtxSynchronize() {
  CUresult r = OK;
  Context* c = current("cuCtxSynchronize", &r);
  if (c == nullptr) return r;
  std::vector<Stream*> all;
  {
    std::lock_guard<std::mutex> l(g_mu);
    for (Stream* s : c->streams) all.push_back(s);
    if (c->legacy != nullptr) all.push_back(c->legacy);
  }
  for (Stream* s : all) {
    if (refuse_if_capturing(s, "cuCtxSynchronize", &r)) return r;
  }
  for (Stream* s : all) drain(s);
  return c->sticky.load() != 0 ? sticky_error(c) : OK;
}

// ---- memory ----

API CUresult cuMemAlloc_v2(CUdeviceptr* out, size_t bytes) {
  CUresult r = OK;
  Context* c = usable("cuMemAlloc", &r);
  if (c == nullptr) return r;
  if (out == nullptr) return E_INVALID_VALUE;
  uintptr_t p = 0;
  r = allocate(c, bytes, false, &p, "cuMemAlloc");
  if (r == OK) *out = p;
  return r;
}

API CUresult cuMemFree_v2(CUdeviceptr p) {
  if (!g_init) return fail(E_NOT_INITIALIZED, "cuMemFree: cuInit has not been called");
  if (p == 0) return OK;
  return free_region(p, false, "cuMemFree");
}

API CUresult cuMemHostAlloc(void** out, size_t bytes, unsigned flags) {
  CUresult r = OK;
  Context* c = usable("cuMemHostAlloc", &r);
  if (c == nullptr) return r;
  if (out == nullptr || (flags & ~7u) != 0) return fail(E_INVALID_VALUE, "cuMemHostAlloc: bad flags");
  uintptr_t p = 0;
  r = allocate(c, bytes, true, &p, "cuMemHostAlloc");
  if (r == OK) *out = reinterpret_cast<void*>(p);
  return r;
}

API CUresult cuMemFreeHost(void* p) {
  if (!g_init) return fail(E_NOT_INITIALIZED, "cuMemFreeHost: cuInit has not been called");
  return free_region(reinterpret_cast<uint64_t>(p), true, "cuMemFreeHost");
}

API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t n) {
  return copy_sync(Node::HTOD, dst, reinterpret_cast<uint64_t>(src), n, "cuMemcpyHtoD");
}

API CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t n) {
  return copy_sync(Node::DTOH, reinterpret_cast<uint64_t>(dst), src, n, "cuMemcpyDtoH");
}

API CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  return copy_sync(Node::DTOD, dst, src, n, "cuMemcpyDtoD");
}

API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, Handle s) {
  return copy_async(Node::HTOD, dst, reinterpret_cast<uint64_t>(src), n, s, "cuMemcpyHtoDAsync");
}

API CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, Handle s) {
  return copy_async(Node::DTOH, reinterpret_cast<uint64_t>(dst), src, n, s, "cuMemcpyDtoHAsync");
}

API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, Handle s) {
  return copy_async(Node::DTOD, dst, src, n, s, "cuMemcpyDtoDAsync");
}

API CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count, Handle s) {
  return memset_async(dst, value, count, 4, s, "cuMemsetD32Async");
}

API CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count, Handle s) {
  return memset_async(dst, value, count, 2, s, "cuMemsetD16Async");
}

// ---- streams and events ----

API CUresult cuStreamCreate(Handle* out, unsigned flags) {
  CUresult r = OK;
  Context* c = usable("cuStreamCreate", &r);
  if (c == nullptr) return r;
  if (out == nullptr || flags > 1) return fail(E_INVALID_VALUE, "cuStreamCreate: bad flags");
  std::lock_guard<std::mutex> l(g_mu);
  *out = reinterpret_cast<Handle>(new_stream(c, flags, false)->handle);
  return OK;
}

API CUresult cuStreamDestroy_v2(Handle h) {
  CUresult r = OK;
  Stream* s = lookup<Stream>(h, STREAM, "cuStreamDestroy", &r);
  if (s == nullptr) return r;
  {
    std::lock_guard<std::mutex> l(g_mu);
    auto& v = s->ctx->streams;
    v.erase(std::remove(v.begin(), v.end(), s), v.end());
    kill(s, "was destroyed by cuStreamDestroy");
  }
  {
    // Queued work still runs (as with a real driver); the worker ends when it is done.
    std::lock_guard<std::mutex> l(s->mu);
    s->stop = true;
    s->capturing = false;
  }
  s->cv.notify_all();
  s->worker.detach();
  return OK;
}

API CUresult cuStreamSynchronize(Handle h) {
  CUresult r = OK;
  Context* c = current("cuStreamSynchronize", &r);
  if (c == nullptr) return r;
  Stream* s = stream_of(h, c, "cuStreamSynchronize", &r);
  if (s == nullptr) return r;
  if (refuse_if_capturing(s, "cuStreamSynchronize", &r)) return r;
  drain(s);
  return c->sticky.load() != 0 ? sticky_error(c) : OK;
}

API CUresult cuEventCreate(Handle* out, unsigned flags) {
  CUresult r = OK;
  Context* c = usable("cuEventCreate", &r);
  if (c == nullptr) return r;
  if (out == nullptr || (flags & ~7u) != 0) return fail(E_INVALID_VALUE, "cuEventCreate: bad flags");
  std::lock_guard<std::mutex> l(g_mu);
  Event* e = add(new Event(), EVENT, c);
  e->flags = flags;
  *out = reinterpret_cast<Handle>(e->handle);
  return OK;
}

API CUresult cuEventRecord(Handle he, Handle hs) {
  CUresult r = OK;
  Context* c = usable("cuEventRecord", &r);
  if (c == nullptr) return r;
  Event* e = lookup<Event>(he, EVENT, "cuEventRecord", &r);
  if (e == nullptr) return r;
  Stream* s = stream_of(hs, c, "cuEventRecord", &r);
  if (s == nullptr) return r;
  // The emulator does not capture event nodes; flowscale never records events while capturing.
  if (refuse_if_capturing(s, "cuEventRecord", &r)) return r;
  Node n;
  n.type = Node::RECORD;
  n.event = e;
  {
    std::lock_guard<std::mutex> l(e->mu);
    n.generation = ++e->recorded;
  }
  submit(s, {n});
  return OK;
}

API CUresult cuEventQuery(Handle he) {
  CUresult r = OK;
  Event* e = lookup<Event>(he, EVENT, "cuEventQuery", &r);
  if (e == nullptr) return r;
  {
    std::lock_guard<std::mutex> l(e->mu);
    if (e->completed < e->recorded) return E_NOT_READY;
  }
  return e->ctx->sticky.load() != 0 ? sticky_error(e->ctx) : OK;
}

API CUresult cuEventSynchronize(Handle he) {
  CUresult r = OK;
  Event* e = lookup<Event>(he, EVENT, "cuEventSynchronize", &r);
  if (e == nullptr) return r;
  {
    std::unique_lock<std::mutex> l(e->mu);
    e->cv.wait(l, [&] { return e->completed >= e->recorded; });
  }
  return e->ctx->sticky.load() != 0 ? sticky_error(e->ctx) : OK;
}

static CUresult elapsed(float* ms, Handle hs, Handle he) {
  CUresult r = OK;
  Event* a = lookup<Event>(hs, EVENT, "cuEventElapsedTime", &r);
  if (a == nullptr) return r;
  Event* b = lookup<Event>(he, EVENT, "cuEventElapsedTime", &r);
  if (b == nullptr) return r;
  if (ms == nullptr) return E_INVALID_VALUE;
  if ((a->flags & 2) != 0 || (b->flags & 2) != 0) {
    return fail(E_INVALID_HANDLE, "cuEventElapsedTime: an event was created without timing");
  }
  std::chrono::steady_clock::time_point ta, tb;
  for (Event* e : {a, b}) {
    std::lock_guard<std::mutex> l(e->mu);
    if (e->recorded == 0) return fail(E_INVALID_HANDLE, "cuEventElapsedTime: an event was never recorded");
    if (e->completed < e->recorded) return E_NOT_READY;
  }
  {
    std::lock_guard<std::mutex> l(a->mu);
    ta = a->when;
  }
  {
    std::lock_guard<std::mutex> l(b->mu);
    tb = b->when;
  }
  *ms = std::chrono::duration<float, std::milli>(tb - ta).count();
  return OK;
}

API CUresult cuEventElapsedTime(float* ms, Handle a, Handle b) { return elapsed(ms, a, b); }
API CUresult cuEventElapsedTime_v2(float* ms, Handle a, Handle b) { return elapsed(ms, a, b); }

API CUresult cuEventDestroy_v2(Handle he) {
  CUresult r = OK;
  Event* e = lookup<Event>(he, EVENT, "cuEventDestroy", &r);
  if (e == nullptr) return r;
  std::lock_guard<std::mutex> l(g_mu);
  kill(e, "was destroyed by cuEventDestroy");
  return OK;
}

// ---- modules and launches ----

API CUresult cuModuleLoadDataEx(Handle* out, const void* image, unsigned n, int* options,
                                void** values) {
  return load_module(out, image, n, options, values, "cuModuleLoadDataEx");
}

API CUresult cuModuleLoadData(Handle* out, const void* image) {
  return load_module(out, image, 0, nullptr, nullptr, "cuModuleLoadData");
}

API CUresult cuModuleUnload(Handle hm) {
  CUresult r = OK;
  Module* m = lookup<Module>(hm, MODULE, "cuModuleUnload", &r);
  if (m == nullptr) return r;
  std::lock_guard<std::mutex> l(g_mu);
  for (auto& kv : m->functions) kill(kv.second, "belongs to a module unloaded by cuModuleUnload");
  kill(m, "was unloaded by cuModuleUnload");
  return OK;
}

API CUresult cuModuleGetFunction(Handle* out, Handle hm, const char* name) {
  CUresult r = OK;
  Module* m = lookup<Module>(hm, MODULE, "cuModuleGetFunction", &r);
  if (m == nullptr) return r;
  if (out == nullptr || name == nullptr) return E_INVALID_VALUE;
  auto it = m->functions.find(name);
  if (it == m->functions.end()) {
    return fail(E_NOT_FOUND, std::string("cuModuleGetFunction: the module has no kernel '") +
                                 name + "'");
  }
  *out = reinterpret_cast<Handle>(it->second->handle);
  return OK;
}

API CUresult cuLaunchKernel(Handle hf, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                            unsigned by, unsigned bz, unsigned shared, Handle hs, void** params,
                            void** extra) {
  CUresult r = OK;
  Context* c = usable("cuLaunchKernel", &r);
  if (c == nullptr) return r;
  Function* f = lookup<Function>(hf, FUNCTION, "cuLaunchKernel", &r);
  if (f == nullptr) return r;
  Stream* s = stream_of(hs, c, "cuLaunchKernel", &r);
  if (s == nullptr) return r;
  const fsemu::KernelDef& k = *f->kernel;
  if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || gy > 65535 ||
      gz > 65535 || gx > 0x7FFFFFFFu || bx > 1024 || by > 1024 || bz > 64 ||
      (unsigned long long)bx * by * bz > 1024) {
    return fail(E_INVALID_VALUE, "cuLaunchKernel(" + k.name + "): grid (" + std::to_string(gx) +
                                     ", " + std::to_string(gy) + ", " + std::to_string(gz) +
                                     ") block (" + std::to_string(bx) + ", " +
                                     std::to_string(by) + ", " + std::to_string(bz) +
                                     ") is outside the device's limits");
  }
  if (shared > 48 * 1024) return fail(E_INVALID_VALUE, "cuLaunchKernel: too much shared memory");
  if (extra != nullptr) return fail(E_NOT_SUPPORTED, "cuLaunchKernel: 'extra' is not emulated");
  if (!k.sizes.empty() && params == nullptr) {
    return fail(E_INVALID_VALUE, "cuLaunchKernel(" + k.name + "): kernelParams is null");
  }
  Node n;
  n.type = Node::KERNEL;
  n.kernel = &k;
  n.grid = {gx, gy, gz};
  n.block = {bx, by, bz};
  n.args.assign(k.sizes.size(), 0);
  for (size_t i = 0; i < k.sizes.size(); i++) {
    if (params[i] == nullptr) {
      return fail(E_INVALID_VALUE, "cuLaunchKernel(" + k.name + "): parameter " +
                                       std::to_string(i) + " is null");
    }
    std::memcpy(&n.args[i], params[i], k.sizes[i]);  // copied now, as the driver does
  }
  {
    std::lock_guard<std::mutex> l(g_stats_mu);
    LaunchStat& st = (*g_stats)[k.name];
    st.count++;
    st.grid = n.grid;
    st.block = n.block;
  }
  submit(s, {n});
  return OK;
}

// ---- graphs ----

API CUresult cuStreamBeginCapture_v2(Handle hs, int mode) {
  CUresult r = OK;
  Context* c = usable("cuStreamBeginCapture", &r);
  if (c == nullptr) return r;
  if (reinterpret_cast<uint64_t>(hs) <= 2) {
    return fail(E_CAPTURE_UNSUPPORTED, "cuStreamBeginCapture: the NULL stream cannot be captured");
  }
  Stream* s = stream_of(hs, c, "cuStreamBeginCapture", &r);
  if (s == nullptr) return r;
  if (mode < 0 || mode > 2) return fail(E_INVALID_VALUE, "cuStreamBeginCapture: bad mode");
  std::lock_guard<std::mutex> l(s->mu);
  if (s->capturing) return fail(E_ILLEGAL_STATE, "cuStreamBeginCapture: the stream is already capturing");
  s->capturing = true;
  s->capture_invalid = false;
  s->capture_why.clear();
  s->captured.clear();
  return OK;
}

API CUresult cuStreamEndCapture(Handle hs, Handle* out) {
  CUresult r = OK;
  Context* c = current("cuStreamEndCapture", &r);
  if (c == nullptr) return r;
  Stream* s = stream_of(hs, c, "cuStreamEndCapture", &r);
  if (s == nullptr) return r;
  if (out == nullptr) return E_INVALID_VALUE;
  std::vector<Node> nodes;
  {
    std::lock_guard<std::mutex> l(s->mu);
    if (!s->capturing) return fail(E_ILLEGAL_STATE, "cuStreamEndCapture: the stream is not capturing");
    s->capturing = false;
    if (s->capture_invalid) {
      *out = nullptr;
      return fail(E_CAPTURE_INVALIDATED, "cuStreamEndCapture: " + s->capture_why);
    }
    nodes = std::move(s->captured);
    s->captured.clear();
  }
  std::lock_guard<std::mutex> l(g_mu);
  Graph* g = add(new Graph(), GRAPH, c);
  g->nodes = std::move(nodes);
  *out = reinterpret_cast<Handle>(g->handle);
  return OK;
}

API CUresult cuGraphInstantiateWithFlags(Handle* out, Handle hg, unsigned long long flags) {
  CUresult r = OK;
  Context* c = usable("cuGraphInstantiateWithFlags", &r);
  if (c == nullptr) return r;
  Graph* g = lookup<Graph>(hg, GRAPH, "cuGraphInstantiateWithFlags", &r);
  if (g == nullptr) return r;
  if (out == nullptr) return E_INVALID_VALUE;
  if (flags != 0) return fail(E_INVALID_VALUE, "cuGraphInstantiateWithFlags: only flags 0 are emulated");
  std::lock_guard<std::mutex> l(g_mu);
  Graph* e = add(new Graph(), GRAPH_EXEC, c);
  e->nodes = g->nodes;
  *out = reinterpret_cast<Handle>(e->handle);
  return OK;
}

API CUresult cuGraphLaunch(Handle he, Handle hs) {
  CUresult r = OK;
  Context* c = usable("cuGraphLaunch", &r);
  if (c == nullptr) return r;
  Graph* e = lookup<Graph>(he, GRAPH_EXEC, "cuGraphLaunch", &r);
  if (e == nullptr) return r;
  Stream* s = stream_of(hs, c, "cuGraphLaunch", &r);
  if (s == nullptr) return r;
  if (refuse_if_capturing(s, "cuGraphLaunch", &r)) return r;
  submit(s, e->nodes);
  return OK;
}

API CUresult cuGraphExecDestroy(Handle he) {
  CUresult r = OK;
  Graph* e = lookup<Graph>(he, GRAPH_EXEC, "cuGraphExecDestroy", &r);
  if (e == nullptr) return r;
  std::lock_guard<std::mutex> l(g_mu);
  kill(e, "was destroyed by cuGraphExecDestroy");
  e->nodes.clear();  // launches already queued hold their own copy
  return OK;
}

API CUresult cuGraphDestroy(Handle hg) {
  CUresult r = OK;
  Graph* g = lookup<Graph>(hg, GRAPH, "cuGraphDestroy", &r);
  if (g == nullptr) return r;
  std::lock_guard<std::mutex> l(g_mu);
  kill(g, "was destroyed by cuGraphDestroy");
  g->nodes.clear();
  return OK;
}

// ---- test hooks (not part of the CUDA driver API) ----

// Nonzero: this library is the emulator. Tests use the hooks below through it.
API int fsemu_version() { return 1; }

// Delays every piece of stream work by `us` microseconds before it runs, so work queued by the
// host is still pending when the host goes on: races between the host and the stream become
// certain instead of rare.
API void fsemu_set_delay_us(unsigned us) { g_delay_us.store(us); }

// How often `kernel` was launched (captures included), and the last launch's grid and block
// (x, y, z each) in dims[0..5].
API int fsemu_last_launch(const char* kernel, int* dims) {
  std::lock_guard<std::mutex> l(g_stats_mu);
  auto it = g_stats->find(kernel);
  if (it == g_stats->end()) return 0;
  const LaunchStat& s = it->second;
  const unsigned v[6] = {s.grid.x, s.grid.y, s.grid.z, s.block.x, s.block.y, s.block.z};
  for (int i = 0; i < 6; i++) dims[i] = (int)v[i];
  return s.count;
}

// The primary context's sticky error (0: none) and what caused it.
API int fsemu_fault(char* buf, int len) {
  std::lock_guard<std::mutex> l(g_mu);
  if (g_primary == nullptr || g_primary->sticky.load() == 0) {
    if (buf != nullptr && len > 0) buf[0] = '\0';
    return 0;
  }
  std::lock_guard<std::mutex> s(g_primary->sticky_mu);
  if (buf != nullptr && len > 0) std::snprintf(buf, (size_t)len, "%s", g_primary->sticky_why.c_str());
  return g_primary->sticky.load();
}

// Clears the primary context's sticky error, so one test's fault does not fail the next ones.
API void fsemu_clear_fault() {
  std::lock_guard<std::mutex> l(g_mu);
  if (g_primary != nullptr) {
    std::lock_guard<std::mutex> s(g_primary->sticky_mu);
    g_primary->sticky.store(0);
    g_primary->sticky_why.clear();
  }
}

// Bytes of device memory allocated and not yet freed.
API long long fsemu_live_device_bytes() {
  std::lock_guard<std::mutex> l(g_mem_mu);
  return (long long)g_device_bytes;
}
