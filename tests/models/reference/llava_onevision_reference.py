#!/usr/bin/python3
"""Independent reference for mechlens' LLaVA-OneVision adapter, in float64.

Written from transformers' modeling_llava_onevision.py (get_image_features,
pack_image_features, unpad_image, get_anyres_image_grid_shape,
get_placeholder_mask / masked_scatter) and modeling_siglip.py
(SiglipVisionEmbeddings with a real Conv2d, SiglipEncoderLayer), with the
language model from qwen2_reference.py. Pixel values come from the caller
(the preprocessing is tested on its own), so this checks the model.

usage: llava_onevision_reference.py CHECKPOINT_DIR INPUT.json OUTPUT.json
  INPUT.json  {"ids": [[...]], "mask": [[...]],
               "images": [null | {"pixel_values": [...], "shape": [N, 3, S, S], "image_size": [h, w]}, ...]}
  OUTPUT.json {"logits", "inputs_embeds", "image_features_<row>", "resid_post_<L>"}
  optional in INPUT.json: "zero_heads": [[[layer, head], ...], ...] adds "logits_zeroed_<i>" for
  each list i: the language model with those heads zeroed (the columns of o_proj that read
  the head's slice of z set to 0, exactly z[..., head, :] = 0), the image features unchanged.
  optional "answer_positions": [p per row]: every logits output is then [B, V] at those
  positions only (keeps the output small), and "image_attention" [B, L, H] is added: each
  head's attention from the answer position summed over the image-token keys.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen2_reference import embed_tokens, language_model_names, qwen2_forward, read_checkpoint  # noqa: E402


def layouts(tensors):
    if "language_model.model.embed_tokens.weight" in tensors:
        return "vision_tower.vision_model.", "multi_modal_projector.", "image_newline"
    return "model.vision_tower.vision_model.", "model.multi_modal_projector.", "model.image_newline"


def act(name):
    return {"gelu": lambda x: F.gelu(x), "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
            "gelu_new": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu}[name]


def siglip_hidden_states(t, vcfg, prefix, pixels):
    D = vcfg["hidden_size"]
    H = vcfg["num_attention_heads"]
    dh = D // H
    eps = vcfg.get("layer_norm_eps", 1e-6)
    P = vcfg["patch_size"]
    f = act(vcfg.get("hidden_act", "gelu_pytorch_tanh"))
    w = lambda n: t[prefix + n]
    x = F.conv2d(pixels, w("embeddings.patch_embedding.weight"), w("embeddings.patch_embedding.bias"), stride=P)
    x = x.flatten(2).transpose(1, 2)
    x = x + w("embeddings.position_embedding.weight")[torch.arange(x.shape[1])][None]
    states = [x]
    N, T, _ = x.shape
    for layer in range(vcfg["num_hidden_layers"]):
        p = "encoder.layers.%d." % layer
        if prefix + p + "layer_norm1.weight" not in t:
            break
        ln = lambda v, n: F.layer_norm(v, (D,), w(p + n + ".weight"), w(p + n + ".bias"), eps)
        lin = lambda v, n: v @ w(p + n + ".weight").T + w(p + n + ".bias")
        h = ln(x, "layer_norm1")
        q = lin(h, "self_attn.q_proj").view(N, T, H, dh).transpose(1, 2)
        k = lin(h, "self_attn.k_proj").view(N, T, H, dh).transpose(1, 2)
        v = lin(h, "self_attn.v_proj").view(N, T, H, dh).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) * dh ** -0.5, dim=-1) @ v
        x = x + lin(a.transpose(1, 2).reshape(N, T, D), "self_attn.out_proj")
        x = x + lin(f(lin(ln(x, "layer_norm2"), "mlp.fc1")), "mlp.fc2")
        states.append(x)
    return states


def select_best_resolution(original_size, possible_resolutions):
    original_height, original_width = original_size
    best_fit, max_eff, min_waste = None, 0, float("inf")
    for height, width in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        dw, dh = int(original_width * scale), int(original_height * scale)
        eff = min(dw * dh, original_width * original_height)
        waste = width * height - eff
        if eff > max_eff or (eff == max_eff and waste < min_waste):
            max_eff, min_waste, best_fit = eff, waste, (height, width)
    return best_fit


def unpad_image(tensor, original_size):
    original_height, original_width = original_size
    current_height, current_width = tensor.shape[1:]
    if original_width / original_height > current_width / current_height:
        new_height = int(round(original_height * (current_width / original_width), 7))
        padding = (current_height - new_height) // 2
        return tensor[:, padding:current_height - padding, :]
    new_width = int(round(original_width * (current_height / original_height), 7))
    padding = (current_width - new_width) // 2
    return tensor[:, :, padding:current_width - padding]


def pack(image_feature, image_size, cfg, newline):
    vcfg = cfg["vision_config"]
    base = image_feature[0]
    tiles = image_feature[1:]
    side = vcfg["image_size"] // vcfg["patch_size"]
    bh, bw = select_best_resolution(image_size, cfg["image_grid_pinpoints"])
    nph, npw = bh // vcfg["image_size"], bw // vcfg["image_size"]
    x = tiles.view(nph, npw, side, side, -1).permute(4, 0, 2, 1, 3).contiguous().flatten(1, 2).flatten(2, 3)
    x = unpad_image(x, image_size)
    max_num = int(cfg.get("vision_aspect_ratio", "anyres_max_9").strip("anyres_max_"))
    c, h, w = x.shape
    ratio = math.sqrt(h * w / (max_num * side ** 2))
    if ratio > 1.1:
        x = F.interpolate(x[None], [int(h // ratio), int(w // ratio)], mode="bilinear")[0]
    x = torch.cat((x, newline[:, None, None].expand(*x.shape[:-1], 1)), dim=-1)
    x = x.flatten(1, 2).transpose(0, 1)
    return torch.cat((base, x), dim=0)


def inputs_embeds(t, cfg, ids, images, out=None):
    """The language model's input embeddings [B, T, D]: token embeddings with each
    row's image features (tower, select strategy, projector, packing) scattered into
    its image positions. `images[row]`: None or {"pixel_values", "shape", "image_size"}.
    Fills out["image_features_<row>"] when `out` is given."""
    vprefix, pprefix, newline_name = layouts(t)
    image_token = cfg.get("image_token_index", cfg.get("image_token_id"))
    id_tensor = torch.tensor(ids, dtype=torch.long)
    embeds = embed_tokens(t, ids).clone()
    for row, image in enumerate(images):
        if image is None:
            continue
        pixels = torch.tensor(image["pixel_values"], dtype=torch.float64).view(image["shape"])
        states = siglip_hidden_states(t, cfg["vision_config"], vprefix, pixels)
        layer = cfg.get("vision_feature_layer", -1)
        feats = states[layer] if isinstance(layer, int) else torch.cat([states[i] for i in layer], dim=-1)
        if cfg.get("vision_feature_select_strategy") == "default":
            feats = feats[:, 1:]
        f = act(cfg.get("projector_hidden_act", "gelu"))
        proj = f(feats @ t[pprefix + "linear_1.weight"].T + t[pprefix + "linear_1.bias"])
        proj = proj @ t[pprefix + "linear_2.weight"].T + t[pprefix + "linear_2.bias"]
        packed = pack(proj, image["image_size"], cfg, t[newline_name])
        if out is not None:
            out["image_features_%d" % row] = packed
        mask = id_tensor[row] == image_token
        assert int(mask.sum()) == packed.shape[0], (int(mask.sum()), packed.shape)
        embeds[row][mask] = packed
    return embeds


def main():
    directory, input_path, output_path = sys.argv[1:4]
    with open(input_path) as f:
        request = json.load(f)
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    t = read_checkpoint(directory)
    out = {}
    with torch.no_grad():
        embeds = inputs_embeds(t, cfg, request["ids"], request.get("images", []), out)
        out["inputs_embeds"] = embeds
        answer = request.get("answer_positions")
        ids = torch.tensor(request["ids"], dtype=torch.long)
        image_token = cfg.get("image_token_index", cfg.get("image_token_id"))
        qwen2_forward(t, cfg["text_config"], embeds, request["mask"], out, patterns=answer is not None)
        text = cfg["text_config"]
        rows = torch.arange(ids.shape[0])
        if answer is not None:
            at = torch.tensor(answer, dtype=torch.long)
            out["logits"] = out["logits"][rows, at]
            image_keys = (ids == image_token).double()  # [B, T]
            out["image_attention"] = torch.stack(
                [(out.pop("pattern_%d" % layer)[rows, :, at, :] * image_keys[:, None, :]).sum(-1)
                 for layer in range(text["num_hidden_layers"])], dim=1)
            for name in [k for k in out if k.startswith(("q_", "k_", "rot_q_", "rot_k_", "resid_post_", "inputs_embeds",
                                                         "image_features_"))]:
                del out[name]
        dh = text.get("head_dim", text["hidden_size"] // text["num_attention_heads"])
        prefix, _ = language_model_names(t)
        for i, heads in enumerate(request.get("zero_heads", [])):
            zeroed = dict(t)
            for layer, head in heads:
                name = prefix + "layers.%d.self_attn.o_proj.weight" % layer
                w = zeroed[name].clone()
                w[:, head * dh:(head + 1) * dh] = 0
                zeroed[name] = w
            logits = qwen2_forward(zeroed, text, embeds, request["mask"], {})["logits"]
            out["logits_zeroed_%d" % i] = logits if answer is None else logits[rows, at]
    payload = {k: {"shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in out.items()}
    with open(output_path, "w") as f:
        json.dump(payload, f)


if __name__ == "__main__":
    main()
