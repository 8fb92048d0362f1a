// The flat C ABI of flowscale_shim.h over libtorch. Every exported function body runs inside
// guard(): any exception (c10::Error, std::exception, anything else) becomes a status code plus
// a thread-local message, because an exception unwinding into the JVM's frames would kill it.

#include "flowscale_shim.h"

#include <torch/script.h>
#include <torch/cuda.h>
#include <torch/version.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#ifdef FS_WITH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include <cmath>
#include <exception>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#ifndef FS_SHIM_VERSION
#define FS_SHIM_VERSION "0.1.0"
#endif

// One input's map (fs_module_set_input_map): x.permute(perm) * scale + shift.
struct fs_input_map {
  int32_t input;
  std::vector<int64_t> perm;  // empty: keep the axes
  double scale;
  double shift;
};

struct fs_module {
  torch::jit::Module module;
  int32_t device;
  bool optimize = true;  // TorchScript's profiling optimizer on this module's calls
  std::vector<fs_input_map> maps;  // fs_module_set_input_map, by input index
};

struct fs_tensor {
  torch::Tensor tensor;
};

struct fs_slot_entry {
  std::string name;
  torch::Tensor tensor;
  bool buffer;
};

struct fs_slots {
  std::vector<fs_slot_entry> entries;
};

// FP8 types arrived in libtorch 2.1.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define FS_HAVE_FP8 1
#endif

namespace {

thread_local std::string last_error;

void set_error(const std::string& message) { last_error = message; }

// An error inside TorchScript code arrives as "The following operation failed in the TorchScript
// interpreter", a script traceback, and the actual error on the last line: put that line first
// so a one-line report says what went wrong; the traceback follows.
std::string headline(const std::string& message) {
  if (message.find("TorchScript interpreter") == std::string::npos) {
    return message;
  }
  size_t end = message.find_last_not_of(" \n\r\t");
  if (end == std::string::npos) {
    return message;
  }
  size_t start = message.rfind('\n', end);
  std::string last = message.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
  return last + "\n(TorchScript traceback follows)\n" + message;
}

template <typename F>
int32_t guard(const char* what, F&& body) noexcept {
  try {
    last_error.clear();
    body();
    return FS_OK;
  } catch (const c10::Error& e) {
    // what_without_backtrace keeps libtorch's message and drops its C++ stack dump.
    set_error(std::string(what) + ": " + headline(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    set_error(std::string(what) + ": out of memory");
  } catch (const std::exception& e) {
    // Errors raised inside TorchScript code (torch::jit::JITException) land here.
    set_error(std::string(what) + ": " + headline(e.what()));
  } catch (...) {
    set_error(std::string(what) + ": unknown C++ exception");
  }
  return FS_ERROR;
}

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

c10::ScalarType scalar_type(int32_t dtype) {
  switch (dtype) {
    case FS_F32: return torch::kFloat32;
    case FS_F64: return torch::kFloat64;
    case FS_BF16: return torch::kBFloat16;
    case FS_F16: return torch::kFloat16;
    case FS_I32: return torch::kInt32;
    case FS_I64: return torch::kInt64;
    case FS_U8: return torch::kUInt8;
    case FS_I8: return torch::kInt8;
    case FS_I16: return torch::kInt16;
    case FS_BOOL: return torch::kBool;
#ifdef FS_HAVE_FP8
    case FS_F8_E4M3: return torch::kFloat8_e4m3fn;
    case FS_F8_E5M2: return torch::kFloat8_e5m2;
#else
    case FS_F8_E4M3:
    case FS_F8_E5M2:
      fail("FP8 tensors need libtorch 2.1 or newer; this shim was built against libtorch " TORCH_VERSION);
#endif
    default: fail("unknown dtype code " + std::to_string(dtype));
  }
}

// The fs_dtype of a libtorch type, or FS_OTHER_DTYPE.
int32_t dtype_code_or_other(c10::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return FS_F32;
    case torch::kFloat64: return FS_F64;
    case torch::kBFloat16: return FS_BF16;
    case torch::kFloat16: return FS_F16;
    case torch::kInt32: return FS_I32;
    case torch::kInt64: return FS_I64;
    case torch::kUInt8: return FS_U8;
    case torch::kInt8: return FS_I8;
    case torch::kInt16: return FS_I16;
    case torch::kBool: return FS_BOOL;
#ifdef FS_HAVE_FP8
    case torch::kFloat8_e4m3fn: return FS_F8_E4M3;
    case torch::kFloat8_e5m2: return FS_F8_E5M2;
#endif
    default: return FS_OTHER_DTYPE;
  }
}

int32_t dtype_code(c10::ScalarType t) {
  int32_t code = dtype_code_or_other(t);
  if (code == FS_OTHER_DTYPE) {
    fail(std::string("tensor dtype ") + c10::toString(t) + " has no fs_dtype code");
  }
  return code;
}

torch::Device device_of(int32_t device) {
  if (device < 0) {
    return torch::Device(torch::kCPU);
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device));
}

std::string shape_text(c10::IntArrayRef sizes) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < sizes.size(); i++) {
    s << (i ? ", " : "") << sizes[i];
  }
  s << "]";
  return s.str();
}

