#!/usr/bin/env bash
# The FLUX.1 pipeline check for the GPU machine (see /work/shared/GPU.md), one device call, sized to
# finish in under 8 minutes (CHECK_BUDGET_S, default 450 s):
#  1. the shim, built against the PyTorch there (reused from native/build-gpu when current);
#  2. the four architecture files (tools/flux/make_architectures.py), scripted there;
#  3. a FLUX.1-schnell folder of random bf16 weights of the real sizes (transformer 23.8 GB, T5-XXL
#     encoder 9.5 GB sharded, CLIP-L, the VAE decoder; tiny tokenizers in the real forms), written
#     to /dev/shm when it has room (bench/gpu/flux_pipeline_check.py);
#  4. Java, model: flux on the cuda backend: load time, prompt encoding time (first prompt with the
#     encoders' load, then encoding alone), VAE decode time per 1024x1024 image (batch 1 and 4),
#     and one whole RBF run at the paper's setting (500 NFE, 2 x 25, 10 steps, VP-SDE) with a cheap
#     TorchScript image reward, split into transformer / VAE decoder / reward / engine (goal:
#     engine under 1% of the run).
# Every step runs under `timeout`; the table goes to $OUT/flux-pipeline/table.md row by row and a
# summary is printed last, also when a step failed or ran out of time.
#
#   bin/gpu-bundle                                                               # here
#   run(command="bench/gpu/flux-pipeline-check.sh", carry=[".jre", ".gpu"], timeout_s=480)
# Environment: TORCH_PYTHON (default /opt/torch/.venv/bin/python3), DEVICE (default cuda:0; cpu
# without nvidia-smi), SIZE (real, or tiny: the same flow on a CPU at tiny widths), MAX_NFE (500;
# tiny default 80), WEIGHTS_DIR (where the folder goes).
# Dry run here: SIZE=tiny DEVICE=cpu FLOWSCALE_JAVA=$JAVA_HOME/bin/java TORCH_PYTHON=/usr/bin/python3 \
#   OUT=/tmp/fpc bench/gpu/flux-pipeline-check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
START=$(date +%s)
BUDGET=${CHECK_BUDGET_S:-450}
OUT=${OUT:-bench/gpu/out}/flux-pipeline
mkdir -p "$OUT"
exec > >(tee "$OUT/flux-pipeline-check.log") 2>&1
JAR=.gpu/flowscale-gpu-check.jar
PY=${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}
[ -x "$PY" ] || PY=$(command -v python3)
DEVICE=${DEVICE:-cuda:0}
SIZE=${SIZE:-real}
if [ "$DEVICE" != cpu ] && ! nvidia-smi -L >/dev/null 2>&1; then
  echo "no GPU visible (nvidia-smi failed): running on cpu at the tiny size"
  DEVICE=cpu
  SIZE=tiny
fi
MAX_NFE=${MAX_NFE:-$([ "$SIZE" = real ] && echo 500 || echo 80)}
BACKEND=cpu
[ "$DEVICE" != cpu ] && BACKEND=cuda
JAVA="${FLOWSCALE_JAVA:-.jre/bin/java} -Xss8m --enable-native-access=ALL-UNNAMED -cp $JAR"
status=0
summary=()
step() { echo; echo "=== $* ($(date -u +%H:%M:%S), $(( $(date +%s) - START )) s in)"; }
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
finish() {
  echo; echo "=== summary (status $status, $(( $(date +%s) - START )) s)"
  for s in "${summary[@]}"; do echo "  $s"; done
  [ -f "$OUT/table.md" ] && cat "$OUT/table.md"
  echo "Card: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), date: $(date -u +%F)"
}
trap 'rm -rf "${FOLDER:-/nonexistent}"; finish' EXIT

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
free -g | head -2
cat .gpu/bundle.txt 2>/dev/null || true
$PY -c 'import torch; print("torch", torch.__version__)' || { status=1; summary+=("no PyTorch"); exit 1; }
if [ ! -x "${FLOWSCALE_JAVA:-.jre/bin/java}" ] || [ ! -f "$JAR" ]; then
  summary+=("missing .jre or $JAR: run bin/gpu-bundle here and carry .jre and .gpu")
  status=2
  exit 2
