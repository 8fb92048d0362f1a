#!/usr/bin/env bash
# The libtorch check for the GPU machine (see /work/shared/GPU.md): builds the shim against the
# PyTorch installed there, runs the libtorch tests on CUDA with zero-copy device buffers (and on
# the host), then times Java -> shim -> TorchScript against Python calling the same modules, and
# a whole RBF round against the bare forward. Everything is logged under $OUT.
#
# Runs from the artifacts of bin/gpu-bundle (the same as bench/gpu/cuda-check.sh, so one device
# session can run both):
#   bin/gpu-bundle                                    # on the build machine
#   run(command="bench/gpu/cuda-check.sh; bench/gpu/torch-check.sh", carry=[".jre", ".gpu"])
# Environment: TORCH_PYTHON (default /opt/torch/.venv/bin/python3), DEVICE (default cuda:0, or
# cpu without nvidia-smi), ITERS (timed calls per case, default 500).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/gpu/out}/torch
mkdir -p "$OUT"
exec > >(tee "$OUT/torch-check.log") 2>&1
JAR=.gpu/flowscale-gpu-check.jar
PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3)
DEVICE=${DEVICE:-cuda:0}
ITERS=${ITERS:-500}
if [ "$DEVICE" != cpu ] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "no GPU visible (nvidia-smi failed): running on cpu"
  DEVICE=cpu
fi
JAVA="${FLOWSCALE_JAVA:-.jre/bin/java} -Xss8m --enable-native-access=ALL-UNNAMED -cp $JAR"
status=0
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }

step "machine"
date -u
nvidia-smi -L 2>/dev/null || true
$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
if [ ! -x "${FLOWSCALE_JAVA:-.jre/bin/java}" ] || [ ! -f "$JAR" ]; then
  echo "missing .jre or $JAR: run bin/gpu-bundle on the build machine and carry .jre and .gpu" >&2
  exit 2
fi

step "build the shim against this PyTorch"
PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
TDIR=$($PY -c 'import torch, os; print(os.path.dirname(torch.__file__))')
CUDA_ROOT=$(ls -d /usr/local/cuda-13.0 /usr/local/cuda 2>/dev/null | head -1)
BUILD=native/build-gpu
mkdir -p "$BUILD"
SHIM="$PWD/$BUILD/libflowscale_shim.so"
t0=$(date +%s)
if cmake -S native -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
     ${CUDA_ROOT:+-DCUDAToolkit_ROOT=$CUDA_ROOT} >"$OUT/shim-cmake.log" 2>&1 \
   && cmake --build "$BUILD" >>"$OUT/shim-cmake.log" 2>&1; then
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
  if g++ -O2 -shared -fPIC -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 -fvisibility=hidden \
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

step "fixtures (PyTorch references)"
$PY bindings/src/test/python/make_torch_fixtures.py "$OUT/fixtures" || { echo "FAILED: fixtures"; exit 1; }

for dev in "$DEVICE" cpu; do
  step "libtorch tests on $dev (zero-copy: host CpuTensors, device TorchTensors)"
  # shellcheck disable=SC2086
  if ! timeout 300 $JAVA -Dflowscale.shim="$SHIM" -Dflowscale.torch.fixtures="$OUT/fixtures" \
      -Dflowscale.torch.device="$dev" -Dflowscale.torch.required=true \
      org.flowscale.bench.torch.TorchTests 2>&1 | tee "$OUT/tests-${dev/:/}.log"; then
    echo "FAILED: tests on $dev"
    status=1
  fi
  [ "$dev" = cpu ] && break
done

step "timings: Python"
$PY bench/gpu/torch_bench_modules.py "$OUT/bench" "$DEVICE" "$ITERS" || status=1
step "timings: Java (same modules, same inputs' shapes)"
# shellcheck disable=SC2086
timeout 300 $JAVA -Dflowscale.shim="$SHIM" org.flowscale.bench.torch.TorchCheck \
  "$OUT/bench" "$DEVICE" "$ITERS" auto | tee "$OUT/table.md" || status=1

step "done (status $status)"
echo "Card: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), date: $(date -u +%F)"
echo "Add $OUT/table.md with the card and the date to bench/RESULTS.md."
exit $status
