#!/usr/bin/python3
"""Reads a `mechlens run` archive with h5py alone and recomputes its
sensitivity_matrix with the float64 reference (tests/models/reference) on the
same checkpoint and the token ids the archive recorded; prints JSON:

  {"inputs": [...], "metrics": {name: {"stored": [i][l][h], "reference": [i][l][h]}},
   "stored_top_token": [...], "reference_top_token": [...], "attrs": {largest_layer, largest_head},
   "stored_top_prob": [...], "reference_top_prob": [...] (baseline_prob),
   "stored_top_token_str": [...], "reference_top_token_str": [...] (baseline_token_str: the
   reference's top token as the checkpoint's vocabulary file spells it, vocab.txt or tokenizer.json)}

usage: reference_sensitivity.py ARCHIVE CHECKPOINT_DIR|- [RUN]
  with "-" for the checkpoint, only what is stored ("reference" lists are empty)
"""
import json
import os
import sys

import h5py


def vocabulary(checkpoint):
    """id -> token string from the checkpoint's own files (no tokenizer library)."""
    vocab_txt = os.path.join(checkpoint, "vocab.txt")
    if os.path.exists(vocab_txt):
        with open(vocab_txt, encoding="utf-8") as f:
            return {i: line.rstrip("\n") for i, line in enumerate(f)}
    with open(os.path.join(checkpoint, "tokenizer.json"), encoding="utf-8") as f:
        tokenizer = json.load(f)
    spelled = {i: token for token, i in tokenizer["model"]["vocab"].items()}
    spelled.update({t["id"]: t["content"] for t in tokenizer.get("added_tokens", [])})
    return spelled

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
               "stored_top_token": group["baseline_token"][()].tolist(), "reference_top_token": [],
               "stored_top_prob": group["baseline_prob"][()].tolist(), "reference_top_prob": [],
               "stored_top_token_str": [s.decode() if isinstance(s, bytes) else s
                                        for s in group["baseline_token_str"][()]],
               "reference_top_token_str": []}
        spelled = vocabulary(checkpoint) if model else {}
        reference = {"top1_prob_change": [], "kl": [], "logit_diff": []}
        for input_id in ids if model else []:
            by_id = run["inputs/by_id/" + input_id]
            r = sensitivity(model, by_id["ids"][()].tolist(), int(by_id.attrs["answer_position"]))
            out["reference_top_token"].append(r["top_token"])
            out["reference_top_prob"].append(r["top_prob"])
            out["reference_top_token_str"].append(spelled[r["top_token"]])
            for k in reference:
                reference[k].append(r[k])
        for k, v in reference.items():
            if k not in group:  # a recipe that asked for fewer metrics
                continue
            out["metrics"][k] = {"stored": group[k][()].tolist(), "reference": v}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
