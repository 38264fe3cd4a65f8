#!/usr/bin/python3
"""resnet_numpy.py - a NumPy implementation of the nodeoracle model, written as a user would.

It reads a nodeoracle problem directory (docs/formats.md: problem.json and .npy arrays),
runs the residual network / Neural-ODE discretisation of proofs-notes/conventions.md

    z_0 = A x,  layer k: scheme steps of the autonomous field v_k,  yhat = B z_L,
    F = 1/(2N) sum_i |yhat_i - y_i|^2,

and computes the gradient of F with respect to the parameters by hand-written
backpropagation through the scheme (the discrete adjoint: stages recomputed, the
lam/mu recurrences), by the continuous (optimise-then-discretise) adjoint when the
problem says adjoint = continuous (the augmented system integrated backward with the same
tableau and step -tau, the state re-anchored at every stored substep state), or by the
backsolve adjoint when it says adjoint = backsolve (the same, but the state starts at the
forward z_L and is carried backward by the same steps, as torchdiffeq's odeint_adjoint
does).  Every scheme of the table (tableaux.py) runs through the same code, written once
for an explicit tableau (a, b).  No autodiff library is used.

It also carries deliberate bugs ("mutants"), switched on by name, so that one can see
`nodeoracle check` fail and diagnose each one. Each mutant is a change a user could
plausibly make in their own code (a missing constant, a transposed matrix, ...); the
whole computation, gradient included, is consistent with the buggy model.

Library use:

    import resnet_numpy as rn
    prob = rn.load_problem("PROBLEM_DIR")
    res = rn.run(prob)                     # dict: output, loss, grad (dict), adjoint, states
    res = rn.run(prob, mutant="missing_half", dtype=np.float32, grid=np.load("grid.npy"))
    res = rn.run(prob, scheme="rk4-38", adjoint="backsolve")   # torchdiffeq odeint_adjoint
"""

import json
import os
import sys

import numpy as np

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tableaux import SCHEMES, float_tableau  # noqa: E402  (examples/numpy/tableaux.py)

MUTANTS = (
    "missing_1_over_N",
    "missing_half",
    "mean_over_outputs",
    "missing_1_over_L",
    "missing_1_over_M",
    "missing_rff_scale",
    "rff_no_phase",
    "transposed_weights",
    "sign_flip",
    "depth_off_by_one",
    "continuous_adjoint",
    "low_precision",
    # the second generation: one per hypothesis family added to the diagnosis later
    "substep_h",
    "half_mean",
    "extra_half",
    "detached_stage",
    "transposed_grad_blocks",
    "sqrt_step",
    "layer_sign",
    "layer_scale",
    "layer_shift",
    "layer_wrap",
    "rff_phase_dropped",
    "swapped_grad_arrays",
)

# The diagnosis.cause `nodeoracle check` should give for each mutant (docs/check.md;
# examples/README.md).  The first generation's causes are their own names.
MUTANT_CAUSES = dict({m: m for m in MUTANTS[:12]}, **{
    "substep_h": "substep_size",
    "half_mean": "loss_scaled",
    "extra_half": "loss_scaled",
    "detached_stage": "backward_error",
    "transposed_grad_blocks": "transposed_gradient",
    "sqrt_step": "wrong_scaling",
    "layer_sign": "layer_sign",
    "layer_scale": "layer_scale",
    "layer_shift": "layer_params",
    "layer_wrap": "layer_params",
    "rff_phase_dropped": "rff_no_phase+field_scale",
    "swapped_grad_arrays": "swapped_arrays",
})

# Which families a mutant makes sense for (None: every family).
MUTANT_FAMILIES = {
    "missing_1_over_M": ("mlp",),
    "missing_rff_scale": ("rff",),
    "rff_no_phase": ("rff",),
    "transposed_weights": ("linear", "mlp"),
    "rff_phase_dropped": ("rff",),
    "swapped_grad_arrays": ("mlp",),
}

