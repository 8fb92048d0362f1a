#!/usr/bin/python3
"""Makes the FLUX test fixtures: tiny random FLUX.1 checkpoints in Black Forest Labs' layout, text
embeddings files, and reference velocities from an eager PyTorch implementation.

Usage: make_flux_fixtures.py REPO_ROOT OUT_DIR

Writes to OUT_DIR:
  flux-arch.pt          the architecture file, made by the real tool (tools/flux/flux_arch.py)
  not-flux.pt           a TorchScript file that is not a FLUX architecture
  latent_reward.pt      a reward on latents, forward(x [N, 16, h, w]) -> [N] (the CLI test's)
  schnell.safetensors   FLUX.1-schnell layout (no guidance_in), BF16 as BFL ships it, 19 double +
                        38 single blocks at hidden width 48 (3 heads of 16, rope axes [4, 6, 6])
  dev.safetensors       FLUX.1-dev layout (guidance_in), F32, every name under ComfyUI's
                        "model.diffusion_model." prefix, plus an all-in-one file's vae.* tensor
  emb/                  text embeddings files, named by the SHA-256 of their prompt
  emb-case0.safetensors one more, used as a single file (BF16 data)
  cases.safetensors     per case K: caseK.x [N,16,h,w] F32, caseK.t [N] F64, and reference
                        velocities [N,16,h,w] F64: caseK.v_f32 (a float32 model, exact maths),
                        caseK.v_bf16 (eager PyTorch in bf16), caseK.v_bf16_exact (a bf16 model's
                        rounded inputs and weights, exact maths); metadata "caseK" =
                        "VARIANT N h w T GUIDANCE", "caseK.prompt", "caseK.embeddings" (file or
                        dir) and "caseK.eager_bf16_error" (eager bf16's error against exact);
                        caseK.cotangent and caseK.vjp_f32 [N,16,h,w] F64: a cotangent w and
                        (du/dx)^T w of a float32 model (exact maths)
  manifest.txt          written last: the set is complete

The reference is written from BFL's src/flux/model.py, modules/layers.py, math.py and sampling.py
independently of tools/flux/flux_arch.py: plain functions over the state dict. Where BFL
computes in a fixed dtype on purpose it does the same in every run: the time and guidance reach
the model in the model's dtype and their sinusoidal embeddings are made in float32; rotary
embeddings, RMSNorm and the rotation are float32 (ids are float32).
"""
import hashlib
import importlib.util
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

HIDDEN = 48
HEADS = 3
AXES = [4, 6, 6]
MLP = 4 * HIDDEN
CTX = 40
VEC = 24
IN = 64
DOUBLE = 19
SINGLE = 38

# variant, N, latent h, latent w, text tokens, guidance, embeddings as (dir|file)
CASES = [
    ("schnell", 1, 16, 16, 7, None, "file"),
    ("schnell", 3, 8, 12, 5, None, "dir"),
    ("dev", 2, 12, 8, 9, 3.5, "dir"),
    ("dev", 5, 8, 8, 4, 2.0, "dir"),
]


