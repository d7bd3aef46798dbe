#!/usr/bin/python3
"""Golden image-token counts for LLaVA-OneVision, computed with the rule of
transformers' LlavaOnevisionProcessor (processing_llava_onevision.py,
_get_number_of_features / _get_unpadded_features, with the
int(round(x, 7)) of current versions) and select_best_resolution
(image_processing_utils.py), rewritten here in plain Python.

Writes tests/models/fixtures/llava_token_counts.json:
  {"pinpoints": [[h, w], ...], "crop": 384, "patch": 14,
   "counts": [{"height": h, "width": w, "tokens": n, "best": [bh, bw]}, ...]}
"""
import json
import math
import os
import random

CROP, PATCH = 384, 14
PINPOINTS = [[CROP * i, CROP * j] for i in range(1, 7) for j in range(1, 7)]


def select_best_resolution(original_size, possible_resolutions):
    original_height, original_width = original_size
    best_fit = None
    max_effective_resolution = 0
    min_wasted_resolution = float("inf")
    for height, width in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        downscaled_width, downscaled_height = int(original_width * scale), int(original_height * scale)
        effective_resolution = min(downscaled_width * downscaled_height, original_width * original_height)
        wasted_resolution = (width * height) - effective_resolution
        if effective_resolution > max_effective_resolution or (
            effective_resolution == max_effective_resolution and wasted_resolution < min_wasted_resolution
        ):
            max_effective_resolution = effective_resolution
            min_wasted_resolution = wasted_resolution
            best_fit = (height, width)
    return best_fit


def unpadded_features(height, width, patches_height, patches_width, scale_height, scale_width):
    current_height = patches_height * scale_height
    current_width = patches_width * scale_width
    original_aspect_ratio = width / height
    current_aspect_ratio = current_width / current_height
    if original_aspect_ratio > current_aspect_ratio:
        new_height = int(round(height * (current_width / width), 7))
        padding = (current_height - new_height) // 2
        current_height -= padding * 2
    else:
        new_width = int(round(width * (current_height / height), 7))
        padding = (current_width - new_width) // 2
        current_width -= padding * 2
    unpadded = current_height * current_width
    newline = current_height
    ratio = math.sqrt(current_height * current_width / (9 * patches_height**2))
    if ratio > 1.1:
        unpadded = int(current_height // ratio) * int(current_width // ratio)
        newline = int(current_height // ratio)
    return unpadded, newline


def number_of_features(orig_height, orig_width, height=CROP, width=CROP):
    best_h, best_w = select_best_resolution([orig_height, orig_width], PINPOINTS)
    scale_height, scale_width = best_h // height, best_w // width
    patches_height = height // PATCH
    patches_width = width // PATCH
    unpadded, newline = unpadded_features(orig_height, orig_width, patches_height, patches_width, scale_height, scale_width)
    return unpadded + newline + patches_height * patches_width, (best_h, best_w)


def main():
    sizes = [(384, 384), (480, 640), (300, 1000), (2000, 2000), (640, 480), (1000, 300), (1, 1), (100, 3000),
             (3000, 100), (768, 1024), (1080, 1920), (337, 599), (2304, 2304), (4000, 3000), (383, 385)]
    rng = random.Random(2024)
    sizes += [(rng.randint(1, 4000), rng.randint(1, 4000)) for _ in range(300)]
    counts = []
    for h, w in sizes:
        n, best = number_of_features(h, w)
        counts.append({"height": h, "width": w, "tokens": n, "best": list(best)})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "llava_token_counts.json")
    with open(out, "w") as f:
        json.dump({"pinpoints": PINPOINTS, "crop": CROP, "patch": PATCH, "counts": counts}, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
