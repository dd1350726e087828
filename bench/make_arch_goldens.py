#!/usr/bin/python3
"""Golden logits for the Llama-family architectures, from an independent
float64 implementation (tests/test_arch_goldens.cpp reads what this writes).

For each architecture (mistral, qwen2, qwen3 and llama with llama3 rope
scaling) this makes a tiny model with random weights and writes, under
tests/data/arch_goldens/<arch>/:

  config.json           Hugging Face config, keys as in the real checkpoints'
                        configs (Qwen2.5, Qwen3-4B, Devstral/Mistral,
                        Llama-3.2), dimensions shrunk
  model.safetensors     the weights, F32, under transformers' tensor names;
                        tied heads leave lm_head.weight out, as
                        save_pretrained does
  expected.safetensors  tokens.<i> (I32 [T]) and logits.<i> (F64 [T, vocab])
                        for a few token sequences

The forward pass below is written from the architectures' definitions
(transformers' modeling_{llama,mistral,qwen2,qwen3}.py, read, not imported:
transformers is not needed, only PyTorch):

  x = embed[tokens]
  per layer:
    h = rmsnorm(x) * w_in                rmsnorm(v) = v / sqrt(mean(v^2) + eps)
    q = h Wq^T (+ bq), k = h Wk^T (+ bk), v = h Wv^T (+ bv)    (biases: qwen2)
    split into heads of head_dim; qwen3: q, k = rmsnorm over each head * w_q/k
    rotary embedding on halves of each head:
      q' = q cos + rotate_half(q) sin, rotate_half([a, b]) = [-b, a]
      angle(p, i) = p * inv_freq[i], inv_freq[i] = theta^(-2i/head_dim),
      rescaled by rope_scaling (llama3: keep short wavelengths, divide long
      ones by factor, blend in between)
    key/value head g serves query heads g*rep .. g*rep + rep - 1
    a = softmax(q' k'^T / sqrt(head_dim) + causal mask) v
      (mistral's sliding window also masks keys more than window-1 back)
    x += a Wo^T
    h = rmsnorm(x) * w_post
    x += (silu(h Wg^T) * (h Wu^T)) Wd^T
  logits = (rmsnorm(x) * w_norm) head^T, head = lm_head or embed when tied

Everything is computed in float64 from the float32 weights, so the expected
logits are the exact function of the stored weights up to float64 rounding;
a float32 implementation should agree to ~1e-6 relative, a float64 one to
~1e-12.

Run from anywhere with Debian's python3 (python3-torch; nothing else):
    /usr/bin/python3 bench/make_arch_goldens.py
The output is deterministic (seeded CPU generator), so rerunning rewrites
the same files.
"""
import json
import math
import os
import struct
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "arch_goldens")

# Shapes shared by all four: small, but with grouped-query attention
# (4 query heads over 2 key/value heads) and enough positions for the rotary
# angles and one prefill longer than an attention tile (64 queries).
COMMON = {
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 64,
    "hidden_act": "silu",
    "attention_dropout": 0.0,
    "initializer_range": 0.02,
    "use_cache": True,
    "torch_dtype": "float32",
    "bos_token_id": 1,
    "eos_token_id": 2,
}

ARCHS = {
    # After Qwen2.5-7B-Instruct: q/k/v biases, untied head, theta 1e6,
    # sliding window configured but switched off.
    "qwen2": {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "tie_word_embeddings": False,
        "use_sliding_window": False,
        "sliding_window": 131072,
        "max_window_layers": 28,
    },
    # After Qwen3-4B: per-head q/k RMSNorm, head_dim given explicitly and not
    # hidden_size / heads, tied head, theta 1e6.
    "qwen3": {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "head_dim": 16,
        "attention_bias": False,
        "max_position_embeddings": 40960,
        "max_window_layers": 2,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "sliding_window": None,
        "use_sliding_window": False,
        "tie_word_embeddings": True,
    },
    # After Devstral (Mistral): explicit head_dim != hidden_size / heads,
    # theta 1e9, untied head; a sliding window (as Mistral-7B-v0.1 has) longer
    # than every sequence here.
    "mistral": {
        "architectures": ["MistralForCausalLM"],
        "model_type": "mistral",
        "head_dim": 16,
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5,
        "rope_theta": 1000000000.0,
        "sliding_window": 96,
        "tie_word_embeddings": False,
    },
    # After Llama-3.2-1B: llama3 rope scaling (original context shrunk to 256
    # so that with head_dim 8 the three wavelength bands all occur), tied head.
    "llama": {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "head_dim": 8,
        "attention_bias": False,
        "mlp_bias": False,
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "rope_scaling": {
            "factor": 32.0,
            "high_freq_factor": 4.0,
            "low_freq_factor": 1.0,
            "original_max_position_embeddings": 256,
            "rope_type": "llama3",
        },
        "tie_word_embeddings": True,
    },
}

