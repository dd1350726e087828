#!/usr/bin/env bash
# Benchmark: peak RSS and tokens/s of LoRA (rank 16, all linear layers,
# gradient checkpointing) on a frozen base held as f32, bf16 or Q4_K, on the
# TinyLlama-1.1B shape (dim 2048, 22 layers, 32/4 heads, hidden 5632, vocab
# 32000) at 512 x 4 tokens, and on the Llama-2-7B shape (dim 4096, 32
# layers, 32 heads, hidden 11008, vocab 32000) with a Q4_K base at 1 x 128.
# Random weights from bench/make_model. Not a test: never run by ctest.
#
#   bench/frozen_base.sh [--steps N] [--skip-7b] [--keep-models]
#
# Needs a build with -DPEFT_BUILD_BENCH=ON in $BUILD (default build/).
# Models go to bench/out/frozen (about 5 GB for TinyLlama f32, 4 GB for the
# 7B Q4_K; deleted at the end unless --keep-models). Writes
# bench/results/frozen_base.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
OUT="$ROOT/bench/out/frozen"
RES="$ROOT/bench/results/frozen_base.md"
SHARED="${PEFT_SHARED:-$ROOT/../shared}"
DATA="$SHARED/data/tinyshakespeare/input.txt"
STORIES="$SHARED/models/stories260K.gguf"
PEFT="$BUILD/bin/peft"
MAKE="$BUILD/bench/make_model"
[[ -x "$MAKE" ]] || MAKE="$BUILD/make_model"
STEPS=2
SKIP7B=0
KEEP=0
while (( $# )); do
  case "$1" in
    --steps) STEPS=$2; shift ;;
    --skip-7b) SKIP7B=1 ;;
    --keep-models) KEEP=1 ;;
    *) echo "bench/frozen_base.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$OUT"
TINY="--dim 2048 --layers 22 --heads 32 --kv-heads 4 --hidden 5632 --vocab 32000 --context 2048"
BIG="--dim 4096 --layers 32 --heads 32 --kv-heads 32 --hidden 11008 --vocab 32000 --context 512"

model() {  # model NAME DTYPE SHAPE...
  local name=$1 dt=$2; shift 2
  [[ -f "$OUT/$name.gguf" ]] && return
  echo "== make_model $name ($dt)"
  "$MAKE" --tokenizer-from "$STORIES" --out "$OUT/$name.gguf" --type "$dt" "$@"
}

# run LABEL MODEL BASE_DTYPE BATCH SEQ: prints one table row.
run() {
  local label=$1 m=$2 bd=$3 b=$4 t=$5
  rm -rf "$OUT/train"
  echo "== $label: load $(uptime | sed 's/.*load average: //')" >&2
  /usr/bin/time -v -o "$OUT/$label.time" \
    "$PEFT" train --model "$OUT/$m.gguf" --data "$DATA" --method lora --targets all-linear --rank 16 \
      --grad-checkpoint --base-dtype "$bd" --steps "$STEPS" --batch-size "$b" --seq-len "$t" --lr 1e-4 \
      --out "$OUT/train" --threads 2 --log-every 1 --eval-split 0.01 --eval-windows 1 \
      >"$OUT/$label.out" 2>"$OUT/$label.log" || { echo "| $label | failed: see $OUT/$label.log |"; return; }
  local rss tps held
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.2f", $2 / 1048576}' "$OUT/$label.time")
  # tokens/s of the last step alone (the first includes warm-up).
  tps=$(/usr/bin/python3 - "$OUT/train/metrics.jsonl" "$b" "$t" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if "elapsed_s" in r or "elapsed" in r]
key = "elapsed_s" if "elapsed_s" in rows[-1] else "elapsed"
dt = rows[-1][key] - (rows[-2][key] if len(rows) > 1 else 0.0)
print(f"{int(sys.argv[2]) * int(sys.argv[3]) / dt:.1f}")
PY
)
  held=$(grep -m1 "base weights held as" "$OUT/$label.log" | sed 's/base weights held as //')
  echo "| $label | $b × $t | $rss GiB | $tps | $held |"
}

model tiny-f32 f32 $TINY
model tiny-q4k q4_k $TINY
{
  echo "# Frozen bases in their storage type (bench/frozen_base.sh)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores,"
  echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx2|fma|avx512f|avx512_bf16|amx_bf16' | sort -u | tr '\n' ' ')"
  echo "load average at start: $(uptime | sed 's/.*load average: //')"
  echo
  echo "LoRA r16 on all linear layers, gradient checkpointing, 2 threads, $STEPS steps; tokens/s of the last step."
  echo "Peak RSS from /usr/bin/time -v (the whole process: weights, adapters, optimizer, activations)."
  echo
  echo "| run | batch × seq | peak RSS | tokens/s | base held as |"
  echo "|-----|-------------|----------|----------|--------------|"
  run tinyllama-f32 tiny-f32 f32 4 512
  run tinyllama-bf16 tiny-f32 bf16 4 512
  run tinyllama-q4k tiny-q4k keep 4 512
  if (( ! SKIP7B )); then
    rm -f "$OUT/tiny-f32.gguf"  # disk: make room for the 7B file
    model llama7b-q4k q4_k $BIG
    run llama2-7b-q4k llama7b-q4k keep 1 128
  fi
} | tee "$RES.tmp"
mv "$RES.tmp" "$RES"
(( KEEP )) || rm -f "$OUT"/*.gguf
rm -rf "$OUT/train"
