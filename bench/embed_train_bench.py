#!/usr/bin/python3
"""`peft train --task embedding` training throughput (tokens/s) against a
PyTorch implementation of the same training step, in the same run, on the
all-MiniLM-L6-v2 and bge-small-en-v1.5 shapes with random weights (no
pretrained encoder weights can be downloaded here).

The step: a batch of 16 (query, man page) pairs from
../shared/data/manpages-ir (qrels/train.tsv), the 32 texts embedded as one
right-padded batch of at most --max-length tokens (WordPiece, [CLS] … [SEP]),
the model's pooling (MiniLM mean, BGE CLS) and L2 normalisation, the mnrl
loss (in-batch negatives, scale 20), backward, AdamW; LoRA rank 8 on the
query and value projections (PEFT's default targets), base frozen.

peft: `peft train --task embedding --method lora --loss mnrl` on a folder
written here (config.json, model.safetensors with make_bert_goldens.py's
splitmix64 weights, bge-small's real tokenizer.json, modules.json,
1_Pooling, 2_Normalize); its summary.json's tokens_per_second is measured
inside the training loop (no load, no evaluation). PyTorch: the encoder of
make_bert_goldens.py in float32 with LoRA added to q and v, torch.autograd
for the backward, torch.optim.AdamW; token ids from `peft tokenize` (the
same tokenizer, so both sides see the same tokens), timed over the same
number of steps. 96 pairs = 6 steps of 16 = one epoch, so both sides
process exactly the same texts (peft in its shuffled order; every batch
holds a man page longer than --max-length, so both sides pad every batch to
--max-length and the order changes no work: the PyTorch side checks this).
PyTorch runs on Debian's OpenBLAS, not the netlib reference BLAS that its
libblas.so.3 points to when nothing better is installed (bench/torch_blas.py
says why and how); peft gets the environment without it.

Usage: /usr/bin/python3 bench/embed_train_bench.py [--threads 2] [--max-length 128] [--peft build/bin/peft]
Writes bench/results/embed_train_bench.json and .md.
"""
import argparse
import json
import math
import os
import platform
import struct
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_bert_goldens as g  # noqa: E402  (tensor plan and the splitmix64 draws)
import torch_blas  # noqa: E402  (OpenBLAS for the PyTorch process)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("PEFT_SHARED", os.path.join(ROOT, "..", "shared"))
SHAPES = [("all-MiniLM-L6-v2", 6, "mean"), ("bge-small-en-v1.5", 12, "cls")]
PAIRS, BATCH, RANK = 96, 16, 8


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def make_folder(out, name, layers, pooling):
    for sub in ("1_Pooling", "2_Normalize"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    s = g.Spec(name, "bert", layers, pooling, "", vocab=30522)
    W = {t: g.draw(seed, shape, off, sc) for seed, (t, shape, off, sc) in enumerate(g.tensor_plan(s), start=1)}
    write_safetensors(os.path.join(out, "model.safetensors"), W)
    cfg = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": s.vocab, "hidden_size": s.hidden,
           "num_hidden_layers": layers, "num_attention_heads": s.heads, "intermediate_size": s.inter,
           "hidden_act": "gelu", "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": s.eps,
           "pad_token_id": 0, "position_embedding_type": "absolute"}
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"))
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
              open(os.path.join(out, "modules.json"), "w"))
    json.dump({"word_embedding_dimension": s.hidden, "pooling_mode_cls_token": pooling == "cls",
               "pooling_mode_mean_tokens": pooling == "mean"}, open(os.path.join(out, "1_Pooling", "config.json"), "w"))
    json.dump({"max_seq_length": 512}, open(os.path.join(out, "sentence_bert_config.json"), "w"))
    with open(os.path.join(SHARED, "hf", "bge-small-en-v1.5", "tokenizer.json")) as src, \
            open(os.path.join(out, "tokenizer.json"), "w") as dst:
        dst.write(src.read())
    return s, W


