#!/usr/bin/env python3
"""The PyTorch half of bench/gpu/flux-check.sh: a FLUX.1-schnell-sized transformer with random
bf16 weights on the GPU, written as a BFL-layout checkpoint for the Java half to load, and timed
as eager PyTorch on the same weights and inputs.

Usage: flux_check.py OUT_DIR DEVICE SIZE CHECKPOINT ITERS BATCHES

  SIZE        "real" (FLUX.1: hidden 3072, 24 heads, 19 + 38 blocks, 1024x1024 images, 256 T5
              tokens) or "tiny" (hidden 48, 3 heads, 19 + 38 blocks, 64x64, 16 tokens: the CPU
              dry run of the whole flow)
  CHECKPOINT  where to write the checkpoint (23.8 GB at real size: /dev/shm or a local disk)
  BATCHES     e.g. 1,2,4

Writes OUT_DIR/inputs.safetensors (x [maxB, 16, H/8, W/8] bf16, t [maxB] f32),
OUT_DIR/emb.safetensors (the text embeddings file of the prompt "flux-check"),
OUT_DIR/check.safetensors (eager PyTorch's velocity of batch 1, bf16), OUT_DIR/python.txt
("batch B ms MS" per batch, appended as each finishes), OUT_DIR/peak.txt (a bf16 matmul's
TFLOP/s on this card) and OUT_DIR/size.txt (the settings the Java half needs).
"""
import ctypes
import importlib.util
import json
import math
import mmap
import os
import sys
import time

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
spec = importlib.util.spec_from_file_location(
    "flux_arch", os.path.join(ROOT, "tools", "flux", "flux_arch.py"))
flux_arch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(flux_arch)

SIZES = {
    # hidden, heads, axes, vec, ctx, image side, text tokens
    "real": (3072, 24, [16, 56, 56], 768, 4096, 1024, 256),
    "tiny": (48, 3, [4, 6, 6], 24, 40, 64, 16),
}
DTYPES = {torch.bfloat16: "BF16", torch.float32: "F32", torch.float16: "F16"}


def log(*a):
    print("[flux_check %s]" % time.strftime("%H:%M:%S"), *a, flush=True)


def write_safetensors(path, tensors, metadata=None):
    """Streams tensors to a safetensors file: each is copied to the host and moved into a memory
    mapping of the file with ctypes (no numpy or safetensors package needed)."""
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, t in tensors.items():
        n = t.numel() * t.element_size()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    total = 8 + len(h) + offset
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.truncate(total)
    with open(tmp, "r+b") as f:
        mm = mmap.mmap(f.fileno(), total)
        mm[0:8] = len(h).to_bytes(8, "little")
        mm[8:8 + len(h)] = h
        base = ctypes.addressof(ctypes.c_char.from_buffer(mm))
        pos = 8 + len(h)
        for name, t in tensors.items():
            c = t.detach().contiguous().cpu()
            n = c.numel() * c.element_size()
            ctypes.memmove(base + pos, c.data_ptr(), n)
            pos += n
            del c
        del base
        mm.flush()
        mm.close()
    os.replace(tmp, path)
    return total


def build(dev, hidden, heads, axes, vec, ctx):
    """The eager FLUX.1-schnell architecture with random bf16 weights made on `dev` (12B
    parameters at full size: made on the meta device and filled in place, never in float32 on
    the host). Weights N(0, 0.25 / fan_in) keep activations finite through the 57 blocks."""
    def make():
        return flux_arch.Flux(hidden=hidden, num_heads=heads, axes_dim=axes, in_channels=64,
                              vec_in_dim=vec, context_in_dim=ctx)
    if hasattr(torch.device, "__enter__"):  # PyTorch 2.0+
        with torch.device("meta"):
            model = make()
        model = model.to_empty(device=dev)
    else:
        model = make().to(dev)
    model = model.to(torch.bfloat16).eval()
    model.guidance_embed = 0  # FLUX.1-schnell
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0, 0.5 / math.sqrt(p.shape[1]))
            elif name.endswith(".scale"):
                p.normal_(1, 0.1)
            else:
                p.normal_(0, 0.02)
    return model


def main():
    out, device, size, ckpt, iters, batches = sys.argv[1:7]
    iters = int(iters)
    batches = [int(b) for b in batches.split(",")]
    os.makedirs(out, exist_ok=True)
    hidden, heads, axes, vec, ctx, side, tokens = SIZES[size]
    dev = torch.device(device)
    log("torch", torch.__version__, "on", device, "size", size)
    with open(os.path.join(out, "size.txt"), "w") as f:
        f.write("hidden=%d heads=%d axes=%s vec=%d ctx=%d side=%d tokens=%d\n"
                % (hidden, heads, ",".join(map(str, axes)), vec, ctx, side, tokens))

    torch.manual_seed(0)
    t0 = time.time()
    model = build(dev, hidden, heads, axes, vec, ctx)
    params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("guidance_in."))
    log("model: %.2fB parameters, made in %.1f s" % (params / 1e9, time.time() - t0))

    t0 = time.time()
    sd = {n: p for n, p in model.state_dict().items() if not n.startswith("guidance_in.")}
    nbytes = write_safetensors(ckpt, sd, {"format": "pt", "note": "random weights, flux-check"})
    log("checkpoint %s: %.2f GB in %.1f s" % (ckpt, nbytes / 1e9, time.time() - t0))

    g = torch.Generator(device="cpu").manual_seed(1)
    maxb = max(batches)
    x = torch.randn(maxb, 16, side // 8, side // 8, generator=g).to(torch.bfloat16)
    t = torch.linspace(0.9, 0.3, maxb)
    txt = torch.randn(tokens, ctx, generator=g).to(torch.bfloat16)
    y = torch.randn(vec, generator=g).to(torch.bfloat16)
    write_safetensors(os.path.join(out, "inputs.safetensors"), {"x": x, "t": t})
    write_safetensors(os.path.join(out, "emb.safetensors"), {"t5": txt, "clip_pooled": y},
                      {"format": "flowscale.flux.text_embeddings", "version": "1",
                       "prompt": "flux-check"})
    x, t, txt, y = x.to(dev), t.to(dev), txt.to(dev)[None], y.to(dev)[None]

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    with torch.no_grad():
        v1 = model(x[:1], t[:1].to(torch.bfloat16), txt, y)
        write_safetensors(os.path.join(out, "check.safetensors"), {"v": v1})
        pyfile = os.path.join(out, "python.txt")
        open(pyfile, "w").close()
        for b in batches:
            xb, tb = x[:b], t[:b].to(torch.bfloat16)
            for _ in range(2):
                model(xb, tb, txt, y)
            sync()
            t0 = time.perf_counter()
            for _ in range(iters):
                model(xb, tb, txt, y)
            sync()
            ms = (time.perf_counter() - t0) * 1000 / iters
            log("eager PyTorch, batch %d: %.2f ms per forward" % (b, ms))
            with open(pyfile, "a") as f:
                f.write("batch %d ms %.4f\n" % (b, ms))

        if dev.type == "cuda":
            a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
            bm = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
            for _ in range(3):
                a @ bm
            sync()
            t0 = time.perf_counter()
            n = 30
            for _ in range(n):
                a @ bm
            sync()
            tflops = 2 * 8192 ** 3 * n / (time.perf_counter() - t0) / 1e12
            log("bf16 matmul 8192^3: %.0f TFLOP/s" % tflops)
            with open(os.path.join(out, "peak.txt"), "w") as f:
                f.write("%.1f\n" % tflops)
    log("done")


if __name__ == "__main__":
    main()
