/* nm_main.c - nodeoracle-mpi: gen, check and width of nodeoracle with their
 * problems (or width cells) split across MPI ranks (docs/mpi.md).  Built by
 * `make mpi` with mpicc; the nodeoracle command and libnodeoracle.a do not
 * depend on MPI. */
#include <gmp.h>
#include <mpfr.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "fast_linalg.h"
#include "nm.h"
#include "resources.h"
#include "spec_args.h"

static const char help_main[] =
    "NAME\n"
    "  nodeoracle-mpi - nodeoracle gen, check and width with their work split across the\n"
    "  ranks of an MPI job\n"
    "\n"
    "SYNOPSIS\n"
    "  mpirun [-q] -np R nodeoracle-mpi gen (--suite NAME | PROBLEM OPTIONS) --out DIR\n"
    "                                   [--prec BITS] [--max-memory SIZE] [--quiet]\n"
    "  mpirun [-q] -np R nodeoracle-mpi check --problems DIR --candidates DIR [--json]\n"
    "                                   [the options of nodeoracle check]\n"
    "  mpirun [-q] -np R nodeoracle-mpi width [the options of nodeoracle width]\n"
    "  mpirun [-q] -np R nodeoracle-mpi run --problem DIR --out DIR [--impl fast|ref]\n"
    "                                   [--prec BITS]\n"
    "  nodeoracle-mpi help [gen | check | width | run]\n"
    "  nodeoracle-mpi --version\n"
    "\n"
    "DESCRIPTION\n"
    "  The same commands as nodeoracle's, with their independent items distributed over\n"
    "  the R ranks: the problems of a suite (gen), the problems of a directory (check\n"
    "  --problems), the runs of a width sweep, one per (width, draw), plus the\n"
    "  infinite-width target (width). Each rank computes its items with the library's\n"
    "  own per-item step; rank 0 takes the outcomes in the serial order and writes and\n"
    "  prints exactly what the serial command does. The guarantee: the files gen writes,\n"
    "  the text and JSON of check and the table, JSON and CSV of width are, byte for\n"
    "  byte, those of `nodeoracle COMMAND` with the same options, for every R (1\n"
    "  included). Only CPU times differ: width's last line gives the total over the\n"
    "  ranks, and gen's per-problem lines on stderr name the rank that built each.\n"
    "  check with --problem and --candidate (one problem) runs on rank 0 alone.\n"
    "\n"
    "DISTRIBUTION\n"
    "  Static, decided on rank 0 before any item runs, from the items' specs only (never\n"
    "  from timings, so a rerun splits the same way): the items sorted by estimated\n"
    "  cost, largest first (ties: lower index first), each given to the rank with the\n"
    "  least estimated work so far (longest processing time first). The cost of a problem\n"
    "  is N L m stages times the field's cost per point: D^2 (linear), 2 D q (rff), 2 D M\n"
    "  (mlp); check reads it from each problem.json. The cost of a width cell is that of\n"
    "  its gradient-descent run (steps + 1 passes; MPFR operations weighted by their\n"
    "  measured cost), the kernel target's growing like its expansion (O(steps^2)).\n"
    "\n"
    "RANKS AND FILES\n"
    "  Only rank 0 writes outputs and prints on stdout (the other ranks' stdout is\n"
    "  /dev/null). Every rank reads the inputs: check's --problems and --candidates must\n"
    "  be at the same path on every rank (a shared file system). gen: every rank, 0\n"
    "  included, writes each of its problems with gen's own writer into a private\n"
    "  directory under $TMPDIR (else /dev/shm, else /tmp), sends the tree to rank 0 and\n"
    "  removes that directory (only the files gen wrote there, by its manifest); rank 0\n"
    "  puts each tree into the problem's hidden temporary under --out (each file under a\n"
    "  temporary name, then renamed), flushes the file system once (syncfs) and\n"
    "  publishes as the serial gen does: all or nothing, each problem directory by one\n"
    "  atomic rename, only gen's own files replaced, --out locked meanwhile. Every rank\n"
    "  must run the same nodeoracle-mpi binary (same MPFR): the golden values depend on\n"
    "  nothing else.\n"
    "\n"
    "EXIT STATUS\n"
    "  The serial command's (nodeoracle help): 0 pass or done, 1 a failure, 2 a usage or\n"
    "  input error, 3 something could not be judged; the same on every rank, so mpirun\n"
    "  returns it. A usage or input error is one line on stderr, printed by rank 0 only,\n"
    "  and every rank exits. An option refused on another rank only (a check that\n"
    "  depends on its node, such as its memory) is printed by rank 0 as\n"
    "  \"nodeoracle: rank R: ...\". mpirun adds a banner of its own when a process exits\n"
    "  with a status other than 0: `mpirun -q` (or OMPI_MCA_orte_execute_quiet=1) keeps\n"
    "  stderr to the command's one line. An internal failure (out of memory moving an\n"
    "  outcome) aborts the job with \"nodeoracle: rank R: ...\" and status 2.\n"
    "\n"
    "ENVIRONMENT\n"
    "  OPENBLAS_NUM_THREADS (1) and, where OpenBLAS does not know the CPU,\n"
    "  OPENBLAS_CORETYPE are set when unset, as by nodeoracle: fast's products then take\n"
    "  the same kernels, and give the same bits, as the serial command's. On a cluster\n"
    "  of different CPUs set OPENBLAS_CORETYPE for all ranks (mpirun -x). As root, Open\n"
    "  MPI wants mpirun --allow-run-as-root; more ranks than cores, --oversubscribe.\n"
    "  NODEORACLE_PROGRESS=0 turns the progress lines off on every rank.\n"
    "  NODEORACLE_MPI_SPLIT=1 prints the split (items and estimated work per rank) and,\n"
    "  per rank, the time computing and the time waiting, on stderr.\n"
    "\n"
    "EXAMPLES\n"
    "  mpirun -q -np 2 nodeoracle-mpi gen --suite default --out problems\n"
    "  mpirun -q -np 2 nodeoracle-mpi check --problems problems --candidates mine --json\n"
    "  mpirun -q -np 4 nodeoracle-mpi width --kernel matern --nu 2.5 --seeds 16 --out run\n"
    "  mpirun -q -np 64 --hostfile nodes nodeoracle-mpi gen --suite wide --out /shared/p\n"
    "\n"
    "SEE ALSO\n"
    "  docs/mpi.md (the guarantee, the measured scaling, the cluster plan),\n"
    "  nodeoracle help gen, nodeoracle help check, nodeoracle help width.\n";