class LoraEncoder(torch.nn.Module):
    """make_bert_goldens.encoder in float32 with LoRA on query and value:
    y = x W^T + b + (alpha / r) · (x A^T) B^T, A ~ kaiming-uniform, B = 0."""

    def __init__(self, s, W):
        super().__init__()
        self.s = s
        self.W = {k: torch.from_numpy(v) for k, v in W.items()}  # frozen base
        self.lora = torch.nn.ParameterDict()
        for l in range(s.layers):
            for part in ("query", "value"):
                a = torch.empty(RANK, s.hidden)
                torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))
                self.lora[f"{l}_{part}_A"] = torch.nn.Parameter(a)
                self.lora[f"{l}_{part}_B"] = torch.nn.Parameter(torch.zeros(s.hidden, RANK))

    def forward(self, ids, mask):
        s, W = self.s, self.W
        B, T = ids.shape
        C, nh = s.hidden, s.heads
        hd = C // nh
        ln = torch.nn.functional.layer_norm
        x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.token_type_embeddings.weight"][0] + \
            W["embeddings.position_embeddings.weight"][:T].unsqueeze(0)
        x = ln(x, (C,), W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], s.eps)
        add = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        for l in range(s.layers):
            p = f"encoder.layer.{l}."

            def lin(t, name, lora=None):
                y = torch.nn.functional.linear(t, W[p + name + ".weight"], W[p + name + ".bias"])
                if lora:
                    y = y + (t @ self.lora[f"{l}_{lora}_A"].t()) @ self.lora[f"{l}_{lora}_B"].t()
                return y

            heads = lambda t: t.view(B, T, nh, hd).transpose(1, 2)
            q = heads(lin(x, "attention.self.query", "query"))
            k = heads(lin(x, "attention.self.key"))
            v = heads(lin(x, "attention.self.value", "value"))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + add, dim=-1) @ v
            a = a.transpose(1, 2).reshape(B, T, C)
            x = ln(lin(a, "attention.output.dense") + x, (C,), W[p + "attention.output.LayerNorm.weight"],
                   W[p + "attention.output.LayerNorm.bias"], s.eps)
            h = torch.nn.functional.gelu(lin(x, "intermediate.dense"))
            x = ln(lin(h, "output.dense") + x, (C,), W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"],
                   s.eps)
        if s.pooling == "cls":
            e = x[:, 0]
        else:
            e = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        return torch.nn.functional.normalize(e, dim=-1)


def torch_train(s, W, pairs_ids, lr):
    model = LoraEncoder(s, W)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    tokens = padded = 0
    t0 = time.perf_counter()
    losses = []
    for b0 in range(0, len(pairs_ids), BATCH):
        rows = pairs_ids[b0:b0 + BATCH]
        texts = [q for q, _ in rows] + [d for _, d in rows]  # column 0 (queries) then column 1, as peft batches
        T = max(len(t) for t in texts)
        ids = torch.zeros((len(texts), T), dtype=torch.long)
        mask = torch.zeros((len(texts), T), dtype=torch.float32)
        for r, t in enumerate(texts):
            ids[r, :len(t)] = torch.tensor(t)
            mask[r, :len(t)] = 1
        tokens += sum(len(t) for t in texts)
        padded += len(texts) * T
        e = model(ids, mask)
        n = len(rows)
        scores = 20.0 * e[:n] @ e[n:].t()
        loss = torch.nn.functional.cross_entropy(scores, torch.arange(n))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss))
    secs = time.perf_counter() - t0
    return tokens / secs, secs, tokens, padded, losses


