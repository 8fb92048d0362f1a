#!/usr/bin/python3
"""Makes the TorchScript fixtures of flowscale's libtorch tests, with reference results.

Usage: make_torch_fixtures.py OUT_DIR

Writes to OUT_DIR:
  velocity_mlp.pt     forward(x[N,3,8,8], t[N], cond: Optional[Tensor[N,4]] = None) -> v[N,3,8,8]
  gaussian_velocity.pt  the exact linear-interpolant velocity of N(m, var I) data (same
                      signature, no cond): lets Java compare against engine's GaussianModel
  reward_cnn.pt       forward(images[N,3,8,8]) -> scores[N]
  tuple_out.pt        forward(x) -> (x * 2, x.sum(1)): two outputs
  add_one_in_place.pt forward(x) -> [sum(x + 1)], adding 1 to x in place
  widthless.pt        forward(x[N,D]) -> [N,heads]: reads its widths from its weights and the int
                      attributes heads (int) and split (List[int]); a float buffer, an int
                      buffer, a Final constant, and an exported method twice(x) (TorchWeights)
  corrupt.pt          bytes that are not a TorchScript archive
  NAME.bin            reference tensors, raw little-endian (images_hwc [N,8,8,3] in [-1, 1] and
                      reward_nchw, reward_nchw_grad: reward_cnn.pt's scores of them given as
                      (permute(0, 3, 1, 2) + 1) / 2, and the gradient in their layout)
  manifest.txt        one line per tensor: "tensor NAME DTYPE DIM0 DIM1 ...", one per number:
                      "scalar NAME VALUE", and "torch_version VERSION" (plain text, so the Java
                      test needs no JSON parser)

Everything is seeded, so runs give the same files for one PyTorch version. References are
computed in float64 from the float32 modules (weights cast up) so that they measure the
error of the Java -> shim -> libtorch path, not float32 rounding of the reference itself.
"""
import os
import struct
import sys
from typing import List, Optional, Tuple

import torch

N = 5
SHAPE = (3, 8, 8)
D = 3 * 8 * 8
COND = 4


class VelocityMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = torch.nn.Linear(D + 1, 64)
        self.cond = torch.nn.Linear(COND, 64)
        self.hidden = torch.nn.Linear(64, 64)
        self.out = torch.nn.Linear(64, D)

    def forward(self, x: torch.Tensor, t: torch.Tensor,
                cond: Optional[torch.Tensor] = None) -> torch.Tensor:
        n = x.shape[0]
        h = self.inp(torch.cat([x.reshape(n, -1), t.reshape(n, 1)], dim=1))
        if cond is not None:
            h = h + self.cond(cond)
        h = torch.tanh(self.hidden(torch.tanh(h)))
        return self.out(h).reshape(x.shape) - x


class GaussianVelocity(torch.nn.Module):
    """u = k x + km m with k = (t - a var)/V, km = -k a - 1, a = 1 - t, V = a^2 var + t^2."""

    def __init__(self, mean: torch.Tensor, var: float):
        super().__init__()
        self.register_buffer("mean", mean)
        self.var = var

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        t = t.reshape(n, 1).to(torch.float64)
        a = 1 - t
        big_v = a * a * self.var + t * t
        k = (t - a * self.var) / big_v
        km = -k * a - 1
        flat = x.reshape(n, -1).to(torch.float64)
        u = k * flat + km * self.mean.to(torch.float64).reshape(1, -1)
        return u.to(x.dtype).reshape(x.shape)


class RewardCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.head = torch.nn.Linear(8, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv1(images))
        h = torch.tanh(self.conv2(h))
        return self.head(h.mean(dim=(2, 3))).squeeze(1)


