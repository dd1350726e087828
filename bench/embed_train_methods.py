#!/usr/bin/python3
"""Before/after retrieval quality of `peft train --task embedding` for every
method, next to BM25, and STS-B Spearman before/after for one method.

Model: stories260K (../shared/models/stories260K.gguf) as a decoder embedder
with mean pooling (its last token summarises a man page too poorly to learn
from in a few steps). Retrieval: ../shared/data/manpages-ir, training on
qrels/train.tsv (884 query/page pairs), evaluating on qrels/test.tsv (216
queries against all 1100 pages, nDCG@10 etc. as pytrec_eval computes them).
BM25: `peft eval retrieval --bm25` on the same test qrels. STS: LoRA with
the CoSENT loss on ../shared/data/stsb/sts-train.csv, Spearman of cosine
similarity on sts-dev.csv.

Every number comes from the runs' summary.json (written by peft train from
its own evaluation before and after training); nothing is computed here.
Small on purpose (2 shared cores): 60 steps of 16 pairs, 64 tokens per text.

Usage: /usr/bin/python3 bench/embed_train_methods.py [--peft build/bin/peft] [--steps 60]
Writes bench/results/embed_train_methods.json and .md.
"""
import argparse
import json
import os
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("PEFT_SHARED", os.path.join(ROOT, "..", "shared"))

# method, learning rate (LoRA family 5e-3; VeRA trains only scaling vectors
# and takes a larger one, as its default; full fine-tuning a smaller one).
METHODS = [("full", "1e-3"), ("lora", "5e-3"), ("lora-fa", "5e-3"), ("vera", "2e-2"), ("delta-lora", "5e-3"),
           ("lora-plus", "5e-3")]


def run(cmd):
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    return p.stdout, time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peft", default=os.path.join(ROOT, "build", "bin", "peft"))
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "embed_train_methods"))
    a = ap.parse_args()
    model = os.path.join(SHARED, "models", "stories260K.gguf")
    ir = os.path.join(SHARED, "data", "manpages-ir")
    common = ["--max-length", "64", "--batch-size", "16", "--steps", str(a.steps), "--rank", "8", "--targets",
              "q,k,v,o,up,down", "--pooling", "mean", "--seed", "1", "--json", "--quiet"]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    res = {"cpu": cpu, "cores": os.cpu_count(), "loadavg_before": os.getloadavg(), "model": "stories260K (mean pooling)",
           "steps": a.steps, "batch_size": 16, "max_length": 64, "retrieval": [], "sts": None}
    out, _ = run([a.peft, "eval", "retrieval", "--bm25", "--data", ir, "--split", "test", "--json"])
    res["bm25"] = json.loads(out)
    for method, lr in METHODS:
        d = os.path.join(a.out, method)
        out, secs = run([a.peft, "train", "--task", "embedding", "--model", model, "--data", ir, "--eval-retrieval", ir,
                         "--method", method, "--lr", lr, "--loss", "mnrl", "--out", d] + common)
        s = json.loads(out)
        res["retrieval"].append({"method": method, "lr": float(lr), "trainable_parameters": s["trainable_parameters"],
                                 "before": s["eval_before"], "after": s["eval_after"],
                                 "texts_per_second": s["texts_per_second"], "tokens_per_second": s["tokens_per_second"],
                                 "wall_seconds": secs})
        print(f"{method}: nDCG@10 {s['eval_before']['ndcg@10']:.4f} -> {s['eval_after']['ndcg@10']:.4f}", flush=True)
    stsb = os.path.join(SHARED, "data", "stsb")
    d = os.path.join(a.out, "sts-lora")
    out, secs = run([a.peft, "train", "--task", "embedding", "--model", model, "--data",
                     os.path.join(stsb, "sts-train.csv"), "--eval-sts", os.path.join(stsb, "sts-dev.csv"), "--method",
                     "lora", "--lr", "5e-3", "--loss", "cosent", "--out", d] + common)
    s = json.loads(out)
    res["sts"] = {"method": "lora", "loss": "cosent", "before": s["eval_before"], "after": s["eval_after"],
                  "wall_seconds": secs}
    print(f"STS lora: Spearman {s['eval_before']['sts_spearman']:.4f} -> {s['eval_after']['sts_spearman']:.4f}")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    base = os.path.join(ROOT, "bench", "results", "embed_train_methods")
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=1)
    b = res["bm25"]
    lines = [f"# peft train --task embedding: every method on manpages-ir (stories260K, mean pooling)", "",
             f"CPU: {cpu}, {res['cores']} cores shared (load {res['loadavg_before'][0]:.1f} at start). "
             f"{a.steps} steps of 16 (query, page) pairs from qrels/train.tsv, 64 tokens per text, LoRA-family rank 8 "
             "on q,k,v,o,up,down, loss mnrl; evaluated on qrels/test.tsv (216 queries, 1100 pages).", "",
             "| method | lr | trainable | nDCG@10 before → after | MRR@10 before → after | Recall@10 before → after | texts/s |",
             "|---|---|---|---|---|---|---|"]
    for r in res["retrieval"]:
        bf, af = r["before"], r["after"]
        lines.append(f"| {r['method']} | {r['lr']:g} | {r['trainable_parameters']:,} | {bf['ndcg@10']:.4f} → "
                     f"{af['ndcg@10']:.4f} | {bf['mrr@10']:.4f} → {af['mrr@10']:.4f} | {bf['recall@10']:.4f} → "
                     f"{af['recall@10']:.4f} | {r['texts_per_second']:.1f} |")
    lines.append(f"| BM25 (no model) | | | {b['ndcg@10']:.4f} | {b['mrr@10']:.4f} | {b['recall@10']:.4f} | |")
    st = res["sts"]
    lines += ["", f"STS-B (sts-train.csv → sts-dev.csv), LoRA + CoSENT, {a.steps} steps of 16 pairs: Spearman "
              f"{st['before']['sts_spearman']:.4f} → {st['after']['sts_spearman']:.4f}, Pearson "
              f"{st['before']['sts_pearson']:.4f} → {st['after']['sts_pearson']:.4f}.", ""]
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