def peft_ids(peft, folder, text, max_len):
    p = subprocess.run([peft, "tokenize", "--tokenizer", folder, "--text", text, "--max-length", str(max_len),
                        "--json"], capture_output=True, text=True, check=True, env=torch_blas.clean_env())
    return json.loads(p.stdout)["ids"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--peft", default=os.path.join(ROOT, "build", "bin", "peft"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "embed_train"))
    ap.add_argument("--coretype", default="", help="OPENBLAS_CORETYPE for the PyTorch process (default: OpenBLAS's choice)")
    a = ap.parse_args()
    torch_blas.reexec_with_openblas(a.threads, a.coretype)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    ir = os.path.join(SHARED, "data", "manpages-ir")
    corpus = {}
    for line in open(os.path.join(ir, "corpus.jsonl")):
        d = json.loads(line)
        corpus[d["_id"]] = (d["title"] + " " + d["text"]) if d.get("title") else d["text"]
    queries = {json.loads(l)["_id"]: json.loads(l)["text"] for l in open(os.path.join(ir, "queries.jsonl"))}
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(ir, "qrels", "train.tsv"))][1:]
    pairs = [(queries[q], corpus[d]) for q, d, g_ in rows if int(g_) > 0][:PAIRS]
    data = os.path.join(a.out, "pairs.jsonl")
    with open(data, "w") as f:
        for q, d in pairs:
            f.write(json.dumps({"anchor": q, "positive": d}) + "\n")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu, "cores": os.cpu_count(),
           "torch_blas": torch_blas.loaded_blas(),
           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "(OpenBLAS's choice)"), "threads": a.threads, "loadavg_before": os.getloadavg(), "pairs": len(pairs), "batch": BATCH,
           "steps": len(pairs) // BATCH, "max_length": a.max_length, "method": f"lora r{RANK} on query, value",
           "loss": "mnrl", "python": platform.python_version(), "torch": torch.__version__, "shapes": []}
    for name, layers, pooling in SHAPES:
        folder = os.path.join(a.out, name)
        s, W = make_folder(folder, name, layers, pooling)
        s.pooling = pooling
        run_dir = os.path.join(a.out, name + ".run")
        cmd = [a.peft, "train", "--task", "embedding", "--model", folder, "--data", data, "--method", "lora",
               "--rank", str(RANK), "--targets", "q,v", "--loss", "mnrl", "--batch-size", str(BATCH), "--steps",
               str(len(pairs) // BATCH), "--lr", "1e-4", "--max-length", str(a.max_length), "--threads",
               str(a.threads), "--out", run_dir, "--json", "--quiet"]
        p = subprocess.run(cmd, capture_output=True, text=True, env=torch_blas.clean_env())
        if p.returncode != 0:
            raise SystemExit(p.stderr)
        ps = json.loads(p.stdout)
        ids = [(peft_ids(a.peft, folder, q, a.max_length), peft_ids(a.peft, folder, d, a.max_length)) for q, d in pairs]
        tps, secs, tokens, padded, losses = torch_train(s, W, ids, 1e-4)
        r = {"shape": name, "layers": layers, "pooling": pooling, "peft_tokens_per_second": ps["tokens_per_second"],
             "peft_texts_per_second": ps["texts_per_second"], "peft_tokens": ps["tokens"], "peft_seconds": ps["seconds"],
             "torch_tokens_per_second": tps, "torch_tokens": tokens, "torch_seconds": secs,
             "torch_texts_per_second": 2 * len(pairs) / secs, "torch_padded_tokens": padded,
             "every_batch_padded_to_max_length": padded == 2 * len(pairs) * a.max_length,
             "loadavg": os.getloadavg()}
        res["shapes"].append(r)
        print(json.dumps(r), flush=True)
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    base = os.path.join(ROOT, "bench", "results", "embed_train_bench")
    json.dump(res, open(base + ".json", "w"), indent=1)
    lines = ["# peft train --task embedding vs PyTorch: training tokens/s", "",
             f"{res['date']}. CPU: {cpu}, {a.threads} threads each (load {res['loadavg_before'][0]:.1f} at start, "
             f"{res['shapes'][-1]['loadavg'][0]:.1f} at the end; {os.cpu_count()} cores shared with other work). {len(pairs)} (query, man page) pairs, batches of {BATCH} (32 texts), at most "
             f"{a.max_length} tokens a text, LoRA r{RANK} on query/value, mnrl, AdamW; random weights of the shapes. "
             f"PyTorch {torch.__version__} float32, autograd, BLAS `{res['torch_blas']}` "
             f"(OPENBLAS_CORETYPE {res['openblas_coretype']}). Every batch padded to {a.max_length} tokens on the "
             f"PyTorch side: {all(r['every_batch_padded_to_max_length'] for r in res['shapes'])}.", "",
             "| shape | peft tokens/s | PyTorch tokens/s | peft / PyTorch | peft texts/s | PyTorch texts/s |",
             "|---|---|---|---|---|---|"]
    for r in res["shapes"]:
        lines.append(f"| {r['shape']} | {r['peft_tokens_per_second']:.0f} | {r['torch_tokens_per_second']:.0f} | "
                     f"{r['peft_tokens_per_second'] / r['torch_tokens_per_second']:.2f} | "
                     f"{r['peft_texts_per_second']:.1f} | {r['torch_texts_per_second']:.1f} |")
    lines.append("")
    open(base + ".md", "w").write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
