"""Reading a problem directory (docs/formats.md, "A problem: a directory")."""

import json
import os

import numpy as np

#: The parameter arrays of each family: the candidate provides grad_<P> for each.
PARAMS = {"linear": ("W",), "rff": ("W",), "mlp": ("a", "u", "b")}

_SIZES = ("N", "d_in", "d_out", "D", "L", "m")
_STRINGS = ("family", "scheme", "scaling", "adjoint")


class ProblemError(ValueError):
    """A problem directory that cannot be read; the message names the file."""


class Problem(dict):
    """A loaded problem directory.

    A dict with the keys ``"spec"`` (problem.json, a dict), ``"arrays"`` (name -> float64
    array: ``X``, ``Y``, ``A``, ``B`` and the family's ``W`` / ``Omega``, ``beta`` /
    ``a``, ``u``, ``b``) and ``"path"`` (the directory), which is the layout
    ``examples/numpy/resnet_numpy.run(prob)`` takes; the same values are attributes
    (``prob.spec``, ``prob.arrays``, ``prob.path``), and every input array is an
    attribute too: ``prob.X`` is ``prob.arrays["X"]``.
    """

    @property
    def spec(self):
        return self["spec"]

    @property
    def arrays(self):
        return self["arrays"]

    @property
    def path(self):
        return self["path"]

    @property
    def family(self):
        return self["spec"]["family"]

    @property
    def params(self):
        """Names of the parameter arrays, e.g. ``("W",)`` or ``("a", "u", "b")``."""
        return PARAMS[self.family]

    def __getattr__(self, name):
        arrays = self.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def output_shapes(self):
        """Shape of every array a candidate may provide, by name (docs/formats.md).

        ``output``, ``loss`` and ``grad_<P>`` are required; ``adjoint`` and ``states``
        are optional. ``loss`` may also be stored with shape ``(1,)``."""
        s = self.spec
        a = self.arrays
        shapes = {"output": (s["N"], s["d_out"]), "loss": ()}
        for p in self.params:
            shapes["grad_" + p] = a[p].shape
        traj = (s["L"] + 1, s["N"], s["D"])
        shapes["adjoint"] = traj
        shapes["states"] = traj
        return shapes

    def required_outputs(self):
        """Names a candidate must provide: ``output``, ``loss`` and ``grad_<P>``."""
        return ("output", "loss") + tuple("grad_" + p for p in self.params)

    def __repr__(self):
        s = self.get("spec", {})
        return "Problem(%r, family=%r, scheme=%r, L=%r, N=%r)" % (
            self.get("path"), s.get("family"), s.get("scheme"), s.get("L"), s.get("N"))


def as_problem(problem):
    """PROBLEM as a :class:`Problem`: one already, a dict with ``spec``, ``arrays`` and
    ``path`` (``resnet_numpy.load_problem``'s), or a directory to load."""
    if isinstance(problem, Problem):
        return problem
    if isinstance(problem, dict) and "spec" in problem and "arrays" in problem:
        return Problem(problem)
    return load_problem(problem)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _expected_shapes(spec, where):
    def size(key):
        v = spec.get(key)
        if not _is_int(v) or v < 1:
            raise ProblemError("%s: member %r must be an integer >= 1 (got %r)" % (where, key, v))
        return v

    N, din, dout, D, L = (size(k) for k in ("N", "d_in", "d_out", "D", "L"))
    size("m")
    shapes = {"X": (N, din), "Y": (N, dout), "A": (D, din), "B": (dout, D)}
    fam = spec["family"]
    if fam == "linear":
        shapes["W"] = (L, D, D)
    elif fam == "rff":
        q = size("q")
        shapes.update({"Omega": (q, D), "beta": (q,), "W": (L, D, q)})
    else:
        M = size("M")
        shapes.update({"a": (L, M, D), "u": (L, M, D), "b": (L, M)})
    return shapes


def _load_array(path, shape):
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ProblemError("%s: missing" % path) from None
    except (OSError, ValueError, EOFError) as e:
        raise ProblemError("%s: not a readable .npy file (%s)" % (path, e)) from None
    if not isinstance(arr, np.ndarray):
        raise ProblemError("%s: not a single .npy array" % path)
    if arr.dtype.str != "<f8":
        raise ProblemError("%s: dtype %s, expected '<f8' (little-endian float64)"
                           % (path, arr.dtype.str))
    if arr.shape != tuple(shape):
        raise ProblemError("%s: shape %s, expected %s" % (path, arr.shape, tuple(shape)))
    if arr.ndim > 1 and not arr.flags.c_contiguous:
        raise ProblemError("%s: Fortran order, expected C order" % path)
    if not np.all(np.isfinite(arr)):
        bad = np.unravel_index(int(np.argmin(np.isfinite(arr).ravel())), arr.shape)
        raise ProblemError("%s: non-finite value at index %s" % (path, tuple(int(i) for i in bad)))
    return arr


def load_problem(directory):
    """Read a problem directory written by ``nodeoracle gen`` (docs/formats.md).

    Returns a :class:`Problem`: ``prob.spec`` (problem.json as a dict), ``prob.arrays``
    (name -> float64 C-order array) and ``prob.path``.

    The validation is light: problem.json must be a JSON object of format
    ``nodeoracle-problem`` version 1 with the sizes and the family's members, and every
    array the family needs must be a finite little-endian float64 C-order ``.npy`` of the
    shape the sizes give. Everything else (the scheme's name, unknown members, the
    golden/ directory) is left to ``nodeoracle check``, which validates fully.

    Raises :class:`ProblemError` (a ``ValueError``) whose message names the file.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ProblemError("%s: not a directory (expected a problem directory from "
                           "nodeoracle gen)" % directory)
    where = os.path.join(directory, "problem.json")
    try:
        with open(where, "r", encoding="utf-8") as f:
            spec = json.load(f)
    except FileNotFoundError:
        raise ProblemError("%s: missing (is %s a problem directory?)" % (where, directory)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ProblemError("%s: cannot read (%s)" % (where, e)) from None
    except json.JSONDecodeError as e:
        raise ProblemError("%s: not valid JSON (%s)" % (where, e)) from None
    if not isinstance(spec, dict):
        raise ProblemError("%s: not a JSON object" % where)
    if spec.get("format") != "nodeoracle-problem" or spec.get("version") != 1:
        raise ProblemError("%s: not a nodeoracle-problem version 1 (format %r, version %r)"
                           % (where, spec.get("format"), spec.get("version")))
    for key in _SIZES + _STRINGS:
        if key not in spec:
            raise ProblemError("%s: missing member %r" % (where, key))
    for key in _STRINGS:
        if not isinstance(spec[key], str):
            raise ProblemError("%s: member %r must be a string" % (where, key))
    if spec["family"] not in PARAMS:
        raise ProblemError("%s: unknown family %r (known: %s)"
                           % (where, spec["family"], ", ".join(PARAMS)))
    shapes = _expected_shapes(spec, where)
    arrays = {name: _load_array(os.path.join(directory, name + ".npy"), shape)
              for name, shape in shapes.items()}
    return Problem(spec=spec, arrays=arrays, path=directory)
