#!/usr/bin/python3
"""Checks an activation_cache group of a mechlens archive against the float64
reference forward (tests/models/reference) on the same checkpoint and the
token ids the archive recorded. Prints JSON per input:

  {"<input id>": {"n_tokens": T, "positions": [...], "datasets": {name: {"dims": [...],
   "shape": [...], "max_abs_diff": d, "max_abs": m}}}}

Stored hook points are compared with the reference's tensor at the stored
positions: blocks.L.hook_resid_post with the stream after layer L [pos, d_model],
blocks.L.attn.hook_pattern with layer L's softmax [head, q_pos, k_pos] (query
rows at the positions), blocks.L.attn.hook_q / hook_k (and Qwen2's hook_rot_q /
hook_rot_k, after the rotation) with the projected queries [pos, head, d_head]
and keys [pos, kv_head, d_head], logits [pos, vocab].

usage: reference_activations.py ARCHIVE CHECKPOINT_DIR ANALYSIS[,ANALYSIS...]
  (several analyses: {"<analysis>": {...as above...}, ...})
"""
import json
import os
import re
import sys

import h5py
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "reference"))
from reference_models import ReferenceModel  # noqa: E402


def reference_for(name, ref, positions):
    if name == "logits":
        return ref["logits"][positions]
    m = re.fullmatch(r"blocks\.(\d+)\.hook_resid_post", name)
    if m:
        return ref["hidden_%s" % m.group(1)][positions]
    m = re.fullmatch(r"blocks\.(\d+)\.attn\.hook_pattern", name)
    if m:
        return ref["pattern_%s" % m.group(1)][:, positions, :]
    # Queries and keys: the reference holds [heads, T, dh], the hook [pos, heads, dh].
    m = re.fullmatch(r"blocks\.(\d+)\.attn\.hook_(q|k|rot_q|rot_k)", name)
    if m:
        return ref["%s_%s" % (m.group(2), m.group(1))].transpose(0, 1)[positions]
    return None


def check(archive, model, analysis):
    out = {}
    with h5py.File(archive, "r") as f:
        run = f["runs"][sorted(f["runs"].keys())[-1]]
        for raw in run["inputs/input"][()]:
            input_id = raw.decode() if isinstance(raw, bytes) else raw
            ids = run["inputs/by_id/" + input_id + "/ids"][()].tolist()
            group = run["analyses/" + analysis + "/" + input_id]
            positions = group["positions"][()].tolist()
            ref = model.forward(ids, internals=True)
            entry = {"n_tokens": len(ids), "positions": positions, "datasets": {}}
            for name, ds in group.items():
                expected = reference_for(name, ref, torch.tensor(positions, dtype=torch.long))
                info = {"dims": [d.decode() if isinstance(d, bytes) else d for d in ds.attrs["dims"]],
                        "shape": list(ds.shape)}
                if expected is not None:
                    stored = torch.from_numpy(ds[()]).double()
                    info["reference_shape"] = list(expected.shape)
                    if list(stored.shape) == list(expected.shape):
                        info["max_abs_diff"] = float((stored - expected).abs().max())
                        info["max_abs"] = float(expected.abs().max())
                entry["datasets"][name] = info
            out[input_id] = entry
    return out


def main():
    archive, checkpoint, analyses = sys.argv[1:4]
    model = ReferenceModel(checkpoint)
    names = analyses.split(",")
    out = {name: check(archive, model, name) for name in names}
    print(json.dumps(out if len(names) > 1 else out[names[0]]))


if __name__ == "__main__":
    main()
