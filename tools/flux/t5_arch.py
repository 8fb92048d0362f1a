#!/usr/bin/env python3
"""T5 v1.1's encoder (FLUX.1's text_encoder_2, T5-XXL) as a TorchScript architecture file.

    python3 tools/flux/t5_arch.py t5-encoder.pt [--layers 24]

writes the architecture of Hugging Face transformers' T5EncoderModel (T5 v1.1: gated-GELU feed
forward, RMS layer norms without bias, relative position buckets in the first block only) with
random weights at a tiny width and the real depth (24 blocks for T5-XXL). Parameter names are the
transformers names exactly (shared.weight, encoder.block.N.layer.0.SelfAttention.q.weight, ...),
so flowscale replaces each parameter by name with the tensors of text_encoder_2/ (sharded
safetensors with an index) and the tiny file becomes the real encoder. No Python runs when
flowscale samples; this file depends on nothing but PyTorch (1.13 or newer).

The code follows transformers' modeling_t5.py operation for operation in the dtype it computes
each step in (layer norm variance in float32, attention softmax in float32, the rest in the
weights' dtype). As BFL's and diffusers' FLUX pipelines call it: no attention mask, so every
token attends to the padding too.

Entry point: forward(ids [N, T] int64) -> last hidden states [N, T, d_model].
Int attributes flowscale sets from the checkpoint's config.json: num_heads (64 for T5-XXL),
relative_attention_max_distance (128). The bucket count is read off the weights.
"""
import argparse
import math
import sys
from typing import List, Optional

import torch
from torch import Tensor, nn

# The version of this file's interface; flowscale refuses files of another version.
ARCHITECTURE_VERSION = 1


class T5LayerNorm(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = 1e-6

    def forward(self, x: Tensor) -> Tensor:
        variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        if self.weight.dtype == torch.float16 or self.weight.dtype == torch.bfloat16:
            x = x.to(self.weight.dtype)
        return self.weight * x


class T5Attention(nn.Module):
    def __init__(self, d: int, inner: int, heads: int, has_bias: bool, buckets: int):
        super().__init__()
        self.q = nn.Linear(d, inner, bias=False)
        self.k = nn.Linear(d, inner, bias=False)
        self.v = nn.Linear(d, inner, bias=False)
        self.o = nn.Linear(inner, d, bias=False)
        self.relative_attention_bias = nn.Embedding(buckets, heads) if has_bias else None

    def position_bias(self, length: int, max_distance: int) -> Optional[Tensor]:
        emb = self.relative_attention_bias
        if emb is None:
            return None
        buckets = emb.weight.shape[0]
        pos = torch.arange(length, dtype=torch.long, device=emb.weight.device)
        rel = pos[None, :] - pos[:, None]  # key - query
        half = buckets // 2
        out = (rel > 0).to(torch.long) * half
        n = torch.abs(rel)
        max_exact = half // 2
        is_small = n < max_exact
        large = max_exact + (
            torch.log(n.float() / max_exact) / math.log(max_distance / max_exact) * (half - max_exact)
        ).to(torch.long)
        large = torch.min(large, torch.full_like(large, half - 1))
        out = out + torch.where(is_small, n, large)
        values = emb(out)  # [T, T, heads]
        return values.permute(2, 0, 1).unsqueeze(0)

    def forward(self, x: Tensor, bias: Tensor, heads: int) -> Tensor:
        n, length, _ = x.shape
        inner = self.q.weight.shape[0]
        dk = inner // heads
        q = self.q(x).view(n, length, heads, dk).transpose(1, 2)
        k = self.k(x).view(n, length, heads, dk).transpose(1, 2)
        v = self.v(x).view(n, length, heads, dk).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(3, 2)) + bias.to(q.dtype)
        weights = torch.softmax(scores.float(), dim=-1).type_as(scores)
        out = torch.matmul(weights, v).transpose(1, 2).contiguous().view(n, length, inner)
        return self.o(out)


