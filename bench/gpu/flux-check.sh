#!/usr/bin/env bash
# The FLUX check for the GPU machine (see /work/shared/GPU.md), sized to finish in under 8 minutes:
#  1. builds the shim against the PyTorch installed there (skipped when native/build-gpu has a
#     shim newer than the sources, e.g. after bench/gpu/torch-check.sh);
#  2. scripts the FLUX.1 architecture there (tools/flux/flux_arch.py);
#  3. makes a FLUX.1-schnell-sized transformer with random bf16 weights on the GPU, writes it as a
#     BFL-layout checkpoint (23.8 GB, to /dev/shm when it has room, else /tmp) and times eager
#     PyTorch on it: ms per forward at 1024x1024 (4096 image tokens, 256 text tokens), batch 1, 2, 4;
#  4. loads that checkpoint through model: flux in Java (the cuda backend: latents on the device,
#     libtorch on the backend's stream) and times the same forwards, checks batch 1's velocity
#     against eager PyTorch's, and prints the table with TFLOP/s against a bf16 matmul's peak;
#  5. if time is left, runs the FLUX tests (tiny real-depth checkpoints vs the eager reference) on
#     the GPU.
# Every step is bounded with `timeout`; the table is written row by row to $OUT/flux/table.md.
#
# Runs from the artifacts of bin/gpu-bundle:
#   bin/gpu-bundle                                                   # on the build machine
#   run(command="bench/gpu/flux-check.sh", carry=[".jre", ".gpu"])
# Environment: TORCH_PYTHON (default /opt/torch/.venv/bin/python3), DEVICE (default cuda:0; cpu
# without nvidia-smi), SIZE (real, or tiny for a dry run of the whole flow on a CPU), ITERS (timed
# forwards per batch, default 5), BATCHES (default 1,2,4), WEIGHTS_DIR (where the checkpoint goes),
# FLUX_TESTS (1: run step 5, default 1).
set -uo pipefail
cd "$(dirname "$0")/../.."
START=$(date +%s)
OUT=${OUT:-bench/gpu/out}/flux
mkdir -p "$OUT"
exec > >(tee "$OUT/flux-check.log") 2>&1
JAR=.gpu/flowscale-gpu-check.jar
PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3)
DEVICE=${DEVICE:-cuda:0}
SIZE=${SIZE:-real}
ITERS=${ITERS:-5}
BATCHES=${BATCHES:-1,2,4}
FLUX_TESTS=${FLUX_TESTS:-1}
if [ "$DEVICE" != cpu ] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "no GPU visible (nvidia-smi failed): running on cpu at the tiny size"
  DEVICE=cpu
  SIZE=tiny
fi
BACKEND=cpu
[ "$DEVICE" != cpu ] && BACKEND=cuda
JAVA="${FLOWSCALE_JAVA:-.jre/bin/java} -Xss8m --enable-native-access=ALL-UNNAMED -cp $JAR"
status=0
step() { echo; echo "=== $* ($(date -u +%H:%M:%S), $(( $(date +%s) - START )) s in)"; }
left() { echo $(( 470 - ($(date +%s) - START) )); }  # seconds left of the 8 minutes, with margin

step "machine"
date -u
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
free -g | head -2
df -h /dev/shm /tmp 2>/dev/null | tail -n +2
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' || exit 1
if [ ! -x "${FLOWSCALE_JAVA:-.jre/bin/java}" ] || [ ! -f "$JAR" ]; then
  echo "missing .jre or $JAR: run bin/gpu-bundle on the build machine and carry .jre and .gpu" >&2
  exit 2
fi

step "1. the shim, built against this PyTorch"
BUILD=${SHIM_BUILD:-native/build-gpu}
SHIM="$PWD/$BUILD/libflowscale_shim.so"
if [ -f "$SHIM" ] && [ "$SHIM" -nt native/src/flowscale_shim.cpp ] && [ "$SHIM" -nt native/include/flowscale_shim.h ]; then
  echo "reusing $SHIM"
