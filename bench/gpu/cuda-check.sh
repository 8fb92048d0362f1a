#!/usr/bin/env bash
# The GPU check: runs the CUDA tests, then measures the particle operations and one RBF round
# (eagerly and as a CUDA graph whose replays draw fresh noise from a device stream counter), and
# prints the results table last. Runs on the GPU machine from the repository root with the
# artifacts of bin/gpu-bundle carried in (.jre/ and .gpu/); needs no network, Maven or JDK there.
# Logs go to $OUT (the device run's output folder), or bench/gpu/out when $OUT is unset.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-bench/gpu/out}"
mkdir -p "$out"
java="${FLOWSCALE_JAVA:-.jre/bin/java}"
jar=.gpu/flowscale-gpu-check.jar
if [ ! -x "$java" ] || [ ! -f "$jar" ]; then
  echo "cuda-check: $java or $jar is missing: run bin/gpu-bundle on the build machine and carry .jre and .gpu" >&2
  exit 2
fi
jvm=("$java" --enable-native-access=ALL-UNNAMED -Xss8m -cp "$jar")

{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 || echo "nvidia-smi unavailable"
  "$java" -version 2>&1
} | tee "$out/machine.txt"

echo "== CUDA tests =="
timeout 240 "${jvm[@]}" org.flowscale.bench.gpu.GpuTests --require-gpu 2>&1 | tee "$out/gpu-tests.log"
tests_rc=${PIPESTATUS[0]}

echo "== CUDA benchmark =="
timeout 240 "${jvm[@]}" org.flowscale.bench.gpu.CudaBench 2>&1 | tee "$out/cuda-bench.log"
bench_rc=${PIPESTATUS[0]}

echo
echo "== results (also in $out) =="
echo "tests: $(grep -E '^GPU tests:' "$out/gpu-tests.log" | tail -1) (exit $tests_rc)"
# The graph timings count only if every replay drew fresh noise: CudaBench checks each round shape's
# graph against eager streams base + k and fails (no table, exit 1) otherwise.
echo "graph noise: $(grep -c '^graph replay noise' "$out/cuda-bench.log") of 4 round shapes checked fresh per replay"
sed -n '/^## CUDA particle operations/,$p' "$out/cuda-bench.log" | tee "$out/table.md"
[ -s "$out/table.md" ] || echo "no table: the benchmark failed (exit $bench_rc), see $out/cuda-bench.log"
if [ "$tests_rc" -ne 0 ] || [ "$bench_rc" -ne 0 ]; then
  exit 1
fi