SEQ_LENGTHS = [1, 11, 70]


def full_config(arch):
    c = dict(COMMON)
    c.update(ARCHS[arch])
    return c


def head_dim_of(c):
    return c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]


def tensor_shapes(c):
    """transformers' names and shapes of every stored tensor."""
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = head_dim_of(c)
    qd, kvd = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    s = {"model.embed_tokens.weight": (v, d), "model.norm.weight": (d,)}
    if not c["tie_word_embeddings"]:
        s["lm_head.weight"] = (v, d)
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        s[p + "input_layernorm.weight"] = (d,)
        s[p + "post_attention_layernorm.weight"] = (d,)
        s[p + "self_attn.q_proj.weight"] = (qd, d)
        s[p + "self_attn.k_proj.weight"] = (kvd, d)
        s[p + "self_attn.v_proj.weight"] = (kvd, d)
        s[p + "self_attn.o_proj.weight"] = (d, qd)
        s[p + "mlp.gate_proj.weight"] = (f, d)
        s[p + "mlp.up_proj.weight"] = (f, d)
        s[p + "mlp.down_proj.weight"] = (d, f)
        if c["model_type"] == "qwen2":
            for n, rows in (("q", qd), ("k", kvd), ("v", kvd)):
                s[p + f"self_attn.{n}_proj.bias"] = (rows,)
        if c["model_type"] == "qwen3":
            s[p + "self_attn.q_norm.weight"] = (hd,)
            s[p + "self_attn.k_norm.weight"] = (hd,)
    return s


def random_weights(c, gen):
    """Unit-scale activations: linear weights N(0, 1/fan_in), embeddings
    N(0, 1), norm weights 1 + N(0, 0.2^2), biases N(0, 0.3^2). Real
    checkpoints' tiny init would make every logit nearly equal and the check
    weak; at this scale attention is neither uniform nor one-hot."""
    w = {}
    for name, shape in sorted(tensor_shapes(c).items()):
        z = torch.randn(shape, generator=gen, dtype=torch.float32)
        if name.endswith("norm.weight"):
            t = 1.0 + 0.2 * z
        elif name.endswith(".bias"):
            t = 0.3 * z
        elif name == "model.embed_tokens.weight":
            t = z
        else:
            t = z / math.sqrt(shape[1])
        w[name] = t.to(torch.float32).contiguous()
    return w