// Wraps caller memory without copying. The caller keeps ownership; the tensor must not outlive
// the call.
torch::Tensor wrap(const fs_tensor_desc& d, const char* role, int index) {
  if (d.ndim < 0 || d.ndim > FS_MAX_DIMS) {
    fail(std::string(role) + " " + std::to_string(index) + ": ndim " + std::to_string(d.ndim) +
         " outside [0, " + std::to_string(FS_MAX_DIMS) + "]");
  }
  std::vector<int64_t> sizes(d.shape, d.shape + d.ndim);
  int64_t numel = 1;
  for (int64_t s : sizes) {
    if (s < 0) {
      fail(std::string(role) + " " + std::to_string(index) + ": negative size in shape " +
           shape_text(sizes));
    }
    numel *= s;
  }
  if (d.data == nullptr && numel != 0) {
    fail(std::string(role) + " " + std::to_string(index) + ": null data pointer");
  }
  auto options = torch::TensorOptions().dtype(scalar_type(d.dtype)).device(device_of(d.device));
  return torch::from_blob(d.data, sizes, options);
}

std::vector<torch::jit::IValue> wrap_inputs(const fs_module* m, const fs_tensor_desc* inputs,
                                            int32_t n) {
  if (n < 0 || (n > 0 && inputs == nullptr)) {
    fail("inputs: bad count " + std::to_string(n));
  }
  std::vector<torch::jit::IValue> values;
  values.reserve(n);
  torch::Device target = device_of(m->device);
  for (int32_t i = 0; i < n; i++) {
    torch::Tensor t = wrap(inputs[i], "input", i);
    if (t.device() != target) {
      t = t.to(target);  // staged: the only copy, and only when the caller's memory is elsewhere
    }
    if (inputs[i].as_dtype != FS_NO_DTYPE) {
      t = t.to(scalar_type(inputs[i].as_dtype));
    }
    values.emplace_back(std::move(t));
  }
  return values;
}

// Applies the module's input maps (fs_module_set_input_map) to `args`, in place. Differentiable:
// in fs_module_vjp it runs after the leaf is taken, so the gradient is in the caller's layout.
void map_inputs(const fs_module* m, std::vector<torch::jit::IValue>& args) {
  for (const fs_input_map& map : m->maps) {
    if (map.input >= static_cast<int32_t>(args.size())) {
      fail("input map of input " + std::to_string(map.input) + ", but the call has " +
           std::to_string(args.size()) + " input(s)");
    }
    torch::Tensor t = args[map.input].toTensor();
    if (!map.perm.empty()) {
      if (t.dim() != static_cast<int64_t>(map.perm.size())) {
        fail("input " + std::to_string(map.input) + ": its map permutes " +
             std::to_string(map.perm.size()) + " axes, but the input has shape " +
             shape_text(t.sizes()));
      }
      t = t.permute(map.perm);
    }
    if (!t.is_floating_point()) {
      fail("input " + std::to_string(map.input) + " has a map but is not floating point");
    }
    t = (t * map.scale + map.shift).contiguous();
    args[map.input] = t;
  }
}

