#!/usr/bin/env bash
# Kernel benchmark for issue #11, in one run on one machine: the GEMM
# ceiling probe (bench/gemm_ceiling), fused against unfused attention
# (bench/attention_bench), then LoRA r16 on all linear layers for the three
# bench/ shapes, peft.cpp against the PyTorch reference in f32 and with bf16
# autocast, each under /usr/bin/time -v for its peak RSS.
#
#   bench/kernels.sh [--quick]        # writes bench/results/kernels.{md,json}
#
# Shapes as bench/run.sh: s1 stories260K (seq 256 × 8), s2 dim 288 (256 × 8),
# s3 dim 768 / 12 layers / vocab 32000 (512 × 4). Step GFLOP/s counts the
# model's FLOPs per token (the same work for both programs): frozen linears
# 4·in·out (forward, input gradient), LoRA 6·r·(in + out), causal attention
# 6·T·dim per layer, the frozen output head 4·dim·vocab.
#
# PyTorch gets OpenBLAS (Debian's libopenblas0-openmp, loaded through
# LD_LIBRARY_PATH for its process only, so the system's libblas.so.3 stays
# what it was) and its own OPENBLAS_CORETYPE (SkylakeX where the CPU has
# AVX-512, Haswell otherwise). Both programs: 2 threads, OMP_WAIT_POLICY=passive
# (the cores are shared; see results/where_time_goes.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build-bench}"
OUT="$ROOT/bench/out"
RES="$ROOT/bench/results"
SHARED="${PEFT_SHARED:-$ROOT/../shared}"
DATA="$SHARED/data/tinyshakespeare/input.txt"
STORIES="$SHARED/models/stories260K.gguf"
THREADS=2
QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench/kernels.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
for f in "$DATA" "$STORIES"; do
  [[ -f "$f" ]] || { echo "bench/kernels.sh: missing $f (set PEFT_SHARED)" >&2; exit 2; }
