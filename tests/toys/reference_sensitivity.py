#!/usr/bin/python3
"""Reads a `mechlens run` archive with h5py alone and recomputes its
sensitivity_matrix with the float64 reference (tests/models/reference) on the
same checkpoint and the token ids the archive recorded; prints JSON:

  {"inputs": [...], "metrics": {name: {"stored": [i][l][h], "reference": [i][l][h]}},
   "stored_top_token": [...], "reference_top_token": [...], "attrs": {largest_layer, largest_head}}

usage: reference_sensitivity.py ARCHIVE CHECKPOINT_DIR|- [RUN]
  with "-" for the checkpoint, only what is stored ("reference" lists are empty)
"""
import json
import os
import sys

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "reference"))
from reference_models import ReferenceModel, sensitivity  # noqa: E402


def main():
    archive, checkpoint = sys.argv[1:3]
    model = ReferenceModel(checkpoint) if checkpoint != "-" else None
    with h5py.File(archive, "r") as f:
        runs = sorted(f["runs"].keys())
        run = f["runs"][sys.argv[3] if len(sys.argv) > 3 else runs[-1]]
        group = run["analyses/sensitivity_matrix"]
        ids = [s.decode() if isinstance(s, bytes) else s for s in run["inputs/input"][()]]
        out = {"inputs": ids, "metrics": {}, "attrs": {k: int(group.attrs[k]) for k in ("largest_layer", "largest_head")},
               "stored_top_token": group["baseline_token"][()].tolist(), "reference_top_token": []}
        reference = {"top1_prob_change": [], "kl": [], "logit_diff": []}
        for input_id in ids if model else []:
            by_id = run["inputs/by_id/" + input_id]
            r = sensitivity(model, by_id["ids"][()].tolist(), int(by_id.attrs["answer_position"]))
            out["reference_top_token"].append(r["top_token"])
            for k in reference:
                reference[k].append(r[k])
        for k, v in reference.items():
            out["metrics"][k] = {"stored": group[k][()].tolist(), "reference": v}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
