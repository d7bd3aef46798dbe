#!/usr/bin/python3
"""bf16 vs float32 cost of one layer of each stack bench_atman runs, on this
CPU, with the same libtorch kernels the C++ build links (Debian's torch 1.13):
one Qwen2-0.5B-shaped decoder layer (d 896, 14 heads / 2 KV heads of 64, MLP
4864; q/k/v/o, rotary, scores, float32 softmax, SiLU MLP) over T = 1508
positions at batch B, one SigLIP-so400m-shaped encoder layer (d 1152, 16
heads, MLP 4304) over 2 crops x 729 patches, and the 14 px patch convolution.
Where the whole bf16 AtMan run is too slow to time (a CPU without native
bf16), bench_atman's float32 seconds x these ratios estimate it.

usage: bf16_layer_ratio.py [--batch B] [--threads N]
"""
import argparse
import time

import torch
import torch.nn.functional as F


def timed(fn, repeat, warm_up=True):
    if warm_up:
        fn()  # allocations, kernel choice
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def decoder_layer(dtype, B, T=1508, D=896, H=14, KV=2, dh=64, F_=4864):
    g = torch.Generator().manual_seed(0)
    w = lambda *s: (torch.randn(*s, generator=g) * 0.02).to(dtype)
    x = torch.randn(B, T, D, generator=g).to(dtype)
    Wq, Wk, Wv, Wo = w(H * dh, D), w(KV * dh, D), w(KV * dh, D), w(D, H * dh)
    bq, bk, bv = w(H * dh), w(KV * dh), w(KV * dh)
    Wg, Wu, Wd = w(F_, D), w(F_, D), w(D, F_)
    n1, n2 = torch.ones(D, dtype=dtype), torch.ones(D, dtype=dtype)
    pos = torch.arange(T, dtype=torch.float32)
    inv = 1.0 / (1e6 ** (torch.arange(0, dh, 2, dtype=torch.float32) / dh))
    emb = torch.cat([torch.outer(pos, inv)] * 2, -1)
    cos, sin = emb.cos().to(dtype)[:, None], emb.sin().to(dtype)[:, None]
    mask = torch.ones(T, T, dtype=torch.bool).tril()

    def rms(v, weight):
        f = v.float()
        return (f * torch.rsqrt(f.pow(2).mean(-1, keepdim=True) + 1e-6)).to(dtype) * weight

    def rot(v):
        h = v.shape[-1] // 2
        return v * cos + torch.cat([-v[..., h:], v[..., :h]], -1) * sin

    def run():
        with torch.no_grad():
            h = rms(x, n1)
            q = rot(F.linear(h, Wq, bq).view(B, T, H, dh)).transpose(1, 2)
            k = rot(F.linear(h, Wk, bk).view(B, T, KV, dh)).transpose(1, 2).repeat_interleave(H // KV, 1)
            v = F.linear(h, Wv, bv).view(B, T, KV, dh).transpose(1, 2).repeat_interleave(H // KV, 1)
            s = (q @ k.transpose(-1, -2)) * dh ** -0.5
            s = s - s.min(-1, keepdim=True).values  # AtMan's shift
            s = s.masked_fill(~mask, torch.finfo(dtype).min)
            p = torch.softmax(s, -1, dtype=torch.float32).to(dtype)
            z = (p @ v).transpose(1, 2).reshape(B, T, H * dh)
            y = x + F.linear(z, Wo)
            m = rms(y, n2)
            return y + F.linear(F.silu(F.linear(m, Wg)) * F.linear(m, Wu), Wd)
    return run


def vision_layer(dtype, N=2, P=729, D=1152, H=16, F_=4304):
    g = torch.Generator().manual_seed(1)
    w = lambda *s: (torch.randn(*s, generator=g) * 0.02).to(dtype)
    x = torch.randn(N, P, D, generator=g).to(dtype)
    Wqkv, Wo, W1, W2 = w(3 * D, D), w(D, D), w(F_, D), w(D, F_)
    ones, zeros = torch.ones(D, dtype=dtype), torch.zeros(D, dtype=dtype)
    dh = D // H

    def run():
        with torch.no_grad():
            h = F.layer_norm(x, (D,), ones, zeros)
            q, k, v = F.linear(h, Wqkv).view(N, P, 3, H, dh).permute(2, 0, 3, 1, 4)
            p = torch.softmax((q @ k.transpose(-1, -2)) * dh ** -0.5, -1, dtype=torch.float32).to(dtype)
            y = x + F.linear((p @ v).transpose(1, 2).reshape(N, P, D), Wo)
            return y + F.linear(F.gelu(F.linear(F.layer_norm(y, (D,), ones, zeros), W1), approximate="tanh"), W2)
    return run


def patch_conv(dtype, N=2, S=378, D=1152, patch=14):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(N, 3, S, S, generator=g).to(dtype)
    weight = (torch.randn(D, 3, patch, patch, generator=g) * 0.02).to(dtype)

    def run():
        with torch.no_grad():
            return F.conv2d(x, weight, stride=patch)
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print("torch", torch.__version__, "threads", torch.get_num_threads(), flush=True)
    # Cheapest first: each line is flushed, so a timeout keeps what finished.
    for name, make in (("patch conv, 2 crops", patch_conv),
                       ("decoder layer, batch 1", lambda d: decoder_layer(d, 1)),
                       ("vision layer, 2 crops", vision_layer),
                       ("decoder layer, batch %d" % a.batch, lambda d: decoder_layer(d, a.batch))):
        f32 = timed(make(torch.float32), 2)
        bf16 = timed(make(torch.bfloat16), 1, warm_up=False)  # slow enough that one run is the figure
        print("%-26s float32 %8.3f s  bfloat16 %8.3f s  ratio %6.1f" % (name, f32, bf16, bf16 / f32), flush=True)


if __name__ == "__main__":
    main()
