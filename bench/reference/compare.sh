#!/usr/bin/env bash
# The flowscale CLI against the reference-style Python RBF loop, interleaved on this machine:
# whole-process wall and CPU, the paired ratio, and first vs later searches in one process.
# Builds what it needs first: the CLI jar and its start-up cache (bin/flowscale), the bench jar,
# the libtorch shim, and the TorchScript files (bench/reference/make_models.py, /usr/bin/python3
# with torch). Arguments go to compare.py (--rounds N, --shapes 64 64x64, --out FILE).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bin/lib/java-env.sh
if [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "compare: needs /usr/bin/python3 with torch (Debian: apt-get install python3-torch)" >&2
  exit 1
fi
shim="${FLOWSCALE_SHIM:-$PWD/native/build/libflowscale_shim.so}"
if [ ! -f "$shim" ]; then
  echo "compare: building the libtorch shim (native/build)" >&2
  cmake -S native -B native/build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build native/build -j "$(nproc)" >/dev/null
  shim="$PWD/native/build/libflowscale_shim.so"
fi
models="$PWD/bench/target/nfe-models"
if [ ! -f "$models/reward64.pt" ]; then
  mkdir -p "$models"
  /usr/bin/python3 bench/reference/make_models.py "$models" >&2
fi
mvn -B -ntp -q -pl bench -am package -DskipTests -Dspotless.check.skip=true >&2
# Builds the CLI jar if its sources changed, and its start-up cache once per build.
bin/flowscale --version >/dev/null
exec /usr/bin/python3 bench/reference/compare.py --root "$PWD" --models "$models" --shim "$shim" \
  --java "$JAVA_HOME/bin/java" "$@"
