// flowscale particle operations on the GPU: the kernels behind CudaParticleOps.
//
// Every kernel reproduces the CPU reference (engine ops/cpu/CpuParticleOps and rng/Philox):
// same Philox addressing, same order of float operations (no FMA contraction where the CPU
// rounds twice), same bfloat16 rounding, same NaN rules. Compiled to PTX for compute_90 by the
// Maven build; the driver JIT-compiles it for the device at load time.
//
// Launch shapes are chosen by the Java side: the elementwise kernels use 2-D blocks
// (x over column units, y over rows) with grid-stride loops in both directions, so no thread ever
// divides by the row length; the reductions run in one block of 1024 threads (particle counts are
// small: the work is launch-bound, not bandwidth-bound).
//
// Noise streams: every noise kernel takes a stream and an optional pointer to a device-resident
// stream counter; it draws from stream + *counter (mod 2^64) when the pointer is set, else from
// stream alone (the eager form, bit-identical to the CPU backend's addressing). A CUDA graph bakes
// its kernel parameters in, so a captured round passes the counter and a per-use offset, and
// fs_advance_streams (the round's last node) moves the counter on: replay k of a round that
// starts at counter value c draws exactly what eager launches with stream c + k * per_round +
// offset draw.
//
// Errors found on the device (an index out of range, a negative noise id, a coefficient that
// needs a missing operand, non-finite weights) are recorded in a small error record in device
// memory (first error wins, by atomicCAS: atomics on mapped host memory are not atomic across
// PCIe); the host copies the record back and raises it at its next synchronisation point.

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned long long u64;

// The RNG and number-format helpers are also compiled for the host, so that a host program
// (src/test/cuda/host_check.cu, run by HostMathTest) checks them against the Java reference on
// machines without a GPU.
#define FS_HD __host__ __device__ __forceinline__

