#!/usr/bin/env bash
# Tokenizer throughput, ours against Hugging Face's Rust tokenizers, written
# to bench/results/tokenizers.md. Needs a build with -DPEFT_BUILD_BENCH=ON
# (BUILD_DIR, default build) and, for the reference, npm.
#   bench/tokenizers.sh [BUILD_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
shared="${PEFT_SHARED:-$here/../../shared}"
out="$here/results/tokenizers.md"
mkdir -p "$here/results"
{
  echo "# Tokenizer throughput"
  echo
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores (shared with other jobs while measured)."
  echo "Text: tinyshakespeare/input.txt ($(wc -c < "$shared/data/tinyshakespeare/input.txt") bytes), no special tokens, one thread, best of 5; encoded as one string, and line by line (HF: encodeBatch with TOKENIZERS_PARALLELISM=false)."
  echo
  "$build/bin/tokenizer_bench" --shared "$shared" --reps 5
  npm_dir="$build/npm-tokenizers"  # outside the source tree
  if command -v npm >/dev/null && npm install --prefix "$npm_dir" --silent tokenizers >/dev/null 2>&1; then
    NODE_PATH="$npm_dir/node_modules" TOKENIZERS_PARALLELISM=false node "$here/tokenizers_ref.mjs" "$shared" 5
    echo
    echo "Reference: npm tokenizers $(node -p "require('$npm_dir/node_modules/tokenizers/package.json').version") (Rust core through Node's N-API binding; the binding's per-call conversions are included, and HF also tracks offsets and alignments that ours does not compute, so this is not a bare Rust-versus-C++ comparison). Equal token counts in the two rows are a check that both produced the same tokenization."
  else
    echo
    echo "Reference not measured: npm could not install the tokenizers package."
  fi
} > "$out"
cat "$out"