static const char help_run[] =
    "NAME\n"
    "  nodeoracle-mpi run - one problem's forward pass and gradients split across the\n"
    "  ranks by data points\n"
    "\n"
    "SYNOPSIS\n"
    "  mpirun [-q] -np R nodeoracle-mpi run --problem DIR --out DIR [--impl fast|ref]\n"
    "                                   [--prec BITS]\n"
    "\n"
    "DESCRIPTION\n"
    "  Reads the problem directory DIR (as written by nodeoracle gen) on every rank and\n"
    "  computes its outputs (states, output, loss, adjoint, grad_*, mgrad_*) with fast\n"
    "  (the default) or with ref at BITS bits (default 128), each rank a share of the\n"
    "  data points. The loss and the gradients are sums over the points; they are\n"
    "  reduced in a fixed order, so the result is bit for bit that of one process (-np\n"
    "  1), whatever R is:\n"
    "    fast  the points are cut into blocks (a function of the problem alone) and\n"
    "          every sum is taken in one binary tree over the blocks; each rank computes\n"
    "          one node of the tree and rank 0 adds the nodes in the tree's order;\n"
    "    ref   each rank sums its points' contributions exactly (no rounding) and rank 0\n"
    "          rounds the sum of those exact sums once: ref's own correctly rounded sum.\n"
    "  Rank 0 writes every output array to --out as NAME.npy (ref: rounded to double)\n"
    "  and, for ref, ref_values.txt with every value exactly (one line per entry: NAME\n"
    "  INDEX VALUE, VALUE in C99 hexadecimal), each file under a temporary name then\n"
    "  renamed. --out is created if missing; files of other names in it are left alone.\n"
    "\n"
    "EXIT STATUS\n"
    "  0 done, 2 a usage or input error (one line on stderr, from rank 0).\n"
    "\n"
    "EXAMPLES\n"
    "  mpirun -q -np 2 nodeoracle-mpi run --problem problems/large --out large-fast\n"
    "  mpirun -q -np 4 nodeoracle-mpi run --problem problems/p1 --impl ref --prec 256 --out r\n"
    "\n"
    "SEE ALSO\n"
    "  docs/mpi.md (One problem across ranks), docs/performance.md.\n";