std::vector<torch::Tensor> tensors_of(const torch::jit::IValue& result) {
  std::vector<torch::Tensor> out;
  if (result.isTensor()) {
    out.push_back(result.toTensor());
  } else if (result.isTuple()) {
    for (const auto& e : result.toTuple()->elements()) {
      if (!e.isTensor()) {
        fail("forward returned a tuple with a non-tensor element (" + e.tagKind() + ")");
      }
      out.push_back(e.toTensor());
    }
  } else if (result.isTensorList()) {
    for (const torch::Tensor& t : result.toTensorVector()) {
      out.push_back(t);
    }
  } else {
    fail("forward returned " + result.tagKind() + ", expected a tensor or a tuple of tensors");
  }
  return out;
}

// Writes `value` into caller memory: same element count and leading dimension, any dtype/device.
void store(const torch::Tensor& value, const fs_tensor_desc& d, const char* role, int index) {
  torch::Tensor dst = wrap(d, role, index);
  if (value.numel() != dst.numel() ||
      (dst.dim() > 0 && value.dim() > 0 && value.size(0) != dst.size(0))) {
    fail(std::string(role) + " " + std::to_string(index) + ": result shape " +
         shape_text(value.sizes()) + " does not fit the expected shape " +
         shape_text(dst.sizes()));
  }
  dst.copy_(value.reshape(dst.sizes()));
}

// Runs `method` of the module on caller memory and stores its result(s) (fs_module_forward).
void run_into(fs_module* module, const std::string& method, const fs_tensor_desc* inputs,
              int32_t n_inputs, const fs_tensor_desc* outputs, int32_t n_outputs) {
  if (module == nullptr) fail("module is null");
  if (n_outputs < 1 || outputs == nullptr) fail("at least one output buffer is needed");
  torch::NoGradGuard no_grad;
  torch::jit::GraphOptimizerEnabledGuard optimize(module->optimize);
  std::vector<torch::jit::IValue> args = wrap_inputs(module, inputs, n_inputs);
  map_inputs(module, args);
  torch::jit::IValue result;
  if (method == "forward") {
    result = module->module.forward(std::move(args));
  } else {
    auto m = module->module.find_method(method);
    if (!m) fail("the module has no method '" + method + "'");
    result = (*m)(std::move(args));
  }
  std::vector<torch::Tensor> results = tensors_of(result);
  if (static_cast<int32_t>(results.size()) != n_outputs) {
    fail(method + " returned " + std::to_string(results.size()) + " tensor(s), the caller expects " +
         std::to_string(n_outputs));
  }
  for (int32_t i = 0; i < n_outputs; i++) {
    store(results[i], outputs[i], "output", i);
  }
}

std::vector<std::string> split_name(const char* name) {
  if (name == nullptr || *name == '\0') fail("the name is empty");
  std::vector<std::string> parts;
  std::string cur;
  for (const char* p = name; *p; p++) {
    if (*p == '.') {
      if (cur.empty()) fail(std::string("bad dotted name '") + name + "'");
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += *p;
    }
  }
  if (cur.empty()) fail(std::string("bad dotted name '") + name + "'");
  parts.push_back(cur);
  return parts;
}

// The submodule owning the last component of a dotted name, and that component.
std::pair<torch::jit::Module, std::string> owner_of(const torch::jit::Module& root,
                                                     const char* name) {
  std::vector<std::string> parts = split_name(name);
  torch::jit::Module m = root;
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); i++) {
    path += (i ? "." : "") + parts[i];
    if (!m.hasattr(parts[i])) fail("the module has no submodule '" + path + "'");
    torch::jit::IValue v = m.attr(parts[i]);
    if (!v.isModule()) fail("'" + path + "' is not a submodule");
    m = v.toModule();
  }
  return {m, parts.back()};
}

}  // namespace

