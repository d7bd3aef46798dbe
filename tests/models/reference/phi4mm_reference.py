#!/usr/bin/python3
"""Independent float64 reference for mechlens' Phi-4-multimodal decoder
(Phi4MMForCausalLM of Microsoft's modeling_phi4mm.py; Phi4MultimodalForCausalLM
of transformers), written from those sources, not from mechlens' C++:

  x = embed_tokens[ids]
  per layer:  h = rmsnorm(x) * w_in
              qkv = h W_qkv^T (+ LoRA)          rows: q [H*dh], k [KV*dh], v [KV*dh]
              q, k: the first rd = int(dh * partial_rotary_factor) dims rotate
                    (rotate_half within them), the rest pass through
                    inv_freq = 1 / (ext * theta^(arange(0, rd, 2) / rd)),
                    ext = long_factor if T > original_max_position_embeddings else short_factor,
                    cos, sin = cos/sin(pos * inv_freq) * sqrt(1 + ln(max/orig) / ln(orig))   (every T)
              query head h reads KV head h // (H / KV); scores / sqrt(dh), causal + padding mask
              x = x + z W_o^T (+ LoRA)
              gate, up = chunk(rmsnorm(x) * w_post @ W_gate_up^T (+ LoRA), 2)
              x = x + (up * silu(gate)) W_down^T (+ LoRA)
  logits = rmsnorm(x) * w_norm @ embed_tokens^T   (tied)
  LoRA (rows whose input has an image): W x + (alpha / r) * B (A x), from
  config.json's vision_lora and lora_{A,B}.vision (remote code) or
  vision-lora/adapter_config.json + adapter_model.safetensors (native).

usage: phi4mm_reference.py CHECKPOINT_DIR INPUT.json OUTPUT.json
  INPUT.json  {"ids": [[...]], "mask": [[1, ...]], "lora": [true, false, ...]}
  OUTPUT.json {"logits": {...}, "resid_post_0": {...}, "cos": {...}, "sin": {...}}
  optional "images": [PATH | null, ...] per row: the image's rows from
  phi4mm_vision_reference.py (its own preprocessing and encoder) replace that
  row's image tokens; OUTPUT then has "inputs_embeds".
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_reader import read_checkpoint, read_safetensors  # noqa: E402

MODULES = ("self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj")


def rms_norm(x, weight, eps):
    return weight * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_parameters(cfg):
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
    partial = rope.get("partial_rotary_factor", cfg.get("partial_rotary_factor", 1.0))
    return rope, theta, partial


def rope_tables(cfg, T):
    """cos, sin [T, rd] in float64 by the LongRoPE rule."""
    H, D = cfg["num_attention_heads"], cfg["hidden_size"]
    dh = D // H
    rope, theta, partial = rope_parameters(cfg)
    rd = int(dh * partial)
    kind = rope.get("rope_type", rope.get("type", "default"))
    ext = torch.ones(rd // 2, dtype=torch.float64)
    scale = 1.0
    if kind in ("longrope", "su", "yarn"):
        orig = cfg.get("original_max_position_embeddings") or rope.get("original_max_position_embeddings")
        ext = torch.tensor(rope["long_factor"] if T > orig else rope["short_factor"], dtype=torch.float64)
        factor = cfg["max_position_embeddings"] / orig
        scale = rope.get("attention_factor", math.sqrt(1 + math.log(factor) / math.log(orig)) if factor > 1 else 1.0)
    inv_freq = 1.0 / (ext * theta ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
    angles = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((angles, angles), dim=-1)
    return emb.cos() * scale, emb.sin() * scale


def load_weights(directory, cfg):
    """{module name: (W, A or None, B or None)}, the scale, and the plain tensors."""
    tensors = read_checkpoint(directory)
    linears, scale = {}, 0.0
    native = any(k.endswith("qkv_proj.weight") and "base_layer" not in k and "lora" not in k for k in tensors)
    lora = {}
    if native:
        adapter = os.path.join(directory, "vision-lora")
        if os.path.isdir(adapter):
            with open(os.path.join(adapter, "adapter_config.json")) as f:
                ac = json.load(f)
            scale = ac["lora_alpha"] / ac["r"]
            for name, t in read_safetensors(os.path.join(adapter, "adapter_model.safetensors")).items():
                name = name.replace("base_model.model.", "").replace(".vision.weight", ".weight")
                lora[name] = t
    elif "vision_lora" in cfg:
        scale = cfg["vision_lora"]["lora_alpha"] / cfg["vision_lora"]["r"]
    for layer in range(cfg["num_hidden_layers"]):
        for m in MODULES:
            stem = "model.layers.%d.%s" % (layer, m)
            if native:
                W, A, B = tensors[stem + ".weight"], lora.get(stem + ".lora_A.weight"), lora.get(stem + ".lora_B.weight")
            else:
                W = tensors[stem + ".base_layer.weight"]
                A, B = tensors.get(stem + ".lora_A.vision.weight"), tensors.get(stem + ".lora_B.vision.weight")
            linears[stem] = (W, A, B)
    return tensors, linears, scale


def forward(directory, ids, mask, lora_rows, images=None):
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    tensors, linears, scale = load_weights(directory, cfg)
    H, KV, D = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"]), cfg["hidden_size"]
    dh = D // H
    eps = cfg.get("rms_norm_eps", 1e-5)
    ids = torch.tensor(ids, dtype=torch.long)
    B, T = ids.shape
    rows = torch.tensor(lora_rows, dtype=torch.float64).view(B, 1, 1)

    def linear(stem, x):
        W, A, Bm = linears[stem]
        y = x @ W.T
        if A is not None:
            y = y + rows * (scale * ((x @ A.T) @ Bm.T))
        return y

    cos, sin = rope_tables(cfg, T)
    rd = cos.shape[-1]
    cos, sin = cos[None, None], sin[None, None]

    def rotate(t):  # [B, heads, T, dh]: the first rd dims rotate
        r, rest = t[..., :rd], t[..., rd:]
        return torch.cat((r * cos + rotate_half(r) * sin, rest), dim=-1)

    m = torch.tensor(mask, dtype=torch.bool)
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None] & m[:, None, None, :]
    additive = torch.zeros(B, 1, T, T, dtype=torch.float64).masked_fill(~allowed, torch.finfo(torch.float64).min)

    out = {"cos": cos[0, 0], "sin": sin[0, 0]}
    x = tensors["model.embed_tokens.weight"][ids]
    if images:  # rows with an image: phi4mm_vision_reference.py's encoder rows at its image tokens, in order
        from phi4mm_vision_reference import image_file_embeddings, image_token_id
        raw = read_checkpoint(directory)
        x = x.clone()
        for b, path in enumerate(images):
            if path is None:
                continue
            image_rows = image_file_embeddings(raw, cfg, directory, path)
            where = ids[b] == image_token_id(cfg)
            assert int(where.sum()) == image_rows.shape[0], (int(where.sum()), image_rows.shape)
            x[b][where] = image_rows
        out["inputs_embeds"] = x
    for layer in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        h = rms_norm(x, tensors[p + "input_layernorm.weight"], eps)
        qkv = linear(p + "self_attn.qkv_proj", h)
        q = qkv[..., :H * dh].reshape(B, T, H, dh).transpose(1, 2)
        k = qkv[..., H * dh:(H + KV) * dh].reshape(B, T, KV, dh).transpose(1, 2)
        v = qkv[..., (H + KV) * dh:].reshape(B, T, KV, dh).transpose(1, 2)
        q, k = rotate(q), rotate(k)
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        pattern = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + additive, dim=-1)
        z = (pattern @ v).transpose(1, 2).reshape(B, T, H * dh)
        x = x + linear(p + "self_attn.o_proj", z)
        h = rms_norm(x, tensors[p + "post_attention_layernorm.weight"], eps)
        gate, up = linear(p + "mlp.gate_up_proj", h).chunk(2, dim=-1)
        x = x + linear(p + "mlp.down_proj", up * F.silu(gate))
        out["resid_post_%d" % layer] = x
    out["logits"] = rms_norm(x, tensors["model.norm.weight"], eps) @ tensors["model.embed_tokens.weight"].T
    return out


def main():
    directory, input_path, output_path = sys.argv[1:4]
    with open(input_path) as f:
        request = json.load(f)
    rows = request.get("lora", [False] * len(request["ids"]))
    with torch.no_grad():
        out = forward(directory, request["ids"], request["mask"], rows, request.get("images"))
    payload = {k: {"shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in out.items()}
    with open(output_path, "w") as f:
        json.dump(payload, f)


if __name__ == "__main__":
    main()
