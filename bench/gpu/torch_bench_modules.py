#!/usr/bin/env python3
"""Makes the TorchScript modules of the libtorch latency check and times them from Python.

Usage: torch_bench_modules.py OUT_DIR DEVICE [ITERS]

Writes OUT_DIR/{mlp64,mlp_tokens,reward64}.pt, OUT_DIR/cases.txt (one line per case:
"NAME FILE N SHAPE..." with SHAPE one sample's shape) and OUT_DIR/python.txt with the Python
timings of the same modules on the same inputs ("NAME sync|async MICROSECONDS"):
  sync:  one forward then torch.cuda.synchronize(), per call (the latency of a call)
  async: ITERS forwards, one synchronize at the end, divided by ITERS (issue cost)
The Java side (org.flowscale.bench.torch.TorchCheck) times the same cases the same ways.
"""
import os
import sys
import time

import torch

# The same velocity MLP and reward as the NFE benchmarks' (one definition for both checks).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from make_models import Mlp, Reward64  # noqa: E402


def main():
    out, device = sys.argv[1], sys.argv[2]
    iters = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    modules = {"mlp64": Mlp(64, 256).eval(), "mlp_tokens": Mlp(64, 256).eval(),
               "reward64": Reward64().eval()}
    for name, m in modules.items():
        torch.jit.script(m).save(os.path.join(out, name + ".pt"))
    # name, file, batch, sample shape
    cases = [("mlp64_n2", "mlp64", 2, [64]), ("mlp64_n50", "mlp64", 50, [64])]
    if device != "cpu":  # seconds per call on a CPU: only a dry run of the script happens there
        cases.append(("mlp_tokens_n2", "mlp_tokens", 2, [4096, 64]))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        for name, file, n, shape in cases:
            f.write(" ".join([name, file + ".pt", str(n)] + [str(s) for s in shape]) + "\n")

    dev = torch.device(device)
    cuda = dev.type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize(dev)

    lines = []
    with torch.no_grad():
        for name, file, n, shape in cases:
            m = torch.jit.load(os.path.join(out, file + ".pt"), map_location=dev).eval()
            x = torch.randn([n] + shape, device=dev)
            t = torch.rand(n, device=dev)
            for _ in range(20):
                m(x, t)
            sync()
            times = []
            for _ in range(iters):
                a = time.perf_counter()
                m(x, t)
                sync()
                times.append(time.perf_counter() - a)
            times.sort()
            lines.append("%s sync %.2f" % (name, 1e6 * times[len(times) // 2]))
            a = time.perf_counter()
            for _ in range(iters):
                m(x, t)
            sync()
            lines.append("%s async %.2f" % (name, 1e6 * (time.perf_counter() - a) / iters))
    with open(os.path.join(out, "python.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("python: torch %s on %s" % (torch.__version__,
                                       torch.cuda.get_device_name(dev) if cuda else "cpu"))


if __name__ == "__main__":
    main()
