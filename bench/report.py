#!/usr/bin/env python3
"""Turns the raw runs of bench/run.sh into bench/results/*.md and *.json.

Inputs in --runs, per run NAME = SHAPE.METHOD.{peft,torch}:
  NAME.json           the program's summary JSON (stdout)
  NAME.time           /usr/bin/time -v output (peak RSS, CPU share)
  NAME.metrics.jsonl  peft.cpp only: one line per step with elapsed_s
peft.cpp's tokens/s is taken over the same window as PyTorch's: the steps
after the warmup steps, from the elapsed time peft.cpp logs after each step.
Standard library only.
"""
import argparse
import datetime
import json
import os
import re

SHAPE_TEXT = {
    "s1": "stories260K (dim 64, 5 layers, 8/4 heads, hidden 172, vocab 512)",
    "s2": "dim 288, 6 layers, 6 heads, hidden 768, vocab 32000",
    "s3": "dim 768, 12 layers, 12 heads, hidden 2048, vocab 32000",
}
# dim, layers, heads, kv_heads, hidden, vocab: for the FLOP count of a step.
SHAPE_DIMS = {"s1": (64, 5, 8, 4, 172, 512), "s2": (288, 6, 6, 6, 768, 32000),
              "s3": (768, 12, 12, 12, 2048, 32000)}
METHODS = ["full", "lora", "lora-fa", "vera", "delta-lora", "lora-plus"]


def read_time(path):
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        line = line.strip()
        m = re.match(r"Maximum resident set size \(kbytes\): (\d+)", line)
        if m:
            out["peak_rss_bytes"] = int(m.group(1)) * 1024
        m = re.match(r"Percent of CPU this job got: (\d+)%", line)
        if m:
            out["cpu_percent"] = int(m.group(1))
        m = re.match(r"Exit status: (\d+)", line)
        if m:
            out["exit_status"] = int(m.group(1))
        if line.startswith("Command exited with non-zero status"):
            out["exit_status"] = int(line.split()[-1])
    return out


def read_json(path):
    try:
        with open(path) as f:
            text = f.read().strip().splitlines()
        return json.loads(text[-1]) if text else None
    except (OSError, ValueError):
        return None


def peft_timed_tps(metrics_path, warm, tokens_per_step):
    """tokens/s over the steps after `warm`, from the per-step elapsed times."""
    elapsed = {}
    try:
        for line in open(metrics_path):
            j = json.loads(line)
            if "elapsed_s" in j:
                elapsed[j["step"]] = j["elapsed_s"]
    except (OSError, ValueError):
        return None, None
    if not elapsed:
        return None, None
    last = max(elapsed)
    t0 = elapsed.get(warm, 0.0) if warm > 0 else 0.0
    n = last - warm
    if n <= 0 or elapsed[last] <= t0:
        return None, None
    return n * tokens_per_step / (elapsed[last] - t0), n


def collect(runs, shape, method, seq, batch, warm):
    r = {"shape": shape, "method": method}
    p = read_json(os.path.join(runs, f"{shape}.{method}.peft.json"))
    pt = read_time(os.path.join(runs, f"{shape}.{method}.peft.time"))
    t = read_json(os.path.join(runs, f"{shape}.{method}.torch.json"))
    tt = read_time(os.path.join(runs, f"{shape}.{method}.torch.time"))
    if p:
        tps, n = peft_timed_tps(os.path.join(runs, f"{shape}.{method}.peft.metrics.jsonl"), warm,
                                seq * batch)
        r["peft"] = {"tokens_per_second": tps, "timed_steps": n,
                     "tokens_per_second_all_steps": p.get("tokens_per_second"),
                     "saved_activation_bytes": p.get("saved_activation_bytes"),
                     "trainable_parameters": p.get("trainable_parameters"),
                     "total_parameters": p.get("total_parameters"), **pt}
    elif pt:
        r["peft"] = {"error": "no summary (see the .log)", **pt}
    if t:
        r["torch"] = {"tokens_per_second": t["tokens_per_second"], "timed_steps": t["steps"],
                      "trainable_parameters": t["trainable_parameters"],
                      "total_parameters": t["total_parameters"], **tt}
    elif tt:
        r["torch"] = {"error": "no summary (see the .log)", **tt}
    pv = r.get("peft", {}).get("tokens_per_second")
    tv = r.get("torch", {}).get("tokens_per_second")
    r["speed_ratio"] = pv / tv if pv and tv else None
    pm = r.get("peft", {}).get("peak_rss_bytes")
    tm = r.get("torch", {}).get("peak_rss_bytes")
    r["rss_ratio"] = pm / tm if pm and tm else None
    return r