class LatentReward(torch.nn.Module):
    """Prefers latents near 0.5 everywhere: -mean((x - 0.5)^2) per sample."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -((x - 0.5) ** 2).mean(dim=(1, 2, 3))


def save_safetensors(path, tensors, metadata=None):
    """The safetensors layout, written with struct + json (no safetensors package needed)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype == torch.float32:
            code, fmt, vals = "F32", "f", t.flatten().tolist()
        elif t.dtype == torch.float64:
            code, fmt, vals = "F64", "d", t.flatten().tolist()
        elif t.dtype == torch.bfloat16:
            code, fmt, vals = "BF16", "h", t.flatten().view(torch.int16).tolist()
        elif t.dtype == torch.int32:
            code, fmt, vals = "I32", "i", t.flatten().tolist()
        else:
            raise ValueError(t.dtype)
        blob = struct.pack("<%d%s" % (len(vals), fmt), *vals)
        header[name] = {"dtype": code, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def random_checkpoint(guidance, gen):
    """A state dict in BFL's layout with activations kept O(1) through 57 blocks."""
    sd = {}

    def lin(name, out_f, in_f, scale=1.0):
        sd[name + ".weight"] = torch.randn(out_f, in_f, generator=gen, dtype=torch.float64) * (
            scale / math.sqrt(in_f))
        sd[name + ".bias"] = torch.randn(out_f, generator=gen, dtype=torch.float64) * 0.02

    def norm(name, d):
        sd[name + ".scale"] = 1 + 0.1 * torch.randn(d, generator=gen, dtype=torch.float64)

    head = HIDDEN // HEADS
    lin("img_in", HIDDEN, IN)
    lin("time_in.in_layer", HIDDEN, 256)
    lin("time_in.out_layer", HIDDEN, HIDDEN)
    lin("vector_in.in_layer", HIDDEN, VEC)
    lin("vector_in.out_layer", HIDDEN, HIDDEN)
    if guidance:
        lin("guidance_in.in_layer", HIDDEN, 256)
        lin("guidance_in.out_layer", HIDDEN, HIDDEN)
    lin("txt_in", HIDDEN, CTX)
    for i in range(DOUBLE):
        p = "double_blocks.%d." % i
        for s in ("img", "txt"):
            lin(p + s + "_mod.lin", 6 * HIDDEN, HIDDEN, 0.5)
            lin(p + s + "_attn.qkv", 3 * HIDDEN, HIDDEN)
            norm(p + s + "_attn.norm.query_norm", head)
            norm(p + s + "_attn.norm.key_norm", head)
            lin(p + s + "_attn.proj", HIDDEN, HIDDEN)
            lin(p + s + "_mlp.0", MLP, HIDDEN)
            lin(p + s + "_mlp.2", HIDDEN, MLP)
    for i in range(SINGLE):
        p = "single_blocks.%d." % i
        lin(p + "linear1", 3 * HIDDEN + MLP, HIDDEN)
        lin(p + "linear2", HIDDEN, HIDDEN + MLP)
        norm(p + "norm.query_norm", head)
        norm(p + "norm.key_norm", head)
        lin(p + "modulation.lin", 3 * HIDDEN, HIDDEN, 0.5)
    lin("final_layer.linear", IN, HIDDEN)
    lin("final_layer.adaLN_modulation.1", 2 * HIDDEN, HIDDEN, 0.5)
    return sd


# ---- the reference: BFL's transformer as plain functions ------------------------------------
#
# Written from BFL's code, op for op at BFL's granularity (F.linear, F.layer_norm, F.gelu, RMSNorm
# and rotary embeddings in float32), so that run in bfloat16 it is what eager PyTorch computes for
# a bf16 FLUX, and run in float64 it is the exact result of the same inputs and weights.

def up(x):
    """BFL's .float(): float32, but float64 stays float64 in the exact run."""
    return x if x.dtype == torch.float64 else x.float()


def linear(x, w, name):
    return F.linear(x, w[name + ".weight"], w[name + ".bias"])


def layer_norm(x):
    return F.layer_norm(x, [x.shape[-1]], eps=1e-6)


def rms_norm(x, scale):
    xf = up(x)
    rrms = torch.rsqrt(torch.mean(xf ** 2, dim=-1, keepdim=True) + 1e-6)
    return (xf * rrms).to(x.dtype) * scale


def mlp_embed(x, w, name):
    return linear(F.silu(linear(x, w, name + ".in_layer")), w, name + ".out_layer")


def timestep_embedding(tm, dim=256):
    """BFL's embedding of 1000 t; tm is in the model's dtype (float32 maths, as BFL's)."""
    s = 1000.0 * tm
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(0, half, dtype=torch.float32) / half)
    args = s[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1).to(tm.dtype)


def rope(pos, dim, theta=10000):
    """BFL's rope in float32 (ids are float32): [..., n, dim/2, 2, 2]."""
    scale = torch.arange(0, dim, 2, dtype=torch.float32) / dim
    omega = 1.0 / (theta ** scale)
    out = pos[..., None] * omega
    m = torch.stack([torch.cos(out), -torch.sin(out), torch.sin(out), torch.cos(out)], dim=-1)
    return m.reshape(*m.shape[:-1], 2, 2)


def pe_of(h2, w2, tokens):
    img_ids = torch.zeros(h2, w2, 3)
    img_ids[..., 1] += torch.arange(h2)[:, None]
    img_ids[..., 2] += torch.arange(w2)[None, :]
    ids = torch.cat([torch.zeros(tokens, 3), img_ids.reshape(-1, 3)], 0)  # txt first
    return torch.cat([rope(ids[:, i], AXES[i]) for i in range(3)], dim=-3)  # [L, D/2, 2, 2]


def rotate(x, pe):
    # pairs (x0, x1) -> (pe00 x0 + pe01 x1, pe10 x0 + pe11 x1), in float32 as BFL
    xp = up(x).reshape(*x.shape[:-1], -1, 2)
    pe = pe.to(xp.dtype)
    a = pe[..., 0, 0] * xp[..., 0] + pe[..., 0, 1] * xp[..., 1]
    b = pe[..., 1, 0] * xp[..., 0] + pe[..., 1, 1] * xp[..., 1]
    return torch.stack([a, b], -1).reshape(x.shape).to(x.dtype)


