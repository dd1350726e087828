#!/usr/bin/env python3
"""PyTorch reference for bench/run.sh: the same Llama model and training step
as peft.cpp, written independently, timed the same way.

Model (random init, f32): token embedding; per layer RMSNorm -> q,k,v
projections -> rotary embedding on interleaved pairs (GGUF order) ->
grouped-query causal attention -> output projection, residual; RMSNorm ->
SiLU(gate) * up -> down, residual; final RMSNorm; untied output head;
cross-entropy over the full vocabulary.

Step: forward, backward, global gradient-norm clipping at 1.0, AdamW
(betas 0.9/0.999, eps 1e-8, weight decay 0, constant lr). Methods:
  full        every parameter trains
  lora        y = x W^T + s (x A^T) B^T, s = alpha/r, W frozen, A and B train
  lora-fa     as lora with A frozen (only B trains)
  vera        y = x W^T + lambda_b * ((lambda_d * (x A_l^T)) B_l^T) with one
              frozen pair (vera_A [r, max_in], vera_B [max_out, r]) shared by
              all layers; only lambda_b [out] and lambda_d [r] train
  delta-lora  lora, and after each optimizer step W += lambda s (B'A' - BA)
  lora-plus   lora with B (and 1-D trainables) at lr * ratio
Adapters go on every linear layer of the blocks (q,k,v,o,gate,up,down), never
on the output head. Norm weights stay frozen for the adapter methods, as in
peft.cpp.

--autocast bf16 runs the forward pass (and so the loss) under
torch.autocast("cpu", dtype=torch.bfloat16): the projections and the
attention products in bf16, parameters and optimizer in f32, as mixed
precision training does. On CPUs without bf16 instructions PyTorch still
runs it (converting in software), which is what a user there would get.

Timing: `--warmup` steps untimed, then `--steps` steps timed with a wall
clock; tokens/s = steps * batch * seq / seconds. Prints one JSON object.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        # x * rsqrt(mean(x^2) + eps) * w
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class VeraPair:
    """The frozen shared projections of VeRA, sized to the largest layer."""

    def __init__(self, rank, max_in, max_out, gen):
        self.A = (torch.rand(rank, max_in, generator=gen) * 2 - 1) * math.sqrt(6.0 / max_in)
        self.B = (torch.rand(max_out, rank, generator=gen) * 2 - 1) * math.sqrt(6.0 / rank)


class AdaptedLinear(nn.Module):
    """A bias-free linear layer y = x W^T with an optional adapter branch."""

    def __init__(self, d_in, d_out, sd, method, rank, alpha, vera, gen):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in, generator=gen) * sd)
        self.method = method
        self.d_in, self.d_out = d_in, d_out
        if method == "full":
            return
        self.weight.requires_grad_(False)
        if method == "vera":
            self.vera = vera
            self.lambda_b = nn.Parameter(torch.zeros(d_out))
            self.lambda_d = nn.Parameter(torch.full((rank,), 0.1))
            return
        self.scale = alpha / rank
        bound = 1.0 / math.sqrt(d_in)  # Kaiming-uniform with a = sqrt(5)
        self.lora_A = nn.Parameter((torch.rand(rank, d_in, generator=gen) * 2 - 1) * bound)
        self.lora_B = nn.Parameter(torch.zeros(d_out, rank))
        if method == "lora-fa":
            self.lora_A.requires_grad_(False)

    def forward(self, x):
        y = F.linear(x, self.weight)
        if self.method == "full":
            return y
        if self.method == "vera":
            a = self.vera.A[:, : self.d_in]
            b = self.vera.B[: self.d_out, :]
            return y + self.lambda_b * F.linear(self.lambda_d * F.linear(x, a), b)
        return y + self.scale * F.linear(F.linear(x, self.lora_A), self.lora_B)


def rope_tables(seq, head_dim, theta):
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(seq, dtype=torch.float64)[:, None] * inv[None, :]  # [T, D/2]
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope(x, cos, sin):
    """Rotates adjacent pairs (x[2i], x[2i+1]) of each head by angle pos * theta^(-2i/D).
    x: [B, T, H, D]; cos, sin: [T, D/2]."""
    b, t, h, d = x.shape
    xp = x.view(b, t, h, d // 2, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).view(b, t, h, d)


def causal_attention(q, k, v):
    """q: [B, H, T, D], k, v: [B, H, T, D] (KV heads already repeated)."""
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    # torch < 2.0 has no fused attention: the plain softmax(q k^T / sqrt(D) + mask) v.
    t = q.shape[-2]
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    mask = torch.ones(t, t, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class Block(nn.Module):
    def __init__(self, c, method, rank, alpha, vera, gen):
        super().__init__()
        dim, hd = c["dim"], c["dim"] // c["heads"]
        self.heads, self.kv_heads, self.head_dim = c["heads"], c["kv_heads"], hd
        out_sd = 0.02 / math.sqrt(2 * c["layers"])
        mk = lambda i, o, sd=0.02: AdaptedLinear(i, o, sd, method, rank, alpha, vera, gen)
        self.attn_norm = RMSNorm(dim, c["eps"])
        self.wq = mk(dim, c["heads"] * hd)
        self.wk = mk(dim, c["kv_heads"] * hd)
        self.wv = mk(dim, c["kv_heads"] * hd)
        self.wo = mk(c["heads"] * hd, dim, out_sd)
        self.ffn_norm = RMSNorm(dim, c["eps"])
        self.w_gate = mk(dim, c["hidden"])
        self.w_up = mk(dim, c["hidden"])
        self.w_down = mk(c["hidden"], dim, out_sd)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = rope(self.wq(h).view(b, t, self.heads, self.head_dim), cos, sin)
        k = rope(self.wk(h).view(b, t, self.kv_heads, self.head_dim), cos, sin)
        v = self.wv(h).view(b, t, self.kv_heads, self.head_dim)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # [B, H, T, D]
        g = self.heads // self.kv_heads
        if g > 1:
            k = k.repeat_interleave(g, dim=1)
            v = v.repeat_interleave(g, dim=1)
        a = causal_attention(q, k, v).transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        x = x + self.wo(a)
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Llama(nn.Module):
    def __init__(self, c, method, rank, alpha, gen):
        super().__init__()
        vera = None
        if method == "vera":
            hd = c["dim"] // c["heads"]
            ins = [c["dim"], c["heads"] * hd, c["hidden"]]
            outs = [c["heads"] * hd, c["kv_heads"] * hd, c["dim"], c["hidden"]]
            vera = VeraPair(rank, max(ins), max(outs), gen)
        self.tok_embd = nn.Parameter(torch.randn(c["vocab"], c["dim"], generator=gen) * 0.02)
        self.layers = nn.ModuleList(Block(c, method, rank, alpha, vera, gen) for _ in range(c["layers"]))
        self.out_norm = RMSNorm(c["dim"], c["eps"])
        self.output = nn.Parameter(torch.randn(c["vocab"], c["dim"], generator=gen) * 0.02)
        cos, sin = rope_tables(c["seq"], c["dim"] // c["heads"], c["theta"])
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        if method != "full":
            for n, p in self.named_parameters():
                if not ("lora_" in n or "lambda_" in n):
                    p.requires_grad_(False)

    def forward(self, tokens, targets):
        x = F.embedding(tokens, self.tok_embd)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin)
        logits = F.linear(self.out_norm(x), self.output)  # [B, T, vocab]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def adapted_linears(model):
    return [m for m in model.modules() if isinstance(m, AdaptedLinear)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--kv-heads", type=int, default=0)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--method", default="full",
                    choices=["full", "lora", "lora-fa", "vera", "delta-lora", "lora-plus"])
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=0, help="default: the rank (s = 1)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lora-plus-ratio", type=float, default=16.0)
    ap.add_argument("--delta-ratio", type=float, default=2.0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--token-limit", type=int, default=512, help="token ids drawn below this (the tokenizer's size)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--autocast", default="none", choices=["none", "bf16"],
                    help="bf16: forward under torch.autocast(cpu, bfloat16)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    c = dict(dim=a.dim, layers=a.layers, heads=a.heads, kv_heads=a.kv_heads or a.heads, hidden=a.hidden,
             vocab=a.vocab, seq=a.seq, eps=1e-5, theta=10000.0)
    alpha = a.alpha or a.rank
    model = Llama(c, a.method, a.rank, alpha, gen)

    trainable = [p for p in model.parameters() if p.requires_grad]
    if a.method == "lora-plus":
        fast = [p for n, p in model.named_parameters() if p.requires_grad and ("lora_B" in n or p.dim() == 1)]
        fast_ids = {id(p) for p in fast}
        slow = [p for p in trainable if id(p) not in fast_ids]
        groups = [{"params": slow, "lr": a.lr}, {"params": fast, "lr": a.lr * a.lora_plus_ratio}]
    else:
        groups = [{"params": trainable, "lr": a.lr}]
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    lins = adapted_linears(model)

    limit = min(a.token_limit, a.vocab)
    data_gen = torch.Generator().manual_seed(a.seed + 1)

    def step():
        seqs = torch.randint(0, limit, (a.batch, a.seq + 1), generator=data_gen)
        opt.zero_grad(set_to_none=True)
        if a.autocast == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(seqs[:, :-1], seqs[:, 1:])
        else:
            loss = model(seqs[:, :-1], seqs[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        if a.method == "delta-lora":
            with torch.no_grad():
                before = [m.lora_B @ m.lora_A for m in lins]
        opt.step()
        if a.method == "delta-lora":
            # W += lambda * s * (B'A' - BA): the base follows the adapter's own update.
            with torch.no_grad():
                for m, ba in zip(lins, before):
                    m.weight.add_(m.lora_B @ m.lora_A - ba, alpha=a.delta_ratio * m.scale)
        return loss.item()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    loss = 0.0
    for _ in range(a.steps):
        loss = step()
    secs = time.perf_counter() - t0
    tokens = a.steps * a.batch * a.seq
    print(json.dumps({
        "method": a.method,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "total_parameters": sum(p.numel() for p in model.parameters()),
        "steps": a.steps, "warmup": a.warmup, "seconds": secs,
        "tokens_per_second": tokens / secs, "final_loss": loss,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "fused_attention": hasattr(F, "scaled_dot_product_attention"),
        "autocast": a.autocast,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
