#!/bin/sh
# validate.sh PROBLEM_DIR [extra `nodeoracle check` flags]
#
# Export the PyTorch implementation's outputs for PROBLEM_DIR (export_candidate.py,
# gradient by torch.autograd) into a temporary candidate directory, then run
#     nodeoracle check --problem PROBLEM_DIR --candidate TMPDIR [extra flags]
# and exit with check's status (0 pass, 1 fail, 2 usage/input error), or 77 (skipped)
# when PyTorch is not installed.
#
# Environment:
#   NODEORACLE   the nodeoracle binary (default: ../../build/nodeoracle from this script)
#   PYTHON       the Python with NumPy and torch (default: /usr/bin/python3)
#   EXPORT_ARGS  extra export_candidate.py flags: "--float32", "--grid /path/grid.npy"
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
if ! command -v "$python" >/dev/null 2>&1; then
    echo "validate.sh: no Python at $python (set PYTHON)" >&2
    exit 2
fi
# Skip early and cheaply: find_spec looks for the module without importing it
# (import torch alone takes 0.5-0.8 s, as long as the whole export).  A torch that is
# found but does not import is reported by the exporter (exit 2).
if ! "$python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)' 2>/dev/null; then
    echo "validate.sh: skipped (exit 77): PyTorch is not installed for $python;" \
         "install it with apt-get install python3-torch (Debian), or set PYTHON" >&2
    exit 77
fi
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
"$python" "$here/export_candidate.py" "$problem" "$cand" ${EXPORT_ARGS:-}
rc=$?
# 77: skipped (no torch).  Any other failure of the exporter is an input or setup
# error (2), never check's "the candidate failed" (1).
case $rc in
    0) ;;
    77) exit 77 ;;
    *) exit 2 ;;
esac
"$nodeoracle" check --problem "$problem" --candidate "$cand" "$@"
