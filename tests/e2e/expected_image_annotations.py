#!/usr/bin/python3
"""The crop/row/col annotation every image token of a LLaVA-OneVision input
must carry, derived here from the checkpoint's config.json (the processor's
grid: image_size, patch_size, image_grid_pinpoints, vision_aspect_ratio) and
the original image size, with the reference's own select_best_resolution and
unpad_image (tests/models/reference/llava_onevision_reference.py), next to
what the archive stored (inputs/by_id/<id>/crop,row,col). Prints JSON:

  {"<input id>": {"stored": [[crop, row, col], ...], "expected": [...], "crops": 1 + tiles}}

Expected order (transformers' pack_image_features): the base crop's
side x side patches, crop 0, row-major; then the tiles merged into one grid,
unpadded (and downscaled past anyres_max), crop 1, row-major, each row
followed by its newline token at col = the grid's width.

usage: expected_image_annotations.py ARCHIVE CHECKPOINT_DIR
"""
import json
import math
import os
import sys

import h5py
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "reference"))
from llava_onevision_reference import select_best_resolution, unpad_image  # noqa: E402


def expected(cfg, height, width):
    v = cfg["vision_config"]
    side = v["image_size"] // v["patch_size"]
    out = [[0, r, c] for r in range(side) for c in range(side)]
    bh, bw = select_best_resolution((height, width), cfg["image_grid_pinpoints"])
    rows, cols = bh // v["image_size"] * side, bw // v["image_size"] * side
    grid = unpad_image(torch.zeros(1, rows, cols), (height, width))
    h, w = grid.shape[1:]
    max_num = int(cfg.get("vision_aspect_ratio", "anyres_max_9").strip("anyres_max_"))
    ratio = math.sqrt(h * w / (max_num * side ** 2))
    if ratio > 1.1:
        h, w = int(h // ratio), int(w // ratio)
    for r in range(h):
        out += [[1, r, c] for c in range(w + 1)]  # c == w: the row's newline
    tiles = (bh // v["image_size"]) * (bw // v["image_size"])
    return out, 1 + tiles


def main():
    archive, checkpoint = sys.argv[1:3]
    with open(os.path.join(checkpoint, "config.json")) as f:
        cfg = json.load(f)
    out = {}
    with h5py.File(archive, "r") as f:
        run = f["runs"][sorted(f["runs"].keys())[-1]]
        for raw in run["inputs/input"][()]:
            input_id = raw.decode() if isinstance(raw, bytes) else raw
            g = run["inputs/by_id/" + input_id]
            if "image_width" not in g.attrs:
                continue
            crop, row, col = g["crop"][()].tolist(), g["row"][()].tolist(), g["col"][()].tolist()
            stored = [[c, r, k] for c, r, k in zip(crop, row, col) if c >= 0]
            exp, crops = expected(cfg, int(g.attrs["image_height"]), int(g.attrs["image_width"]))
            out[input_id] = {"stored": stored, "expected": exp, "crops": crops}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
