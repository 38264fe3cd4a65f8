#!/usr/bin/python3
"""selfcheck.py PROBLEM_DIR [--h STEP] [--tol TOL]

Checks resnet_numpy.py against itself, without nodeoracle:

1. the hand-written gradient (discrete adjoint) against central finite differences of
   the NumPy loss, for every parameter array (step h = 1e-6);
2. the adjoint states p_k = dF/dz_k against central differences of the loss restarted
   at layer k from a perturbed state z_k;
3. the same on a random non-uniform step grid (each interval one scheme step);
4. that --grid with the uniform grid t_j = j/(L m) reproduces the m-substep outputs
   (bit for bit when every t_j and step is a dyadic rational, e.g. L m a power of two;
   otherwise to rounding, since t_{j+1} - t_j is then not exactly h/m);
5. for every problem: the gap between the continuous (and the backsolve) and the
   discrete adjoint at m and 2m substeps, and its observed order (the scheme's order:
   1 Euler, 4 RK4, 5 dopri5/tsit5), as information;
6. with --mutants: every mutant that applies to the family changes the results, and
   the model mutants are self-consistent bugs: their gradient is the exact gradient of
   their own (wrong) loss (sign_flip: its negative), checked by finite differences.

Agreement is reported normwise per array: max|fd - g| / max|g|.  Exit 0 when checks
1-4 pass (relative agreement below --tol, default 1e-5), 1 otherwise.
"""

import argparse
import copy
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet_numpy as rn  # noqa: E402


def discrete_problem(prob, m=None):
    p = copy.copy(prob)
    p["spec"] = dict(prob["spec"], adjoint="discrete")
    if m is not None:
        p["spec"]["m"] = m
    return p


def normwise(a, b):
    den = np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / (den if den > 0 else 1.0))


def fd_grad(prob, name, h, grid=None, mutant=None):
    base = prob["arrays"][name]
    fd = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        plus, minus = base.copy(), base.copy()
        plus[idx] += h
        minus[idx] -= h
        fp = rn.loss_only(prob, {name: plus}, grid=grid, mutant=mutant)
        fm = rn.loss_only(prob, {name: minus}, grid=grid, mutant=mutant)
        fd[idx] = (fp - fm) / (2 * h)
    return fd


