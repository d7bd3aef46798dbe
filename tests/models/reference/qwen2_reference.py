#!/usr/bin/python3
"""Independent reference for mechlens' Qwen2 decoder (and the language model
of LLaVA-OneVision), in float64.

Reads the checkpoint directory itself (safetensors parsed by hand: 8-byte
little-endian header length, JSON header, raw bytes) and runs the forward
pass of Qwen2ForCausalLM as transformers/models/qwen2/modeling_qwen2.py
describes it:

  x = embed_tokens[ids]
  per layer:  h = rmsnorm(x) * w_in          rmsnorm(x) = x / sqrt(mean(x^2) + eps)
              q, k, v = h Wq^T + bq, h Wk^T + bk, h Wv^T + bv     (KV heads < query heads)
              q, k = q cos + rotate_half(q) sin, ...              rotate_half(x) = [-x2, x1]
                     inv_freq = 1 / theta^(2i/dh), angle = pos * inv_freq, cos/sin of cat(angle, angle)
              k, v repeated so query head h reads KV head h // (H / KV)
              scores = q k^T / sqrt(dh) + causal & padding mask (finfo.min)
              x = x + softmax(scores) v Wo^T
              x = x + down(silu(gate(rmsnorm(x) * w_post)) * up(...))
  logits = (rmsnorm(x) * w_norm) @ lm_head^T   (lm_head = embed_tokens when tied)

usage: qwen2_reference.py CHECKPOINT_DIR INPUT.json OUTPUT.json
  INPUT.json  {"ids": [[...]], "mask": [[1, 1, 0, ...]], "layout": "qwen2" | "llava"}
  OUTPUT.json {"logits": {...}, "resid_post_0": {...}, ...}  each {"shape": [...], "data": [...]}
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_reader import read_checkpoint  # noqa: E402

def rms_norm(x, weight, eps):
    return weight * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def language_model_names(tensors):
    """(prefix, lm_head name) for the three layouts."""
    for prefix, head in (("model.", "lm_head.weight"),
                         ("language_model.model.", "language_model.lm_head.weight"),
                         ("model.language_model.", "lm_head.weight")):
        if prefix + "embed_tokens.weight" in tensors:
            return prefix, head
    raise KeyError("no embed_tokens")


def qwen2_forward(tensors, cfg, embeds, mask, out, patterns=False, edit_scores=None, edit_z=None):
    """Qwen2 decoder on input embeddings [B, T, D]; fills `out` with resid_post_L and logits
    (and pattern_L, the softmax of each layer, and q_L, k_L, rot_q_L, rot_k_L, the queries and
    keys [B, H or KV heads, T, dh] before and after the rotation, when `patterns`). `edit_scores(layer, scores)`,
    when given, replaces each layer's raw scores q k^T / sqrt(dh) [B, H, T, T] before the mask
    (AtMan's edit). `edit_z(layer, z)`, when given, replaces each layer's head outputs z
    [B, T, H * dh] (heads in order) before the output projection."""
    prefix, head_name = language_model_names(tensors)
    w = lambda name: tensors[prefix + name]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads", H)
    D = cfg["hidden_size"]
    dh = cfg.get("head_dim", D // H)
    eps = cfg.get("rms_norm_eps", 1e-6)
    theta = cfg.get("rope_theta", 10000.0)
    B, T, _ = embeds.shape

    inv_freq = 1.0 / (theta ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh))
    angles = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((angles, angles), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]  # [1, 1, T, dh]

    mask = torch.tensor(mask, dtype=torch.bool)
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None] & mask[:, None, None, :]
    additive = torch.zeros(B, 1, T, T, dtype=torch.float64).masked_fill(~allowed, torch.finfo(torch.float64).min)

    x = embeds
    for layer in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % layer
        h = rms_norm(x, w(p + "input_layernorm.weight"), eps)
        q = (h @ w(p + "self_attn.q_proj.weight").T + w(p + "self_attn.q_proj.bias")).view(B, T, H, dh).transpose(1, 2)
        k = (h @ w(p + "self_attn.k_proj.weight").T + w(p + "self_attn.k_proj.bias")).view(B, T, KV, dh).transpose(1, 2)
        v = (h @ w(p + "self_attn.v_proj.weight").T + w(p + "self_attn.v_proj.bias")).view(B, T, KV, dh).transpose(1, 2)
        if patterns:  # [B, H or KV, T, dh], before and after the rotation
            out["q_%d" % layer], out["k_%d" % layer] = q, k
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if patterns:
            out["rot_q_%d" % layer], out["rot_k_%d" % layer] = q, k
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
        if edit_scores is not None:
            scores = edit_scores(layer, scores)
        scores = scores + additive
        pattern = torch.softmax(scores, dim=-1)
        if patterns:
            out["pattern_%d" % layer] = pattern
        z = (pattern @ v).transpose(1, 2).reshape(B, T, H * dh)
        if edit_z is not None:
            z = edit_z(layer, z)
        x = x + z @ w(p + "self_attn.o_proj.weight").T
        h = rms_norm(x, w(p + "post_attention_layernorm.weight"), eps)
        gate = h @ w(p + "mlp.gate_proj.weight").T
        up = h @ w(p + "mlp.up_proj.weight").T
        x = x + (F.silu(gate) * up) @ w(p + "mlp.down_proj.weight").T
        out["resid_post_%d" % layer] = x
    tied = cfg.get("tie_word_embeddings", False) or head_name not in tensors
    head = w("embed_tokens.weight") if tied else tensors[head_name]
    out["logits"] = rms_norm(x, w("norm.weight"), eps) @ head.T
    return out


def embed_tokens(tensors, ids):
    prefix, _ = language_model_names(tensors)
    return tensors[prefix + "embed_tokens.weight"][torch.tensor(ids, dtype=torch.long)]


def main():
    directory, input_path, output_path = sys.argv[1:4]
    with open(input_path) as f:
        request = json.load(f)
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    tensors = read_checkpoint(directory)
    with torch.no_grad():
        out = {}
        qwen2_forward(tensors, cfg.get("text_config", cfg), embed_tokens(tensors, request["ids"]), request["mask"], out)
    payload = {k: {"shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in out.items()}
    with open(output_path, "w") as f:
        json.dump(payload, f)


if __name__ == "__main__":
    main()
