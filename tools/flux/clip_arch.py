#!/usr/bin/env python3
"""CLIP's text model (FLUX.1's text_encoder, CLIP ViT-L/14) as a TorchScript architecture file.

    python3 tools/flux/clip_arch.py clip-text.pt [--layers 12]

writes the architecture of Hugging Face transformers' CLIPTextModel (causal self-attention,
quick-GELU MLPs, pre-norm blocks) with random weights at a tiny width and the real depth (12
layers for CLIP-L). Parameter names are the transformers names exactly
(text_model.encoder.layers.N.self_attn.q_proj.weight, ...), so flowscale replaces each parameter
by name with the tensors of text_encoder/model.safetensors and the tiny file becomes the real
model. No Python runs when flowscale samples; this file depends on nothing but PyTorch (1.13+).

The code follows transformers' modeling_clip.py (eager attention) operation for operation. As
BFL's and diffusers' FLUX pipelines call it: no padding mask (only the causal mask).

Entry point: forward(ids [N, T] int64, eos [N] int64) -> pooled [N, hidden]: the final layer
norm's output at position eos[i] of row i (the end-of-text token; flowscale finds it as
transformers does).
Int attribute flowscale sets from the checkpoint's config.json: num_heads (12 for CLIP-L).
"""
import argparse
import sys
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The version of this file's interface; flowscale refuses files of another version.
ARCHITECTURE_VERSION = 1


class LayerNorm(nn.Module):
    """nn.LayerNorm(d, eps=1e-5), its width read from its weight (nn.LayerNorm scripts it fixed)."""

    def __init__(self, d: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, [self.weight.shape[0]], self.weight, self.bias, 1e-5)


class CLIPAttention(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x: Tensor, mask: Tensor, heads: int) -> Tensor:
        n, length, d = x.shape
        hd = d // heads
        scale = float(hd) ** -0.5
        q = (self.q_proj(x) * scale).view(n, length, heads, hd).transpose(1, 2)
        k = self.k_proj(x).view(n, length, heads, hd).transpose(1, 2)
        v = self.v_proj(x).view(n, length, heads, hd).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)) + mask
        w = torch.softmax(w, dim=-1)
        out = torch.matmul(w, v).transpose(1, 2).reshape(n, length, d)
        return self.out_proj(out)


class CLIPMLP(nn.Module):
    def __init__(self, d: int, inner: int):
        super().__init__()
        self.fc1 = nn.Linear(d, inner)
        self.fc2 = nn.Linear(inner, d)

    def forward(self, x: Tensor) -> Tensor:
        h = self.fc1(x)
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu
        return self.fc2(h)


class CLIPEncoderLayer(nn.Module):
    def __init__(self, d: int, inner: int):
        super().__init__()
        self.self_attn = CLIPAttention(d)
        self.layer_norm1 = LayerNorm(d)
        self.mlp = CLIPMLP(d, inner)
        self.layer_norm2 = LayerNorm(d)

    def forward(self, x: Tensor, mask: Tensor, heads: int) -> Tensor:
        x = x + self.self_attn(self.layer_norm1(x), mask, heads)
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, d: int, inner: int, layers: int):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(d, inner) for _ in range(layers)])


class CLIPEmbeddings(nn.Module):
    def __init__(self, vocab: int, d: int, positions: int):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, d)
        self.position_embedding = nn.Embedding(positions, d)


class CLIPTextTransformer(nn.Module):
    def __init__(self, vocab: int, d: int, inner: int, layers: int, positions: int):
        super().__init__()
        self.embeddings = CLIPEmbeddings(vocab, d, positions)
        self.encoder = CLIPEncoder(d, inner, layers)
        self.final_layer_norm = LayerNorm(d)


class CLIPTextModel(nn.Module):
    def __init__(self, vocab: int, d: int, inner: int, layers: int, positions: int, heads: int):
        super().__init__()
        self.flowscale_clip_architecture = ARCHITECTURE_VERSION
        self.num_heads = heads
        self.text_model = CLIPTextTransformer(vocab, d, inner, layers, positions)

    @torch.jit.export
    def layers(self) -> int:
        return len(self.text_model.encoder.layers)

    def forward(self, ids: Tensor, eos: Tensor) -> Tensor:
        tm = self.text_model
        length = ids.shape[1]
        pos = torch.arange(length, dtype=torch.long, device=ids.device)
        x = tm.embeddings.token_embedding(ids) + tm.embeddings.position_embedding(pos)[None]
        mask = torch.full([length, length], float("-inf"), dtype=x.dtype, device=x.device)
        mask = torch.triu(mask, diagonal=1)[None, None]
        for layer in tm.encoder.layers:
            x = layer(x, mask, self.num_heads)
        x = tm.final_layer_norm(x)
        rows = torch.arange(ids.shape[0], dtype=torch.long, device=ids.device)
        return x[rows, eos.to(torch.long)]


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="where to write the TorchScript file, e.g. clip-text.pt")
    ap.add_argument("--layers", type=int, default=12, help="CLIP-L: 12")
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    model = CLIPTextModel(vocab=8, d=8, inner=16, layers=a.layers, positions=77, heads=2).eval()
    torch.jit.script(model).save(a.out)
    print(f"wrote {a.out}: CLIP text model architecture, {a.layers} layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
