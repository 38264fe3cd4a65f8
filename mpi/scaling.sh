#!/bin/sh
# mpi/scaling.sh - the wall times of docs/mpi.md, "Measured scaling": gen and
# check of a suite and a width sweep, by the serial nodeoracle and by
# nodeoracle-mpi on each number of ranks given, each checked to give the
# serial output byte for byte.
#
#   mpi/scaling.sh [-b BUILD] [-s SUITE] [-r REPEATS] [RANKS ...]
#
# BUILD (default build) holds nodeoracle and nodeoracle-mpi (make mpi);
# SUITE defaults to default; RANKS to "1 2".  Each time is the best of
# REPEATS (default 3) runs, in seconds of wall-clock time.  Candidates for
# check are the golden values themselves (golden/NAME.npy is a candidate
# file), so every problem passes; check runs once with the golden reference
# and once --on-the-fly (the reference computed again, as without golden/).
# Scratch files go to a fresh directory under ${TMPDIR:-/tmp}, removed at
# the end.  On one machine Open MPI wants no remote launcher and, as root,
# --allow-run-as-root; set MPIRUN to change the launcher.
set -eu

BUILD=build SUITE=default REPEATS=3
while getopts b:s:r: o; do
    case $o in
    b) BUILD=$OPTARG ;;
    s) SUITE=$OPTARG ;;
    r) REPEATS=$OPTARG ;;
    *) echo "usage: $0 [-b BUILD] [-s SUITE] [-r REPEATS] [RANKS ...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
RANKS=${*:-1 2}
BIN=$(cd "$BUILD" && pwd)/nodeoracle
MBIN=$(cd "$BUILD" && pwd)/nodeoracle-mpi
[ -x "$BIN" ] && [ -x "$MBIN" ] || { echo "$0: build $BIN and $MBIN first (make mpi)" >&2; exit 2; }
export OMPI_MCA_plm=${OMPI_MCA_plm:-isolated} OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_orte_execute_quiet=1 NODEORACLE_PROGRESS=0
ROOT=""
[ "$(id -u)" = 0 ] && ROOT=--allow-run-as-root
MPIRUN=${MPIRUN:-mpirun $ROOT}
W=$(mktemp -d "${TMPDIR:-/tmp}/nodeoracle-scaling.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"

now() { date +%s.%N; }
# best TAG CMD...: the least wall time of REPEATS runs of CMD (its stdout to
# out.TAG, its stderr to err.TAG; an exit status above 3 stops the script)
best() {
    tag=$1
    shift
    b=""
    i=0
    while [ $i -lt "$REPEATS" ]; do
        t0=$(now)
        "$@" >"out.$tag" 2>"err.$tag" || [ $? -le 3 ] || { cat "err.$tag" >&2; exit 1; }
        b=$(awk -v t0="$t0" -v t1="$(now)" -v b="$b" \
            'BEGIN { t = t1 - t0; if (b == "" || t < b) b = t; printf "%.3f", b }')
        i=$((i + 1))
    done
    printf '%.2f' "$b"
}

# the serial runs, and the reference outputs
rm -rf p1
gen1=$(best gen1 "$BIN" gen --suite "$SUITE" --out p1 --quiet)
mkdir -p cands
for d in p1/*/; do
    n=$(basename "$d")
    mkdir -p "cands/$n"
    cp "$d"golden/*.npy "cands/$n/"
    rm -f "cands/$n/"*.bits.npy
done
chk1=$(best chk1 "$BIN" check --problems p1 --candidates cands --quiet)
fly1=$(best fly1 "$BIN" check --problems p1 --candidates cands --on-the-fly --quiet)
wid1=$(best wid1 "$BIN" width --json)
n=$(ls p1 | wc -l)
printf '%-28s %8s' "what ($n problems)" serial
for r in $RANKS; do printf ' %8s' "$r rank$([ "$r" = 1 ] || echo s)"; done
printf '\n'
line() { printf '%-28s %8s' "$1" "$2"; }

line "gen --suite $SUITE" "$gen1"
for r in $RANKS; do
    rm -rf "p$r.m"
    t=$(best "gen$r" $MPIRUN -np "$r" "$MBIN" gen --suite "$SUITE" --out "p$r.m" --quiet)
    diff -r p1 "p$r.m" >/dev/null || { echo "gen on $r ranks: not the serial tree" >&2; exit 1; }
    printf ' %8s' "$t"
done
printf '\n'
# One row: LABEL SERIAL_TIME TAG WHAT then the command after -np R; each
# rank count's stdout must be the serial run's (out.TAG1).
row() {
    local label=$1 serial=$2 tag=$3 what=$4
    shift 4
    line "$label" "$serial"
    for r in $RANKS; do
        t=$(best "$tag$r" $MPIRUN -np "$r" "$MBIN" "$@")
        cmp -s "out.${tag}1" "out.$tag$r" || { echo "$what on $r ranks: not the serial output" >&2; exit 1; }
        printf ' %8s' "$t"
    done
    printf '\n'
}
row "check (golden)" "$chk1" chk check check --problems p1 --candidates cands --quiet
row "check --on-the-fly" "$fly1" fly "check --on-the-fly" check --problems p1 --candidates cands --on-the-fly --quiet
row "width (default sweep)" "$wid1" wid width width --json
echo "(seconds of wall-clock time, best of $REPEATS; every output identical to the serial one;"
echo " $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