def full_step_gflop(shape, seq, batch):
    """Matrix-product FLOPs of one full fine-tuning step: 6 per weight per token
    (forward, input gradient, weight gradient) for every linear layer and the
    output head, plus causal attention (q·kᵀ and p·v: 2·2·T²/2·d per sequence
    and layer forward, three times that with backward). Elementwise work and
    the embedding lookup are left out."""
    dim, layers, heads, kv, hidden, vocab = SHAPE_DIMS[shape]
    hd = dim // heads
    per_layer = dim * heads * hd * 2 + dim * kv * hd * 2 + 3 * dim * hidden
    weights = layers * per_layer + vocab * dim
    tokens = seq * batch
    attn = 3 * 2 * seq * seq * heads * hd * batch * layers
    return (6 * weights * tokens + attn) / 1e9


def mib(b):
    return "—" if b is None else f"{b / 2**20:,.0f} MiB"


def num(x, fmt="{:,.0f}"):
    return "—" if x is None else fmt.format(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--cpu", default="")
    ap.add_argument("--load", default="")
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--shapes", default="s1 s2 s3")
    ap.add_argument("--method-shapes", default="")
    ap.add_argument("--seq", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--warm", required=True, help="untimed warmup steps per shape, e.g. s1=3,s2=2")
    ap.add_argument("--method-warm", required=True, help="the same for the methods runs")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--omp-wait-policy", default="default")
    a = ap.parse_args()
    seq = {k: int(v) for k, v in (x.split("=") for x in a.seq.split(","))}
    batch = {k: int(v) for k, v in (x.split("=") for x in a.batch.split(","))}
    warm = {k: int(v) for k, v in (x.split("=") for x in a.warm.split(","))}
    mwarm = {k: int(v) for k, v in (x.split("=") for x in a.method_warm.split(","))}

    info = read_json(os.path.join(a.runs, "torch_info.json")) or {}
    cfg = info.get("config", "")
    blas = "unknown"
    m = re.search(r"BLAS_INFO=(\w+)", cfg)
    if m:
        blas = m.group(1)
    libblas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    par = info.get("parallel", "")
    backend = re.search(r"ATen parallel backend: (.*)", par)
    import_rss = read_time(os.path.join(a.runs, "torch_import.time")).get("peak_rss_bytes")
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": a.cpu, "threads": a.threads, "torch_version": info.get("version"),
        "torch_blas_info": blas, "libblas_so_3": libblas,
        "torch_parallel_backend": backend.group(1) if backend else None,
        "torch_mkldnn": "MKL-DNN" in cfg, "torch_import_peak_rss_bytes": import_rss,
        "omp_wait_policy": a.omp_wait_policy, "load_average_before_after": a.load, "bench_seconds": a.seconds, "quick": a.quick,
    }
    header = [
        f"Measured {meta['date']} by `bench/run.sh{' --quick' if a.quick else ''}` "
        f"on {a.cpu or 'an unknown CPU'}, {a.threads} threads for both programs.",
        f"PyTorch {meta['torch_version']} (Debian python3-torch; BLAS_INFO={blas}, libblas.so.3 -> "
        f"`{libblas}`, OPENBLAS_CORETYPE=SkylakeX, ATen parallel backend "
        f"{meta['torch_parallel_backend']}); importing torch alone peaks at {mib(import_rss)} RSS, "
        "which is included in its column.",
        f"Load average (1/5/15 min) before -> after the runs: {a.load}. The machine has "
        f"{os.cpu_count()} cores; any load above ~{a.threads} from other processes slows both "
        "programs and makes the ratios noisy (CPU% columns: the share each process got, "
        f"{a.threads * 100}% = both cores to itself).",
        f"OMP_WAIT_POLICY: {a.omp_wait_policy} for both programs"
        + (" (chosen because other work was using the cores; with OpenMP's default spinning both "
           "programs lose several times their speed under such load)." if a.omp_wait_policy == "passive"
           else " (OpenMP's default spinning)."),
        "tokens/s: steps after the warmup steps (same count for both), wall clock. Peak RSS: "
        "`/usr/bin/time -v` over the whole process (peft.cpp: loading, training, evaluation, saving).",
    ]

    os.makedirs(a.results, exist_ok=True)

    # --- full fine-tuning ----------------------------------------------------
    full = [collect(a.runs, s, "full", seq[s], batch[s], warm[s]) for s in a.shapes.split()]
    lines = ["# Full fine-tuning: peft.cpp against PyTorch", ""] + header + [
        "",
        "| shape | seq × batch | peft.cpp tokens/s | PyTorch tokens/s | speed ratio | "
        "peft.cpp peak RSS | PyTorch peak RSS | RSS ratio | GFLOP/s peft / torch | CPU% peft / torch |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in full:
        s = r["shape"]
        p, t = r.get("peft", {}), r.get("torch", {})
        gf = full_step_gflop(s, seq[s], batch[s])
        r["gflop_per_step"] = gf
        steps_per_s = lambda x: x / (seq[s] * batch[s]) if x else None
        pg = steps_per_s(p.get("tokens_per_second"))
        tg = steps_per_s(t.get("tokens_per_second"))
        r["gflop_per_second"] = {"peft": pg * gf if pg else None, "torch": tg * gf if tg else None}
        lines.append(
            f"| {SHAPE_TEXT[s]} | {seq[s]} × {batch[s]} | {num(p.get('tokens_per_second'))} | "
            f"{num(t.get('tokens_per_second'))} | {num(r['speed_ratio'], '{:.2f}×')} | "
            f"{mib(p.get('peak_rss_bytes'))} | {mib(t.get('peak_rss_bytes'))} | "
            f"{num(r['rss_ratio'], '{:.2f}×')} | {num(r['gflop_per_second']['peft'], '{:.1f}')} / "
            f"{num(r['gflop_per_second']['torch'], '{:.1f}')} | "
            f"{num(p.get('cpu_percent'))} / {num(t.get('cpu_percent'))} |")
    lines += ["", "Speed ratio = peft.cpp / PyTorch (above 1: peft.cpp faster). "
              "RSS ratio = peft.cpp / PyTorch (below 1: peft.cpp smaller). GFLOP/s: the matrix "
              "products of a step (6 FLOPs per weight per token, plus causal attention) per second "
              "of wall time; two Zen 4 cores at about 2.6 GHz peak near 165 GFLOP/s in f32.", ""]
    with open(os.path.join(a.results, "full_finetune.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(a.results, "full_finetune.json"), "w") as f:
        json.dump({"meta": meta, "rows": full}, f, indent=2)
        f.write("\n")

    # --- methods -------------------------------------------------------------
    mshapes = a.method_shapes.split()
    if not mshapes:
        return 0
    rows = []
    for s in mshapes:
        for mth in METHODS:
            w = warm[s] if mth == "full" else mwarm[s]
            rows.append(collect(a.runs, s, mth, seq[s], batch[s], w))
    lines = ["# The methods: peft.cpp against PyTorch", ""] + header + [
        "Adapters: rank 16 (alpha 16) on every linear layer of the blocks (q, k, v, o, gate, up, "
        "down), VeRA included; lr 2e-3 (VeRA 1e-2, full 1e-3); the full rows are the runs of "
        "full_finetune.md. The adapter rows time fewer steps than the full rows (see the JSON: "
        "timed_steps).",
        "",
        "| shape | method | trainable params | peft.cpp tokens/s | PyTorch tokens/s | speed ratio | "
        "peft.cpp peak RSS | PyTorch peak RSS | RSS ratio | peft.cpp saved activations |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["shape"]
        p, t = r.get("peft", {}), r.get("torch", {})
        lines.append(
            f"| {s} ({seq[s]} × {batch[s]}) | {r['method']} | {num(p.get('trainable_parameters'))} | "
            f"{num(p.get('tokens_per_second'))} | {num(t.get('tokens_per_second'))} | "
            f"{num(r['speed_ratio'], '{:.2f}×')} | {mib(p.get('peak_rss_bytes'))} | "
            f"{mib(t.get('peak_rss_bytes'))} | {num(r['rss_ratio'], '{:.2f}×')} | "
            f"{mib(p.get('saved_activation_bytes'))} |")
    lines += ["", "## LoRA-FA's activation memory against LoRA's (peft.cpp, measured)", "",
              "Bytes the model kept for backward in one micro-batch (`saved_activation_bytes`). "
              "LoRA-FA keeps x·Aᵀ (r numbers per token) instead of x for B's gradient; the rest "
              "(attention, norms, MLP activations) is the same for both.", "",
              "| shape | LoRA | LoRA-FA | LoRA-FA / LoRA | difference |", "|---|---:|---:|---:|---:|"]
    for s in mshapes:
        by = {r["method"]: r.get("peft", {}).get("saved_activation_bytes") for r in rows if r["shape"] == s}
        lo, fa = by.get("lora"), by.get("lora-fa")
        ratio = num(fa / lo, "{:.3f}") if lo and fa else "—"
        diff = mib(lo - fa) if lo and fa else "—"
        lines.append(f"| {s} | {mib(lo)} | {mib(fa)} | {ratio} | {diff} |")
    lines.append("")
    with open(os.path.join(a.results, "methods.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(a.results, "methods.json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