class T5LayerSelfAttention(nn.Module):
    def __init__(self, d: int, inner: int, heads: int, has_bias: bool, buckets: int):
        super().__init__()
        self.SelfAttention = T5Attention(d, inner, heads, has_bias, buckets)
        self.layer_norm = T5LayerNorm(d)

    def forward(self, x: Tensor, bias: Tensor, heads: int) -> Tensor:
        return x + self.SelfAttention(self.layer_norm(x), bias, heads)


class T5DenseGatedActDense(nn.Module):
    def __init__(self, d: int, ff: int):
        super().__init__()
        self.wi_0 = nn.Linear(d, ff, bias=False)
        self.wi_1 = nn.Linear(d, ff, bias=False)
        self.wo = nn.Linear(ff, d, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        g = self.wi_0(x)
        # transformers' NewGELUActivation ("gelu_new"), written out as it writes it
        g = 0.5 * g * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (g + 0.044715 * torch.pow(g, 3.0))))
        h = g * self.wi_1(x)
        if h.dtype != self.wo.weight.dtype:
            h = h.to(self.wo.weight.dtype)
        return self.wo(h)


class T5LayerFF(nn.Module):
    def __init__(self, d: int, ff: int):
        super().__init__()
        self.DenseReluDense = T5DenseGatedActDense(d, ff)
        self.layer_norm = T5LayerNorm(d)

    def forward(self, x: Tensor, bias: Tensor, heads: int) -> Tensor:
        return x + self.DenseReluDense(self.layer_norm(x))


class T5Block(nn.Module):
    def __init__(self, d: int, inner: int, ff: int, heads: int, has_bias: bool, buckets: int):
        super().__init__()
        self.layer = nn.ModuleList(
            [T5LayerSelfAttention(d, inner, heads, has_bias, buckets), T5LayerFF(d, ff)]
        )

    def forward(self, x: Tensor, bias: Tensor, heads: int) -> Tensor:
        for layer in self.layer:
            x = layer(x, bias, heads)
        return x


class T5Stack(nn.Module):
    def __init__(self, d: int, inner: int, ff: int, heads: int, layers: int, buckets: int):
        super().__init__()
        self.block = nn.ModuleList(
            [T5Block(d, inner, ff, heads, i == 0, buckets) for i in range(layers)]
        )
        self.final_layer_norm = T5LayerNorm(d)


class T5Encoder(nn.Module):
    def __init__(self, vocab: int, d: int, inner: int, ff: int, heads: int, layers: int,
                 buckets: int = 32):
        super().__init__()
        self.flowscale_t5_architecture = ARCHITECTURE_VERSION
        self.num_heads = heads
        self.relative_attention_max_distance = 128
        self.shared = nn.Embedding(vocab, d)
        self.encoder = T5Stack(d, inner, ff, heads, layers, buckets)

    @torch.jit.export
    def layers(self) -> int:
        return len(self.encoder.block)

    def forward(self, ids: Tensor) -> Tensor:
        x = self.shared(ids)
        bias = torch.zeros(1, dtype=x.dtype, device=x.device)
        first = True
        for block in self.encoder.block:
            if first:
                b = block.layer[0].SelfAttention.position_bias(
                    ids.shape[1], self.relative_attention_max_distance
                )
                if b is not None:
                    bias = b
                first = False
            x = block(x, bias, self.num_heads)
        return self.encoder.final_layer_norm(x)


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="where to write the TorchScript file, e.g. t5-encoder.pt")
    ap.add_argument("--layers", type=int, default=24, help="T5-XXL: 24")
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    model = T5Encoder(vocab=8, d=8, inner=8, ff=16, heads=2, layers=a.layers).eval()
    torch.jit.script(model).save(a.out)
    print(f"wrote {a.out}: T5 v1.1 encoder architecture, {a.layers} blocks")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