PARAMS = {"linear": ("W",), "rff": ("W",), "mlp": ("a", "u", "b")}

# Butcher tableaux as float64 (tableaux.py: exact values from the literature, checked
# against their order conditions): name -> (a, b), a strictly lower triangular.
TABLEAUX = {name: float_tableau(name) for name in SCHEMES}

ADJOINTS = ("discrete", "continuous", "backsolve")


def mutant_applies(spec, mutant, grid=None):
    """None when `mutant` changes the computation of this problem in the way it is
    meant to (it may still be a no-op by accident), else the reason it does not apply."""
    fams = MUTANT_FAMILIES.get(mutant)
    if fams is not None and spec["family"] not in fams:
        return "applies to family %s only" % "/".join(fams)
    L = spec["L"]
    if mutant == "substep_h" and (spec["m"] < 2 or grid is not None):
        return "needs m > 1 substeps on the uniform grid"
    if mutant == "detached_stage" and len(TABLEAUX[spec["scheme"]][1]) < 2:
        return "needs a scheme with at least 2 stages"
    if mutant == "layer_shift" and L < 3:
        return "needs L >= 3 (layer L//2 + 1 must exist)"
    if mutant in ("layer_wrap", "layer_sign", "layer_scale") and L < 2:
        return "needs L >= 2"
    if mutant == "sqrt_step" and L < 2:
        return "needs L >= 2 (1/L = 1/sqrt(L) at L = 1)"
    return None


class ProblemError(Exception):
    pass


# --------------------------------------------------------------------------------------
# Loading a problem directory
# --------------------------------------------------------------------------------------

_COMMON = ("format", "version", "N", "d_in", "d_out", "D", "L", "m", "family", "scheme",
           "scaling", "adjoint", "seed", "param_scale")


def load_problem(path):
    """Read PROBLEM/problem.json and the arrays it implies (docs/formats.md)."""
    with open(os.path.join(path, "problem.json"), "r", encoding="utf-8") as f:
        spec = json.load(f)
    for key in _COMMON:
        if key not in spec:
            raise ProblemError("problem.json: missing member '%s'" % key)
    if spec["format"] != "nodeoracle-problem" or spec["version"] != 1:
        raise ProblemError("problem.json: not a nodeoracle-problem version 1")
    fam = spec["family"]
    if fam not in PARAMS:
        raise ProblemError("problem.json: unknown family '%s'" % fam)
    if spec["scheme"] not in TABLEAUX:
        raise ProblemError("problem.json: unknown scheme '%s'" % spec["scheme"])
    if spec["scaling"] not in ("ode", "sqrt"):
        raise ProblemError("problem.json: unknown scaling '%s'" % spec["scaling"])
    if spec["adjoint"] not in ADJOINTS:
        raise ProblemError("problem.json: unknown adjoint '%s'" % spec["adjoint"])
    if fam == "mlp" and spec.get("activation") not in ACTIVATIONS:
        raise ProblemError("problem.json: mlp needs activation %s" % ", ".join(ACTIVATIONS))

    N, din, dout, D, L = (spec[k] for k in ("N", "d_in", "d_out", "D", "L"))
    shapes = {"X": (N, din), "Y": (N, dout), "A": (D, din), "B": (dout, D)}
    if fam == "linear":
        shapes["W"] = (L, D, D)
    elif fam == "rff":
        q = spec["q"]
        shapes.update({"Omega": (q, D), "beta": (q,), "W": (L, D, q)})
    else:
        M = spec["M"]
        shapes.update({"a": (L, M, D), "u": (L, M, D), "b": (L, M)})

    arrays = {}
    for name, shape in shapes.items():
        arr = np.load(os.path.join(path, name + ".npy"), allow_pickle=False)
        if arr.shape != shape:
            raise ProblemError("%s.npy: shape %s, expected %s" % (name, arr.shape, shape))
        if arr.dtype != np.float64:
            raise ProblemError("%s.npy: dtype %s, expected float64" % (name, arr.dtype))
        arrays[name] = arr
    return {"spec": spec, "arrays": arrays, "path": path}


