#!/usr/bin/env bash
# peft serve under load: requests/s and latency p50/p95/p99 for vector, BM25
# and hybrid searches with 1, 4 and 16 concurrent clients (bench/serve_bench),
# on the whole manpages-ir corpus (1100 documents), for two random-weight
# decoder embedders: stories260K (dim 64, 5 layers) and make_model's shape 2
# (dim 288, 6 layers, vocab 32000), the second closer to what a small real
# embedding model costs per query. Writes bench/results/serve.md.
#
#   bench/serve.sh               (about 5 minutes on 2 cores)
#   REQUESTS=200 bench/serve.sh  (fewer requests per run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$root/build-bench}"
SHARED="${PEFT_SHARED:-$root/../shared}"
REQUESTS="${REQUESTS:-400}"
WORKERS="${WORKERS:-16}"
out="$root/bench/out/serve"
mkdir -p "$out"
cmake -S "$root" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPEFT_BUILD_BENCH=ON > /dev/null
cmake --build "$BUILD" -j2 --target peft_cli make_model serve_bench > /dev/null
peft="$BUILD/bin/peft"
corpus="$SHARED/data/manpages-ir/corpus.jsonl"
queries="$SHARED/data/manpages-ir/queries.jsonl"

[ -f "$out/shape2.gguf" ] || "$BUILD/bin/make_model" --tokenizer-from "$SHARED/models/stories260K.gguf" \
  --out "$out/shape2.gguf" --dim 288 --layers 6 --heads 6 --kv-heads 6 --hidden 768 --vocab 32000 --context 512 > /dev/null

res="$root/bench/results/serve.md"
{
  echo "# peft serve under load"
  echo
  echo "Made by \`bench/serve.sh\` on $(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores;"
  echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg). Index: all 1100 manpages-ir documents,"
  echo "truncated to 128 tokens for embedding; queries: manpages-ir's 1100 queries in turn, k = 10;"
  echo "\`peft serve --workers $WORKERS\`; $REQUESTS requests per row after 20 warmup requests; each client"
  echo "keeps one connection. Latency is measured in the client, from send to the whole answer."
  echo
} > "$res"

for name in stories260K shape2; do
  model="$SHARED/models/stories260K.gguf"
  [ "$name" = shape2 ] && model="$out/shape2.gguf"
  idx="$out/idx-$name"
  rm -rf "$idx"
  start=$(date +%s.%N)
  "$peft" index build --model "$model" --corpus "$corpus" --out "$idx" --max-tokens 128 -q > /dev/null
  build_s=$(/usr/bin/python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
  "$peft" serve --index "$idx" --port 0 --workers "$WORKERS" --no-log --read-only > "$out/serve.out" 2> "$out/serve.err" &
  pid=$!
  for _ in $(seq 600); do grep -q 'http://' "$out/serve.out" 2> /dev/null && break; sleep 0.1; done
  port="$(grep -o '127.0.0.1:[0-9]*' "$out/serve.out" | cut -d: -f2)"
  {
    echo "## $name ($(du -h "$model" | cut -f1) GGUF), index built in ${build_s} s"
    echo
    echo "| mode | clients | requests/s | p50 ms | p95 ms | p99 ms | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
  } >> "$res"
  for mode in vector bm25 hybrid; do
    for clients in 1 4 16; do
      j="$("$BUILD/bin/serve_bench" --port "$port" --queries "$queries" --mode "$mode" --clients "$clients" \
            --requests "$REQUESTS")"
      echo "$name $j"
      echo "$j" | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print("| %s | %d | %.0f | %.2f | %.2f | %.2f | %d |" % (j["mode"], j["clients"], j["requests_per_s"], j["p50_ms"], j["p95_ms"], j["p99_ms"], j["errors"]))' >> "$res"
    done
  done
  echo >> "$res"
  kill -TERM "$pid"
  wait "$pid"
done
echo "wrote $res"
