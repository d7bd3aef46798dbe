#!/usr/bin/python3
"""Independent reference for mechlens' Phi-4-multimodal image path.

Geometry and pixels are transcribed from Microsoft's processing_phi4mm.py
(Phi4MMImageProcessor.dynamic_preprocess / preprocess): PIL BILINEAR resize,
white pad right/bottom, the patch mask, num_img_tokens, ToTensor/Normalize and
the bicubic global view (written here as a float64 separable cubic
convolution with torch's upsample_bicubic2d rules: a = -0.75, half-pixel
centres, clamped taps, no antialias). The encoder is transcribed from
modeling_phi4mm.py (Phi4MMImageEmbedding.get_img_features / forward, HD
branch) and vision_siglip_navit.py (SiglipVisionEmbeddings with
patch_attention_mask: NaViT bucketised position ids; key-masked eager
attention), all in float64.

usage (DIR is the checkpoint for "encode", ignored otherwise):
  phi4mm_vision_reference.py geometry DIR INPUT.json OUTPUT.json
      INPUT  {"cases": [[w, h, crop_size, patch_size, dynamic_hd], ...]}
      OUTPUT {"geometry": [n, 11]: crops_w, crops_h, resized_w, resized_h, pad_w, pad_h,
                            mask_rows, mask_cols, token_rows, token_cols, tokens (all -1: refused)}
  phi4mm_vision_reference.py preprocess DIR INPUT.json OUTPUT.json
      INPUT  {"images": [{"image": PATH, "crop_size", "patch_size", "dynamic_hd"}, ...]}
      OUTPUT {"pixel_values_K", "patch_mask_K", "canvas_K"} per image K as {"shape", "data"}
  phi4mm_vision_reference.py encode DIR INPUT.json OUTPUT.json
      INPUT  {"pixel_values": [...], "shape": [N, 3, S, S], "patch_mask": [...] (N x G x G of 0/1),
              "image_size": [h, w] (of the HD canvas, as the processor's image_sizes)}
             or {"image": PATH} (preprocessed here, crop size from config.json, dynamic_hd from
              preprocessor_config.json)
      OUTPUT {"image_embeds": [tokens, d_model], "features": [N, P, Dv]} as {"shape", "data"}

For the whole-forward reference: image_file_embeddings(tensors, config, directory,
path) (or image_embeddings(tensors, config, pixel_values, patch_mask, canvas_hw)
for given pixels) returns the [tokens, d_model] rows that replace the image
token positions (image_token_id(config)) in order.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_reader import read_checkpoint  # noqa: E402

IMAGE_EMBED = "model.embed_tokens_extend.image_embed."


# ---------------------------------------------------------------- processor

def find_closest_aspect_ratio(aspect_ratio, target_ratios, width, height, image_size):
    best_ratio_diff = float("inf")
    best_ratio = (1, 1)
    area = width * height
    for ratio in target_ratios:
        target_aspect_ratio = ratio[0] / ratio[1]
        ratio_diff = abs(aspect_ratio - target_aspect_ratio)
        if ratio_diff < best_ratio_diff:
            best_ratio_diff = ratio_diff
            best_ratio = ratio
        elif ratio_diff == best_ratio_diff:
            if area > 0.5 * image_size * image_size * ratio[0] * ratio[1]:
                best_ratio = ratio
    return best_ratio


def dynamic_geometry(orig_width, orig_height, max_num, image_size, patch_size):
    """dynamic_preprocess without the pixels: target grid, resize, pad, mask."""
    mask_size = image_size // patch_size
    min_num = 1
    w_crop_num = math.ceil(orig_width / float(image_size))
    h_crop_num = math.ceil(orig_height / float(image_size))
    if w_crop_num * h_crop_num > max_num:
        aspect_ratio = orig_width / orig_height
        target_ratios = set((i, j) for n in range(min_num, max_num + 1) for i in range(1, n + 1)
                            for j in range(1, n + 1) if i * j <= max_num and i * j >= min_num)
        target_ratios = sorted(target_ratios, key=lambda x: x[0] * x[1])
        target_aspect_ratio = find_closest_aspect_ratio(aspect_ratio, target_ratios, orig_width, orig_height,
                                                        image_size)
        target_width = image_size * target_aspect_ratio[0]
        target_height = image_size * target_aspect_ratio[1]
    else:
        target_width = image_size * w_crop_num
        target_height = image_size * h_crop_num
        target_aspect_ratio = (w_crop_num, h_crop_num)
    ratio_width = target_width / orig_width
    ratio_height = target_height / orig_height
    if ratio_width < ratio_height:
        new_size = (target_width, int(orig_height * ratio_width))
        padding_width = 0
        padding_height = target_height - int(orig_height * ratio_width)
    else:
        new_size = (int(orig_width * ratio_height), target_height)
        padding_width = target_width - int(orig_width * ratio_height)
        padding_height = 0
    attention_mask = torch.ones((int(mask_size * target_aspect_ratio[1]), int(mask_size * target_aspect_ratio[0])))
    if padding_width >= patch_size:
        attention_mask[:, -math.floor(padding_width / patch_size):] = 0
    if padding_height >= patch_size:
        attention_mask[-math.floor(padding_height / patch_size):, :] = 0
    if min(new_size[1], target_height) < 10 or min(new_size[0], target_width) < 10:
        raise ValueError("the aspect ratio is very extreme %s" % (new_size,))
    return target_aspect_ratio, new_size, padding_width, padding_height, attention_mask


def downsampled_mask(attention_mask, mask_resolution):
    """preprocess(): the per-crop masks sampled at even rows/columns, as one grid."""
    h, w = attention_mask.shape
    mask = attention_mask.reshape(1, h // mask_resolution, mask_resolution, w // mask_resolution,
                                  mask_resolution).permute(0, 1, 3, 2, 4).reshape(-1, mask_resolution, mask_resolution)
    half = mask_resolution // 2 + mask_resolution % 2
    mask = mask[:, 0::2, 0::2].reshape(1, h // mask_resolution, w // mask_resolution, half, half).permute(0, 1, 3, 2, 4)
    return mask.reshape(mask.size(1) * mask.size(2), mask.size(3) * mask.size(4))


def geometry(width, height, image_size, patch_size, dynamic_hd):
    mask_resolution = image_size // patch_size
    (cw, ch), new_size, pad_w, pad_h, mask = dynamic_geometry(width, height, dynamic_hd, image_size, patch_size)
    down = downsampled_mask(mask, mask_resolution)
    side = mask_resolution // 2 + mask_resolution % 2
    # num_img_tokens (the processor writes 256 and 16 for the 448 / 14 case).
    tokens = side * side + 1 + int(down.sum().item()) + int(down[:, 0].sum().item()) + side
    return {"crops_w": cw, "crops_h": ch, "resized_w": new_size[0], "resized_h": new_size[1], "pad_w": pad_w,
            "pad_h": pad_h, "mask_rows": int(mask[:, 0].sum().item()), "mask_cols": int(mask[0].sum().item()),
            "token_rows": int(down[:, 0].sum().item()), "token_cols": int(down[0].sum().item()), "tokens": tokens}


def cubic_matrix(n_in, n_out):
    """torch upsample_bicubic2d along one axis (align_corners=False) as an [n_out, n_in] matrix."""
    A = -0.75
    scale = n_in / n_out
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        src = (i + 0.5) * scale - 0.5
        x0 = math.floor(src)
        t = src - x0
        w = [((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A,
             ((A + 2) * t - (A + 3)) * t * t + 1,
             ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1,
             ((A * (2 - t) - 5 * A) * (2 - t) + 8 * A) * (2 - t) - 4 * A]
        for k in range(4):
            m[i, min(max(x0 - 1 + k, 0), n_in - 1)] += w[k]
    return m


def preprocess(path, image_size, patch_size, dynamic_hd):
    from PIL import Image
    image = Image.open(path).convert("RGB")
    width, height = image.size
    (cw, ch), new_size, pad_w, pad_h, mask = dynamic_geometry(width, height, dynamic_hd, image_size, patch_size)
    resized = image.resize(new_size, Image.BILINEAR)
    canvas = Image.new("RGB", (new_size[0] + pad_w, new_size[1] + pad_h), (255, 255, 255))
    canvas.paste(resized, (0, 0))
    u8 = np.asarray(canvas, dtype=np.float64)  # H, W, 3
    hd = np.ascontiguousarray((u8.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5)  # contiguous: BLAS matmuls below
    H, W = hd.shape[1:]
    S, G = image_size, image_size // patch_size
    crops = hd.reshape(3, ch, S, cw, S).transpose(1, 3, 0, 2, 4).reshape(-1, 3, S, S)
    wy, wx = cubic_matrix(H, S), np.ascontiguousarray(cubic_matrix(W, S).T)
    glob = np.stack([wy @ hd[c] @ wx for c in range(3)])[None]
    masks = mask.numpy().reshape(ch, G, cw, G).transpose(0, 2, 1, 3).reshape(-1, G, G)
    masks = np.concatenate([np.ones((1, G, G)), masks], axis=0)
    return np.concatenate([glob, crops], axis=0), masks, np.asarray(canvas)


# ---------------------------------------------------------------- encoder

def vision_config(cfg):
    """The tower sizes: the config's vision_config, else the remote code's SigLIP-so400m at 448."""
    v = dict(cfg.get("vision_config") or {})
    so400m = {"hidden_size": 1152, "intermediate_size": 4304, "num_hidden_layers": 27, "num_attention_heads": 16,
              "image_size": 448, "patch_size": 14, "layer_norm_eps": 1e-6}
    for k, val in so400m.items():
        v.setdefault(k, val)
    if "feature_layer" not in v:
        proc = cfg.get("img_processor")
        v["feature_layer"] = proc.get("layer_idx", -2) if isinstance(proc, dict) else -2
    return v


def navit_position_ids(masks, num_patches_per_side):
    """vision_siglip_navit.SiglipVisionEmbeddings.forward, verbatim in float32 torch."""
    batch_size = masks.shape[0]
    boundaries = torch.arange(1 / num_patches_per_side, 1.0, 1 / num_patches_per_side)
    position_ids = torch.full(size=(batch_size, masks.shape[1] * masks.shape[2]), fill_value=0)
    for batch_idx, p_attn_mask in enumerate(masks):
        nb_patches_h = p_attn_mask[:, 0].sum()
        nb_patches_w = p_attn_mask[0].sum()
        fractional_coords_h = torch.arange(0, 1 - 1e-6, 1 / nb_patches_h)
        fractional_coords_w = torch.arange(0, 1 - 1e-6, 1 / nb_patches_w)
        bucket_coords_h = torch.bucketize(fractional_coords_h, boundaries, right=True)
        bucket_coords_w = torch.bucketize(fractional_coords_w, boundaries, right=True)
        pos_ids = (bucket_coords_h[:, None] * num_patches_per_side + bucket_coords_w).flatten()
        position_ids[batch_idx][p_attn_mask.reshape(-1)] = pos_ids  # upstream .view(-1); numpy-made masks may not be contiguous
    return position_ids


def tower_features(t, v, pixels, masks):
    prefix = IMAGE_EMBED + "img_processor."
    D, H, P = v["hidden_size"], v["num_attention_heads"], v["patch_size"]
    dh, eps = D // H, v["layer_norm_eps"]
    G = v["image_size"] // P
    w = lambda n: t[prefix + n]
    x = F.conv2d(pixels, w("embeddings.patch_embedding.weight"), w("embeddings.patch_embedding.bias"), stride=P)
    x = x.flatten(2).transpose(1, 2)
    x = x + w("embeddings.position_embedding.weight")[navit_position_ids(masks, G)]
    N, T, _ = x.shape
    keys = masks.reshape(N, 1, 1, T)
    layer = v["feature_layer"]
    # hidden_states has num_hidden_layers + 1 entries (0 = embeddings): [-2] is after num_hidden_layers - 1 layers.
    wanted = v["num_hidden_layers"] + 1 + layer if layer < 0 else layer
    for i in range(wanted):
        p = "encoder.layers.%d." % i
        ln = lambda u, n: F.layer_norm(u, (D,), w(p + n + ".weight"), w(p + n + ".bias"), eps)
        lin = lambda u, n: u @ w(p + n + ".weight").T + w(p + n + ".bias")
        h = ln(x, "layer_norm1")
        q = lin(h, "self_attn.q_proj").view(N, T, H, dh).transpose(1, 2)
        k = lin(h, "self_attn.k_proj").view(N, T, H, dh).transpose(1, 2)
        val = lin(h, "self_attn.v_proj").view(N, T, H, dh).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) * dh ** -0.5
        scores = scores.masked_fill(~keys, torch.finfo(torch.float64).min)  # HF adds finfo.min: the same softmax
        a = torch.softmax(scores, dim=-1) @ val
        x = x + lin(a.transpose(1, 2).reshape(N, T, D), "self_attn.out_proj")
        x = x + lin(F.gelu(lin(ln(x, "layer_norm2"), "mlp.fc1"), approximate="tanh"), "mlp.fc2")
    return x


def separators_and_projection(t):
    if IMAGE_EMBED + "glb_GN" in t:
        return (t[IMAGE_EMBED + "glb_GN"], t[IMAGE_EMBED + "sub_GN"], IMAGE_EMBED + "img_projection.0.",
                IMAGE_EMBED + "img_projection.2.")
    return (t[IMAGE_EMBED + "global_img_feature_extensor"], t[IMAGE_EMBED + "sub_img_feature_extensor"],
            IMAGE_EMBED + "img_projection_up.", IMAGE_EMBED + "img_projection_down.")


def image_embeddings(t, cfg, pixel_values, patch_mask, canvas_hw, out=None):
    """Phi4MMImageEmbedding.forward's HD branch for one image (hd_transform_order sub_glb)."""
    v = vision_config(cfg)
    crop = cfg.get("embd_layer", {}).get("image_embd_layer", {}).get("crop_size", v.get("crop_size", 448))
    masks = patch_mask.bool()
    feats = tower_features(t, v, pixel_values, masks)
    if out is not None:
        out["features"] = feats
    C = feats.shape[-1]
    width = int(math.sqrt(feats.size(1)))
    pf = feats.view(-1, width, width, C).permute(0, 3, 1, 2)
    if width % 2 != 0:
        pf = torch.nn.ReflectionPad2d((0, 1, 0, 1))(pf)
    pf = torch.nn.AvgPool2d(kernel_size=2, stride=2)(pf).permute(0, 2, 3, 1)
    img_features = pf.reshape(1, -1, pf.size(1) * pf.size(2), C)
    glb_GN, sub_GN, up, down = separators_and_projection(t)
    H = pf.size(1)
    h, w = canvas_hw[0] // crop, canvas_hw[1] // crop
    B_ = h * w
    global_img_feature = img_features[0, :1]
    glb_img = global_img_feature.reshape(1, H, H, C)
    glb_img = torch.cat([glb_img, sub_GN.repeat(1, H, 1, 1)], dim=2).reshape(1, -1, C)
    sub_img = img_features[0, 1:][:B_]
    sub_img = sub_img.reshape(1, h, w, H, H, -1).permute(0, 1, 3, 2, 4, 5).reshape(1, h * H, w * H, C)
    m = patch_mask[1:B_ + 1, 0::2, 0::2].reshape(1, h, w, H, H).permute(0, 1, 3, 2, 4).reshape(1, h * H, w * H)
    useful_height = int(m[0, :, 0].sum().item())
    useful_width = int(m[0, 0, :].sum().item())
    sub_img = sub_img[:, :useful_height, :useful_width]
    sub_img = torch.cat([sub_img, sub_GN.repeat(1, useful_height, 1, 1)], dim=2).reshape(1, -1, C)
    temp_len = int(patch_mask[:B_ + 1, 0::2, 0::2].sum().item()) + (useful_height + 1) + H
    combined = torch.cat([sub_img, glb_GN, glb_img], dim=1)
    assert temp_len == combined.shape[1], (temp_len, combined.shape)
    x = F.gelu(combined @ t[up + "weight"].T + t[up + "bias"])  # nn.GELU(): exact erf
    x = x @ t[down + "weight"].T + t[down + "bias"]
    return x[0]


