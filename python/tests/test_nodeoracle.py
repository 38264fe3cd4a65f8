"""Tests of the nodeoracle Python package (python/README.md).

Problems come from ``nodeoracle gen --suite smoke`` (the binary: $NODEORACLE, else
``nodeoracle`` on PATH, else the checkout's build/nodeoracle); candidates from the NumPy
reference implementation examples/numpy/resnet_numpy.py ($NODEORACLE_EXAMPLES_NUMPY, else
the checkout's), used only through its documented ``run(prob, mutant=, dtype=)``, on
problems loaded by ``nodeoracle.load_problem``. A stand-in binary (a small script) plays
check's error cases: the JSON error object and the plain stderr of exit status 2, an
unverifiable report (exit 3), output that is not a report.

Run: python3 -m pytest -p no:cacheprovider python/tests (tests/test_python.c does, in a
fresh venv with the package installed offline).
"""

import ctypes
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

import nodeoracle
from nodeoracle.testing import assert_matches_reference

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


# ---- fixtures ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def binary():
    try:
        return nodeoracle.find_binary()
    except nodeoracle.NodeOracleError as e:
        pytest.skip("no nodeoracle binary (%s)" % e)


@pytest.fixture(scope="session")
def problems(binary, tmp_path_factory):
    """family -> problem directory of the smoke suite."""
    out = tmp_path_factory.mktemp("problems") / "smoke"
    subprocess.run([binary, "gen", "--suite", "smoke", "--out", str(out)], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, NODEORACLE_PROGRESS="0"))
    dirs = {}
    for name in sorted(os.listdir(out)):
        fam = name.split("-")[1]
        dirs.setdefault(fam, str(out / name))
    assert set(dirs) == {"linear", "rff", "mlp"}, dirs
    return dirs


