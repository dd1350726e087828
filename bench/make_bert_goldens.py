#!/usr/bin/python3
"""Golden embeddings for the BERT-family encoders, from an independent
PyTorch implementation (no transformers, no sentence-transformers).

The encoder math below is written from transformers' modeling_bert.py and
modeling_xlm_roberta.py (BertEmbeddings, BertSelfAttention, BertSelfOutput,
BertIntermediate, BertOutput; XLM-R's create_position_ids_from_input_ids)
and sentence-transformers' Pooling and Normalize modules, and runs in float64.

Weights of the full model shapes do not fit in tests/data (all-MiniLM-L6-v2
alone is 90 MB), so they are not stored: every tensor is drawn from a
counter-based generator (splitmix64 of tensor seed and element index, below)
that the C++ test reproduces bit for bit. The script writes, per model, a
sentence-transformers folder without weights (config.json, modules.json,
1_Pooling/config.json, 2_Normalize/, sentence_bert_config.json,
config_sentence_transformers.json), weights.json (each tensor's
transformers name, shape, seed, offset and scale) and expected.json (token
id sequences and their pooled, normalised embeddings, also truncated to 128
dimensions). The test regenerates the tensors, writes model.safetensors
into a copy of the folder and loads it with the real loader.

Shapes: all-MiniLM-L6-v2 (bert, 6 layers, hidden 384, 12 heads, intermediate
1536, mean pooling, normalised), bge-small-en-v1.5 (bert, 12 layers, CLS
pooling, normalised) and multilingual-e5-small (xlm-roberta, 12 layers,
mean pooling, normalised; tensors under the "roberta." prefix). The
vocabulary is cut to 1000 rows to keep the test's temporary files small;
every other dimension is the real one.

Usage: /usr/bin/python3 bench/make_bert_goldens.py [out_dir=tests/data/bert]
"""
import json
import math
import os
import sys

import numpy as np
import torch

MASK64 = (1 << 64) - 1


def splitmix_uniform(seed, n):
    """u_i in [0, 1): splitmix64's finaliser of z = (seed << 32) + i + 1,
    top 53 bits. numpy's uint64 arithmetic wraps, as C++'s does."""
    z = (np.uint64(seed) << np.uint64(32)) + np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def draw(seed, shape, offset, scale):
    """float32 values offset + scale * (2u - 1), computed in double and rounded once."""
    n = int(np.prod(shape))
    v = offset + scale * (2.0 * splitmix_uniform(seed, n) - 1.0)
    return v.astype(np.float32).reshape(shape)


class Spec:
    def __init__(self, name, arch, layers, pooling, prefix, vocab=1000):
        self.name, self.arch, self.layers, self.pooling, self.prefix = name, arch, layers, pooling, prefix
        self.vocab = vocab
        self.hidden, self.heads, self.inter = 384, 12, 1536
        if arch == "bert":
            self.max_pos, self.types, self.eps, self.pad = 512, 2, 1e-12, 0
        else:
            self.max_pos, self.types, self.eps, self.pad = 514, 1, 1e-5, 1


def tensor_plan(s):
    """(transformers name, shape, offset, scale) for every tensor, in a fixed order."""
    C, H = s.hidden, s.inter
    plan = [
        ("embeddings.word_embeddings.weight", (s.vocab, C), 0.0, 0.8),
        ("embeddings.position_embeddings.weight", (s.max_pos, C), 0.0, 0.3),
        ("embeddings.token_type_embeddings.weight", (s.types, C), 0.0, 0.3),
        ("embeddings.LayerNorm.weight", (C,), 1.0, 0.2),
        ("embeddings.LayerNorm.bias", (C,), 0.0, 0.1),
    ]
    # Uniform(±a) with a = sqrt(3 / fan_in) gives outputs of unit variance, so
    # attention scores are of order 1 and softmax is far from uniform.
    for l in range(s.layers):
        p = f"encoder.layer.{l}."
        for part, fin, fout in [
            ("attention.self.query", C, C),
            ("attention.self.key", C, C),
            ("attention.self.value", C, C),
            ("attention.output.dense", C, C),
        ]:
            plan.append((p + part + ".weight", (fout, fin), 0.0, math.sqrt(3.0 / fin)))
            plan.append((p + part + ".bias", (fout,), 0.0, 0.1))
            if part == "attention.output.dense":
                plan.append((p + "attention.output.LayerNorm.weight", (C,), 1.0, 0.2))
                plan.append((p + "attention.output.LayerNorm.bias", (C,), 0.0, 0.1))
        plan.append((p + "intermediate.dense.weight", (H, C), 0.0, math.sqrt(3.0 / C)))
        plan.append((p + "intermediate.dense.bias", (H,), 0.0, 0.1))
        plan.append((p + "output.dense.weight", (C, H), 0.0, math.sqrt(3.0 / H)))
        plan.append((p + "output.dense.bias", (C,), 0.0, 0.1))
        plan.append((p + "output.LayerNorm.weight", (C,), 1.0, 0.2))
        plan.append((p + "output.LayerNorm.bias", (C,), 0.0, 0.1))
    return plan


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased, as nn.LayerNorm
    return (x - mu) / torch.sqrt(var + eps) * w + b


