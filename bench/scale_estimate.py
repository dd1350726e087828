#!/usr/bin/env python3
"""Estimates data-parallel scaling to 8 and 64 machines (docs/scale-out.md).

Not a measurement: a model fed with two measured numbers. From
bench/results/scale_out.json it takes the single-rank tokens/s of the dim
768 shape and turns it into this CPU's effective FLOP/s per core; the
communication volume per step is what peft.cpp all-reduces: 4 bytes per
trainable parameter (f32 gradients), as summary.json's
allreduce_bytes_per_step reports.

  step compute  = tokens per machine per step x FLOPs per token / machine FLOP/s
  FLOPs/token   = 6 P (full: forward 2P, input and weight gradients 4P),
                  4 P (LoRA: no weight gradients for the frozen base)
  all-reduce    = 2 (M-1)/M x S / bandwidth + 2 (M-1) x latency x buckets
                  (ring all-reduce, Open MPI's choice for large messages;
                  S = gradient bytes, buckets of 32 MiB)
  efficiency    = compute / (compute + all-reduce)   (no overlap with backward)

Usage: python3 bench/scale_estimate.py [bench/results/scale_out.json]
"""
import json
import sys

CORES_PER_MACHINE = 32          # assumed machine: 32 cores of this CPU
TOKENS_PER_MACHINE = 8 * 2048   # per step: 8 sequences of 2048 tokens per machine
LATENCY_S = 50e-6               # per message on a TCP network
BUCKET = 32 << 20

def llama_params(dim, layers, hidden, vocab, kv_dim):
    per_layer = 2 * dim * dim + 2 * dim * kv_dim + 3 * dim * hidden
    return layers * per_layer + vocab * dim  # output head; the embedding has no matmul

def lora_params(dim, layers, hidden, kv_dim, r=16):
    # all linear layers: q, k, v, o, gate, up, down; r x (in + out) each
    per_layer = r * ((dim + dim) + 2 * (dim + kv_dim) + (dim + dim) + 3 * (dim + hidden))
    return layers * per_layer

MODELS = {
    # name: dim, layers, hidden, vocab, kv_dim, total parameters
    "1B (TinyLlama 1.1B shape)": (2048, 22, 5632, 32000, 256, 1.10e9),
    "7B (Llama 2 7B shape)": (4096, 32, 11008, 32000, 4096, 6.74e9),
}

def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/scale_out.json"
    rows = json.load(open(path))
    s3 = next(r for r in rows if r["shape"] == "s3" and r["ranks"] == 1)
    p_s3 = llama_params(768, 12, 2048, 32000, 768)
    core_flops = s3["tokens_per_second"] * 4 * p_s3  # LoRA run: 4P per token
    machine_flops = core_flops * CORES_PER_MACHINE
    print(f"measured: dim 768 LoRA, 1 rank x 1 thread: {s3['tokens_per_second']:.0f} tokens/s "
          f"= {core_flops/1e9:.1f} GFLOP/s per core; assumed machine: {CORES_PER_MACHINE} cores "
          f"= {machine_flops/1e12:.2f} TFLOP/s; {TOKENS_PER_MACHINE} tokens per machine per step\n")
    print("| model | method | gradient bytes/step | compute/step | machines | network | all-reduce | efficiency | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (dim, layers, hidden, vocab, kv, total) in MODELS.items():
        for method in ("LoRA r16 all-linear", "full"):
            trainable = lora_params(dim, layers, hidden, kv) if method != "full" else total
            flops_tok = (4 if method != "full" else 6) * total
            compute = TOKENS_PER_MACHINE * flops_tok / machine_flops
            S = 4 * trainable
            buckets = max(1, -(-S // BUCKET))
            for m in (8, 64):
                for gbit in (10, 100):
                    bw = gbit * 1e9 / 8
                    comm = 2 * (m - 1) / m * S / bw + 2 * (m - 1) * LATENCY_S * buckets
                    eff = compute / (compute + comm)
                    print(f"| {name} | {method} | {S/1e6:,.0f} MB | {compute:,.0f} s | {m} | {gbit} Gb/s | "
                          f"{comm:,.2f} s | {100*eff:.1f}% | {m*eff:.1f}x |")

if __name__ == "__main__":
    main()