# --------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------

# The contract's activations (proofs-notes/activations.md), in problem.json's names.
ACTIVATIONS = ("tanh", "softplus", "relu", "hrelu")


def _act(name, x):
    """(sigma(x), sigma'(x))."""
    if name == "tanh":
        t = np.tanh(x)
        return t, 1 - t * t
    if name == "softplus":
        # log(1 + e^x) without overflow; derivative: the logistic 1/(1+e^-x),
        # written with tanh so that it neither overflows nor loses the tails.
        return np.logaddexp(0, x).astype(x.dtype, copy=False), 0.5 * (1 + np.tanh(0.5 * x))
    if name == "relu":
        return np.maximum(x, 0), (x > 0).astype(x.dtype)
    if name == "hrelu":
        # Huber-regularised ReLU: 0 | (x+1)^2/4 | x on x <= -1 | |x| < 1 | x >= 1.
        # The middle piece is evaluated on the clipped argument, so it never
        # overflows where np.where discards it.
        t = np.clip(x, -1, 1) + 1
        s = np.where(x >= 1, x, 0.25 * t * t)
        ds = np.where(x >= 1, 1, 0.5 * t).astype(x.dtype, copy=False)
        return s.astype(x.dtype, copy=False), ds
    raise ValueError(name)


# --------------------------------------------------------------------------------------
# Fields: v(Z) for a batch Z (N x D), vector-Jacobian products in z and in theta
# --------------------------------------------------------------------------------------

class LinearField:
    """v_k(z) = W_k z.  With transposed=True, the bug v_k(z) = W_k^T z."""

    def __init__(self, W, transposed=False):
        self.W = W
        self.transposed = transposed

    def layer(self, k):
        return self.W[k]

    def v(self, Wk, Z):
        # rows of Z are data points: (W z_i)^T = z_i^T W^T
        return Z @ Wk if self.transposed else Z @ Wk.T

    def vjp_z(self, Wk, Z, Lam):
        # Dv^T w = W^T w  (row form: w^T W)
        return Lam @ Wk.T if self.transposed else Lam @ Wk

    def vjp_theta(self, Wk, Z, Lam, g, k):
        # dW_k += sum_i w_i z_i^T   (transposed bug: sum_i z_i w_i^T)
        if self.transposed:
            g["W"][k] += Z.T @ Lam
        else:
            g["W"][k] += Lam.T @ Z


class RFFField:
    """v_k(z) = W_k phi(z), phi(z) = c cos(Omega z + beta), c = sqrt(2/q)."""

    def __init__(self, W, Omega, beta, scale, phase=True):
        self.W, self.Omega, self.beta = W, Omega, beta
        self.c = scale
        self.phase = phase

    def layer(self, k):
        return self.W[k]

    def _pre(self, Z):
        pre = Z @ self.Omega.T                     # N x q
        if self.phase:
            pre = pre + self.beta
        return pre

    def v(self, Wk, Z):
        phi = self.c * np.cos(self._pre(Z))        # N x q
        return phi @ Wk.T                          # N x D

    def vjp_z(self, Wk, Z, Lam):
        g = -self.c * np.sin(self._pre(Z))         # N x q
        return (g * (Lam @ Wk)) @ self.Omega       # Omega^T (g o W^T w)

    def vjp_theta(self, Wk, Z, Lam, g, k):
        phi = self.c * np.cos(self._pre(Z))
        g["W"][k] += Lam.T @ phi                   # sum_i w_i phi(z_i)^T


