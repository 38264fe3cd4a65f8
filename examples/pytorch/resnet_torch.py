#!/usr/bin/python3
"""resnet_torch.py - a PyTorch implementation of the nodeoracle model, as a user would write it.

Reads a nodeoracle problem directory (docs/formats.md), runs the residual network /
Neural-ODE discretisation of proofs-notes/conventions.md in torch (float64 by default)

    z_0 = A x,  layer k: scheme steps of the autonomous field v_k,  yhat = B z_L,
    F = 1/(2N) sum_i |yhat_i - y_i|^2,

and gets the gradient from torch.autograd (loss.backward()): that is the discrete
adjoint, backpropagation through the scheme.  The adjoint states p_k = dF/dz_k are the
.grad of the layer-boundary states (retain_grad).  When the problem says
adjoint = continuous, the gradient is the optimise-then-discretise one, integrated
backward with vector-Jacobian products from torch.autograd.grad (conventions.md
"Continuous adjoint"), since backward() of the forward graph is the discrete adjoint.

Library use:

    import resnet_torch as rt
    prob = rt.load_problem("PROBLEM_DIR")
    res = rt.run(prob)        # dict of NumPy arrays: output, loss, grad{...}, adjoint, states
"""

import json
import math
import os
import sys

# The imports are guarded so that a machine without PyTorch gets one clear line and the
# "skipped" status instead of a traceback.  torch first: on Debian python3-torch depends
# on python3-numpy, so a missing NumPy alone means a broken install, not a skip.
try:
    import torch
    _TORCH_ERROR = None
except ImportError as e:                               # pragma: no cover
    # A ModuleNotFoundError naming "torch" means it is not installed (skip); any other
    # ImportError (a dependency of torch, a missing libtorch .so) is a broken install.
    torch = None
    _TORCH_ERROR = e
try:
    import numpy as np
    _NUMPY_ERROR = None
except ImportError as e:                               # pragma: no cover
    np = None
    _NUMPY_ERROR = e

SKIP = 77  # the automake / meson "skipped" exit status
INSTALL = ("apt-get install python3-torch (Debian bookworm: PyTorch 1.13.1, about 175 MB to "
           "download and 800 MB installed)")


def require_torch():
    """Exit 77 (skipped) with one line on stderr when PyTorch is not installed for
    this Python, 2 when it is installed but cannot be imported (or NumPy is missing)."""
    if torch is None:
        if isinstance(_TORCH_ERROR, ModuleNotFoundError) and _TORCH_ERROR.name == "torch":
            print("examples/pytorch: skipped (exit 77): PyTorch is not installed for %s; "
                  "install it with %s, or set PYTHON to a Python that has it"
                  % (sys.executable, INSTALL), file=sys.stderr)
            sys.exit(SKIP)
        print("examples/pytorch: PyTorch is installed for %s but does not import: %s"
              % (sys.executable, _TORCH_ERROR), file=sys.stderr)
        sys.exit(2)
    if np is None:
        print("examples/pytorch: NumPy does not import for %s: %s (apt-get install "
              "python3-numpy)" % (sys.executable, _NUMPY_ERROR), file=sys.stderr)
        sys.exit(2)


PARAMS = {"linear": ("W",), "rff": ("W",), "mlp": ("a", "u", "b")}

# The tableaux and the library method names are shared with the NumPy example
# (examples/numpy/tableaux.py: exact values from the literature, order conditions
# checked, compared with problem/tableau.c by tests/test_examples.c).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "numpy"))
import tableaux  # noqa: E402

TABLEAUX = {name: tableaux.float_tableau(name) for name in tableaux.SCHEMES}
ADJOINTS = ("discrete", "continuous", "backsolve")


class ProblemError(Exception):
    pass


def load_problem(path):
    """problem.json and the arrays it implies, as float64 NumPy arrays."""
    with open(os.path.join(path, "problem.json"), "r", encoding="utf-8") as f:
        spec = json.load(f)
    if spec.get("format") != "nodeoracle-problem" or spec.get("version") != 1:
        raise ProblemError("problem.json: not a nodeoracle-problem version 1")
    fam = spec.get("family")
    if fam not in PARAMS:
        raise ProblemError("problem.json: unknown family %r" % fam)
    N, din, dout, D, L = (spec[k] for k in ("N", "d_in", "d_out", "D", "L"))
    shapes = {"X": (N, din), "Y": (N, dout), "A": (D, din), "B": (dout, D)}
    if fam == "linear":
        shapes["W"] = (L, D, D)
    elif fam == "rff":
        shapes.update({"Omega": (spec["q"], D), "beta": (spec["q"],),
                       "W": (L, D, spec["q"])})
    else:
        M = spec["M"]
        shapes.update({"a": (L, M, D), "u": (L, M, D), "b": (L, M)})
    arrays = {}
    for name, shape in shapes.items():
        a = np.load(os.path.join(path, name + ".npy"), allow_pickle=False)
        if a.shape != shape:
            raise ProblemError("%s.npy: shape %s, expected %s" % (name, a.shape, shape))
        arrays[name] = a
    return {"spec": spec, "arrays": arrays}