#ifdef __CUDA_ARCH__
#define FS_MULHI(a, b) __umulhi((a), (b))
#define FS_F2U(f) __float_as_uint(f)
#define FS_U2F(u) __uint_as_float(u)
#else
#include <cstring>
static inline u32 fs_host_f2u(float f) {
  u32 u;
  memcpy(&u, &f, 4);
  return u;
}
static inline float fs_host_u2f(u32 u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
#define FS_MULHI(a, b) ((u32)(((u64)(a) * (u64)(b)) >> 32))
#define FS_F2U(f) fs_host_f2u(f)
#define FS_U2F(u) fs_host_u2f(u)
#endif

// ---- error record: {code, row, value, 0} ----

#define FS_ERR_GATHER_INDEX 1
#define FS_ERR_NOISE_ID 2
#define FS_ERR_U_MISSING 3
#define FS_ERR_NOISE_MISSING 4
#define FS_ERR_WEIGHTS 5

__device__ __forceinline__ void fs_fail(int* err, int code, int row, int value) {
  if (atomicCAS(err, 0, code) == 0) {
    err[1] = row;
    err[2] = value;
  }
}

// ---- Philox4x32-10, exactly as rng/Philox.block ----

FS_HD void philox(u32 c0, u32 c1, u32 c2, u32 c3, u32 k0, u32 k1,
                                       u32 out[4]) {
  const u32 M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#pragma unroll
  for (int r = 0; r < 10; r++) {
    if (r > 0) {
      k0 += W0;
      k1 += W1;
    }
    u32 hi0 = FS_MULHI(M0, c0), lo0 = M0 * c0;
    u32 hi1 = FS_MULHI(M1, c2), lo1 = M1 * c2;
    u32 n0 = hi1 ^ c1 ^ k0;
    u32 n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// Box-Muller on one word pair, exactly as engine rng/BoxMullerF32 (the CPU backend's draws): the
// transform of Philox.boxMuller (u = (w + 0.5) 2^-32, radius sqrt(-2 ln u) from the first word,
// angle 2 pi u from the second) evaluated in float by the same branch-free sequence of correctly
// rounded float adds, multiplies, int-to-float conversions, one square root and bit operations,
// in the same order, with the same constants (bit patterns below). __fmul_rn/__fadd_rn keep
// nvcc from contracting a multiply and an add into an FMA (which rounds once where Java rounds
// twice), so the draws are the CPU backend's bit for bit, on the device and on the host
// (HostMathTest: bit-exact against Philox.gaussian4F32, and within BoxMullerF32.MAX_ERROR of the
// radius against the double reference).
//   -2 ln u: w = a, or ~a for u >= 1/2; v = (w + 0.5) 2^-32 with one rounding; ln u for the lower
//   half and ln(1 - v) = ln u for the upper half (1 - u is never rounded where the radius is
//   small), both as e ln 2 + log1p(f) with f in [sqrt(1/2) - 1, sqrt(2) - 1] and Cephes' logf
//   polynomial for log1p.
//   2 pi u2: the word is split exactly, in integers, into a quadrant q and a remainder d with
//   |d| <= 2^29: angle = q pi / 2 + 2 pi (2d + 1) 2^-33; Taylor sine (degree 9) and cosine
//   (degree 10) of the remainder, swapped and negated by quadrant.
// (Host builds: plain float operations, compiled without contraction: -ffp-contract=off.)
#ifdef __CUDA_ARCH__
#define FS_MUL(a, b) __fmul_rn((a), (b))
#define FS_ADD(a, b) __fadd_rn((a), (b))
#else
#define FS_MUL(a, b) ((a) * (b))
#define FS_ADD(a, b) ((a) + (b))
#endif

// mask == all ones ? x : y
FS_HD u32 fs_select(u32 mask, u32 x, u32 y) { return (x & mask) | (y & ~mask); }

FS_HD float fs_bm_radius(u32 a) {
  const float P0 = 0x1.204376p-4f, P1 = -0x1.d7a37p-4f, P2 = 0x1.de4a34p-4f,
              P3 = -0x1.fcba9ep-4f, P4 = 0x1.23d37ep-3f, P5 = -0x1.555cap-3f,
              P6 = 0x1.999d58p-3f, P7 = -0x1.fffff8p-3f, P8 = 0x1.555554p-2f;
  const float LN2_HI = 0x1.63p-1f, LN2_LO = -0x1.bd0106p-13f;
  const u32 SQRT_HALF_BITS = 0x3f3504f3u, ONE_BITS = 0x3f800000u, MANTISSA = 0x007fffffu;
  const u32 UPPER_SPLIT_BITS = 0x3e95f61au;  // 1 - sqrt(1/2), rounded to float
  const u32 upper = 0u - (a >> 31);          // all ones for u >= 1/2
  const u32 w = a ^ upper;                   // < 2^31
  const float v = FS_MUL(FS_ADD((float)(int)(w & ~0xFFu), FS_ADD((float)(int)(w & 0xFFu), 0.5f)),
                         0x1p-32f);
  // ln v = k ln 2 + log1p(m - 1), m in [sqrt(1/2), sqrt(2)) (the lower half's u)
  const u32 ix = FS_F2U(v) + (ONE_BITS - SQRT_HALF_BITS);
  const float kLow = (float)((int)(ix >> 23) - 0x7f);
  const float fLow = FS_ADD(FS_U2F((ix & MANTISSA) + SQRT_HALF_BITS), -1.0f);
  // ln(1 - v) for the upper half: log1p(-v), or -ln 2 + log1p(1 - 2v) when 1 - v < sqrt(1/2);
  // v > 0, so its bits order like ints
  const u32 big = 0u - ((UPPER_SPLIT_BITS - FS_F2U(v)) >> 31);
  const float fUp =
      FS_U2F(fs_select(big, FS_F2U(FS_ADD(1.0f, -FS_MUL(2.0f, v))), FS_F2U(-v)));
  const float kUp = FS_U2F(fs_select(big, FS_F2U(-1.0f), 0u));
  const float f = FS_U2F(fs_select(upper, FS_F2U(fUp), FS_F2U(fLow)));
  const float k = FS_U2F(fs_select(upper, FS_F2U(kUp), FS_F2U(kLow)));
  const float z = FS_MUL(f, f);
  float p = FS_ADD(FS_MUL(P0, f), P1);
  p = FS_ADD(FS_MUL(p, f), P2);
  p = FS_ADD(FS_MUL(p, f), P3);
  p = FS_ADD(FS_MUL(p, f), P4);
  p = FS_ADD(FS_MUL(p, f), P5);
  p = FS_ADD(FS_MUL(p, f), P6);
  p = FS_ADD(FS_MUL(p, f), P7);
  p = FS_ADD(FS_MUL(p, f), P8);
  float y = FS_MUL(FS_MUL(p, f), z);
  y = FS_ADD(y, FS_MUL(LN2_LO, k));
  y = FS_ADD(y, FS_MUL(-0.5f, z));
  float ln = FS_ADD(f, y);
  ln = FS_ADD(ln, FS_MUL(LN2_HI, k));
  return sqrtf(FS_MUL(-2.0f, ln));  // IEEE square root (no fast math), as Java's
}

FS_HD void box_muller(u32 a, u32 b, float* n0, float* n1) {
  const float S1 = 0x1.921fb6p2f, S3 = -0x1.4abbcep5f, S5 = 0x1.466bc6p6f, S7 = -0x1.32d2ccp6f,
              S9 = 0x1.507834p5f;
  const float C2 = -0x1.3bd3ccp4f, C4 = 0x1.03c1fp6f, C6 = -0x1.55d3c8p6f, C8 = 0x1.e1f506p5f,
              C10 = -0x1.a6d1f2p4f;
  const u32 QUARTER = 0x20000000u, REMAINDER = 0x3FFFFFFFu;
  const float radius = fs_bm_radius(a);
  const u32 q = (b + QUARTER) >> 30;
  const int d2 = ((int)((b + QUARTER) & REMAINDER) - (int)QUARTER) * 2 + 1;  // |d2| < 2^30
  const float y = FS_MUL((float)d2, 0x1p-33f);
  const float y2 = FS_MUL(y, y);
  float s = FS_ADD(FS_MUL(S9, y2), S7);
  s = FS_ADD(FS_MUL(s, y2), S5);
  s = FS_ADD(FS_MUL(s, y2), S3);
  s = FS_ADD(FS_MUL(s, y2), S1);
  s = FS_MUL(s, y);
  float c = FS_ADD(FS_MUL(C10, y2), C8);
  c = FS_ADD(FS_MUL(c, y2), C6);
  c = FS_ADD(FS_MUL(c, y2), C4);
  c = FS_ADD(FS_MUL(c, y2), C2);
  c = FS_ADD(FS_MUL(c, y2), 1.0f);
  const u32 sb = FS_F2U(s), cb = FS_F2U(c);
  const u32 swap = 0u - (q & 1u);
  const u32 cosBits = fs_select(swap, sb, cb) ^ (((q + 1u) & 2u) << 30);
  const u32 sinBits = fs_select(swap, cb, sb) ^ ((q & 2u) << 30);
  *n0 = FS_MUL(radius, FS_U2F(cosBits));
  *n1 = FS_MUL(radius, FS_U2F(sinBits));
}

// The four normals of counter block (blk, particle, stream), key = seed.
FS_HD void gaussian4(u64 seed, u64 stream, u32 particle, u32 blk,
                                          float z[4]) {
  u32 w[4];
  philox(blk, particle, (u32)stream, (u32)(stream >> 32), (u32)seed, (u32)(seed >> 32), w);
  box_muller(w[0], w[1], &z[0], &z[1]);
  box_muller(w[2], w[3], &z[2], &z[3]);
}

// Uniform i of a stream in (0, 1), as Philox.uniform (exact in double).
FS_HD double uniform(u64 seed, u64 stream, u64 i) {
  u32 w[4];
  philox((u32)(i >> 2), 0xFFFFFFFFu, (u32)stream, (u32)(stream >> 32), (u32)seed,
         (u32)(seed >> 32), w);
  // Selected without indexing the array by a runtime value, which would put it in local memory.
  const u32 k = (u32)(i & 3);
  const u32 word = k == 0 ? w[0] : k == 1 ? w[1] : k == 2 ? w[2] : w[3];
  return ((double)word + 0.5) * 2.3283064365386962890625e-10;
}

// The stream a noise kernel draws from: the parameter, plus the counter when one is given (the
// graph-replay form). The counter only changes between kernels. Resolved where each Philox block
// is drawn (an L1 hit) rather than once per thread: holding the 64-bit sum in registers across
// the loops pushed the affine kernels from 32 to 38 registers (75% occupancy at 256 threads).
__device__ __forceinline__ u64 fs_stream(u64 stream, const u64* counter) {
  return counter == nullptr ? stream : stream + *counter;
}

// ---- element types ----

// bfloat16 as DType.toBf16 / fromBf16: round to nearest even, NaN kept NaN (quiet bit set).
FS_HD float bf16_to_f32(u16 h) { return FS_U2F(((u32)h) << 16); }

FS_HD u16 f32_to_bf16(float f) {
  u32 bits = FS_F2U(f);
  if (f != f) {
    return (u16)((bits >> 16) | 0x40u);
  }
  return (u16)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

struct F32 {
  typedef float T;
  __device__ static float load(const float* p, u64 k) { return p[k]; }
  __device__ static void store(float* p, u64 k, float v) { p[k] = v; }
  // 4 consecutive elements starting at a multiple of 4 (16-byte aligned).
  __device__ static void load4(const float* p, u64 k, float v[4]) {
    float4 q = *reinterpret_cast<const float4*>(p + k);
    v[0] = q.x;
    v[1] = q.y;
    v[2] = q.z;
    v[3] = q.w;
  }
  __device__ static void store4(float* p, u64 k, const float v[4]) {
    *reinterpret_cast<float4*>(p + k) = make_float4(v[0], v[1], v[2], v[3]);
  }
};

struct BF16 {
  typedef u16 T;
  __device__ static float load(const u16* p, u64 k) { return bf16_to_f32(p[k]); }
  __device__ static void store(u16* p, u64 k, float v) { p[k] = f32_to_bf16(v); }
  // 4 consecutive elements starting at a multiple of 4 (8-byte aligned).
  __device__ static void load4(const u16* p, u64 k, float v[4]) {
    uint2 q = *reinterpret_cast<const uint2*>(p + k);
    v[0] = __uint_as_float(q.x << 16);
    v[1] = __uint_as_float(q.x & 0xFFFF0000u);
    v[2] = __uint_as_float(q.y << 16);
    v[3] = __uint_as_float(q.y & 0xFFFF0000u);
  }
  __device__ static void store4(u16* p, u64 k, const float v[4]) {
    uint2 q;
    q.x = (u32)f32_to_bf16(v[0]) | ((u32)f32_to_bf16(v[1]) << 16);
    q.y = (u32)f32_to_bf16(v[2]) | ((u32)f32_to_bf16(v[3]) << 16);
    *reinterpret_cast<uint2*>(p + k) = q;
  }
};

// ---- affine step and Gaussian noise ----
//
// Thread unit = one row and 4 consecutive columns (one Philox block, so each block of noise is
// generated once). Row i, column group g: elements i*cols + 4g .. +3.

template <class E>
__device__ __forceinline__ void affine_body(const typename E::T* x, const typename E::T* u,
                                            const double* coef, const int* ids, int has_noise,
                                            u64 seed, u64 stream, const u64* counter,
                                            typename E::T* out, int rows, int cols, int* err) {
  const int groups = (cols + 3) >> 2;
  const bool vec = (cols & 3) == 0;
  for (int i = blockIdx.y * blockDim.y + threadIdx.y; i < rows; i += gridDim.y * blockDim.y) {
    // Coefficients are applied in float, as the CPU does ((float) of the double).
    const float a = (float)coef[3 * (u64)i];
    const float b = (float)coef[3 * (u64)i + 1];
    const float s = (float)coef[3 * (u64)i + 2];
    int id = i;
    bool bad = false;
    if (u == nullptr && b != 0.0f) {
      bad = true;
      if (blockIdx.x == 0 && threadIdx.x == 0) fs_fail(err, FS_ERR_U_MISSING, i, 0);
    }
    if (!has_noise && s != 0.0f) {
      bad = true;
      if (blockIdx.x == 0 && threadIdx.x == 0) fs_fail(err, FS_ERR_NOISE_MISSING, i, 0);
    }
    if (has_noise && ids != nullptr) {
      id = ids[i];
      if (id < 0) {
        bad = true;
        if (blockIdx.x == 0 && threadIdx.x == 0) fs_fail(err, FS_ERR_NOISE_ID, i, id);
      }
    }
    const u64 base = (u64)i * (u64)cols;
    for (int g = blockIdx.x * blockDim.x + threadIdx.x; g < groups; g += gridDim.x * blockDim.x) {
      const int j0 = g << 2;
      float z[4] = {0.f, 0.f, 0.f, 0.f};
      if (s != 0.0f && !bad) gaussian4(seed, fs_stream(stream, counter), (u32)id, (u32)g, z);
      float xv[4], uv[4] = {0.f, 0.f, 0.f, 0.f}, v[4];
      const int n = min(4, cols - j0);
      if (vec) {
        E::load4(x, base + j0, xv);
        if (b != 0.0f && u != nullptr) E::load4(u, base + j0, uv);
      } else {
        for (int t = 0; t < n; t++) {
          xv[t] = E::load(x, base + j0 + t);
          if (b != 0.0f && u != nullptr) uv[t] = E::load(u, base + j0 + t);
        }
      }
#pragma unroll
      for (int t = 0; t < 4; t++) {
        // Same rounding sequence as the CPU: v = a x; v += b u; v += s z (no fused multiply-add).
        float r = __fmul_rn(a, xv[t]);
        if (b != 0.0f) r = __fadd_rn(r, __fmul_rn(b, uv[t]));
        if (s != 0.0f) r = __fadd_rn(r, __fmul_rn(s, z[t]));
        v[t] = bad ? __int_as_float(0x7FC00000) : r;
      }
      if (vec) {
        E::store4(out, base + j0, v);
      } else {
        for (int t = 0; t < n; t++) E::store(out, base + j0 + t, v[t]);
      }
    }
  }
}

template <class E>
__device__ __forceinline__ void gaussian_body(const int* ids, u64 seed, u64 stream,
                                              const u64* counter, typename E::T* out, int rows,
                                              int cols, int* err) {
  const int groups = (cols + 3) >> 2;
  const bool vec = (cols & 3) == 0;
  for (int i = blockIdx.y * blockDim.y + threadIdx.y; i < rows; i += gridDim.y * blockDim.y) {
    int id = ids == nullptr ? i : ids[i];
    if (id < 0 && blockIdx.x == 0 && threadIdx.x == 0) fs_fail(err, FS_ERR_NOISE_ID, i, id);
    const u64 base = (u64)i * (u64)cols;
    for (int g = blockIdx.x * blockDim.x + threadIdx.x; g < groups; g += gridDim.x * blockDim.x) {
      const int j0 = g << 2;
      float z[4];
      if (id >= 0) {
        gaussian4(seed, fs_stream(stream, counter), (u32)id, (u32)g, z);
      } else {
        z[0] = z[1] = z[2] = z[3] = __int_as_float(0x7FC00000);
      }
      if (vec) {
        E::store4(out, base + j0, z);
      } else {
        for (int t = 0; t < min(4, cols - j0); t++) E::store(out, base + j0 + t, z[t]);
      }
    }
  }
}

extern "C" __global__ void fs_affine_f32(const float* x, const float* u, const double* coef,
                                         const int* ids, int has_noise, u64 seed, u64 stream,
                                         const u64* counter, float* out, int rows, int cols,
                                         int* err) {
  affine_body<F32>(x, u, coef, ids, has_noise, seed, stream, counter, out, rows, cols, err);
}

extern "C" __global__ void fs_affine_bf16(const u16* x, const u16* u, const double* coef,
                                          const int* ids, int has_noise, u64 seed, u64 stream,
                                          const u64* counter, u16* out, int rows, int cols,
                                          int* err) {
  affine_body<BF16>(x, u, coef, ids, has_noise, seed, stream, counter, out, rows, cols, err);
}

extern "C" __global__ void fs_gaussian_f32(const int* ids, u64 seed, u64 stream,
                                           const u64* counter, float* out, int rows, int cols,
                                           int* err) {
  gaussian_body<F32>(ids, seed, stream, counter, out, rows, cols, err);
}

extern "C" __global__ void fs_gaussian_bf16(const int* ids, u64 seed, u64 stream,
                                            const u64* counter, u16* out, int rows, int cols,
                                            int* err) {
  gaussian_body<BF16>(ids, seed, stream, counter, out, rows, cols, err);
}

// counter += by (mod 2^64): the last node of a round captured with a stream counter, so the next
// replay draws from fresh streams. One thread; ordered after the round's noise kernels by the
// stream (and by the graph's dependency chain).
extern "C" __global__ void fs_advance_streams(u64* counter, u64 by) {
  if (blockIdx.x == 0 && threadIdx.x == 0) *counter += by;
}

// ---- gather: dst[i, :] = src[index[i], :] ----
//
// Rows are copied in units of W bytes (16, 8, 4 or 2: the largest that divides the row's bytes;
// device allocations are 256-byte aligned). A bad index leaves that row untouched and is
// reported.

template <class W>
__device__ __forceinline__ void gather_body(const W* src, const int* index, W* dst, int src_rows,
                                            int dst_rows, int units, int* err) {
  for (int i = blockIdx.y * blockDim.y + threadIdx.y; i < dst_rows;
       i += gridDim.y * blockDim.y) {
    const int from = index[i];
    if (from < 0 || from >= src_rows) {
      if (blockIdx.x == 0 && threadIdx.x == 0) fs_fail(err, FS_ERR_GATHER_INDEX, i, from);
      continue;
    }
    const W* s = src + (u64)from * units;
    W* d = dst + (u64)i * units;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < units; c += gridDim.x * blockDim.x) {
      d[c] = s[c];
    }
  }
}

extern "C" __global__ void fs_gather_16(const uint4* src, const int* index, uint4* dst,
                                        int src_rows, int dst_rows, int units, int* err) {
  gather_body<uint4>(src, index, dst, src_rows, dst_rows, units, err);
}
extern "C" __global__ void fs_gather_8(const uint2* src, const int* index, uint2* dst,
                                       int src_rows, int dst_rows, int units, int* err) {
  gather_body<uint2>(src, index, dst, src_rows, dst_rows, units, err);
}
extern "C" __global__ void fs_gather_4(const u32* src, const int* index, u32* dst, int src_rows,
                                       int dst_rows, int units, int* err) {
  gather_body<u32>(src, index, dst, src_rows, dst_rows, units, err);
}
extern "C" __global__ void fs_gather_2(const u16* src, const int* index, u16* dst, int src_rows,
                                       int dst_rows, int units, int* err) {
  gather_body<u16>(src, index, dst, src_rows, dst_rows, units, err);
}

// ---- first non-finite row: out = min row holding NaN or an infinity ----
//
// A value is non-finite exactly when its exponent bits are all ones, so the check reads raw words
// of any width (f32: 0x7F800000 in 32 bits, bf16: 0x7F80 in 16, f64: 0x7FF0... in the high 32).
// out must hold INT_MAX before the launch (the host sets it); rows at or after the best row found
// so far are skipped. Same 2-D launch as the elementwise kernels (x over columns, y over rows).

template <class W, u32 MASK, int SHIFT>
__device__ __forceinline__ void nonfinite_body(const W* x, int rows, int cols, int* out) {
  for (int i = blockIdx.y * blockDim.y + threadIdx.y; i < rows; i += gridDim.y * blockDim.y) {
    if (*(volatile int*)out <= i) continue;
    const W* r = x + (u64)i * (u64)cols;
    bool bad = false;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
      bad |= (((u32)(r[c] >> SHIFT)) & MASK) == MASK;
    }
    if (bad) atomicMin(out, i);
  }
}

extern "C" __global__ void fs_nonfinite_f32(const u32* x, int rows, int cols, int* out) {
  nonfinite_body<u32, 0x7F800000u, 0>(x, rows, cols, out);
}
extern "C" __global__ void fs_nonfinite_bf16(const u16* x, int rows, int cols, int* out) {
  nonfinite_body<u16, 0x7F80u, 0>(x, rows, cols, out);
}
extern "C" __global__ void fs_nonfinite_f64(const u64* x, int rows, int cols, int* out) {
  nonfinite_body<u64, 0x7FF00000u, 32>(x, rows, cols, out);
}

// ---- per-group argmax: one warp per group ----
//
// The CPU scans each group in order and takes x when x > best, or when best is NaN and x is not:
// the winner is the first occurrence of the largest non-NaN value, or the group's first row when
// all are NaN. "Better" below is that order made associative so lanes can be combined.

__device__ __forceinline__ bool better(double v, int i, double bv, int bi) {
  const bool vn = v != v, bn = bv != bv;
  if (vn != bn) return bn;  // a number beats NaN
  if (!vn && v != bv) return v > bv;
  return i < bi;  // equal (or both NaN): the first row
}

extern "C" __global__ void fs_group_argmax(const double* values, int groups, int group_size,
                                           int* out) {
  const int lane = threadIdx.x & 31;
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const int warps = (gridDim.x * blockDim.x) >> 5;
  for (int g = warp; g < groups; g += warps) {
    const int start = g * group_size;
    double bv = __longlong_as_double(0x7FF8000000000000LL);
    int bi = 0x7FFFFFFF;
    for (int k = lane; k < group_size; k += 32) {
      const double v = values[start + k];
      if (better(v, start + k, bv, bi)) {
        bv = v;
        bi = start + k;
      }
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
      const double ov = __shfl_down_sync(0xFFFFFFFFu, bv, off);
      const int oi = __shfl_down_sync(0xFFFFFFFFu, bi, off);
      if (better(ov, oi, bv, bi)) {
        bv = ov;
        bi = oi;
      }
    }
    if (lane == 0) out[g] = bi;
  }
}

// ---- one-block reductions over an F64 column ----

// Reductions run in one block of this many threads; launch bounds make ptxas fit them.
#define FS_RED_THREADS 1024

__device__ __forceinline__ double block_sum(double v, double* shared) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, off);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < (blockDim.x >> 5) ? shared[lane] : 0.0;
    for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xFFFFFFFFu, v, off);
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  return shared[0];
}