class AddOneInPlace(torch.nn.Module):
    """Writes into its input: the caller sees it only if its memory arrived without a copy."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.add_(1.0)
        return x.sum().reshape(1)


class Scale(torch.nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class Widthless(torch.nn.Module):
    """An architecture scripted at one width that runs at any: h = norm(lin(x) + offset), summed per
    head, times split[0] + split[1] + count."""

    heads: int
    split: List[int]
    version: torch.jit.Final[int]

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 6)
        self.norm = Scale(6)
        self.register_buffer("offset", torch.zeros(6))
        self.register_buffer("count", torch.zeros(1, dtype=torch.int64))
        self.heads = 2
        self.split = [1, 2]
        self.version = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.lin(x) + self.offset)
        n = x.shape[0]
        factor = self.split[0] + self.split[1] + self.count.to(h.dtype)
        return h.reshape(n, self.heads, -1).sum(2) * factor

    @torch.jit.export
    def twice(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


class TupleOut(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return x * 2, x.sum(1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(20251127)
    manifest = ["torch_version " + torch.__version__]

    def save(name, tensor):
        tensor = tensor.detach().cpu().contiguous()
        dtype, code = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d")}[tensor.dtype]
        values = tensor.flatten().tolist()
        # struct, not numpy: pip builds of PyTorch do not require numpy
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(struct.pack("<%d%s" % (len(values), code), *values))
        manifest.append(" ".join(["tensor", name, dtype] + [str(s) for s in tensor.shape]))

    velocity = VelocityMlp().eval()
    reward = RewardCnn().eval()
    gmean = torch.linspace(-1, 1, D)
    gvar = 0.25
    gaussian = GaussianVelocity(gmean, gvar).eval()
    torch.jit.script(velocity).save(os.path.join(out, "velocity_mlp.pt"))
    torch.jit.script(reward).save(os.path.join(out, "reward_cnn.pt"))
    torch.jit.script(gaussian).save(os.path.join(out, "gaussian_velocity.pt"))
    torch.jit.script(TupleOut()).save(os.path.join(out, "tuple_out.pt"))
    torch.jit.script(AddOneInPlace()).save(os.path.join(out, "add_one_in_place.pt"))
    torch.jit.script(Widthless().eval()).save(os.path.join(out, "widthless.pt"))
    with open(os.path.join(out, "corrupt.pt"), "wb") as f:
        f.write(b"PK\x03\x04 this is not a TorchScript archive" + bytes(range(256)))

    x = torch.randn(N, *SHAPE)
    t = torch.rand(N)
    cond = torch.randn(N, COND)
    cot = torch.randn(N, *SHAPE)
    save("x", x)
    save("t", t.to(torch.float64))  # the engine holds times as F64
    save("cond", cond)
    save("cotangent", cot)
    save("gaussian_mean", gmean)
    manifest.append("scalar gaussian_var %r" % gvar)

    v64 = VelocityMlp()
    v64.load_state_dict(velocity.state_dict())
    v64 = v64.double().eval()
    r64 = RewardCnn()
    r64.load_state_dict(reward.state_dict())
    r64 = r64.double().eval()

    xd = x.double().requires_grad_(True)
    v = v64(xd, t.double())
    (vjp,) = torch.autograd.grad(v, xd, cot.double())
    save("velocity", v)
    save("velocity_vjp", vjp)
    save("velocity_cond", v64(x.double(), t.double(), cond.double()))

    xr = x.double().requires_grad_(True)
    scores = r64(xr)
    (grad,) = torch.autograd.grad(scores.sum(), xr)
    save("reward", scores)
    save("reward_grad", grad)

    # Decoded images in the engine's layout [N, H, W, 3] in [-1, 1], given to reward_cnn.pt per
    # the FLUX contract as (img.permute(0, 3, 1, 2) + 1) / 2; the gradient is with respect to img.
    img = torch.rand(N, SHAPE[1], SHAPE[2], 3) * 2 - 1
    save("images_hwc", img)
    imgd = img.double().requires_grad_(True)
    scores_nchw = r64((imgd.permute(0, 3, 1, 2) + 1) / 2)
    (grad_nchw,) = torch.autograd.grad(scores_nchw.sum(), imgd)
    save("reward_nchw", scores_nchw)
    save("reward_nchw_grad", grad_nchw)

    # Written last: its presence means the set is complete.
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    print("flowscale torch fixtures (torch %s) written to %s" % (torch.__version__, out))


if __name__ == "__main__":
    main()
