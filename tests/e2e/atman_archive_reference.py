#!/usr/bin/python3
"""Recomputes an atman analysis of a mechlens archive (Qwen2 checkpoint) with
the independent float64 AtMan reference (tests/models/reference/
atman_reference.py: factor rows, the score edit, cross-entropies), from what
the archive recorded: each input's token ids (prompt + teacher-forced target),
the explained positions, the target ids and positions, and the analysis'
parameters (factor, conceptual, kappa, layers). Reads with h5py alone.

Prints JSON: {"score_max_abs_diff", "score_max_abs", "clean_max_abs_diff",
"relevance_max_abs_diff", "explained": count, "inputs": count}.

usage: atman_archive_reference.py ARCHIVE CHECKPOINT_DIR [ANALYSIS]
"""
import json
import math
import os
import sys

import h5py
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "reference"))
from atman_reference import cross_entropy, factor_rows  # noqa: E402
from qwen2_reference import embed_tokens, qwen2_forward  # noqa: E402
from safetensors_reader import read_checkpoint  # noqa: E402


def main():
    archive, checkpoint = sys.argv[1:3]
    analysis = sys.argv[3] if len(sys.argv) > 3 else "atman"
    with open(os.path.join(checkpoint, "config.json")) as f:
        cfg = json.load(f)
    cfg = cfg.get("text_config", cfg)
    tensors = read_checkpoint(checkpoint)
    out = {"score_max_abs_diff": 0.0, "score_max_abs": 0.0, "clean_max_abs_diff": 0.0,
           "relevance_max_abs_diff": 0.0, "explained": 0, "inputs": 0}
    with h5py.File(archive, "r") as f:
        run = f["runs"][sorted(f["runs"].keys())[-1]]
        g = run["analyses/" + analysis]
        attrs = g.attrs
        factor, conceptual, kappa = float(attrs["param.factor"]), bool(attrs["param.conceptual"]), float(attrs["param.kappa"])
        layers = set(int(x) for x in attrs["param.layers"]) or set(range(cfg["num_hidden_layers"]))
        squared = attrs["aggregate"] == "squared_sum"
        for row in range(g["token_id"].shape[0]):
            ids = [int(i) for i in g["token_id"][row] if i >= 0]
            keep = [t for t in range(g["target_id"].shape[1]) if g["target_id"][row, t] >= 0]
            targets = [int(g["target_id"][row, t]) for t in keep]
            positions = [int(g["target_position"][row, t]) for t in keep]
            explained = [p for p in range(len(ids)) if g["explained"][row, p]]
            with torch.no_grad():
                embeds = embed_tokens(tensors, [ids]).double()
                mask = [[1] * len(ids)]
                clean = cross_entropy(qwen2_forward(tensors, cfg, embeds, mask, {})["logits"], positions, targets)
                for t, c in zip(keep, clean.tolist()):
                    out["clean_max_abs_diff"] = max(out["clean_max_abs_diff"], abs(g["clean_cross_entropy"][row, t] - c))
                factors = factor_rows(embeds[0], explained, factor, conceptual, kappa)
                for r, p in enumerate(explained):
                    def edit(layer, s, frow=factors[r]):
                        if layer not in layers:
                            return s
                        return (s - s.min(dim=-1, keepdim=True).values) * frow[None, None, None, :]
                    logits = qwen2_forward(tensors, cfg, embeds, mask, {}, edit_scores=edit)["logits"]
                    score = (clean - cross_entropy(logits, positions, targets)).tolist()
                    for t, s in zip(keep, score):
                        stored = float(g["score"][row, p, t])
                        diff = abs(stored - s) if not math.isnan(stored) else math.inf
                        out["score_max_abs_diff"] = max(out["score_max_abs_diff"], diff)
                        out["score_max_abs"] = max(out["score_max_abs"], abs(s))
                    relevance = sum(x * x for x in score) if squared else sum(score)
                    out["relevance_max_abs_diff"] = max(out["relevance_max_abs_diff"],
                                                        abs(float(g["relevance"][row, p]) - relevance))
                    out["explained"] += 1
            out["inputs"] += 1
    print(json.dumps(out))


if __name__ == "__main__":
    main()
