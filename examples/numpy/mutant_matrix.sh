#!/bin/sh
# mutant_matrix.sh [SUITE]   (default: default)
#
# Every mutant of resnet_numpy.py on every problem of a `nodeoracle gen` suite, checked:
# the correct export must pass (exit 0); a mutant that applies must fail (exit 1) and be
# named by its own cause, except the documented no-ops, which must pass (the
# continuous-adjoint mutant on a problem that asks for the continuous adjoint).  Prints
# one line per export and a summary; exits 1 on any mismatch.  A long sweep (about two
# minutes for `default` on 2 cores), so it is not part of `make test`, which runs a subset
# (tests/test_examples.c); `make examples-matrix` runs it.
#
# Environment: NODEORACLE (default ../../build/nodeoracle from here), PYTHON (default
# /usr/bin/python3, with NumPy).
set -u
here=$(cd "$(dirname "$0")" && pwd)
suite=${1:-default}
nodeoracle=${NODEORACLE:-$here/../../build/nodeoracle}
python=${PYTHON:-/usr/bin/python3}
[ -x "$nodeoracle" ] || { echo "mutant_matrix.sh: no $nodeoracle (run make)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/nodeoracle-matrix.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
trap 'rm -rf "$work"; exit 130' INT TERM
"$nodeoracle" gen --suite "$suite" --out "$work/problems" >/dev/null 2>&1 ||
    { echo "mutant_matrix.sh: gen --suite $suite failed" >&2; exit 2; }

mutants=$("$python" -c "import sys; sys.path.insert(0, '$here'); import resnet_numpy as r; print(' '.join(sorted(r.MUTANTS)))") ||
    { echo "mutant_matrix.sh: cannot import resnet_numpy" >&2; exit 2; }
total=0
bad=0
for p in "$work"/problems/*/; do
    adjoint=$("$python" -c "import json; print(json.load(open('$p/problem.json'))['adjoint'])")
    for m in none $mutants; do
        c="$work/cand"
        rm -rf "$c"
        if [ "$m" = none ]; then args=""; else args="--mutant $m"; fi
        # shellcheck disable=SC2086
        if ! "$python" "$here/export_candidate.py" "$p" "$c" $args 2>/dev/null; then
            continue # the mutant does not apply to this family
        fi
        "$nodeoracle" check --problem "$p" --candidate "$c" --json >"$work/out.json" 2>"$work/err"
        rc=$?
        cause=$("$python" -c "import json; d=json.load(open('$work/out.json')); print((d['diagnosis'] or {}).get('cause', '-'))" 2>/dev/null || echo "?")
        if [ "$m" = none ] || { [ "$m" = continuous_adjoint ] && [ "$adjoint" = continuous ]; }; then
            want="rc=0"
            got="rc=$rc"
        else
            want="rc=1 $m"
            got="rc=$rc $cause"
        fi
        total=$((total + 1))
        if [ "$want" = "$got" ]; then verdict=ok; else verdict=MISMATCH; bad=$((bad + 1)); fi
        printf '%-8s %-40s %-20s want %-24s got %s\n' "$verdict" "$(basename "$p")" "$m" "$want" "$got"
    done
done
echo "mutant_matrix.sh: $((total - bad)) of $total exports as expected (suite $suite)"
[ "$bad" -eq 0 ]
