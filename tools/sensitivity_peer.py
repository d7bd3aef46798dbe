#!/usr/bin/python3
"""The plain-PyTorch peer of mechlens' sensitivity sweep (issue 14).

What a researcher would write by hand with torch alone: run the clean forward
once and cache the residual entering every layer; then for each layer run the
attention of that layer once, copy its z to one row per head, zero (or mean-,
identity-ablate) head h in row h, and run the rest of that layer and every
later layer at batch n_heads; the MLM head (BERT) / LM head (Qwen2) runs at
the answer position only. Loads the same safetensors checkpoint mechlens
loads (BERT MLM or Qwen2 causal LM, float32 / bfloat16), no transformers.

Prints one JSON line: seconds of the timed sweep, the GEMM FLOPs it executed
(counted by intercepting aten::mm/addmm/bmm/baddbmm in a second, untimed
pass; multiply-add = 2), PyTorch's own 2048^3 matmul GFLOP/s, peak RSS, and
p(t*) of every swept (layer, head) so the caller can check both sides did the
same work.

  /usr/bin/python3 tools/sensitivity_peer.py --checkpoint DIR --ids FILE --answer POS
      [--threads N] [--layers FIRST:LAST] [--ablation zero|mean|identity] [--dtype float32|bfloat16]
"""
import argparse
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(directory):
    """Every tensor of model.safetensors (or its shards), by name."""
    index = os.path.join(directory, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    dtypes = {"F32": (np.float32, None), "F64": (np.float64, None), "BF16": (np.int16, torch.bfloat16),
              "F16": (np.float16, None)}
    out = {}
    for name in files:
        # Copy-on-write mapping: zero-copy tensors, as mechlens maps its weights.
        raw = np.memmap(os.path.join(directory, name), dtype=np.uint8, mode="c")
        n = struct.unpack("<Q", raw[:8].tobytes())[0]
        header = json.loads(raw[8:8 + n].tobytes())
        base = 8 + n
        for key, info in header.items():
            if key == "__metadata__":
                continue
            np_type, view = dtypes[info["dtype"]]
            begin, end = info["data_offsets"]
            t = torch.from_numpy(np.asarray(raw[base + begin:base + end]).view(np_type).reshape(info["shape"]))
            out[key] = t.view(view) if view is not None else t
    return out


class Bert:
    """BertForMaskedLM, eager (HF modeling_bert), one segment, no padding."""

    def __init__(self, directory, dtype):
        cfg = json.load(open(os.path.join(directory, "config.json")))
        w = {k: v.to(dtype) for k, v in load_safetensors(directory).items()}
        p = "bert." if any(k.startswith("bert.") for k in w) else ""
        self.w, self.p, self.cfg = w, p, cfg
        self.layers, self.heads = cfg["num_hidden_layers"], cfg["num_attention_heads"]
        self.d = cfg["hidden_size"]
        self.dh = self.d // self.heads
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.act = (lambda x: F.gelu(x, approximate="tanh")) if cfg.get("hidden_act", "gelu") != "gelu" else F.gelu
        self.decoder = w.get("cls.predictions.decoder.weight", w[p + "embeddings.word_embeddings.weight"])

    def ln(self, name, x):
        return F.layer_norm(x, (self.d,), self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def lin(self, name, x):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def embed(self, ids):
        w, p = self.w, self.p
        x = w[p + "embeddings.word_embeddings.weight"][ids] + w[p + "embeddings.position_embeddings.weight"][:ids.shape[1]]
        return self.ln(p + "embeddings.LayerNorm", x + w[p + "embeddings.token_type_embeddings.weight"][0])

    def z(self, l, x):
        """Attention of layer l: z [B, T, H, dh]."""
        b = f"{self.p}encoder.layer.{l}.attention.self."
        B, T, _ = x.shape
        q, k, v = (self.lin(b + n, x).view(B, T, self.heads, self.dh).transpose(1, 2) for n in ("query", "key", "value"))
        pattern = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dh), -1)
        return (pattern @ v).transpose(1, 2), v.transpose(1, 2)

    def after_z(self, l, x, z):
        """The rest of layer l from its (possibly ablated) z."""
        b = f"{self.p}encoder.layer.{l}."
        x = self.ln(b + "attention.output.LayerNorm", x + self.lin(b + "attention.output.dense", z.flatten(2)))
        return self.ln(b + "output.LayerNorm", x + self.lin(b + "output.dense", self.act(self.lin(b + "intermediate.dense", x))))

    def block(self, l, x):
        return self.after_z(l, x, self.z(l, x)[0])

    def head(self, x):
        h = self.ln("cls.predictions.transform.LayerNorm", self.act(self.lin("cls.predictions.transform.dense", x)))
        return F.linear(h, self.decoder, self.w["cls.predictions.bias"])