else
  PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
  TDIR=$($PY -c 'import torch, os; print(os.path.dirname(torch.__file__))')
  CUDA_ROOT=$(ls -d /usr/local/cuda-13.0 /usr/local/cuda 2>/dev/null | head -1)
  mkdir -p "$BUILD"
  t0=$(date +%s)
  GEN=""
  command -v ninja >/dev/null && GEN="-G Ninja"
  # shellcheck disable=SC2086
  if timeout 240 cmake -S native -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
       ${CUDA_ROOT:+-DCUDAToolkit_ROOT=$CUDA_ROOT} >"$OUT/shim-cmake.log" 2>&1 \
     && timeout 240 cmake --build "$BUILD" >>"$OUT/shim-cmake.log" 2>&1; then
    echo "built with CMake in $(( $(date +%s) - t0 )) s"
    grep "flowscale_shim:" "$OUT/shim-cmake.log" || true
  else
    echo "CMake build failed (tail of $OUT/shim-cmake.log below); building with g++ directly"
    tail -15 "$OUT/shim-cmake.log"
    CUDA_FLAGS=""
    if [ -f "$TDIR/lib/libc10_cuda.so" ]; then
      CUDA_FLAGS="-DFS_WITH_CUDA=1 -I$CUDA_ROOT/targets/x86_64-linux/include -Wl,--no-as-needed -ltorch_cuda -lc10_cuda"
    fi
    # shellcheck disable=SC2086
    if timeout 240 g++ -O2 -shared -fPIC -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 -fvisibility=hidden \
         -DFS_SHIM_VERSION='"0.1.0"' -Inative/include native/src/flowscale_shim.cpp -o "$SHIM" \
         -I"$TDIR/include" -I"$TDIR/include/torch/csrc/api/include" -L"$TDIR/lib" \
         $CUDA_FLAGS -ltorch -ltorch_cpu -lc10 -Wl,-rpath,"$TDIR/lib" >"$OUT/shim-gxx.log" 2>&1; then
      echo "built with g++ in $(( $(date +%s) - t0 )) s"
    else
      cat "$OUT/shim-gxx.log"
      echo "FAILED: no shim" >&2
      exit 1
    fi
  fi
fi

step "2. the FLUX.1 architecture, scripted with this PyTorch"
ARCH="$OUT/flux-arch.pt"
timeout 180 $PY tools/flux/flux_arch.py "$ARCH" || { echo "FAILED: flux_arch.py"; exit 1; }

step "3. random FLUX.1-schnell-sized weights ($SIZE), eager PyTorch timings"
if [ -z "${WEIGHTS_DIR:-}" ]; then
  WEIGHTS_DIR=/tmp
  shm=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
  if [ "$SIZE" != real ] || [ "${shm:-0}" -gt $((30 * 1024 * 1024)) ]; then WEIGHTS_DIR=/dev/shm; fi
fi
CKPT="$WEIGHTS_DIR/flowscale-flux-check-$SIZE.safetensors"
trap 'rm -f "$CKPT" "$CKPT.tmp"' EXIT
echo "checkpoint: $CKPT"
timeout $(( $(left) > 60 ? $(left) - 60 : 60 )) $PY bench/gpu/flux_check.py "$OUT/run" "$DEVICE" "$SIZE" "$CKPT" "$ITERS" "$BATCHES" \
  || { echo "FAILED: eager PyTorch half (partial results in $OUT/run)"; status=1; }

step "4. Java: model: flux on the $BACKEND backend, same weights and inputs"
if [ -f "$CKPT" ] && [ -f "$OUT/run/inputs.safetensors" ]; then
  # shellcheck disable=SC2086
  timeout $(( $(left) > 30 ? $(left) : 30 )) $JAVA -Dflowscale.shim="$SHIM" org.flowscale.bench.flux.FluxCheck \
    "$OUT/run" "$CKPT" "$ARCH" "$DEVICE" "$BACKEND" "$ITERS" "$BATCHES" | tee "$OUT/table.md" \
    || { echo "FAILED: Java half"; status=1; }
else
  echo "skipped: the PyTorch half left no checkpoint"
  status=1
fi
rm -f "$CKPT"

if [ "$FLUX_TESTS" = 1 ] && [ "$(left)" -gt 100 ]; then
  step "5. the FLUX tests on $DEVICE (tiny real-depth checkpoints vs the eager reference)"
  if timeout 120 $PY flux/src/test/python/make_flux_fixtures.py "$PWD" "$OUT/fixtures" >"$OUT/fixtures.log" 2>&1; then
    # shellcheck disable=SC2086
    timeout $(( $(left) > 20 ? $(left) : 20 )) $JAVA -Dflowscale.shim="$SHIM" -Dflowscale.flux.fixtures="$OUT/fixtures" \
      -Dflowscale.torch.device="$DEVICE" -Dflowscale.torch.required=true \
      org.flowscale.bench.torch.TorchTests org.flowscale.flux.FluxModelTest \
      org.flowscale.flux.FluxCheckpointErrorsTest 2>&1 | tee "$OUT/tests.log" || { echo "FAILED: tests"; status=1; }
  else
    tail -20 "$OUT/fixtures.log"
    echo "FAILED: fixtures"
    status=1
  fi
else
  echo; echo "=== 5. skipped (FLUX_TESTS=$FLUX_TESTS, $(left) s left)"
fi

step "done (status $status)"
echo "Card: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), date: $(date -u +%F)"
echo "Add $OUT/table.md with the card and the date to bench/RESULTS.md."
exit $status
