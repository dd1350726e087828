#!/usr/bin/env bash
# Benchmark: peft.cpp training speed and peak memory against a PyTorch
# reference of the same model and step (bench/torch_ref.py), on two threads
# each. Not a test: never run by ctest or CI.
#
#   bench/run.sh [--quick] [--no-methods] [--omp-passive]
#
# Writes bench/results/full_finetune.{md,json} (full fine-tuning, three
# shapes) and bench/results/methods.{md,json} (each method with LoRA-family
# rank 16 on all linear layers, shapes 2 and 3). Models and logs go to
# bench/out/ (not committed). --quick runs fewer steps and only the two
# smaller shapes, to check the script itself. --omp-passive sets
# OMP_WAIT_POLICY=passive for both programs: on a machine whose cores are
# busy with other work, OpenMP's default spinning at barriers costs both
# programs several times their speed (threads spin while their partner is
# descheduled); on idle cores leave it off.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-bench"
OUT="$ROOT/bench/out"
RES="$ROOT/bench/results"
SHARED="${PEFT_SHARED:-$ROOT/../shared}"
DATA="$SHARED/data/tinyshakespeare/input.txt"
STORIES="$SHARED/models/stories260K.gguf"
THREADS=2
QUICK=0
METHODS=1
OMP_POLICY=default
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --omp-passive) OMP_POLICY=passive; export OMP_WAIT_POLICY=passive ;;
    --no-methods) METHODS=0 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
for f in "$DATA" "$STORIES"; do
  [[ -f "$f" ]] || { echo "bench/run.sh: missing $f (set PEFT_SHARED)" >&2; exit 2; }
done