def layer_steps(L, m, h, grid=None, tol=1e-12):
    """Step sizes per layer: m substeps h/m, or the intervals of a step grid (scaling
    ode; every k/L must be a grid point within tol and is snapped to k/L)."""
    if grid is None:
        return [[h / m] * m for _ in range(L)]
    t = np.asarray(grid, dtype=np.float64).copy()
    if t.ndim != 1 or t.size < 2 or abs(t[0]) > tol or abs(t[-1] - 1) > tol:
        raise ProblemError("grid: a 1-D array from 0 to 1 is required")
    t[0], t[-1] = 0.0, 1.0
    bounds = [0]
    for k in range(1, L):
        j = int(np.argmin(np.abs(t - k / L)))
        if abs(t[j] - k / L) > tol:
            raise ProblemError("grid: layer boundary %d/%d is not a grid point" % (k, L))
        t[j] = k / L
        bounds.append(j)
    bounds.append(t.size - 1)
    if not np.all(np.diff(t) > 0):
        raise ProblemError("grid: not strictly increasing")
    return [[float(t[j + 1] - t[j]) for j in range(bounds[k], bounds[k + 1])]
            for k in range(L)]


class Model:
    """The field v_k(z) for a batch z (N x D) of the problem's family, in torch."""

    def __init__(self, spec, arrays, dtype):
        self.spec = spec
        self.fam = spec["family"]
        t = {k: torch.tensor(v, dtype=dtype) for k, v in arrays.items()}
        self.data = t
        # trained parameters: leaves of the autograd graph
        self.params = {n: t[n].clone().requires_grad_(True) for n in PARAMS[self.fam]}
        if self.fam == "rff":
            self.c = math.sqrt(2.0 / spec["q"])
        if self.fam == "mlp":
            act = spec["activation"]
            if act == "tanh":
                self.sigma = torch.tanh
            elif act == "softplus":
                # log(1 + e^x) exactly: torch.nn.functional.softplus returns x itself
                # above its threshold (20), an error of e^-20 relative to the contract.
                self.sigma = lambda x: torch.logaddexp(torch.zeros_like(x), x)
            elif act == "relu":
                self.sigma = torch.relu          # relu'(0) = 0, as the contract says
            elif act == "hrelu":
                # 0 | (x+1)^2/4 | x (proofs-notes/activations.md); the middle piece
                # on the clipped argument, so autograd sees no inf * 0 outside it.
                self.sigma = lambda x: torch.where(
                    x >= 1, x, 0.25 * (torch.clamp(x, -1.0, 1.0) + 1) ** 2)
            else:
                raise ProblemError("unknown activation %r" % act)

    def v(self, k, z):
        p = self.params
        if self.fam == "linear":
            return z @ p["W"][k].T                                   # W_k z
        if self.fam == "rff":
            phi = self.c * torch.cos(z @ self.data["Omega"].T + self.data["beta"])
            return phi @ p["W"][k].T                                 # W_k phi(z)
        M = self.spec["M"]
        s = self.sigma(z @ p["u"][k].T + p["b"][k])                  # N x M
        return (s @ p["a"][k]) / M                                   # (1/M) sum_j a_j s_j