done
SUDO=""
[[ "$(id -u)" == 0 ]] || SUDO="sudo"
need=()
dpkg -s python3-torch >/dev/null 2>&1 || need+=(python3-torch)
dpkg -s libopenblas0-openmp >/dev/null 2>&1 || need+=(libopenblas0-openmp)
[[ -x /usr/bin/time ]] || need+=(time)
if (( ${#need[@]} )); then
  # Installing OpenBLAS switches libblas.so.3 for the whole system; remember
  # and restore the previous choice so only the PyTorch process sees it.
  blas_before=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)
  lapack_before=$(readlink -f /etc/alternatives/liblapack.so.3-x86_64-linux-gnu 2>/dev/null || true)
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  [[ -n "$blas_before" ]] && $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blas_before" >/dev/null
  [[ -n "$lapack_before" ]] && $SUDO update-alternatives --set liblapack.so.3-x86_64-linux-gnu "$lapack_before" >/dev/null
fi
PY=/usr/bin/python3
TORCH_LIBS=/usr/lib/x86_64-linux-gnu/openblas-openmp
CORETYPE=Haswell
grep -qw avx512f /proc/cpuinfo && CORETYPE=SkylakeX
export OMP_WAIT_POLICY=passive

echo "== building (Release) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPEFT_BUILD_BENCH=ON -DPEFT_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$THREADS" --target peft_cli make_model gemm_ceiling attention_bench >/dev/null
PEFT="$BUILD/bin/peft"

declare -A SHAPE_ARGS=(
  [s1]="--dim 64 --layers 5 --heads 8 --kv-heads 4 --hidden 172 --vocab 512"
  [s2]="--dim 288 --layers 6 --heads 6 --kv-heads 6 --hidden 768 --vocab 32000"
  [s3]="--dim 768 --layers 12 --heads 12 --kv-heads 12 --hidden 2048 --vocab 32000"
)
declare -A SEQ=([s1]=256 [s2]=256 [s3]=512)
declare -A BATCH=([s1]=8 [s2]=8 [s3]=4)
declare -A WARM=([s1]=2 [s2]=1 [s3]=1)
declare -A STEPS=([s1]=6 [s2]=3 [s3]=2)
# bf16 autocast is slow where the CPU has no bf16 instructions: fewer steps.
declare -A BWARM=([s1]=1 [s2]=1 [s3]=1)
declare -A BSTEPS=([s1]=2 [s2]=1 [s3]=1)
SHAPES=(s1 s2 s3)
if (( QUICK )); then
  STEPS=([s1]=2 [s2]=1 [s3]=1)
  SHAPES=(s1 s2)
fi
mkdir -p "$OUT/kruns" "$RES"
rm -f "$OUT"/kruns/*
declare -A MODEL=([s1]="$STORIES")
for s in s2 s3; do
  MODEL[$s]="$OUT/$s.gguf"
  # shellcheck disable=SC2086
  [[ -f "${MODEL[$s]}" ]] || "$BUILD/bin/make_model" --tokenizer-from "$STORIES" --out "${MODEL[$s]}" ${SHAPE_ARGS[$s]} --context "${SEQ[$s]}"
done

START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== gemm ceiling (dim 768 shape, then dim 288)"
OMP_NUM_THREADS=$THREADS "$BUILD/bin/gemm_ceiling" --dim 768 --hidden 2048 --vocab 32000 --tokens 2048 --layers 12 \
  | tee "$OUT/kruns/ceiling.s3.txt"
OMP_NUM_THREADS=$THREADS "$BUILD/bin/gemm_ceiling" --dim 288 --hidden 768 --vocab 32000 --tokens 2048 --layers 6 \
  | tee "$OUT/kruns/ceiling.s2.txt"
echo "== attention: fused against unfused"
OMP_NUM_THREADS=$THREADS "$BUILD/bin/attention_bench" | tee "$OUT/kruns/attention.txt"

for s in "${SHAPES[@]}"; do
  name="$s.peft"
  echo "== peft.cpp  $s lora r16"
  rm -rf "$OUT/ktrain-$name"
  /usr/bin/time -v -o "$OUT/kruns/$name.time" \
    "$PEFT" train --model "${MODEL[$s]}" --data "$DATA" --method lora --targets all-linear --rank 16 \
      --steps $(( WARM[$s] + STEPS[$s] )) --batch-size "${BATCH[$s]}" --seq-len "${SEQ[$s]}" --lr 2e-3 \
      --out "$OUT/ktrain-$name" --threads "$THREADS" --json --eval-split 0.1 --eval-windows 1 --log-every 1 \
      >"$OUT/kruns/$name.json" 2>"$OUT/kruns/$name.log" || echo "   failed: see $OUT/kruns/$name.log"
  cp "$OUT/ktrain-$name/metrics.jsonl" "$OUT/kruns/$name.metrics.jsonl" 2>/dev/null || true
  rm -rf "$OUT/ktrain-$name"
  for ac in none bf16; do
    name="$s.torch-$ac"
    w=${WARM[$s]} n=${STEPS[$s]}
    [[ $ac == bf16 ]] && w=${BWARM[$s]} n=${BSTEPS[$s]}
    echo "== PyTorch   $s lora r16 autocast $ac"
    # shellcheck disable=SC2086
    env LD_LIBRARY_PATH="$TORCH_LIBS" OPENBLAS_CORETYPE="$CORETYPE" OMP_NUM_THREADS="$THREADS" \
      /usr/bin/time -v -o "$OUT/kruns/$name.time" timeout 900 \
      "$PY" "$ROOT/bench/torch_ref.py" ${SHAPE_ARGS[$s]} --seq "${SEQ[$s]}" --batch "${BATCH[$s]}" \
        --method lora --rank 16 --lr 2e-3 --warmup "$w" --steps "$n" --threads "$THREADS" --autocast "$ac" \
        >"$OUT/kruns/$name.json" 2>"$OUT/kruns/$name.log" || echo "   failed or timed out: see $OUT/kruns/$name.log"
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
END=$(date +%s)

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
flags=$(grep -m1 -o -w 'avx2\|fma\|avx512f\|avx512_bf16\|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')
"$PY" - "$OUT/kruns" "$RES" "$cpu" "$flags" "$LOAD_BEFORE -> $LOAD_AFTER" "$(( END - START ))" \
  "${SHAPES[*]}" <<'PYEOF'
import json, os, re, sys, datetime
runs, res, cpu, flags, load, secs, shapes = sys.argv[1:8]
shapes = shapes.split()
SH = {"s1": dict(dim=64, layers=5, heads=8, kv=4, hidden=172, vocab=512, seq=256, batch=8, name="stories260K"),
      "s2": dict(dim=288, layers=6, heads=6, kv=6, hidden=768, vocab=32000, seq=256, batch=8, name="dim 288"),
      "s3": dict(dim=768, layers=12, heads=12, kv=12, hidden=2048, vocab=32000, seq=512, batch=4, name="dim 768")}
WARM = {"s1": 2, "s2": 1, "s3": 1}

def flops_per_token(c, r=16):
    d, hd, kvd = c["dim"], c["hidden"], c["dim"] // c["heads"] * c["kv"]
    lin = [(d, d), (d, kvd), (d, kvd), (d, d), (d, hd), (d, hd), (hd, d)]
    per_layer = sum(4 * i * o + 6 * r * (i + o) for i, o in lin) + 6 * c["seq"] * d
    return c["layers"] * per_layer + 4 * d * c["vocab"]

def peak_mib(path):
    try:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
        return int(m.group(1)) / 1024 if m else None
    except OSError:
        return None

def peft_tps(s):
    try:
        rows = [json.loads(l) for l in open(f"{runs}/{s}.peft.metrics.jsonl") if '"elapsed_s"' in l]
    except OSError:
        return None
    rows = [r for r in rows if "elapsed_s" in r]
    w = WARM[s]
    if len(rows) <= w:
        return None
    t0 = rows[w - 1]["elapsed_s"] if w > 0 else 0.0
    toks = rows[-1]["tokens"] - (rows[w - 1]["tokens"] if w > 0 else 0)
    return toks / (rows[-1]["elapsed_s"] - t0)

def torch_tps(s, ac):
    try:
        return json.loads(open(f"{runs}/{s}.torch-{ac}.json").read().strip().splitlines()[-1])["tokens_per_second"]
    except (OSError, ValueError, IndexError, KeyError):
        return None

def ceiling(name):
    try:
        for l in open(f"{runs}/{name}"):
            if l.startswith("{"):
                return json.loads(l)["gemm_ceiling"]
    except OSError:
        pass
    return None

ceil = {"s3": ceiling("ceiling.s3.txt"), "s2": ceiling("ceiling.s2.txt")}
out = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu, "flags": flags, "load": load,
       "seconds": int(secs), "threads": 2, "gemm_ceiling": ceil, "shapes": {}}
fmt = lambda x, f="{:.0f}": "n/a" if x is None else f.format(x)
lines = []
lines.append(f"# Kernels: LoRA r16 on all linear layers, peft.cpp against PyTorch ({out['date']})\n")
lines.append(f"CPU: {cpu} (flags: {flags.strip()}), 2 threads each, OMP_WAIT_POLICY=passive. "
             f"Load average {load} (1, 5, 15 min; other work shared the 2 cores). Bench took {secs} s. "
             "Written by bench/kernels.sh.\n")
lines.append("| shape | peft.cpp tok/s | PyTorch f32 | PyTorch bf16 autocast | × better PyTorch | peft peak MiB | PyTorch f32 MiB | bf16 MiB | RSS ratio | step GFLOP/s | f32 GEMM ceiling | % of ceiling |")
lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in shapes:
    c = SH[s]
    p, tf, tb = peft_tps(s), torch_tps(s, "none"), torch_tps(s, "bf16")
    rp, rf, rb = peak_mib(f"{runs}/{s}.peft.time"), peak_mib(f"{runs}/{s}.torch-none.time"), peak_mib(f"{runs}/{s}.torch-bf16.time")
    best = max([x for x in (tf, tb) if x is not None], default=None)
    best_rss = rf if (tf is not None and (tb is None or tf >= tb)) else rb
    fpt = flops_per_token(c)
    gf = p * fpt / 1e9 if p else None
    ce = (ceil.get(s) or {}).get("f32_mix_gflops") if s in ceil else None
    out["shapes"][s] = dict(name=c["name"], peft_tps=p, torch_f32_tps=tf, torch_bf16_tps=tb, peft_rss_mib=rp,
                            torch_f32_rss_mib=rf, torch_bf16_rss_mib=rb, flops_per_token=fpt, step_gflops=gf,
                            f32_ceiling_gflops=ce)
    lines.append(f"| {c['name']} | {fmt(p)} | {fmt(tf)} | {fmt(tb)} | {fmt(p / best if p and best else None, '{:.2f}')} | "
                 f"{fmt(rp)} | {fmt(rf)} | {fmt(rb)} | {fmt(rp / best_rss if rp and best_rss else None, '{:.2f}')} | "
                 f"{fmt(gf, '{:.1f}')} | {fmt(ce, '{:.1f}')} | {fmt(100 * gf / ce if gf and ce else None, '{:.0f}%')} |")
lines.append("\nbf16 GEMM ceiling: " + ", ".join(f"{k}: {v.get('bf16_mix_gflops')}" for k, v in ceil.items() if v) +
             " (n/a: the CPU has no native bf16, oneDNN would only emulate it).\n")
lines.append("GEMM ceiling probe (oneDNN sgemm at the step's shapes, best of repeated calls):\n")
for n in ("ceiling.s3.txt", "ceiling.s2.txt", "attention.txt"):
    try:
        lines.append("```\n" + "".join(l for l in open(f"{runs}/{n}") if not l.startswith("{")) + "```\n")
    except OSError:
        pass
open(f"{res}/kernels.md", "w").write("\n".join(lines) + "\n")
json.dump(out, open(f"{res}/kernels.json", "w"), indent=1)
print("\n".join(lines))
PYEOF
