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
#define FS_ABI_VERSION 1

#define FS_OK 0
#define FS_ERROR 1

/* Element types; values are part of the ABI. */
enum fs_dtype {
  FS_F32 = 0,
  FS_F64 = 1,
  FS_BF16 = 2,
  FS_F16 = 3,
  FS_I32 = 4,
  FS_I64 = 5
};

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