def fd_adjoint(prob, states, k, h):
    z = states[k]
    fd = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[idx] += h
        minus[idx] -= h
        fp = float(rn.run(prob, want_grad=False, start=(k, plus))["loss"])
        fm = float(rn.run(prob, want_grad=False, start=(k, minus))["loss"])
        fd[idx] = (fp - fm) / (2 * h)
    return fd


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("problem_dir")
    ap.add_argument("--h", type=float, default=1e-6)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--mutants", action="store_true")
    args = ap.parse_args(argv)

    prob0 = rn.load_problem(args.problem_dir)
    spec = prob0["spec"]
    prob = discrete_problem(prob0)
    fam, L, m = spec["family"], spec["L"], spec["m"]
    desc = "%s%s %s m=%d L=%d scaling=%s adjoint=%s" % (
        fam, "/" + spec["activation"] if fam == "mlp" else
        ("/" + spec["kernel"] if fam == "rff" else ""),
        spec["scheme"], m, L, spec["scaling"], spec["adjoint"])
    print("problem: %s (%s)" % (args.problem_dir, desc))
    ok = True

    def report(label, err):
        nonlocal ok
        good = err <= args.tol
        ok = ok and good
        print("  %-44s %.2e  %s" % (label, err, "ok" if good else "FAIL"))

    # 1. gradient vs finite differences
    res = rn.run(prob)
    print("  loss = %.17g" % res["loss"])
    for name in rn.PARAMS[fam]:
        report("grad_%s vs central FD" % name,
               normwise(fd_grad(prob, name, args.h), res["grad"][name]))

    # 2. adjoint states vs finite differences of the restarted loss
    for k in sorted({0, L // 2, L}):
        report("adjoint[%d] vs central FD in z_%d" % (k, k),
               normwise(fd_adjoint(prob, res["states"], k, args.h), res["adjoint"][k]))

    # 3. non-uniform grid (scaling ode only)
    if spec["scaling"] == "ode":
        rng = np.random.default_rng(7)
        pts = [0.0]
        for k in range(L):
            n = int(rng.integers(1, 4))
            inner = np.sort(rng.uniform(0.1, 0.9, size=n - 1)) if n > 1 else []
            pts += [(k + x) / L for x in inner] + [(k + 1) / L]
        grid = np.array(pts)
        rg = rn.run(prob, grid=grid)
        for name in rn.PARAMS[fam]:
            report("grid (%d steps) grad_%s vs FD" % (len(grid) - 1, name),
                   normwise(fd_grad(prob, name, args.h, grid=grid), rg["grad"][name]))

        # 4. uniform grid == m substeps
        ugrid = np.arange(L * m + 1) / (L * m)
        ru = rn.run(prob0, grid=ugrid)
        rm = rn.run(prob0)
        worst, identical = 0.0, True
        for key in ("output", "states", "adjoint"):
            identical = identical and np.array_equal(ru[key], rm[key])
            worst = max(worst, normwise(ru[key], rm[key]))
        for name in rn.PARAMS[fam]:
            identical = identical and np.array_equal(ru["grad"][name], rm["grad"][name])
            worst = max(worst, normwise(ru["grad"][name], rm["grad"][name]))
        identical = identical and ru["loss"] == rm["loss"]
        worst = max(worst, abs(float(ru["loss"] - rm["loss"])) / abs(float(rm["loss"])))
        taus_exact = all(float(t) == (1.0 / L) / m for s in rn.layer_steps(L, 1.0 / L, m, ugrid)
                         for t in s)
        print("  uniform grid j/(L m) vs m substeps: %s (max rel diff %.2e; steps %s h/m)"
              % ("bit-identical" if identical else "differ", worst,
                 "exactly" if taus_exact else "not exactly"))
        if taus_exact and not identical:
            ok = False
            print("  FAIL: identical steps but different results")
        elif worst > 1e-13:
            ok = False
            print("  FAIL: uniform grid result too far from m substeps")

    # 5. continuous and backsolve vs discrete adjoint gap (information)
    for kind in ("continuous", "backsolve"):
        gaps = []
        for mm in (m, 2 * m):
            pd = discrete_problem(prob0, mm)
            rd, rc = rn.run(pd), rn.run(pd, adjoint=kind)
            gaps.append(max(normwise(rc["grad"][n], rd["grad"][n]) for n in rn.PARAMS[fam]))
        order = np.log2(gaps[0] / gaps[1]) if gaps[1] > 0 and gaps[0] > 0 else float("nan")
        print("  %s-discrete grad gap: m=%d %.2e, m=%d %.2e, observed order %.2f"
              % (kind, m, gaps[0], 2 * m, gaps[1], order))

    # 6. mutants
    if args.mutants:
        ref = rn.run(prob0)
        for mut in rn.MUTANTS:
            if rn.mutant_applies(spec, mut) is not None:
                continue
            rm = rn.run(prob0, mutant=mut)
            diffs = {key: normwise(np.asarray(rm[key], dtype=np.float64), ref[key])
                     for key in ("output", "loss", "adjoint")}
            for n in rn.PARAMS[fam]:
                diffs["grad_" + n] = normwise(rm["grad"][n].astype(np.float64),
                                              ref["grad"][n])
            biggest = max(diffs, key=diffs.get)
            line = "  mutant %-20s differs most in %-8s by %.2e" % (mut, biggest,
                                                                     diffs[biggest])
            if diffs[biggest] == 0 or (mut == "continuous_adjoint"
                                       and spec["adjoint"] == "continuous"):
                line += " (no change on this problem)"
            # own-loss FD: not for the mutants that change the method, nor for those
            # whose bug is in the backward pass or the written arrays only
            if mut not in ("continuous_adjoint", "low_precision", "detached_stage",
                           "transposed_grad_blocks", "swapped_grad_arrays"):
                sign = -1.0 if mut == "sign_flip" else 1.0
                pm = discrete_problem(prob0)
                rmd = rn.run(pm, mutant=mut)
                e = max(normwise(sign * fd_grad(pm, n, args.h, mutant=mut), rmd["grad"][n])
                        for n in rn.PARAMS[fam])
                good = e <= args.tol
                ok = ok and good
                line += "; own-loss FD %.1e %s" % (e, "ok" if good else "FAIL")
            print(line)

    print("selfcheck: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
