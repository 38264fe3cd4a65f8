#!/usr/bin/python3
"""peer_mpmath.py PROBLEM_DIR --prec BITS [--runs N] [--min-seconds S] [--warmup W] [--dump FILE]

The mpmath peer of `make bench`'s ref cells (bench/bench.c, part six): one forward pass
and the full discrete-adjoint gradient of an rff / Euler problem (the bench's problems:
gaussian or any kernel, m substeps, scaling ode, adjoint discrete) in mpmath at BITS bits,
on the arrays of a nodeoracle problem directory, computed as ref/ computes them
(SPEC.md 1-3, proofs-notes/conventions.md):

    z_0 = A x;  per step  pre = Omega z + beta,  phi = sqrt(2/q) cos(pre),  z <- z + tau W_k phi;
    yhat = B z_L,  F = 1/(2N) sum_i |yhat_i - y_i|^2;
    p_L = (1/N) B^T (yhat - y);  per step backward, from the stored z:
        lam = tau p,  t = (W_k^T lam) o phi'(z),  p <- p + Omega^T t,  dF/dW_k += lam phi(z)^T,
    phi' = -sqrt(2/q) sin(pre) (cos and sin of a phase from one mpmath.cos_sin call).

Dot products are mpmath.fdot (exact products, one rounded sum, as mpfr_dot), the gradient
over points mpmath.fsum (as ref's mpfr_sum); the features are recomputed in the backward
pass, as ref does.  Only run() is timed, in CPU time of this process (time.process_time, as
the bench times ref: a shared machine's other load is not counted), inside Python (no
interpreter start-up, imports or file reading), W untimed warm-up runs (default 0), then at
least N runs and S seconds.

Prints one line:  median_seconds runs peak_rss_kib backend
(the format of peer_numpy.py, and mpmath's arithmetic backend: python or gmpy).  --dump FILE also writes the loss and grad_W, one decimal
string per line, for checking this driver against ref.  Exit 2: not an rff / Euler /
discrete / ode problem.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import mpmath
from mpmath import mp


def load(path):
    """problem.json and the arrays of an rff problem, as lists of exact mpf (set later)."""
    with open(os.path.join(path, "problem.json"), "r", encoding="utf-8") as f:
        spec = json.load(f)
    if (spec.get("family") != "rff" or spec.get("scheme") != "euler"
            or spec.get("adjoint") != "discrete" or spec.get("scaling") != "ode"):
        return None
    arrays = {}
    for name in ("X", "Y", "A", "B", "Omega", "beta", "W"):
        arrays[name] = np.load(os.path.join(path, name + ".npy"), allow_pickle=False)
    return {"spec": spec, "arrays": arrays}


def to_mpf(arr):
    """A float64 array as a flat list of mpf: exact (mp.prec >= 53)."""
    return [mp.mpf(float(x)) for x in arr.ravel()]


def run(prob):
    """Forward + gradient at the current mp.prec; returns (loss, grad_W as L lists)."""
    s, a = prob["spec"], prob["arrays"]
    N, din, dout, D, q, L, m = (s[k] for k in ("N", "d_in", "d_out", "D", "q", "L", "m"))
    X, Y, A, B = (to_mpf(a[k]) for k in ("X", "Y", "A", "B"))
    Om, beta, W = to_mpf(a["Omega"]), to_mpf(a["beta"]), to_mpf(a["W"])
    fdot, fsum, cos, cos_sin = mp.fdot, mp.fsum, mp.cos, mp.cos_sin
    tau = mp.mpf(1) / (L * m)
    c = mp.sqrt(mp.mpf(2) / q)
    Omrow = [Om[r * D:(r + 1) * D] for r in range(q)]
    Omcol = [Om[j::D] for j in range(D)]
    Wrow = [[W[(k * D + r) * q:(k * D + r + 1) * q] for r in range(D)] for k in range(L)]
    Wcol = [[W[k * D * q + j::q][:D] for j in range(q)] for k in range(L)]

    # forward, every step's state stored
    states, res = [], []
    for i in range(N):
        x = X[i * din:(i + 1) * din]
        z = [fdot(A[r * din:(r + 1) * din], x) for r in range(D)]
        zs = [z]
        for k in range(L):
            for _ in range(m):
                phi = [c * cos(fdot(Omrow[r], z) + beta[r]) for r in range(q)]
                z = [z[r] + tau * fdot(Wrow[k][r], phi) for r in range(D)]
                zs.append(z)
        states.append(zs)
        res.append([fdot(B[o * D:(o + 1) * D], z) - Y[i * dout + o] for o in range(dout)])
    loss = fsum(fdot(r, r) for r in res) / (2 * N)

    # discrete adjoint, layer by layer, the gradient summed over points exactly
    p = [[fdot(B[j::D], res[i]) / N for j in range(D)] for i in range(N)]
    grad = []
    for k in reversed(range(L)):
        contrib = [[mp.zero] * (D * q) for _ in range(N)]
        for i in range(N):
            pi, g = p[i], contrib[i]
            for t in reversed(range(k * m, (k + 1) * m)):
                z = states[i][t]
                phi, dphi = [], []
                for r in range(q):
                    co, si = cos_sin(fdot(Omrow[r], z) + beta[r])
                    phi.append(c * co)
                    dphi.append(-c * si)
                lam = [tau * pj for pj in pi]
                tt = [fdot(Wcol[k][j], lam) * dphi[j] for j in range(q)]
                pi = [pi[j] + fdot(Omcol[j], tt) for j in range(D)]
                for r in range(D):
                    for j in range(q):
                        g[r * q + j] += lam[r] * phi[j]
            p[i] = pi
        grad.append([fsum(contrib[i][e] for i in range(N)) for e in range(D * q)])
    grad.reverse()
    return loss, grad


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("problem_dir")
    ap.add_argument("--prec", type=int, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=0.0)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--dump")
    args = ap.parse_args(argv)
    if args.prec < 53:
        print("peer_mpmath.py: --prec must be >= 53 (the inputs are doubles)", file=sys.stderr)
        return 2
    prob = load(args.problem_dir)
    if prob is None:
        print("peer_mpmath.py: only rff / euler / discrete / ode problems", file=sys.stderr)
        return 2
    mp.prec = args.prec
    for _ in range(args.warmup):
        run(prob)
    t, spent, out = [], 0.0, None
    while len(t) < max(1, args.runs) or spent < args.min_seconds:
        t0 = time.process_time()
        out = run(prob)
        dt = time.process_time() - t0
        t.append(dt)
        spent += dt
    if args.dump:
        loss, grad = out
        with open(args.dump, "w", encoding="utf-8") as f:
            f.write(mpmath.nstr(loss, 60, min_fixed=1, max_fixed=0) + "\n")
            for layer in grad:
                for v in layer:
                    f.write(mpmath.nstr(v, 60, min_fixed=1, max_fixed=0) + "\n")
    t.sort()
    n = len(t)
    med = t[n // 2] if n % 2 else 0.5 * (t[n // 2 - 1] + t[n // 2])
    print("%.9e %d %d %s" % (med, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                             mpmath.libmp.BACKEND))
    return 0


if __name__ == "__main__":
    sys.exit(main())
