#!/usr/bin/env python3
"""The FLUX.1 autoencoder's decoder as a TorchScript architecture file.

    python3 tools/flux/ae_arch.py ae-decoder.pt

writes the decoder of Black Forest Labs' FLUX.1 autoencoder (src/flux/modules/autoencoder.py:
conv_in, a middle of two ResNet blocks around one attention block, four up levels of three ResNet
blocks each with nearest x2 upsampling on the three lowest, GroupNorm(32) + swish + conv_out) with
random weights at a tiny width and the real structure. Parameter names are BFL's exactly, as in
ae.safetensors (decoder.up.3.block.0.conv1.weight, ...); the encoder's tensors in that file are
not used. flowscale replaces each parameter by name and the tiny file becomes the real decoder.
Depends on nothing but PyTorch (1.13 or newer); no Python runs when flowscale samples.

Entry point: forward(z [N, 16, h, w]) -> images [N, 8h, 8w, 3]: the sampler's latents
unscaled as BFL's AutoEncoder.decode does (z / scale_factor + shift_factor), decoded, clamped to
[-1, 1] (as BFL's and diffusers' pipelines clamp before saving) and laid out height x width x RGB.
Buffers scale_factor (0.3611) and shift_factor (0.1159) are set by flowscale; int attributes:
ch_mult ([1, 2, 4, 4]), num_groups (32).
"""
import argparse
import sys
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The version of this file's interface; flowscale refuses files of another version.
ARCHITECTURE_VERSION = 1

if hasattr(F, "scaled_dot_product_attention"):

    def _sdpa(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        return F.scaled_dot_product_attention(q, k, v)

else:  # PyTorch < 2.0

    def _sdpa(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        scale = float(q.shape[-1]) ** -0.5
        w = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1)
        return torch.matmul(w, v)


def swish(x: Tensor) -> Tensor:
    return x * torch.sigmoid(x)


class GroupNorm(nn.Module):
    """nn.GroupNorm(groups, c, eps=1e-6) whose group count is an attribute (tiny widths)."""

    def __init__(self, c: int, groups: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.num_groups = groups

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, 1e-6)


class AttnBlock(nn.Module):
    def __init__(self, c: int, groups: int):
        super().__init__()
        self.norm = GroupNorm(c, groups)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(x)
        q = self.q(h)
        k = self.k(h)
        v = self.v(h)
        b, c, hh, ww = q.shape
        q = q.reshape(b, 1, c, hh * ww).transpose(2, 3).contiguous()
        k = k.reshape(b, 1, c, hh * ww).transpose(2, 3).contiguous()
        v = v.reshape(b, 1, c, hh * ww).transpose(2, 3).contiguous()
        h = _sdpa(q, k, v)
        h = h.transpose(2, 3).reshape(b, c, hh, ww)
        return x + self.proj_out(h)


class ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int, groups: int):
        super().__init__()
        self.norm1 = GroupNorm(cin, groups)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = GroupNorm(cout, groups)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(swish(self.norm1(x)))
        h = self.conv2(swish(self.norm2(h)))
        s = self.nin_shortcut
        if s is not None:
            x = s(x)
        return x + h


class Upsample(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UpLevel(nn.Module):
    def __init__(self, cin: int, cout: int, blocks: int, upsample: bool, groups: int):
        super().__init__()
        self.block = nn.ModuleList(
            [ResnetBlock(cin if i == 0 else cout, cout, groups) for i in range(blocks)]
        )
        self.upsample = Upsample(cout) if upsample else None

    def forward(self, h: Tensor) -> Tensor:
        for b in self.block:
            h = b(h)
        u = self.upsample
        if u is not None:
            h = u(h)
        return h


class Mid(nn.Module):
    def __init__(self, c: int, groups: int):
        super().__init__()
        self.block_1 = ResnetBlock(c, c, groups)
        self.attn_1 = AttnBlock(c, groups)
        self.block_2 = ResnetBlock(c, c, groups)

    def forward(self, h: Tensor) -> Tensor:
        return self.block_2(self.attn_1(self.block_1(h)))


class Decoder(nn.Module):
    def __init__(self, ch: int, ch_mult: List[int], blocks: int, z: int, groups: int):
        super().__init__()
        assert len(ch_mult) == 4, "the FLUX.1 decoder has four up levels"
        block_in = ch * ch_mult[-1]
        self.conv_in = nn.Conv2d(z, block_in, 3, padding=1)
        self.mid = Mid(block_in, groups)
        levels: List[nn.Module] = []
        for i in reversed(range(len(ch_mult))):
            out = ch * ch_mult[i]
            levels.insert(0, UpLevel(block_in, out, blocks + 1, i != 0, groups))
            block_in = out
        self.up = nn.ModuleList(levels)
        self.norm_out = GroupNorm(block_in, groups)
        self.conv_out = nn.Conv2d(block_in, 3, 3, padding=1)

    def forward(self, z: Tensor) -> Tensor:
        h = self.mid(self.conv_in(z))
        h = self.up[3](h)
        h = self.up[2](h)
        h = self.up[1](h)
        h = self.up[0](h)
        return self.conv_out(swish(self.norm_out(h)))


class AutoEncoderDecoder(nn.Module):
    def __init__(self, ch: int = 32, ch_mult: List[int] = [1, 2, 4, 4], blocks: int = 2,
                 z: int = 16, groups: int = 32):
        super().__init__()
        self.flowscale_ae_architecture = ARCHITECTURE_VERSION
        self.ch_mult = ch_mult
        self.num_res_blocks = blocks
        self.decoder = Decoder(ch, ch_mult, blocks, z, groups)
        self.register_buffer("scale_factor", torch.tensor([0.3611]))
        self.register_buffer("shift_factor", torch.tensor([0.1159]))

    def forward(self, z: Tensor) -> Tensor:
        w = self.decoder.conv_in.weight
        z = z.to(w.dtype) / self.scale_factor.to(w.dtype) + self.shift_factor.to(w.dtype)
        x = self.decoder(z).clamp(-1.0, 1.0)
        return x.permute(0, 2, 3, 1).contiguous()


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="where to write the TorchScript file, e.g. ae-decoder.pt")
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    model = AutoEncoderDecoder().eval()
    torch.jit.script(model).save(a.out)
    print(f"wrote {a.out}: FLUX.1 autoencoder decoder architecture")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
