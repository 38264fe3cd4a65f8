#!/usr/bin/python3
"""export_candidate.py PROBLEM_DIR OUT_DIR [--mutant NAME] [--float32] [--grid G.npy]

Runs resnet_numpy.py on a nodeoracle problem directory and writes a candidate directory
(docs/formats.md): output.npy, loss.npy (shape ()), grad_<P>.npy for every parameter
array P of the family, adjoint.npy and states.npy ((L+1) x N x D), and candidate.json
when --float32 or --grid is given (with grid.npy, a copy of the grid).  Every file is
written to a temporary name in OUT_DIR and renamed into place.

--mutant NAME   a deliberately broken variant (resnet_numpy.MUTANTS), to see
                `nodeoracle check` fail and name the cause
--float32       compute in float32 and declare it (candidate.json "precision")
--grid G.npy    integrate on the step grid G (scaling ode only) and declare it
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet_numpy as rn  # noqa: E402


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


def save_json(out_dir, name, obj):
    data = (json.dumps(obj, indent=2) + "\n").encode("utf-8")
    _atomic(out_dir, name, lambda f: f.write(data))


def export(problem_dir, out_dir, mutant=None, float32=False, grid_path=None):
    prob = rn.load_problem(problem_dir)
    grid = None
    if grid_path is not None:
        grid = np.load(grid_path, allow_pickle=False)
    dtype = np.float32 if float32 else np.float64
    res = rn.run(prob, mutant=mutant, dtype=dtype, grid=grid)

    os.makedirs(out_dir, exist_ok=True)
    # Stored precision: the declared one.  (The low_precision mutant computes in
    # float32 but stores float64 and declares nothing: that is the bug.)
    out_dtype = np.float32 if float32 else np.float64
    save_npy(out_dir, "output.npy", res["output"], out_dtype)
    save_npy(out_dir, "loss.npy", np.asarray(res["loss"]).reshape(()), out_dtype)
    for name, g in res["grad"].items():
        save_npy(out_dir, "grad_%s.npy" % name, g, out_dtype)
    save_npy(out_dir, "adjoint.npy", res["adjoint"], out_dtype)
    save_npy(out_dir, "states.npy", res["states"], out_dtype)
    meta = {}
    if float32:
        meta["precision"] = "float32"
    if grid is not None:
        save_npy(out_dir, "grid.npy", np.asarray(grid, dtype=np.float64), np.float64)
        meta["grid"] = "grid.npy"
        meta["scheme"] = prob["spec"]["scheme"]
    if meta:
        save_json(out_dir, "candidate.json", meta)
    else:
        # a stale candidate.json or grid.npy from an earlier export would change
        # what check compares against
        for stale in ("candidate.json", "grid.npy"):
            try:
                os.unlink(os.path.join(out_dir, stale))
            except FileNotFoundError:
                pass
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("problem_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--mutant", choices=rn.MUTANTS)
    ap.add_argument("--float32", action="store_true")
    ap.add_argument("--grid")
    args = ap.parse_args(argv)
    try:
        export(args.problem_dir, args.out_dir, args.mutant, args.float32, args.grid)
    except (rn.ProblemError, ValueError, OSError) as e:
        print("export_candidate.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
