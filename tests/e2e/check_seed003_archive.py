#!/usr/bin/python3
"""Independent check of what `logit_lens` and `head_modality_split` wrote,
from the method's description, on the float64 reference forwards of
tests/models/reference (Qwen2, BERT): not mechlens' code.

usage: check_seed003_archive.py ARCHIVE CHECKPOINT_DIR ADAPTER
  ADAPTER: qwen2 | bert. The archive's last run must hold analyses
  `lens` (logit_lens, final_norm = true), `lens_raw` (final_norm = false)
  and `split` (head_modality_split, query = last).

Prints one JSON object of largest deviations and counts; the C++ test
asserts on it.
  lens: entry e decodes the residual entering layer e (e = n_layers: after
        the last layer) with the final norm and the unembedding; top-k
        probabilities, the target's rank (1 = top), KL(final || entry),
        entropy.
  lens_raw: residual x W_U (+ BERT's decoder bias), no norm.
  split: for each layer and head, the last position's attention summed over
        text, image and special key positions.
"""
import json
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "reference"))
import bert_reference  # noqa: E402
import qwen2_reference  # noqa: E402


def strings(dataset):
    return [s.decode() if isinstance(s, bytes) else s for s in dataset[()].reshape(-1)]


def reference(adapter, checkpoint, ids):
    """(entries [E, T, D], normalised decoder, raw decoder, patterns [L, H, T, T], final logits [T, V])."""
    with open(os.path.join(checkpoint, "config.json")) as f:
        cfg = json.load(f)
    mask = [[1] * len(ids)]
    with torch.no_grad():
        if adapter == "qwen2":
            tensors = qwen2_reference.read_checkpoint(checkpoint)
            out = {}
            embeds = qwen2_reference.embed_tokens(tensors, [ids])
            qwen2_reference.qwen2_forward(tensors, cfg, embeds, mask, out, patterns=True)
            L = cfg["num_hidden_layers"]
            entries = [embeds[0]] + [out["resid_post_%d" % l][0] for l in range(L)]
            prefix, head_name = qwen2_reference.language_model_names(tensors)
            head = tensors.get(head_name, tensors[prefix + "embed_tokens.weight"])
            norm = tensors[prefix + "norm.weight"]
            eps = cfg.get("rms_norm_eps", 1e-6)
            normalised = lambda x: qwen2_reference.rms_norm(x, norm, eps) @ head.T
            raw = lambda x: x @ head.T
        else:
            out = bert_reference.forward(checkpoint, [ids], mask, internals=True)
            L = cfg["num_hidden_layers"]
            entries = [out["hidden_embed"][0]] + [out["hidden_%d" % l][0] for l in range(L)]
            t = bert_reference.read_checkpoint(checkpoint)
            prefix = "bert." if "bert.embeddings.word_embeddings.weight" in t else ""
            decoder = t.get("cls.predictions.decoder.weight", t[prefix + "embeddings.word_embeddings.weight"])
            bias = t["cls.predictions.bias"]
            d = cfg["hidden_size"]
            eps = cfg.get("layer_norm_eps", 1e-12)
            act = bert_reference.activation(cfg.get("hidden_act", "gelu"))

            def normalised(x):
                h = act(x @ t["cls.predictions.transform.dense.weight"].T + t["cls.predictions.transform.dense.bias"])
                h = torch.nn.functional.layer_norm(h, (d,), t["cls.predictions.transform.LayerNorm.weight"],
                                                   t["cls.predictions.transform.LayerNorm.bias"], eps)
                return h @ decoder.T + bias

            raw = lambda x: x @ decoder.T + bias
        patterns = torch.stack([out["pattern_%d" % l][0] for l in range(L)])
        return torch.stack(entries), normalised, raw, patterns, out["logits"][0]


