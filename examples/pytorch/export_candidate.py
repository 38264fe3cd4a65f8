#!/usr/bin/python3
"""export_candidate.py PROBLEM_DIR OUT_DIR [--float32] [--grid G.npy]
                     [--method NAME | --scheme NAME] [--adjoint KIND] [--no-declare]

Runs resnet_torch.py (gradient by torch.autograd) on a nodeoracle problem directory and
writes a candidate directory (docs/formats.md): output.npy, loss.npy (shape ()),
grad_<P>.npy for every parameter array P, adjoint.npy and states.npy, and
candidate.json (+ grid.npy) when --float32 or --grid is given, all at once through
nodeoracle.save_candidate (python/: a temporary sibling directory renamed into place; an
OUT_DIR holding files it did not write is refused).  Exits 77 when PyTorch is not installed.
--method (a torchdiffeq or diffrax method name, mapped onto the scheme table as
docs/schemes.md says: torchdiffeq's rk4 is the 3/8 rule), --scheme (ours), --adjoint
(discrete: autograd through the solver, torchdiffeq's odeint; backsolve: the adjoint
ODE integrated backward with the state from z_L, odeint_adjoint; continuous: the same
re-anchored at the stored states) and --no-declare are those of examples/numpy's
exporter; a scheme other than the problem's is declared in candidate.json.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet_torch as rt  # noqa: E402  (guards the torch and numpy imports)

np = rt.np


try:
    import nodeoracle  # installed (python/README.md)
except ImportError:    # else the checkout's python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "python"))
    import nodeoracle  # noqa: E402


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

    declared = used if not args.no_declare and (grid is not None or
                                                used != prob["spec"]["scheme"]) else None
    try:
        nodeoracle.save_candidate(
            args.out_dir, {k: res[k] for k in ("output", "loss", "grad", "adjoint", "states")},
            precision="float32" if args.float32 else None, grid=grid, scheme=declared,
            problem=prob)
    except (nodeoracle.CandidateError, OSError, ValueError) as e:
        print("export_candidate.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