// Max with NaN poisoning: returns NaN if any input is NaN.
__device__ __forceinline__ double block_max(double v, double* shared) {
  for (int off = 16; off > 0; off >>= 1) {
    const double o = __shfl_down_sync(0xFFFFFFFFu, v, off);
    v = (o != o || v != v) ? __longlong_as_double(0x7FF8000000000000LL) : fmax(v, o);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < (blockDim.x >> 5) ? shared[lane] : -__longlong_as_double(0x7FF0000000000000LL);
    for (int off = 16; off > 0; off >>= 1) {
      const double o = __shfl_down_sync(0xFFFFFFFFu, v, off);
      v = (o != o || v != v) ? __longlong_as_double(0x7FF8000000000000LL) : fmax(v, o);
    }
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  return shared[0];
}

// log sum exp as CpuParticleOps.logSumExp: NaN if any NaN; the max itself when it is infinite;
// else max + log(sum exp(v - max)). n >= 1.
__device__ double block_logsumexp(const double* v, int n, double* shared) {
  double m = -__longlong_as_double(0x7FF0000000000000LL);
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const double x = v[i];
    m = (x != x || m != m) ? __longlong_as_double(0x7FF8000000000000LL) : fmax(m, x);
  }
  m = block_max(m, shared);
  if (m != m || isinf(m)) return m;
  double s = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += exp(v[i] - m);
  s = block_sum(s, shared);
  return m + log(s);
}