extern "C" {

int32_t fs_abi_version(void) { return FS_ABI_VERSION; }

const char* fs_shim_version(void) { return FS_SHIM_VERSION; }

const char* fs_torch_version(void) { return TORCH_VERSION; }

int32_t fs_built_with_cuda(void) {
#ifdef FS_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

const char* fs_last_error(void) { return last_error.c_str(); }

int32_t fs_cuda_device_count(void) {
  int32_t count = 0;
  // A failing CUDA probe means "no usable device", not an error worth reporting.
  if (guard("cuda device count",
            [&] { count = static_cast<int32_t>(torch::cuda::device_count()); }) != FS_OK) {
    return 0;
  }
  return count;
}

int32_t fs_cuda_get_stream(int32_t device, void** out_stream) {
  return guard("get CUDA stream", [&] {
    if (out_stream == nullptr) fail("out_stream is null");
#ifdef FS_WITH_CUDA
    *out_stream = c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).stream();
#else
    (void)device;
    fail("this flowscale shim was built without CUDA (libtorch " TORCH_VERSION ")");
#endif
  });
}

int32_t fs_cuda_set_stream(int32_t device, void* stream) {
  return guard("set CUDA stream", [&] {
#ifdef FS_WITH_CUDA
    auto index = static_cast<c10::DeviceIndex>(device);
    c10::cuda::CUDAStream s =
        stream == nullptr
            ? c10::cuda::getDefaultCUDAStream(index)
            : c10::cuda::getStreamFromExternal(static_cast<cudaStream_t>(stream), index);
    c10::cuda::setCurrentCUDAStream(s);
#else
    (void)device;
    (void)stream;
    fail("this flowscale shim was built without CUDA (libtorch " TORCH_VERSION ")");
#endif
  });
}

int32_t fs_cuda_synchronize(int32_t device) {
  return guard("CUDA synchronize", [&] {
#ifdef FS_WITH_CUDA
    c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device)).synchronize();
#else
    (void)device;
    fail("this flowscale shim was built without CUDA (libtorch " TORCH_VERSION ")");
#endif
  });
}

int32_t fs_set_allow_tf32(int32_t allow) {
  return guard("set TF32", [&] {
    at::globalContext().setAllowTF32CuDNN(allow != 0);
    at::globalContext().setAllowTF32CuBLAS(allow != 0);
  });
}

