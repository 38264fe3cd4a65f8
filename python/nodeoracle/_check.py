"""Running ``nodeoracle check --json`` and reading its report (docs/check.md)."""

import json
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping

from ._candidate import save_candidate
from ._problem import as_problem


class NodeOracleError(Exception):
    """``nodeoracle check`` could not judge: a usage or input error (exit status 2), a
    binary that is missing or crashed, a timeout, or output that is not a report.

    Attributes: ``message`` (check's own message when it gave one), ``status`` (the
    exit status; None when it did not run or did not exit), ``stderr``, ``command``
    (the argument list) and ``report`` (the parsed JSON error object, if any)."""

    def __init__(self, message, status=None, stderr="", command=None, report=None):
        super().__init__(message, status)
        self.message = message
        self.status = status
        self.stderr = stderr
        self.command = command
        self.report = report

    def __str__(self):
        if self.status is None:
            return self.message
        return "nodeoracle check exited with status %s: %s" % (self.status, self.message)


def _repo_binary():
    """build/nodeoracle of the checkout this package is imported from, if any."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.isfile(os.path.join(repo, "oracle", "main.c")):
        cand = os.path.join(repo, "build", "nodeoracle")
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def find_binary(binary=None):
    """The nodeoracle executable to run: BINARY if given, else ``$NODEORACLE``, else
    ``nodeoracle`` on ``PATH``, else ``build/nodeoracle`` of the repository when this
    package is imported from a checkout (``python/nodeoracle``). A BINARY or
    ``$NODEORACLE`` that is not an executable file is an error, not skipped.
    Raises :class:`NodeOracleError` when none is found."""
    for value, origin in ((binary, "binary"), (os.environ.get("NODEORACLE") or None,
                                               "$NODEORACLE")):
        if value is None:
            continue
        value = os.fspath(value)
        found = shutil.which(value) if os.sep not in value else value
        if found and os.path.isfile(found) and os.access(found, os.X_OK):
            return os.path.abspath(found)
        raise NodeOracleError("%s=%s: not an executable file" % (origin, value))
    found = shutil.which("nodeoracle") or _repo_binary()
    if found:
        return os.path.abspath(found)
    raise NodeOracleError("nodeoracle binary not found: pass binary=, set $NODEORACLE, put "
                          "nodeoracle on PATH, or build it in the checkout (make)")


def _flags(opts):
    args = []
    for key, value in opts.items():
        if key in ("problem", "candidate", "json"):
            raise TypeError("check(): %r is not an option (it is always passed)" % key)
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        else:
            args += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return args


def _error_message(obj, stderr, status):
    if isinstance(obj, Mapping):
        err = obj.get("error", obj.get("message"))
        if isinstance(err, Mapping):
            err = err.get("message", json.dumps(err))
        if isinstance(err, str) and err:
            return err
    lines = [ln for ln in (stderr or "").splitlines() if ln.strip()]
    own = [ln for ln in lines if ln.startswith("nodeoracle:")]
    if own or lines:
        return "\n".join(own or lines)
    if status is not None and status < 0:
        return "killed by signal %d" % -status
    return "no message"


def _run(binary, problem_dir, candidate_dir, opts, timeout):
    cmd = [find_binary(binary), "check", "--problem", problem_dir, "--candidate",
           candidate_dir, "--json"] + _flags(opts)
    env = dict(os.environ)
    env.setdefault("NODEORACLE_PROGRESS", "0")
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, timeout=timeout,
                              universal_newlines=True, errors="replace")
    except subprocess.TimeoutExpired as e:
        raise NodeOracleError("timed out after %s s" % timeout, None,
                              (e.stderr or b"").decode("utf-8", "replace")
                              if isinstance(e.stderr, bytes) else (e.stderr or ""),
                              cmd) from None
    except OSError as e:
        raise NodeOracleError("cannot run %s: %s" % (cmd[0], e), None, "", cmd) from None
    try:
        obj = json.loads(proc.stdout)
    except ValueError:
        obj = None
    rc = proc.returncode
    if (rc in (0, 1, 3) and isinstance(obj, dict) and "verdict" in obj
            and "error" not in obj):
        return obj
    if rc in (0, 1, 3):
        msg = "exit status %d without a JSON report on stdout (%s)" % (
            rc, _error_message(None, proc.stderr, rc))
    else:
        msg = _error_message(obj, proc.stderr, rc)
    raise NodeOracleError(msg, rc, proc.stderr, cmd, obj if isinstance(obj, dict) else None)


def check(problem, candidate, binary=None, timeout=None, **opts):
    """Run ``nodeoracle check --problem P --candidate C --json`` and return its report.

    problem:   a problem directory, or a :class:`Problem` from :func:`load_problem` (or
               a dict with its ``path``, ``spec`` and ``arrays``).
    candidate: a candidate directory, or a mapping of outputs (as for
               :func:`save_candidate`), which is saved into a temporary directory first;
               then the options ``precision`` and ``grid`` (an array or a ``.npy`` path)
               are declared in its candidate.json instead of passed as flags.
    binary:    the nodeoracle executable (default: :func:`find_binary`).
    timeout:   seconds before the run is abandoned (NodeOracleError).
    opts:      check's flags, ``_`` for ``-``: ``precision="float32"``, ``grid=PATH``,
               ``scheme="rk4"``, ``prec=256``, ``max_prec=1024``, ``max_memory=...``,
               ``on_the_fly=True``, ``golden=True``, ``quiet=True``. True passes the bare
               flag; None and False leave it out; any other value is its argument.

    Returns the JSON report as a dict (docs/check.md: ``verdict`` ``"pass"``,
    ``"fail"`` or ``"unverifiable"``, ``exit_status`` 0, 1 or 3, ``arrays``,
    ``diagnosis``, ...). A failing or unverifiable candidate is a report, not an
    exception: look at ``report["verdict"]`` (:func:`nodeoracle.testing.
    assert_matches_reference` turns anything but a pass into an AssertionError).

    Raises :class:`NodeOracleError` when check reports an input or usage error (exit
    status 2: its message, taken from the JSON error object on stdout when there is one,
    else from stderr), or cannot be run.
    """
    if isinstance(problem, Mapping):
        problem_dir = os.fspath(problem["path"])
    else:
        problem_dir = os.fspath(problem)
    if not isinstance(candidate, Mapping):
        return _run(binary, problem_dir, os.fspath(candidate), opts, timeout)
    save_opts = {k: opts.pop(k) for k in ("precision", "grid") if k in opts}
    prob = as_problem(problem)
    with tempfile.TemporaryDirectory(prefix="nodeoracle-candidate-") as tmp:
        cand = os.path.join(tmp, "candidate")
        save_candidate(cand, candidate, problem=prob, **save_opts)
        return _run(binary, problem_dir, cand, opts, timeout)


def _num(x, fmt="%.3e"):
    if x is None:
        return "nan"
    if isinstance(x, float) and not math.isfinite(x):
        return "nan"
    return fmt % x


_ROW_WORDS = {"fail": "FAIL", "fail_nonfinite": "FAIL(nan/inf)", "fail_missing": "FAIL(missing)",
              "ref_too_weak": "ref too weak"}
_HEAD = {"pass": "pass", "fail": "FAIL",
         "unverifiable": "UNVERIFIABLE (the problem cannot be judged in this precision; "
                         "never a pass)",
         "ref_too_weak": "REF TOO WEAK (the reference did not reach the bits needed, up to "
                         "the cap; never a pass)"}


def format_report(report):
    """The report of :func:`check` as text: a verdict line, one row per array (max and
    RMS relative error, ulps, certified reference bits, tolerance, verdict), the first
    non-finite value of an array, and the diagnosis with every hypothesis's match
    (docs/check.md, "JSON report")."""
    r = report
    verdict = str(r.get("verdict", "?"))
    lines = ["nodeoracle check: %s (exit status %s)" % (_HEAD.get(verdict, verdict),
                                                        r.get("exit_status"))]
    desc, prob = r.get("description"), r.get("problem")
    lines.append("  problem: %s" % (desc if desc else prob))
    if desc and prob:
        lines.append("  problem directory: %s" % prob)
    lines.append("  precision %s, reference %s at %s bits%s" % (
        r.get("precision"), r.get("reference"), r.get("reference_bits"),
        ", grid %s" % r["grid"] if r.get("grid") else ""))
    if r.get("raise_note"):
        lines.append("  note: %s" % r["raise_note"])
    rows = r.get("arrays") or []
    lines.append("  %-12s %10s %10s %9s %8s %9s  %s"
                 % ("array", "max rel", "rms rel", "max ulps", "ref bits", "tol", "verdict"))
    for a in rows:
        v = a.get("verdict")
        lines.append("  %-12s %10s %10s %9s %8s %9s  %s" % (
            a.get("name"), _num(a.get("max_rel")), _num(a.get("rms_rel")),
            _num(a.get("max_ulps"), "%.3g"), _num(a.get("ref_bits"), "%.1f"),
            _num(a.get("tol"), "%.2e"), _ROW_WORDS.get(v, v)))
    for a in rows:
        nf = a.get("first_nonfinite")
        if nf:
            lines.append("  first non-finite value in the %s: %s = %s"
                         % (nf.get("in"), nf.get("where"), nf.get("value")))
    unjudged = [str(a.get("name")) for a in rows
                if a.get("verdict") in ("unverifiable", "ref_too_weak", "ref too weak")]
    if unjudged:
        lines.append("  not judged: %s (a tolerance above %s, or a reference short of the bits "
                     "it needs: docs/check.md)" % (", ".join(unjudged),
                                                   r.get("meaningful_tol_max")))
    d = r.get("diagnosis")
    if d:
        cause = d.get("cause")
        if d.get("variant"):
            cause = "%s[%s]" % (cause, d["variant"])
        if d.get("found", True) and cause != "unknown":
            lines.append("diagnosis: %s (the candidate matches it to %s; the contract only to "
                         "%s)" % (cause, _num(d.get("match")), _num(d.get("contract_match"))))
        else:
            lines.append("diagnosis: no known cause (the contract matches to %s)"
                         % _num(d.get("contract_match")))
        if d.get("detail"):
            lines.append("  " + str(d["detail"]))
        if d.get("nearest") and not d.get("found", True):
            lines.append("  nearest hypothesis: %s at %s" % (d["nearest"],
                                                             _num(d.get("nearest_match"))))
        hyp = ["%s%s=%s" % (h.get("cause"), "[%s]" % h["variant"] if h.get("variant") else "",
                            _num(h.get("match"), "%.2e")) for h in d.get("hypotheses") or []]
        if hyp:
            lines.append("  hypotheses run: " + " ".join(hyp))
    return "\n".join(lines)
