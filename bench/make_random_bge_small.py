#!/usr/bin/python3
"""A sentence-transformers folder of bge-small-en-v1.5's shape with random
weights, for commands that need an encoder when no pretrained weights can
be downloaded (docs/evaluation.md's side-by-side table, manual checks).

Shape: bert, 12 layers, hidden 384, 12 heads, intermediate 1536, 512
positions, vocabulary 30522 (bge-small's real WordPiece tokenizer.json,
copied from ../shared/hf/bge-small-en-v1.5), CLS pooling, normalised, and
BGE's query instruction as the "query" prompt. Weights: N(0, 0.05^2),
LayerNorm scales 1 + N(0, 0.1^2), biases as the other weights; numpy's
default_rng(seed). Tensor names are Hugging Face's BertModel names. The
safetensors file is written from the format's definition (8-byte little-
endian header length, JSON header, raw little-endian float32 data).

Usage: /usr/bin/python3 bench/make_random_bge_small.py OUT_DIR [SEED=7] [SHARED=../shared]
"""
import json
import os
import shutil
import struct
import sys

import numpy as np

V, C, L, H, I, P = 30522, 384, 12, 12, 1536, 512
QUERY_PROMPT = "Represent this sentence for searching relevant passages: "


def tensors(rng):
    def w(*shape):
        return (0.05 * rng.standard_normal(shape)).astype(np.float32)

    def ln(prefix):
        return {prefix + ".weight": (1.0 + 0.1 * rng.standard_normal(C)).astype(np.float32), prefix + ".bias": w(C)}

    t = {
        "embeddings.word_embeddings.weight": w(V, C),
        "embeddings.position_embeddings.weight": w(P, C),
        "embeddings.token_type_embeddings.weight": w(2, C),
    }
    t.update(ln("embeddings.LayerNorm"))
    for n in range(L):
        p = f"encoder.layer.{n}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            t[p + name + ".weight"] = w(C, C)
            t[p + name + ".bias"] = w(C)
        t.update(ln(p + "attention.output.LayerNorm"))
        t[p + "intermediate.dense.weight"] = w(I, C)
        t[p + "intermediate.dense.bias"] = w(I)
        t[p + "output.dense.weight"] = w(C, I)
        t[p + "output.dense.bias"] = w(C)
        t.update(ln(p + "output.LayerNorm"))
    return t


def write_safetensors(path, ts):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, a in ts.items():
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for a in ts.values():
            f.write(a.astype("<f4").tobytes())
    os.replace(path + ".tmp", path)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out = argv[1]
    seed = int(argv[2]) if len(argv) > 2 else 7
    shared = argv[3] if len(argv) > 3 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)
    write_safetensors(os.path.join(out, "model.safetensors"), tensors(np.random.default_rng(seed)))
    write_json(os.path.join(out, "config.json"), {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": V, "hidden_size": C,
        "num_hidden_layers": L, "num_attention_heads": H, "intermediate_size": I, "hidden_act": "gelu",
        "max_position_embeddings": P, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0,
    })
    shutil.copyfile(os.path.join(shared, "hf", "bge-small-en-v1.5", "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    write_json(os.path.join(out, "modules.json"), [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    write_json(os.path.join(out, "1_Pooling", "config.json"), {"word_embedding_dimension": C, "pooling_mode": "cls"})
    write_json(os.path.join(out, "sentence_bert_config.json"), {"max_seq_length": 512, "do_lower_case": True})
    write_json(os.path.join(out, "config_sentence_transformers.json"),
               {"prompts": {"query": QUERY_PROMPT}, "default_prompt_name": None})
    print(f"wrote {out}: random bge-small-en-v1.5 shape, seed {seed}")


if __name__ == "__main__":
    main(sys.argv)
