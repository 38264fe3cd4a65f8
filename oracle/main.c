/* main.c - the nodeoracle command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "cmd.h"
#include "compare.h"
#include "fast_linalg.h"
#include "progress.h"
#include "ref.h"
#include "report.h"
#include "resources.h"
#include "spec_args.h"
#include "suite.h"

enum { EXIT_PASS = NO_EXIT_PASS, EXIT_MISMATCH = NO_EXIT_MISMATCH, EXIT_USAGE = NO_EXIT_USAGE };

static const char help_main[] =
    "NAME\n"
    "  nodeoracle - reference values and verdicts for Neural-ODE / ResNet numerics\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle demo [--prec BITS]\n"
    "  nodeoracle compare [PROBLEM OPTIONS | --suite NAME] [--prec BITS] [--quiet] [--json]\n"
    "  nodeoracle gen [PROBLEM OPTIONS | --suite NAME] --out DIR [--prec BITS]\n"
    "  nodeoracle check --problem DIR --candidate DIR [--precision P] [--grid F] [--json]\n"
    "  nodeoracle check --problems DIR --candidates DIR [--json]\n"
    "  nodeoracle train [PROBLEM OPTIONS | --problem DIR] [--steps N] [--eta E]\n"
    "                   [--impl ref|fast|both] [--flow] [--out DIR] [--json]\n"
    "  nodeoracle width [--kernel gaussian|matern] [--qmin Q] [--qmax Q] [--seeds S]\n"
    "                   [--steps N] [--eta E] [--out DIR] [--json]\n"
    "  nodeoracle theorem NAME [OPTIONS] [--json]\n"
    "  nodeoracle potential [PROBLEM OPTIONS] [--layer K] [--slice a0,u1] [--out DIR] [--json]\n"
    "  nodeoracle cot-distance A B [--w2] [--out DIR] [--json]\n"
    "  nodeoracle cot-flow [PROBLEM OPTIONS] [--time T] [--impl ref|fast] [--out DIR] [--json]\n"
    "  nodeoracle help [COMMAND]\n"
    "  nodeoracle --version\n"
    "\n"
    "DESCRIPTION\n"
    "  nodeoracle computes the forward pass, the discrete and continuous adjoints, the\n"
    "  gradients and the metric gradients of deep residual networks and their Neural-ODE\n"
    "  limits twice: in ref/, an MPFR reference at a chosen precision that states how many\n"
    "  bits of each result are correct, and in fast/, an independent double implementation.\n"
    "  It compares the two array by array against a tolerance derived from the problem\n"
    "  (precision, depth, width, growth along the trajectory); see proofs-notes/.\n"
    "\n"
    "COMMANDS\n"
    "  demo      compare ref and fast on the default suite (every family x scheme x\n"
    "            adjoint kind on small problems) and print the table; under a minute.\n"
    "  compare   compare ref and fast on one problem given by PROBLEM OPTIONS, or on\n"
    "            every problem of --suite NAME.\n"
    "  gen       write golden reference vectors (problems, float64 values, 40-digit\n"
    "            strings, correct bits, provenance) for a suite: docs/formats.md.\n"
    "  check     validate an outside implementation's outputs against the reference and\n"
    "            diagnose a failure: docs/check.md.\n"
    "  train     gradient descent (or gradient flow) on a problem's parameters in ref,\n"
    "            fast or both, fast judged along the run: docs/training.md.\n"
    "  width     rff gradient descent vs kernel gradient descent as the features q\n"
    "            grow: the rate table and the fitted exponent (expected -1/2).\n"
    "  depth     gradient descent at L = LMIN..LMAX layers vs L -> infinity: the\n"
    "            loss curves' order in L, fitted (expected min(p, 2)).\n"
    "  theorem   the constants of the papers' theorems evaluated and their inequalities\n"
    "            checked: pl, kappa, lambda, local-convergence, linear-counterexample.\n"
    "  potential the mean-field potential Psi_k of an mlp problem on a slice of parameter\n"
    "            space, with the particles (CSV, heat map).\n"
    "  cot-distance  the COT distance of two particle measures, with the certificate of\n"
    "            its per-layer optimal assignments.\n"
    "  cot-flow  the COT gradient flow of the mlp particles: energy identity, PL ratio.\n"
    "  help      this text, or the help of one command.\n"
    "\n"
    "EXIT STATUS\n"
    "  0  every array of every problem passed\n"
    "  1  some array failed (error over tolerance, NaN/Inf, missing)\n"
    "  2  usage or input error (unknown option, invalid problem, not enough memory);\n"
    "     one line on stderr\n"
    "  3  nothing failed, but some array could not be judged: 'unverifiable' (the\n"
    "     problem is too ill-conditioned for the candidate's precision: its tolerance\n"
    "     would exceed 2^-10, or the reference is outside the float64 range) or 'ref\n"
    "     too weak' (the reference is not certified to the bits the tolerance needs even\n"
    "     at --max-prec). Never a pass: proofs-notes/tolerance.md, section 12.\n"
    "\n"
    "EXAMPLES\n"
    "  nodeoracle demo\n"
    "  nodeoracle compare --family rff --kernel matern --nu 2.5 --scheme rk4 --m 4\n"
    "  nodeoracle compare --suite smoke --prec 256\n"
    "  nodeoracle gen --suite smoke --out problems\n"
    "  nodeoracle check --problem problems/000-linear-euler-discrete-L8-m2-dout3 --candidate mine/\n"
    "\n"
    "SEE ALSO\n"
    "  README.md (\"Validate your implementation in five minutes\"), docs/formats.md,\n"
    "  docs/check.md, proofs-notes/conventions.md (what is computed),\n"
    "  proofs-notes/tolerance.md (the tolerance model), proofs-notes/precision.md.\n";

static const char help_compare[] =
    "NAME\n"
    "  nodeoracle compare - compare the double implementation with the MPFR reference\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle compare [PROBLEM OPTIONS | --suite NAME] [--prec BITS] [--quiet] [--json]\n"
    "\n"
    "DESCRIPTION\n"
    "  For each problem: runs ref at --prec bits and at a higher precision to certify its\n"
    "  correct bits, runs fast, and prints per output array (states, output, loss, adjoint,\n"
    "  grad_*, mgrad_*): the max and RMS error relative to the array's norm, the max error\n"
    "  in ulps, the reference's normwise (and smallest elementwise) correct bits, the\n"
    "  tolerance and the verdict. A row passes only if its tolerance is meaningful\n"
    "  (finite and at most 2^-10 relative), the reference is certified 16x more accurate\n"
    "  than it (otherwise the reference is recomputed at doubled precision, up to\n"
    "  --max-prec) and the error is within it. It fails if the error exceeds the\n"
    "  tolerance by more than the reference's own error, or the candidate has NaN/Inf\n"
    "  (first one printed with its index). Otherwise it is 'unverifiable' or 'ref too\n"
    "  weak' (exit 3). See nodeoracle help for the exit status.\n"
    "\n"
    "OPTIONS\n"
    "  --suite NAME   run a named suite instead of one problem: smoke, default\n"
    "  --prec BITS    reference precision, 53..43691 (default 128); raised automatically\n"
    "                 (doubled, up to --max-prec) while the reference is not certified\n"
    "                 to the bits a tolerance needs\n"
    "  --max-prec BITS  cap of that raise (default 4096, or --prec if higher)\n"
    "  --quiet        print only failing problems and the summary; no progress lines\n"
    "  --json         one JSON object on stdout instead of the tables: every problem's\n"
    "                 comparison and the counts (docs/check.md, \"JSON report\"); on a\n"
    "                 usage or input error, the error object {\"error\": {...}}\n"
    "  --max-memory SIZE  memory the run may use, e.g. 4G or 512M (default: the cgroup\n"
    "                 limit, else MemAvailable); a problem that needs more is refused\n"
    "                 (exit 2) before anything is computed\n"
    "\n"
    "EXIT STATUS\n"
    "  0 all passed; 1 some array failed; 2 usage or input error; 3 nothing failed but\n"
    "  some array could not be judged (unverifiable, ref too weak).\n"
    "\n";

static const char help_demo[] =
    "NAME\n"
    "  nodeoracle demo - the default suite: every family x scheme x adjoint kind\n"
    "\n"
    "SYNOPSIS\n"
    "  nodeoracle demo [--prec BITS]\n"
    "\n"
    "DESCRIPTION\n"
    "  Same as `nodeoracle compare --suite default`: linear; rff with Gaussian and\n"
    "  Matern-5/2 kernels; mlp with tanh, softplus and relu; Euler and RK4 with m = 2\n"
    "  substeps; discrete and continuous adjoints; plus the sqrt (SDE) scaling.\n"
    "  N=12, D=4, L=8, q=16, M=6. Exit status as for compare. Also takes --quiet and\n"
    "  --max-memory SIZE (see compare).\n";

#define usage_error no_cmd_usage_error
#define parse_prec no_cmd_parse_prec

static int cmd_compare(int argc, char **argv, int demo)
{
    no_spec one;
    no_spec_default(&one);
    const char *suite = demo ? "default" : NULL;
    long prec = 128, max_prec = 0;
    int quiet = 0, gave_problem = 0, json = 0;
    char err[256];
    /* --json anywhere among the options: an error found before it is
     * reached is an error object on stdout too (oracle/report.h) */
    no_cmd_json_prescan(argc, argv, demo ? "demo" : "compare", NULL);
    for (int i = 0; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) {
            fputs(demo ? help_demo : help_compare, stdout);
            if (!demo)
                fputs(no_spec_args_help, stdout);
            return EXIT_PASS;
        }
        if (!strcmp(f, "--quiet")) {
            quiet = 1;
            no_progress_enable(0);
            continue;
        }
        if (!strcmp(f, "--json")) {
            json = 1;
            continue;
        }
        if (!v)
            return usage_error(strncmp(f, "--", 2) ? "unexpected argument" : "option needs a value");
        if (!strcmp(f, "--prec")) {
            if (parse_prec(v, &prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--max-prec")) {
            if (parse_prec(v, &max_prec))
                return no_cmd_prec_error(v);
        } else if (!strcmp(f, "--max-memory")) {
            if (no_res_max_memory_arg(v, err, sizeof err))
                return usage_error(err);
        } else if (!strcmp(f, "--suite") && !demo) {
            suite = v;
        } else {
            int r = demo ? 0 : no_spec_arg(&one, f, v, err, sizeof err);
            if (r < 0)
                return usage_error(err);
            if (r == 0) {
                snprintf(err, sizeof err, "unknown option '%s'", f);
                return usage_error(err);
            }
            gave_problem = 1;
        }
        i++;
    }
    if (suite && gave_problem)
        return usage_error("give either --suite or problem options, not both");
    no_spec specs[NO_SUITE_MAX];
    int n = 1;
    if (suite) {
        n = no_suite_specs(suite, specs);
        if (n < 0) {
            snprintf(err, sizeof err, "unknown suite '%s' (known: %s)", suite, no_suite_names());
            return usage_error(err);
        }
    } else {
        specs[0] = one;
    }
    for (int i = 0; i < n; i++)
        if (no_spec_validate(&specs[i], NO_REQ_NONE, err, sizeof err))
            return usage_error(err);

    if (max_prec && max_prec < prec)
        return usage_error("--max-prec must be at least --prec");
    /* Refused before anything is generated or printed: every problem must fit. */
    for (int i = 0; i < n; i++) {
        char what[64];
        snprintf(what, sizeof what, n > 1 ? "problem %d of %d" : "this problem", i + 1, n);
        if (no_res_require(no_res_compare_bytes(&specs[i], prec), what, "reduce N or --prec",
                           err, sizeof err))
            return no_report_error(err);
    }
    int passed = 0, unjudged = 0, weak = 0, rows = 0, rows_passed = 0;
    json_t *problems = json ? json_array() : NULL;
    clock_t t0 = clock();
    for (int i = 0; i < n; i++) {
        no_problem p;
        no_cmp_report rep;
        if (no_problem_generate(&p, &specs[i], err, sizeof err)) {
            json_decref(problems);
            return usage_error(err);
        }
        char label[32];
        snprintf(label, sizeof label, "[%d/%d]", i + 1, n);
        no_progress_begin(label);
        int rc = no_compare_problem(&p, prec, max_prec, &rep, err, sizeof err);
        no_progress_end();
        no_problem_free(&p);
        if (rc) {
            json_decref(problems);
            return no_report_error(err);
        }
        if (json) {
            json_t *o = json_object();
            json_object_set_new(o, "index", json_integer(i + 1));
            no_report_json_comparison(o, &rep);
            json_array_append_new(problems, o);
        } else if (!quiet || !rep.pass)
            no_report_print(stdout, &rep, i + 1, n);
        else
            fprintf(stderr, "[%d/%d] pass\n", i + 1, n);
        fflush(stdout);
        passed += rep.pass;
        unjudged += rep.outcome == NO_OUTCOME_UNJUDGED;
        weak += !strcmp(no_report_outcome_token(&rep), "ref_too_weak");
        rows += rep.nrows;
        for (int r = 0; r < rep.nrows; r++)
            rows_passed += rep.rows[r].verdict == NO_VERDICT_PASS;
    }
    int status = passed == n ? EXIT_PASS : passed + unjudged == n ? NO_EXIT_UNJUDGED
                                                                    : EXIT_MISMATCH;
    if (json) {
        json_t *root = no_report_json_new("compare", demo ? "demo" : "compare");
        json_object_set_new(root, "suite", suite ? json_string(suite) : json_null());
        json_object_set_new(root, "reference_bits_asked", json_integer(prec));
        json_object_set_new(root, "verdict",
                            json_string(status == EXIT_PASS       ? "pass"
                                        : status == EXIT_MISMATCH ? "fail"
                                        : unjudged > weak         ? "unverifiable"
                                                                  : "ref_too_weak"));
        json_object_set_new(root, "exit_status", json_integer(status));
        json_t *co = json_object();
        json_object_set_new(co, "total", json_integer(n));
        json_object_set_new(co, "pass", json_integer(passed));
        json_object_set_new(co, "fail", json_integer(n - passed - unjudged));
        json_object_set_new(co, "unverifiable", json_integer(unjudged - weak));
        json_object_set_new(co, "ref_too_weak", json_integer(weak));
        json_object_set_new(co, "arrays", json_integer(rows));
        json_object_set_new(co, "arrays_passed", json_integer(rows_passed));
        json_object_set_new(root, "counts", co);
        json_object_set_new(root, "problems", problems);
        no_report_json_print(root);
        return status;
    }
    printf("\nnodeoracle: %d of %d problems passed (%d of %d arrays)", passed, n, rows_passed,
           rows);
    if (unjudged)
        printf(", %d could not be judged", unjudged);
    printf(" in %.1f s CPU\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    return status;
}

/* OpenBLAS starts a worker thread per core when it is loaded, before main,
 * unless OPENBLAS_NUM_THREADS says otherwise; each worker allocates a
 * 128 MiB buffer when it starts and retries forever when that fails, and
 * exit() joins the workers.  Under a memory limit (ulimit -v) a worker that
 * lost the race for memory therefore hangs the process at exit, even after
 * the error line was printed.  fast/ wants one BLAS thread anyway (small
 * products, fixed summation order: fast_linalg.c), and OpenBLAS may need
 * its kernels named (OPENBLAS_CORETYPE, fast_linalg_blas_environment), so
 * when a setting is missing it is set and we exec ourselves again (before
 * anything else happens; a few milliseconds).  Values the user set are
 * kept.  If the exec fails the run goes on as it is. */
static void blas_environment(char **argv)
{
    if (fast_linalg_blas_environment())
        execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    blas_environment(argv);
    no_res_install_allocators();
    if (argc < 2)
        return usage_error("missing command");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        if (argc > 2 && !strcmp(argv[2], "compare")) {
            fputs(help_compare, stdout);
            fputs(no_spec_args_help, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "demo")) {
            fputs(help_demo, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "gen")) {
            fputs(no_cmd_gen_help, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "check")) {
            fputs(no_cmd_check_help, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "width")) {
            fputs(no_cmd_width_help, stdout);
            fputs(no_spec_args_help, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "theorem")) {
            return no_cmd_theorem_help(argc - 3, argv + 3);
        } else if (argc > 2 && !strcmp(argv[2], "potential")) {
            fputs(no_cmd_potential_help, stdout);
            fputs(no_spec_args_help, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "cot-distance")) {
            fputs(no_cmd_cot_distance_help, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "cot-flow")) {
            fputs(no_cmd_cot_flow_help, stdout);
            fputs(no_spec_args_help, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "depth")) {
            fputs(no_cmd_depth_help, stdout);
            fputs(no_spec_args_help, stdout);
        } else if (argc > 2 && !strcmp(argv[2], "train")) {
            fputs(no_cmd_train_help, stdout);
            fputs(no_spec_args_help, stdout);
        } else if (argc > 2) {
            return usage_error("no such command");
        } else {
            fputs(help_main, stdout);
        }
        return EXIT_PASS;
    }
    if (!strcmp(cmd, "--version")) {
        printf("nodeoracle %s (MPFR %s, GMP %s)\n", NODEORACLE_VERSION, mpfr_get_version(),
               gmp_version);
        return EXIT_PASS;
    }
    if (!strcmp(cmd, "compare"))
        return cmd_compare(argc - 2, argv + 2, 0);
    if (!strcmp(cmd, "demo"))
        return cmd_compare(argc - 2, argv + 2, 1);
    if (!strcmp(cmd, "gen"))
        return no_cmd_gen(argc - 2, argv + 2);
    if (!strcmp(cmd, "check"))
        return no_cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "train"))
        return no_cmd_train(argc - 2, argv + 2);
    if (!strcmp(cmd, "width"))
        return no_cmd_width(argc - 2, argv + 2);
    if (!strcmp(cmd, "depth"))
        return no_cmd_depth(argc - 2, argv + 2);
    if (!strcmp(cmd, "theorem"))
        return no_cmd_theorem(argc - 2, argv + 2);
    if (!strcmp(cmd, "potential"))
        return no_cmd_potential(argc - 2, argv + 2);
    if (!strcmp(cmd, "cot-distance"))
        return no_cmd_cot_distance(argc - 2, argv + 2);
    if (!strcmp(cmd, "cot-flow"))
        return no_cmd_cot_flow(argc - 2, argv + 2);
    char err[128];
    snprintf(err, sizeof err, "unknown command '%s'", cmd);
    return usage_error(err);
}
