#!/usr/bin/python3
"""export_candidate.py PROBLEM_DIR OUT_DIR [--mutant NAME] [--float32] [--grid G.npy]
                     [--method NAME | --scheme NAME] [--adjoint KIND] [--no-declare]

Runs resnet_numpy.py on a nodeoracle problem directory and writes a candidate directory
(docs/formats.md): output.npy, loss.npy (shape ()), grad_<P>.npy for every parameter
array P of the family, adjoint.npy and states.npy ((L+1) x N x D), and candidate.json
when --float32 or --grid is given (with grid.npy, a copy of the grid).  OUT_DIR is
written whole by nodeoracle.save_candidate (python/): into a temporary sibling directory
renamed into place; an OUT_DIR holding files it did not write is refused (exit 2).

--mutant NAME   a deliberately broken variant (resnet_numpy.MUTANTS), to see
                `nodeoracle check` fail and name the cause
--float32       compute in float32 and declare it (candidate.json "precision")
--grid G.npy    integrate on the step grid G (scaling ode only) and declare it
--method NAME   run as a torchdiffeq or diffrax user does: the library's method name
                (torchdiffeq: euler, midpoint, rk4, heun2, adaptive_heun, bosh3,
                dopri5; diffrax: Euler, Midpoint, Heun, Ralston, Bosh3, Dopri5, Tsit5;
                a prefix torchdiffeq: or diffrax: is allowed), mapped onto the scheme
                table as docs/schemes.md says (torchdiffeq's rk4 is the 3/8 rule,
                rk4-38).  The adaptive ones step on the problem's uniform substeps, or
                on the steps their controller accepted given as --grid.
--scheme NAME   a scheme of the table by our name (euler, midpoint, heun, ralston,
                bosh3, rk4, rk4-38, dopri5, tsit5) instead of the problem's
--adjoint KIND  discrete (backpropagation through the solver: torchdiffeq's odeint,
                diffrax's default RecursiveCheckpointAdjoint), backsolve (the adjoint
                ODE solved backward from z_L without the stored states: torchdiffeq's
                odeint_adjoint, diffrax's BacksolveAdjoint) or continuous (the same,
                re-anchored at every stored substep state); default: the problem's
--no-declare    do not write the scheme into candidate.json (check then assumes the
                problem's scheme: to see what a wrong name mapping costs)

A scheme other than the problem's (and, with --grid, always) is declared in
candidate.json, so that check replays the method the candidate ran.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet_numpy as rn  # noqa: E402
import tableaux  # noqa: E402

try:
    import nodeoracle  # installed (python/README.md)
except ImportError:    # else the checkout's python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "python"))
    import nodeoracle  # noqa: E402


def export(problem_dir, out_dir, mutant=None, float32=False, grid_path=None, method=None,
           scheme=None, adjoint=None, declare=True):
    prob = rn.load_problem(problem_dir)
    grid = None
    if grid_path is not None:
        grid = np.load(grid_path, allow_pickle=False)
    if method is not None:
        if scheme is not None:
            raise ValueError("--method and --scheme: give one")
        scheme = tableaux.method_scheme(method)
        if grid is None and method.rpartition(":")[2] in tableaux.ADAPTIVE:
            print("export_candidate.py: note: %s is adaptive; stepping on the problem's m "
                  "uniform substeps (give the steps its controller accepted as --grid)"
                  % method, file=sys.stderr)
    dtype = np.float32 if float32 else np.float64
    res = rn.run(prob, mutant=mutant, dtype=dtype, grid=grid, scheme=scheme, adjoint=adjoint)
    used = scheme or prob["spec"]["scheme"]

    # Stored and declared precision: float32 with --float32, else float64.  (The
    # low_precision mutant computes in float32 but stores float64 and declares nothing:
    # that is the bug.)  save_candidate writes the whole directory at once, so no stale
    # candidate.json or grid.npy of an earlier export survives.
    declared = used if declare and (grid is not None or used != prob["spec"]["scheme"]) else None
    nodeoracle.save_candidate(
        out_dir, {k: res[k] for k in ("output", "loss", "grad", "adjoint", "states")},
        precision="float32" if float32 else None, grid=grid, scheme=declared, problem=prob)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("problem_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--mutant", choices=rn.MUTANTS)
    ap.add_argument("--float32", action="store_true")
    ap.add_argument("--grid")
    ap.add_argument("--method", help="a torchdiffeq or diffrax method name")
    ap.add_argument("--scheme", choices=tableaux.SCHEMES)
    ap.add_argument("--adjoint", choices=rn.ADJOINTS)
    ap.add_argument("--no-declare", action="store_true")
    args = ap.parse_args(argv)
    try:
        export(args.problem_dir, args.out_dir, args.mutant, args.float32, args.grid,
               args.method, args.scheme, args.adjoint, not args.no_declare)
    except (rn.ProblemError, ValueError, OSError) as e:
        print("export_candidate.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