static const char help_gen[] =
    "NAME\n"
    "  nodeoracle-mpi gen - gen's problems split across the ranks\n"
    "\n"
    "SYNOPSIS\n"
    "  mpirun [-q] -np R nodeoracle-mpi gen --suite NAME --out DIR [--prec BITS]\n"
    "  mpirun [-q] -np R nodeoracle-mpi gen PROBLEM OPTIONS --out DIR [--prec BITS]\n"
    "\n"
    "DESCRIPTION\n"
    "  nodeoracle gen, its problems distributed over the ranks by estimated cost\n"
    "  (nodeoracle-mpi help: DISTRIBUTION). DIR receives, byte for byte, the problem\n"
    "  directories the serial gen writes, with the same guarantees (all or nothing, the\n"
    "  manifest, the lock), enforced by rank 0, which alone writes into DIR. Every rank\n"
    "  writes its problems first into a private directory under $TMPDIR (else /dev/shm,\n"
    "  else /tmp), removed once sent. On stderr, one line per problem built:\n"
    "  [i/n] NAME (CPU seconds, rank r). Everything gen refuses is refused before any\n"
    "  problem is built, with one line from rank 0; should a problem fail, the first\n"
    "  failure in problem order is reported, as the serial gen's, and DIR is left as it\n"
    "  was. One problem (PROBLEM OPTIONS) has nothing to split: one rank builds it.\n"
    "\n"
    "EXIT STATUS\n"
    "  0 every problem written; 2 usage or input error, or a problem that could not be\n"
    "  built (one line on stderr from rank 0; DIR left as it was). The same on every\n"
    "  rank.\n"
    "\n"
    "  The options and files are those of nodeoracle gen:\n"
    "\n";

static const char help_check[] =
    "NAME\n"
    "  nodeoracle-mpi check - check over directories, the problems split across the ranks\n"
    "\n"
    "SYNOPSIS\n"
    "  mpirun [-q] -np R nodeoracle-mpi check --problems DIR --candidates DIR [--json]\n"
    "                   [--precision P] [--scheme S] [--golden | --on-the-fly] [--prec BITS]\n"
    "                   [--max-prec BITS] [--max-memory SIZE] [--quiet]\n"
    "\n"
    "DESCRIPTION\n"
    "  nodeoracle check --problems --candidates, every problem DIR/NAME checked (with its\n"
    "  diagnosis) on one rank, chosen by the cost read from its problem.json\n"
    "  (nodeoracle-mpi help: DISTRIBUTION). Rank 0 prints the lines (or assembles the JSON\n"
    "  report) in the serial order: stdout is byte for byte the serial command's, and so\n"
    "  is the exit status. Every rank reads DIR and the candidates: they must be at the\n"
    "  same path on every node. With --problem and --candidate (one problem, or --train)\n"
    "  rank 0 runs the serial check alone.\n"
    "\n"
    "  The options, files and exit status are those of nodeoracle check:\n"
    "\n";

static const char help_width[] =
    "NAME\n"
    "  nodeoracle-mpi width - the width sweep's runs split across the ranks\n"
    "\n"
    "SYNOPSIS\n"
    "  mpirun [-q] -np R nodeoracle-mpi width [--family rff] [--qmin Q] [--qmax Q] [--seeds S]\n"
    "                   [--steps N] [--impl fast|ref] [--out DIR] [--json] [PROBLEM OPTIONS]\n"
    "  mpirun [-q] -np R nodeoracle-mpi width --family mlp [--init iid|quadrature] [--Mmin M]\n"
    "                   [--Mmax M] [--seeds S] [--out DIR] [--json] [PROBLEM OPTIONS]\n"
    "\n"
    "DESCRIPTION\n"
    "  nodeoracle width, its runs distributed over the ranks: cell 0, the infinite-width\n"
    "  target (kernel gradient descent with the true kernel; mlp: the quadrature run at\n"
    "  M_ref), and one cell per width and draw (seeds x widths), each a gradient-descent\n"
    "  run whose features (or particles) come from its own seed. A cell's F(n) and\n"
    "  outputs go to rank 0, which adds them in cell order and computes every statistic\n"
    "  and fit exactly as the serial command: the table, --json and width.csv are byte\n"
    "  for byte the serial ones; only the CPU seconds of the last line differ (the total\n"
    "  over the ranks). Rank 0 alone writes --out. Progress lines count rank 0's own\n"
    "  runs.\n"
    "\n"
    "  The options, output and exit status are those of nodeoracle width:\n"
    "\n";

