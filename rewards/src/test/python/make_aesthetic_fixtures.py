#!/usr/bin/python3
"""Makes the aesthetic_clip test fixtures: a tiny random CLIP vision tower and aesthetic head in the
layout of the published files, converted by the real tools, and reference scores and gradients
from an eager float64 implementation.

Usage: make_aesthetic_fixtures.py REPO_ROOT OUT_DIR

Writes to OUT_DIR:
  ViT-tiny.pt                 OpenAI's layout as a TorchScript archive (visual.* in float16, plus a
                              text-tower tensor the converter must leave out); 24 blocks of width 16,
                              2 heads, patch 3, 4 x 4 patches (resolution 12), 10-dim embedding
  head-tiny.pth               the head's state dict (layers.{0,2,4,6,7}: 10 -> 12 -> 8 -> 6 -> 4 -> 1)
  aesthetic-tiny.safetensors  tools/rewards/convert_aesthetic_clip.py of the two (--heads 2)
  arch.pt                     tools/rewards/aesthetic_clip_arch.py (24 blocks)
  arch-2.pt                   the same with --layers 2 (a depth that does not fit)
  not-ours.pt                 a TorchScript file that is not an aesthetic CLIP architecture
  cases.safetensors           per case K: caseK.x F32 [N, H, W, 3] (images, a few values outside
                              [-1, 1]), caseK.score F64 [N] and caseK.grad F64 [N, H, W, 3]: the
                              reference's scores and d score_i / d x_i; metadata caseK = "N H W"
  manifest.txt                written last: the set is complete

The reference is plain functions over the state dict in float64 (the float16 weights widened),
written from OpenAI's clip/model.py and the LAION predictor independently of the architecture
file; preprocessing follows the same rules (clamp, bicubic antialiased resize of the shorter side
to the resolution, centre crop, CLIP's mean and std) with eager PyTorch ops.
"""
import json
import math
import os
import struct
import subprocess
import sys

import torch
import torch.nn.functional as F

WIDTH, HEADS, LAYERS, PATCH, GRID, EMBED = 16, 2, 24, 3, 4, 10
HEAD = [12, 8, 6, 4, 1]
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
CASES = [(3, 10, 14), (2, 12, 12), (2, 20, 17)]


def tiny_clip(g):
    w, m = WIDTH, 4 * WIDTH
    sd = {
        "visual.class_embedding": torch.randn(w, generator=g) * 0.5,
        "visual.positional_embedding": torch.randn(GRID * GRID + 1, w, generator=g) * 0.3,
        "visual.proj": torch.randn(w, EMBED, generator=g) / math.sqrt(w),
        "visual.conv1.weight": torch.randn(w, 3, PATCH, PATCH, generator=g) * 0.3,
        "visual.ln_pre.weight": 1 + 0.1 * torch.randn(w, generator=g),
        "visual.ln_pre.bias": 0.1 * torch.randn(w, generator=g),
        "visual.ln_post.weight": 1 + 0.1 * torch.randn(w, generator=g),
        "visual.ln_post.bias": 0.1 * torch.randn(w, generator=g),
    }
    for i in range(LAYERS):
        p = f"visual.transformer.resblocks.{i}."
        sd[p + "ln_1.weight"] = 1 + 0.1 * torch.randn(w, generator=g)
        sd[p + "ln_1.bias"] = 0.1 * torch.randn(w, generator=g)
        sd[p + "attn.in_proj_weight"] = torch.randn(3 * w, w, generator=g) / math.sqrt(w)
        sd[p + "attn.in_proj_bias"] = 0.05 * torch.randn(3 * w, generator=g)
        sd[p + "attn.out_proj.weight"] = 0.5 * torch.randn(w, w, generator=g) / math.sqrt(w)
        sd[p + "attn.out_proj.bias"] = 0.05 * torch.randn(w, generator=g)
        sd[p + "ln_2.weight"] = 1 + 0.1 * torch.randn(w, generator=g)
        sd[p + "ln_2.bias"] = 0.1 * torch.randn(w, generator=g)
        sd[p + "mlp.c_fc.weight"] = torch.randn(m, w, generator=g) / math.sqrt(w)
        sd[p + "mlp.c_fc.bias"] = 0.05 * torch.randn(m, generator=g)
        sd[p + "mlp.c_proj.weight"] = 0.5 * torch.randn(w, m, generator=g) / math.sqrt(m)
        sd[p + "mlp.c_proj.bias"] = 0.05 * torch.randn(w, generator=g)
    return {k: v.half() for k, v in sd.items()}  # OpenAI ships float16


def tiny_head(g):
    sd = {}
    dims = [EMBED] + HEAD
    for k, layer in enumerate([0, 2, 4, 6, 7]):
        sd[f"layers.{layer}.weight"] = torch.randn(dims[k + 1], dims[k], generator=g) / math.sqrt(dims[k])
        sd[f"layers.{layer}.bias"] = 0.1 * torch.randn(dims[k + 1], generator=g)
    return sd


