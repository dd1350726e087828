#!/usr/bin/env bash
# Benchmark: peak RSS and tokens/s of LoRA (rank 16, all linear layers,
# gradient checkpointing) on a frozen base held in its storage type, on the
# TinyLlama-1.1B shape (dim 2048, 22 layers, 32/4 heads, hidden 5632, vocab
# 32000) at 4 × 512 tokens with a bf16 and a Q4_K base (and f32 with
# --with-f32), and on the Llama-2-7B shape (dim 4096, 32 layers, 32/32
# heads, hidden 11008, vocab 32000) with a Q4_K base. Random weights from
# bench/make_model, which streams the file (memory: about one tensor).
# Not a test: never run by ctest.
#
#   bench/frozen_base.sh [--steps N] [--only tiny|7b] [--with-f32]
#                        [--7b-batch B] [--7b-seq T] [--7b-steps N] [--keep-models]
#
# Needs a build with -DPEFT_BUILD_BENCH=ON in $BUILD (default build/).
# Models go to $FROZEN_OUT (default bench/out/frozen): TinyLlama bf16 2.1 GiB,
# Q4_K 0.6 GiB (f32 4.1 GiB), the 7B Q4_K 3.6 GiB; deleted at the end unless
# --keep-models. Prints a markdown table and writes it to
# bench/results/frozen_base.run.md (bench/results/frozen_base.md is the
# curated record).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
OUT="${FROZEN_OUT:-$ROOT/bench/out/frozen}"
RES="$ROOT/bench/results/frozen_base.run.md"
SHARED="${PEFT_SHARED:-$ROOT/../shared}"
DATA="$SHARED/data/tinyshakespeare/input.txt"
STORIES="$SHARED/models/stories260K.gguf"
PEFT="$BUILD/bin/peft"
MAKE="$BUILD/bin/make_model"
[[ -x "$MAKE" ]] || MAKE="$BUILD/bench/make_model"
STEPS=2
ONLY=""
WITH_F32=0
BIG_B=1
BIG_T=128
BIG_STEPS=1
KEEP=0
while (( $# )); do
  case "$1" in
    --steps) STEPS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --with-f32) WITH_F32=1 ;;
    --7b-batch) BIG_B=$2; shift ;;
    --7b-seq) BIG_T=$2; shift ;;
    --7b-steps) BIG_STEPS=$2; shift ;;
    --keep-models) KEEP=1 ;;
    *) echo "bench/frozen_base.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for exe in "$PEFT" "$MAKE"; do
  [[ -x "$exe" ]] || { echo "bench/frozen_base.sh: $exe is missing (cmake -DPEFT_BUILD_BENCH=ON)" >&2; exit 2; }
done
mkdir -p "$OUT"
TINY="--dim 2048 --layers 22 --heads 32 --kv-heads 4 --hidden 5632 --vocab 32000 --context 2048"
BIG="--dim 4096 --layers 32 --heads 32 --kv-heads 32 --hidden 11008 --vocab 32000 --context 512"

model() {  # model NAME TYPE SHAPE...: make_model's own peak RSS goes to stderr
  local name=$1 dt=$2; shift 2
  [[ -f "$OUT/$name.gguf" ]] && return
  /usr/bin/time -v -o "$OUT/$name.make.time" \
    "$MAKE" --tokenizer-from "$STORIES" --out "$OUT/$name.gguf" --type "$dt" "$@" >&2
  echo "make_model $name ($dt): $(awk -F': ' '/Elapsed \(wall/ {print $2}' "$OUT/$name.make.time") wall," \
       "peak RSS $(awk -F': ' '/Maximum resident/ {printf "%.0f MiB", $2 / 1024}' "$OUT/$name.make.time")" >&2
}

# run LABEL MODEL BASE_DTYPE BATCH SEQ STEPS: prints one table row.
run() {
  local label=$1 m=$2 bd=$3 b=$4 t=$5 n=$6
  rm -rf "$OUT/train"
  local load
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  local cmd=("$PEFT" train --model "$OUT/$m.gguf" --data "$DATA" --method lora --targets all-linear --rank 16
             --grad-checkpoint --base-dtype "$bd" --steps "$n" --batch-size "$b" --seq-len "$t" --lr 1e-4
             --out "$OUT/train" --threads 2 --log-every 1 --eval-split 0)  # no evaluation: the steps alone
  echo "== $label: ${cmd[*]}" >&2
  /usr/bin/time -v -o "$OUT/$label.time" "${cmd[@]}" >"$OUT/$label.out" 2>"$OUT/$label.log" ||
    { echo "| $label | failed: see $OUT/$label.log | | | | | | |"; return; }
  local rss size sps tps held
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.2f", $2 / 1048576}' "$OUT/$label.time")
  size=$(du -m "$OUT/$m.gguf" | awk '{printf "%.2f", $1 / 1024}')
  # Seconds of the last step alone (the first includes warm-up).
  sps=$(/usr/bin/python3 - "$OUT/train/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [r for r in rows if "elapsed_s" in r]
dt = rows[-1]["elapsed_s"] - (rows[-2]["elapsed_s"] if len(rows) > 1 else 0.0)
print(f"{dt:.1f}")
PY
)
  tps=$(awk -v n=$((b * t)) -v s="$sps" 'BEGIN {printf "%.1f", n / s}')
  held=$(grep -m1 "base weights held as" "$OUT/$label.log" | sed 's/.*base weights held as //')
  echo "| $label | $(basename "$m").gguf $size GiB | $b × $t | $n | $rss GiB | $sps | $tps | $held | $load |"
}

{
  echo "# Frozen bases in their storage type (bench/frozen_base.sh)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores,"
  echo "flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx2|fma|f16c|avx512f|avx512_bf16|amx_bf16' | sort -u | tr '\n' ' ')"
  echo
  echo "LoRA r16 on all linear layers, gradient checkpointing, --threads 2."
  echo "Peak RSS: /usr/bin/time -v's maximum resident set (the whole process: weights, adapters, optimizer, activations)."
  echo "s/step and tokens/s: the last step alone (the first includes warm-up)."
  echo
  echo "| run | model file | batch × seq | steps | peak RSS | s/step | tokens/s | base held as | load (1/5/15 min) |"
  echo "|-----|------------|-------------|-------|----------|--------|----------|--------------|-------------------|"
  if [[ -z "$ONLY" || "$ONLY" == tiny ]]; then
    model tiny-bf16 bf16 $TINY
    model tiny-q4k q4_k $TINY
    run tinyllama-bf16 tiny-bf16 keep 4 512 "$STEPS"
    run tinyllama-q4k tiny-q4k keep 4 512 "$STEPS"
    if (( WITH_F32 )); then
      model tiny-f32 f32 $TINY
      run tinyllama-f32 tiny-f32 f32 4 512 "$STEPS"
      (( KEEP )) || rm -f "$OUT/tiny-f32.gguf"
    fi
  fi
  if [[ -z "$ONLY" || "$ONLY" == 7b ]]; then
    model llama7b-q4k q4_k $BIG
    run llama2-7b-q4k llama7b-q4k keep "$BIG_B" "$BIG_T" "$BIG_STEPS"
  fi
} | tee "$RES.tmp"
mv "$RES.tmp" "$RES"
(( KEEP )) || rm -f "$OUT"/*.gguf
rm -rf "$OUT/train"
