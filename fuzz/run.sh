#!/usr/bin/env bash
# Runs one fuzz target for a while (docs/fuzzing.md):
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer flags...]     e.g. fuzz/run.sh gguf 1800
#   fuzz/run.sh TARGET --runs N                         a fixed number of runs (CI)
#
# Builds build-fuzz/ (clang, libFuzzer, ASan, UBSan) when needed, gathers the
# seeds (fuzz/corpus/TARGET plus seeds cut from ../shared), and fuzzes at the
# lowest CPU priority. The corpus it grows is kept in build-fuzz/fuzz-work/
# TARGET (or $PEFT_FUZZ_WORK/TARGET), so a second campaign starts where the
# first stopped. A crash, leak, sanitizer report, timeout or allocation over
# 1 GiB stops it with the input saved as build-fuzz/fuzz-artifacts/TARGET/
# crash-* (or leak-, timeout-, oom-); the exit status is then not 0. The
# timeout is PEFT_FUZZ_TIMEOUT seconds of wall time per input, default 1 (the
# limit the parsers must meet on a quiet machine); on a loaded machine at
# nice 19 a second of CPU stretches to many seconds of wall time, so set e.g.
# PEFT_FUZZ_TIMEOUT=10 there and read slowest_unit_time_sec in the final stats.
# Reproduce with: build-fuzz/bin/fuzz_TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,20p' "$0"; exit 2; }
TARGET="$1"; shift
BUILD="${PEFT_FUZZ_BUILD:-build-fuzz}"
SHARED="${PEFT_SHARED:-$(cd .. && pwd)/shared}"
[ -f "fuzz/fuzz_$TARGET.cpp" ] || { echo "error: [fuzz] no target '$TARGET' (fuzz/fuzz_*.cpp)" >&2; exit 2; }

if [ "$1" = "--runs" ]; then limit=(-runs="$2"); shift 2; else limit=(-max_total_time="$1"); shift; fi

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DPEFT_FUZZ=ON -DPEFT_BUILD_TESTS=OFF -DPEFT_NATIVE=OFF > /dev/null
fi
# PEFT_FUZZ_NO_BUILD=1 runs the binary as built (while another build runs).
[ -n "${PEFT_FUZZ_NO_BUILD:-}" ] || nice -n 19 cmake --build "$BUILD" -j "${JOBS:-2}" --target "fuzz_$TARGET" > "$BUILD/fuzz-build-$TARGET.log" 2>&1 \
  || { tail -30 "$BUILD/fuzz-build-$TARGET.log" >&2; exit 1; }

seeds="$BUILD/fuzz-seeds"
[ -d "$SHARED" ] || { echo "error: [fuzz] no shared data at $SHARED (set PEFT_SHARED)" >&2; exit 2; }
if [ ! -f "$seeds/.done" ]; then
  python3 fuzz/seeds.py shared "$seeds" "$SHARED" && touch "$seeds/.done"
fi
work="${PEFT_FUZZ_WORK:-$BUILD/fuzz-work}/$TARGET"
art="$BUILD/fuzz-artifacts/$TARGET"
mkdir -p "$work" "$art" "$seeds/$TARGET"
# New inputs go to the first folder ($work); the others are read as seeds.
exec nice -n 19 "$BUILD/bin/fuzz_$TARGET" "$work" "fuzz/corpus/$TARGET" "$seeds/$TARGET" \
  "${limit[@]}" -timeout="${PEFT_FUZZ_TIMEOUT:-1}" -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
  -artifact_prefix="$art/" "$@"
