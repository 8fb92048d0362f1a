#!/usr/bin/env bash
# Compiles kernels/src/main/cuda/*.cu to PTX (compute_90) into the module's classes, then runs
# ptxas for sm_90 so register or resource errors fail the build here rather than at JIT time on
# the GPU. Called by Maven (generate-resources). Without nvcc it says so loudly and exits 0: the
# Java code still builds and the CUDA provider then reports "PTX not built". Set
# FLOWSCALE_REQUIRE_PTX=1 (or -Dflowscale.ptx.required=true) to make a missing nvcc an error.
set -euo pipefail
src="$1"
out="$2"
required="${3:-false}"
status="$out/ptx-status.txt"
mkdir -p "$out"

nvcc=""
# FLOWSCALE_NVCC names the compiler to use; FLOWSCALE_NVCC=none simulates a machine without one.
if [ -n "${FLOWSCALE_NVCC:-}" ]; then
  candidates=("$FLOWSCALE_NVCC")
else
  candidates=("$(command -v nvcc 2>/dev/null || true)" /usr/local/cuda/bin/nvcc /usr/local/cuda-13.0/bin/nvcc)
fi
for cand in "${candidates[@]}"; do
  if [ -n "$cand" ] && [ -x "$cand" ]; then nvcc="$cand"; break; fi
done
if [ -z "$nvcc" ]; then
  msg="nvcc not found (looked on PATH, /usr/local/cuda/bin, /usr/local/cuda-13.0/bin): the CUDA kernels are NOT built; the cuda backend will report 'PTX not built'"
  if [ "$required" = "true" ] || [ "${FLOWSCALE_REQUIRE_PTX:-0}" = "1" ]; then
    echo "[flowscale-kernels] ERROR: $msg" >&2
    exit 1
  fi
  echo "[flowscale-kernels] ******************************************************************" >&2
  echo "[flowscale-kernels] WARNING: $msg" >&2
  echo "[flowscale-kernels] ******************************************************************" >&2
  rm -f "$out"/org/flowscale/kernels/*.ptx  # never ship PTX older than the sources
  echo "skipped: $msg" > "$status"
  exit 0
fi
bindir="$(dirname "$nvcc")"
ptxas="$bindir/ptxas"
[ -x "$ptxas" ] || ptxas="$(command -v ptxas)"
echo "[flowscale-kernels] nvcc: $nvcc ($("$nvcc" --version | tail -1))"

dest="$out/org/flowscale/kernels"
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
shopt -s nullglob
built=()
for cu in "$src"/*.cu; do
  name="$(basename "$cu" .cu)"
  "$nvcc" -ptx -arch=compute_90 -O3 -Werror all-warnings -o "$dest/$name.ptx" "$cu"
  # ptxas: the same compilation the driver's JIT will do on an H100/H200.
  "$ptxas" -arch=sm_90 -O3 -v -Werror -o "$tmp/$name.cubin" "$dest/$name.ptx" 2> "$tmp/$name.log" || {
    cat "$tmp/$name.log" >&2
    echo "[flowscale-kernels] ERROR: ptxas sm_90 rejected $name.ptx" >&2
    exit 1
  }
  if grep -E "bytes spill (stores|loads)" "$tmp/$name.log" | grep -vq " 0 bytes spill"; then
    grep -B1 -E "[1-9][0-9]* bytes spill" "$tmp/$name.log" >&2
    echo "[flowscale-kernels] ERROR: register spills in $name (see above)" >&2
    exit 1
  fi
  # Which source the PTX came from: the emulated driver (a test fixture that runs the kernels'
  # host build) refuses PTX of another source than its own. A comment, so drivers ignore it.
  printf '\n// flowscale source sha256 %s\n' "$(sha256sum "$cu" | cut -c1-64)" >> "$dest/$name.ptx"
  echo "[flowscale-kernels] $name.ptx: $(grep -c '^\.visible \.entry' "$dest/$name.ptx") kernels; ptxas sm_90:"
  grep -E "Compiling entry|registers" "$tmp/$name.log" | paste - - | sed -E "s/ptxas info *: Compiling entry function '([^']*)' for 'sm_90'.*Used ([0-9]+) registers.*/  \1: \2 registers/"
  built+=("$name.ptx")
done
echo "built: ${built[*]} (nvcc $("$nvcc" --version | tail -1))" > "$status"
