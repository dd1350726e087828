#!/usr/bin/python3
"""`peft embed` throughput (texts/s) against a PyTorch implementation of the
same encoder, in the same run, on the all-MiniLM-L6-v2 and bge-small-en-v1.5
shapes with random weights (no pretrained weights can be downloaded here).

For each shape the script writes a sentence-transformers folder (config.json,
model.safetensors written by hand from the format's definition, bge-small's
real WordPiece tokenizer.json, modules.json, 1_Pooling, 2_Normalize,
sentence_bert_config.json), takes the first N documents of
../shared/data/manpages-ir/corpus.jsonl (BEIR: title + " " + text), and runs

  peft embed --model DIR --input texts.jsonl --out peft.npy --json --threads THREADS

then the PyTorch reference on the same texts: its own BERT WordPiece
tokenizer (below, written from the BERT paper's description: clean, lower
case, strip accents, split on whitespace and punctuation, greedy longest-match
word pieces with "##"), the encoder math of make_bert_goldens.py in float32
under torch.no_grad, the same length-sorted batching, mean or CLS pooling and
L2 normalisation. Both use THREADS threads, the same batch size, the same
maximum length (the folder's max_seq_length) and the same batches (texts
sorted longest first, stable). The PyTorch timing covers the forward passes
only: its pure-Python tokenizer runs once before the timed region (its time
is reported on its own), so the comparison is the encoder against the
encoder. peft's texts_per_second, measured inside the command, covers its
own (C++) tokenization too, so peft is the side that pays extra. The two
outputs are compared as a sanity check: they agree to float rounding when
the two tokenizers agree on every text.

BLAS: Debian's python3-torch does its GEMMs through the system libblas.so.3,
which on a machine without an optimised BLAS installed is netlib's reference
implementation (one thread, no blocking: ~0.5 GFLOP/s here, 30-40x slower
than OpenBLAS on the same core; the cause of the earlier >9 minutes for 200
MiniLM texts). The script therefore runs its PyTorch part with Debian's
OpenBLAS (libopenblas0-openmp): the installed one when there is one, else
the package unpacked into bench/out/openblas (apt-get download + dpkg-deb,
nothing installed), through LD_LIBRARY_PATH for the PyTorch process only.
OPENBLAS_CORETYPE is left to OpenBLAS's own choice unless --coretype is
given (SkylakeX kernels need AVX-512; on an AVX2 machine they crash). The
peft subprocesses get the environment without these variables; peft does
its products with oneDNN, not BLAS. The BLAS PyTorch loaded is recorded in
the results.

Usage: /usr/bin/python3 bench/embed_bench.py [--texts N] [--threads T] [--peft build/bin/peft] [--coretype NAME]
Writes bench/results/embed_bench.json and .md.
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
import unicodedata

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_bert_goldens as g  # noqa: E402  (encoder math and the splitmix64 draws)
import torch_blas  # noqa: E402  (OpenBLAS for the PyTorch process)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("PEFT_SHARED", os.path.join(ROOT, "..", "shared"))

SHAPES = [
    # name, layers, pooling, max_seq_length
    ("all-MiniLM-L6-v2", 6, "mean", 256),
    ("bge-small-en-v1.5", 12, "cls", 512),
]


# ---------------------------------------------------------------- model folder
def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_folder(out, name, layers, pooling, max_len, vocab):
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)
    s = g.Spec(name, "bert", layers, pooling, "", vocab=vocab)
    W = {}
    for seed, (tname, shape, offset, scale) in enumerate(g.tensor_plan(s), start=1):
        W[tname] = g.draw(seed, shape, offset, scale)
    write_safetensors(os.path.join(out, "model.safetensors"), W)
    cfg = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab, "hidden_size": 384,
           "num_hidden_layers": layers, "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
           "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
           "position_embedding_type": "absolute"}
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=1)
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
              open(os.path.join(out, "modules.json"), "w"))
    json.dump({"word_embedding_dimension": 384, "pooling_mode": pooling},
              open(os.path.join(out, "1_Pooling", "config.json"), "w"))
    json.dump({"max_seq_length": max_len}, open(os.path.join(out, "sentence_bert_config.json"), "w"))
    tok = open(os.path.join(SHARED, "hf", "bge-small-en-v1.5", "tokenizer.json")).read()
    open(os.path.join(out, "tokenizer.json"), "w").write(tok)
    return s, W


# ---------------------------------------------------------------- tokenizer
class WordPiece:
    def __init__(self, tokenizer_json):
        j = json.load(open(tokenizer_json))
        self.vocab = j["model"]["vocab"]
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]

    @staticmethod
    def _is_punct(ch):
        cp = ord(ch)
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        return unicodedata.category(ch).startswith("P")

    def words(self, text):
        out, cur = [], []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            if ch.isspace():
                if cur:
                    out.append("".join(cur))
                    cur = []
                continue
            if (0x4E00 <= cp <= 0x9FFF) or self._is_punct(ch):
                if cur:
                    out.append("".join(cur))
                    cur = []
                out.append(ch)
                continue
            cur.append(ch)
        if cur:
            out.append("".join(cur))
        res = []
        for w in out:
            w = unicodedata.normalize("NFD", w.lower())
            w = "".join(c for c in w if unicodedata.category(c) != "Mn")
            if w:
                res.append(w)
        return res

    def encode(self, text, max_len):
        ids = []
        for w in self.words(text):
            if len(w) > 100:
                ids.append(self.unk)
                continue
            start, pieces = 0, []
            while start < len(w):
                end, found = len(w), None
                while start < end:
                    sub = w[start:end] if start == 0 else "##" + w[start:end]
                    if sub in self.vocab:
                        found = self.vocab[sub]
                        break
                    end -= 1
                if found is None:
                    pieces = [self.unk]
                    break
                pieces.append(found)
                start = end
            ids.extend(pieces)
            if len(ids) >= max_len:
                break
        return [self.cls] + ids[: max_len - 2] + [self.sep]


# ---------------------------------------------------------------- torch side
def encoder32(s, W, ids, mask):
    """make_bert_goldens.encoder in float32 (as users run it), bert positions, type ids 0."""
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
        lin = lambda t, name: torch.nn.functional.linear(t, W[p + name + ".weight"], W[p + name + ".bias"])
        heads = lambda t: t.view(B, T, nh, hd).transpose(1, 2)
        q, k, v = (heads(lin(x, n)) for n in ("attention.self.query", "attention.self.key", "attention.self.value"))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + add, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, T, C)
        x = ln(lin(a, "attention.output.dense") + x, (C,), W[p + "attention.output.LayerNorm.weight"],
               W[p + "attention.output.LayerNorm.bias"], s.eps)
        h = torch.nn.functional.gelu(lin(x, "intermediate.dense"))
        x = ln(lin(h, "output.dense") + x, (C,), W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"],
               s.eps)
    return x


def torch_embed(s, W32, ids, batch):
    """Embeddings of pre-tokenized texts, batched as peft embed batches them:
    longest first (stable), batches of `batch`, right-padded. Returns the
    embeddings in input order and the seconds of the forward passes."""
    Wt = {k: torch.from_numpy(v) for k, v in W32.items()}
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    t0 = time.perf_counter()
    out = np.zeros((len(ids), 384), dtype=np.float32)
    with torch.no_grad():
        for b0 in range(0, len(order), batch):
            rows = order[b0:b0 + batch]
            T = max(len(ids[i]) for i in rows)
            x = torch.zeros((len(rows), T), dtype=torch.long)
            m = torch.zeros((len(rows), T), dtype=torch.float32)
            for r, i in enumerate(rows):
                x[r, :len(ids[i])] = torch.tensor(ids[i])
                m[r, :len(ids[i])] = 1
            h = encoder32(s, Wt, x, m)
            if s.pooling == "cls":
                e = h[:, 0]
            else:
                e = (h * m.unsqueeze(-1)).sum(1) / m.sum(1, keepdim=True)
            e = torch.nn.functional.normalize(e, dim=-1)
            out[rows] = e.numpy()
    secs = time.perf_counter() - t0
    return out, secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--texts", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--peft", default=os.path.join(ROOT, "build", "bin", "peft"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "embed"))
    ap.add_argument("--coretype", default="", help="OPENBLAS_CORETYPE for the PyTorch process (default: OpenBLAS's choice)")
    a = ap.parse_args()
    torch_blas.reexec_with_openblas(a.threads, a.coretype)
    torch.set_num_threads(a.threads)
    peft_env = torch_blas.clean_env()
    os.makedirs(a.out, exist_ok=True)
    docs = [json.loads(l) for l in open(os.path.join(SHARED, "data", "manpages-ir", "corpus.jsonl"))][: a.texts]
    texts = [(d.get("title") + " " + d["text"]) if d.get("title") else d["text"] for d in docs]
    inp = os.path.join(a.out, "texts.jsonl")
    with open(inp, "w") as f:
        for d in docs:
            f.write(json.dumps({"_id": d["_id"], "title": d.get("title", ""), "text": d["text"]}) + "\n")
    load = os.getloadavg()
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu, "cores": os.cpu_count(),
               "threads": a.threads, "loadavg_before": load, "texts": len(texts), "batch_size": a.batch_size,
               "python": platform.python_version(), "torch": torch.__version__, "torch_blas": torch_blas.loaded_blas(),
               "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "(OpenBLAS's choice)"), "shapes": []}
    for name, layers, pooling, max_len in SHAPES:
        d = os.path.join(a.out, name)
        vocab = 30522
        s, W = make_folder(d, name, layers, pooling, max_len, vocab)
        s.pooling = pooling
        npy = os.path.join(a.out, name + ".peft.npy")
        r = subprocess.run([a.peft, "embed", "--model", d, "--input", inp, "--out", npy, "--json", "--threads",
                            str(a.threads), "--batch-size", str(a.batch_size), "--max-length", str(max_len)],
                           capture_output=True, text=True, env=peft_env)
        if r.returncode != 0:
            sys.exit("peft embed failed: " + r.stderr)
        pj = json.loads(r.stdout)
        ours = np.load(npy)
        tok = WordPiece(os.path.join(d, "tokenizer.json"))
        t0 = time.perf_counter()
        ids = [tok.encode(t, max_len) for t in texts]  # outside the timed region
        tok_secs = time.perf_counter() - t0
        ref, secs = torch_embed(s, W, ids, a.batch_size)
        diff = float(np.abs(ours - ref).max())
        row = {"shape": name, "layers": layers, "pooling": pooling, "max_seq_length": max_len,
               "tokens": sum(len(i) for i in ids), "peft_texts_per_s": pj["texts_per_second"],
               "torch_texts_per_s": len(texts) / secs, "torch_seconds": secs, "python_tokenizer_seconds": tok_secs,
               "max_abs_diff": diff, "loadavg": os.getloadavg()}
        print(json.dumps(row))
        results["shapes"].append(row)
    results["loadavg_after"] = os.getloadavg()
    res_dir = os.path.join(ROOT, "bench", "results")
    os.makedirs(res_dir, exist_ok=True)
    json.dump(results, open(os.path.join(res_dir, "embed_bench.json"), "w"), indent=1)
    with open(os.path.join(res_dir, "embed_bench.md"), "w") as f:
        f.write("# peft embed vs PyTorch: texts/s (bench/embed_bench.py)\n\n")
        f.write(f"{results['date']}. CPU: {cpu}, {os.cpu_count()} cores shared with other work; {a.threads} threads "
                f"each; {len(texts)} manpages-ir documents; batch {a.batch_size}, same length-sorted batches and "
                f"maximum length on both sides; load average before {load[0]:.2f}, after "
                f"{results['loadavg_after'][0]:.2f}. PyTorch {torch.__version__} float32 under no_grad, BLAS "
                f"`{results['torch_blas']}` (OPENBLAS_CORETYPE {results['openblas_coretype']}); its timing "
                f"excludes its pure-Python tokenizer (run before, time in the last column), peft's includes its "
                f"own tokenization.\n\n")
        f.write("| shape | max tokens | tokens | peft embed texts/s | PyTorch texts/s | peft / PyTorch | max abs diff "
                "| Python tokenizer s |\n|---|---|---|---|---|---|---|---|\n")
        for row in results["shapes"]:
            f.write(f"| {row['shape']} ({row['layers']} layers, {row['pooling']}) | {row['max_seq_length']} | "
                    f"{row['tokens']} | {row['peft_texts_per_s']:.1f} | {row['torch_texts_per_s']:.1f} | "
                    f"{row['peft_texts_per_s'] / row['torch_texts_per_s']:.2f} | {row['max_abs_diff']:.2g} | "
                    f"{row['python_tokenizer_seconds']:.1f} |\n")


if __name__ == "__main__":
    main()