class MLPField:
    """v_k(z) = (1/M) sum_j a_kj sigma(u_kj . z + b_kj).

    With swap=True the bug 'a and u unpacked in the wrong order':
    v_k(z) = (1/M) sum_j u_kj sigma(a_kj . z + b_kj)."""

    def __init__(self, a, u, b, activation, inv_M, swap=False):
        self.a, self.u, self.b = a, u, b
        self.act = activation
        self.inv_M = inv_M
        self.swap = swap

    def layer(self, k):
        if self.swap:
            return (self.u[k], self.a[k], self.b[k])
        return (self.a[k], self.u[k], self.b[k])

    def v(self, th, Z):
        a, u, b = th
        s, _ = _act(self.act, Z @ u.T + b)         # N x M
        return self.inv_M * (s @ a)                # N x D

    def vjp_z(self, th, Z, Lam):
        a, u, b = th
        _, ds = _act(self.act, Z @ u.T + b)
        t = (Lam @ a.T) * ds                       # (a_j . w_i) sigma'(.)
        return self.inv_M * (t @ u)

    def vjp_theta(self, th, Z, Lam, g, k):
        a, u, b = th
        s, ds = _act(self.act, Z @ u.T + b)
        t = (Lam @ a.T) * ds
        ga = self.inv_M * (s.T @ Lam)              # (1/M) sigma(.) w
        gu = self.inv_M * (t.T @ Z)                # (1/M)(a.w) sigma'(.) z
        gb = self.inv_M * t.sum(axis=0)
        if self.swap:                              # the field used u where a belongs
            ga, gu = gu, ga
        g["a"][k] += ga
        g["u"][k] += gu
        g["b"][k] += gb


# --------------------------------------------------------------------------------------
# Step sizes
# --------------------------------------------------------------------------------------

def layer_steps(L, h, m, grid=None, tol=1e-12):
    """The list of step sizes of each layer.

    Without a grid: m equal substeps h/m.  With a grid (scaling ode, docs/formats.md
    "A step grid"): each interval [t_j, t_{j+1}] inside layer k is one step; every
    layer boundary k/L must be a grid point (within tol; snapped to k/L exactly)."""
    if grid is None:
        tau = h / m
        return [[tau] * m for _ in range(L)]
    t = np.asarray(grid, dtype=np.float64).copy()
    if t.ndim != 1 or t.size < 2:
        raise ProblemError("grid: must be a 1-D array with at least two points")
    if not np.all(np.isfinite(t)):
        raise ProblemError("grid: non-finite value")
    if abs(t[0]) > tol or abs(t[-1] - 1) > tol:
        raise ProblemError("grid: must start at 0 and end at 1")
    t[0], t[-1] = 0.0, 1.0
    for k in range(1, L):
        j = int(np.argmin(np.abs(t - k / L)))
        if abs(t[j] - k / L) > tol:
            raise ProblemError("grid: layer boundary %d/%d is not a grid point" % (k, L))
        t[j] = k / L
    if not np.all(np.diff(t) > 0):
        raise ProblemError("grid: not strictly increasing")
    bounds = [int(np.argmin(np.abs(t - k / L))) for k in range(L + 1)]
    return [[t[j + 1] - t[j] for j in range(bounds[k], bounds[k + 1])] for k in range(L)]


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------

