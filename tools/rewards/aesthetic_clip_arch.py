#!/usr/bin/env python3
"""The LAION aesthetic predictor as a TorchScript architecture file for flowscale
(reward_score: aesthetic_clip).

    python3 tools/rewards/aesthetic_clip_arch.py aesthetic-clip-arch.pt

writes OpenAI CLIP's vision tower (ViT-L/14's depth: 24 residual blocks) followed by the LAION
aesthetic head (sac+logos+ava1-l14-linearMSE: Linear 768->1024, 1024->128, 128->64, 64->16,
16->1, dropouts between the first four, keys layers.{0,2,4,6,7}) with random weights at a tiny
width. It holds no real weights and needs nothing but PyTorch (1.13 or newer). flowscale loads it
with libtorch, replaces every parameter by name with the tensors of the file made by
tools/rewards/convert_aesthetic_clip.py (OpenAI's names: visual.conv1.weight, ...,
visual.transformer.resblocks.N.attn.in_proj_weight, ..., visual.proj; the head's layers.K.*),
and sets the head count; the code reads every other size from its weights, so the tiny file
becomes the real model. No Python runs when flowscale samples.

forward(images) -> scores
    images [N, H, W, 3] in [-1, 1] (flowscale's image layout: HWC, RGB), any H and W; returns
    [N] aesthetic scores (about 1..10 for real photos). Differentiable (for DPS). Preprocessing
    runs on the module's device, in float32 (float64 for a float64 model), as CLIP's own
    preprocessing does it with PIL:
    (x + 1) / 2 clamped to [0, 1]; bicubic antialiased resize so the shorter side is the model's
    resolution (patch x grid: 224 for ViT-L/14; the longer side int(224 x long / short)); centre
    crop (offsets rounded half to even, as torchvision's CenterCrop); normalise with CLIP's mean
    and std. Then the vision tower in the weights' dtype (LayerNorm in float32, quick GELU, as
    OpenAI's model.py), the image embedding L2-normalised, the head.

Int attributes flowscale sets: heads (attention heads: width / 64 for OpenAI's models).
"""
import argparse
import math
import sys
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The version of this file's interface; flowscale refuses files of another version.
ARCHITECTURE_VERSION = 1

def layer_norm(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    # OpenAI's LayerNorm: computed in (at least) float32, cast back; eps 1e-5; width read off x
    if x.dtype == torch.float64:
        return F.layer_norm(x, [x.shape[-1]], weight, bias, 1e-5)
    y = F.layer_norm(x.float(), [x.shape[-1]], weight.float(), bias.float(), 1e-5)
    return y.to(x.dtype)


class LayerNorm(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(width) * 0.1 + 1)
        self.bias = nn.Parameter(torch.randn(width) * 0.1)

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.weight, self.bias)


class Attention(nn.Module):
    """nn.MultiheadAttention's parameters (in_proj_weight, in_proj_bias, out_proj), self-attention
    without a mask, written out so that every size comes from the weights."""

    def __init__(self, width: int):
        super().__init__()
        self.in_proj_weight = nn.Parameter(torch.randn(3 * width, width) / math.sqrt(width))
        self.in_proj_bias = nn.Parameter(torch.randn(3 * width) * 0.02)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: Tensor, heads: int) -> Tensor:
        n, l, w = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.reshape(n, l, 3, heads, w // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scale = 1.0 / math.sqrt(float(w // heads))
        a = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1)
        y = torch.matmul(a, v).transpose(1, 2).reshape(n, l, w)
        return self.out_proj(y)


class Mlp(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: Tensor) -> Tensor:
        h = self.c_fc(x)
        return self.c_proj(h * torch.sigmoid(1.702 * h))  # QuickGELU


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.ln_1 = LayerNorm(width)
        self.attn = Attention(width)
        self.ln_2 = LayerNorm(width)
        self.mlp = Mlp(width)

    def forward(self, x: Tensor, heads: int) -> Tensor:
        x = x + self.attn(self.ln_1(x), heads)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width) for _ in range(layers)])

    def forward(self, x: Tensor, heads: int) -> Tensor:
        for block in self.resblocks:
            x = block(x, heads)
        return x


class PatchConv(nn.Module):
    """Conv2d(3, width, patch, stride=patch, bias=False) with the patch size read off the weight."""

    def __init__(self, width: int, patch: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(width, 3, patch, patch) * 0.02)

    def forward(self, x: Tensor) -> Tensor:
        k = self.weight.shape[-1]
        return F.conv2d(x.to(self.weight.dtype), self.weight, None, [k, k])