def image_file_embeddings(t, cfg, directory, path, out=None):
    """The whole image path for an image file: this file's preprocessing (crop
    size from config.json, dynamic_hd from preprocessor_config.json), then
    image_embeddings. For the whole-forward reference: the rows that replace
    the image tokens, in order."""
    v = vision_config(cfg)
    crop = cfg.get("embd_layer", {}).get("image_embd_layer", {}).get("crop_size", v.get("crop_size", 448))
    dynamic_hd = 36
    pre = os.path.join(directory, "preprocessor_config.json")
    if os.path.exists(pre):
        with open(pre) as f:
            dynamic_hd = json.load(f).get("dynamic_hd", 36)
    pv, mask, canvas = preprocess(path, crop, v["patch_size"], dynamic_hd)
    return image_embeddings(t, cfg, torch.from_numpy(pv), torch.from_numpy(mask), list(canvas.shape[:2]), out)


def image_token_id(cfg):
    return (cfg.get("vision_config") or {}).get("image_token_id", 200010)


def dump(out, path):
    payload = {k: {"shape": list(np.shape(v)), "data": np.asarray(v, dtype=np.float64).reshape(-1).tolist()}
               for k, v in out.items()}
    with open(path, "w") as f:
        json.dump(payload, f)


GEOMETRY_KEYS = ["crops_w", "crops_h", "resized_w", "resized_h", "pad_w", "pad_h", "mask_rows", "mask_cols",
                 "token_rows", "token_cols", "tokens"]


