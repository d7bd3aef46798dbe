#!/usr/bin/python3
"""Independent AtMan reference (Deiseroth et al., arXiv 2301.08110; code
Aleph-Alpha/AtMan) on a Qwen2 or LLaVA-OneVision checkpoint, in float64 plain PyTorch, written
from the method's description (../shared/METHODS.md), not from mechlens:

  embeddings e_t of the prompt + target (the LM input), cosine in float32
  factor row r for explained token j_r:  f at j_r; with correlated
      suppression every t with cos(e_j, e_t) >= kappa gets f + (1 - f)(1 - cos);
      every other key 1
  in every layer (or the listed ones), every head: the raw scores
      s = q k^T / sqrt(d) before the causal mask; s <- (s - min over the whole
      row) * factor[key]; then mask and softmax
  score[r, p] = CE_clean(target p) - CE_suppressed_r(target p)

With an "image" in INPUT.json (a LLaVA-OneVision checkpoint) the embeddings
are llava_onevision_reference.py's: token embeddings with the image's
projected, packed features at its image positions (pixel values given by the
caller, as the LLaVA reference tests do).

usage: atman_reference.py CHECKPOINT_DIR INPUT.json OUTPUT.json
  INPUT.json {"ids": [...], "positions": [...], "targets": [...],
              "image": {"pixel_values": [...], "shape": [N, 3, S, S], "image_size": [h, w]} (optional),
              "cases": [{"explained": [...], "factor": f, "conceptual": bool, "kappa": k,
                         "layers": [...] (empty = all)}, ...]}
  OUTPUT.json {"score_<case>": {...}, "factors_<case>": {...}, "clean": {...}}
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llava_onevision_reference import inputs_embeds  # noqa: E402
from qwen2_reference import embed_tokens, qwen2_forward  # noqa: E402
from safetensors_reader import read_checkpoint  # noqa: E402


def factor_rows(embeds, explained, f, conceptual, kappa):
    e = embeds.float()
    rows = torch.ones(len(explained), e.shape[0], dtype=torch.float64)
    for r, j in enumerate(explained):
        if conceptual:
            cos = torch.nn.functional.cosine_similarity(e[j][None, :], e, dim=-1).double().clamp(-1, 1)
            similar = cos >= kappa
            rows[r][similar] = f + (1 - f) * (1 - cos[similar])
        rows[r][j] = f
    return rows


def cross_entropy(logits, positions, targets):
    log_probs = torch.log_softmax(logits[0], dim=-1)
    return torch.stack([-log_probs[p, t] for p, t in zip(positions, targets)])


def main():
    directory, input_path, output_path = sys.argv[1:4]
    with open(input_path) as f:
        req = json.load(f)
    with open(os.path.join(directory, "config.json")) as f:
        full_cfg = json.load(f)
    cfg = full_cfg.get("text_config", full_cfg)
    tensors = read_checkpoint(directory)
    ids = req["ids"]
    out = {}
    with torch.no_grad():
        if req.get("image") is not None:
            embeds = inputs_embeds(tensors, full_cfg, [ids], [req["image"]]).double()
        else:
            embeds = embed_tokens(tensors, [ids]).double()
        mask = [[1] * len(ids)]
        clean = cross_entropy(qwen2_forward(tensors, cfg, embeds, mask, {})["logits"], req["positions"], req["targets"])
        out["clean"] = clean
        for c, case in enumerate(req["cases"]):
            layers = set(case.get("layers") or range(cfg["num_hidden_layers"]))
            factors = factor_rows(embeds[0], case["explained"], case["factor"], case["conceptual"], case["kappa"])
            scores = []
            for row in factors:
                def edit(layer, s, row=row, layers=layers):
                    if layer not in layers:
                        return s
                    shifted = s - s.min(dim=-1, keepdim=True).values
                    return shifted * row[None, None, None, :]
                logits = qwen2_forward(tensors, cfg, embeds, mask, {}, edit_scores=edit)["logits"]
                scores.append(clean - cross_entropy(logits, req["positions"], req["targets"]))
            out["score_%d" % c] = torch.stack(scores)
            out["factors_%d" % c] = factors
    payload = {k: {"shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in out.items()}
    with open(output_path, "w") as f:
        json.dump(payload, f)


if __name__ == "__main__":
    main()
