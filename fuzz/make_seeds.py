#!/usr/bin/env python3
"""make_seeds.py - (re)make the seed corpora of the file-reader harnesses.

    build/nodeoracle gen --suite smoke --out /tmp/smoke
    python3 fuzz/make_seeds.py /tmp/smoke fuzz/corpus

Writes corpus/npy/, corpus/problem_dir/, corpus/candidate/, corpus/golden/:
real files from `gen --suite smoke` packed in the container format of
fuzz_files.h ("\\n@@ NAME\\n" before each file; the header is the spec
number), tiny problems of every family written here (sizes 1 and 2, spec
numbers 3..5 of fuzz_files.h), and a few broken inputs, each named for what
is wrong.  Standard library only (no numpy): .npy is written by hand, which
also lets the broken files be broken on purpose."""
import hashlib
import json
import os
import struct
import sys

SEP = b"\n@@ "


def npy(shape, values=None, descr="<f8", version=1, fortran=False, pad=True):
    n = 1
    for s in shape:
        n *= s
    if values is None:
        values = [0.25 * (i + 1) for i in range(n)]
    sh = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    head = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", sh)
    pre = 10 if version == 1 else 12
    if pad:
        head += " " * ((-(pre + len(head) + 1)) % 64)
    head = (head + "\n").encode()
    lenb = struct.pack("<H", len(head)) if version == 1 else struct.pack("<I", len(head))
    fmt = (">" if descr[0] == ">" else "<") + ("d" if descr.endswith("8") else "f")
    data = b"".join(struct.pack(fmt, v) for v in values)
    return b"\x93NUMPY" + bytes([version, 0]) + lenb + head + data


def pack(header, files):
    out = header.encode()
    for name, content in files:
        out += SEP + name.encode() + b"\n" + content
    return out


# The tiny specs of fuzz_files.h (3, 4, 5): the smoke problems with
# N = d_in = d_out = L = m = 1, D = 2, q = 2, M = 2.
FAMILIES = ["linear", "rff", "mlp"]
PARAMS = {"linear": [("W", (1, 2, 2))], "rff": [("W", (1, 2, 2))],
          "mlp": [("a", (1, 2, 2)), ("u", (1, 2, 2)), ("b", (1, 2))]}
INPUTS = {"linear": [("W", (1, 2, 2))],
          "rff": [("Omega", (2, 2)), ("beta", (2,)), ("W", (1, 2, 2))],
          "mlp": [("a", (1, 2, 2)), ("u", (1, 2, 2)), ("b", (1, 2))]}


def tiny_outputs(fam):
    lay = [("states", (2, 1, 2)), ("output", (1, 1)), ("loss", (1,)), ("adjoint", (2, 1, 2))]
    lay += [("grad_" + p, s) for p, s in PARAMS[fam]]
    return lay


def tiny_problem(fam, k):
    spec = {"format": "nodeoracle-problem", "version": 1, "N": 1, "d_in": 1, "d_out": 1,
            "D": 2, "L": 1, "m": 1, "family": fam, "scheme": "euler", "scaling": "ode",
            "adjoint": "discrete", "seed": 100 + 2 * k, "param_scale": 1.0}
    if fam == "rff":
        spec.update(q=2, kernel="gaussian", ell=1.0)
    if fam == "mlp":
        spec.update(M=2, activation="tanh")
    files = [("problem.json", json.dumps(spec).encode())]
    arrays = [("X", (1, 1)), ("Y", (1, 1)), ("A", (2, 1)), ("B", (1, 2))] + INPUTS[fam]
    return files + [(n + ".npy", npy(s)) for n, s in arrays]


