#!/usr/bin/python3
"""The flowscale command line against the reference-style Python RBF loop, on the same machine in
one sitting (run through compare.sh, which builds everything first).

Usage: compare.py --root REPO --models DIR --shim SO [--rounds 5] [--shapes 64 64x64] [--out FILE]

Whole processes, interleaved: every round runs, for every shape, the Python loop
(rbf_reference.py), the CLI (bin/flowscale run, with its start-up cache) and the CLI without the
cache (FLOWSCALE_AOT=0), in an order rotated from round to round, and times each process's wall
clock and CPU (user + system of all its threads, from wait4). The ratio CLI / reference is taken
per round (paired: both ran within seconds of each other), then its median and range are
reported; on a shared machine the pairs cancel much of the load swings.

In process: each side then runs the search 20 times in one process (rbf_reference.py --repeat,
org.flowscale.bench.nfe.RepeatSearch), sides alternating, 3 rounds: the first search (cold)
against the second half (warm), in wall and in the calling thread's CPU time, and the time per
NFE outside the model.

Both sides: one torch thread (OMP_NUM_THREADS=1, MKL_NUM_THREADS=1; the Python loop also calls
torch.set_num_threads(1)), the same TorchScript model and reward files, 2 chains x 25, 500 NFE,
10 exp steps, VP-SDE (square, norm 3).
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SHAPES = {"64": ("mlp64", [64]), "64x64": ("mlp64x64", [64, 64])}


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d CPUs" % (cpu, os.cpu_count())


def load():
    try:
        return "%.1f %.1f %.1f" % os.getloadavg()
    except OSError:
        return "?"


def run(cmd, env, cwd):
    """Runs a process to the end; returns (wall s, CPU s, stdout). Fails loudly on a bad exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode("utf-8", "replace")
        if p.returncode != 0:
            sys.exit("compare: %s exited %d:\n%s" % (" ".join(cmd), p.returncode,
                                                    err.read().decode("utf-8", "replace")[-3000:]))
        return wall, ru.ru_utime + ru.ru_stime, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--java", default="java")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--inproc-rounds", type=int, default=3)
    ap.add_argument("--shapes", nargs="+", default=["64", "64x64"], choices=sorted(SHAPES))
    ap.add_argument("--out")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", FLOWSCALE_NO_BUILD="1",
               FLOWSCALE_SHIM=args.shim)
    env.pop("FLOWSCALE_JAVA_OPTS", None)
    runs = tempfile.mkdtemp(prefix="flowscale-compare.")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_start = load()

    def files(shape):
        name, dims = SHAPES[shape]
        return (os.path.join(args.models, name + ".pt"), os.path.join(args.models, "reward64.pt"),
                dims)

    def overrides(shape):
        model, reward, dims = files(shape)
        sh = "[" + ", ".join(str(d) for d in dims) + "]"
        return ["model_path=" + model, "reward_path=" + reward, "sample_shape=" + sh,
                "image_shape=" + sh, "root_dir=" + runs]

    def commands(shape):
        model, reward, dims = files(shape)
        ref = ["/usr/bin/python3", os.path.join(root, "bench/reference/rbf_reference.py"),
               "--model", model, "--reward", reward, "--shape"] + [str(d) for d in dims]
        cli = [os.path.join(root, "bin/flowscale"), "run", "--config",
               os.path.join(root, "config/torchscript/rbf.yaml"), "--progress", "none"]
        cli += overrides(shape)
        return [("reference", ref, env), ("cli", cli, env),
                ("cli, no AOT cache", cli, dict(env, FLOWSCALE_AOT="0"))]

    # Whole processes, interleaved.
    cases = [(shape,) + c for shape in args.shapes for c in commands(shape)]
    results = {(c[0], c[1]): [] for c in cases}
    for r in range(args.rounds):
        k = r % len(cases)
        for shape, name, cmd, e in cases[k:] + cases[:k]:
            wall, cpu, _ = run(cmd, e, root)
            results[(shape, name)].append((wall, cpu))
        print("compare: round %d/%d done (load %s)" % (r + 1, args.rounds, load()),
              file=sys.stderr, flush=True)

    # In process: first search and later ones, alternating sides, several rounds.
    inproc = {(shape, side): [] for shape in args.shapes for side in ("reference", "flowscale")}
    for r in range(args.inproc_rounds):
        for shape in args.shapes:
            model, reward, dims = files(shape)
            ref = ["/usr/bin/python3", os.path.join(root, "bench/reference/rbf_reference.py"),
                   "--model", model, "--reward", reward, "--shape"] + [str(d) for d in dims] + [
                       "--repeat", str(args.repeat), "--json"]
            java = [args.java, "--enable-native-access=ALL-UNNAMED", "-Xss8m",
                    "-Dflowscale.shim=" + args.shim, "-cp",
                    os.path.join(root, "bench/target/benchmarks.jar"),
                    "org.flowscale.bench.nfe.RepeatSearch", "--config",
                    os.path.join(root, "config/torchscript/rbf.yaml"),
                    "--repeat", str(args.repeat)] + overrides(shape)
            sides = [("reference", ref), ("flowscale", java)]
            if r % 2:
                sides.reverse()
            for side, cmd in sides:
                _, _, text = run(cmd, env, root)
                inproc[(shape, side)].append(
                    [json.loads(l) for l in text.splitlines() if l.startswith("{")])
        print("compare: in-process round %d/%d done (load %s)" % (r + 1, args.inproc_rounds, load()),
              file=sys.stderr, flush=True)
    shutil.rmtree(runs, ignore_errors=True)

    lines = []
    lines.append("Machine: %s. %s; load average %s at the start, %s at the end. %d interleaved "
                 "rounds." % (machine(), started, load_start, load(), args.rounds))
    lines.append("")
    lines.append("Whole processes (500-NFE RBF, cold: a new process each run)")
    lines.append("")
    lines.append("| shape | run | wall s, median (min-max) | CPU s, median | wall / reference, "
                 "median of paired rounds (min-max) |")
    lines.append("|---|---|---|---|---|")
    for shape in args.shapes:
        ref = results[(shape, "reference")]
        for name in ("reference", "cli", "cli, no AOT cache"):
            rs = results[(shape, name)]
            walls = [w for w, _ in rs]
            cpus = [c for _, c in rs]
            ratios = [w / rw for (w, _), (rw, _) in zip(rs, ref)]
            ratio = "1" if name == "reference" else "%.2f (%.2f-%.2f)" % (
                statistics.median(ratios), min(ratios), max(ratios))
            lines.append("| [%s] | %s | %.2f (%.2f-%.2f) | %.2f | %s |" % (
                shape.replace("x", ", "), name, statistics.median(walls), min(walls), max(walls),
                statistics.median(cpus), ratio))
    lines.append("")
    warm_from = args.repeat // 2
    lines.append("In one process, %d searches each, %d rounds alternating sides: search 1 (cold) "
                 "and searches %d-%d (warm); medians over rounds of each round's median"
                 % (args.repeat, args.inproc_rounds, warm_from + 1, args.repeat))
    lines.append("")
    lines.append("| shape | side | search | wall ms | thread CPU ms | model ms | outside model "
                 "us/NFE | engine us/NFE (outside model and reward) |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for shape in args.shapes:
        for side in ("reference", "flowscale"):
            rounds = inproc[(shape, side)]
            for label, lo, hi in (("1 (cold)", 0, 1), ("warm", warm_from, args.repeat)):
                def med(key):
                    return statistics.median(statistics.median(r[key] for r in rows[lo:hi])
                                             for rows in rounds)
                def engine_s(row):
                    return row["engine_s"] if "engine_s" in row else (
                        row["wall_s"] - row["model_s"] - row["reward_s"])
                nfe = med("nfe")
                outside = statistics.median(
                    statistics.median(r["wall_s"] - r["model_s"] for r in rows[lo:hi])
                    for rows in rounds) / nfe * 1e6
                engine = statistics.median(
                    statistics.median(engine_s(r) for r in rows[lo:hi])
                    for rows in rounds) / nfe * 1e6
                lines.append("| [%s] | %s | %s | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
                    shape.replace("x", ", "), side, label, 1e3 * med("wall_s"),
                    1e3 * med("thread_cpu_s"), 1e3 * med("model_s"), outside, engine))
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
