#!/bin/sh
# mutant_matrix.sh [SUITE]   (default: default)
#
# Every mutant of resnet_numpy.py on every problem of a `nodeoracle gen` suite, checked.
# The correct export must pass (exit 0), and so must the documented no-ops (the
# continuous-adjoint mutant on a problem that asks for the continuous adjoint).  Every
# other mutant that applies (resnet_numpy.mutant_applies: family, m > 1, >= 2 stages,
# L) should fail (exit 1: "caught") and be diagnosed with its expected cause
# (resnet_numpy.MUTANT_CAUSES: the first generation's causes are their own names;
# the second generation's, e.g. substep_h -> substep_size: "named"); "unknown" counts
# the diagnoses whose cause is "unknown".
#
# Prints one line per export, a table per mutant and a summary line to quote:
#   mutant_matrix.sh: suite default: correct 26/26 pass, no-ops 12/12 pass; mutants
#   caught 530/530, named 243/530, unknown 200/530 (gen 1: caught 243/243 named
#   243/243 unknown 0; gen 2: ...)
# Exit status 1 when a correct export or a no-op fails, when a mutant is not caught, or
# when a mutant is not named (STRICT=0: the second generation's causes only reported,
# to measure a diagnosis that predates them).  A long
# sweep (several minutes for `default` on 2 cores), so it is not part of `make test`,
# which runs a subset (tests/test_examples.c); `make examples-matrix` runs it.
#
# Environment: NODEORACLE (default ../../build/nodeoracle from here), PYTHON (default
# /usr/bin/python3, with NumPy), STRICT=0 (report, not require, the second generation's causes), MUTANTS (a
# space-separated subset of the mutants), KEEP=1 (keep the work directory, printed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=${1:-default}
nodeoracle=${NODEORACLE:-$here/../../build/nodeoracle}
python=${PYTHON:-/usr/bin/python3}
strict=${STRICT:-1}
[ -x "$nodeoracle" ] || { echo "mutant_matrix.sh: no $nodeoracle (run make)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/nodeoracle-matrix.XXXXXX") || exit 2
if [ "${KEEP:-0}" = 1 ]; then
    echo "mutant_matrix.sh: work directory $work" >&2
else
    trap 'rm -rf "$work"' EXIT
    trap 'rm -rf "$work"; exit 130' INT TERM
fi
"$nodeoracle" gen --suite "$suite" --out "$work/problems" >/dev/null 2>&1 ||
    { echo "mutant_matrix.sh: gen --suite $suite failed" >&2; exit 2; }

# One Python per problem exports the correct candidate and every mutant that applies,
# into $work/c/<mutant>, and lists "mutant expected-cause" lines (none: the correct one;
# "-" as the cause: must pass).
export_all() {
    rm -rf "$work/c"
    MM_HERE="$here" MM_PROB="$1" MM_OUT="$work/c" MM_ONLY="${MUTANTS:-}" "$python" - <<'EOF'
import os, sys
sys.path.insert(0, os.environ["MM_HERE"])
import export_candidate as ec
import resnet_numpy as rn
prob, out = os.environ["MM_PROB"], os.environ["MM_OUT"]
spec = rn.load_problem(prob)["spec"]
only = os.environ["MM_ONLY"].split()
for m in (None,) + rn.MUTANTS:
    if m is not None and only and m not in only:
        continue
    if m is not None and rn.mutant_applies(spec, m) is not None:
        continue
    ec.export(prob, os.path.join(out, m or "none"), mutant=m)
    noop = m is None or (m == "continuous_adjoint" and spec["adjoint"] == "continuous")
    print(m or "none", "-" if noop else rn.MUTANT_CAUSES[m])
EOF
}

gen1=$("$python" -c "import sys; sys.path.insert(0, '$here'); import resnet_numpy as r; print(' '.join(r.MUTANTS[:12]))") ||
    { echo "mutant_matrix.sh: cannot import resnet_numpy" >&2; exit 2; }
results="$work/results.tsv"
: >"$results"
for p in "$work"/problems/*/; do
    list=$(export_all "$p") || { echo "mutant_matrix.sh: export failed on $p" >&2; exit 2; }
    echo "$list" | while read -r m want; do
        c="$work/c/$m"
        "$nodeoracle" check --problem "$p" --candidate "$c" --json >"$work/out.json" 2>"$work/err"
        rc=$?
        cause=$("$python" -c "import json; d=json.load(open('$work/out.json')); print((d['diagnosis'] or {}).get('cause') or '-')" 2>/dev/null || echo "?")
        gen=2
        case " $gen1 none " in *" $m "*) gen=1 ;; esac
        if [ "$want" = - ]; then
            if [ "$rc" = 0 ]; then verdict=ok; else verdict=MISMATCH; fi
            wantp="rc=0"
        elif [ "$rc" != 1 ]; then
            verdict=MISMATCH
            wantp="rc=1 $want"
        elif [ "$cause" = "$want" ]; then
            verdict=ok
            wantp="rc=1 $want"
        elif [ "$gen" = 1 ] || [ "$strict" = 1 ]; then
            verdict=MISMATCH
            wantp="rc=1 $want"
        else
            verdict=unnamed
            wantp="rc=1 $want"
        fi
        printf '%-8s %-40s %-22s want %-30s got rc=%s %s\n' "$verdict" "$(basename "$p")" "$m" \
            "$wantp" "$rc" "$cause"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$p")" "$m" "$gen" "$want" "$rc" \
            "$cause" "$verdict" >>"$results"
    done
done

MM_SUITE="$suite" "$python" - "$results" <<'EOF'
import collections, os, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
per = collections.OrderedDict()
tot = {g: collections.Counter() for g in ("1", "2")}
passes = collections.Counter()
bad = 0
for prob, m, gen, want, rc, cause, verdict in rows:
    bad += verdict == "MISMATCH"
    if want == "-":
        key = "correct" if m == "none" else "noop"
        passes[key + "_n"] += 1
        passes[key + "_ok"] += rc == "0"
        continue
    c = per.setdefault(m, collections.Counter())
    for t in (c, tot[gen]):
        t["n"] += 1
        t["caught"] += rc == "1"
        t["named"] += rc == "1" and cause == want
        t["unknown"] += cause == "unknown"
    c["other:" + cause] += cause != want and cause != "unknown"
    c["want:" + want] = 1
print("%-24s %-26s %5s %7s %6s %8s  other causes" % ("mutant", "expected cause", "apply",
                                                    "caught", "named", "unknown"))
for m, c in per.items():
    want = [k[5:] for k in c if k.startswith("want:")][0]
    others = ", ".join("%s x%d" % (k[6:], v) for k, v in c.most_common()
                       if k.startswith("other:") and v)
    print("%-24s %-26s %5d %7d %6d %8d  %s" % (m, want, c["n"], c["caught"], c["named"],
                                              c["unknown"], others))
all_ = tot["1"] + tot["2"]
def part(t):
    return "caught %d/%d named %d/%d unknown %d" % (t["caught"], t["n"], t["named"], t["n"],
                                                   t["unknown"])
print("mutant_matrix.sh: suite %s: correct %d/%d pass, no-ops %d/%d pass; mutants %s "
      "(gen 1: %s; gen 2: %s); %d mismatches"
      % (os.environ["MM_SUITE"], passes["correct_ok"], passes["correct_n"], passes["noop_ok"],
         passes["noop_n"], part(all_).replace(" named", ", named").replace(" unknown", ", unknown"),
         part(tot["1"]), part(tot["2"]), bad))
sys.exit(1 if bad else 0)
EOF
