#!/usr/bin/env bash
# CI's short fuzz pass (docs/fuzzing.md): builds the libFuzzer targets in
# their own build folder with clang, AddressSanitizer and UBSan, then runs
# each target for a fixed number of inputs over its seeds, so that a parser
# change that crashes, leaks, hangs or over-allocates on a known or nearby
# input fails the suite. Clang and its runtime libraries are a test tool,
# not a build dependency, so scripts/setup.sh leaves them out and this
# installs them when missing.
#
#   scripts/test-fuzz.sh --install            installs the toolchain only (CTest fixture)
#   scripts/test-fuzz.sh BUILD_DIR [RUNS]     (RUNS per target, default 3000)
#
# Each input may take PEFT_FUZZ_TIMEOUT seconds of wall time, default 10
# here: under ctest -j the pass shares the cores with compiling tests, which
# stretches wall time; campaigns (fuzz/run.sh) hold inputs to 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '2,15p' "$0"; exit 2; }
BUILD="$1"
RUNS="${2:-3000}"
pkgs=(clang-14 libclang-rt-14-dev libomp-14-dev python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[test-fuzz] installing: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # Other fixtures may hold apt's lock under ctest -j: wait for it.
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" > /dev/null
fi
[ "$BUILD" = "--install" ] && exit 0
CXX=clang++
command -v clang++ > /dev/null || CXX=clang++-14
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DPEFT_FUZZ=ON -DPEFT_BUILD_TESTS=OFF > /dev/null
fi
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target fuzz_all > "$BUILD/fuzz-build.log" 2>&1 \
  || { tail -40 "$BUILD/fuzz-build.log" >&2; exit 1; }
export PEFT_FUZZ_TIMEOUT="${PEFT_FUZZ_TIMEOUT:-10}"
failed=()
for src in fuzz/fuzz_*.cpp; do
  t="$(basename "$src" .cpp)"; t="${t#fuzz_}"
  start=$SECONDS
  if PEFT_FUZZ_BUILD="$BUILD" fuzz/run.sh "$t" --runs "$RUNS" > "$BUILD/fuzz-$t.log" 2>&1; then
    echo "[test-fuzz] $t: $RUNS runs, $(grep -o 'cov: [0-9]* ft: [0-9]*' "$BUILD/fuzz-$t.log" | tail -1), $((SECONDS - start)) s"
  else
    echo "[test-fuzz] $t FAILED (log $BUILD/fuzz-$t.log):"
    grep -E 'ERROR|fuzz:|SUMMARY|Test unit written|error:' "$BUILD/fuzz-$t.log" | head -20
    failed+=("$t")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "error: [test-fuzz] failed: ${failed[*]}" >&2; exit 1; }