def main():
    mode, directory, input_path, output_path = sys.argv[1:5]
    with open(input_path) as f:
        req = json.load(f)
    if mode == "geometry":
        rows = []
        for w, h, crop, patch, dynamic_hd in req["cases"]:
            try:
                g = geometry(w, h, crop, patch, dynamic_hd)
                rows.append([g[k] for k in GEOMETRY_KEYS])
            except ValueError:
                rows.append([-1] * len(GEOMETRY_KEYS))
        dump({"geometry": np.asarray(rows, dtype=np.float64).reshape(len(rows), len(GEOMETRY_KEYS))}, output_path)
    elif mode == "preprocess":
        out = {}
        for k, im in enumerate(req["images"]):
            pv, masks, canvas = preprocess(im["image"], im["crop_size"], im["patch_size"], im["dynamic_hd"])
            out.update({"pixel_values_%d" % k: pv, "patch_mask_%d" % k: masks, "canvas_%d" % k: canvas})
        dump(out, output_path)
    elif mode == "encode":
        with open(os.path.join(directory, "config.json")) as f:
            cfg = json.load(f)
        t = read_checkpoint(directory)
        v = vision_config(cfg)
        if "image" in req:  # the whole path: this file's preprocessing, then the encoder
            out = {}
            with torch.no_grad():
                out["image_embeds"] = image_file_embeddings(t, cfg, directory, req["image"], out)
            dump({k: val.numpy() for k, val in out.items()}, output_path)
            return
        else:
            pv = torch.tensor(req["pixel_values"], dtype=torch.float64).view(req["shape"])
            n, _, s, _ = req["shape"]
            g = s // v["patch_size"]
            mask = torch.tensor(req["patch_mask"], dtype=torch.float64).view(n, g, g)
            canvas_hw = req["image_size"]
        out = {}
        with torch.no_grad():
            out["image_embeds"] = image_embeddings(t, cfg, pv, mask, canvas_hw, out)
        dump({k: val.numpy() for k, val in out.items()}, output_path)
    else:
        raise SystemExit("unknown mode " + mode)


if __name__ == "__main__":
    main()
