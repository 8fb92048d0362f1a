/*
 * flowscale_shim: a flat C ABI over libtorch, called from Java through FFM
 * (org.flowscale.bindings.torch.TorchShim).
 *
 * Rules every function follows:
 *  - No C++ exception crosses this ABI. A function that can fail returns an int32 status:
 *    FS_OK (0) on success, non-zero on failure; the failure's text (libtorch's message when it
 *    came from libtorch) is then available from fs_last_error() on the same thread.
 *  - Tensors are described by fs_tensor_desc: a raw pointer to contiguous row-major storage on
 *    the host (device = -1) or on CUDA device `device`. The shim wraps them with from_blob:
 *    no copies unless a tensor lives on another device than the module, or `as_dtype` asks for a
 *    conversion.
 *  - Work on CUDA is issued on libtorch's current stream of the calling thread (see
 *    fs_cuda_set_stream), so the caller's kernels on that stream stay ordered with it; nothing
 *    here synchronises the device unless its name says so.
 *
 * Only the C++ API that libtorch 1.13 and 2.x both provide is used.
 */
#ifndef FLOWSCALE_SHIM_H
#define FLOWSCALE_SHIM_H

#include <stdint.h>

#if defined(__GNUC__)
#define FS_API __attribute__((visibility("default")))
#else
#define FS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a signature or struct layout below changes; the Java side refuses others. */
#define FS_ABI_VERSION 3

#define FS_OK 0
#define FS_ERROR 1

/* Element types; values are part of the ABI. */
enum fs_dtype {
  FS_F32 = 0,
  FS_F64 = 1,
  FS_BF16 = 2,
  FS_F16 = 3,
  FS_I32 = 4,
  FS_I64 = 5,
  /* Since ABI 2: the remaining types a checkpoint may hold. FP8 needs libtorch >= 2.1
     (fs_dtype_supported says whether this build has it). */
  FS_F8_E4M3 = 6,
  FS_F8_E5M2 = 7,
  FS_U8 = 8,
  FS_I8 = 9,
  FS_I16 = 10,
  FS_BOOL = 11
};

/* The dtype code reported for a tensor whose type has no fs_dtype (e.g. complex). */
#define FS_OTHER_DTYPE (-2)

#define FS_MAX_DIMS 8
#define FS_NO_DTYPE (-1)

/*
 * A caller-owned tensor: 96 bytes, no padding surprises (offsets in comments).
 * data: element 0 of contiguous row-major storage (may be NULL only when numel is 0).
 * shape[0..ndim): sizes; entries past ndim are ignored.
 * dtype: an fs_dtype. device: -1 host, else the CUDA ordinal.
 * as_dtype: FS_NO_DTYPE, or an fs_dtype the shim converts an INPUT to before the call
 *   (e.g. F64 time values to the model's F32); ignored for outputs.
 */
typedef struct fs_tensor_desc {
  void* data;                    /*  0 */
  int64_t shape[FS_MAX_DIMS];    /*  8 */
  int32_t ndim;                  /* 72 */
  int32_t dtype;                 /* 76 */
  int32_t device;                /* 80 */
  int32_t as_dtype;              /* 84 */
  int64_t reserved;              /* 88 */
} fs_tensor_desc;

typedef struct fs_module fs_module; /* a loaded TorchScript module */
typedef struct fs_tensor fs_tensor; /* a tensor owned by the shim */
typedef struct fs_slots fs_slots;   /* a listing of a module's parameters and buffers */

/* ---- versions and errors ---- */

/* FS_ABI_VERSION of the library. */
FS_API int32_t fs_abi_version(void);
/* The shim's own version, e.g. "0.1.0". Static storage. */
FS_API const char* fs_shim_version(void);
/* The libtorch version it was built against, e.g. "1.13.0". Static storage. */
FS_API const char* fs_torch_version(void);
/* 1 when the shim was compiled with CUDA support (stream functions work), else 0. */
FS_API int32_t fs_built_with_cuda(void);
/* The last failure's message on this thread ("" if none). Valid until this thread's next call. */
FS_API const char* fs_last_error(void);

/* ---- devices and streams ---- */

/* Number of CUDA devices libtorch sees (0 on CPU builds or machines without a GPU). */
FS_API int32_t fs_cuda_device_count(void);
/* Writes libtorch's current CUDA stream (a cudaStream_t) of `device` for this thread. */
FS_API int32_t fs_cuda_get_stream(int32_t device, void** out_stream);
/*
 * Makes `stream` (a cudaStream_t created by the caller on `device`, or NULL for the default
 * stream) libtorch's current stream of `device` for this thread.
 */
