#!/usr/bin/python3
"""Reads an ablation_compare analysis of a `mechlens run` archive with h5py and
recomputes it with the float64 reference (tests/models/reference/ablation_reference.py)
on the same Qwen2 checkpoint and the token ids the archive recorded; prints JSON:

  {"kinds": [...], "inputs": [...], "pairs": [...],
   "stored": [k][i][l][h], "reference": [k][i][l][h]      (the metric, top1_prob_change),
   "spearman": {"stored": [i][p], "reference": [i][p]}, "kendall": {...},
   "spearman_from_stored": [i][p], "kendall_from_stored": [i][p]  (the reference's statistics on the
                                                                  stored matrices: checks the C++ statistics alone),
   "top_layer": [k], "top_head": [k], "negligible_share_all_kinds": {"stored": [i], "reference": [i]}}

usage: reference_ablation_compare.py ARCHIVE CHECKPOINT_DIR ANALYSIS [RUN]
"""
import json
import os
import sys

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "reference"))
from ablation_reference import dataset_mean_z, kendall_tau_b, spearman, top1_prob_change  # noqa: E402
from safetensors_reader import read_checkpoint  # noqa: E402


def text(values):
    return [s.decode() if isinstance(s, bytes) else s for s in values]


def main():
    archive, checkpoint, analysis = sys.argv[1:4]
    with open(os.path.join(checkpoint, "config.json")) as f:
        cfg = json.load(f)
    tensors = read_checkpoint(checkpoint)
    with h5py.File(archive, "r") as f:
        runs = sorted(f["runs"].keys())
        run = f["runs"][sys.argv[4] if len(sys.argv) > 4 else runs[-1]]
        group = run["analyses/" + analysis]
        kinds, pairs = text(group["kind"][()]), text(group["pair"][()])
        inputs = text(run["inputs/input"][()])
        ids = [run["inputs/by_id/" + i]["ids"][()].tolist() for i in inputs]
        positions = [int(run["inputs/by_id/" + i].attrs["answer_position"]) for i in inputs]
        stored = group["sensitivity"][()].tolist()
        threshold = float(group.attrs["threshold"])
        out = {"kinds": kinds, "inputs": inputs, "pairs": pairs, "stored": stored,
               "spearman": {"stored": group["spearman"][()].tolist(), "reference": []},
               "kendall": {"stored": group["kendall"][()].tolist(), "reference": []},
               "spearman_from_stored": [], "kendall_from_stored": [],
               "top_layer": group["top_layer"][()].tolist(), "top_head": group["top_head"][()].tolist(),
               "negligible_share_all_kinds": {"stored": group["negligible_share_all_kinds"][()].tolist(),
                                              "reference": []}}
    means = dataset_mean_z(tensors, cfg, ids)
    reference = [[top1_prob_change(tensors, cfg, x, p, kind, means) for x, p in zip(ids, positions)]
                 for kind in kinds]
    out["reference"] = reference
    flat = lambda m: [abs(v) for row in m for v in row]
    index = {k: n for n, k in enumerate(kinds)}
    for i in range(len(inputs)):
        for name, fn in (("spearman", spearman), ("kendall", kendall_tau_b)):
            out[name]["reference"].append([fn(flat(reference[index[a]][i]), flat(reference[index[b]][i]))
                                           for a, b in (p.split("~") for p in pairs)])
            out[name + "_from_stored"].append([fn(flat(stored[index[a]][i]), flat(stored[index[b]][i]))
                                               for a, b in (p.split("~") for p in pairs)])
        cells = list(zip(*[flat(reference[k][i]) for k in range(len(kinds))]))
        out["negligible_share_all_kinds"]["reference"].append(
            sum(1 for c in cells if all(v < threshold for v in c)) / len(cells))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