def run(prob, mutant=None, dtype=np.float64, grid=None, want_grad=True, start=None,
        scheme=None, adjoint=None):
    """Forward pass, loss, gradient, adjoint states and layer states.

    Returns {"output", "loss", "grad": {name: array}, "adjoint", "states"}; the arrays
    are in `dtype` (float64 or float32).  mutant: None or one of MUTANTS.
    scheme: a name of the table instead of the problem's (what the user's library ran);
    adjoint: "discrete", "continuous" or "backsolve" instead of the problem's.
    start=(k0, z): begin at layer k0 with state z instead of A x (for finite-difference
    checks of the adjoint states; states/adjoint then cover layers k0..L only)."""
    if mutant is not None and mutant not in MUTANTS:
        raise ValueError("unknown mutant %r (known: %s)" % (mutant, ", ".join(MUTANTS)))
    spec = dict(prob["spec"])
    if scheme is not None:
        if scheme not in TABLEAUX:
            raise ProblemError("unknown scheme %r (known: %s)" % (scheme, ", ".join(TABLEAUX)))
        spec["scheme"] = scheme
    if adjoint is not None:
        if adjoint not in ADJOINTS:
            raise ProblemError("unknown adjoint %r (known: %s)" % (adjoint, ", ".join(ADJOINTS)))
        spec["adjoint"] = adjoint
    fam = spec["family"]
    if mutant is not None:
        why = mutant_applies(spec, mutant, grid)
        if why is not None:
            raise ValueError("mutant %s does not apply to this problem: %s" % (mutant, why))
    if mutant == "low_precision":
        dtype = np.float32           # the bug: everything computed in single precision
    dtype = np.dtype(dtype)
    arr = {k: v.astype(dtype) for k, v in prob["arrays"].items()}
    N, L, m = spec["N"], spec["L"], spec["m"]
    one = dtype.type(1)

    # ---- depth step --------------------------------------------------------------
    if spec["scaling"] == "sqrt":
        if grid is not None:
            raise ProblemError("a step grid is only defined for scaling ode")
        h = 1.0 / np.sqrt(L)
    else:
        h = 1.0 / L
    if mutant == "missing_1_over_L":
        h_used = 1.0                               # forgot to divide by the depth
    elif mutant == "depth_off_by_one":
        h_used = 1.0 / (L + 1) if spec["scaling"] == "ode" else 1.0 / np.sqrt(L + 1)
    elif mutant == "sqrt_step":
        # the other scaling's step: 1/sqrt(L) on an ode problem, 1/L on a sqrt one
        h_used = 1.0 / np.sqrt(L) if spec["scaling"] == "ode" else 1.0 / L
    else:
        h_used = h
    steps = layer_steps(L, h, m, grid)
    if h_used != h:                                # the buggy h, on any grid
        steps = [[tau * (h_used / h) for tau in s] for s in steps]
    if mutant == "substep_h":
        steps = [[h] * m for _ in range(L)]        # each of the m substeps takes h, not h/m
    steps = [[dtype.type(tau) for tau in s] for s in steps]

    # ---- field -------------------------------------------------------------------
    if fam == "linear":
        field = LinearField(arr["W"], transposed=(mutant == "transposed_weights"))
    elif fam == "rff":
        q = spec["q"]
        if mutant == "missing_rff_scale":
            c = one                                # cos(Omega z + beta), no sqrt(2/q)
        elif mutant == "rff_no_phase":
            c = dtype.type(1.0 / np.sqrt(q))       # cos(Omega z)/sqrt(q), the authors' code
        else:
            c = dtype.type(np.sqrt(2.0 / q))       # (rff_phase_dropped keeps the scale)
        field = RFFField(arr["W"], arr["Omega"], arr["beta"], c,
                         phase=(mutant not in ("rff_no_phase", "rff_phase_dropped")))
    else:
        M = spec["M"]
        inv_M = one if mutant == "missing_1_over_M" else dtype.type(1.0 / M)
        field = MLPField(arr["a"], arr["u"], arr["b"], spec["activation"], inv_M,
                         swap=(mutant == "transposed_weights"))

    # Layer k evaluates factor[k] * v with the parameters of layer pidx[k] (and its
    # gradient goes to that layer's block, as autograd of such a forward pass would):
    # the identity except for the layer mutants.
    k_half = L // 2
    pidx = list(range(L))
    factor = [one] * L
    if mutant == "layer_sign":
        factor[k_half] = -one
    elif mutant == "layer_scale":
        factor[k_half] = dtype.type(3)
    elif mutant == "layer_shift":
        pidx[k_half] = k_half + 1
    elif mutant == "layer_wrap":
        pidx = [(k - 1) % L for k in range(L)]     # params[k - 1]: layer 0 gets params[-1]
    lay = [Layer(field, pidx[k], factor[k]) for k in range(L)]

    A_tab, b_tab = TABLEAUX[spec["scheme"]]
    A_tab = [[dtype.type(x) for x in row] for row in A_tab]
    b_tab = [dtype.type(x) for x in b_tab]
    s = len(b_tab)

    # ---- forward -----------------------------------------------------------------
    k0 = 0
    if start is None:
        z = arr["X"] @ arr["A"].T                  # z_0^i = A x^i, N x D
    else:
        k0, z = start[0], np.asarray(start[1], dtype=dtype)
    states = [z]
    traj = [None] * L                              # traj[k]: substep boundary states
    for k in range(k0, L):
        f = lay[k]
        bnd = [z]
        for tau in steps[k]:
            K = []
            for i in range(s):
                Y = z
                for j in range(i):
                    if A_tab[i][j] != 0:
                        Y = Y + tau * A_tab[i][j] * K[j]
                K.append(f.v(Y))
            for i in range(s):
                if b_tab[i] != 0:
                    z = z + tau * b_tab[i] * K[i]
            bnd.append(z)
        traj[k] = bnd
        states.append(z)

    out = z @ arr["B"].T                           # yhat^i = B z_L^i
    if mutant == "sign_flip":
        r = arr["Y"] - out                         # the bug: residual y - yhat
    else:
        r = out - arr["Y"]
    sq = np.sum(r * r)
    nd = N * spec["d_out"]
    if mutant == "missing_1_over_N":
        loss, cL = 0.5 * sq, one                   # 1/2 sum |.|^2
    elif mutant == "missing_half":
        loss, cL = sq / N, dtype.type(2.0 / N)     # 1/N sum |.|^2
    elif mutant == "mean_over_outputs":
        # torch.nn.MSELoss(): the mean over all N * d_out squared errors, which is
        # the contract's 1/(2N) sum only when d_out = 2
        loss, cL = sq / nd, dtype.type(2.0 / nd)
    elif mutant == "half_mean":
        # 0.5 * MSELoss(): 1/2 of the mean over all N * d_out squared errors
        loss, cL = 0.5 * (sq / nd), dtype.type(1.0 / nd)
    elif mutant == "extra_half":
        # the 1/2 written twice: 0.5 * (1/(2N)) sum |.|^2
        loss, cL = 0.5 * (sq / (2 * N)), dtype.type(0.5 / N)
    else:
        loss, cL = sq / (2 * N), dtype.type(1.0 / N)
    res = {"output": out, "loss": dtype.type(loss), "states": np.stack(states)}
    if not want_grad:
        return res

    # ---- backward ----------------------------------------------------------------
    # p_L = dF/dz_L = (1/N) B^T (B z_L - y); with the sign bug the user differentiates
    # their residual r as if it were yhat - y.
    p = cL * (r @ arr["B"])
    grads = {name: np.zeros_like(arr[name]) for name in PARAMS[fam]}
    adjoint = [None] * (L + 1)
    adjoint[L] = p
    kind = spec["adjoint"]
    if mutant == "continuous_adjoint":
        kind = "continuous"
    zb = z                                         # backsolve: the state carried backward
    for k in range(L - 1, k0 - 1, -1):
        f = lay[k]
        # detached_stage: in the second half of the network the backward pass drops the
        # dependence of stage 2 on the state (a .detach() of that stage's input)
        cut = 1 if mutant == "detached_stage" and k >= L // 2 else None
        bnd = traj[k]
        for n in range(len(steps[k]) - 1, -1, -1):
            tau = steps[k][n]
            if kind == "continuous":
                p, _ = _continuous_substep(f, bnd[n + 1], p, tau, A_tab, b_tab, grads, cut)
            elif kind == "backsolve":
                p, zb = _continuous_substep(f, zb, p, tau, A_tab, b_tab, grads, cut)
            else:
                p = _discrete_substep(f, bnd[n], p, tau, A_tab, b_tab, grads, cut)
        adjoint[k] = p
    if mutant == "transposed_grad_blocks":
        # each layer's block of the first parameter array stored transposed, reshaped
        # (C order) into the block's shape
        first = PARAMS[fam][0]
        g = grads[first]
        grads[first] = np.stack([np.reshape(g[k].T, g[k].shape) for k in range(g.shape[0])])
    if mutant == "swapped_grad_arrays":
        grads["a"], grads["u"] = grads["u"], grads["a"]   # written into each other's file
    res["grad"] = grads
    res["adjoint"] = np.stack(adjoint[k0:])
    return res