FS_API int32_t fs_cuda_set_stream(int32_t device, void* stream);
/* 1 when this libtorch has the fs_dtype `code` (FP8 needs libtorch >= 2.1), else 0. */
FS_API int32_t fs_dtype_supported(int32_t code);
/* Waits for the work queued on libtorch's current stream of `device` (this thread). */
FS_API int32_t fs_cuda_synchronize(int32_t device);

/*
 * Whether float32 convolutions (cuDNN) and matrix products (cuBLAS) on CUDA may use TF32 tensor
 * cores. libtorch's defaults: allowed for convolutions, not for matrix products. Turning it off
 * gives full float32 accuracy (the tests compare against float64 references); process-wide.
 */
FS_API int32_t fs_set_allow_tf32(int32_t allow);

/* ---- modules ---- */

/*
 * Loads a TorchScript module (torch.jit.save) onto the host (device -1) or CUDA device `device`,
 * in eval mode. On success *out owns it: release with fs_module_free.
 */
FS_API int32_t fs_module_load(const char* path, int32_t device, fs_module** out);
/* Frees a module; NULL is ignored. */
FS_API void fs_module_free(fs_module* module);
/* The module's device (-1 host). */
FS_API int32_t fs_module_device(const fs_module* module);
/*
 * Whether TorchScript's graph optimizer (profiling runs, specialisation per input shape, fusion)
 * works on this module's calls: on (1) by default, as libtorch does. Off (0) runs the graph op by
 * op as eager PyTorch does: no multi-second warm-up per new input shape, which large models called
 * with varying batch sizes (FLUX) want. Since ABI 2.
 */
FS_API int32_t fs_module_set_optimize(fs_module* module, int32_t enabled);

/*
 * Maps input `input` before every call of the module (forward, other methods, fs_module_vjp):
 * the module receives x.permute(perm) * scale + shift (contiguous) instead of the caller's x. perm
 * is a permutation of 0..n_perm-1 with n_perm the input's ndim, keeping axis 0 (the batch) first;
 * n_perm 0 (perm may be NULL) keeps the axes. A gradient through fs_module_vjp is taken with respect
 * to the caller's x, so it comes back in the caller's layout: permuted back, times scale (autograd
 * of the map). Calling it again replaces the map of that input; scale 1, shift 0 and no perm
 * removes it. Used to give TorchScript rewards decoded images as [N, 3, H, W] in [0, 1] from the
 * engine's [N, H, W, 3] in [-1, 1] without a host round trip. Since ABI 3.
 */
FS_API int32_t fs_module_set_input_map(fs_module* module, int32_t input, const int64_t* perm,
                                       int32_t n_perm, double scale, double shift);

/*
 * Runs forward(inputs...) without autograd and writes its result(s) into `outputs`: a tensor
 * result fills outputs[0]; a tuple or list of tensors fills outputs[0..n_outputs). Each result
 * must have the output's element count and leading dimension (it is reshaped to the output's
 * shape) and is converted to the output's dtype and device.
 */
FS_API int32_t fs_module_forward(fs_module* module, const fs_tensor_desc* inputs, int32_t n_inputs,
                          const fs_tensor_desc* outputs, int32_t n_outputs);

/*
 * Runs forward(inputs...) and returns its tensor result(s) as owned tensors: at most
 * `max_outputs` are written to out_tensors, their count to *n_out. Release each with
 * fs_tensor_free.
 */
FS_API int32_t fs_module_forward_owned(fs_module* module, const fs_tensor_desc* inputs, int32_t n_inputs,
                                fs_tensor** out_tensors, int32_t max_outputs, int32_t* n_out);

/*
 * A vector-Jacobian product through forward: y = forward(inputs...) (a tensor result);
 * grad_out = d<y, w>/d inputs[wrt] where w = cotangent, or all ones when cotangent is NULL
 * (then y must be one value per sample, shape [N] or [N, 1]: this is the per-sample gradient of
 * a reward when samples are independent). Writes y into out_value when it is not NULL.
 */
FS_API int32_t fs_module_vjp(fs_module* module, const fs_tensor_desc* inputs, int32_t n_inputs,
                      int32_t wrt, const fs_tensor_desc* cotangent,
                      const fs_tensor_desc* out_value, const fs_tensor_desc* out_grad);