def run(prob, dtype=None, grid=None, scheme=None, adjoint=None):
    """Forward, loss, gradient (autograd), adjoint states and layer states.
    Returns NumPy arrays in the computation's dtype.  scheme: a name of the table
    instead of the problem's; adjoint: discrete (autograd through the solver, as
    torchdiffeq's odeint), backsolve (the adjoint ODE integrated backward together with
    the state from z_L, as odeint_adjoint) or continuous (the same, re-anchored at the
    stored substep states), instead of the problem's."""
    require_torch()
    dtype = dtype or torch.float64
    spec, arrays = dict(prob["spec"]), prob["arrays"]
    if scheme is not None:
        if scheme not in TABLEAUX:
            raise ProblemError("unknown scheme %r" % scheme)
        spec["scheme"] = scheme
    if adjoint is not None:
        if adjoint not in ADJOINTS:
            raise ProblemError("unknown adjoint %r" % adjoint)
        spec["adjoint"] = adjoint
    if spec["scheme"] not in TABLEAUX:
        raise ProblemError("problem.json: unknown scheme %r" % spec["scheme"])
    if spec["adjoint"] not in ADJOINTS:
        raise ProblemError("problem.json: unknown adjoint %r" % spec["adjoint"])
    L, m, N = spec["L"], spec["m"], spec["N"]
    if spec["scaling"] == "sqrt":
        if grid is not None:
            raise ProblemError("a step grid is only defined for scaling ode")
        h = 1.0 / math.sqrt(L)
    else:
        h = 1.0 / L
    steps = layer_steps(L, m, h, grid)
    a_tab, b_tab = TABLEAUX[spec["scheme"]]
    s = len(b_tab)
    model = Model(spec, arrays, dtype)
    X, Y, A, B = (model.data[k] for k in ("X", "Y", "A", "B"))

    def step(k, z, tau):
        K = []
        for i in range(s):
            Yi = z
            for j in range(i):
                if a_tab[i][j] != 0:
                    Yi = Yi + (tau * a_tab[i][j]) * K[j]
            K.append(model.v(k, Yi))
        for i in range(s):
            if b_tab[i] != 0:
                z = z + (tau * b_tab[i]) * K[i]
        return z

    z = X @ A.T
    z.requires_grad_(True)          # z_0 is a leaf: its .grad is p_0
    states, boundaries = [z], []
    for k in range(L):
        bnd = [z]
        for tau in steps[k]:
            z = step(k, z, tau)
            bnd.append(z)
        boundaries.append(bnd)
        z.retain_grad()
        states.append(z)
    out = z @ B.T
    loss = ((out - Y) ** 2).sum() / (2 * N)

    if spec["adjoint"] == "discrete":
        loss.backward()
        grad = {n: t.grad for n, t in model.params.items()}
        adjoint = [zk.grad for zk in states]
    else:
        grad, adjoint = _continuous_adjoint(model, boundaries, steps, out, Y, B, N,
                                            a_tab, b_tab,
                                            backsolve=spec["adjoint"] == "backsolve")

    def np_(t):
        return t.detach().cpu().numpy()

    return {"output": np_(out), "loss": np_(loss),
            "grad": {n: np_(g) for n, g in grad.items()},
            "adjoint": np.stack([np_(p) for p in adjoint]),
            "states": np.stack([np_(zk) for zk in states])}


def _continuous_adjoint(model, boundaries, steps, out, Y, B, N, a_tab, b_tab, backsolve=False):
    """Backward integration of dz/ds = v, dp/ds = -Dv^T p, dg/ds = -(dv/dtheta)^T p with
    the same tableau and step -tau.  Re-anchored at the stored forward states
    (continuous), or (backsolve) with the state started at the forward z_L and carried
    backward by the same steps, never reset: what torchdiffeq's odeint_adjoint does with
    t = [0, 1] (proofs-notes/continuous-adjoint.md, section 5)."""
    L, s = len(steps), len(b_tab)
    names = list(model.params)
    leaves = [model.params[n] for n in names]

    def vjp(k, Z, P):
        """(Dv_k(Z)^T P, (dv_k/dtheta)(Z)^T P) by reverse mode on v_k alone."""
        Z = Z.detach().requires_grad_(True)
        with torch.enable_grad():
            v = model.v(k, Z)
            g = torch.autograd.grad(v, [Z] + leaves, grad_outputs=P)
        return g[0], g[1:]

    with torch.no_grad():
        p = (out - Y) @ B / N                                # p_L = (1/N) B^T (B z_L - y)
        grad = [torch.zeros_like(t) for t in leaves]
        adjoint = [None] * (L + 1)
        adjoint[L] = p
        zb = boundaries[L - 1][-1].detach()                  # backsolve: z_L, then carried
        for k in range(L - 1, -1, -1):
            bnd = boundaries[k]
            for n in range(len(steps[k]) - 1, -1, -1):
                tau = steps[k][n]
                z1 = zb if backsolve else bnd[n + 1].detach()
                p1 = p
                V, DP, GP = [], [], []
                for i in range(s):
                    Z, P = z1, p1
                    for j in range(i):
                        if a_tab[i][j] != 0:
                            Z = Z - (tau * a_tab[i][j]) * V[j]
                            P = P + (tau * a_tab[i][j]) * DP[j]
                    V.append(model.v(k, Z))
                    dz, dth = vjp(k, Z, P)
                    DP.append(dz)
                    GP.append(dth)
                for i in range(s):
                    if b_tab[i] == 0:
                        continue
                    p = p + (tau * b_tab[i]) * DP[i]
                    zb = zb - (tau * b_tab[i]) * V[i] if backsolve else zb
                    for g, d in zip(grad, GP[i]):
                        g += (tau * b_tab[i]) * d
            adjoint[k] = p
    return dict(zip(names, grad)), adjoint
