#!/usr/bin/env python3
"""FLUX.1's transformer as a TorchScript architecture file for flowscale (model: flux).

    python3 tools/flux/flux_arch.py flux-arch.pt

writes the architecture of Black Forest Labs' FLUX.1 transformer (schnell and dev alike) with
random weights at a tiny width and the real depth (19 double-stream + 38 single-stream blocks).
It holds no real weights and depends on nothing but PyTorch (1.13 or newer). flowscale loads it
with libtorch, replaces every parameter by name with the tensors of BFL's checkpoint
(flux1-schnell.safetensors / flux1-dev.safetensors) and sets a few int attributes; the code reads
every size from its weights, so the tiny-width file becomes the real model. No Python runs when
flowscale samples.

Parameter names are BFL's exactly (double_blocks.N.img_attn.qkv.weight, ...), and the code
follows BFL's src/flux/model.py, modules/layers.py and math.py operation for operation, in the
dtype BFL computes each step in (timestep embeddings and rotary embeddings in float32, RMSNorm in
float32, the rest in the weights' dtype). Attention is torch's scaled_dot_product_attention when
the exporting PyTorch has it (2.0+), else the same softmax(q k^T / sqrt(d)) v written out.

Entry points of the saved module:
  forward(x, t, txt, y, guidance=None)  the velocity on unpacked latents, as flowscale calls it:
      x [N, C, H, W] latents (C = 16; H and W even), t [N] time in [0, 1] (1 = noise),
      txt [B, T, 4096] T5 states, y [B, 768] CLIP pooled (B = 1 or N: one prompt is broadcast),
      guidance [N] (FLUX.1-dev only). Returns the velocity [N, C, H, W].
  transformer(img, img_ids, txt, txt_ids, timesteps, y, guidance=None)
      BFL's Flux.forward on packed tokens, unchanged.
  pack(x) / unpack(tokens, like)  2x2 patches [N, (H/2)(W/2), 4C] and back (BFL's rearranges).

Int attributes flowscale sets from the checkpoint: num_heads, axes_dim (rope split of a head),
theta, guidance_embed (1 when the checkpoint has guidance_in, i.e. FLUX.1-dev).
"""
import argparse
import math
import sys
from typing import List, Optional, Tuple

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
        scale = 1.0 / math.sqrt(q.shape[-1])
        weights = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1)
        return torch.matmul(weights, v)


def rope(pos: Tensor, dim: int, theta: int) -> Tensor:
    scale = torch.arange(0, dim, 2, dtype=pos.dtype, device=pos.device) / dim
    omega = 1.0 / torch.pow(float(theta), scale)
    out = torch.einsum("...n,d->...nd", pos, omega)
    out = torch.stack([torch.cos(out), -torch.sin(out), torch.sin(out), torch.cos(out)], dim=-1)
    shape = out.shape
    out = out.reshape(shape[0], shape[1], shape[2], 2, 2)
    return out.float()


def apply_rope(xq: Tensor, xk: Tensor, freqs_cis: Tensor) -> Tuple[Tensor, Tensor]:
    xq_ = xq.float().reshape(list(xq.shape[:-1]) + [-1, 1, 2])
    xk_ = xk.float().reshape(list(xk.shape[:-1]) + [-1, 1, 2])
    xq_out = freqs_cis[..., 0] * xq_[..., 0] + freqs_cis[..., 1] * xq_[..., 1]
    xk_out = freqs_cis[..., 0] * xk_[..., 0] + freqs_cis[..., 1] * xk_[..., 1]
    return xq_out.reshape(xq.shape).type_as(xq), xk_out.reshape(xk.shape).type_as(xk)


def attention(q: Tensor, k: Tensor, v: Tensor, pe: Tensor) -> Tensor:
    q, k = apply_rope(q, k, pe)
    x = _sdpa(q, k, v)
    b, h, l, d = x.shape
    return x.transpose(1, 2).reshape(b, l, h * d)


def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    """BFL's sinusoidal embedding of 1000 t (t in the model's dtype, as BFL passes it). The
    frequencies are made on t's device (BFL makes them on the host and copies them over, which
    can stall a CUDA stream every forward); they agree to float32 rounding."""
    max_period = 10000
    t = 1000.0 * t
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(0, half, dtype=torch.float32, device=t.device) / half
    )
    args = t[:, None].float() * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    if torch.is_floating_point(t):
        embedding = embedding.to(t)
    return embedding


