#!/usr/bin/env bash
# Decode and prompt speed of `peft generate` against llama.cpp on the same
# GGUF file, same prompt, same number of new tokens, same thread count, one
# after the other in the same run (bench/README.md).
#
#   bench/decode.sh                # stories260K + the dim 768 shape, 1 and 2 threads
#   THREADS="1" TOKENS=64 REPEAT=1 bench/decode.sh
#   BUILD=build bench/decode.sh    # reuse an existing Release build (needs -DPEFT_BUILD_BENCH=ON)
#
# Models: ../shared/models/stories260K.gguf, and bench/out/decode-d768-*.gguf
# written by make_model (dim 768, 12 layers, 12 heads, hidden 2048, vocab
# 32000) in every weight type make_model can write (f32 always; bf16, q8_0,
# q4_k when it has --type). Greedy (temperature 0), end-of-text ignored so
# every run makes exactly TOKENS tokens (stories260K: 4 × TOKENS, it is fast).
# Each row is the best of REPEAT runs (default 2): on a shared machine the
# slower runs measure the other processes. A run that takes longer than
# LIMIT seconds (default 120) is stopped and its row says so: llama.cpp's
# threads spin at their barriers, which on oversubscribed cores can slow it
# a hundredfold.
#
# Quantized files (q8_0, q4_k) get a second peft row, "peft (f32 dot)": the
# same run with PEFT_QUANT_DOT=f32, whose one-token products widen the
# weights to f32 instead of taking int8 dot products against a quantized x
# (src/ops/gemv_q8.h). KVS picks peft's KV cache types (default "bf16 f32").
#
# Columns: prompt tokens/s (the prompt's batched forward) and decode tokens/s
# (the TOKENS-1 single-token steps after it), as llama.cpp's "prompt eval"
# and "eval" lines count them. peft's KV cache is bf16 (its default) and f32;
# llama.cpp's is f16 (its default). llama-simple has no thread flag (it runs
# its default of 4 threads), so its row is printed once, for what it is.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${PEFT_SHARED:-$ROOT/../shared}
LLAMA=$SHARED/bin/llama.cpp
BUILD=${BUILD:-$ROOT/build-bench}
OUT=$ROOT/bench/out
THREADS=${THREADS:-"1 2"}
TOKENS=${TOKENS:-64}
TYPES=${TYPES:-"f32 bf16 q8_0 q4_k"}
REPEAT=${REPEAT:-2}
LIMIT=${LIMIT:-120}
KVS=${KVS:-"bf16 f32"}
mkdir -p "$OUT"

if [[ ! -x $BUILD/bin/peft || ! -x $BUILD/bin/make_model ]]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPEFT_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD" -j2 --target peft_cli make_model >/dev/null
fi
PEFT=$BUILD/bin/peft

# About 100 tokens of stories260K's vocabulary, the same text for both programs.
PROMPT="Once upon a time, there was a little girl named Lily. She loved to play outside in the park. \
One day, she saw a big, red ball. She wanted to play with it, but it was too high. \
Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do."

MODELS=("stories260K:f32:$SHARED/models/stories260K.gguf")
for t in $TYPES; do
  f=$OUT/decode-d768-$t.gguf
  if [[ ! -s $f ]]; then
    args=(--tokenizer-from "$SHARED/models/stories260K.gguf" --out "$f" --dim 768 --layers 12 --heads 12
          --kv-heads 12 --hidden 2048 --vocab 32000 --context 1024)
    [[ $t != f32 ]] && args+=(--type "$t")
    if ! "$BUILD/bin/make_model" "${args[@]}" >/dev/null 2>"$OUT/make_model.err"; then
      echo "# d768 $t: skipped, make_model cannot write it: $(head -1 "$OUT/make_model.err")"
      rm -f "$f"
      continue
    fi
  fi
  MODELS+=("d768:$t:$f")
done

echo "# decode.sh $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
     "flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx2|fma|f16c|avx512f|avx512_bf16|amx_tile' | tr '\n' ' ')"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# prompt: $(echo "$PROMPT" | wc -c) bytes; greedy; best of $REPEAT runs"