int32_t fs_module_load(const char* path, int32_t device, fs_module** out) {
  std::string where = std::string("load TorchScript module '") + (path ? path : "(null)") + "'";
  return guard(where.c_str(), [&] {
    if (out == nullptr) fail("out is null");
    *out = nullptr;
    if (path == nullptr) fail("path is null");
    if (device >= 0 && static_cast<int64_t>(device) >= static_cast<int64_t>(torch::cuda::device_count())) {
      fail("CUDA device " + std::to_string(device) + " requested, but libtorch " TORCH_VERSION
           " sees " + std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
    }
    auto m = std::make_unique<fs_module>();
    m->device = device < 0 ? -1 : device;
    m->module = torch::jit::load(std::string(path), device_of(m->device));
    m->module.eval();
    *out = m.release();
  });
}

void fs_module_free(fs_module* module) {
  // Destructors of libtorch objects do not throw in practice; guard anyway.
  guard("free module", [&] { delete module; });
}

int32_t fs_module_device(const fs_module* module) { return module ? module->device : -1; }

int32_t fs_module_set_optimize(fs_module* module, int32_t enabled) {
  return guard("set optimize", [&] {
    if (module == nullptr) fail("module is null");
    module->optimize = enabled != 0;
  });
}

int32_t fs_module_set_input_map(fs_module* module, int32_t input, const int64_t* perm,
                                int32_t n_perm, double scale, double shift) {
  return guard("set input map", [&] {
    if (module == nullptr) fail("module is null");
    if (input < 0) fail("input " + std::to_string(input) + " is not an input index");
    if (n_perm < 0 || n_perm > FS_MAX_DIMS || (n_perm > 0 && perm == nullptr)) {
      fail("bad permutation length " + std::to_string(n_perm));
    }
    std::vector<int64_t> p(perm, perm + n_perm);
    std::vector<bool> seen(n_perm, false);
    for (int64_t a : p) {
      if (a < 0 || a >= n_perm || seen[a]) {
        fail("perm " + shape_text(p) + " is not a permutation of 0.." + std::to_string(n_perm - 1));
      }
      seen[a] = true;
    }
    if (!p.empty() && p[0] != 0) {
      fail("perm " + shape_text(p) + " moves the batch axis 0");
    }
    if (!std::isfinite(scale) || !std::isfinite(shift)) fail("scale and shift must be finite");
    std::vector<fs_input_map> maps;
    for (const fs_input_map& m : module->maps) {
      if (m.input != input) maps.push_back(m);
    }
    bool identity = scale == 1.0 && shift == 0.0;
    for (size_t i = 0; i < p.size() && identity; i++) identity = p[i] == static_cast<int64_t>(i);
    if (!identity) maps.push_back(fs_input_map{input, std::move(p), scale, shift});
    module->maps = std::move(maps);
  });
}

int32_t fs_module_forward(fs_module* module, const fs_tensor_desc* inputs, int32_t n_inputs,
                          const fs_tensor_desc* outputs, int32_t n_outputs) {
  return guard("forward", [&] { run_into(module, "forward", inputs, n_inputs, outputs, n_outputs); });
}

int32_t fs_module_run_method(fs_module* module, const char* method, const fs_tensor_desc* inputs,
                             int32_t n_inputs, const fs_tensor_desc* outputs, int32_t n_outputs) {
  std::string name = method ? method : "(null)";
  return guard(name.c_str(), [&] {
    if (method == nullptr) fail("method is null");
    run_into(module, name, inputs, n_inputs, outputs, n_outputs);
  });
}

int32_t fs_module_has_method(const fs_module* module, const char* method) {
  int32_t has = 0;
  guard("find method", [&] {
    if (module != nullptr && method != nullptr) {
      has = module->module.find_method(method).has_value() ? 1 : 0;
    }
  });
  return has;
}

int32_t fs_dtype_supported(int32_t code) {
  int32_t ok = 0;
  guard("dtype", [&] {
    scalar_type(code);
    ok = 1;
  });
  last_error.clear();
  return ok;
}

int32_t fs_module_slots(const fs_module* module, fs_slots** out) {
  return guard("list parameters", [&] {
    if (module == nullptr || out == nullptr) fail("null argument");
    *out = nullptr;
    auto list = std::make_unique<fs_slots>();
    for (const auto& p : module->module.named_parameters(/*recurse=*/true)) {
      list->entries.push_back({p.name, p.value, false});
    }
    for (const auto& b : module->module.named_buffers(/*recurse=*/true)) {
      list->entries.push_back({b.name, b.value, true});
    }
    *out = list.release();
  });
}

int32_t fs_slots_count(const fs_slots* slots) {
  return slots ? static_cast<int32_t>(slots->entries.size()) : 0;
}

int32_t fs_slots_get(const fs_slots* slots, int32_t i, const char** name, int32_t* is_buffer,
                     fs_tensor_desc* desc) {
  return guard("list parameters", [&] {
    if (slots == nullptr || name == nullptr || is_buffer == nullptr || desc == nullptr) {
      fail("null argument");
    }
    if (i < 0 || i >= static_cast<int32_t>(slots->entries.size())) {
      fail("entry " + std::to_string(i) + " of " + std::to_string(slots->entries.size()));
    }
    const fs_slot_entry& e = slots->entries[i];
    const torch::Tensor& t = e.tensor;
    if (t.dim() > FS_MAX_DIMS) fail(e.name + " has " + std::to_string(t.dim()) + " dimensions");
    fs_tensor_desc d{};
    d.data = t.defined() ? t.data_ptr() : nullptr;
    d.ndim = static_cast<int32_t>(t.dim());
    for (int64_t k = 0; k < t.dim(); k++) d.shape[k] = t.size(k);
    d.dtype = dtype_code_or_other(t.scalar_type());
    d.device = t.is_cuda() ? t.get_device() : -1;
    d.as_dtype = FS_NO_DTYPE;
    *name = e.name.c_str();
    *is_buffer = e.buffer ? 1 : 0;
    *desc = d;
  });
}

void fs_slots_free(fs_slots* slots) {
  guard("free listing", [&] { delete slots; });
}

int32_t fs_module_set_tensor(fs_module* module, const char* name, const fs_tensor_desc* src,
                             int32_t dtype, int32_t device) {
  std::string where = std::string("set '") + (name ? name : "(null)") + "'";
  return guard(where.c_str(), [&] {
    if (module == nullptr || src == nullptr) fail("null argument");
    auto owner = owner_of(module->module, name);
    torch::jit::Module& m = owner.first;
    const std::string& leaf = owner.second;
    auto slot = m.type()->findAttributeSlot(leaf);
    if (!slot || !(m.type()->is_parameter(*slot) || m.type()->is_buffer(*slot))) {
      fail("the module has no parameter or buffer of that name");
    }
    torch::Device target = device_of(device);
    if (device >= 0 && static_cast<int64_t>(device) >=
                           static_cast<int64_t>(torch::cuda::device_count())) {
      fail("CUDA device " + std::to_string(device) + " requested, but libtorch sees " +
           std::to_string(torch::cuda::device_count()));
    }
    torch::Tensor s = wrap(*src, "source", 0);
    c10::ScalarType type = dtype == FS_NO_DTYPE ? s.scalar_type() : scalar_type(dtype);
    torch::Tensor t;
    if (s.device() != target) {
      // Cross first (in the checkpoint's usually smaller type), convert on the target.
      t = s.to(target).to(type);
    } else {
      t = s.to(type, /*non_blocking=*/false, /*copy=*/true);
    }
    t = t.contiguous();
    if (m.type()->is_parameter(*slot)) {
      t.set_requires_grad(false);
    }
    m.setattr(leaf, t);
  });
}

int32_t fs_module_set_ints(fs_module* module, const char* name, const int64_t* values, int32_t n) {
  std::string where = std::string("set attribute '") + (name ? name : "(null)") + "'";
  return guard(where.c_str(), [&] {
    if (module == nullptr || (n > 0 && values == nullptr) || n < 0) fail("bad arguments");
    auto owner = owner_of(module->module, name);
    torch::jit::Module& m = owner.first;
    const std::string& leaf = owner.second;
    if (m.type()->hasConstant(leaf)) {
      fail("it is a constant (Final) compiled into the code; declare it as a plain attribute");
    }
    auto slot = m.type()->findAttributeSlot(leaf);
    if (!slot) fail("the module has no such attribute");
    c10::TypePtr type = m.type()->getAttribute(*slot);
    if (type->kind() == c10::TypeKind::IntType) {
      if (n != 1) fail("it is an int: give exactly one value, got " + std::to_string(n));
      m.setattr(leaf, torch::jit::IValue(values[0]));
    } else if (type->kind() == c10::TypeKind::ListType &&
               type->containedTypes().size() == 1 &&
               type->containedTypes()[0]->kind() == c10::TypeKind::IntType) {
      c10::List<int64_t> list;
      for (int32_t i = 0; i < n; i++) list.push_back(values[i]);
      m.setattr(leaf, torch::jit::IValue(list));
    } else {
      fail("it is a " + type->repr_str() + ", not an int or List[int]");
    }
  });
}

int32_t fs_module_get_ints(const fs_module* module, const char* name, int64_t* values,
                           int32_t capacity, int32_t* n) {
  std::string where = std::string("read attribute '") + (name ? name : "(null)") + "'";
  return guard(where.c_str(), [&] {
    if (module == nullptr || n == nullptr || (capacity > 0 && values == nullptr)) {
      fail("bad arguments");
    }
    auto owner = owner_of(module->module, name);
    torch::jit::Module& m = owner.first;
    const std::string& leaf = owner.second;
    if (!m.hasattr(leaf)) fail("the module has no such attribute");
    torch::jit::IValue v = m.attr(leaf);
    std::vector<int64_t> out;
    if (v.isInt()) {
      out.push_back(v.toInt());
    } else if (v.isIntList()) {
      out = v.toIntVector();
    } else {
      fail("it is a " + v.tagKind() + ", not an int or List[int]");
    }
    for (size_t i = 0; i < out.size() && static_cast<int32_t>(i) < capacity; i++) values[i] = out[i];
    *n = static_cast<int32_t>(out.size());
  });
}

int32_t fs_module_to(fs_module* module, int32_t device, int32_t dtype) {
  return guard("move module", [&] {
    if (module == nullptr) fail("module is null");
    torch::Device target = device_of(device);
    if (device >= 0 && static_cast<int64_t>(device) >=
                           static_cast<int64_t>(torch::cuda::device_count())) {
      fail("CUDA device " + std::to_string(device) + " requested, but libtorch sees " +
           std::to_string(torch::cuda::device_count()));
    }
    c10::optional<c10::ScalarType> type;
    if (dtype != FS_NO_DTYPE) type = scalar_type(dtype);
    torch::NoGradGuard no_grad;
    auto move = [&](torch::Tensor t) {
      c10::ScalarType st = type && t.is_floating_point() ? *type : t.scalar_type();
      if (t.device() != target || t.scalar_type() != st) {
        t.set_data(t.to(target, st));
      }
    };
    for (torch::Tensor t : module->module.parameters(/*recurse=*/true)) move(t);
    for (torch::Tensor t : module->module.buffers(/*recurse=*/true)) move(t);
    module->device = device < 0 ? -1 : device;
  });
}

int32_t fs_module_forward_owned(fs_module* module, const fs_tensor_desc* inputs, int32_t n_inputs,
                                fs_tensor** out_tensors, int32_t max_outputs, int32_t* n_out) {
  return guard("forward", [&] {
    if (module == nullptr) fail("module is null");
    if (n_out == nullptr || (max_outputs > 0 && out_tensors == nullptr)) fail("null out pointers");
    *n_out = 0;
    torch::NoGradGuard no_grad;
    torch::jit::GraphOptimizerEnabledGuard optimize(module->optimize);
    std::vector<torch::jit::IValue> args = wrap_inputs(module, inputs, n_inputs);
    map_inputs(module, args);
    std::vector<torch::Tensor> results = tensors_of(module->module.forward(std::move(args)));
    if (static_cast<int32_t>(results.size()) > max_outputs) {
      fail("forward returned " + std::to_string(results.size()) + " tensors, room for " +
           std::to_string(max_outputs));
    }
    // Make all owners first so that a failure leaves nothing half-returned.
    std::vector<std::unique_ptr<fs_tensor>> owned;
    for (const torch::Tensor& r : results) {
      owned.push_back(std::make_unique<fs_tensor>(fs_tensor{r.contiguous()}));
    }
    for (size_t i = 0; i < owned.size(); i++) {
      out_tensors[i] = owned[i].release();
    }
    *n_out = static_cast<int32_t>(results.size());
  });
}

int32_t fs_module_vjp(fs_module* module, const fs_tensor_desc* inputs, int32_t n_inputs,
                      int32_t wrt, const fs_tensor_desc* cotangent,
                      const fs_tensor_desc* out_value, const fs_tensor_desc* out_grad) {
  return guard("gradient", [&] {
    if (module == nullptr) fail("module is null");
    if (out_grad == nullptr) fail("out_grad is null");
    if (wrt < 0 || wrt >= n_inputs) {
      fail("wrt " + std::to_string(wrt) + " is not an input index (0.." +
           std::to_string(n_inputs - 1) + ")");
    }
    torch::AutoGradMode grad_mode(true);
    torch::jit::GraphOptimizerEnabledGuard optimize(module->optimize);
    std::vector<torch::jit::IValue> args = wrap_inputs(module, inputs, n_inputs);
    // A leaf of our own over the same memory (no copy): autograd only reads it, and a module
    // that writes into it in place is refused by autograd's leaf check.
    if (!args[wrt].toTensor().is_floating_point()) {
      fail("input " + std::to_string(wrt) + " is not floating point: no gradient");
    }
    torch::Tensor x = args[wrt].toTensor().detach().requires_grad_(true);
    args[wrt] = x;
    map_inputs(module, args);  // after the leaf: the gradient comes back in the caller's layout
    std::vector<torch::Tensor> results = tensors_of(module->module.forward(std::move(args)));
    if (results.size() != 1) {
      fail("forward returned " + std::to_string(results.size()) + " tensors; gradients need one");
    }
    torch::Tensor y = results[0];
    if (!y.requires_grad()) {
      fail("the output of forward does not depend on input " + std::to_string(wrt) +
           " through differentiable operations");
    }
    torch::Tensor w;
    if (cotangent == nullptr) {
      bool per_sample = (y.dim() == 1 && y.size(0) == x.size(0)) ||
                        (y.dim() == 2 && y.size(0) == x.size(0) && y.size(1) == 1);
      if (!per_sample) {
        fail("a gradient without cotangent needs one value per sample, [" +
             std::to_string(x.size(0)) + "] or [" + std::to_string(x.size(0)) +
             ", 1]; forward returned " + shape_text(y.sizes()));
      }
      w = torch::ones_like(y);
    } else {
      w = wrap(*cotangent, "cotangent", 0).to(y.device(), y.scalar_type());
      if (w.numel() != y.numel()) {
        fail("cotangent shape " + shape_text(w.sizes()) + " does not match the output shape " +
             shape_text(y.sizes()));
      }
      w = w.reshape(y.sizes());
    }
    std::vector<torch::Tensor> grads =
        torch::autograd::grad({y}, {x}, {w}, /*retain_graph=*/false, /*create_graph=*/false,
                              /*allow_unused=*/true);
    torch::Tensor g = grads[0].defined() ? grads[0] : torch::zeros_like(x);
    if (out_value != nullptr) {
      store(y.detach(), *out_value, "value", 0);
    }
    store(g, *out_grad, "gradient", 0);
  });
}

int32_t fs_tensor_empty(const fs_tensor_desc* like, fs_tensor** out) {
  return guard("allocate tensor", [&] {
    if (like == nullptr || out == nullptr) fail("null argument");
    *out = nullptr;
    if (like->ndim < 0 || like->ndim > FS_MAX_DIMS) fail("ndim outside [0, 8]");
    std::vector<int64_t> sizes(like->shape, like->shape + like->ndim);
    auto options =
        torch::TensorOptions().dtype(scalar_type(like->dtype)).device(device_of(like->device));
    *out = new fs_tensor{torch::empty(sizes, options)};
  });
}

void fs_tensor_free(fs_tensor* tensor) {
  guard("free tensor", [&] { delete tensor; });
}

int32_t fs_tensor_describe(const fs_tensor* tensor, fs_tensor_desc* out) {
  return guard("describe tensor", [&] {
    if (tensor == nullptr || out == nullptr) fail("null argument");
    const torch::Tensor& t = tensor->tensor;
    if (t.dim() > FS_MAX_DIMS) fail("tensor has " + std::to_string(t.dim()) + " dimensions");
    fs_tensor_desc d{};
    d.data = t.data_ptr();
    d.ndim = static_cast<int32_t>(t.dim());
    for (int64_t i = 0; i < t.dim(); i++) d.shape[i] = t.size(i);
    d.dtype = dtype_code(t.scalar_type());
    d.device = t.is_cuda() ? t.get_device() : -1;
    d.as_dtype = FS_NO_DTYPE;
    *out = d;
  });
}

int32_t fs_copy(const fs_tensor_desc* src, const fs_tensor_desc* dst) {
  return guard("copy", [&] {
    if (src == nullptr || dst == nullptr) fail("null argument");
    torch::Tensor s = wrap(*src, "source", 0);
    torch::Tensor d = wrap(*dst, "destination", 0);
    if (s.numel() != d.numel()) {
      fail("source " + shape_text(s.sizes()) + " and destination " + shape_text(d.sizes()) +
           " differ in element count");
    }
    d.copy_(s.reshape(d.sizes()));
  });
}

}  // extern "C"