class Qwen2:
    """Qwen2ForCausalLM, eager (HF modeling_qwen2), one unpadded prompt."""

    def __init__(self, directory, dtype):
        cfg = json.load(open(os.path.join(directory, "config.json")))
        w = {k: v.to(dtype) for k, v in load_safetensors(directory).items()}
        self.w, self.cfg = w, cfg
        self.layers, self.heads = cfg["num_hidden_layers"], cfg["num_attention_heads"]
        self.kv = cfg.get("num_key_value_heads", self.heads)
        self.d = cfg["hidden_size"]
        self.dh = self.d // self.heads
        self.eps = cfg.get("rms_norm_eps", 1e-6)
        self.theta = cfg.get("rope_theta", 10000.0)
        self.lm_head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
        self.dtype = dtype

    def norm(self, name, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.w[name + ".weight"] * h.to(x.dtype)

    def lin(self, name, x, bias=True):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"] if bias else None)

    def embed(self, ids):
        T = ids.shape[1]
        inv = 1.0 / (self.theta ** (torch.arange(0, self.dh, 2).float() / self.dh))
        emb = torch.cat([torch.outer(torch.arange(T).float(), inv)] * 2, -1)
        self.cos, self.sin = emb.cos().to(self.dtype)[None, None], emb.sin().to(self.dtype)[None, None]
        self.mask = torch.full((T, T), torch.finfo(self.dtype).min, dtype=self.dtype).triu(1)
        return self.w["model.embed_tokens.weight"][ids]

    def rope(self, x):
        h = x.shape[-1] // 2
        return x * self.cos + torch.cat([-x[..., h:], x[..., :h]], -1) * self.sin

    def z(self, l, x):
        b = f"model.layers.{l}."
        B, T, _ = x.shape
        h = self.norm(b + "input_layernorm", x)
        q = self.rope(self.lin(b + "self_attn.q_proj", h).view(B, T, self.heads, self.dh).transpose(1, 2))
        k = self.rope(self.lin(b + "self_attn.k_proj", h).view(B, T, self.kv, self.dh).transpose(1, 2))
        v = self.lin(b + "self_attn.v_proj", h).view(B, T, self.kv, self.dh).transpose(1, 2)
        g = self.heads // self.kv
        k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
        pattern = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.dh) + self.mask, -1, dtype=torch.float32)
        return (pattern.to(q.dtype) @ v).transpose(1, 2), v.transpose(1, 2)

    def after_z(self, l, x, z):
        b = f"model.layers.{l}."
        x = x + self.lin(b + "self_attn.o_proj", z.flatten(2), bias=False)
        h = self.norm(b + "post_attention_layernorm", x)
        gate, up = self.lin(b + "mlp.gate_proj", h, False), self.lin(b + "mlp.up_proj", h, False)
        return x + self.lin(b + "mlp.down_proj", F.silu(gate) * up, False)

    def block(self, l, x):
        return self.after_z(l, x, self.z(l, x)[0])

    def head(self, x):
        return F.linear(self.norm("model.norm", x), self.lm_head)