def layer_norm(x: Tensor) -> Tensor:
    # nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6) with the width read off x
    return F.layer_norm(x, [x.shape[-1]], None, None, 1e-6)


def split_heads(qkv: Tensor, num_heads: int) -> List[Tensor]:
    # "B L (K H D) -> K B H L D"
    b, l, _ = qkv.shape
    return qkv.reshape(b, l, 3, num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)


class MLPEmbedder(nn.Module):
    def __init__(self, in_dim: int, hidden_dim: int):
        super().__init__()
        self.in_layer = nn.Linear(in_dim, hidden_dim, bias=True)
        self.silu = nn.SiLU()
        self.out_layer = nn.Linear(hidden_dim, hidden_dim, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.out_layer(self.silu(self.in_layer(x)))


class RMSNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        x_dtype = x.dtype
        x = x.float()
        rrms = torch.rsqrt(torch.mean(x**2, dim=-1, keepdim=True) + 1e-6)
        return (x * rrms).to(dtype=x_dtype) * self.scale


class QKNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.query_norm = RMSNorm(dim)
        self.key_norm = RMSNorm(dim)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tuple[Tensor, Tensor]:
        q = self.query_norm(q)
        k = self.key_norm(k)
        return q.to(v), k.to(v)


class SelfAttention(nn.Module):
    """Holds qkv, norm and proj under BFL's names; the blocks call them in BFL's order."""

    def __init__(self, dim: int, head_dim: int):
        super().__init__()
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.norm = QKNorm(head_dim)
        self.proj = nn.Linear(dim, dim)


class Modulation(nn.Module):
    multiplier: int

    def __init__(self, dim: int, double: bool):
        super().__init__()
        self.multiplier = 6 if double else 3
        self.lin = nn.Linear(dim, self.multiplier * dim, bias=True)

    def forward(self, vec: Tensor) -> List[Tensor]:
        # shift, scale, gate (twice for a double block)
        return self.lin(F.silu(vec))[:, None, :].chunk(self.multiplier, dim=-1)


class DoubleStreamBlock(nn.Module):
    def __init__(self, hidden: int, head_dim: int, mlp_hidden: int):
        super().__init__()
        self.img_mod = Modulation(hidden, double=True)
        self.img_attn = SelfAttention(hidden, head_dim)
        self.img_mlp = nn.Sequential(
            nn.Linear(hidden, mlp_hidden, bias=True),
            nn.GELU(approximate="tanh"),
            nn.Linear(mlp_hidden, hidden, bias=True),
        )
        self.txt_mod = Modulation(hidden, double=True)
        self.txt_attn = SelfAttention(hidden, head_dim)
        self.txt_mlp = nn.Sequential(
            nn.Linear(hidden, mlp_hidden, bias=True),
            nn.GELU(approximate="tanh"),
            nn.Linear(mlp_hidden, hidden, bias=True),
        )

    def forward(
        self, img: Tensor, txt: Tensor, vec: Tensor, pe: Tensor, num_heads: int
    ) -> Tuple[Tensor, Tensor]:
        im = self.img_mod(vec)
        tm = self.txt_mod(vec)
        img_shift1, img_scale1, img_gate1 = im[0], im[1], im[2]
        img_shift2, img_scale2, img_gate2 = im[3], im[4], im[5]
        txt_shift1, txt_scale1, txt_gate1 = tm[0], tm[1], tm[2]
        txt_shift2, txt_scale2, txt_gate2 = tm[3], tm[4], tm[5]

        img_modulated = layer_norm(img)
        img_modulated = (1 + img_scale1) * img_modulated + img_shift1
        img_q, img_k, img_v = split_heads(self.img_attn.qkv(img_modulated), num_heads)
        img_q, img_k = self.img_attn.norm(img_q, img_k, img_v)

        txt_modulated = layer_norm(txt)
        txt_modulated = (1 + txt_scale1) * txt_modulated + txt_shift1
        txt_q, txt_k, txt_v = split_heads(self.txt_attn.qkv(txt_modulated), num_heads)
        txt_q, txt_k = self.txt_attn.norm(txt_q, txt_k, txt_v)

        q = torch.cat((txt_q, img_q), dim=2)
        k = torch.cat((txt_k, img_k), dim=2)
        v = torch.cat((txt_v, img_v), dim=2)

        attn = attention(q, k, v, pe)
        t_len = txt.shape[1]
        txt_attn, img_attn = attn[:, :t_len], attn[:, t_len:]

        img = img + img_gate1 * self.img_attn.proj(img_attn)
        img = img + img_gate2 * self.img_mlp((1 + img_scale2) * layer_norm(img) + img_shift2)

        txt = txt + txt_gate1 * self.txt_attn.proj(txt_attn)
        txt = txt + txt_gate2 * self.txt_mlp((1 + txt_scale2) * layer_norm(txt) + txt_shift2)
        return img, txt


class SingleStreamBlock(nn.Module):
    def __init__(self, hidden: int, head_dim: int, mlp_hidden: int):
        super().__init__()
        self.linear1 = nn.Linear(hidden, hidden * 3 + mlp_hidden)
        self.linear2 = nn.Linear(hidden + mlp_hidden, hidden)
        self.norm = QKNorm(head_dim)
        self.mlp_act = nn.GELU(approximate="tanh")
        self.modulation = Modulation(hidden, double=False)

    def forward(self, x: Tensor, vec: Tensor, pe: Tensor, num_heads: int) -> Tensor:
        mod = self.modulation(vec)
        shift, scale, gate = mod[0], mod[1], mod[2]
        hidden = x.shape[-1]
        mlp_hidden = self.linear1.weight.shape[0] - 3 * hidden
        x_mod = (1 + scale) * layer_norm(x) + shift
        qkv, mlp = torch.split(self.linear1(x_mod), [3 * hidden, mlp_hidden], dim=-1)
        q, k, v = split_heads(qkv, num_heads)
        q, k = self.norm(q, k, v)
        attn = attention(q, k, v, pe)
        output = self.linear2(torch.cat((attn, self.mlp_act(mlp)), 2))
        return x + gate * output


class LastLayer(nn.Module):
    def __init__(self, hidden: int, out_channels: int):
        super().__init__()
        self.linear = nn.Linear(hidden, out_channels, bias=True)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden, bias=True))

    def forward(self, x: Tensor, vec: Tensor) -> Tensor:
        shift, scale = self.adaLN_modulation(vec).chunk(2, dim=1)
        x = (1 + scale[:, None, :]) * layer_norm(x) + shift[:, None, :]
        return self.linear(x)