class VisionTransformer(nn.Module):
    """OpenAI CLIP's VisionTransformer with its parameter names; conv1 is a bias-free conv whose
    stride is its kernel size (read off the weight)."""

    def __init__(self, width: int, layers: int, patch: int, grid: int, embed: int):
        super().__init__()
        self.conv1 = PatchConv(width, patch)
        self.class_embedding = nn.Parameter(torch.randn(width) * 0.02)
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width) * 0.02)
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed) / math.sqrt(width))

    def forward(self, x: Tensor, heads: int) -> Tensor:
        x = self.conv1(x)  # [N, width, g, g]
        n = x.shape[0]
        x = x.reshape(n, x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype).reshape(1, 1, -1).expand(n, 1, x.shape[2])
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = self.transformer(x, heads)
        x = self.ln_post(x[:, 0, :])
        return torch.matmul(x, self.proj)


class AestheticClip(nn.Module):
    flowscale_aesthetic_clip_architecture: int
    heads: int

    def __init__(self, width: int = 8, heads: int = 2, layers: int = 24, patch: int = 2,
                 grid: int = 2, embed: int = 6):
        super().__init__()
        self.flowscale_aesthetic_clip_architecture = ARCHITECTURE_VERSION
        self.heads = heads
        self.visual = VisionTransformer(width, layers, patch, grid, embed)
        self.layers = nn.Sequential(
            nn.Linear(embed, 5),
            nn.Identity(),  # Dropout(0.2) in training
            nn.Linear(5, 4),
            nn.Identity(),  # Dropout(0.2)
            nn.Linear(4, 3),
            nn.Identity(),  # Dropout(0.1)
            nn.Linear(3, 2),
            nn.Linear(2, 1),
        )

    def resolution(self) -> int:
        patch = self.visual.conv1.weight.shape[-1]
        grid = int(math.sqrt(float(self.visual.positional_embedding.shape[0] - 1)) + 0.5)
        return patch * grid

    @torch.jit.export
    def preprocess(self, images: Tensor) -> Tensor:
        """images [N, H, W, 3] in [-1, 1] -> CLIP's input [N, 3, R, R] (float32; float64 for a
        float64 model)."""
        if self.visual.conv1.weight.dtype == torch.float64:
            x = images.double().permute(0, 3, 1, 2)
        else:
            x = images.float().permute(0, 3, 1, 2)
        x = torch.clamp((x + 1.0) * 0.5, 0.0, 1.0)
        r = self.resolution()
        h = x.shape[2]
        w = x.shape[3]
        if h != r or w != r:
            if h <= w:
                nh = r
                nw = int(r * w / h)
            else:
                nw = r
                nh = int(r * h / w)
            if nh != h or nw != w:
                x = F.interpolate(x, size=[nh, nw], mode="bicubic", align_corners=False,
                                  antialias=True)
            top = int(round((nh - r) / 2.0))
            left = int(round((nw - r) / 2.0))
            x = x[:, :, top:top + r, left:left + r]
        # CLIP's mean and std as scalars: TorchScript would round a literal list to float32
        return torch.stack(
            [
                (x[:, 0] - 0.48145466) / 0.26862954,
                (x[:, 1] - 0.4578275) / 0.26130258,
                (x[:, 2] - 0.40821073) / 0.27577711,
            ],
            dim=1,
        )

    @torch.jit.export
    def embed(self, images: Tensor) -> Tensor:
        """The L2-normalised CLIP image embedding [N, D] (in the weights' dtype)."""
        e = self.visual(self.preprocess(images), self.heads)
        return e / torch.linalg.vector_norm(e, dim=-1, keepdim=True)

    def forward(self, images: Tensor) -> Tensor:
        e = self.embed(images)
        return self.layers(e).reshape(-1)


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="where to write the architecture file (e.g. aesthetic-clip-arch.pt)")
    p.add_argument("--layers", type=int, default=24, help="residual blocks (ViT-L/14: 24)")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    model = AestheticClip(layers=args.layers).eval()
    scripted = torch.jit.script(model)
    scripted.save(args.out)
    print(f"wrote {args.out}: CLIP vision tower ({args.layers} blocks) + LAION aesthetic head, "
          f"architecture version {ARCHITECTURE_VERSION} (tiny random weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