def sweep(model, ids, answer, layers, ablation):
    """p(t*) at the answer for every (layer, head) in `layers`: [len(layers), H] float64."""
    x = model.embed(ids)
    resid_pre = []
    for l in range(model.layers):
        resid_pre.append(x)
        x = model.block(l, x)
    clean = model.head(x[:, answer]).double()[0]
    top = int(clean.argmax())
    out = torch.empty(len(layers), model.heads, dtype=torch.float64)
    H = model.heads
    for i, l in enumerate(layers):
        x = resid_pre[l]
        z1, v1 = model.z(l, x)                        # attention of layer l once, at batch 1
        z = z1.expand(H, -1, -1, -1).clone()          # one row per head
        rows = torch.arange(H)
        if ablation == "zero":
            z[rows, :, rows] = 0
        elif ablation == "mean":                      # z[h, :, h] = mean over positions of head h
            z[rows, :, rows] = z1[0].mean(0).unsqueeze(1).expand(-1, z.shape[1], -1)
        else:                                         # identity: z_t = v_t of the head's (KV) head
            z[rows, :, rows] = v1[0].transpose(0, 1)
        x = model.after_z(l, x, z)                    # batch H from here on
        for later in range(l + 1, model.layers):
            x = model.block(later, x)
        out[i] = torch.softmax(model.head(x[:, answer]).double(), -1)[:, top]
    return out, top


class GemmFlops(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts the FLOPs of the GEMMs that really run (multiply-add = 2)."""

    def __init__(self):
        super().__init__()
        self.flops = 0
        aten = torch.ops.aten
        self.ops = {aten.mm.default: lambda a: (a[0], a[1]), aten.addmm.default: lambda a: (a[1], a[2]),
                    aten.bmm.default: lambda a: (a[0], a[1]), aten.baddbmm.default: lambda a: (a[1], a[2])}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        pick = self.ops.get(func)
        if pick is not None:
            a, b = pick(args)
            self.flops += 2 * a.numel() * b.shape[-1]
        return func(*args, **(kwargs or {}))


def matmul_gflops(dtype, n=2048, reps=5):
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return reps * 2.0 * n ** 3 / (time.perf_counter() - start) / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--ids", required=True, help="file of whitespace-separated token ids")
    ap.add_argument("--answer", type=int, required=True, help="answer position ([MASK] / last token)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--layers", default="", help="FIRST:LAST (half-open) layers to sweep; default all")
    ap.add_argument("--ablation", default="zero", choices=["zero", "mean", "identity"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--no-count", action="store_true", help="skip the untimed FLOP-counting pass")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "float32" else torch.bfloat16
    family = json.load(open(os.path.join(args.checkpoint, "config.json")))["model_type"]
    model = {"bert": Bert, "qwen2": Qwen2}[family](args.checkpoint, dtype)
    ids = torch.tensor([[int(t) for t in open(args.ids).read().split()]])
    first, last = (int(s) for s in args.layers.split(":")) if args.layers else (0, model.layers)
    layers = list(range(first, last))
    rss_weights = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with torch.no_grad():
        sweep(model, ids, args.answer, layers[-1:], args.ablation)  # warm-up (allocator, thread pool)
        start = time.perf_counter()
        probs, top = sweep(model, ids, args.answer, layers, args.ablation)
        seconds = time.perf_counter() - start
        rss_sweep = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        flops = -1
        if not args.no_count:
            with GemmFlops() as counter:
                sweep(model, ids, args.answer, layers, args.ablation)
            flops = counter.flops
        peak = matmul_gflops(dtype)
    print(json.dumps({"seconds": seconds, "gemm_flops": flops, "matmul_2048_gflops": peak, "threads": args.threads,
                      "torch": torch.__version__, "top_token": top, "layers": [first, last],
                      "peak_rss_after_load": rss_weights, "peak_rss_after_sweep": rss_sweep,
                      "p_top": probs.flatten().tolist()}))


if __name__ == "__main__":
    sys.exit(main())
