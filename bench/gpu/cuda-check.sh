#!/usr/bin/env bash
# The GPU check of the CUDA backend, sized for one device call: the CUDA tests, then each particle
# operation's bandwidth against a device copy and one RBF round (eager and as a CUDA graph whose
# replays draw fresh noise from a device stream counter). Runs on the GPU machine from the
# repository root with the artifacts of bin/gpu-bundle carried in (.jre/ and .gpu/); needs no
# network, Maven or JDK there. Run it as its own device call (torch-check.sh is another):
#   run(command="bench/gpu/cuda-check.sh", carry=[".jre", ".gpu"], timeout_s=480)
#
# Every step runs under `timeout`, and the whole script keeps to CHECK_BUDGET_S (default 400 s,
# under 8 minutes with the JVM starts): a step gets what is left, a step with no time left is
# skipped, and the summary is always printed, last, on one screen. Logs and tables go to $OUT
# (the device run's output folder), or bench/gpu/out when $OUT is unset; the benchmark writes each
# table row there as soon as it is measured, so a run cut short keeps what it measured.
#
# Environment: CHECK_BUDGET_S (seconds for the whole script), FLOWSCALE_CUDA_DRIVER (a driver
# library other than libcuda.so.1: the emulated one, to test this script's flow without a GPU),
# CUDA_CHECK_QUICK=1 (small shapes, short timings: a smoke test of the flow, not a measurement).
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)
budget=${CHECK_BUDGET_S:-400}
out="${OUT:-bench/gpu/out}"
mkdir -p "$out"
java="${FLOWSCALE_JAVA:-.jre/bin/java}"
jar=.gpu/flowscale-gpu-check.jar
if [ ! -x "$java" ] || [ ! -f "$jar" ]; then
  echo "cuda-check: $java or $jar is missing: run bin/gpu-bundle on the build machine and carry .jre and .gpu" >&2
  exit 2
fi
jvm=("$java" --enable-native-access=ALL-UNNAMED -Xss8m)
if [ -n "${FLOWSCALE_CUDA_DRIVER:-}" ]; then
  jvm+=("-Dflowscale.cuda.driver=$FLOWSCALE_CUDA_DRIVER")
fi
jvm+=(-cp "$jar")
quick=()
[ "${CUDA_CHECK_QUICK:-0}" = 1 ] && quick=(--quick)

steps=()   # one summary line per step
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

gpu=$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem \
  --format=csv,noheader 2>/dev/null) || gpu="no nvidia-smi here"
{
  date -u
  echo "GPU: $gpu"
  timeout 20 "$java" -version 2>&1 | head -1
  [ -f .gpu/bundle.txt ] && cat .gpu/bundle.txt
  [ -n "${FLOWSCALE_CUDA_DRIVER:-}" ] && echo "CUDA driver: $FLOWSCALE_CUDA_DRIVER"
} | tee "$out/machine.txt"
step "CUDA tests" 200 "$out/gpu-tests.log" "${jvm[@]}" org.flowscale.bench.gpu.GpuTests --require-gpu
tests_rc=$?
# The benchmark stops starting new shapes 20 s before its own timeout, so it always prints a table.
bench_cap=$(($(left) - 15))
[ "$bench_cap" -gt 240 ] && bench_cap=240
step "CUDA benchmark" "$bench_cap" "$out/cuda-bench.log" \
  "${jvm[@]}" org.flowscale.bench.gpu.CudaBench --out "$out" --seconds $((bench_cap > 40 ? bench_cap - 20 : 20)) "${quick[@]}"
bench_rc=$?

# ---- the summary: one screen, last ----
echo
echo "================ cuda-check summary ($(($(date +%s) - start)) s of ${budget} s; logs in $out) ================"
echo "GPU: $gpu${FLOWSCALE_CUDA_DRIVER:+ (driver: $FLOWSCALE_CUDA_DRIVER)}"
[ -f .gpu/bundle.txt ] && head -1 .gpu/bundle.txt
for s in "${steps[@]}"; do echo "step  $s"; done
echo "tests $(grep -E '^GPU tests:' "$out/gpu-tests.log" 2>/dev/null | tail -1)"
grep -E '^(FAIL|SKIP) ' "$out/gpu-tests.log" 2>/dev/null | head -8 | cut -c1-160 | sed 's/^/      /'
# The graph timings count only if every replay drew fresh noise: CudaBench checks each round
# shape's graph against eager streams base + k and stops (no table) otherwise.
echo "graph noise: $(grep -c '^graph replay noise' "$out/cuda-bench.log" 2>/dev/null) round shapes checked fresh per replay"
if [ -s "$out/summary.txt" ]; then
  sed 's/^/bench /' "$out/summary.txt"
elif [ -s "$out/ops.md" ]; then
  echo "bench: no summary (cut short); rows measured so far: $(($(wc -l < "$out/ops.md") - 2)) in $out/ops.md"
else
  echo "bench: nothing measured, see $out/cuda-bench.log"
fi
[ -s "$out/table.md" ] && echo "table: $out/table.md (add it to bench/RESULTS.md with the card and the date)"
if [ "$tests_rc" -ne 0 ] || [ "$bench_rc" -ne 0 ]; then
  echo "RESULT: FAILED"
  exit 1
fi
echo "RESULT: ok"
