#!/usr/bin/python3
"""Checks an attentionviz archive with h5py, NumPy and plain PyTorch alone (no
mechlens code) and prints what the end-to-end tests assert, as JSON.

usage: attentionviz_reference.py ARCHIVE [RUN] [ANALYSIS] [CHECKPOINT_DIR]

Read back from the archive (store_vectors = true):
  pca_error          max |stored PCA scores - NumPy SVD of the stored
                     normalised queries and keys| (sign: each loading vector's
                     largest entry positive), over heads, 2-D and 3-D
  centroid_gap       max |mean(q') - mean(k')| over heads
  norm_gap           max |mean |q'| - mean |k'|| over heads (equal_norms)
  transform_error    max difference between stored q', k' and c q, k / c + t
Independent reference (with CHECKPOINT_DIR, a BERT checkpoint): a BERT
forward pass written here from the checkpoint's tensors, on the archive's
token ids, gives q and k per layer and head; the normalisation is redone here
(c by bisection directly on mean |c q| = mean |k / c + t(c)|) and compared:
  reference_vector_error   stored raw q, k vs the reference's
  reference_scale_error    relative error of c (equal_norms runs)
  reference_pca_error      stored pca2_after vs the reference's PCA
  reference_pattern_error  softmax of the reference q', k' vs softmax of q, k
"""
import json
import math
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models", "reference"))


def pca(x, k):
    c = x - x.mean(0, keepdims=True)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    v = vt[:k]
    v = v * np.sign(v[np.arange(len(v)), np.abs(v).argmax(1)])[:, None]
    scores = c @ v.T
    if scores.shape[1] < k:
        scores = np.concatenate([scores, np.zeros((scores.shape[0], k - scores.shape[1]))], 1)
    return scores