/*
 * Like fs_module_forward, for any method of the module (e.g. a VAE's "decode", or a method marked
 * @torch.jit.export). Fails naming the method when the module has none of that name.
 */
FS_API int32_t fs_module_run_method(fs_module* module, const char* method,
                                    const fs_tensor_desc* inputs, int32_t n_inputs,
                                    const fs_tensor_desc* outputs, int32_t n_outputs);
/* 1 when the module has a method of that name, else 0. */
FS_API int32_t fs_module_has_method(const fs_module* module, const char* method);

/* ---- weights: parameters, buffers and attributes by dotted name (since ABI 2) ----
 *
 * These load real weights into an architecture file scripted at a tiny width: list what the
 * module holds, replace each parameter or buffer from caller memory (one tensor at a time, so peak
 * host memory stays one tensor above the model), set the few integer attributes the widths cannot
 * tell (heads, rope axes), and move or cast the rest. Names are dotted paths through submodules
 * ("double_blocks.0.img_attn.qkv.weight"), as PyTorch's state_dict() spells them.
 */

/* Lists every parameter and buffer of the module and its submodules, in registration order. */
FS_API int32_t fs_module_slots(const fs_module* module, fs_slots** out);
/* The number of entries of a listing. */
FS_API int32_t fs_slots_count(const fs_slots* slots);
/*
 * Entry i of a listing: its dotted name (valid while the listing lives), *is_buffer (1 buffer, 0
 * parameter) and its current tensor in *desc (shape, dtype or FS_OTHER_DTYPE, device; data
 * points at the module's storage at listing time).
 */
FS_API int32_t fs_slots_get(const fs_slots* slots, int32_t i, const char** name,
                            int32_t* is_buffer, fs_tensor_desc* desc);
/* Frees a listing; NULL is ignored. */
FS_API void fs_slots_free(fs_slots* slots);

/*
 * Replaces the parameter or buffer `name` with a copy of `src` (host or device memory, read during
 * the call only), converted to `dtype` (FS_NO_DTYPE keeps src's dtype) on `device` (-1 host, else
 * the CUDA ordinal). The shape may differ from the old tensor's (the caller checks shapes against
 * its architecture). A parameter stays a parameter, with requires_grad off (inference). Memory
 * crossing to a device is copied first and converted there. Fails naming `name` when it is not a
 * parameter or buffer of the module.
 */
FS_API int32_t fs_module_set_tensor(fs_module* module, const char* name,
                                    const fs_tensor_desc* src, int32_t dtype, int32_t device);

/*
 * Sets the attribute `name` (dotted) to values[0] when it is an int, or to values[0..n) when it is
 * a List[int]. The attribute must exist with that type in the scripted class (an attribute marked
 * Final is a constant compiled into the code and cannot be set).
 */
FS_API int32_t fs_module_set_ints(fs_module* module, const char* name, const int64_t* values,
                                  int32_t n);
/*
 * Reads the int or List[int] attribute `name`: writes up to `capacity` values and their count to
 * *n (a count above capacity means the list was cut).
 */
FS_API int32_t fs_module_get_ints(const fs_module* module, const char* name, int64_t* values,
                                  int32_t capacity, int32_t* n);

/*
 * Moves every parameter and buffer to `device` (-1 host) and converts the floating-point ones to
 * `dtype` (FS_NO_DTYPE: keep); integer tensors keep their type. The module's device becomes
 * `device`.
 */
FS_API int32_t fs_module_to(fs_module* module, int32_t device, int32_t dtype);

/* ---- owned tensors ---- */

/* A new uninitialised contiguous tensor of that shape, dtype and device (desc.data ignored). */
FS_API int32_t fs_tensor_empty(const fs_tensor_desc* like, fs_tensor** out);
/* Frees an owned tensor; NULL is ignored. */
FS_API void fs_tensor_free(fs_tensor* tensor);
/* Describes an owned tensor (contiguous): its data pointer, shape, dtype and device. */
FS_API int32_t fs_tensor_describe(const fs_tensor* tensor, fs_tensor_desc* out);

/* Copies src into dst (same element count; dtype converted; across host and devices). */
FS_API int32_t fs_copy(const fs_tensor_desc* src, const fs_tensor_desc* dst);

#ifdef __cplusplus
}
#endif

#endif /* FLOWSCALE_SHIM_H */