def check_lens(group, entries, decode, final_logits, row, positions, result, key):
    final_lp = torch.log_softmax(final_logits[positions], -1)
    target = int(group["target_id"][row])
    k = group["k"].shape[0]
    P = len(positions)
    for e in range(entries.shape[0]):
        z = decode(entries[e][positions])
        lp = torch.log_softmax(z, -1)
        p = lp.exp()
        top_p, top_i = p.topk(k, -1)
        stored_p = torch.tensor(group["topk_prob"][row, e, :P, :])
        stored_i = torch.tensor(group["topk_id"][row, e, :P, :])
        result[key + "_topk_prob"] = max(result.get(key + "_topk_prob", 0.0), float((stored_p - top_p).abs().max()))
        # Ids may swap only where probabilities tie to float precision.
        same = (stored_i == top_i) | ((p.gather(1, stored_i) - top_p).abs() < 1e-5)
        result[key + "_topk_id_mismatch"] = result.get(key + "_topk_id_mismatch", 0) + int((~same).sum())
        rank = (z > z[:, target:target + 1]).sum(1) + 1
        stored_rank = torch.tensor(group["target_rank"][row, e, :P])
        close = (z - z[:, target:target + 1]).abs() < 1e-4  # near-ties may order either way in float32
        slack = close.sum(1) - 1
        bad = ((stored_rank - rank).abs() > slack).sum()
        result[key + "_rank_mismatch"] = result.get(key + "_rank_mismatch", 0) + int(bad)
        kl = (final_lp.exp() * (final_lp - lp)).sum(1)
        entropy = -(p * lp).sum(1)
        for name, value in (("kl_from_final", kl), ("entropy", entropy), ("target_prob", p[:, target]),
                            ("target_logit", z[:, target])):
            stored = torch.tensor(group[name][row, e, :P])
            result[key + "_" + name] = max(result.get(key + "_" + name, 0.0), float((stored - value).abs().max()))
    if key == "lens":
        # The normalised entry after the last layer is the model's own output.
        last = decode(entries[-1][positions])
        result["last_entry_vs_logits"] = max(result.get("last_entry_vs_logits", 0.0),
                                             float((last - final_logits[positions]).abs().max()))


def main():
    archive, checkpoint, adapter = sys.argv[1:4]
    result = {"inputs": 0}
    with h5py.File(archive, "r") as f:
        run = f["runs"][sorted(f["runs"])[-1]]
        ids_of = strings(run["inputs/input"])
        lens, raw_lens, split = run["analyses/lens"], run["analyses/lens_raw"], run["analyses/split"]
        modalities = strings(split["modality"])
        for row, input_id in enumerate(ids_of):
            by_id = run["inputs/by_id/" + input_id]
            ids = [int(i) for i in by_id["ids"][()]]
            modality = by_id["modality"][()]
            entries, normalised, raw, patterns, final_logits = reference(adapter, checkpoint, ids)
            for key, group, decode in (("lens", lens, normalised), ("lens_raw", raw_lens, raw)):
                positions = [int(p) for p in group["position"][row] if p >= 0]
                check_lens(group, entries, decode, final_logits, row, positions, result, key)
            # Head split at the last position.
            last = patterns[:, :, len(ids) - 1, :]  # [L, H, T]
            for m, name in enumerate(modalities):
                keys = torch.tensor(modality == m, dtype=torch.float64)
                expected = (last * keys).sum(-1)
                stored = torch.tensor(split["mass"][row, :, :, m])
                result["split_" + name] = max(result.get("split_" + name, 0.0), float((stored - expected).abs().max()))
            result["split_sum_minus_one"] = max(result.get("split_sum_minus_one", 0.0),
                                                float(np.abs(split["mass"][row].sum(-1) - 1).max()))
            result["inputs"] += 1
        # The split's aggregates, from its stored per-input tables (hand-derived:
        # sums, means, per-tag means, the share of heads above `mostly`, one query row).
        mass, part = split["mass"][()], split["image_part_mass"][()]
        mostly = float(split.attrs["param.mostly"])
        expected = {"mass_sum": mass.sum(0), "mass_mean": mass.mean(0), "image_part_mass_mean": part.mean(0),
                    "mostly_image_share": (mass.mean(0)[:, :, 1] > mostly).mean(1),
                    "n_query": np.ones(len(ids_of))}
        if "tag" in split:
            tags = strings(split["tag"])
            by_tag = np.zeros((len(tags),) + mass.shape[1:])
            count = np.zeros(len(tags))
            for row, input_id in enumerate(ids_of):
                for t in [x.decode() if isinstance(x, bytes) else x
                          for x in np.asarray(run["inputs/by_id/" + input_id].attrs["tags"]).reshape(-1)]:
                    by_tag[tags.index(t)] += mass[row]
                    count[tags.index(t)] += 1
            expected["mass_mean_by_tag"] = by_tag / count[:, None, None, None]
            expected["tag_count"] = count
            result["split_tags"] = tags
        result["split_aggregates"] = max(float(np.abs(split[name][()] - value).max()) for name, value in expected.items())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