def bert_queries_keys(directory, ids):
    """q, k [layers, T, heads, dh] of one input, float64, as modeling_bert.py computes them."""
    import torch  # only for the reference (slow to import)
    from bert_reference import Weights, activation
    from safetensors_reader import read_checkpoint
    import torch.nn.functional as F
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    w = Weights(read_checkpoint(directory))
    d, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    dh, eps = d // heads, cfg.get("layer_norm_eps", 1e-12)
    act = activation(cfg.get("hidden_act", "gelu"))
    ids = torch.tensor(ids, dtype=torch.long)
    T = len(ids)

    def ln(x, name):
        return F.layer_norm(x, (d,), w(name + ".weight"), w(name + ".bias"), eps)

    def dense(x, name):
        return x @ w(name + ".weight").T + w(name + ".bias")

    x = ln(w("embeddings.word_embeddings.weight")[ids] + w("embeddings.position_embeddings.weight")[:T]
           + w("embeddings.token_type_embeddings.weight")[0], "embeddings.LayerNorm")
    qs, ks = [], []
    for layer in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % layer
        q = dense(x, p + "attention.self.query").view(T, heads, dh)
        k = dense(x, p + "attention.self.key").view(T, heads, dh)
        v = dense(x, p + "attention.self.value").view(T, heads, dh)
        qs.append(q), ks.append(k)
        pattern = torch.softmax(torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(dh), -1)
        context = torch.einsum("hqk,khd->qhd", pattern, v).reshape(T, d)
        a = ln(dense(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        x = ln(dense(act(dense(a, p + "intermediate.dense")), p + "output.dense") + a, p + "output.LayerNorm")
    return torch.stack(qs).numpy(), torch.stack(ks).numpy()


def equal_norm_scale(q, k):
    """c with mean |c q| = mean |k / c + c mean(q) - mean(k) / c|, by bisection on log c."""
    def f(log_c):
        c = math.exp(log_c)
        kk = k / c + c * q.mean(0) - k.mean(0) / c
        return np.linalg.norm(c * q, axis=1).mean() - np.linalg.norm(kk, axis=1).mean()
    lo, hi = -30.0, 30.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
    return math.exp(0.5 * (lo + hi))


def softmax_rows(s):
    s = s - s.max(1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(1, keepdims=True)


def main():
    archive = sys.argv[1]
    run_name = sys.argv[2] if len(sys.argv) > 2 else None
    analysis = sys.argv[3] if len(sys.argv) > 3 else "attentionviz"
    checkpoint = sys.argv[4] if len(sys.argv) > 4 else None
    out = {}
    with h5py.File(archive, "r") as f:
        runs = sorted(f["runs"].keys())
        g = f["runs"][run_name or runs[-1]]["analyses"][analysis]
        read = {name: g[name][()] for name in g.keys() if isinstance(g[name], h5py.Dataset)}
        dims = {name: [d.decode() if isinstance(d, bytes) else str(d) for d in g[name].attrs["dims"]]
                for name in read}
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
    out["dims"] = {k: dims[k] for k in ("pca2_after", "nearest_key_is_top_after", "edge_weight", "scale")}
    out["layers"] = read["layer"].tolist()
    out["heads"] = read["head"].tolist()
    out["spaces"] = [s.decode() if isinstance(s, bytes) else s for s in read["space"]]
    for name in ("scale", "max_pattern_change", "pattern_reproduction_error", "mean_query_norm", "mean_key_norm",
                 "dot_distance_correlation_before", "dot_distance_correlation_after",
                 "nearest_key_is_top_before", "nearest_key_is_top_after"):
        out[name] = np.nan_to_num(read[name], nan=-9.0).tolist()
    out["attrs"] = {k: (v if isinstance(v, str) else float(v)) for k, v in attrs.items()
                    if isinstance(v, (str, int, float, np.integer, np.floating))}
    out["tsne_after"] = np.nan_to_num(read["tsne_after"], nan=-9.0).round(12).tolist()
    out["pca2_after"] = read["pca2_after"].tolist()
    out["token_input"] = read["token_input"].tolist()
    out["point_kind"] = [s.decode() if isinstance(s, bytes) else s for s in read["point_kind"]]
    out["token_text"] = [s.decode() if isinstance(s, bytes) else s for s in read["token_text"]]
    edges = read["edge_weight"]
    out["edges"] = {"count": int(len(edges)), "min_weight": float(edges.min()) if len(edges) else None,
                    "key_points_are_keys": bool(np.all(read["edge_key_point"] >= len(read["token_text"]))),
                    "query_points_are_queries": bool(np.all(read["edge_query_point"] < len(read["token_text"])))}

    if "queries" in read:
        qa, ka, qb, kb = read["queries"], read["keys"], read["queries_before"], read["keys_before"]
        L, H = qa.shape[:2]
        pca_error = centroid_gap = norm_gap = transform_error = 0.0
        for li in range(L):
            for hi in range(H):
                points = np.concatenate([qa[li, hi], ka[li, hi]])
                pca_error = max(pca_error, np.abs(pca(points, 2) - read["pca2_after"][li, hi]).max(),
                                np.abs(pca(points, 3) - read["pca3_after"][li, hi]).max())
                centroid_gap = max(centroid_gap, np.abs(qa[li, hi].mean(0) - ka[li, hi].mean(0)).max())
                norm_gap = max(norm_gap, abs(np.linalg.norm(qa[li, hi], axis=1).mean()
                                             - np.linalg.norm(ka[li, hi], axis=1).mean()))
                c, t = read["scale"][li, hi], read["key_shift"][li, hi]
                transform_error = max(transform_error, np.abs(qa[li, hi] - c * qb[li, hi]).max(),
                                      np.abs(ka[li, hi] - (kb[li, hi] / c + t)).max())
        out.update(pca_error=pca_error, centroid_gap=centroid_gap, norm_gap=norm_gap, transform_error=transform_error)

    if checkpoint:
        with open(os.path.join(checkpoint, "config.json")) as fc:
            cfg = json.load(fc)
        heads_total = cfg["num_attention_heads"]
        inputs = read["token_input"]
        ids = read["token_id"]
        per_input = [bert_queries_keys(checkpoint, ids[inputs == b].tolist()) for b in range(inputs.max() + 1)]
        q_all = np.concatenate([p[0] for p in per_input], 1)  # [layers, N, heads, dh]
        k_all = np.concatenate([p[1] for p in per_input], 1)
        vec_err = scale_err = pca_err = pattern_err = 0.0
        dh = q_all.shape[-1]
        for li, layer in enumerate(out["layers"]):
            for hi, head in enumerate(out["heads"]):
                q, k = q_all[layer, :, head], k_all[layer, :, head]
                if "queries_before" in read:
                    vec_err = max(vec_err, np.abs(read["queries_before"][li, hi] - q).max(),
                                  np.abs(read["keys_before"][li, hi] - k).max())
                c = equal_norm_scale(q, k) if attrs.get("scale_method") == "equal_norms" else read["scale"][li, hi]
                scale_err = max(scale_err, abs(c - read["scale"][li, hi]) / c)
                q2, k2 = c * q, k / c + c * q.mean(0) - k.mean(0) / c
                pca_err = max(pca_err, np.abs(pca(np.concatenate([q2, k2]), 2) - read["pca2_after"][li, hi]).max())
                for b in range(inputs.max() + 1):
                    m = inputs == b
                    before = softmax_rows(q[m] @ k[m].T / math.sqrt(dh))
                    after = softmax_rows(q2[m] @ k2[m].T / math.sqrt(dh))
                    pattern_err = max(pattern_err, np.abs(after - before).max())
        out.update(reference_vector_error=vec_err, reference_scale_error=scale_err, reference_pca_error=pca_err,
                   reference_pattern_error=pattern_err, reference_heads=heads_total)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
