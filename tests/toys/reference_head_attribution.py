#!/usr/bin/python3
"""Recomputes a head_attribution analysis (zero ablation, Qwen2 checkpoint)
with the float64 reference forward (tests/models/reference/qwen2_reference.py)
and PyTorch's autograd, from the method's description (attribution patching:
the metric's gradient at each head's output z, dotted with the change zero
ablation makes there, -z, summed over positions), on the token ids and answer
positions the archive recorded. Reads with h5py alone; prints JSON
{"metrics": {name: {"stored": [i][l][h], "reference": [i][l][h]}}}.

usage: reference_head_attribution.py ARCHIVE CHECKPOINT_DIR [ANALYSIS]
"""
import json
import os
import sys

import h5py
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "reference"))
from qwen2_reference import embed_tokens, qwen2_forward  # noqa: E402
from safetensors_reader import read_checkpoint  # noqa: E402


def estimates(tensors, cfg, ids, position, metrics):
    H = cfg["num_attention_heads"]
    dh = cfg.get("head_dim", cfg["hidden_size"] // H)
    probes, values = {}, {}

    def edit_z(layer, z):
        values[layer] = z.detach()
        probes[layer] = torch.zeros_like(z, requires_grad=True)
        return z + probes[layer]

    logits = qwen2_forward(tensors, cfg, embed_tokens(tensors, [ids]), [[1] * len(ids)], {}, edit_z=edit_z)["logits"]
    answer = logits[0, position]
    top, second = torch.topk(answer.detach(), 2).indices.tolist()
    p_top = torch.softmax(answer.detach(), -1)[top]
    definitions = {"top1_prob_change": lambda a: (torch.softmax(a, -1)[top] - p_top) / p_top,
                   "logit_diff": lambda a: a[top] - a[second]}
    out = {}
    for name in metrics:
        for probe in probes.values():
            probe.grad = None
        definitions[name](answer).backward(retain_graph=True)
        out[name] = [[float((probes[layer].grad * -values[layer]).view(1, len(ids), H, dh)[0, :, head].sum())
                      for head in range(H)] for layer in sorted(probes)]
    return out


def main():
    archive, checkpoint = sys.argv[1:3]
    analysis = sys.argv[3] if len(sys.argv) > 3 else "attribution"
    with open(os.path.join(checkpoint, "config.json")) as f:
        cfg = json.load(f)
    cfg = cfg.get("text_config", cfg)
    tensors = read_checkpoint(checkpoint)
    with h5py.File(archive, "r") as f:
        run = f["runs"][sorted(f["runs"].keys())[-1]]
        group = run["analyses/" + analysis]
        assert group.attrs["param.ablation"] in ("zero", b"zero"), "only zero ablation is recomputed here"
        metrics = [m.decode() if isinstance(m, bytes) else m for m in group.attrs["param.metrics"]]
        result = {"metrics": {m: {"stored": group[m][()].tolist(), "reference": []} for m in metrics}}
        for raw in run["inputs/input"][()]:
            by_id = run["inputs/by_id/" + (raw.decode() if isinstance(raw, bytes) else raw)]
            ref = estimates(tensors, cfg, by_id["ids"][()].tolist(), int(by_id.attrs["answer_position"]), metrics)
            for m in metrics:
                result["metrics"][m]["reference"].append(ref[m])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
