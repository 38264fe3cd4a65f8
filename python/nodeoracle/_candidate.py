"""Writing a candidate directory (docs/formats.md, "A candidate's outputs"), atomically."""

import ctypes
import errno
import json
import os
import re
import secrets
import stat
import warnings
from collections.abc import Mapping

import numpy as np

#: The file save_candidate writes last into every candidate directory: the names of
#: the files it wrote there, one a line after the header line. ``nodeoracle check``
#: ignores it; save_candidate replaces a non-empty directory only when every entry in
#: it is listed here.
MANIFEST = ".nodeoracle-candidate"
_HEADER = "nodeoracle-candidate 1"

_DTYPES = {"float64": np.dtype("<f8"), "float32": np.dtype("<f4"),
           "bfloat16": np.dtype("<f4")}  # bfloat16 values are stored as float32
_NAME = re.compile(r"^(output|loss|adjoint|states|grad_[A-Za-z][A-Za-z0-9_]*)$")


class CandidateError(ValueError):
    """save_candidate refused its arguments or the destination; nothing was written."""


def _flatten(outputs):
    """name -> array, with a nested ``{"grad": {P: array}}`` (as resnet_numpy.run
    returns it) spelled ``grad_P``."""
    if not isinstance(outputs, Mapping):
        raise CandidateError("outputs must be a mapping of array names to arrays, not %s"
                             % type(outputs).__name__)
    flat = {}
    for key, value in outputs.items():
        if key == "grad" and isinstance(value, Mapping):
            items = [("grad_%s" % p, g) for p, g in value.items()]
        else:
            items = [(key, value)]
        for name, arr in items:
            if not isinstance(name, str) or not _NAME.match(name):
                raise CandidateError(
                    "unknown output %r: a candidate holds output, loss, grad_<P> (one per "
                    "parameter array), adjoint and states (docs/formats.md)" % (name,))
            if name in flat:
                raise CandidateError("output %r given twice" % name)
            flat[name] = arr
    return flat


def _convert(name, value, dtype, shapes):
    a = np.asarray(value)
    if a.dtype.kind not in "fiu":
        raise CandidateError("%s: dtype %s is not a real number type" % (name, a.dtype))
    a = np.array(a, dtype=dtype, order="C")
    if name == "loss":
        if a.shape not in ((), (1,)):
            raise CandidateError("loss: shape %s, expected () or (1,)" % (a.shape,))
    elif shapes is not None and a.shape != tuple(shapes[name]):
        raise CandidateError("%s: shape %s, expected %s for this problem"
                             % (name, a.shape, tuple(shapes[name])))
    return a


def _write_file(path, write):
    with open(path, "xb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_manifest(directory):
    """The names listed in DIRECTORY/.nodeoracle-candidate, or None when there is none."""
    path = os.path.join(directory, MANIFEST)
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, "r", encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or lines[0] != _HEADER:
        return None
    return {n for n in lines[1:] if n and "/" not in n and n not in (".", "..")}


def _refusal(path, why):
    return CandidateError(
        "%s: %s; save_candidate replaces only a directory it wrote itself "
        "(listed in its %s): move it away or choose another directory" % (path, why, MANIFEST))


def _check_replaceable(dest):
    """None if DEST is absent or an empty directory, else the entries of a directory
    save_candidate wrote. Raises CandidateError for anything else."""
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise _refusal(dest, "exists and is not a directory")
    entries = sorted(os.listdir(dest))
    if not entries:
        return None
    listed = _read_manifest(dest)
    if listed is None:
        raise _refusal(dest, "not empty and not written by save_candidate (no %s)" % MANIFEST)
    for e in entries:
        if e == MANIFEST:
            continue
        full = os.path.join(dest, e)
        if e not in listed:
            raise _refusal(full, "not written by save_candidate (not in its %s)" % MANIFEST)
        if not stat.S_ISREG(os.lstat(full).st_mode):
            raise _refusal(full, "not a regular file")
    return entries


def _remove_written(directory):
    """Remove DIRECTORY, a tree save_candidate wrote: only the regular files its
    manifest lists (and the manifest), then the directory if that left it empty."""
    listed = _read_manifest(directory) or set()
    for e in os.listdir(directory):
        full = os.path.join(directory, e)
        if e != MANIFEST and e in listed and stat.S_ISREG(os.lstat(full).st_mode):
            os.unlink(full)
    try:
        os.unlink(os.path.join(directory, MANIFEST))
    except FileNotFoundError:
        pass
    try:
        os.rmdir(directory)
    except OSError as e:
        warnings.warn("save_candidate: kept %s: it holds files save_candidate did not write (%s)"
                      % (directory, e.strerror))


_renameat2 = None


def _exchange(a, b):
    """Swap the directories A and B in one step (Linux renameat2 RENAME_EXCHANGE).
    False where the system or file system cannot."""
    global _renameat2
    if _renameat2 is None:
        try:
            f = ctypes.CDLL(None, use_errno=True).renameat2
            f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
            f.restype = ctypes.c_int
            _renameat2 = f
        except (AttributeError, OSError):
            _renameat2 = False
    if not _renameat2:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if _renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), b)


