#!/usr/bin/python3
"""Makes the TorchScript files of the NFE-throughput benchmarks (bench/reference/README.md).

Usage: make_models.py OUT_DIR

Writes to OUT_DIR (seeded, so one PyTorch version always writes the same weights):
  mlp64.pt      velocity forward(x[N, 64], t[N]) -> v[N, 64]: an MLP over the last dimension
                with the time as an extra input (64+1 -> 256 -> 256 -> 64, SiLU), the "MLP,
                64-dim state" of shared/GPU.md
  mlp64x64.pt   the same MLP applied to each of 64 tokens: forward(x[N, 64, 64], t[N])
  reward64.pt   forward(images[N, ...64]) -> scores[N]: minus the mean squared distance of the
                sample to a fixed ramp over its last dimension (cheap and analytic, as in GPU.md)
Both the JMH benchmarks (org.flowscale.bench.NfeBenchmark) and the reference-style Python loop
(rbf_reference.py) load these same files.
"""
import os
import sys

import torch


class Mlp(torch.nn.Module):
    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.inp = torch.nn.Linear(width + 1, hidden)
        self.hidden = torch.nn.Linear(hidden, hidden)
        self.out = torch.nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tt = t.to(x.dtype).reshape([-1] + [1] * (x.dim() - 1)).expand(list(x.shape[:-1]) + [1])
        h = torch.nn.functional.silu(self.inp(torch.cat([x, tt], dim=-1)))
        h = torch.nn.functional.silu(self.hidden(h))
        return self.out(h)


class Reward64(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("target", torch.linspace(-1, 1, 64))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        d = images - self.target
        return -(d * d).reshape(images.shape[0], -1).mean(dim=1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(17)
    mlp = Mlp(64, 256).eval()
    torch.jit.script(mlp).save(os.path.join(out, "mlp64.pt"))
    # The same weights for the token form: the module is shape-generic over leading dimensions.
    torch.jit.script(mlp).save(os.path.join(out, "mlp64x64.pt"))
    torch.jit.script(Reward64().eval()).save(os.path.join(out, "reward64.pt"))
    print("wrote mlp64.pt, mlp64x64.pt, reward64.pt to " + out)


if __name__ == "__main__":
    main()
