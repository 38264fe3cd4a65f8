#!/usr/bin/python3
"""peer_numpy.py PROBLEM_DIR [--torch] [--runs N] [--min-seconds S] [--warmup W]

Times one forward + full gradient of the examples' implementation on a nodeoracle
problem directory (as `nodeoracle gen` or bench_nodeoracle writes it), for `make bench`'s
"peers side by side" part (bench/bench.c).  Default: examples/numpy/resnet_numpy.py
(NumPy only); --torch: examples/pytorch/resnet_torch.py (exit 77 when PyTorch cannot be
imported).  Only run() is timed, inside Python: interpreter start-up, imports and reading
the problem are not.  W untimed warm-up runs (default 1), then runs until at least N
runs and S seconds are spent.

Prints one line:  median_seconds runs peak_rss_kib
(peak_rss_kib: ru_maxrss of this process, interpreter and library included).
"""

import argparse
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("problem_dir")
    ap.add_argument("--torch", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=0.5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args(argv)
    if args.torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("peer_numpy.py: torch not installed", file=sys.stderr)
            return 77
        sys.path.insert(0, os.path.join(HERE, "..", "examples", "pytorch"))
        import resnet_torch as impl
    else:
        sys.path.insert(0, os.path.join(HERE, "..", "examples", "numpy"))
        import resnet_numpy as impl
    prob = impl.load_problem(args.problem_dir)
    for _ in range(args.warmup):
        impl.run(prob)  # warm-up (first-touch, lazy initialisation), not timed
    t, spent = [], 0.0
    while len(t) < max(1, args.runs) or spent < args.min_seconds:
        t0 = time.perf_counter()
        impl.run(prob)
        dt = time.perf_counter() - t0
        t.append(dt)
        spent += dt
    t.sort()
    n = len(t)
    med = t[n // 2] if n % 2 else 0.5 * (t[n // 2 - 1] + t[n // 2])
    print("%.9e %d %d" % (med, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    return 0


if __name__ == "__main__":
    sys.exit(main())
