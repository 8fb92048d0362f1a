// Runs the elementwise kernels (affine, gather) on the host, compiled by g++ with the CUDA
// built-ins emulated: every block and thread of the launch that CudaParticleOps.launchRows would
// make runs in turn. Checks the kernels' indexing, vector and tail paths, bf16 packing and noise
// addressing against the scalar definition (the CPU backend's loop), bit for bit, without a GPU.
// The reductions (barriers, warp shuffles) are not emulated; they abort if reached.
// Run by KernelEmulationTest; prints the failing cases and exits 1 if there are any.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <vector>
#include <random>
#include <algorithm>
#include <functional>
struct dim3 { unsigned x=1,y=1,z=1; };
static dim3 blockIdx, blockDim, threadIdx, gridDim;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
struct float4 { float x,y,z,w; };
struct uint2 { unsigned x,y; };
struct uint4 { unsigned x,y,z,w; };
static inline float4 make_float4(float a,float b,float c,float d){return {a,b,c,d};}
static inline float __fmul_rn(float a,float b){ volatile float r=a*b; return r;}
static inline float __fadd_rn(float a,float b){ volatile float r=a+b; return r;}
static inline float __int_as_float(int i){float f; memcpy(&f,&i,4); return f;}
static inline float __uint_as_float(unsigned i){float f; memcpy(&f,&i,4); return f;}
static inline unsigned __float_as_uint(float f){unsigned i; memcpy(&i,&f,4); return i;}
static inline double __longlong_as_double(long long i){double f; memcpy(&f,&i,8); return f;}
static int atomicCAS(int*p,int cmp,int v){int o=*p; if(o==cmp)*p=v; return o;}
static int atomicMin(int*p,int v){int o=*p; if(v<o)*p=v; return o;}
static void __threadfence_system(){}
static void __syncthreads(){ abort(); }
template<class T> static T __shfl_down_sync(unsigned,T,int){ abort(); }
template<class T> static T __shfl_up_sync(unsigned,T,int){ abort(); }
using std::min; using std::isinf; using std::isfinite;
#include "../../main/cuda/particle_ops.cu"

// The launch shape of CudaParticleOps.launchRows (keep in step).
template <class F> static void launchRows(int rows, int units, int sms, F body) {
  int BLOCK=256; int hob=1; int u1=std::max(1,units-1); while (hob*2<=u1) hob*=2;
  int bx = units<=1 ? 1 : std::min(BLOCK, hob<<1); int by=BLOCK/bx;
  long gy = std::min((long)(rows+by-1)/by, 65535L);
  long need=((long)units+bx-1)/bx; long gx=std::max(1L,std::min(need,std::max(1L,(long)(sms*32)/gy)));
  blockDim.x=bx; blockDim.y=by; gridDim.x=gx; gridDim.y=gy;
  for (unsigned by_=0; by_<gridDim.y; by_++) for (unsigned bx_=0; bx_<gridDim.x; bx_++)
    for (unsigned ty=0; ty<blockDim.y; ty++) for (unsigned tx=0; tx<blockDim.x; tx++) {
      blockIdx.x=bx_; blockIdx.y=by_; threadIdx.x=tx; threadIdx.y=ty; body(); }
}
static const float *gx_, *gu_; static const double* gc_; static const int* gids_; static int ghas_, grows_, gcols_; static float* gout_; static int gerr_[4];
static const u16 *bx_, *bu_; static u16* bout_;
static void affF32(){ fs_affine_f32(gx_,gu_,gc_,gids_,ghas_,11,22,nullptr,gout_,grows_,gcols_,gerr_); }
static void affBF16(){ fs_affine_bf16(bx_,bu_,gc_,gids_,ghas_,11,22,nullptr,bout_,grows_,gcols_,gerr_); }
static void gauF32(){ fs_gaussian_f32(gids_,11,22,nullptr,gout_,grows_,gcols_,gerr_); }
static void gauBF16(){ fs_gaussian_bf16(gids_,11,22,nullptr,bout_,grows_,gcols_,gerr_); }
static const void* gs_; static const int* gidx_; static void* gd_; static int gsr_, gdr_, gunits_;
static void gat16(){ fs_gather_16((const uint4*)gs_,gidx_,(uint4*)gd_,gsr_,gdr_,gunits_,gerr_); }
static void gat8(){ fs_gather_8((const uint2*)gs_,gidx_,(uint2*)gd_,gsr_,gdr_,gunits_,gerr_); }
static void gat4(){ fs_gather_4((const u32*)gs_,gidx_,(u32*)gd_,gsr_,gdr_,gunits_,gerr_); }
static void gat2(){ fs_gather_2((const u16*)gs_,gidx_,(u16*)gd_,gsr_,gdr_,gunits_,gerr_); }

