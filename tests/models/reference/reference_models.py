"""The float64 references (bert_reference.py, qwen2_reference.py) behind one
call, for the tests that check stored results and the toy models' labels:

  model = ReferenceModel(CHECKPOINT_DIR)
  out = model.forward(ids, zero_heads=[(layer, head)], internals=True)
  out["logits"] [T, V]; with internals: out["pattern_L"] [H, T, T] and
  out["hidden_L"] [T, D] (the residual stream after layer L)

Zeroing head h of layer l is done on the weights: the columns of the
attention output projection that read head h's slice of z are set to 0, which
is exactly z[..., h, :] = 0 (the output bias, added once, stays). No mechlens
code is involved.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_reference  # noqa: E402
from qwen2_reference import embed_tokens, language_model_names, qwen2_forward  # noqa: E402
from safetensors_reader import read_checkpoint  # noqa: E402


class ReferenceModel:
    def __init__(self, directory):
        self.directory = directory
        with open(os.path.join(directory, "config.json")) as f:
            self.config = json.load(f)
        self.tensors = read_checkpoint(directory)
        self.kind = "bert" if self.config.get("model_type") == "bert" else "qwen2"
        text = self.config.get("text_config", self.config)
        self.layers = text["num_hidden_layers"]
        self.heads = text["num_attention_heads"]
        self.head_dim = text.get("head_dim", text["hidden_size"] // self.heads)

    def _output_weight(self, layer):
        if self.kind == "bert":
            prefix = "bert." if "bert.embeddings.word_embeddings.weight" in self.tensors else ""
            return prefix + "encoder.layer.%d.attention.output.dense.weight" % layer
        prefix, _ = language_model_names(self.tensors)
        return prefix + "layers.%d.self_attn.o_proj.weight" % layer

    def _weights(self, zero_heads):
        if not zero_heads:
            return self.tensors
        tensors = dict(self.tensors)
        for layer, head in zero_heads:
            name = self._output_weight(layer)
            w = tensors[name].clone()
            w[:, head * self.head_dim:(head + 1) * self.head_dim] = 0
            tensors[name] = w
        return tensors

    def forward(self, ids, zero_heads=(), internals=False):
        """One input (a list of token ids), no padding."""
        return {k: v[0] for k, v in self.forward_many([ids], zero_heads, internals).items()}

    def forward_many(self, rows, zero_heads=(), internals=False):
        """Inputs of equal length (lists of token ids) in one batch; outputs keep the batch axis."""
        tensors = self._weights(zero_heads)
        ids = [list(r) for r in rows]
        mask = [[1] * len(r) for r in ids]
        with torch.no_grad():
            if self.kind == "bert":
                saved = bert_reference.read_checkpoint
                bert_reference.read_checkpoint = lambda _directory: tensors
                try:
                    out = bert_reference.forward(self.directory, ids, mask, internals=internals)
                finally:
                    bert_reference.read_checkpoint = saved
            else:
                out = {}
                cfg = self.config.get("text_config", self.config)
                qwen2_forward(tensors, cfg, embed_tokens(tensors, ids), mask, out, patterns=internals)
                for layer in range(self.layers):
                    out["hidden_%d" % layer] = out.pop("resid_post_%d" % layer)
        return out


def sensitivity(model, ids, position):
    """Seed 000's three metrics for every (layer, head), zero ablation, at `position`:
    {"top1_prob_change", "kl", "logit_diff"} each [layers][heads], the clean top token and its
    probability ("top_token", "top_prob")."""
    clean = model.forward(ids)["logits"][position]
    log_p = torch.log_softmax(clean, -1)
    top, runner_up = torch.topk(clean, 2).indices.tolist()
    p_top = log_p[top].exp()
    out = {"top1_prob_change": [], "kl": [], "logit_diff": [], "top_token": top, "top_prob": float(p_top)}
    for layer in range(model.layers):
        rows = {k: [] for k in ("top1_prob_change", "kl", "logit_diff")}
        for head in range(model.heads):
            ablated = model.forward(ids, zero_heads=[(layer, head)])["logits"][position]
            log_q = torch.log_softmax(ablated, -1)
            rows["top1_prob_change"].append(float((log_q[top].exp() - p_top) / p_top))
            rows["kl"].append(float((log_p.exp() * (log_p - log_q)).sum()))
            rows["logit_diff"].append(float((ablated[top] - ablated[runner_up]) - (clean[top] - clean[runner_up])))
        for k, v in rows.items():
            out[k].append(v)
    return out