def count(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def provenance(template, files):
    """provenance.json of gen's template with the SHA-256 of these files, so
    that no_golden_verify passes on the tiny seeds too."""
    p = json.loads(template)
    p["sha256"] = {n: hashlib.sha256(c).hexdigest() for n, c in files}
    return (json.dumps(p, indent=2) + "\n").encode()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main(gen, out):
    probs = sorted(p for p in os.listdir(gen) if not p.startswith("."))
    # ---- npy: every variant of the header the reader accepts, and not.
    d = os.path.join(out, "npy")
    write(d, "smoke_X", read(os.path.join(gen, probs[0], "X.npy")))
    write(d, "smoke_loss", read(os.path.join(gen, probs[0], "golden", "loss.npy")))
    write(d, "scalar", npy(()))
    write(d, "empty", npy((0, 3)))
    write(d, "f4_4d", npy((1, 2, 1, 2), descr="<f4"))
    write(d, "v2", npy((3,), version=2))
    write(d, "nan_inf", npy((2,), [float("nan"), float("inf")]))
    write(d, "fortran", npy((2, 3), fortran=True))     # read, reordered to C order
    write(d, "f8_big_endian", npy((2, 2), descr=">f8"))
    write(d, "f4_big_fortran", npy((3, 2), descr=">f4", fortran=True))
    write(d, "bad_native_order", npy((2,), descr="=f8"))
    write(d, "bad_truncated", npy((4,))[:-5])
    write(d, "bad_unpadded", npy((2,), pad=False))
    # ---- problem directories.
    d = os.path.join(out, "problem_dir")
    for p in probs:
        pd = os.path.join(gen, p)
        files = [(f, read(os.path.join(pd, f))) for f in sorted(os.listdir(pd))
                 if f.endswith(".npy") or f == "problem.json"]
        write(d, "smoke_" + p.split("-")[1], pack("", files))
    for k, fam in enumerate(FAMILIES):
        write(d, "tiny_" + fam, pack("", tiny_problem(fam, k)))
    bad = tiny_problem("linear", 0)
    bad[0] = ("problem.json", bad[0][1].replace(b'"seed"', b'"q": 3, "seed"'))
    write(d, "bad_member_of_other_family", pack("", bad))
    write(d, "bad_missing_W", pack("", tiny_problem("linear", 0)[:-1]))
    # ---- candidates: golden values as outputs, a candidate.json and a grid.
    d = os.path.join(out, "candidate")
    grid = npy((17,), [i / 16 for i in range(17)])
    for k, p in enumerate(probs):
        gd = os.path.join(gen, p, "golden")
        files = [(f, read(os.path.join(gd, f))) for f in sorted(os.listdir(gd))
                 if f.endswith(".npy") and not f.endswith(".bits.npy")
                 and not f.startswith("mgrad_") and (k == 0 or f[:6] not in ("states", "adjoi"))]
        files += [("candidate.json", b'{"precision": "float32", "grid": "g.npy", '
                   b'"scheme": "euler"}'), ("g.npy", grid)]
        write(d, "smoke_" + p.split("-")[1], pack(str(k), files))
    for k, fam in enumerate(FAMILIES):
        files = [(n + ".npy", npy(s, descr="<f4" if k == 1 else "<f8"))
                 for n, s in tiny_outputs(fam)]
        files.append(("candidate.json", b'{"precision": "bfloat16", "grid": "grid.npy"}'))
        files.append(("grid.npy", npy((3,), [0.0, 0.5, 1.0])))
        write(d, "tiny_" + fam, pack(str(3 + k), files))
    files = [(n + ".npy", npy(s)) for n, s in tiny_outputs("linear")]
    write(d, "bad_grid_skips_boundary", pack("3", files + [("grid.npy", npy((2,), [0.0, 0.75]))]))
    write(d, "bad_json", pack("3", files + [("candidate.json", b'{"precision": "float16",}')]))
    files[1] = ("output.npy", npy((2, 1)))
    write(d, "bad_shape", pack("3", files))
    # ---- golden: the smoke linear problem, and the tiny ones.
    d = os.path.join(out, "golden")
    prov = read(os.path.join(gen, probs[0], "golden", "provenance.json"))
    gd = os.path.join(gen, probs[0], "golden")
    files = [(f, read(os.path.join(gd, f))) for f in sorted(os.listdir(gd))
             if f.endswith(".npy") or f.endswith(".json")]
    write(d, "smoke_linear", pack("0", files))
    for k, fam in enumerate(FAMILIES):
        lay = tiny_outputs(fam) + [("m" + n, s) for n, s in tiny_outputs(fam) if n[:5] == "grad_"]
        files = []
        for n, s in lay:
            files.append((n + ".npy", npy(s)))
            files.append((n + ".bits.npy", npy(s, [60.0] * count(s))))
        files.append(("provenance.json", provenance(prov, files)))
        write(d, "tiny_" + fam, pack(str(3 + k), files))
    lay = tiny_outputs("linear") + [("mgrad_W", (1, 2, 2))]
    files = [(n + s, npy(sh, None)) for n, sh in lay for s in (".npy", ".bits.npy")]
    files[1] = ("states.bits.npy", npy((2, 1, 2), [-1.0, 60.0, 60.0, 60.0]))
    write(d, "bad_negative_bits", pack("3", files + [("provenance.json", prov)]))
    write(d, "bad_provenance", pack("3", [("provenance.json", prov.replace(b'"gmp"', b'"GMP"'))]))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