int main(){
  std::mt19937_64 r(5); std::normal_distribution<float> N;
  int bad=0;
  int shapes[][2]={{64,4096},{37,1001},{1024,64},{3,2},{5,3},{2,70000},{70000,1}};
  for (auto& sh: shapes) for (int combo=0; combo<4; combo++) for (int dt=0; dt<2; dt++) {
    int rows=sh[0], cols=sh[1]; bool withU=combo&1, withN=combo&2; size_t n=(size_t)rows*cols;
    std::vector<float> x(n),u(n),out(n,NAN),ref(n); std::vector<double> c(3*rows); std::vector<int> ids(rows);
    for(auto&v:x)v=N(r); for(auto&v:u)v=N(r);
    for(int i=0;i<rows;i++){c[3*i]=1+0.1*N(r); c[3*i+1]=withU&&(r()%5)?N(r):0; c[3*i+2]=withN&&(r()%5)?0.3:0; ids[i]=r()%1000000;}
    bool useIds = withN && (r()&1);
    std::vector<u16> xb(n),ub(n),ob(n,0xFFFF);
    for(size_t k=0;k<n;k++){xb[k]=f32_to_bf16(x[k]); ub[k]=f32_to_bf16(u[k]);}
    // reference: scalar definition
    for(int i=0;i<rows;i++){ float a=(float)c[3*i], b=(float)c[3*i+1], s=(float)c[3*i+2]; int id=useIds?ids[i]:i;
      for(int j=0;j<cols;j++){ float z4[4]; if(s!=0) gaussian4(11,22,id,j/4,z4);
        float xv = dt? bf16_to_f32(xb[(size_t)i*cols+j]) : x[(size_t)i*cols+j];
        float uv = dt? bf16_to_f32(ub[(size_t)i*cols+j]) : u[(size_t)i*cols+j];
        float v=a*xv; if(b!=0) v+=b*uv; if(s!=0) v+=s*z4[j%4]; ref[(size_t)i*cols+j]= dt? bf16_to_f32(f32_to_bf16(v)) : v; } }
    gc_=c.data(); gids_=useIds?ids.data():nullptr; ghas_=withN; grows_=rows; gcols_=cols; memset(gerr_,0,16);
    if(!dt){ gx_=x.data(); gu_=withU?u.data():nullptr; gout_=out.data(); launchRows(rows,(cols+3)/4,132,affF32);}
    else { bx_=xb.data(); bu_=withU?ub.data():nullptr; bout_=ob.data(); launchRows(rows,(cols+3)/4,132,affBF16);}
    size_t mism=0; for(size_t k=0;k<n;k++){ float g= dt? bf16_to_f32(ob[k]) : out[k]; if(!(g==ref[k])) mism++; }
    if (mism||gerr_[0]) { bad++; printf("affine %s [%d x %d] u=%d noise=%d: %zu mismatches err=%d\n", dt?"bf16":"f32", rows, cols, withU, withN, mism, gerr_[0]); }
  }
  // gaussian
  for (auto& sh: shapes) for (int dt=0; dt<2; dt++) for (int withIds=0; withIds<2; withIds++) {
    int rows=sh[0], cols=sh[1]; size_t n=(size_t)rows*cols;
    std::vector<int> ids(rows); for(auto&i:ids) i=r()%2000000000;
    std::vector<float> out(n,NAN); std::vector<u16> ob(n,0xFFFF);
    gids_=withIds?ids.data():nullptr; grows_=rows; gcols_=cols; memset(gerr_,0,16);
    if(!dt){ gout_=out.data(); launchRows(rows,(cols+3)/4,132,gauF32);} else { bout_=ob.data(); launchRows(rows,(cols+3)/4,132,gauBF16);}
    size_t mism=0;
    for(int i=0;i<rows;i++) for(int j=0;j<cols;j++){ float z4[4]; gaussian4(11,22,withIds?ids[i]:i,j/4,z4);
      size_t k=(size_t)i*cols+j; float want = dt? bf16_to_f32(f32_to_bf16(z4[j%4])) : z4[j%4];
      float got = dt? bf16_to_f32(ob[k]) : out[k]; if(!(got==want)) mism++; }
    if (mism||gerr_[0]) { bad++; printf("gaussian %s [%d x %d] ids=%d: %zu mismatches\n", dt?"bf16":"f32", rows, cols, withIds, mism); }
  }
  // gather
  int gshapes[][3]={{50,77,64*4},{50,77,3*4},{50,77,2*4},{50,77,2},{10,1000,4096*2},{3,5,130}};
  for (auto& g: gshapes){ int sr=g[0], dr=g[1], rowBytes=g[2];
    std::vector<unsigned char> src((size_t)sr*rowBytes), dst((size_t)dr*rowBytes,0xEE); std::vector<int> idx(dr);
    for(auto&b:src)b=r(); for(auto&i:idx)i=r()%sr;
    int w = rowBytes%16==0?16: rowBytes%8==0?8: rowBytes%4==0?4:2; int units=rowBytes/w;
    gs_=src.data(); gidx_=idx.data(); gd_=dst.data(); gsr_=sr; gdr_=dr; gunits_=units; memset(gerr_,0,16);
    if (w==16) launchRows(dr,units,132,gat16); else if (w==8) launchRows(dr,units,132,gat8); else if (w==4) launchRows(dr,units,132,gat4); else launchRows(dr,units,132,gat2);
    size_t mism=0; for(int i=0;i<dr;i++) if (memcmp(&dst[(size_t)i*rowBytes], &src[(size_t)idx[i]*rowBytes], rowBytes)) mism++;
    if (mism) { bad++; printf("gather rowBytes=%d width=%d: %zu bad rows\n", rowBytes, w, mism); }
  }
  // first non-finite row: f32, bf16, f64 words; NaN and both infinities in random rows (and none),
  // against the scalar definition; rows wider than a block and more rows than the grid holds.
  int nshapes[][2]={{1,1},{3,5},{50,3072},{7,70000},{70000,3},{2,1}};
  for (auto& sh: nshapes) for (int dt=0; dt<3; dt++) for (int trial=0; trial<4; trial++) {
    int rows=sh[0], cols=sh[1]; size_t n=(size_t)rows*cols;
    std::vector<u32> f(n); std::vector<u16> h(n); std::vector<unsigned long long> d(n);
    for(size_t k=0;k<n;k++){ float v=N(r); f[k]=__float_as_uint(v); h[k]=f32_to_bf16(v); double dv=v; memcpy(&d[k],&dv,8); }
    f[r()%n]=0x7F7FFFFFu; h[r()%n]=0x7F7F;  // the largest finite values must pass
    int want = trial==0 ? -1 : (int)(r()%rows);
    if (want>=0) for (int m=0; m<3; m++) {
      int row = m==0 ? want : want + (int)(r()%(rows-want)); size_t k=(size_t)row*cols + r()%cols;
      float bad = m==1 ? INFINITY : m==2 ? -INFINITY : NAN; double dbad=bad;
      f[k]=__float_as_uint(bad); h[k]=f32_to_bf16(bad); memcpy(&d[k],&dbad,8);
    }
    int out=0x7FFFFFFF; int* po=&out; const u32* pf=f.data(); const u16* ph=h.data(); const unsigned long long* pd=d.data();
    if (dt==0) launchRows(rows,cols,132,[=]{ fs_nonfinite_f32(pf,rows,cols,po); });
    else if (dt==1) launchRows(rows,cols,132,[=]{ fs_nonfinite_bf16(ph,rows,cols,po); });
    else launchRows(rows,cols,132,[=]{ fs_nonfinite_f64(pd,rows,cols,po); });
    int got = out==0x7FFFFFFF ? -1 : out;
    if (got!=want) { bad++; printf("nonfinite %s [%d x %d] trial %d: got row %d, want %d\n", dt==0?"f32":dt==1?"bf16":"f64", rows, cols, trial, got, want); }
  }
  // A round replayed as a CUDA graph with a device stream counter. Capture copies each launch's
  // parameters, so the "graph" here is the list of launches with their parameters bound at record
  // time (the counter's address, never its value); fs_advance_streams is the last node, as
  // CudaParticleOps.capture(counter, perRound, work) records it. Replay k must draw exactly what
  // eager launches (no counter) with stream base + perRound k + offset draw, bit for bit, and every
  // replay must differ from the one before. The bases cross the 2^32 and 2^64 boundaries of the
  // stream's two counter words.
  unsigned long long bases[] = {0xFFFFFFFEull, 0xFFFFFFFFFFFFFFFDull, 0};
  int rshapes[][2] = {{37, 1001}, {1024, 64}};
  for (unsigned long long base : bases) for (auto& sh : rshapes) {
    const int rows = sh[0], cols = sh[1], perRound = 2; const size_t n = (size_t)rows * cols;
    const unsigned long long seed = r();
    std::vector<float> x(n), u(n), outA(n), eagA(n), prevA(n); std::vector<double> c(3 * rows); std::vector<int> ids(rows);
    std::vector<u16> outB(n), eagB(n);
    for (auto& v : x) v = N(r); for (auto& v : u) v = N(r);
    for (int i = 0; i < rows; i++) { c[3*i] = 0.99; c[3*i+1] = -0.02; c[3*i+2] = 0.3; ids[i] = r() % 5000000; }
    unsigned long long counter = base; int err[4] = {0};
    const float* px = x.data(); const float* pu = u.data(); const double* pc = c.data(); const int* pid = ids.data();
    float* pa = outA.data(); u16* pb = outB.data(); unsigned long long* pctr = &counter; int* perr = err;
    std::vector<std::function<void()>> graph = {
      [=] { launchRows(rows, (cols + 3) / 4, 132, [=] { fs_affine_f32(px, pu, pc, pid, 1, seed, 0, pctr, pa, rows, cols, perr); }); },
      [=] { launchRows(rows, (cols + 3) / 4, 132, [=] { fs_gaussian_bf16(nullptr, seed, 1, pctr, pb, rows, cols, perr); }); },
      [=] { blockDim = gridDim = dim3{}; blockIdx = threadIdx = dim3{0, 0, 0}; fs_advance_streams(pctr, perRound); },
    };
    for (int k = 0; k < 4; k++) {
      std::fill(outA.begin(), outA.end(), NAN); std::fill(outB.begin(), outB.end(), (u16)0xFFFF);
      for (auto& node : graph) node();
      const unsigned long long s0 = base + (unsigned long long)perRound * k;
      float* ea = eagA.data(); u16* eb = eagB.data();
      launchRows(rows, (cols + 3) / 4, 132, [=] { fs_affine_f32(px, pu, pc, pid, 1, seed, s0, nullptr, ea, rows, cols, perr); });
      launchRows(rows, (cols + 3) / 4, 132, [=] { fs_gaussian_bf16(nullptr, seed, s0 + 1, nullptr, eb, rows, cols, perr); });
      size_t mismA = 0, mismB = 0, refB = 0, same = 0;
      for (size_t e = 0; e < n; e++) {
        if (memcmp(&outA[e], &eagA[e], 4)) mismA++;
        if (outB[e] != eagB[e]) mismB++;
        if (k > 0 && outA[e] == prevA[e]) same++;
      }
      for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) {  // the scalar definition
        float z4[4]; gaussian4(seed, s0 + 1, i, j / 4, z4);
        if (outB[(size_t)i * cols + j] != f32_to_bf16(z4[j % 4])) refB++;
      }
      const bool counted = counter == base + (unsigned long long)perRound * (k + 1);
      if (mismA || mismB || refB || same > n / 100 || !counted || err[0]) {
        bad++;
        printf("graph replay %d, base %llu [%d x %d]: affine %zu / gaussian %zu differ from eager stream %llu(+1), %zu from the scalar draws, %zu repeat the last replay, counter %llu%s, err %d\n",
               k, base, rows, cols, mismA, mismB, s0, refB, same, counter, counted ? "" : " (wrong)", err[0]);
      }
      prevA = outA;
    }
  }
  printf("emulation: %d failing cases\n", bad); return bad!=0;
}