@pytest.fixture(scope="session")
def rn():
    """examples/numpy/resnet_numpy.py, imported by path."""
    d = os.environ.get("NODEORACLE_EXAMPLES_NUMPY") or os.path.join(REPO, "examples", "numpy")
    path = os.path.join(d, "resnet_numpy.py")
    if not os.path.isfile(path):
        pytest.skip("%s not found (set NODEORACLE_EXAMPLES_NUMPY)" % path)
    spec = importlib.util.spec_from_file_location("resnet_numpy_under_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def linear(problems):
    return nodeoracle.load_problem(problems["linear"])


@pytest.fixture
def fake(tmp_path):
    """A stand-in for the binary: fake(stdout, stderr, status) -> its path. It records
    its arguments (one a line) in fake.args."""
    args_file = tmp_path / "fake.args"

    def make(out="", err="", status=0):
        script = tmp_path / "fake-nodeoracle"
        script.write_text(
            "#!%s\nimport sys\nopen(%r, 'w').write('\\n'.join(sys.argv[1:]))\n"
            "sys.stdout.write(%r)\nsys.stderr.write(%r)\nsys.exit(%d)\n"
            % (sys.executable, str(args_file), out, err, status))
        script.chmod(0o755)
        return str(script)

    make.args = lambda: args_file.read_text().split("\n")
    return make


def pass_report(**over):
    r = {"schema": "nodeoracle-report/1", "kind": "check", "command": "check",
         "verdict": "pass", "exit_status": 0, "problem": "p", "description": "linear ...",
         "precision": "float64", "reference_bits": 192, "reference": "golden", "grid": None,
         "raise_note": None, "meaningful_tol_max": 2.0 ** -10,
         "arrays": [{"name": "loss", "max_rel": 0.0, "rms_rel": 0.0, "max_ulps": 0.0,
                     "ref_bits": 192.0, "ref_min_bits": 192.0, "tol": 1e-13,
                     "verdict": "pass", "first_nonfinite": None}],
         "diagnosis": None}
    r.update(over)
    return json.dumps(r)


def npy_header(path):
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        assert version == (1, 0)
        return np.lib.format.read_array_header_1_0(f)  # (shape, fortran_order, dtype)


def siblings(path):
    return sorted(os.listdir(os.path.dirname(os.fspath(path))))


def test_imported_from_the_expected_place():
    """tests/test_python.c runs this file in a venv: the installed copy must be used."""
    prefix = os.environ.get("NODEORACLE_PY_EXPECT_PREFIX")
    if prefix:
        assert os.path.abspath(nodeoracle.__file__).startswith(prefix), nodeoracle.__file__


# ---- load_problem --------------------------------------------------------------------

def test_load_problem_every_family(problems):
    for fam, d in problems.items():
        prob = nodeoracle.load_problem(d)
        assert prob.family == fam and prob.path == d and prob["spec"] is prob.spec
        s = prob.spec
        assert prob.X.shape == (s["N"], s["d_in"]) and prob.Y.shape == (s["N"], s["d_out"])
        for name, a in prob.arrays.items():
            assert a.dtype == np.float64 and a.flags.c_contiguous, name
        assert prob.params == nodeoracle.PARAMS[fam]
        shapes = prob.output_shapes()
        assert shapes["output"] == (s["N"], s["d_out"]) and shapes["loss"] == ()
        assert shapes["states"] == (s["L"] + 1, s["N"], s["D"])
        for p in prob.params:
            assert shapes["grad_" + p] == prob.arrays[p].shape
        assert prob.required_outputs() == ("output", "loss") + tuple("grad_" + p
                                                                     for p in prob.params)


def _broken_copy(problems, tmp_path, fam="linear"):
    d = tmp_path / "broken"
    shutil.copytree(problems[fam], d)
    return d


def _spec_edit(d, **edit):
    spec = json.loads((d / "problem.json").read_text())
    for k, v in edit.items():
        if v is None:
            del spec[k]
        else:
            spec[k] = v
    (d / "problem.json").write_text(json.dumps(spec))


@pytest.mark.parametrize("case, file, words", [
    ("no problem.json", "problem.json", "missing"),
    ("not JSON", "problem.json", "not valid JSON"),
    ("a JSON list", "problem.json", "not a JSON object"),
    ("wrong format", "problem.json", "nodeoracle-problem version 1"),
    ("missing member", "problem.json", "missing member 'L'"),
    ("zero size", "problem.json", "'N' must be an integer >= 1"),
    ("unknown family", "problem.json", "unknown family 'conv'"),
    ("missing array", "W.npy", "missing"),
    ("wrong shape", "W.npy", "shape (8, 4, 3), expected (8, 4, 4)"),
    ("float32 array", "A.npy", "dtype <f4, expected '<f8'"),
    ("big-endian array", "A.npy", "dtype >f8"),
    ("Fortran order", "A.npy", "Fortran order"),
    ("NaN", "X.npy", "non-finite value at index (1, 0)"),
    ("object array", "B.npy", "not a readable .npy"),
    ("truncated array", "Y.npy", "not a readable .npy"),
])
def test_load_problem_errors_name_the_file(problems, tmp_path, case, file, words):
    d = _broken_copy(problems, tmp_path)
    prob = nodeoracle.load_problem(d)
    A = prob.A
    if case == "no problem.json":
        (d / "problem.json").unlink()
    elif case == "not JSON":
        (d / "problem.json").write_text("{\"format\": ")
    elif case == "a JSON list":
        (d / "problem.json").write_text("[1, 2]")
    elif case == "wrong format":
        _spec_edit(d, version=2)
    elif case == "missing member":
        _spec_edit(d, L=None)
    elif case == "zero size":
        _spec_edit(d, N=0)
    elif case == "unknown family":
        _spec_edit(d, family="conv")
    elif case == "missing array":
        (d / "W.npy").unlink()
    elif case == "wrong shape":
        np.save(d / "W.npy", prob.W[:, :, :3].copy())
    elif case == "float32 array":
        np.save(d / "A.npy", A.astype(np.float32))
    elif case == "big-endian array":
        np.save(d / "A.npy", A.astype(">f8"))
    elif case == "Fortran order":
        np.save(d / "A.npy", np.asfortranarray(A))
    elif case == "NaN":
        X = prob.X.copy()
        X[1, 0] = np.nan
        np.save(d / "X.npy", X)
    elif case == "object array":
        np.save(d / "B.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    elif case == "truncated array":
        data = (d / "Y.npy").read_bytes()
        (d / "Y.npy").write_bytes(data[:-8])
    with pytest.raises(nodeoracle.ProblemError) as e:
        nodeoracle.load_problem(d)
    msg = str(e.value)
    assert str(d / file) in msg and words in msg, msg


def test_load_problem_not_a_directory(tmp_path):
    with pytest.raises(nodeoracle.ProblemError, match="not a directory"):
        nodeoracle.load_problem(tmp_path / "nowhere")


# ---- a correct candidate, a mutant, an unverifiable one -------------------------------

@pytest.mark.parametrize("fam", ["linear", "rff", "mlp"])
def test_correct_candidate_passes(problems, rn, tmp_path, fam):
    prob = nodeoracle.load_problem(problems[fam])
    res = rn.run(prob)
    cand = tmp_path / "cand"
    assert nodeoracle.save_candidate(cand, res, problem=prob) == str(cand)
    report = nodeoracle.check(prob, cand)
    assert report["verdict"] == "pass" and report["exit_status"] == 0
    names = {a["name"] for a in report["arrays"]}
    assert names == set(prob.output_shapes()), names  # every array saved was judged
    assert_matches_reference(prob, cand)
    assert_matches_reference(problems[fam], res)  # a mapping, through a temporary dir
    assert_matches_reference(dict(prob), res)  # a plain dict problem, as resnet_numpy's


def test_float32_declared_passes(linear, rn, tmp_path):
    res = rn.run(linear, dtype=np.float32)
    cand = tmp_path / "c32"
    nodeoracle.save_candidate(cand, res, precision="float32", problem=linear)
    assert json.loads((cand / "candidate.json").read_text()) == {"precision": "float32"}
    shape, fortran, dtype = npy_header(cand / "grad_W.npy")
    assert dtype.str == "<f4" and not fortran
    report = assert_matches_reference(linear, cand)
    assert report["precision"] == "float32"


def test_float32_undeclared_fails_as_low_precision(linear, rn):
    with pytest.raises(AssertionError) as e:
        assert_matches_reference(linear, rn.run(linear, dtype=np.float32))
    assert "diagnosis: low_precision[float32]" in str(e.value), str(e.value)


def test_mutant_fails_with_the_diagnosis(problems, rn, tmp_path):
    for fam in ("linear", "mlp"):
        prob = nodeoracle.load_problem(problems[fam])
        cand = tmp_path / fam
        nodeoracle.save_candidate(cand, rn.run(prob, mutant="sign_flip"), problem=prob)
        report = nodeoracle.check(prob, cand)
        assert report["verdict"] == "fail" and report["exit_status"] == 1
        assert report["diagnosis"]["cause"] == "sign_flip"
        with pytest.raises(AssertionError) as e:
            assert_matches_reference(prob, cand)
        msg = str(e.value)
        assert "nodeoracle check: FAIL" in msg
        assert "diagnosis: sign_flip (the candidate matches it to" in msg, msg
        assert "grad_" in msg and "FAIL" in msg.split("grad_")[1].split("\n")[0], msg
        assert "candidate: %s" % cand in msg


def test_unverifiable_is_never_a_pass(linear, rn):
    # a float32 candidate declared bfloat16: check cannot judge this problem in bfloat16
    res = rn.run(linear, dtype=np.float32)
    report = nodeoracle.check(linear, res, precision="bfloat16")
    assert report["verdict"] == "unverifiable" and report["exit_status"] == 3
    with pytest.raises(AssertionError) as e:
        assert_matches_reference(linear, res, precision="bfloat16")
    assert "UNVERIFIABLE" in str(e.value) and "never a pass" in str(e.value)
    assert "not judged: " in str(e.value)


def test_check_options_reach_the_command_line(linear, rn, tmp_path):
    cand = tmp_path / "c"
    nodeoracle.save_candidate(cand, rn.run(linear), problem=linear)
    report = nodeoracle.check(linear, cand, on_the_fly=True, prec=160, max_prec=320,
                              quiet=True, golden=False, scheme=None)
    assert report["verdict"] == "pass" and report["reference"] == "on-the-fly"
    assert report["reference_bits_asked"] == 160


# ---- check: errors and the stand-in binary ------------------------------------------

def test_input_error_raises_with_checks_message(linear, tmp_path):
    with pytest.raises(nodeoracle.NodeOracleError) as e:
        nodeoracle.check(linear, tmp_path / "absent")
    assert e.value.status == 2
    assert "output.npy: missing" in e.value.message, e.value.message
    assert "exited with status 2" in str(e.value)
    if e.value.report is not None:  # the JSON error object (docs/check.md, "JSON report")
        assert e.value.report["error"]["message"] == e.value.message
    with pytest.raises(nodeoracle.NodeOracleError) as e:  # an input error is no assertion
        assert_matches_reference(linear, tmp_path / "absent")
    with pytest.raises(nodeoracle.NodeOracleError) as e:
        nodeoracle.check(linear, tmp_path / "absent", precision="float16")
    assert e.value.status == 2 and "--precision" in e.value.message


def test_flags_and_error_object(linear, fake, tmp_path):
    b = fake(out=pass_report())
    nodeoracle.check(linear, tmp_path, binary=b, precision="float32", max_prec=512,
                     quiet=True, on_the_fly=True, golden=False, grid=tmp_path / "g.npy")
    args = fake.args()
    assert args[:5] == ["check", "--problem", linear.path, "--candidate", str(tmp_path)]
    rest = " ".join(args[5:])
    for want in ("--json", "--precision float32", "--max-prec 512", "--quiet", "--on-the-fly",
                 "--grid %s" % (tmp_path / "g.npy")):
        assert want in rest, rest
    assert "--golden" not in rest
    with pytest.raises(TypeError):
        nodeoracle.check(linear, tmp_path, binary=b, json=True)

    # exit 2 with a JSON error object on stdout (and a line on stderr): the object wins
    b = fake(out=json.dumps({"schema": "nodeoracle-report/1", "kind": "error",
                             "command": "check",
                             "error": {"message": "grad_W.npy: shape (3,), expected (8, 4, 4)",
                                       "exit_status": 2}}),
             err="nodeoracle: other words\n", status=2)
    with pytest.raises(nodeoracle.NodeOracleError) as e:
        nodeoracle.check(linear, tmp_path, binary=b)
    assert e.value.status == 2 and e.value.message.startswith("grad_W.npy: shape (3,)")
    assert e.value.report["kind"] == "error"
    b = fake(out=json.dumps({"error": "bad flag"}), status=2)  # a plain string also does
    with pytest.raises(nodeoracle.NodeOracleError, match="bad flag"):
        nodeoracle.check(linear, tmp_path, binary=b)
    # exit 2, nothing on stdout: the stderr line
    b = fake(err="progress...\nnodeoracle: X.npy: missing\n", status=2)
    with pytest.raises(nodeoracle.NodeOracleError) as e:
        nodeoracle.check(linear, tmp_path, binary=b)
    assert e.value.message == "nodeoracle: X.npy: missing" and e.value.report is None
    # a status that carries no report
    b = fake(out="not json", status=0)
    with pytest.raises(nodeoracle.NodeOracleError, match="without a JSON report"):
        nodeoracle.check(linear, tmp_path, binary=b)
    b = fake(err="Segmentation fault\n", status=139)
    with pytest.raises(nodeoracle.NodeOracleError) as e:
        nodeoracle.check(linear, tmp_path, binary=b)
    assert e.value.status == 139


def test_helper_on_reports(linear, fake, tmp_path):
    assert_matches_reference(linear, tmp_path, binary=fake(out=pass_report()))
    # a "pass" whose status is not 0 is not a pass
    with pytest.raises(AssertionError):
        assert_matches_reference(linear, tmp_path, binary=fake(out=pass_report(exit_status=3),
                                                               status=3))
    weak = pass_report(verdict="ref_too_weak", exit_status=3, raise_note="stopped at 2048 bits",
                       arrays=[{"name": "grad_W", "max_rel": None, "rms_rel": None,
                                "max_ulps": None, "ref_bits": 40.0, "tol": None,
                                "verdict": "ref_too_weak", "first_nonfinite": None}])
    with pytest.raises(AssertionError) as e:
        assert_matches_reference(linear, tmp_path, binary=fake(out=weak, status=3))
    msg = str(e.value)
    assert "REF TOO WEAK" in msg and "stopped at 2048 bits" in msg and "ref too weak" in msg
    assert "not judged: grad_W" in msg
    nan = pass_report(verdict="fail", exit_status=1, arrays=[
        {"name": "loss", "max_rel": None, "rms_rel": None, "max_ulps": None, "ref_bits": 192.0,
         "tol": 1e-13, "verdict": "fail_nonfinite",
         "first_nonfinite": {"in": "candidate", "index": 0, "where": "loss[0]", "value": "nan"}}],
        diagnosis={"found": False, "cause": "unknown", "variant": None, "match": None,
                   "contract_match": None, "detail": "", "nearest": "missing_half",
                   "nearest_match": 0.5, "hypotheses": [{"cause": "missing_half",
                                                         "variant": None, "match": 0.5}]})
    with pytest.raises(AssertionError) as e:
        assert_matches_reference(linear, tmp_path, binary=fake(out=nan, status=1))
    msg = str(e.value)
    assert "FAIL(nan/inf)" in msg and "loss[0] = nan (in" not in msg
    assert "first non-finite value in the candidate: loss[0] = nan" in msg
    assert "diagnosis: no known cause" in msg and "nearest hypothesis: missing_half" in msg


def test_binary_lookup(monkeypatch, tmp_path, fake):
    with pytest.raises(nodeoracle.NodeOracleError, match="binary=.*not an executable"):
        nodeoracle.find_binary(tmp_path / "none")
    monkeypatch.setenv("NODEORACLE", str(tmp_path / "none"))
    with pytest.raises(nodeoracle.NodeOracleError, match=r"\$NODEORACLE=.*not an executable"):
        nodeoracle.find_binary()
    b = fake()
    monkeypatch.setenv("NODEORACLE", b)
    assert nodeoracle.find_binary() == b
    assert nodeoracle.find_binary(b) == b


# ---- save_candidate ------------------------------------------------------------------

def test_save_candidate_layout(linear, tmp_path):
    s = linear.spec
    rng = np.random.default_rng(1)
    outputs = {"output": np.asfortranarray(rng.standard_normal((s["N"], s["d_out"]))),
               "loss": 0.25,
               "grad": {"W": rng.standard_normal(linear.W.shape).astype(np.float32)},
               "states": rng.standard_normal((s["L"] + 1, s["N"], s["D"])).astype(">f8")}
    cand = tmp_path / "deep" / "er" / "cand"
    nodeoracle.save_candidate(cand, outputs, problem=linear)
    assert sorted(os.listdir(cand)) == [nodeoracle.MANIFEST, "grad_W.npy", "loss.npy",
                                        "output.npy", "states.npy"]
    assert (cand / nodeoracle.MANIFEST).read_text().split("\n") == [
        "nodeoracle-candidate 1", "grad_W.npy", "loss.npy", "output.npy", "states.npy", ""]
    for name in ("grad_W", "loss", "output", "states"):
        shape, fortran, dtype = npy_header(cand / (name + ".npy"))
        assert dtype.str == "<f8" and not fortran, name
    assert np.load(cand / "loss.npy").shape == ()
    np.testing.assert_array_equal(np.load(cand / "output.npy"), outputs["output"])
    np.testing.assert_array_equal(np.load(cand / "states.npy"), outputs["states"])
    assert siblings(cand) == ["cand"]  # no temporary left beside it


def test_save_candidate_bfloat16_and_grid(linear, tmp_path):
    s = linear.spec
    outputs = {"output": np.zeros((s["N"], s["d_out"])), "loss": np.array([1.0]),
               "grad_W": np.zeros(linear.W.shape)}
    grid = np.linspace(0, 1, 2 * s["L"] + 1)
    cand = tmp_path / "c"
    nodeoracle.save_candidate(cand, outputs, precision="bfloat16", grid=grid, scheme="rk4")
    assert json.loads((cand / "candidate.json").read_text()) == {
        "precision": "bfloat16", "grid": "grid.npy", "scheme": "rk4"}
    assert npy_header(cand / "output.npy")[2].str == "<f4"
    assert npy_header(cand / "grid.npy")[2].str == "<f8"
    assert np.load(cand / "loss.npy").shape == (1,)
    np.testing.assert_array_equal(np.load(cand / "grid.npy"), grid)


def _outputs(prob, value=0.0):
    s = prob.spec
    return {"output": np.full((s["N"], s["d_out"]), value), "loss": value,
            **{"grad_" + p: np.full(prob.arrays[p].shape, value) for p in prob.params}}


def test_save_candidate_replaces_its_own_directory(linear, tmp_path):
    cand = tmp_path / "c"
    nodeoracle.save_candidate(cand, _outputs(linear, 1.0), precision="float32",
                              grid=np.linspace(0, 1, 9))
    assert (cand / "grid.npy").exists()
    nodeoracle.save_candidate(cand, _outputs(linear, 2.0))
    # the earlier declaration and grid are gone with the earlier tree: no stale files
    assert sorted(os.listdir(cand)) == [nodeoracle.MANIFEST, "grad_W.npy", "loss.npy",
                                        "output.npy"]
    assert float(np.load(cand / "loss.npy")) == 2.0
    assert siblings(cand) == ["c"]
    (tmp_path / "empty").mkdir()  # an empty directory is taken too
    nodeoracle.save_candidate(tmp_path / "empty", _outputs(linear))
    assert (tmp_path / "empty" / "output.npy").exists()


def test_save_candidate_readers_always_see_a_whole_candidate(linear, tmp_path):
    cand = tmp_path / "c"
    nodeoracle.save_candidate(cand, _outputs(linear, 0.0))
    seen, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                names = set(os.listdir(cand))
            except FileNotFoundError:
                names = None
            seen.append(names)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(1, 30):
            nodeoracle.save_candidate(cand, _outputs(linear, float(i)))
    finally:
        stop.set()
        t.join()
    # renameat2(RENAME_EXCHANGE) swaps the trees: the name is never missing (where the
    # C library lacks it, two renames leave a moment without it)
    if hasattr(ctypes.CDLL(None), "renameat2"):
        assert None not in seen, "the directory went missing %d times" % seen.count(None)
    assert float(np.load(cand / "loss.npy")) == 29.0 and siblings(cand) == ["c"]


@pytest.mark.parametrize("case", ["foreign file", "added to own", "subdirectory",
                                  "no manifest", "a file", "a symlink"])
def test_save_candidate_refuses_what_it_did_not_write(linear, tmp_path, case):
    cand = tmp_path / "c"
    if case in ("added to own", "subdirectory"):
        nodeoracle.save_candidate(cand, _outputs(linear, 1.0))
    if case == "foreign file":
        cand.mkdir()
        (cand / "notes.txt").write_text("mine")
    elif case == "added to own":
        (cand / "notes.txt").write_text("mine")
    elif case == "subdirectory":
        (cand / "run1").mkdir()
        manifest = cand / nodeoracle.MANIFEST
        manifest.write_text(manifest.read_text() + "run1\n")  # refused even when listed
    elif case == "no manifest":
        cand.mkdir()
        (cand / "output.npy").write_bytes(b"x")
    elif case == "a file":
        cand.write_text("mine")
    elif case == "a symlink":
        (tmp_path / "target").mkdir()
        cand.symlink_to(tmp_path / "target")
    before = {p: (p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*")}
    with pytest.raises(nodeoracle.CandidateError) as e:
        nodeoracle.save_candidate(cand, _outputs(linear, 2.0))
    assert str(cand) in str(e.value) and "save_candidate" in str(e.value), str(e.value)
    after = {p: (p.read_bytes() if p.is_file() else None) for p in tmp_path.rglob("*")}
    assert after == before  # nothing written, nothing removed


def test_save_candidate_failure_leaves_nothing(linear, tmp_path, monkeypatch):
    calls = []
    real = np.lib.format.write_array

    def failing(f, a, *args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(28, "No space left on device (simulated)")
        return real(f, a, *args, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises(OSError, match="simulated"):
        nodeoracle.save_candidate(tmp_path / "new" / "c", _outputs(linear))
    assert os.listdir(tmp_path) == []  # neither the temporary nor the parent it made
    nodeoracle.save_candidate(tmp_path / "old", _outputs(linear, 1.0))
    calls.clear()
    with pytest.raises(OSError, match="simulated"):
        nodeoracle.save_candidate(tmp_path / "old", _outputs(linear, 2.0))
    assert os.listdir(tmp_path) == ["old"]
    assert float(np.load(tmp_path / "old" / "loss.npy")) == 1.0  # the earlier one, whole


@pytest.mark.parametrize("edit, words", [
    (lambda o: o.pop("grad_W"), "missing grad_W"),
    (lambda o: o.update(grad_a=o["grad_W"]), "grad_a: not a parameter of this linear problem"),
    (lambda o: o.update(outputs=o["output"]), "unknown output 'outputs'"),
    (lambda o: o.update(output=o["output"].T), "output: shape (3, 12), expected (12, 3)"),
    (lambda o: o.update(loss=np.zeros(2)), "loss: shape (2,)"),
    (lambda o: o.update(output=o["output"].astype(complex)), "not a real number type"),
])
def test_save_candidate_argument_errors(linear, tmp_path, edit, words):
    outputs = _outputs(linear)
    edit(outputs)
    with pytest.raises(nodeoracle.CandidateError) as e:
        nodeoracle.save_candidate(tmp_path / "c", outputs, problem=linear)
    assert words in str(e.value), str(e.value)
    assert os.listdir(tmp_path) == []


def test_save_candidate_other_refusals(linear, tmp_path):
    with pytest.raises(nodeoracle.CandidateError, match="precision 'float16'"):
        nodeoracle.save_candidate(tmp_path / "c", _outputs(linear), precision="float16")
    with pytest.raises(nodeoracle.CandidateError, match="no gradient"):
        nodeoracle.save_candidate(tmp_path / "c", {"output": np.zeros(2), "loss": 0.0})
    with pytest.raises(nodeoracle.CandidateError, match="grid: expected a 1-D"):
        nodeoracle.save_candidate(tmp_path / "c", _outputs(linear), grid=np.zeros((2, 2)))
    assert os.listdir(tmp_path) == []
