#!/usr/bin/env bash
# Benchmark: what the fixed reduction order (--reduce-blocks K) costs, on
# ranks of one thread each (docs/scale-out.md). Not a test: never run by ctest.
#
#   bench/reduce_blocks.sh [--steps N] [--blocks "0 2 8"] [--rounds R] [--ranks "1 2"] [--shapes "stories260K s2"]
#
# LoRA rank 16 on all linear layers, global batch 8, on stories260K (seq
# 256) and the dim 288 shape of bench/mpi.sh (seq 256), for each number of
# ranks and each K in --blocks (0 = off, the plain path), the runs
# interleaved R times so that a change in the machine's load hits every K
# alike. Prints tokens/s of the whole job over the timed steps (after one
# untimed step) and rank 0's user CPU seconds for the whole run, with date,
# CPU and load. BUILD=<dir> reuses a build folder (needs peft_cli and
# make_model: -DPEFT_BUILD_BENCH=ON).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
OUT="$ROOT/bench/out/reduce_blocks"
SHARED="${PEFT_SHARED:-$ROOT/../shared}"
DATA="$SHARED/data/tinyshakespeare/input.txt"
STORIES="$SHARED/models/stories260K.gguf"
STEPS=4
BLOCKS="0 2 8"
ROUNDS=2
RANKS="1"
SHAPES="stories260K s2"
while (( $# )); do
  case "$1" in
    --steps) STEPS="$2"; shift ;;
    --blocks) BLOCKS="$2"; shift ;;
    --rounds) ROUNDS="$2"; shift ;;
    --ranks) RANKS="$2"; shift ;;
    --shapes) SHAPES="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench/reduce_blocks.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for f in "$DATA" "$STORIES"; do
  [[ -f "$f" ]] || { echo "bench/reduce_blocks.sh: missing $f (set PEFT_SHARED)" >&2; exit 2; }
done
if [[ ! -x "$BUILD/bin/peft" || ! -x "$BUILD/bin/make_model" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPEFT_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD" -j2 --target peft_cli make_model >/dev/null
fi
mkdir -p "$OUT"
S2="$OUT/s2.gguf"
[[ -f "$S2" ]] || "$BUILD/bin/make_model" --tokenizer-from "$STORIES" --out "$S2" --dim 288 --layers 6 --heads 6 \
  --kv-heads 6 --hidden 768 --vocab 32000 --context 512 >/dev/null
export OMP_NUM_THREADS=1
MPIRUN=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS=1)
[[ "$(id -u)" == 0 ]] && MPIRUN+=(--allow-run-as-root)

echo "date $(date -u '+%Y-%m-%d %H:%M UTC'), CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(getconf _NPROCESSORS_ONLN) cores"
printf '%-11s %-5s %-4s %-5s %10s %8s %s\n' shape ranks K round tok/s user_s load
for round in $(seq 1 "$ROUNDS"); do
  for shape in $SHAPES; do
    model="$STORIES"; [[ $shape == s2 ]] && model="$S2"
    for n in $RANKS; do
    for k in $BLOCKS; do
      out="$OUT/$shape-n$n-k$k"
      rm -rf "$out"
      load=$(cut -d' ' -f1 /proc/loadavg)
      launch=(); (( n > 1 )) && launch=("${MPIRUN[@]}" -np "$n")
      user=$( { /usr/bin/time -f '%U' "${launch[@]}" "$BUILD/bin/peft" train --model "$model" --data "$DATA" --out "$out" \
        --method lora --rank 16 --targets all-linear --seq-len 256 --batch-size 8 --steps $((STEPS + 1)) \
        --eval-split 0 --save-optimizer-state none --reduce-blocks "$k" -q >/dev/null; } 2>&1 | tail -1)
      tps=$(python3 - "$out" <<'PY'
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl") if '"grad_norm"' in l]
print(round((len(steps) - 1) * 256 * 8 / (steps[-1]["elapsed_s"] - steps[0]["elapsed_s"]), 1))
PY
)
      printf '%-11s %-5s %-4s %-5s %10s %8s %s\n' "$shape" "$n" "$k" "$round" "$tps" "$user" "$load"
    done
    done
  done
done