def attend(q, k, v, pe):
    q, k = rotate(q, pe), rotate(k, pe)
    a = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1])), dim=-1) @ v
    b, h, l, d = a.shape
    return a.permute(0, 2, 1, 3).reshape(b, l, h * d)


def heads(qkv):
    b, l, _ = qkv.shape
    q, k, v = qkv.reshape(b, l, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
    return q, k, v


def reference(w, img, txt, y, tm, gm, pe):
    """BFL's Flux.forward on packed img [N, L, 64]; tm and gm are in the model's dtype."""
    dt = img.dtype
    n = img.shape[0]
    img = linear(img, w, "img_in")
    vec = mlp_embed(timestep_embedding(tm).to(dt), w, "time_in")
    if gm is not None:
        vec = vec + mlp_embed(timestep_embedding(gm).to(dt), w, "guidance_in")
    vec = vec + mlp_embed(y, w, "vector_in")
    txt = linear(txt, w, "txt_in")
    t_len = txt.shape[1]
    for i in range(DOUBLE):
        p = "double_blocks.%d." % i
        im = linear(F.silu(vec), w, p + "img_mod.lin")[:, None, :].chunk(6, -1)
        tmod = linear(F.silu(vec), w, p + "txt_mod.lin")[:, None, :].chunk(6, -1)
        iq, ik, iv = heads(linear((1 + im[1]) * layer_norm(img) + im[0], w, p + "img_attn.qkv"))
        iq = rms_norm(iq, w[p + "img_attn.norm.query_norm.scale"])
        ik = rms_norm(ik, w[p + "img_attn.norm.key_norm.scale"])
        tq, tk, tv = heads(linear((1 + tmod[1]) * layer_norm(txt) + tmod[0], w, p + "txt_attn.qkv"))
        tq = rms_norm(tq, w[p + "txt_attn.norm.query_norm.scale"])
        tk = rms_norm(tk, w[p + "txt_attn.norm.key_norm.scale"])
        a = attend(torch.cat([tq, iq], 2), torch.cat([tk, ik], 2), torch.cat([tv, iv], 2), pe)
        ta, ia = a[:, :t_len], a[:, t_len:]
        img = img + im[2] * linear(ia, w, p + "img_attn.proj")
        img = img + im[5] * linear(F.gelu(linear((1 + im[4]) * layer_norm(img) + im[3], w,
                                                 p + "img_mlp.0"), approximate="tanh"),
                                   w, p + "img_mlp.2")
        txt = txt + tmod[2] * linear(ta, w, p + "txt_attn.proj")
        txt = txt + tmod[5] * linear(F.gelu(linear((1 + tmod[4]) * layer_norm(txt) + tmod[3], w,
                                                   p + "txt_mlp.0"), approximate="tanh"),
                                     w, p + "txt_mlp.2")
    x = torch.cat([txt.expand(n, -1, -1), img], 1)
    for i in range(SINGLE):
        p = "single_blocks.%d." % i
        shift, scale, gate = linear(F.silu(vec), w, p + "modulation.lin")[:, None, :].chunk(3, -1)
        h = linear((1 + scale) * layer_norm(x) + shift, w, p + "linear1")
        qkv, mlp = h[..., :3 * HIDDEN], h[..., 3 * HIDDEN:]
        q, k, v = heads(qkv)
        q = rms_norm(q, w[p + "norm.query_norm.scale"])
        k = rms_norm(k, w[p + "norm.key_norm.scale"])
        o = torch.cat([attend(q, k, v, pe), F.gelu(mlp, approximate="tanh")], 2)
        x = x + gate * linear(o, w, p + "linear2")
    x = x[:, t_len:]
    shift, scale = linear(F.silu(vec), w, "final_layer.adaLN_modulation.1").chunk(2, 1)
    x = (1 + scale[:, None, :]) * layer_norm(x) + shift[:, None, :]
    return linear(x, w, "final_layer.linear")


def pack(x):
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(
        b, (h // 2) * (w // 2), c * 4)


def unpack(x, c, h, w):
    b = x.shape[0]
    return x.reshape(b, h // 2, w // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(b, c, h, w)


def velocity(sd, x, t, txt, y, g, model_dtype, compute_dtype, grad=False):
    """The velocity of a `model_dtype` FLUX on unpacked latents x, computed in `compute_dtype`:
    model_dtype itself (eager PyTorch) or float64 (the exact result of its rounded inputs)."""
    def cast(v):
        return v.to(model_dtype).to(compute_dtype)
    w = {k: cast(v) for k, v in sd.items()}
    n, c, h, wd = x.shape
    pe = pe_of(h // 2, wd // 2, txt.shape[0])
    tm = t.to(model_dtype)
    gm = None if g is None else torch.full((n,), g, dtype=torch.float64).to(model_dtype)
    with torch.set_grad_enabled(grad):
        out = reference(w, pack(cast(x)), cast(txt)[None], cast(y)[None], tm, gm, pe)
    return unpack(out, c, h, wd).double()


def rel_err(a, b):
    return float((a - b).norm() / b.norm())


def sha_name(prompt):
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest() + ".safetensors"


def main():
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "emb"), exist_ok=True)
    torch.manual_seed(20261130)
    gen = torch.Generator().manual_seed(20261130)

    spec = importlib.util.spec_from_file_location(
        "flux_arch", os.path.join(root, "tools", "flux", "flux_arch.py"))
    arch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(arch)
    arch.main([os.path.join(out, "flux-arch.pt")])
    torch.jit.script(torch.nn.Linear(2, 2)).save(os.path.join(out, "not-flux.pt"))
    torch.jit.script(LatentReward()).save(os.path.join(out, "latent_reward.pt"))

    schnell = {k: v.to(torch.bfloat16) for k, v in random_checkpoint(False, gen).items()}
    save_safetensors(os.path.join(out, "schnell.safetensors"), schnell,
                     {"format": "pt", "note": "flowscale test fixture"})
    dev = {k: v.float() for k, v in random_checkpoint(True, gen).items()}
    dev_file = {"model.diffusion_model." + k: v for k, v in dev.items()}
    dev_file["vae.decoder.conv_in.weight"] = torch.randn(4, 16, 3, 3, generator=gen).float()
    save_safetensors(os.path.join(out, "dev.safetensors"), dev_file)

    cases = {}
    meta = {}
    for k, (variant, n, h, w, tokens, g, mode) in enumerate(CASES):
        prompt = "case %d with %d particles of %dx%d and %d tokens" % (k, n, h * 8, w * 8, tokens)
        txt = torch.randn(tokens, CTX, generator=gen, dtype=torch.float64)
        y = torch.randn(VEC, generator=gen, dtype=torch.float64)
        emb_meta = {"format": "flowscale.flux.text_embeddings", "version": "1", "prompt": prompt}
        if mode == "file":
            txt, y = txt.to(torch.bfloat16), y.to(torch.bfloat16)
            save_safetensors(os.path.join(out, "emb-case%d.safetensors" % k),
                             {"t5": txt, "clip_pooled": y}, emb_meta)
        else:
            txt, y = txt.float(), y.float()
            save_safetensors(os.path.join(out, "emb", sha_name(prompt)),
                             {"t5": txt[None], "clip_pooled": y[None]}, emb_meta)
        x = torch.randn(n, 16, h, w, generator=gen, dtype=torch.float64).float().double()
        t = torch.rand(n, generator=gen, dtype=torch.float64) * 0.98 + 0.01
        sd = schnell if variant == "schnell" else dev
        cases["case%d.x" % k] = x
        cases["case%d.t" % k] = t
        f32 = torch.float32
        bf16 = torch.bfloat16
        cases["case%d.v_f32" % k] = velocity(sd, x, t, txt, y, g, f32, torch.float64)
        v_bf16 = velocity(sd, x, t, txt, y, g, bf16, bf16)
        v_bf16_exact = velocity(sd, x, t, txt, y, g, bf16, torch.float64)
        cases["case%d.v_bf16" % k] = v_bf16
        cases["case%d.v_bf16_exact" % k] = v_bf16_exact
        meta["case%d.eager_bf16_error" % k] = repr(rel_err(v_bf16, v_bf16_exact))
        # the VJP (du/dx)^T w of a float32 model, exact maths, for the DPS methods
        w_cot = torch.randn(n, 16, h, w, generator=gen, dtype=torch.float64).float().double()
        xg = x.clone().requires_grad_(True)
        vg = velocity(sd, xg, t, txt, y, g, f32, torch.float64, grad=True)
        (vjp,) = torch.autograd.grad(vg, xg, w_cot)
        cases["case%d.cotangent" % k] = w_cot
        cases["case%d.vjp_f32" % k] = vjp
        meta["case%d" % k] = "%s %d %d %d %d %s" % (variant, n, h, w, tokens,
                                                    "nan" if g is None else repr(g))
        meta["case%d.prompt" % k] = prompt
        meta["case%d.embeddings" % k] = mode
    save_safetensors(os.path.join(out, "cases.safetensors"), cases, meta)

    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("torch_version %s\ncases %d\n" % (torch.__version__, len(CASES)))
    print("flowscale FLUX fixtures (torch %s) written to %s" % (torch.__version__, out))


if __name__ == "__main__":
    main()