/* As oracle/main.c: one BLAS thread and, where OpenBLAS's detection falls
 * back to its generic kernels, the kernels named (fast_linalg_blas_
 * environment): the variables are read when OpenBLAS is loaded, before
 * main, so when one is missing it is set and we execute ourselves again,
 * before MPI starts.  The same kernels as nodeoracle's: the same bits. */
static void blas_environment(char **argv)
{
    if (fast_linalg_blas_environment())
        execv("/proc/self/exe", argv);
}

static int has_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    return 0;
}

/* The help of command cmd (NULL: the main page); 0, or 2 for no such. */
static int print_help(const char *cmd)
{
    if (!cmd) {
        fputs(help_main, stdout);
    } else if (!strcmp(cmd, "gen")) {
        fputs(help_gen, stdout);
        fputs(no_cmd_gen_help, stdout);
        fputs(no_spec_args_help, stdout);
    } else if (!strcmp(cmd, "check")) {
        fputs(help_check, stdout);
        fputs(no_cmd_check_help, stdout);
    } else if (!strcmp(cmd, "run")) {
        fputs(help_run, stdout);
    } else if (!strcmp(cmd, "width")) {
        fputs(help_width, stdout);
        fputs(no_cmd_width_help, stdout);
        fputs(no_spec_args_help, stdout);
    } else {
        char err[128];
        snprintf(err, sizeof err, "help: no such command '%.40s' (gen, check, width, run)", cmd);
        return no_cmd_usage_error(err);
    }
    return NO_EXIT_PASS;
}

/* What runs without the other ranks: help, --version, errors.  Every rank
 * runs it (the same argv, the same status); only rank 0's output is seen
 * (the others' stdout is /dev/null, their stderr set aside meanwhile). */
static int simple(int argc, char **argv)
{
    if (argc < 2)
        return no_cmd_usage_error("missing command (gen, check, width or run)");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        if (argc > 3)
            return no_cmd_usage_error("help takes one command");
        return print_help(argc > 2 ? argv[2] : NULL);
    }
    if (!strcmp(cmd, "--version")) {
        char lib[MPI_MAX_LIBRARY_VERSION_STRING];
        int n = 0;
        MPI_Get_library_version(lib, &n);
        lib[strcspn(lib, ",\n")] = 0;
        printf("nodeoracle-mpi %s (%s, MPFR %s, GMP %s)\n", NODEORACLE_VERSION, lib,
               mpfr_get_version(), gmp_version);
        return NO_EXIT_PASS;
    }
    if (!strcmp(cmd, "gen") || !strcmp(cmd, "check") || !strcmp(cmd, "width") ||
        !strcmp(cmd, "run"))
        return print_help(cmd); /* --help among its options */
    char err[160];
    snprintf(err, sizeof err, "unknown command '%.60s' (nodeoracle-mpi runs gen, check, "
                              "width and run; the others: nodeoracle)", cmd);
    return no_cmd_usage_error(err);
}

static int dispatch(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (argc < 3 || !has_help(argc - 2, argv + 2)) {
        if (!strcmp(cmd, "gen"))
            return nm_gen(argc - 2, argv + 2);
        if (!strcmp(cmd, "check"))
            return nm_check(argc - 2, argv + 2);
        if (!strcmp(cmd, "width"))
            return nm_width(argc - 2, argv + 2);
        if (!strcmp(cmd, "run"))
            return nm_run_problem(argc - 2, argv + 2);
    }
    nm_quiet_begin();
    int status = simple(argc, argv);
    nm_quiet_end();
    return status;
}

int main(int argc, char **argv)
{
    blas_environment(argv);
    no_res_install_allocators();
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &nm_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nm_size);
    /* only rank 0 prints results */
    if (nm_rank != 0 && !freopen("/dev/null", "w", stdout))
        nm_die("cannot redirect stdout to /dev/null");
    int status = dispatch(argc, argv);
    fflush(stdout);
    fflush(stderr);
    MPI_Finalize();
    return status;
}
