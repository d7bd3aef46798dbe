"""Float64 head ablations of four kinds on a Qwen2 checkpoint, in plain PyTorch
(no mechlens code), for ablation_compare's checks:

  zero          z[:, h] = 0
  identity      z[:, h] = v[:, kv(h)]      (the head attends only to its own position)
  mean          z[:, h] = mean over the input's positions of z[:, h]
  dataset_mean  z[:, h] = mean over every position of every input of z[:, h]

z is the head's attention output before o_proj ([T, H, dh]); the Qwen2 forward
below follows transformers' modeling_qwen2.py (the helpers for the norm, the
rotation and the tensor names are qwen2_reference.py's).
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen2_reference import language_model_names, rms_norm, rotate_half  # noqa: E402


def forward(tensors, cfg, ids, edit_z=None, seen_z=None):
    """Logits [T, V] for one input; edit_z(layer, z, v) -> z replaces each layer's z [T, H, dh]
    (v [T, H, dh] repeated over the query heads); seen_z(layer, z) sees the clean z."""
    prefix, head_name = language_model_names(tensors)
    w = lambda name: tensors[prefix + name].to(torch.float64)
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    D = cfg["hidden_size"]
    dh = cfg.get("head_dim", D // H)
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    T = len(ids)
    inv_freq = 1.0 / (theta ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
    angles = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((angles, angles), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]  # [T, 1, dh]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    x = w("embed_tokens.weight")[torch.tensor(ids, dtype=torch.long)]
    for layer in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % layer
        h = rms_norm(x, w(p + "input_layernorm.weight"), eps)
        q = (h @ w(p + "self_attn.q_proj.weight").T + w(p + "self_attn.q_proj.bias")).view(T, H, dh)
        k = (h @ w(p + "self_attn.k_proj.weight").T + w(p + "self_attn.k_proj.bias")).view(T, KV, dh)
        v = (h @ w(p + "self_attn.v_proj.weight").T + w(p + "self_attn.v_proj.bias")).view(T, KV, dh)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(dh)
        scores = scores.masked_fill(~causal[None], float("-inf"))
        z = torch.einsum("hts,shd->thd", torch.softmax(scores, -1), v)  # [T, H, dh]
        if seen_z is not None:
            seen_z(layer, z)
        if edit_z is not None:
            z = edit_z(layer, z, v)
        x = x + z.reshape(T, H * dh) @ w(p + "self_attn.o_proj.weight").T
        h = rms_norm(x, w(p + "post_attention_layernorm.weight"), eps)
        x = x + (F.silu(h @ w(p + "mlp.gate_proj.weight").T) * (h @ w(p + "mlp.up_proj.weight").T)) @ \
            w(p + "mlp.down_proj.weight").T
    tied = cfg.get("tie_word_embeddings", False) or head_name not in tensors
    head = w("embed_tokens.weight") if tied else tensors[head_name].to(torch.float64)
    return rms_norm(x, w("norm.weight"), eps) @ head.T


def dataset_mean_z(tensors, cfg, inputs):
    """[L, H, dh]: each head's z averaged over every position of every input (tokens weigh equally)."""
    sums, count = {}, 0
    for ids in inputs:
        def seen(layer, z):
            sums[layer] = sums.get(layer, 0) + z.sum(0)
        forward(tensors, cfg, ids, seen_z=seen)
        count += len(ids)
    return torch.stack([sums[l] / count for l in range(cfg["num_hidden_layers"])])


def top1_prob_change(tensors, cfg, ids, position, kind, means=None):
    """[L][H] (p_ablated(t*) - p*) / p* at `position`, t* the clean top token."""
    clean = torch.softmax(forward(tensors, cfg, ids)[position], -1)
    top = int(clean.argmax())
    out = []
    for layer in range(cfg["num_hidden_layers"]):
        row = []
        for head in range(cfg["num_attention_heads"]):
            def edit(l, z, v, layer=layer, head=head):
                if l != layer:
                    return z
                z = z.clone()
                if kind == "zero":
                    z[:, head] = 0
                elif kind == "identity":
                    z[:, head] = v[:, head]
                elif kind == "mean":
                    z[:, head] = z[:, head].mean(0)
                elif kind == "dataset_mean":
                    z[:, head] = means[layer, head]
                else:
                    raise ValueError(kind)
                return z
            q = torch.softmax(forward(tensors, cfg, ids, edit_z=edit)[position], -1)
            row.append(float((q[top] - clean[top]) / clean[top]))
        out.append(row)
    return out


def average_ranks_descending(values):
    """1 = largest; ties share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a, b):
    ra, rb = average_ranks_descending(a), average_ranks_descending(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))


def kendall_tau_b(a, b):
    """(concordant - discordant) / sqrt((n0 - n1) (n0 - n2)), the tau-b of Kendall 1945."""
    n = len(a)
    n0 = n * (n - 1) / 2
    ties_a = sum(1 for i in range(n) for j in range(i + 1, n) if a[i] == a[j])
    ties_b = sum(1 for i in range(n) for j in range(i + 1, n) if b[i] == b[j])
    s = 0
    for i in range(n):
        for j in range(i + 1, n):
            prod = (a[i] - a[j]) * (b[i] - b[j])
            s += (prod > 0) - (prod < 0)
    return s / math.sqrt((n0 - ties_a) * (n0 - ties_b))