class Layer:
    """Layer k's field as the network evaluates it: scale * v with the parameters of
    layer `index`, whose gradient block receives the parameter gradient."""

    def __init__(self, field, index, scale):
        self.field, self.index, self.scale = field, index, scale
        self.th = field.layer(index)

    def v(self, Z):
        out = self.field.v(self.th, Z)
        return out if self.scale == 1 else self.scale * out

    def vjp_z(self, Z, Lam):
        # (c v)'^T w = v'^T (c w)
        return self.field.vjp_z(self.th, Z, Lam if self.scale == 1 else self.scale * Lam)

    def vjp_theta(self, Z, Lam, grads):
        self.field.vjp_theta(self.th, Z, Lam if self.scale == 1 else self.scale * Lam,
                             grads, self.index)


def _discrete_substep(f, z, pn, tau, A_tab, b_tab, grads, cut=None):
    """Backpropagation through one step started at z; pn = cotangent of its end.
    cut: a stage index whose input is detached (its mu is dropped), or None."""
    s = len(b_tab)
    # recompute the stages
    Ys, K = [], []
    for i in range(s):
        Y = z
        for j in range(i):
            if A_tab[i][j] != 0:
                Y = Y + tau * A_tab[i][j] * K[j]
        Ys.append(Y)
        K.append(f.v(Y))
    mu = [None] * s
    p = pn
    for i in range(s - 1, -1, -1):
        lam = b_tab[i] * pn
        for j in range(i + 1, s):
            if A_tab[j][i] != 0:
                lam = lam + A_tab[j][i] * mu[j]
        lam = tau * lam                            # cotangent of K_i
        mu[i] = f.vjp_z(Ys[i], lam)                # cotangent of Y_i
        if i == cut:
            mu[i] = np.zeros_like(mu[i])           # the bug: Y_i treated as a constant
        f.vjp_theta(Ys[i], lam, grads)
    for i in range(s):
        p = p + mu[i]
    return p


