#!/usr/bin/python3
"""RBF written the way the paper's reference implementation writes it: the baseline of the
NFE-throughput comparison (bench/reference/README.md).

Usage: rbf_reference.py --model M.pt --reward R.pt --shape 64 [64 ...] [--nfe 500] [--seed 0]
                        [--repeat 1] [--json]

The same search as `flowscale run` with config/torchscript/rbf.yaml: 2 chains x 25 initial
particles, 500 NFE, 10 exp steps, VP-SDE through the interpolant conversion (square diffusion,
norm 3), quota floor((N - B K0) / (S B)) per chain per step, rollover, chains advance at most to
grid index S - 2, every round while nfe + B <= N. Its style is the reference's, not the engine's:
every flow quantity (conversion, score, drift, noise, Tweedie) is a chain of PyTorch ops per
step, and each round moves the rewards to the host (.tolist()) and decides on the host.

One torch thread (torch.set_num_threads(1)): the engine's CPU backend runs this size on the
calling thread too. Prints one line per repeat: wall seconds of the search, model seconds,
reward seconds, NFE and the best reward (JSON with --json, which adds the thread's CPU seconds). The process's own start-up (import
torch, loading the modules) is outside these numbers; compare whole processes with compare.sh.
"""
import argparse
import json
import math
import time

import torch

BMIN, BMAX = 0.1, 20.0


def exp_grid(steps):
    """max_steps exp-schedule times in [0, 1], then 0 (MATH.md section 5)."""
    ts = []
    for i in range(steps):
        tq = 1.0 - i / steps
        ts.append(math.sqrt(1.0 - (1.0 - tq) ** 2))
    return ts + [0.0]


def vp(r):
    """alpha, sigma, d alpha, d sigma of the VP interpolant at times r (a tensor)."""
    big_t = 0.5 * r * r * (BMAX - BMIN) + r * BMIN
    d_big_t = r * (BMAX - BMIN) + BMIN
    a = torch.exp(-0.5 * big_t)
    s = torch.sqrt(1.0 - torch.exp(-big_t))
    return a, s, -0.5 * d_big_t * a, 0.5 * d_big_t * torch.exp(-big_t) / s


def conversion(r):
    """Model time t, scale c and the converted-velocity coefficients at VP times r (MATH.md 2)."""
    a_r, s_r, da_r, ds_r = vp(r)
    t = s_r / (a_r + s_r)
    a_t, s_t = 1.0 - t, t
    da_t, ds_t = -torch.ones_like(t), torch.ones_like(t)
    c = s_r / s_t
    dt = s_t * s_t * (s_r * da_r - a_r * ds_r) / (s_r * s_r * (s_t * da_t - a_t * ds_t))
    dc = (s_t * ds_r - s_r * ds_t * dt) / (s_t * s_t)
    return t, c, dt, dc


def col(v, like):
    """A per-row scalar shaped to broadcast over a batch of samples."""
    return v.reshape([-1] + [1] * (like.dim() - 1))


class Sampler:
    def __init__(self, model, reward):
        self.model = model
        self.reward = reward
        self.model_s = 0.0
        self.reward_s = 0.0
        self.nfe = 0

    def velocity(self, x, r):
        """The VP-coordinate velocity u_r at times r: one model call on x / c at model time t."""
        t, c, dt, dc = conversion(r)
        inp = x / col(c, x)
        a = time.perf_counter()
        u_t = self.model(inp, t)
        self.model_s += time.perf_counter() - a
        self.nfe += x.shape[0]
        return col(dc / c, x) * x + col(dt * c, x) * u_t

    def tweedie(self, x, u, r):
        a, s, da, ds = vp(r)
        return (col(s, x) * u - col(ds, x) * x) / col(da * s - ds * a, x)

    def score(self, x, u, r):
        a, s, da, ds = vp(r)
        rho = a / da
        var = s * s - rho * ds * s
        return (col(rho, x) * u - x) / col(var, x)

    def sde_step(self, x, u, r, r_next):
        d = r - r_next
        g = 3.0 * r * r  # diffusion_coefficient square, diffusion_norm 3
        drift = -u + col(g * g / 2, x) * self.score(x, u, r)
        z = torch.randn_like(x)
        return x + drift * col(d, x) + col(g * torch.sqrt(d), x) * z

    def score_reward(self, x0):
        a = time.perf_counter()
        r = self.reward(x0)
        self.reward_s += time.perf_counter() - a
        return r