class Holder(torch.nn.Module):
    """Holds tensors under dotted names, to be scripted into a TorchScript archive."""

    def __init__(self, sd):
        super().__init__()
        for name, t in sd.items():
            parts = name.split(".")
            mod = self
            for p in parts[:-1]:
                if not hasattr(mod, p):
                    mod.add_module(p, torch.nn.Module())
                mod = getattr(mod, p)
            mod.register_parameter(parts[-1], torch.nn.Parameter(t, requires_grad=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


# --- the reference -------------------------------------------------------------------------------


def preprocess(x):
    """x [N, H, W, 3] float64 in [-1, 1] -> [N, 3, R, R]."""
    r = PATCH * GRID
    x = x.permute(0, 3, 1, 2)
    x = torch.clamp((x + 1) / 2, 0, 1)
    h, w = x.shape[2], x.shape[3]
    if (h, w) != (r, r):
        if h <= w:
            nh, nw = r, int(r * w / h)
        else:
            nh, nw = int(r * h / w), r
        if (nh, nw) != (h, w):
            x = F.interpolate(x, size=[nh, nw], mode="bicubic", align_corners=False, antialias=True)
        top, left = int(round((nh - r) / 2.0)), int(round((nw - r) / 2.0))
        x = x[:, :, top:top + r, left:left + r]
    mean = torch.tensor(MEAN, dtype=x.dtype).reshape(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x.dtype).reshape(1, 3, 1, 1)
    return (x - mean) / std


def ln(x, sd, p):
    return F.layer_norm(x, [x.shape[-1]], sd[p + ".weight"], sd[p + ".bias"], 1e-5)


def score(x, sd):
    v = preprocess(x)
    v = F.conv2d(v, sd["visual.conv1.weight"], stride=PATCH)
    n = v.shape[0]
    v = v.reshape(n, WIDTH, -1).permute(0, 2, 1)
    v = torch.cat([sd["visual.class_embedding"].expand(n, 1, WIDTH), v], dim=1)
    v = v + sd["visual.positional_embedding"]
    v = ln(v, sd, "visual.ln_pre")
    d = WIDTH // HEADS
    for i in range(LAYERS):
        p = f"visual.transformer.resblocks.{i}."
        h = ln(v, sd, p + "ln_1")
        q, k, val = (h @ sd[p + "attn.in_proj_weight"].T + sd[p + "attn.in_proj_bias"]).chunk(3, dim=-1)
        split = lambda t: t.reshape(n, -1, HEADS, d).transpose(1, 2)
        a = torch.softmax(split(q) @ split(k).transpose(-1, -2) / math.sqrt(d), dim=-1) @ split(val)
        a = a.transpose(1, 2).reshape(n, -1, WIDTH)
        v = v + a @ sd[p + "attn.out_proj.weight"].T + sd[p + "attn.out_proj.bias"]
        h = ln(v, sd, p + "ln_2") @ sd[p + "mlp.c_fc.weight"].T + sd[p + "mlp.c_fc.bias"]
        h = h * torch.sigmoid(1.702 * h)
        v = v + h @ sd[p + "mlp.c_proj.weight"].T + sd[p + "mlp.c_proj.bias"]
    e = ln(v[:, 0, :], sd, "visual.ln_post") @ sd["visual.proj"]
    e = e / e.norm(dim=-1, keepdim=True)
    for layer in [0, 2, 4, 6, 7]:
        e = e @ sd[f"layers.{layer}.weight"].T + sd[f"layers.{layer}.bias"]
    return e.reshape(-1)


def save_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        code = {torch.float32: "F32", torch.float64: "F64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def main():
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    manifest = os.path.join(out, "manifest.txt")
    if os.path.exists(manifest):
        os.remove(manifest)
    g = torch.Generator().manual_seed(20251130)
    clip = tiny_clip(g)
    head = tiny_head(g)
    archive = dict(clip)
    archive["token_embedding.weight"] = torch.randn(7, WIDTH, generator=g).half()
    torch.jit.script(Holder(archive)).save(os.path.join(out, "ViT-tiny.pt"))
    torch.save(head, os.path.join(out, "head-tiny.pth"))
    tools = os.path.join(root, "tools", "rewards")
    py = sys.executable
    subprocess.run([py, os.path.join(tools, "convert_aesthetic_clip.py"), os.path.join(out, "ViT-tiny.pt"),
                    os.path.join(out, "head-tiny.pth"), os.path.join(out, "aesthetic-tiny.safetensors"),
                    "--heads", str(HEADS)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([py, os.path.join(tools, "aesthetic_clip_arch.py"), os.path.join(out, "arch.pt")],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([py, os.path.join(tools, "aesthetic_clip_arch.py"), os.path.join(out, "arch-2.pt"),
                    "--layers", "2"], check=True, stdout=subprocess.DEVNULL)
    torch.jit.script(torch.nn.Identity()).save(os.path.join(out, "not-ours.pt"))

    sd = {k: v.double() for k, v in list(clip.items()) + list(head.items())}
    tensors, meta = {}, {}
    for k, (n, h, w) in enumerate(CASES):
        x = (torch.rand(n, h, w, 3, generator=g) * 2.2 - 1.1).float()
        x64 = x.double().requires_grad_(True)
        s = score(x64, sd)
        (grad,) = torch.autograd.grad(s.sum(), x64)
        tensors[f"case{k}.x"] = x
        tensors[f"case{k}.score"] = s.detach()
        tensors[f"case{k}.grad"] = grad
        meta[f"case{k}"] = f"{n} {h} {w}"
    save_safetensors(os.path.join(out, "cases.safetensors"), tensors, meta)
    with open(manifest, "w") as f:
        f.write(f"cases {len(CASES)}\n")


if __name__ == "__main__":
    main()
