#!/usr/bin/env python3
"""Estimates data-parallel scaling to 8 and 64 machines (docs/scale-out.md).

Not a measurement: a model fed with the communication volume peft.cpp
measures and an assumed machine speed. The volume per step is what
peft.cpp all-reduces: 4 bytes per trainable parameter (f32 gradients), as
summary.json's allreduce_bytes_per_step reports (bench/mpi.sh measured
2,101,248 bytes for the dim 288 model's 525,312 LoRA parameters). The
machine speed is an assumption (--machine-tflops): this shared 2-core
machine, under a load average above 20 when bench/mpi.sh ran, cannot
measure one.

  step compute  = tokens per machine per step x FLOPs per token / machine FLOP/s
  FLOPs/token   = 6 P (full: forward 2P, input and weight gradients 4P),
                  4 P (LoRA: no weight gradients for the frozen base)
  all-reduce    = 2 (M-1)/M x S / bandwidth + 2 (M-1) x latency x buckets
                  (ring all-reduce, Open MPI's choice for large messages;
                  S = gradient bytes, buckets of 32 MiB)
  efficiency    = compute / (compute + all-reduce)   (no overlap with backward)

Usage: python3 bench/scale_estimate.py [--machine-tflops 2.0]
"""
import json
import sys

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
    tflops = 2.0
    if len(sys.argv) > 2 and sys.argv[1] == "--machine-tflops":
        tflops = float(sys.argv[2])
    machine_flops = tflops * 1e12
    print(f"assumed machine: {tflops:g} TFLOP/s effective (e.g. 32 cores at ~60 GFLOP/s f32 each); "
          f"{TOKENS_PER_MACHINE} tokens per machine per step; {LATENCY_S*1e6:.0f} us per message\n")
    print("| model | method | gradient bytes/step | compute/step | machines | network | all-reduce | efficiency | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (dim, layers, hidden, vocab, kv, total) in MODELS.items():
        for method in ("LoRA r16 all-linear", "full"):
            trainable = lora_params(dim, layers, hidden, kv) if method != "full" else total
            flops_tok = (4 if method != "full" else 6) * total
            compute = TOKENS_PER_MACHINE * flops_tok / machine_flops
            S = 4 * trainable
            buckets = max(1, -(-int(S) // BUCKET))
            for m in (8, 64):
                for gbit in (10, 100):
                    bw = gbit * 1e9 / 8
                    comm = 2 * (m - 1) / m * S / bw + 2 * (m - 1) * LATENCY_S * buckets
                    eff = compute / (compute + comm)
                    print(f"| {name} | {method} | {S/1e6:,.0f} MB | {compute:,.0f} s | {m} | {gbit} Gb/s | "
                          f"{comm:,.2f} s | {100*eff:.1f}% | {m*eff:.1f}x |")


if __name__ == "__main__":
    main()
