#!/usr/bin/env python3
"""Converts the LAION aesthetic predictor's two published files into one safetensors file for
flowscale's reward_score: aesthetic_clip.

    python3 tools/rewards/convert_aesthetic_clip.py ViT-L-14.pt sac+logos+ava1-l14-linearMSE.pth \\
        aesthetic-clip.safetensors

ViT-L-14.pt is OpenAI's CLIP checkpoint (as `clip.load("ViT-L/14")` downloads it: a TorchScript
archive; a plain state dict works too); sac+logos+ava1-l14-linearMSE.pth is the head of
christophschuhmann/improved-aesthetic-predictor (a state dict with layers.{0,2,4,6,7}.{weight,bias}).
The output holds the vision tower's tensors under OpenAI's names (visual.*; the text tower is
left out) and the head's (layers.*), in their own dtypes (OpenAI ships float16; flowscale converts
on load), plus metadata: format, heads (width / 64 unless --heads says), and the sources.

Needs only PyTorch (and numpy); safetensors is written directly (8-byte header length, JSON
header, data), so the safetensors package is not needed. Once converted, no Python runs when
flowscale samples: it loads this file into the architecture file of aesthetic_clip_arch.py.
"""
import argparse
import json
import os
import struct
import sys
from typing import Dict, List

import torch

HEAD_KEYS = [f"layers.{i}.{p}" for i in (0, 2, 4, 6, 7) for p in ("weight", "bias")]

_CODES = {
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.float64: "F64",
}


def load_clip(path: str) -> Dict[str, torch.Tensor]:
    """OpenAI's checkpoint: a TorchScript archive (their release) or a state dict."""
    try:
        sd = torch.jit.load(path, map_location="cpu").state_dict()
    except RuntimeError:
        obj = torch.load(path, map_location="cpu")
        sd = obj.state_dict() if hasattr(obj, "state_dict") else obj
    visual = {k: v for k, v in sd.items() if k.startswith("visual.")}
    if "visual.conv1.weight" not in visual or "visual.proj" not in visual:
        raise SystemExit(f"{path}: no CLIP vision tower (visual.conv1.weight, visual.proj) in it")
    return visual


def load_head(path: str) -> Dict[str, torch.Tensor]:
    obj = torch.load(path, map_location="cpu")
    sd = obj.state_dict() if hasattr(obj, "state_dict") else obj
    if "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    sd = {k[len("model."):] if k.startswith("model.") else k: v for k, v in sd.items()}
    missing = [k for k in HEAD_KEYS if k not in sd]
    if missing:
        raise SystemExit(f"{path}: not the aesthetic head: missing {', '.join(missing)}")
    return {k: sd[k] for k in HEAD_KEYS}


def write_safetensors(path: str, tensors: Dict[str, torch.Tensor], metadata: Dict[str, str]) -> None:
    header = {"__metadata__": metadata}
    blobs: List[bytes] = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _CODES:
            raise SystemExit(f"{name}: dtype {t.dtype} is not a floating type safetensors takes here")
        if t.dtype == torch.bfloat16:
            data = t.view(torch.int16).numpy().tobytes()
        else:
            data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": _CODES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("clip", help="OpenAI's ViT-L-14.pt")
    p.add_argument("head", help="sac+logos+ava1-l14-linearMSE.pth")
    p.add_argument("out", help="the safetensors file to write")
    p.add_argument("--heads", type=int, help="attention heads (default: width / 64, as OpenAI's)")
    args = p.parse_args(argv)

    visual = load_clip(args.clip)
    head = load_head(args.head)
    width = visual["visual.class_embedding"].shape[0]
    embed = visual["visual.proj"].shape[1]
    if head["layers.0.weight"].shape[1] != embed:
        raise SystemExit(
            f"the head takes {head['layers.0.weight'].shape[1]}-dim embeddings, the CLIP tower "
            f"makes {embed}: not the head of this CLIP (ViT-L/14 makes 768)")
    heads = args.heads if args.heads else width // 64
    if heads < 1 or width % heads:
        raise SystemExit(f"--heads {heads} does not divide the width {width}")
    tensors = dict(visual)
    tensors.update(head)
    metadata = {
        "format": "flowscale-aesthetic-clip",
        "heads": str(heads),
        "clip": os.path.basename(args.clip),
        "head": os.path.basename(args.head),
    }
    write_safetensors(args.out, tensors, metadata)
    layers = len({k.split(".")[3] for k in visual if k.startswith("visual.transformer.resblocks.")})
    print(f"wrote {args.out}: CLIP vision tower (width {width}, {layers} blocks, {heads} heads, "
          f"{embed}-dim embedding) + aesthetic head, {len(tensors)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