def encoder(s, W, ids, mask, types):
    """BertModel / XLMRobertaModel last_hidden_state, float64. ids, mask, types: [B, T]."""
    B, T = ids.shape
    if s.arch == "bert":
        pos = torch.arange(T).unsqueeze(0).expand(B, T)
    else:
        real = (ids != s.pad).long()
        pos = torch.cumsum(real, dim=1) * real + s.pad
    e = W["embeddings.word_embeddings.weight"][ids]
    e = e + W["embeddings.token_type_embeddings.weight"][types]
    e = e + W["embeddings.position_embeddings.weight"][pos]
    x = layer_norm(e, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"], s.eps)
    nh, hd = s.heads, s.hidden // s.heads
    # The extended attention mask: 0 for tokens, the dtype's minimum for padding,
    # added to every query row's scores.
    add = (1.0 - mask.to(torch.float64))[:, None, None, :] * torch.finfo(torch.float64).min
    for l in range(s.layers):
        p = f"encoder.layer.{l}."
        lin = lambda t, name: t @ W[p + name + ".weight"].T + W[p + name + ".bias"]
        heads = lambda t: t.view(B, T, nh, hd).transpose(1, 2)  # [B, nh, T, hd]
        q = heads(lin(x, "attention.self.query"))
        k = heads(lin(x, "attention.self.key"))
        v = heads(lin(x, "attention.self.value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + add
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, s.hidden)
        x = layer_norm(lin(ctx, "attention.output.dense") + x, W[p + "attention.output.LayerNorm.weight"],
                       W[p + "attention.output.LayerNorm.bias"], s.eps)
        h = lin(x, "intermediate.dense")
        h = 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0)))  # exact GELU
        x = layer_norm(lin(h, "output.dense") + x, W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"],
                       s.eps)
    return x


def pool(s, hidden, mask):
    if s.pooling == "cls":
        return hidden[:, 0]
    m = mask.to(torch.float64).unsqueeze(-1)
    return (hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)


def normalize(x):
    return x / torch.clamp(x.norm(dim=1, keepdim=True), min=1e-12)


def sequences(s):
    """Token ids of different lengths, [CLS] ... [SEP] style, no pad id inside."""
    rng = np.random.default_rng(1234)
    cls_id, sep_id = (101, 102) if s.arch == "bert" else (0, 2)
    out = []
    for n in [1, 5, 17, 64, 3, 33]:
        body = rng.integers(5, s.vocab, size=n).tolist()
        out.append([cls_id] + body + [sep_id])
    return out


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def make(s, out_root):
    out = os.path.join(out_root, s.name)
    plan = tensor_plan(s)
    W, manifest = {}, []
    for seed, (name, shape, offset, scale) in enumerate(plan, start=1):
        W[name] = torch.from_numpy(draw(seed, shape, offset, scale).astype(np.float64))
        manifest.append({"name": s.prefix + name, "shape": list(shape), "seed": seed, "offset": offset,
                         "scale": scale})
    seqs = sequences(s)
    B, T = len(seqs), max(len(q) for q in seqs)
    ids = torch.full((B, T), s.pad, dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    for i, q in enumerate(seqs):
        ids[i, : len(q)] = torch.tensor(q)
        mask[i, : len(q)] = 1
    types = torch.zeros_like(ids)
    with torch.no_grad():
        pooled = pool(s, encoder(s, W, ids, mask, types), mask)
        emb = normalize(pooled)
        emb128 = normalize(pooled[:, :128])
        # Each sequence alone (no padding) must give the same embedding.
        alone = [normalize(pool(s, encoder(s, W, ids[i:i + 1, : len(q)], mask[i:i + 1, : len(q)],
                                              types[i:i + 1, : len(q)]), mask[i:i + 1, : len(q)]))
                 for i, q in enumerate(seqs)]
    drift = max(float((a[0] - emb[i]).abs().max()) for i, a in enumerate(alone))
    print(f"{s.name}: {len(manifest)} tensors, batch {B}x{T}, reference padding drift {drift:.2e}")

    model_type = s.arch
    config = {"architectures": ["BertModel" if s.arch == "bert" else "XLMRobertaModel"], "model_type": model_type,
              "vocab_size": s.vocab, "hidden_size": s.hidden, "num_hidden_layers": s.layers,
              "num_attention_heads": s.heads, "intermediate_size": s.inter, "hidden_act": "gelu",
              "max_position_embeddings": s.max_pos, "type_vocab_size": s.types, "layer_norm_eps": s.eps,
              "pad_token_id": s.pad, "position_embedding_type": "absolute", "hidden_dropout_prob": 0.1,
              "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02}
    write_json(os.path.join(out, "config.json"), config)
    write_json(os.path.join(out, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    write_json(os.path.join(out, "1_Pooling", "config.json"), {
        "word_embedding_dimension": s.hidden, "pooling_mode_cls_token": s.pooling == "cls",
        "pooling_mode_mean_tokens": s.pooling == "mean", "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False, "include_prompt": True})
    os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)
    with open(os.path.join(out, "2_Normalize", ".keep"), "w") as f:
        f.write("")
    write_json(os.path.join(out, "sentence_bert_config.json"), {"max_seq_length": 256, "do_lower_case": False})
    prompts = {"query": "query: ", "passage": "passage: "} if s.arch != "bert" else {}
    write_json(os.path.join(out, "config_sentence_transformers.json"), {
        "prompts": prompts, "default_prompt_name": None, "similarity_fn_name": "cosine"})
    write_json(os.path.join(out, "weights.json"), {"generator": "splitmix64", "tensors": manifest})
    r = lambda t: [[float(f"{v:.9g}") for v in row] for row in t.tolist()]
    write_json(os.path.join(out, "expected.json"), {
        "sequences": seqs, "pooling": s.pooling, "normalize": True, "embeddings": r(emb),
        "truncate_dims": 128, "embeddings_truncated": r(emb128)})


def main():
    out_root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                                  "bert")
    torch.set_default_dtype(torch.float64)
    for s in [Spec("minilm-l6", "bert", 6, "mean", ""), Spec("bge-small", "bert", 12, "cls", ""),
              Spec("me5-small", "xlm-roberta", 12, "mean", "roberta.")]:
        make(s, out_root)


if __name__ == "__main__":
    main()
