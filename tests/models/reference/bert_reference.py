#!/usr/bin/python3
"""Independent reference for mechlens' BERT adapter.

Reads a Hugging Face BERT checkpoint directory (safetensors parsed here by
hand: 8-byte little-endian header length, JSON header, raw bytes; shards via
model.safetensors.index.json) and runs BertForMaskedLM's forward pass as
transformers/models/bert/modeling_bert.py describes it, in float64:

  embeddings = LayerNorm(word[ids] + position[0..T-1] + token_type[0])
  per layer:  scores = q k^T / sqrt(dh) + (1 - mask) * finfo.min
              a = LayerNorm(x + dense(softmax(scores) v))
              x = LayerNorm(a + dense(act(dense(a))))
  MLM head:   LayerNorm(act(dense(x))) @ word^T (or decoder.weight) + cls.predictions.bias

usage: bert_reference.py CHECKPOINT_DIR INPUT.json OUTPUT.json
  INPUT.json  {"ids": [[...], ...], "mask": [[1, 1, 0, ...], ...]}
  OUTPUT.json {"last_hidden_state": {"shape": [...], "data": [...]},
               "logits": {"shape": [...], "data": [...]}}  (logits only with an MLM head)
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_reader import read_checkpoint  # noqa: E402

class Weights:
    def __init__(self, tensors):
        self.t = tensors
        self.prefix = "bert." if "bert.embeddings.word_embeddings.weight" in tensors else ""

    def __call__(self, name, encoder=True):
        full = (self.prefix if encoder else "") + name
        if full in self.t:
            return self.t[full]
        legacy = full.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        return self.t[legacy]


def activation(name):
    if name == "gelu":
        return lambda x: F.gelu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "relu":
        return F.relu
    raise ValueError(name)


def forward(directory, ids, mask, internals=False):
    """BertForMaskedLM in float64: last_hidden_state and logits; with `internals` also hidden_embed,
    hidden_L (the stream after layer L), pattern_L (each layer's softmax) and q_L, k_L (the
    projected queries and keys, [B, H, T, dh])."""
    with open(os.path.join(directory, "config.json")) as f:
        cfg = json.load(f)
    w = Weights(read_checkpoint(directory))
    eps = cfg.get("layer_norm_eps", 1e-12)
    heads = cfg["num_attention_heads"]
    d = cfg["hidden_size"]
    dh = d // heads
    act = activation(cfg.get("hidden_act", "gelu"))
    ids = torch.tensor(ids, dtype=torch.long)
    mask = torch.tensor(mask, dtype=torch.float64)
    B, T = ids.shape

    def ln(x, name, encoder=True):
        return F.layer_norm(x, (d,), w(name + ".weight", encoder), w(name + ".bias", encoder), eps)

    def dense(x, name, encoder=True):
        return x @ w(name + ".weight", encoder).T + w(name + ".bias", encoder)

    x = (w("embeddings.word_embeddings.weight")[ids]
         + w("embeddings.position_embeddings.weight")[torch.arange(T)][None]
         + w("embeddings.token_type_embeddings.weight")[0][None, None])
    x = ln(x, "embeddings.LayerNorm")
    hidden = {"hidden_embed": x}
    extended = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float64).min
    for layer in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % layer

        def split(t):
            return t.view(B, T, heads, dh).permute(0, 2, 1, 3)

        q = split(dense(x, p + "attention.self.query"))
        k = split(dense(x, p + "attention.self.key"))
        v = split(dense(x, p + "attention.self.value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + extended
        pattern = torch.softmax(scores, dim=-1)
        if internals:
            hidden["pattern_%d" % layer] = pattern
            hidden["q_%d" % layer], hidden["k_%d" % layer] = q, k  # [B, H, T, dh]
        context = (pattern @ v).permute(0, 2, 1, 3).reshape(B, T, d)
        a = ln(dense(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        h = act(dense(a, p + "intermediate.dense"))
        x = ln(dense(h, p + "output.dense") + a, p + "output.LayerNorm")
        hidden["hidden_%d" % layer] = x
    out = {"last_hidden_state": x}
    if "cls.predictions.transform.dense.weight" in w.t:
        h = ln(act(dense(x, "cls.predictions.transform.dense", False)), "cls.predictions.transform.LayerNorm", False)
        decoder = w.t.get("cls.predictions.decoder.weight", w("embeddings.word_embeddings.weight"))
        out["logits"] = h @ decoder.T + w.t["cls.predictions.bias"]
    if not internals:
        return out
    out.update(hidden)
    return out


def main():
    directory, input_path, output_path = sys.argv[1:4]
    with open(input_path) as f:
        request = json.load(f)
    with torch.no_grad():
        result = forward(directory, request["ids"], request["mask"])
    payload = {k: {"shape": list(v.shape), "data": v.reshape(-1).tolist()} for k, v in result.items()}
    with open(output_path, "w") as f:
        json.dump(payload, f)


if __name__ == "__main__":
    main()