fi

step "1. the shim"
BUILD=${SHIM_BUILD:-native/build-gpu}
[ "$DEVICE" = cpu ] && [ -f native/build/libflowscale_shim.so ] && BUILD=${SHIM_BUILD:-native/build}
SHIM="$PWD/$BUILD/libflowscale_shim.so"
if [ -f "$SHIM" ] && [ "$SHIM" -nt native/src/flowscale_shim.cpp ] && [ "$SHIM" -nt native/include/flowscale_shim.h ]; then
  echo "reusing $SHIM"
else
  PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
  CUDA_ROOT=$(ls -d /usr/local/cuda-13.0 /usr/local/cuda 2>/dev/null | head -1)
  GEN=""
  command -v ninja >/dev/null && GEN="-G Ninja"
  # shellcheck disable=SC2086
  if timeout 240 cmake -S native -B "$BUILD" $GEN -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
       ${CUDA_ROOT:+-DCUDAToolkit_ROOT=$CUDA_ROOT} >"$OUT/shim.log" 2>&1 \
     && timeout 240 cmake --build "$BUILD" >>"$OUT/shim.log" 2>&1; then
    echo "built $SHIM"
  else
    tail -20 "$OUT/shim.log"
    summary+=("FAILED: the shim did not build (bench/gpu/flux-check.sh has the g++ fallback)")
    status=1
    exit 1
  fi
fi
summary+=("shim: $SHIM")

step "2. architecture files"
ARCH="$OUT/arch"
ARCH_FLAGS=""
[ "$SIZE" = real ] || ARCH_FLAGS="--t5-layers 2 --clip-layers 2"  # flux_pipeline_check.py's tiny depths
# shellcheck disable=SC2086
if timeout 180 $PY tools/flux/make_architectures.py "$ARCH" $ARCH_FLAGS >"$OUT/arch.log" 2>&1; then
  summary+=("architectures: $ARCH")
else
  cat "$OUT/arch.log"; summary+=("FAILED: make_architectures.py"); status=1; exit 1
fi

step "3. a random FLUX.1-schnell folder ($SIZE)"
if [ -z "${WEIGHTS_DIR:-}" ]; then
  WEIGHTS_DIR=/tmp
  shm=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
  if [ "$SIZE" != real ] || [ "${shm:-0}" -gt $((38 * 1024 * 1024)) ]; then WEIGHTS_DIR=/dev/shm; fi
fi
FOLDER="$WEIGHTS_DIR/flowscale-flux-pipeline-$SIZE"
PYDEV=$DEVICE
[ "$DEVICE" = cpu ] || PYDEV=cuda
if timeout $(( $(left) > 120 ? $(left) - 120 : 60 )) $PY bench/gpu/flux_pipeline_check.py "$FOLDER" "$PYDEV" "$SIZE"; then
  summary+=("folder: $FOLDER ($(du -sh "$FOLDER" | cut -f1))")
else
  summary+=("FAILED: writing the folder"); status=1; exit 1
fi

step "4. Java: model: flux, prompt to image, RBF at $MAX_NFE NFE on $BACKEND"
# shellcheck disable=SC2086
if timeout $(( $(left) > 30 ? $(left) : 30 )) $JAVA -Dflowscale.shim="$SHIM" org.flowscale.bench.flux.FluxPipelineCheck \
    "$FOLDER" "$ARCH" "$DEVICE" "$BACKEND" "$SIZE" "$MAX_NFE" | tee "$OUT/table.md"; then
  summary+=("table: $OUT/table.md")
else
  summary+=("FAILED or out of time: the Java half (partial table in $OUT/table.md)")
  status=1
fi
exit $status