def inv_freq(c):
    hd = head_dim_of(c)
    theta = float(c.get("rope_theta", 10000.0))
    inv = torch.tensor([theta ** (-2.0 * i / hd) for i in range(hd // 2)], dtype=torch.float64)
    rs = c.get("rope_scaling")
    if rs is None or rs.get("rope_type", rs.get("type")) == "default":
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv / rs["factor"]
    if kind == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        orig = rs["original_max_position_embeddings"]
        out = []
        for f in inv.tolist():
            wavelen = 2.0 * math.pi / f
            if wavelen < orig / hi:  # short wavelength: unchanged
                out.append(f)
            elif wavelen > orig / lo:  # long wavelength: slowed down by factor
                out.append(f / factor)
            else:  # in between: linear blend in orig / wavelen
                smooth = (orig / wavelen - lo) / (hi - lo)
                out.append((1.0 - smooth) * f / factor + smooth * f)
        return torch.tensor(out, dtype=torch.float64)
    raise SystemExit(f"rope scaling {kind} not implemented here")


def rmsnorm(x, w, eps):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * w


def rotate(x, cos, sin):
    """x [T, H, D]; cos/sin [T, D/2]. Pairs are (x[i], x[i + D/2])."""
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    cs, sn = cos[:, None, :], sin[:, None, :]
    return torch.cat((a * cs - b * sn, a * sn + b * cs), dim=-1)


def forward(c, w32, tokens):
    """Logits [T, vocab] in float64 for one sequence at positions 0..T-1."""
    w = {k: v.to(torch.float64) for k, v in w32.items()}
    eps = float(c["rms_norm_eps"])
    hq, hkv, hd = c["num_attention_heads"], c["num_key_value_heads"], head_dim_of(c)
    rep = hq // hkv
    T = len(tokens)
    x = w["model.embed_tokens.weight"][torch.tensor(tokens, dtype=torch.long)]
    pos = torch.arange(T, dtype=torch.float64)
    ang = pos[:, None] * inv_freq(c)[None, :]
    cos, sin = torch.cos(ang), torch.sin(ang)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    allowed = j <= i
    window = c.get("sliding_window") if c["model_type"] == "mistral" else None
    if c["model_type"] in ("qwen2", "qwen3") and c.get("use_sliding_window"):
        raise SystemExit("sliding window layers not implemented here")
    if window:
        allowed = allowed & (j > i - window)
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rmsnorm(x, w[p + "input_layernorm.weight"], eps)

        def proj(n):
            y = h @ w[p + f"self_attn.{n}_proj.weight"].T
            b = w.get(p + f"self_attn.{n}_proj.bias")
            return y if b is None else y + b

        q = proj("q").reshape(T, hq, hd)
        k = proj("k").reshape(T, hkv, hd)
        v = proj("v").reshape(T, hkv, hd)
        if c["model_type"] == "qwen3":
            q = rmsnorm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rmsnorm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        heads = []
        for hh in range(hq):
            g = hh // rep
            s = (q[:, hh, :] @ k[:, g, :].T) / math.sqrt(hd)
            s = s.masked_fill(~allowed, float("-inf"))
            heads.append(torch.softmax(s, dim=-1) @ v[:, g, :])
        a = torch.cat(heads, dim=-1)  # [T, hq*hd], head-major as o_proj expects
        x = x + a @ w[p + "self_attn.o_proj.weight"].T
        h = rmsnorm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rmsnorm(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ head.T


# --- safetensors, written by hand (header length u64 LE, JSON header padded
# with spaces to a multiple of 8, tensors packed back to back) ---
_FMT = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d"), torch.int32: ("I32", "i")}


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dtype, code = _FMT[t.dtype]
        flat = t.reshape(-1).tolist()
        blob = struct.pack("<%d%s" % (len(flat), code), *flat)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def make(arch, seed):
    c = full_config(arch)
    gen = torch.Generator().manual_seed(seed)
    w = random_weights(c, gen)
    d = os.path.join(OUT, arch)
    os.makedirs(d, exist_ok=True)
    write_text(os.path.join(d, "config.json"), json.dumps(c, indent=2, sort_keys=True) + "\n")
    write_safetensors(os.path.join(d, "model.safetensors"), w)
    expected = {}
    vocab = c["vocab_size"]
    for n, T in enumerate(SEQ_LENGTHS):
        toks = torch.randint(0, vocab, (T,), generator=gen, dtype=torch.int64).tolist()
        if T > 2:  # the first and last ids of the vocabulary appear
            toks[1], toks[2] = 0, vocab - 1
        expected[f"tokens.{n}"] = torch.tensor(toks, dtype=torch.int32)
        expected[f"logits.{n}"] = forward(c, w, toks).contiguous()
    write_safetensors(os.path.join(d, "expected.safetensors"), expected)
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{arch}: {size} bytes in {d}")


def main():
    torch.set_num_threads(1)
    for n, arch in enumerate(sorted(ARCHS)):
        make(arch, 1000 + n)


if __name__ == "__main__":
    sys.exit(main())
