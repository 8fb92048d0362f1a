#!/usr/bin/env bash
# The libtorch check, sized for one device call (see /work/shared/GPU.md): builds the shim against
# the PyTorch installed on the GPU machine, runs the libtorch tests on CUDA with zero-copy device
# buffers (and on the host), then times Java -> shim -> TorchScript against Python calling the
# same modules, and a whole RBF round against the bare forward. Runs from the artifacts of
# bin/gpu-bundle, as its own device call (cuda-check.sh is another):
#   bin/gpu-bundle                                     # on the build machine
#   run(command="bench/gpu/torch-check.sh", carry=[".jre", ".gpu"], timeout_s=480)
#
# Every step runs under `timeout` (CMake, the compiler and Python included), and the whole script
# keeps to CHECK_BUDGET_S (default 420 s, under 8 minutes): a step gets what is left, a step with
# no time left is skipped, and the summary is always printed, last, on one screen. Logs and tables
# go to $OUT/torch ($OUT: the device run's output folder; bench/gpu/out when unset); the timing
# table is written row by row as it is measured.
#
# Environment: CHECK_BUDGET_S, TORCH_PYTHON (default /opt/torch/.venv/bin/python3), DEVICE
# (default cuda:0, or cpu without nvidia-smi), ITERS (timed calls per case, default 500).
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
budget=${CHECK_BUDGET_S:-420}
OUT=${OUT:-bench/gpu/out}/torch
mkdir -p "$OUT"
JAR=.gpu/flowscale-gpu-check.jar
JAVA_BIN=${FLOWSCALE_JAVA:-.jre/bin/java}
PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3)
DEVICE=${DEVICE:-cuda:0}
ITERS=${ITERS:-500}
if [ ! -x "$JAVA_BIN" ] || [ ! -f "$JAR" ]; then
  echo "torch-check: $JAVA_BIN or $JAR is missing: run bin/gpu-bundle on the build machine and carry .jre and .gpu" >&2
  exit 2
fi
gpu=$(timeout 20 nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null) || gpu=""
if [ "$DEVICE" != cpu ] && [ -z "$gpu" ]; then
  echo "no GPU visible (nvidia-smi failed): running on cpu"
  DEVICE=cpu
fi
JAVA=("$JAVA_BIN" -Xss8m --enable-native-access=ALL-UNNAMED -cp "$JAR")

steps=()  # one summary line per step
left() { echo $((start + budget - $(date +%s))); }
# step NAME CAP LOG CMD...: runs CMD under timeout min(CAP, time left - 15 s kept for the
# summary), output to the terminal and LOG; records how it ended.
step() {
  local name=$1 cap=$2 log=$3
  shift 3
  local t=$(($(left) - 15))
  [ "$cap" -lt "$t" ] && t=$cap
  if [ "$t" -lt 10 ]; then
    steps+=("$name: SKIPPED, no time left")
    echo "== $name: skipped, no time left" | tee "$log"
    return 125
  fi
  echo
  echo "== $name (at most ${t} s, $(date -u +%H:%M:%S))"
  local t0
  t0=$(date +%s)
  timeout -k 5 "$t" "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local took=$(($(date +%s) - t0))
  case $rc in
    0) steps+=("$name: ok (${took} s)") ;;
    124 | 137) steps+=("$name: TIMED OUT after ${took} s") ;;
    *) steps+=("$name: FAILED, exit $rc (${took} s)") ;;
  esac
  return $rc
}
status=0

{
  date -u
  echo "GPU: ${gpu:-none}; device for the tests: $DEVICE"
  timeout 60 "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1 \
    || echo "python: cannot import torch ($PY)"
  [ -f .gpu/bundle.txt ] && head -1 .gpu/bundle.txt
} | tee "$OUT/machine.txt"

