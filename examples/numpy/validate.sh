#!/bin/sh
# validate.sh PROBLEM_DIR [extra `nodeoracle check` flags]
#
# Export the NumPy implementation's outputs for PROBLEM_DIR into a temporary candidate
# directory (export_candidate.py), then run
#     nodeoracle check --problem PROBLEM_DIR --candidate TMPDIR [extra flags]
# and exit with check's status (0 pass, 1 fail, 2 usage/input error).
#
# Environment:
#   NODEORACLE   the nodeoracle binary (default: ../../build/nodeoracle from this script)
#   PYTHON       the Python with NumPy (default: /usr/bin/python3)
#   EXPORT_ARGS  extra export_candidate.py flags, e.g. "--mutant sign_flip",
#                "--float32", "--grid /path/grid.npy"
#   KEEP=1       keep the candidate directory (its path is printed)
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
    echo "usage: $0 PROBLEM_DIR [nodeoracle check flags]" >&2
    exit 2
fi
problem=$1
shift
nodeoracle=${NODEORACLE:-$here/../../build/nodeoracle}
python=${PYTHON:-/usr/bin/python3}
if [ ! -x "$nodeoracle" ]; then
    echo "validate.sh: nodeoracle not found at $nodeoracle (build it with make, or set NODEORACLE)" >&2
    exit 2
fi
cand=$(mktemp -d "${TMPDIR:-/tmp}/nodeoracle-candidate.XXXXXX") || exit 2
if [ "${KEEP:-0}" = 1 ]; then
    echo "candidate: $cand" >&2
else
    trap 'rm -rf "$cand"' EXIT
    trap 'rm -rf "$cand"; exit 130' INT TERM
fi
# shellcheck disable=SC2086  # EXPORT_ARGS is a list of flags
"$python" "$here/export_candidate.py" "$problem" "$cand" ${EXPORT_ARGS:-} || exit 2
"$nodeoracle" check --problem "$problem" --candidate "$cand" "$@"