echo

# Best (largest) value of each column over REPEAT runs.
best() { sort -g | tail -1; }

llama_row() {  # name type threads program kv n file extra...
  local name=$1 type=$2 th=$3 prog=$4 kv=$5 n=$6 file=$7
  shift 7
  local log=$OUT/decode-llama.log pts="" pps="" dps="" r
  for ((r = 0; r < REPEAT; r++)); do
    if ! timeout "$LIMIT" "$LLAMA/$prog" -m "$file" "$@" >"$log" 2>&1; then
      echo "| $name | $type | $th | $prog | $kv | $n | stopped or failed after ${LIMIT} s: $(tail -1 "$log" | cut -c1-60) | |"
      return
    fi
    pts=$(grep 'prompt eval time' "$log" | sed -E 's/.*\/ +([0-9]+) tokens.*/\1/')
    pps+="$(grep 'prompt eval time' "$log" | sed -E 's/.* ([0-9.]+) tokens per second.*/\1/')"$'\n'
    dps+="$(grep -E 'llama_perf_context_print: +eval time' "$log" | sed -E 's/.* ([0-9.]+) tokens per second.*/\1/')"$'\n'
  done
  printf '| %s | %s | %s | %s | %s | %s | %s | %.1f | %.1f |\n' "$name" "$type" "$th" "$prog" "$kv" "$n" "$pts" \
    "$(echo "$pps" | best)" "$(echo "$dps" | best)"
}

peft_row() {  # name type threads kv n file [dot]
  local name=$1 type=$2 th=$3 kv=$4 n=$5 file=$6 dot=${7:-int8} prog=peft
  local json pts="" pps="" dps="" r
  [[ $dot == f32 ]] && prog="peft (f32 dot)"
  for ((r = 0; r < REPEAT; r++)); do
    if ! json=$(PEFT_QUANT_DOT=$dot timeout "$LIMIT" "$PEFT" generate -m "$file" -p "$PROMPT" -n "$n" --temperature 0 --ignore-eos \
                --threads "$th" --kv-dtype "$kv" --json -q 2>"$OUT/decode-peft.err"); then
      echo "| $name | $type | $th | $prog | $kv | $n | stopped or failed after ${LIMIT} s: $(tail -1 "$OUT/decode-peft.err" | cut -c1-60) | |"
      return
    fi
    read -r pts p d < <(echo "$json" | /usr/bin/python3 -c "
import json, sys
j = json.load(sys.stdin)
print(j['prompt_tokens'], j['prompt_tokens_per_second'], j['decode_tokens_per_second'])")
    pps+="$p"$'\n'
    dps+="$d"$'\n'
  done
  printf '| %s | %s | %s | %s | %s | %s | %s | %.1f | %.1f |\n' "$name" "$type" "$th" "$prog" "$kv" "$n" "$pts" \
    "$(echo "$pps" | best)" "$(echo "$dps" | best)"
}

echo "| model | weights | threads | program | KV cache | new tok | prompt tok | prompt tok/s | decode tok/s |"
echo "|---|---|---:|---|---|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
  IFS=: read -r name type file <<<"$m"
  n=$TOKENS
  [[ $name == stories260K ]] && n=$((4 * TOKENS))
  ctx=$((n + 256))
  for th in $THREADS; do
    for kv in $KVS; do peft_row "$name" "$type" "$th" "$kv" "$n" "$file"; done
    # Quantized weights: also the products that widen them to f32 (the old path).
    if [[ $type == q* ]]; then
      for kv in $KVS; do peft_row "$name" "$type" "$th" "$kv" "$n" "$file" f32; done
    fi
    llama_row "$name" "$type" "$th" llama-cli f16 "$n" "$file" -p "$PROMPT" -n "$n" --temp 0 --ignore-eos -no-cnv \
      -t "$th" -tb "$th" -c "$ctx" -ctk f16 -ctv f16
  done
  llama_row "$name" "$type" 4 llama-simple f16 "$n" "$file" -n "$n" "$PROMPT"
done
echo
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
