#!/usr/bin/python3
"""export_trajectory.py PROBLEM_DIR OUT_DIR [--steps N] [--eta E] [--params] [--mutant NAME]

Trains the problem's parameters with plain gradient descent in float64, as a user's own
training loop would,

    theta^{n+1} = theta^n - eta G(theta^n),   n = 0 .. N - 1,

G the metric gradient (docs/model.md, "Metric gradients"): resnet_numpy.run's dF/dtheta
divided by h (linear, rff) or times M/h (mlp), h = 1/L (scaling ode) or 1/sqrt(L)
(sqrt).  It writes a training candidate for `nodeoracle check --train` (docs/formats.md,
"A candidate's training trajectory"):

  trajectory.npy  (N + 1) x 7: n, t = n eta, F, |G|^2, |theta^n|, |theta^n - theta^0|,
                  F_bits (0: a candidate has no certificate); the norms in the metric
                  <x, y> = h sum_k <x_k, y_k> (mlp: h sum_k (1/M) sum_j <x_kj, y_kj>)
  params.npy      (--params) (N + 1) x K, row n theta^n: W, or a, u, b, each flattened
                  in C order
  candidate.json  {"training": {"eta": E, "steps": N}}

OUT_DIR is written whole: into a temporary sibling directory, which then takes its place
in one rename (python/nodeoracle's publishing step; the directory lists its files in
.nodeoracle-candidate).  OUT_DIR may be absent, empty, or an earlier export; a directory
holding files this script did not write is refused (exit 2) and nothing is deleted.

--mutant NAME   a deliberately wrong training loop, to see check --train fail and name
                the first iteration: eta_off (steps with 1.01 eta but records eta),
                raw_gradient (steps with dF/dtheta, the gradient without the metric's
                1/h, M/h)
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resnet_numpy as rn  # noqa: E402

try:
    import nodeoracle  # installed (python/README.md)
except ImportError:    # else the checkout's python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "python"))
    import nodeoracle  # noqa: E402
from nodeoracle import _candidate as cand  # noqa: E402  (the atomic publishing step)

TRAIN_MUTANTS = ("eta_off", "raw_gradient")


def metric(spec):
    """(h, w, c): the depth step h, the metric's weight w per parameter entry (h, or h/M
    for mlp) and the factor c with G = c dF/dtheta (1/h, or M/h for mlp)."""
    L = spec["L"]
    h = 1.0 / np.sqrt(L) if spec["scaling"] == "sqrt" else 1.0 / L
    if spec["family"] == "mlp":
        M = spec["M"]
        return h, h / M, M / h
    return h, h, 1.0 / h


def train(prob, steps, eta, mutant=None):
    """Run GD; returns (trajectory (steps+1) x 7, params (steps+1) x K)."""
    if steps < 1 or not (np.isfinite(eta) and eta > 0):
        raise ValueError("need --steps >= 1 and a finite --eta > 0")
    if mutant is not None and mutant not in TRAIN_MUTANTS:
        raise ValueError("unknown mutant %r (known: %s)" % (mutant, ", ".join(TRAIN_MUTANTS)))
    spec = prob["spec"]
    names = rn.PARAMS[spec["family"]]
    _, w, c = metric(spec)
    step_eta = 1.01 * eta if mutant == "eta_off" else eta
    step_c = 1.0 if mutant == "raw_gradient" else c
    theta = {k: np.array(prob["arrays"][k], dtype=np.float64) for k in names}
    theta0 = np.concatenate([theta[k].ravel() for k in names])
    traj = np.zeros((steps + 1, 7))
    params = np.zeros((steps + 1, theta0.size))
    for n in range(steps + 1):
        res = rn.run(dict(prob, arrays=dict(prob["arrays"], **theta)))
        flat = np.concatenate([theta[k].ravel() for k in names])
        G = {k: c * res["grad"][k] for k in names}
        g2 = sum(float(np.sum(G[k] * G[k])) for k in names)
        d = flat - theta0
        traj[n] = (n, n * eta, float(res["loss"]), w * g2, np.sqrt(w * float(flat @ flat)),
                   np.sqrt(w * float(d @ d)), 0.0)
        params[n] = flat
        if n < steps:
            for k in names:   # the step (the mutants change only what is applied here)
                theta[k] = theta[k] - step_eta * (step_c * res["grad"][k])
    return traj, params


def save(out_dir, traj, params, eta, steps):
    """Write OUT_DIR atomically: a temporary sibling directory renamed into place."""
    dest = os.path.abspath(out_dir)
    parent, base = os.path.split(dest)
    if not base:
        raise ValueError("%s: not a directory name" % out_dir)
    cand._check_replaceable(dest)          # refuse before anything is written
    os.makedirs(parent, exist_ok=True)
    files = [("trajectory.npy", traj)]
    if params is not None:
        files.append(("params.npy", params))
    meta = (json.dumps({"training": {"eta": eta, "steps": steps}}) + "\n").encode("utf-8")
    tmp = cand._temp_name(parent, base, "tmp")
    os.mkdir(tmp)
    written = []
    try:
        for name, a in files:
            written.append(name)
            cand._write_file(os.path.join(tmp, name), lambda f, a=a: np.lib.format.write_array(
                f, np.ascontiguousarray(a, dtype="<f8"), version=(1, 0), allow_pickle=False))
        written.append("candidate.json")
        cand._write_file(os.path.join(tmp, "candidate.json"), lambda f: f.write(meta))
        listing = "\n".join([cand._HEADER] + sorted(written)) + "\n"
        written.append(cand.MANIFEST)
        cand._write_file(os.path.join(tmp, cand.MANIFEST),
                         lambda f: f.write(listing.encode("utf-8")))
        cand._fsync_dir(tmp)
        old = cand._publish(tmp, dest)
    except BaseException:
        for name in written:               # only what this call wrote
            try:
                os.unlink(os.path.join(tmp, name))
            except OSError:
                pass
        try:
            os.rmdir(tmp)
        except OSError:
            pass
        raise
    cand._fsync_dir(parent)
    if old is not None:
        cand._remove_written(old)          # the earlier export: its listed files only


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("problem_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--steps", type=int, default=20, help="GD steps (default 20)")
    ap.add_argument("--eta", type=float, default=0.05, help="step size (default 0.05)")
    ap.add_argument("--params", action="store_true", help="also write params.npy")
    ap.add_argument("--mutant", choices=TRAIN_MUTANTS)
    args = ap.parse_args(argv)
    try:
        prob = rn.load_problem(args.problem_dir)
        traj, params = train(prob, args.steps, args.eta, args.mutant)
        save(args.out_dir, traj, params if args.params else None, args.eta, args.steps)
    except (rn.ProblemError, ValueError, OSError) as e:
        print("export_trajectory.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