def _continuous_substep(f, z1, p1, tau, A_tab, b_tab, grads, cut=None):
    """One backward step of the augmented system (z, p, g) with step -tau from
    (z1, p1) (conventions.md "Continuous adjoint").  Returns (p0, z0): the adjoint at
    the step's start and the state integrated backward to it, which the continuous
    adjoint discards (it re-anchors to the stored forward state) and the backsolve
    adjoint carries on.  cut: a stage whose state-Jacobian term is dropped."""
    s = len(b_tab)
    Zs, V, Ps, DP = [], [], [], []
    for i in range(s):
        Z = z1
        P = p1
        for j in range(i):
            if A_tab[i][j] != 0:
                Z = Z - tau * A_tab[i][j] * V[j]
                P = P + tau * A_tab[i][j] * DP[j]
        Zs.append(Z)
        Ps.append(P)
        V.append(f.v(Z))
        DP.append(np.zeros_like(P) if i == cut else f.vjp_z(Z, P))
    p, z = p1, z1
    for i in range(s):
        if b_tab[i] != 0:
            p = p + tau * b_tab[i] * DP[i]
            z = z - tau * b_tab[i] * V[i]
            f.vjp_theta(Zs[i], (tau * b_tab[i]) * Ps[i], grads)
    return p, z


def loss_only(prob, arrays_override=None, mutant=None, grid=None):
    """F for possibly modified parameter arrays (used by selfcheck.py)."""
    if arrays_override:
        prob = dict(prob)
        prob["arrays"] = dict(prob["arrays"], **arrays_override)
    return float(run(prob, mutant=mutant, grid=grid, want_grad=False)["loss"])
