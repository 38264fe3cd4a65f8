#!/usr/bin/python3
"""make_problem.py OUT_DIR [--family F] [--scheme S] [--m M] ... : write a small random
problem directory in the format of docs/formats.md (problem.json + .npy arrays).

This is NOT nodeoracle's generator (`nodeoracle gen` writes documented, seeded problems
with golden reference values).  It exists so that the examples can be exercised without
the C program: the arrays are drawn with NumPy's own generator, and `seed` in
problem.json is only provenance, as the format says.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tableaux import SCHEMES  # noqa: E402


def make(out, family="linear", scheme="euler", m=1, L=3, N=5, d_in=2, d_out=2, D=3,
         q=6, M=4, activation="tanh", kernel="gaussian", ell=1.0, nu=2.5,
         scaling="ode", adjoint="discrete", seed=1, param_scale=1.0):
    rng = np.random.default_rng(seed)
    spec = {"format": "nodeoracle-problem", "version": 1,
            "N": N, "d_in": d_in, "d_out": d_out, "D": D, "L": L, "m": m,
            "family": family, "scheme": scheme, "scaling": scaling, "adjoint": adjoint,
            "seed": seed, "param_scale": param_scale}
    arrays = {
        "X": rng.standard_normal((N, d_in)),
        "Y": rng.standard_normal((N, d_out)),
        "A": rng.standard_normal((D, d_in)) / np.sqrt(d_in),
        "B": rng.standard_normal((d_out, D)) / np.sqrt(D),
    }
    if family == "linear":
        arrays["W"] = param_scale * rng.standard_normal((L, D, D)) / np.sqrt(D)
    elif family == "rff":
        spec.update({"q": q, "kernel": kernel})
        if kernel == "gaussian":
            spec["ell"] = ell
            arrays["Omega"] = rng.standard_normal((q, D)) / ell
        else:
            spec["nu"] = nu
            # multivariate Student-t, 2 nu degrees of freedom, unit scale
            g = rng.standard_normal((q, D))
            chi2 = rng.chisquare(2 * nu, size=(q, 1))
            arrays["Omega"] = g / np.sqrt(chi2 / (2 * nu))
        arrays["beta"] = rng.uniform(0, 2 * np.pi, size=q)
        arrays["W"] = param_scale * rng.standard_normal((L, D, q)) / np.sqrt(q)
    elif family == "mlp":
        spec.update({"M": M, "activation": activation})
        arrays["a"] = param_scale * rng.standard_normal((L, M, D))
        arrays["u"] = param_scale * rng.standard_normal((L, M, D)) / np.sqrt(D)
        arrays["b"] = param_scale * rng.standard_normal((L, M))
    else:
        raise ValueError("unknown family %r" % family)

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "problem.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    for name, a in arrays.items():
        np.save(os.path.join(out, name + ".npy"), np.ascontiguousarray(a, dtype=np.float64))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="write a small random problem directory")
    ap.add_argument("out")
    ap.add_argument("--family", default="linear", choices=("linear", "rff", "mlp"))
    ap.add_argument("--scheme", default="euler", choices=SCHEMES)
    ap.add_argument("--scaling", default="ode", choices=("ode", "sqrt"))
    ap.add_argument("--adjoint", default="discrete",
                    choices=("discrete", "continuous", "backsolve"))
    ap.add_argument("--activation", default="tanh", choices=("tanh", "softplus", "relu", "hrelu"))
    ap.add_argument("--kernel", default="gaussian", choices=("gaussian", "matern"))
    for k, d in (("m", 1), ("L", 3), ("N", 5), ("d_in", 2), ("d_out", 2), ("D", 3),
                 ("q", 6), ("M", 4), ("seed", 1)):
        ap.add_argument("--" + k, type=int, default=d)
    for k, d in (("ell", 1.0), ("nu", 2.5), ("param_scale", 1.0)):
        ap.add_argument("--" + k, type=float, default=d)
    a = ap.parse_args(argv)
    make(a.out, a.family, a.scheme, a.m, a.L, a.N, a.d_in, a.d_out, a.D, a.q, a.M,
         a.activation, a.kernel, a.ell, a.nu, a.scaling, a.adjoint, a.seed, a.param_scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