class Flux(nn.Module):
    flowscale_flux_architecture: int
    num_heads: int
    axes_dim: List[int]
    theta: int
    guidance_embed: int

    def __init__(
        self,
        hidden: int = 32,
        num_heads: int = 2,
        axes_dim: Optional[List[int]] = None,
        double_blocks: int = 19,
        single_blocks: int = 38,
        in_channels: int = 64,
        vec_in_dim: int = 12,
        context_in_dim: int = 20,
        mlp_ratio: float = 4.0,
    ):
        super().__init__()
        head_dim = hidden // num_heads
        if axes_dim is None:
            axes_dim = [head_dim - 2 * (head_dim * 7 // 32 * 2), head_dim * 7 // 32 * 2,
                        head_dim * 7 // 32 * 2]
        assert sum(axes_dim) == head_dim, (axes_dim, head_dim)
        mlp_hidden = int(hidden * mlp_ratio)
        self.flowscale_flux_architecture = ARCHITECTURE_VERSION
        self.num_heads = num_heads
        self.axes_dim = axes_dim
        self.theta = 10000
        self.guidance_embed = 1
        self.img_in = nn.Linear(in_channels, hidden, bias=True)
        self.time_in = MLPEmbedder(256, hidden)
        self.vector_in = MLPEmbedder(vec_in_dim, hidden)
        self.guidance_in = MLPEmbedder(256, hidden)
        self.txt_in = nn.Linear(context_in_dim, hidden)
        self.double_blocks = nn.ModuleList(
            [DoubleStreamBlock(hidden, head_dim, mlp_hidden) for _ in range(double_blocks)]
        )
        self.single_blocks = nn.ModuleList(
            [SingleStreamBlock(hidden, head_dim, mlp_hidden) for _ in range(single_blocks)]
        )
        self.final_layer = LastLayer(hidden, in_channels)

    def embed_nd(self, ids: Tensor) -> Tensor:
        # EmbedND: one rope per id axis, concatenated over the pairs of a head
        parts: List[Tensor] = []
        for i, dim in enumerate(self.axes_dim):
            parts.append(rope(ids[..., i], dim, self.theta))
        return torch.cat(parts, dim=-3).unsqueeze(1)

    @torch.jit.export
    def transformer(
        self,
        img: Tensor,
        img_ids: Tensor,
        txt: Tensor,
        txt_ids: Tensor,
        timesteps: Tensor,
        y: Tensor,
        guidance: Optional[Tensor] = None,
    ) -> Tensor:
        """BFL's Flux.forward: packed tokens in, packed velocity out."""
        if img.dim() != 3 or txt.dim() != 3:
            raise ValueError("Input img and txt tensors must have 3 dimensions.")
        img = self.img_in(img)
        vec = self.time_in(timestep_embedding(timesteps, 256))
        if self.guidance_embed != 0:
            if guidance is None:
                raise ValueError("Didn't get guidance strength for guidance distilled model.")
            vec = vec + self.guidance_in(timestep_embedding(guidance, 256))
        vec = vec + self.vector_in(y)
        txt = self.txt_in(txt)

        if txt_ids.shape[0] != img_ids.shape[0]:
            n = max(txt_ids.shape[0], img_ids.shape[0])
            txt_ids = txt_ids.expand(n, -1, -1)
            img_ids = img_ids.expand(n, -1, -1)
        ids = torch.cat((txt_ids, img_ids), dim=1)
        pe = self.embed_nd(ids)

        for block in self.double_blocks:
            img, txt = block(img, txt, vec, pe, self.num_heads)

        t_len = txt.shape[1]
        if txt.shape[0] != img.shape[0]:
            txt = txt.expand(img.shape[0], -1, -1)
        img = torch.cat((txt, img), 1)
        for block in self.single_blocks:
            img = block(img, vec, pe, self.num_heads)
        img = img[:, t_len:, ...]
        return self.final_layer(img, vec)

    @torch.jit.export
    def pack(self, x: Tensor) -> Tensor:
        """b c (h ph) (w pw) -> b (h w) (c ph pw), ph = pw = 2."""
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, (h // 2) * (w // 2), c * 4)

    @torch.jit.export
    def unpack(self, x: Tensor, like: Tensor) -> Tensor:
        """b (h w) (c ph pw) -> b c (h ph) (w pw), with h, w and c taken from `like`'s shape."""
        b = x.shape[0]
        c, h, w = like.shape[1], like.shape[2], like.shape[3]
        x = x.reshape(b, h // 2, w // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5)
        return x.reshape(b, c, h, w)

    @torch.jit.export
    def image_ids(self, x: Tensor) -> Tensor:
        """[1, (h/2)(w/2), 3] float32 ids (0, row, col) of x's 2x2 patches, as BFL's prepare()
        makes them (here on x's device: no host-to-device copy per forward)."""
        h2, w2 = x.shape[2] // 2, x.shape[3] // 2
        ids = torch.zeros(h2, w2, 3, device=x.device)
        ids[..., 1] = ids[..., 1] + torch.arange(h2, device=x.device)[:, None]
        ids[..., 2] = ids[..., 2] + torch.arange(w2, device=x.device)[None, :]
        return ids.reshape(1, h2 * w2, 3)

    def forward(
        self, x: Tensor, t: Tensor, txt: Tensor, y: Tensor, guidance: Optional[Tensor] = None
    ) -> Tensor:
        img = self.pack(x)
        img_ids = self.image_ids(x)
        txt_ids = torch.zeros(1, txt.shape[1], 3, device=x.device)
        out = self.transformer(img, img_ids, txt, txt_ids, t, y, guidance)
        return self.unpack(out, x)


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="where to write the TorchScript file, e.g. flux-arch.pt")
    ap.add_argument("--double-blocks", type=int, default=19, help="FLUX.1: 19")
    ap.add_argument("--single-blocks", type=int, default=38, help="FLUX.1: 38")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    model = Flux(double_blocks=args.double_blocks, single_blocks=args.single_blocks).eval()
    scripted = torch.jit.script(model)
    scripted.save(args.out)
    print(
        "wrote %s: FLUX.1 architecture, %d double + %d single blocks, torch %s, attention: %s"
        % (args.out, args.double_blocks, args.single_blocks, torch.__version__,
           "scaled_dot_product_attention" if hasattr(F, "scaled_dot_product_attention")
           else "softmax(q k^T / sqrt(d)) v")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
