#!/usr/bin/python3
"""export_candidate.py PROBLEM_DIR OUT_DIR [--float32] [--grid G.npy]
                     [--method NAME | --scheme NAME] [--adjoint KIND] [--no-declare]

Runs resnet_torch.py (gradient by torch.autograd) on a nodeoracle problem directory and
writes a candidate directory (docs/formats.md): output.npy, loss.npy (shape ()),
grad_<P>.npy for every parameter array P, adjoint.npy and states.npy, and
candidate.json (+ grid.npy) when --float32 or --grid is given.  Each file is written
to a temporary name and renamed into place.  Exits 77 when PyTorch is not installed.
--method (a torchdiffeq or diffrax method name, mapped onto the scheme table as
docs/schemes.md says: torchdiffeq's rk4 is the 3/8 rule), --scheme (ours), --adjoint
(discrete: autograd through the solver, torchdiffeq's odeint; backsolve: the adjoint
ODE integrated backward with the state from z_L, odeint_adjoint; continuous: the same
re-anchored at the stored states) and --no-declare are those of examples/numpy's
exporter; a scheme other than the problem's is declared in candidate.json.
"""

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet_torch as rt  # noqa: E402  (guards the torch and numpy imports)

np = rt.np


def _atomic(out_dir, name, write):
    fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(out_dir, name))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_npy(out_dir, name, array, dtype):
    a = np.array(array, dtype=dtype, order="C")   # (ascontiguousarray would make () into (1,))
    _atomic(out_dir, name, lambda f: np.save(f, a, allow_pickle=False))


def main(argv=None):
    ap = argparse.ArgumentParser(description="export a PyTorch candidate for nodeoracle check")
    ap.add_argument("problem_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--float32", action="store_true",
                    help="compute in float32 and declare it in candidate.json")
    ap.add_argument("--grid", help="integrate on this step grid (.npy) and declare it")
    ap.add_argument("--method", help="a torchdiffeq or diffrax method name")
    ap.add_argument("--scheme", choices=rt.tableaux.SCHEMES)
    ap.add_argument("--adjoint", choices=rt.ADJOINTS)
    ap.add_argument("--no-declare", action="store_true")
    args = ap.parse_args(argv)
    rt.require_torch()                       # exits 77 with a message when missing

    try:
        prob = rt.load_problem(args.problem_dir)
        grid = np.load(args.grid, allow_pickle=False) if args.grid else None
        dtype = rt.torch.float32 if args.float32 else rt.torch.float64
        scheme = args.scheme
        if args.method is not None:
            if scheme is not None:
                raise ValueError("--method and --scheme: give one")
            scheme = rt.tableaux.method_scheme(args.method)
        res = rt.run(prob, dtype=dtype, grid=grid, scheme=scheme, adjoint=args.adjoint)
        used = scheme or prob["spec"]["scheme"]
    except (rt.ProblemError, OSError, ValueError, KeyError) as e:
        print("export_candidate.py: %s" % e, file=sys.stderr)
        return 2

    out, dt = args.out_dir, (np.float32 if args.float32 else np.float64)
    os.makedirs(out, exist_ok=True)
    save_npy(out, "output.npy", res["output"], dt)
    save_npy(out, "loss.npy", np.asarray(res["loss"]).reshape(()), dt)
    for name, g in res["grad"].items():
        save_npy(out, "grad_%s.npy" % name, g, dt)
    save_npy(out, "adjoint.npy", res["adjoint"], dt)
    save_npy(out, "states.npy", res["states"], dt)
    meta = {}
    if args.float32:
        meta["precision"] = "float32"
    if grid is not None:
        save_npy(out, "grid.npy", grid, np.float64)
        meta["grid"] = "grid.npy"
    if not args.no_declare and (grid is not None or used != prob["spec"]["scheme"]):
        meta["scheme"] = used
    if meta:
        data = (json.dumps(meta, indent=2) + "\n").encode("utf-8")
        _atomic(out, "candidate.json", lambda f: f.write(data))
    else:
        for stale in ("candidate.json", "grid.npy"):
            try:
                os.unlink(os.path.join(out, stale))
            except FileNotFoundError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