// out[0] = log-sum-exp.
extern "C" __global__ void __launch_bounds__(FS_RED_THREADS, 1) fs_logsumexp(const double* values, int n, double* out) {
  __shared__ double shared[32];
  const double l = block_logsumexp(values, n, shared);
  if (threadIdx.x == 0) out[0] = l;
}

// out[0] = log-sum-exp, out[1] = sum of squared normalised weights (when out[0] is finite).
extern "C" __global__ void __launch_bounds__(FS_RED_THREADS, 1) fs_ess(const double* values, int n, double* out) {
  __shared__ double shared[32];
  const double l = block_logsumexp(values, n, shared);
  double q = 0.0;
  if (isfinite(l)) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      const double w = exp(values[i] - l);
      q += w * w;
    }
    q = block_sum(q, shared);
  }
  if (threadIdx.x == 0) {
    out[0] = l;
    out[1] = q;
  }
}

// Resampling as CpuParticleOps.resample: cdf_i = sum_{k<=i} exp(v_k - lse), total = cdf_{n-1};
// position k = u_k total (multinomial) or (k + u_0) / m total (systematic); the index is the
// first cdf entry above the position, never a particle of weight 0 (as on the CPU). cdf is
// scratch of n doubles. One block.
extern "C" __global__ void __launch_bounds__(FS_RED_THREADS, 1) fs_resample(const double* values, int n, int m, int systematic,
                                       u64 seed, u64 stream, const u64* counter, double* cdf,
                                       int* out, int* err) {
  __shared__ double shared[32];
  __shared__ double warp_total[32];
  const double l = block_logsumexp(values, n, shared);
  if (!isfinite(l)) {
    if (threadIdx.x == 0) fs_fail(err, FS_ERR_WEIGHTS, 0, 0);
    for (int k = threadIdx.x; k < m; k += blockDim.x) out[k] = -1;
    return;
  }
  // Inclusive scan: each thread sums a contiguous chunk in order, the chunk totals are scanned
  // (warp shuffles, then across warps), then each chunk is written from its offset, sequentially
  // within the chunk as on the CPU.
  const int t = threadIdx.x;
  const int lane = t & 31, warp = t >> 5;
  const int chunk = (n + blockDim.x - 1) / blockDim.x;
  const int lo = min(n, t * chunk), hi = min(n, lo + chunk);
  double mine = 0.0;
  for (int i = lo; i < hi; i++) mine += exp(values[i] - l);
  double inc = mine;
  for (int off = 1; off < 32; off <<= 1) {
    const double o = __shfl_up_sync(0xFFFFFFFFu, inc, off);
    if (lane >= off) inc += o;
  }
  if (lane == 31) warp_total[warp] = inc;
  __syncthreads();
  if (warp == 0) {
    double w = lane < (blockDim.x >> 5) ? warp_total[lane] : 0.0;
    for (int off = 1; off < 32; off <<= 1) {
      const double o = __shfl_up_sync(0xFFFFFFFFu, w, off);
      if (lane >= off) w += o;
    }
    warp_total[lane] = w;
  }
  __syncthreads();
  double acc = inc - mine + (warp > 0 ? warp_total[warp - 1] : 0.0);
  for (int i = lo; i < hi; i++) {
    acc += exp(values[i] - l);
    cdf[i] = acc;
  }
  __syncthreads();
  const double total = cdf[n - 1];
  stream = fs_stream(stream, counter);
  const double offset = systematic ? uniform(seed, stream, 0) : 0.0;
  for (int k = t; k < m; k += blockDim.x) {
    const double pos = systematic ? ((double)k + offset) / (double)m * total
                                  : uniform(seed, stream, (u64)k) * total;
    int a = 0, b = n - 1;
    while (a < b) {
      const int mid = (int)(((unsigned)a + (unsigned)b) >> 1);
      if (cdf[mid] > pos) {
        b = mid;
      } else {
        a = mid + 1;
      }
    }
    // A chunk starts from the scan of the chunk totals, not from the previous chunk's running
    // sum, so the two can differ by an ulp: a particle of weight 0 can then own [cdf[a-1],
    // cdf[a]) and be drawn (about 1e-16 per draw), which the CPU never does. Step past such
    // particles to the next one with weight, or back to the last one at the end (there is one:
    // the largest weight is at least 1/n).
    if (exp(values[a] - l) == 0.0) {
      int c = a + 1;
      while (c < n && exp(values[c] - l) == 0.0) c++;
      if (c == n) {
        c = a - 1;
        while (c > 0 && exp(values[c] - l) == 0.0) c--;
      }
      a = c;
    }
    out[k] = a;
  }
}