def rbf(sampler, shape, chains, k0, nfe_budget, steps):
    grid = exp_grid(steps)
    last = steps - 2
    q = (nfe_budget - chains * k0) // (steps * chains)
    # 1. initial particles; each chain keeps its best
    n0 = chains * k0
    x = torch.randn([n0] + shape)
    r0 = torch.full([n0], grid[0])
    u = sampler.velocity(x, r0)
    init = sampler.score_reward(sampler.tweedie(x, u, r0)).tolist()
    idx = [max(range(b * k0, (b + 1) * k0), key=lambda i: init[i]) for b in range(chains)]
    best = [init[i] for i in idx]
    cur, cur_u = x[idx].clone(), u[idx].clone()
    pos = [0] * chains
    quota = [q] * chains
    used = [0] * chains
    step_best = cur.clone()
    step_best_u = cur_u.clone()
    step_best_r = [-math.inf] * chains
    out_x0 = torch.zeros_like(cur)
    out_r = [-math.inf] * chains
    # 2.-4. one SDE proposal per chain per round
    while sampler.nfe + chains <= nfe_budget:
        r_from = torch.tensor([grid[p] for p in pos])
        r_to = torch.tensor([grid[p + 1] for p in pos])
        p = sampler.sde_step(cur, cur_u, r_from, r_to)
        pu = sampler.velocity(p, r_to)
        p0 = sampler.tweedie(p, pu, r_to)
        rp = sampler.score_reward(p0).tolist()  # host sync every round
        for b in range(chains):
            used[b] += 1
            if rp[b] > out_r[b]:
                out_r[b] = rp[b]
                out_x0[b] = p0[b]
            moved = False
            if rp[b] > best[b]:
                best[b] = rp[b]
                if pos[b] < last:
                    cur[b], cur_u[b] = p[b], pu[b]
                    quota[b] = q + (quota[b] - used[b])
                    moved = True
            else:
                if rp[b] > step_best_r[b]:
                    step_best_r[b] = rp[b]
                    step_best[b], step_best_u[b] = p[b], pu[b]
                if pos[b] < last and used[b] >= quota[b]:
                    cur[b], cur_u[b] = step_best[b], step_best_u[b]
                    quota[b] = q
                    moved = True
            if moved:
                pos[b] += 1
                used[b] = 0
                step_best_r[b] = -math.inf
    chosen = max(range(chains), key=lambda b: out_r[b])
    return out_x0[chosen], out_r[chosen]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--reward", required=True)
    ap.add_argument("--shape", type=int, nargs="+", required=True)
    ap.add_argument("--nfe", type=int, default=500)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--k0", type=int, default=25)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    model = torch.jit.load(args.model).eval()
    reward = torch.jit.load(args.reward).eval()
    with torch.no_grad():
        for i in range(args.repeat):
            s = Sampler(model, reward)
            c = time.thread_time()
            a = time.perf_counter()
            _, best = rbf(s, list(args.shape), args.chains, args.k0, args.nfe, args.steps)
            wall = time.perf_counter() - a
            cpu = time.thread_time() - c
            row = {"repeat": i, "wall_s": wall, "thread_cpu_s": cpu, "model_s": s.model_s,
                   "reward_s": s.reward_s, "nfe": s.nfe, "best_reward": best}
            if args.json:
                print(json.dumps(row), flush=True)
            else:
                print("repeat %d: %.4f s (model %.4f s, reward %.4f s, outside the model %.1f us"
                      " per NFE), %d NFE, best reward %.4f"
                      % (i, wall, s.model_s, s.reward_s, 1e6 * (wall - s.model_s) / s.nfe,
                         s.nfe, best), flush=True)


if __name__ == "__main__":
    main()
