#!/usr/bin/env bash
# Benchmark: data-parallel LoRA training on 1 and 2 MPI ranks of one thread
# each (docs/scale-out.md). Not a test: never run by ctest or CI.
#
#   bench/mpi.sh [--steps N] [--shapes s2,s3]
#
# For the dim 288 and dim 768 shapes of bench/run.sh (random weights from
# make_model), LoRA rank 16 on all linear layers, the same global batch for
# both runs: tokens/s over the timed steps (after one untimed step), and
# rank 0's share of the run spent in the gradient all-reduce (waiting for
# the slower rank included). Writes bench/results/scale_out.{md,json}; the
# models and logs go to bench/out/. BUILD=<dir> reuses a build folder.
# --shapes runs some shapes only; rows of the other shapes already in
# scale_out.json are kept (each row has its own date, CPU and load).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
OUT="$ROOT/bench/out"
RES="$ROOT/bench/results"
SHARED="${PEFT_SHARED:-$ROOT/../shared}"
DATA="$SHARED/data/tinyshakespeare/input.txt"
STORIES="$SHARED/models/stories260K.gguf"
STEPS=4
SHAPES=(s2 s3)
while (( $# )); do
  case "$1" in
    --steps) STEPS="$2"; shift ;;
    --shapes) IFS=, read -r -a SHAPES <<< "$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench/mpi.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for f in "$DATA" "$STORIES"; do
  [[ -f "$f" ]] || { echo "bench/mpi.sh: missing $f (set PEFT_SHARED)" >&2; exit 2; }
done
command -v mpirun >/dev/null || { echo "bench/mpi.sh: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 2; }

echo "== building peft.cpp (Release, MPI) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPEFT_BUILD_BENCH=ON -DPEFT_MPI=ON >/dev/null
cmake --build "$BUILD" -j2 --target peft_cli make_model >/dev/null
PEFT="$BUILD/bin/peft"
mkdir -p "$OUT/mpi" "$RES"

declare -A SHAPE_ARGS=(
  [s2]="--dim 288 --layers 6 --heads 6 --kv-heads 6 --hidden 768 --vocab 32000"
  [s3]="--dim 768 --layers 12 --heads 12 --kv-heads 12 --hidden 2048 --vocab 32000"
)
declare -A SEQ=([s2]=256 [s3]=512)
declare -A BATCH=([s2]=8 [s3]=4)

MPIRUN=(mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS=1)
[[ "$(id -u)" == 0 ]] && MPIRUN+=(--allow-run-as-root)
export OMP_NUM_THREADS=1

json="["
for s in "${SHAPES[@]}"; do
  [[ -n "${SEQ[$s]:-}" ]] || { echo "bench/mpi.sh: unknown shape $s (s2 or s3)" >&2; exit 2; }
  model="$OUT/$s.gguf"
  [[ -f "$model" ]] || "$BUILD/bin/make_model" --tokenizer-from "$STORIES" --out "$model" ${SHAPE_ARGS[$s]} --context 512
  for n in 1 2; do
    out="$OUT/mpi/$s-n$n"
    rm -rf "$out"
    args=(train --model "$model" --data "$DATA" --out "$out" --method lora --rank 16 --targets all-linear
          --seq-len "${SEQ[$s]}" --batch-size "${BATCH[$s]}" --steps $((STEPS + 1)) --eval-split 0
          --save-optimizer-state none -q --json)
    echo "== $s, $n rank(s)"
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    if (( n == 1 )); then "$PEFT" "${args[@]}" > "$out.json"
    else "${MPIRUN[@]}" -np "$n" "$PEFT" "${args[@]}" > "$out.json"; fi
    # Timed window: from the end of step 1 to the end of the last step.
    row=$(python3 - "$out" "$n" "$s" "${SEQ[$s]}" "${BATCH[$s]}" "$load" <<'PY'
import json, sys, time
out, n, shape, seq, batch, load = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
steps = [json.loads(l) for l in open(out + "/metrics.jsonl") if '"grad_norm"' in l]
summary = json.load(open(out + ".json"))
timed = steps[-1]["elapsed_s"] - steps[0]["elapsed_s"]
tps = (len(steps) - 1) * seq * batch / timed
share = summary["communication_seconds"] / summary["seconds"] if summary["seconds"] > 0 else 0
print(json.dumps({"shape": shape, "ranks": n, "tokens_per_second": round(tps, 1),
                  "comm_share": round(share, 4), "allreduce_bytes_per_step": summary["allreduce_bytes_per_step"],
                  "trainable_parameters": summary["trainable_parameters"], "seq": seq, "global_batch": batch,
                  "load_average_before": load, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                               if l.startswith("model name")), "?"), "cores": __import__("os").cpu_count()}))
PY
)
    echo "$row"
    json+="$row,"
  done
done
json="${json%,}]"
# Keep the rows of shapes not run this time.
python3 - "$RES/scale_out.json" "$json" <<'PY'
import json, os, sys
path, new = sys.argv[1], json.loads(sys.argv[2])
ran = {r["shape"] for r in new}
old = json.load(open(path)) if os.path.exists(path) else []
rows = [r for r in old if r["shape"] not in ran] + new
rows.sort(key=lambda r: (r["shape"], r["ranks"]))
with open(path + ".tmp", "w") as f:
    f.write("[" + ",\n".join(json.dumps(r) for r in rows) + "]\n")
os.replace(path + ".tmp", path)
PY

python3 - "$RES/scale_out.json" > "$RES/scale_out.md" <<'PY'
import json, platform, sys
rows = json.load(open(sys.argv[1]))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("# Data-parallel LoRA on 1 and 2 MPI ranks (bench/mpi.sh)\n")
print(f"CPU: {cpu} (the CPU, date and load average of each row are in scale_out.json; the machine is shared).")
print("One thread per rank (OMP_NUM_THREADS=1), LoRA rank 16 on all linear layers, the same global batch")
print("for 1 and 2 ranks; tokens/s over the timed steps; communication = rank 0's seconds in the gradient")
print("all-reduce (waiting for the other rank included) / the run's seconds.\n")
print("| shape | ranks | tokens/s | speed-up | communication | all-reduce per step | load average | date |")
print("|---|---|---|---|---|---|---|---|")
base = {}
for r in rows:
    if r["ranks"] == 1: base[r["shape"]] = r["tokens_per_second"]
for r in rows:
    name = {"s2": "dim 288, 6 layers, seq 256, batch 8", "s3": "dim 768, 12 layers, seq 512, batch 4"}[r["shape"]]
    sp = r["tokens_per_second"] / base[r["shape"]]
    print(f'| {name} | {r["ranks"]} | {r["tokens_per_second"]:.0f} | {sp:.2f}x | {100*r["comm_share"]:.1f}% | '
          f'{r["allreduce_bytes_per_step"]/1e6:.2f} MB | {r["load_average_before"]} | {r.get("date", "2026-12-07")} |')
PY
cat "$RES/scale_out.md"