def _temp_name(parent, base, what):
    return os.path.join(parent, ".%s.%s.%s" % (base, what, secrets.token_hex(3)))


def _publish(tmp, dest):
    """Put the finished tree TMP at DEST, replacing an empty directory or one that
    save_candidate wrote. Returns where the replaced tree now is (None if none)."""
    for _ in range(3):
        if _check_replaceable(dest) is None:
            try:
                os.rename(tmp, dest)  # new name, or over an empty directory
                return None
            except OSError as e:
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                continue  # filled meanwhile: look again
        if _exchange(tmp, dest):
            old = tmp
        else:
            # no atomic swap here: two renames (DEST is missing between them)
            old = _temp_name(os.path.dirname(dest), os.path.basename(dest), "old")
            os.rename(dest, old)
            try:
                os.rename(tmp, dest)
            except OSError:
                os.rename(old, dest)
                raise
        return old
    raise CandidateError("%s: keeps changing while save_candidate writes it" % dest)


def save_candidate(directory, outputs, precision=None, grid=None, problem=None, scheme=None):
    """Write a candidate directory for ``nodeoracle check`` (docs/formats.md).

    outputs:   mapping of array names to arrays: ``output`` (N x d_out), ``loss`` (a
               scalar), ``grad_<P>`` for every parameter array (required); ``adjoint``
               and ``states`` ((L+1) x N x D, optional). A nested ``{"grad": {P: g}}``
               is accepted for the gradients, so the dict that
               ``resnet_numpy.run(prob)`` returns can be passed as it is. Any other
               name is refused.
    precision: None (stored as ``<f8``, nothing declared: judged as float64),
               ``"float64"``, ``"float32"`` or ``"bfloat16"`` (stored as ``<f4``).
               Declared in candidate.json; the tolerance follows it.
    grid:      the step grid your solver used (1-D times ``0 = t_0 < ... < t_G = 1``):
               saved as grid.npy and declared, so check replays exactly those steps.
    problem:   a :class:`Problem` (or a problem directory, or a dict with ``spec`` and
               ``arrays``): when given, every required array must be there and every
               shape must be the problem's.
    scheme:    the scheme your solver used, when it is not the problem's (declared in
               candidate.json, e.g. ``"rk4"``).

    Arrays are written C order, little-endian (``<f8``, or ``<f4`` for float32 and
    bfloat16), ``.npy`` version 1.0, after conversion (float64 values are rounded to
    float32 when float32 is declared; integers are converted).

    Atomic: everything is written into a temporary sibling directory
    ``.<name>.tmp.XXXXXX``, which then takes the place of DIRECTORY in one rename (an
    earlier candidate is swapped out in one step with renameat2 where Linux offers it).
    A reader sees the old candidate or the new one, never a mix, and an error leaves
    nothing behind. DIRECTORY may be absent (its missing parents are created), an empty
    directory, or a directory an earlier save_candidate wrote: it lists its files in
    ``.nodeoracle-candidate``, and a directory holding anything else (a file of yours,
    a subdirectory) is refused with :class:`CandidateError` before anything is written.
    save_candidate never deletes a file it did not write. Returns DIRECTORY.
    """
    from ._problem import as_problem

    if problem is not None:
        problem = as_problem(problem)
    if precision is not None and precision not in _DTYPES:
        raise CandidateError("precision %r: expected float64, float32 or bfloat16" % (precision,))
    dtype = _DTYPES[precision or "float64"]
    flat = _flatten(outputs)
    shapes = problem.output_shapes() if problem is not None else None
    required = problem.required_outputs() if problem is not None else ("output", "loss")
    missing = [n for n in required if n not in flat]
    if missing:
        raise CandidateError("missing %s: a candidate must provide output, loss and the "
                             "gradient of every parameter array" % ", ".join(missing))
    if problem is None and not any(n.startswith("grad_") for n in flat):
        raise CandidateError("no gradient: a candidate must provide grad_<P> for every "
                             "parameter array")
    if shapes is not None:
        extra = [n for n in flat if n not in shapes]
        if extra:
            raise CandidateError("%s: not a parameter of this %s problem (its gradients: %s)"
                                 % (", ".join(extra), problem.family,
                                    ", ".join("grad_" + p for p in problem.params)))
    arrays = {n: _convert(n, v, dtype, shapes) for n, v in flat.items()}
    meta = {}
    if precision is not None:
        meta["precision"] = precision
    if grid is not None:
        if isinstance(grid, (str, bytes, os.PathLike)):
            grid = np.load(grid, allow_pickle=False)
        g = np.asarray(grid)
        if g.dtype.kind not in "fiu" or g.ndim != 1 or g.size < 2 or not np.all(np.isfinite(g)):
            raise CandidateError("grid: expected a 1-D array of finite times 0 = t_0 < ... < "
                                 "t_G = 1")
        arrays["grid"] = np.array(g, dtype="<f8", order="C")
        meta["grid"] = "grid.npy"
    if scheme is not None:
        meta["scheme"] = str(scheme)

    dest = os.path.abspath(os.fspath(directory))
    parent, base = os.path.split(dest)
    if not base:
        raise CandidateError("%s: not a directory name" % directory)
    _check_replaceable(dest)  # refuse early, before anything is created

    made = []  # parents created here, removed again (rmdir only) if the save fails
    missing_parents = []
    p = parent
    while not os.path.isdir(p):
        missing_parents.append(p)
        p = os.path.dirname(p)
    tmp, written = None, []
    try:
        for p in reversed(missing_parents):
            try:
                os.mkdir(p)
                made.append(p)
            except FileExistsError:
                pass
        while tmp is None:
            try:
                cand = _temp_name(parent, base, "tmp")
                os.mkdir(cand)
                tmp = cand
            except FileExistsError:
                pass
        files = [(n + ".npy", lambda f, a=a: np.lib.format.write_array(
            f, a, version=(1, 0), allow_pickle=False)) for n, a in arrays.items()]
        if meta:
            data = (json.dumps(meta, indent=1) + "\n").encode("utf-8")
            files.append(("candidate.json", lambda f: f.write(data)))
        listing = "\n".join([_HEADER] + sorted(n for n, _ in files)) + "\n"
        files.append((MANIFEST, lambda f: f.write(listing.encode("utf-8"))))  # last
        for name, write in files:
            written.append(name)
            _write_file(os.path.join(tmp, name), write)
        _fsync_dir(tmp)
        old = _publish(tmp, dest)
        tmp = None
    except BaseException:
        if tmp is not None:  # still our temporary: remove what we wrote in it
            for name in written:
                try:
                    os.unlink(os.path.join(tmp, name))
                except OSError:
                    pass
            try:
                os.rmdir(tmp)
            except OSError:
                pass
        for p in reversed(made):
            try:
                os.rmdir(p)
            except OSError:
                break
        raise
    _fsync_dir(parent)
    if old is not None:
        _remove_written(old)
    return os.fspath(directory)