# ---- the shim, against this PyTorch ----
shim_ok=0
PREFIX=$(timeout 60 "$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null)
TDIR=$(timeout 60 "$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2>/dev/null)
CUDA_ROOT=$(ls -d /usr/local/cuda-13.0 /usr/local/cuda 2>/dev/null | head -1)
BUILD=native/build-gpu
SHIM="$PWD/$BUILD/libflowscale_shim.so"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if [ -z "$PREFIX" ] || [ -z "$TDIR" ]; then
  steps+=("shim: SKIPPED, $PY cannot import torch")
elif step "shim: cmake configure" 150 "$OUT/shim-cmake.log" \
       cmake -S native -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
       ${CUDA_ROOT:+-DCUDAToolkit_ROOT=$CUDA_ROOT} \
   && step "shim: cmake build" 240 "$OUT/shim-build.log" cmake --build "$BUILD"; then
  shim_ok=1
else
  CUDA_FLAGS=()
  if [ -f "$TDIR/lib/libc10_cuda.so" ]; then
    CUDA_FLAGS=(-DFS_WITH_CUDA=1 "-I$CUDA_ROOT/targets/x86_64-linux/include" -Wl,--no-as-needed -ltorch_cuda -lc10_cuda)
  fi
  mkdir -p "$BUILD"
  if step "shim: g++ (CMake failed)" 240 "$OUT/shim-gxx.log" \
       g++ -O2 -shared -fPIC -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 -fvisibility=hidden \
       -DFS_SHIM_VERSION='"0.1.0"' -Inative/include native/src/flowscale_shim.cpp -o "$SHIM" \
       -I"$TDIR/include" -I"$TDIR/include/torch/csrc/api/include" -L"$TDIR/lib" \
       "${CUDA_FLAGS[@]}" -ltorch -ltorch_cpu -lc10 -Wl,-rpath,"$TDIR/lib"; then
    shim_ok=1
  fi
fi
[ "$shim_ok" = 1 ] || status=1

# ---- tests and timings ----
if [ "$shim_ok" = 1 ]; then
  step "fixtures (PyTorch references)" 120 "$OUT/fixtures.log" \
    "$PY" bindings/src/test/python/make_torch_fixtures.py "$OUT/fixtures" || status=1
  for dev in "$DEVICE" cpu; do
    step "libtorch tests on $dev" 150 "$OUT/tests-${dev/:/}.log" \
      "${JAVA[@]}" -Dflowscale.shim="$SHIM" -Dflowscale.torch.fixtures="$OUT/fixtures" \
      -Dflowscale.torch.device="$dev" -Dflowscale.torch.required=true \
      org.flowscale.bench.torch.TorchTests || status=1
    [ "$dev" = cpu ] && break
  done
  step "timings: Python" 120 "$OUT/python.log" \
    "$PY" bench/gpu/torch_bench_modules.py "$OUT/bench" "$DEVICE" "$ITERS" || status=1
  if [ -s "$OUT/bench/cases.txt" ]; then
    step "timings: Java" 150 "$OUT/table.md" \
      "${JAVA[@]}" -Dflowscale.shim="$SHIM" org.flowscale.bench.torch.TorchCheck \
      "$OUT/bench" "$DEVICE" "$ITERS" auto || status=1
  else
    steps+=("timings: Java: SKIPPED, the Python step made no modules")
    status=1
  fi
fi

# ---- the summary: one screen, last ----
echo
echo "================ torch-check summary ($(($(date +%s) - start)) s of ${budget} s; logs in $OUT) ================"
sed -n '2,4p' "$OUT/machine.txt"
for s in "${steps[@]}"; do echo "step  $s"; done
grep -h -o "flowscale_shim: .*" "$OUT/shim-cmake.log" 2>/dev/null | head -1
for f in "$OUT"/tests-*.log; do
  [ -f "$f" ] || continue
  echo "tests $(basename "$f" .log): $(grep -E '^torch tests:' "$f" | tail -1)"
  grep -E '^(FAIL|SKIP) ' "$f" | head -5 | cut -c1-160 | sed 's/^/      /'
done
if [ -s "$OUT/table.md" ]; then
  grep -E '^\|' "$OUT/table.md" | grep -v -- '|---' | head -16 | cut -c1-150
  echo "table: $OUT/table.md (add it to bench/RESULTS.md with the card and the date)"
fi
echo "RESULT: $([ "$status" = 0 ] && echo ok || echo FAILED)"
exit $status