# --- Debian packages for the benchmark only (never installed by CI) ---------
# python3-torch: the reference. libopenblas0-openmp: PyTorch's GEMMs go
# through the system libblas.so.3, which is otherwise the netlib reference
# BLAS; the OpenMP build of OpenBLAS is its best option on Debian.
# time: /usr/bin/time -v reports the peak RSS.
SUDO=""
[[ "$(id -u)" == 0 ]] || SUDO="sudo"
need=()
dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
dpkg -s libopenblas0-openmp >/dev/null 2>&1 || need+=(libopenblas0-openmp)
[[ -x /usr/bin/time ]] || need+=(time)
if (( ${#need[@]} )); then
  echo "== installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
PY=/usr/bin/python3  # Debian's python3-torch lives in the system interpreter

# --- build --------------------------------------------------------------------
echo "== building peft.cpp (Release) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPEFT_BUILD_BENCH=ON -DPEFT_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$THREADS" --target peft_cli make_model >/dev/null
PEFT="$BUILD/bin/peft"

# --- models -------------------------------------------------------------------
# Shape names and their hyperparameters, fed to make_model and torch_ref.py.
# s1 is stories260K itself (dim 64, 5 layers, 8 heads / 4 KV heads, hidden
# 172, vocab 512, untied output), trained from its real weights.
declare -A SHAPE_ARGS=(
  [s1]="--dim 64 --layers 5 --heads 8 --kv-heads 4 --hidden 172 --vocab 512"
  [s2]="--dim 288 --layers 6 --heads 6 --kv-heads 6 --hidden 768 --vocab 32000"
  [s3]="--dim 768 --layers 12 --heads 12 --kv-heads 12 --hidden 2048 --vocab 32000"
)
declare -A SEQ=([s1]=256 [s2]=256 [s3]=512)
declare -A BATCH=([s1]=8 [s2]=8 [s3]=4)
# Untimed warmup steps, then timed steps.
declare -A WARM=([s1]=3 [s2]=2 [s3]=1)
declare -A STEPS=([s1]=10 [s2]=5 [s3]=3)
# The methods table: fewer steps, to keep the whole run near 25 minutes.
declare -A MWARM=([s1]=1 [s2]=1 [s3]=1)
declare -A MSTEPS=([s1]=3 [s2]=4 [s3]=3)
SHAPES=(s1 s2 s3)
METHOD_SHAPES=(s2 s3)
if (( QUICK )); then
  WARM=([s1]=1 [s2]=1 [s3]=1)
  STEPS=([s1]=2 [s2]=2 [s3]=1)
  MWARM=([s1]=1 [s2]=1 [s3]=1)
  MSTEPS=([s1]=1 [s2]=1 [s3]=1)
  SHAPES=(s1 s2)
  METHOD_SHAPES=(s2)
fi

mkdir -p "$OUT/runs" "$RES"
rm -f "$OUT"/runs/*
declare -A MODEL=([s1]="$STORIES")
for s in s2 s3; do
  MODEL[$s]="$OUT/$s.gguf"
  if [[ ! -f "${MODEL[$s]}" ]]; then
    # shellcheck disable=SC2086
    "$BUILD/bin/make_model" --tokenizer-from "$STORIES" --out "${MODEL[$s]}" ${SHAPE_ARGS[$s]} --context "${SEQ[$s]}"
  fi
done

# --- runs ---------------------------------------------------------------------
lr_of() {
  case "$1" in full) echo 1e-3 ;; vera) echo 1e-2 ;; *) echo 2e-3 ;; esac
}

# run_peft SHAPE METHOD WARM STEPS: peft train for warmup + timed steps; the
# timed window is read back from metrics.jsonl (elapsed_s per step).
run_peft() {
  local s=$1 m=$2 warm=$3 steps=$4 name="$1.$2.peft"
  local extra=()
  [[ $m == full ]] || extra=(--targets all-linear --rank 16)
  echo "== peft.cpp  $s $m"
  rm -rf "$OUT/train-$name"
  /usr/bin/time -v -o "$OUT/runs/$name.time" \
    "$PEFT" train --model "${MODEL[$s]}" --data "$DATA" --method "$m" "${extra[@]}" \
      --steps $(( warm + steps )) --batch-size "${BATCH[$s]}" --seq-len "${SEQ[$s]}" \
      --lr "$(lr_of "$m")" --out "$OUT/train-$name" --threads "$THREADS" --json \
      --eval-split 0.1 --eval-windows 1 --log-every 1 \
      >"$OUT/runs/$name.json" 2>"$OUT/runs/$name.log" || echo "   failed: see $OUT/runs/$name.log"
  cp "$OUT/train-$name/metrics.jsonl" "$OUT/runs/$name.metrics.jsonl" 2>/dev/null || true
  rm -rf "$OUT/train-$name"  # checkpoints of the big shape are large
}

# run_torch SHAPE METHOD WARM STEPS. OPENBLAS_CORETYPE=SkylakeX for this process only:
# OpenBLAS's automatic choice on this CPU picks slower kernels.
run_torch() {
  local s=$1 m=$2 warm=$3 steps=$4 name="$1.$2.torch"
  echo "== PyTorch   $s $m"
  # shellcheck disable=SC2086
  env OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS="$THREADS" \
    /usr/bin/time -v -o "$OUT/runs/$name.time" \
    "$PY" "$ROOT/bench/torch_ref.py" ${SHAPE_ARGS[$s]} --seq "${SEQ[$s]}" --batch "${BATCH[$s]}" \
      --method "$m" --rank 16 --lr "$(lr_of "$m")" --warmup "$warm" --steps "$steps" \
      --threads "$THREADS" >"$OUT/runs/$name.json" 2>"$OUT/runs/$name.log" || echo "   failed: see $OUT/runs/$name.log"
}

# What the PyTorch process costs before any model exists (interpreter + torch).
env OPENBLAS_CORETYPE=SkylakeX /usr/bin/time -v -o "$OUT/runs/torch_import.time" \
  "$PY" -c "import torch, json; print(json.dumps({'version': torch.__version__, 'config': torch.__config__.show(), 'parallel': torch.__config__.parallel_info()}))" \
  >"$OUT/runs/torch_info.json"

START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for s in "${SHAPES[@]}"; do
  run_peft "$s" full "${WARM[$s]}" "${STEPS[$s]}"
  run_torch "$s" full "${WARM[$s]}" "${STEPS[$s]}"
done
if (( METHODS )); then
  for s in "${METHOD_SHAPES[@]}"; do
    for m in lora lora-fa vera delta-lora lora-plus; do
      run_peft "$s" "$m" "${MWARM[$s]}" "${MSTEPS[$s]}"
      run_torch "$s" "$m" "${MWARM[$s]}" "${MSTEPS[$s]}"
    done
  done
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
END=$(date +%s)

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
"$PY" "$ROOT/bench/report.py" --runs "$OUT/runs" --results "$RES" --threads "$THREADS" \
  --cpu "$cpu" --load "$LOAD_BEFORE -> $LOAD_AFTER" --seconds $(( END - START )) \
  --shapes "${SHAPES[*]}" --method-shapes "$( (( METHODS )) && echo "${METHOD_SHAPES[*]}")" \
  --seq "s1=${SEQ[s1]},s2=${SEQ[s2]},s3=${SEQ[s3]}" --batch "s1=${BATCH[s1]},s2=${BATCH[s2]},s3=${BATCH[s3]}" \
  --warm "s1=${WARM[s1]},s2=${WARM[s2]},s3=${WARM[s3]}" \
  --method-warm "s1=${MWARM[s1]},s2=${MWARM[s2]},s3=${MWARM[s3]}" \
  --omp-wait-policy "$OMP_POLICY" $( (( QUICK )) && echo --quick)
echo "== results in $RES (bench took $(( END - START )) s)"
