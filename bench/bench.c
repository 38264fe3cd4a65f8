/* bench.c - median wall times of one forward + gradient run, of one
 * gradient-descent step (fast vs ref), of kernel GD steps as the expansion
 * grows, and of one `nodeoracle check` per default problem (a benchmark, not
 * a test: nothing here asserts a time).
 *
 * Cells: tiny (fast, ref at 128 and 256 bits), default (fast), large (fast);
 * every problem is rff gaussian ell=1, euler, m=1, discrete adjoint, d_in = d_out = d.
 *
 * What one timed run is:
 *   fast  fast_run_ws on a workspace allocated once per cell (fast_ws_alloc)
 *         and an output layout made once (no_outputs_init): the steady state of
 *         a caller that runs many problems of one spec.
 *   ref   ref_model_init + ref_run: the MPFR conversion of the problem is part
 *         of every reference evaluation, so it is timed; freeing the result and
 *         the model (ref_result_clear, ref_model_clear) is not.
 * Generating the problem (the MPFR-based generator) is never timed.
 *
 * Repetitions: until the cell has spent MIN_CELL_SECONDS and at least
 * MIN_RUNS runs; the median is reported because a single slow run (page
 * faults of the first run, a scheduler hiccup) must not move the figure.
 *
 * Second part: `nodeoracle check` on every problem of the default suite, the
 * command a user runs, timed as a whole (fork, exec, reading the files,
 * the reference, the comparison, the report written to /dev/null, exit).
 *   setup (not timed)  `nodeoracle gen --suite default` into a temporary
 *         directory (problems and golden/), and for each problem a candidate
 *         directory with fast/'s outputs (fast_run, written with io/npy.h:
 *         output, loss, grad_<P>, and the optional states and adjoint, so
 *         that check compares every array it can).
 *   golden      check --golden: the reference read from golden/.
 *   on-the-fly  check --on-the-fly: the reference computed (and certified)
 *         at check's default 128 bits.
 * Both cells of a problem run one after the other, so their ratio compares
 * like with like.  The binary is the build-bench/nodeoracle next to this
 * one (found through /proc/self/exe, as tests/test_cli.c does): the -O3
 * library, the same code as the first part.  A check that does not exit 0
 * fails its cell: the fast/ candidate passes every default problem (`make
 * demo`), so anything else is a bug to look at, not a time to report.
 *
 * Third part: one GD step theta <- theta - eta G(theta) on the default
 * problem of `nodeoracle compare` for linear, rff and mlp: fast_train_gd and
 * ref_train_run at 128 bits (one run, not certified), timed step by step
 * through their progress callbacks; the median over all steps, and ref/fast.
 *
 * Fourth part: kernel GD (fast_kernel_gd, ref_kernel_gd at 128 bits), the
 * time of step j = 1..KGD_STEPS, and the least-squares exponent of that time
 * in j over the later half of the steps.  Step j works on an expansion of
 * O(j) centres, so the expectation is a time linear in j (exponent 1).
 *
 * Fifth part: the COT distance's assignment (fast_assign_sqdist +
 * fast_assign_solve, one layer of M particles in R^9, i.e. D = 4, uniform in
 * [-1, 1]^9 from a fixed seed) for M = 64..4096 doubling, the median time, and
 * the least-squares exponent of time in M over M = 512..4096 (the Hungarian
 * method is O(M^3) in the worst case; random instances run below it); the
 * MPFR certificate (ref_assign_certify at 128 bits) for M <= COT_CERT_MMAX.
 * Then one RK4 step in training time of the COT particle flow
 * (fast_cot_flow_run, four metric gradients) on the default mlp problem with
 * M = 4096.
 *
 * Sixth part: peers side by side (see bench_peers below): fast, ref at 128
 * bits, the NumPy example and the PyTorch example (when `import torch` works)
 * on tiny, default and large with the same arrays; medians, ratio to the best
 * peer, GFLOP/s, fraction of the measured DGEMM peak and of the
 * trig-inclusive floor, peak memory.
 *
 * Usage: bench_nodeoracle [--quick] [--part peers]
 *   --quick       1 run per cell, a smoke test of the bench itself; its
 *                 figures are not medians of anything (the peers part: tiny
 *                 and default only, ref on tiny only).
 *   --part peers  run only the sixth part.
 *   --ref-default also time ref128 on the default problem in the sixth part
 *                 (one run, minutes); without it that cell is skipped with an
 *                 estimate from tiny by the flop ratio.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "arrays.h"
#include "fast.h"
#include "fast_assign.h"
#include "fast_cot_flow.h"
#include "fast_kernel.h"
#include "fast_train.h"
#include "npy.h"
#include "path.h"
#include "problem.h"
#include "problem_dir.h"
#include "ref.h"
#include "ref_assign.h"
#include "ref_kernel.h"
#include "ref_train.h"

#define MIN_CELL_SECONDS 0.5
#define MIN_RUNS 3
/* A bound on the runs of one cell, so that the sample buffer stays small even
 * if a future fast/ gets much faster (0.5 s / 1e6 = 0.5 us per run). */
#define MAX_RUNS 1000000
/* The target: the reference on the tiny problem in under a second. */
#define TARGET_REF_TINY_SECONDS 1.0
/* Cells whose single run exceeds this print progress lines to stderr. */
#define PROGRESS_SECONDS 1.0
/* The suite of the check part, and the target for it: `check` of one
 * default problem from golden files in under a second. */
#define CHECK_SUITE "default"
#define TARGET_CHECK_GOLDEN_SECONDS 1.0

typedef enum { IMPL_FAST, IMPL_REF } impl_kind;

typedef struct {
    const char *problem;
    size_t d, D, q, L, N;
} bench_problem;

typedef struct {
    const bench_problem *bp;
    impl_kind impl;
    long prec; /* ref only */
    double median;
    size_t runs;
    int ok;
} bench_cell;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *t, size_t n)
{
    qsort(t, n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static void spec_of(const bench_problem *bp, no_spec *s)
{
    no_spec_default(s);
    s->family = NO_FAMILY_RFF;
    s->kernel = NO_KERNEL_GAUSSIAN;
    s->ell = 1.0;
    s->scheme = NO_SCHEME_EULER;
    s->m = 1;
    s->adjoint = NO_ADJOINT_DISCRETE;
    s->d_in = s->d_out = bp->d;
    s->D = bp->D;
    s->q = bp->q;
    s->L = bp->L;
    s->N = bp->N;
}

/* Growable list of run times. */
typedef struct {
    double *t;
    size_t n, cap;
} samples;

static int samples_push(samples *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        double *t = realloc(s->t, cap * sizeof *t);
        if (!t)
            return -1;
        s->t = t;
        s->cap = cap;
    }
    s->t[s->n++] = x;
    return 0;
}

/* Should the cell run again, given its samples and elapsed time? */
static int more_runs(const samples *s, double spent, int quick)
{
    if (quick)
        return s->n < 1;
    if (s->n >= MAX_RUNS)
        return 0;
    return s->n < MIN_RUNS || spent < MIN_CELL_SECONDS;
}

static void progress(const bench_cell *c, const samples *s, double last)
{
    if (last < PROGRESS_SECONDS)
        return;
    if (c->impl == IMPL_REF)
        fprintf(stderr, "bench: %s ref%ld run %zu: %.3f s\n", c->bp->problem, c->prec, s->n,
                last);
    else
        fprintf(stderr, "bench: %s fast run %zu: %.3f s\n", c->bp->problem, s->n, last);
}

static int time_fast(bench_cell *c, const no_problem *p, samples *s, int quick)
{
    char err[256];
    fast_ws *ws = fast_ws_alloc(&p->spec);
    no_arrays out = {0};
    if (!ws || no_outputs_init(&out, &p->spec)) {
        fprintf(stderr, "bench: %s fast: out of memory\n", c->bp->problem);
        fast_ws_free(ws);
        return -1;
    }
    int rc = 0;
    double spent = 0;
    while (more_runs(s, spent, quick)) {
        double t0 = now_seconds();
        rc = fast_run_ws(ws, p, &out, err, sizeof err);
        double dt = now_seconds() - t0;
        if (rc) {
            fprintf(stderr, "bench: %s fast: %s\n", c->bp->problem, err);
            break;
        }
        if (samples_push(s, dt)) {
            rc = -1;
            break;
        }
        spent += dt;
        progress(c, s, dt);
    }
    no_arrays_free(&out);
    fast_ws_free(ws);
    return rc;
}

static int time_ref(bench_cell *c, const no_problem *p, samples *s, int quick)
{
    char err[256];
    double spent = 0;
    while (more_runs(s, spent, quick)) {
        ref_model m;
        ref_result res;
        memset(&res, 0, sizeof res);
        double t0 = now_seconds();
        int rc = ref_model_init(&m, p, (mpfr_prec_t)c->prec, err, sizeof err);
        if (!rc) {
            rc = ref_run(&m, &res, err, sizeof err);
            double dt = now_seconds() - t0;
            ref_result_clear(&res);
            ref_model_clear(&m);
            if (!rc) {
                if (samples_push(s, dt))
                    return -1;
                spent += dt;
                progress(c, s, dt);
                continue;
            }
        }
        fprintf(stderr, "bench: %s ref%ld: %s\n", c->bp->problem, c->prec, err);
        return -1;
    }
    return 0;
}

static void run_cell(bench_cell *c, const no_problem *p, int quick)
{
    samples s = {0};
    int rc = c->impl == IMPL_FAST ? time_fast(c, p, &s, quick) : time_ref(c, p, &s, quick);
    c->ok = !rc && s.n > 0;
    c->runs = s.n;
    c->median = c->ok ? median_of(s.t, s.n) : 0;
    free(s.t);
}

static const bench_cell *find_cell(const bench_cell *cells, size_t n, const char *problem,
                                   impl_kind impl, long prec)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cells[i].bp->problem, problem) && cells[i].impl == impl &&
            (impl == IMPL_FAST || cells[i].prec == prec) && cells[i].ok)
            return &cells[i];
    return NULL;
}

/* ---- Part two: `nodeoracle check` on the default suite ---------------- */

typedef enum { CHECK_GOLDEN, CHECK_FLY, CHECK_MODES } check_mode;
static const char *const check_flag[CHECK_MODES] = {"--golden", "--on-the-fly"};

typedef struct {
    char name[256]; /* the problem directory's name, as gen made it */
    double median[CHECK_MODES];
    size_t runs[CHECK_MODES];
    int ok[CHECK_MODES];
} check_cell;

/* The nodeoracle binary next to this one (build-bench/), as tests/test_cli.c
 * finds it; NULL if there is none.  Not ./build/nodeoracle: that one is -O2
 * and may be older than the library measured above. */
static const char *sibling_nodeoracle(char *buf, size_t n)
{
    char self[NO_PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0)
        return NULL;
    self[k] = 0;
    char *slash = strrchr(self, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    if (snprintf(buf, n, "%s/nodeoracle", self) >= (int)n || access(buf, X_OK))
        return NULL;
    return buf;
}

/* fork + exec argv[0] with stdout on /dev/null (check's table would
 * otherwise be timed through a terminal), stderr inherited (a failing run's
 * one-line reason shows).  Returns the exit status, or -1 if the child did
 * not exit normally or could not be started. */
static int run_quiet(char *const argv[])
{
    fflush(NULL); /* no buffered output of ours duplicated into the child */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}


/* The candidate directory of one problem: fast/'s outputs in the candidate
 * format (docs/formats.md), every array of the layout except the metric
 * gradients, which are not part of it.  Returns 0, or -1 with err filled. */
static int write_candidate(const char *problem_dir, const char *cand_dir, char *err, size_t len)
{
    no_problem p;
    if (no_problem_dir_read(problem_dir, &p, err, len))
        return -1;
    no_arrays out = {0};
    int rc = fast_run(&p, &out, err, len);
    if (!rc)
        rc = no_path_mkdirs(cand_dir, err, len);
    for (int i = 0; !rc && i < out.count; i++) {
        char file[NO_NAME_LEN + 8], path[NO_PATH_MAX];
        if (!strncmp(out.a[i].name, "mgrad_", 6))
            continue;
        snprintf(file, sizeof file, "%s.npy", out.a[i].name);
        rc = no_path_join(path, sizeof path, cand_dir, file, err, len) ||
             no_npy_write(path, &out.a[i], err, len);
    }
    no_arrays_free(&out);
    no_problem_free(&p);
    return rc ? -1 : 0;
}

static int is_problem_entry(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Time `check MODE` on one problem until more_runs() says enough. */
static void time_check(check_cell *c, check_mode mode, const char *bin, const char *problem_dir,
                       const char *cand_dir, int quick)
{
    char *argv[] = {(char *)bin,          "check", "--problem",          (char *)problem_dir,
                    "--candidate",        (char *)cand_dir, (char *)check_flag[mode], NULL};
    samples s = {0};
    double spent = 0;
    int st = 0;
    while (more_runs(&s, spent, quick)) {
        double t0 = now_seconds();
        st = run_quiet(argv);
        double dt = now_seconds() - t0;
        if (st != 0) {
            fprintf(stderr, "bench: %s check %s: exit status %d (expected 0: the fast/ "
                            "candidate passes)\n", c->name, check_flag[mode], st);
            break;
        }
        if (samples_push(&s, dt)) {
            st = -1;
            break;
        }
        spent += dt;
        if (dt >= PROGRESS_SECONDS)
            fprintf(stderr, "bench: %s check %s run %zu: %.3f s\n", c->name, check_flag[mode],
                    s.n, dt);
    }
    c->ok[mode] = st == 0 && s.n > 0;
    c->runs[mode] = s.n;
    c->median[mode] = c->ok[mode] ? median_of(s.t, s.n) : 0;
    free(s.t);
}

/* Set up the default suite's problems and candidates in a temporary
 * directory, time check on each, print the table and the target.
 * Returns 0 if every cell was measured. */
static int bench_check(int quick)
{
    char bin[NO_PATH_MAX + 16], err[512];
    printf("\nnodeoracle bench: median wall time of one `nodeoracle check` of fast/'s outputs%s\n",
           quick ? " (--quick: 1 run per cell, not a median)" : "");
    if (!sibling_nodeoracle(bin, sizeof bin)) {
        printf("check: not measured: no nodeoracle next to this binary (`make bench` builds "
               "build-bench/nodeoracle)\n");
        return 1;
    }
    const char *tmpdir = getenv("TMPDIR");
    char root[NO_PATH_MAX], problems[NO_PATH_MAX], cands[NO_PATH_MAX];
    if (no_path_join(root, sizeof root, tmpdir && *tmpdir ? tmpdir : "/tmp",
                     "nodeoracle-bench.XXXXXX", err, sizeof err) ||
        !mkdtemp(root)) {
        printf("check: not measured: cannot make a temporary directory in %s\n",
               tmpdir && *tmpdir ? tmpdir : "/tmp");
        return 1;
    }
    if (no_path_join(problems, sizeof problems, root, "problems", err, sizeof err) ||
        no_path_join(cands, sizeof cands, root, "candidates", err, sizeof err)) {
        printf("check: not measured: %s\n", err);
        no_path_rmtree(root, err, sizeof err);
        return 1;
    }

    /* Not timed: gen runs the reference at 192 bits, certified, per problem. */
    fprintf(stderr, "bench: %s gen --suite %s --out %s\n", bin, CHECK_SUITE, problems);
    char *gen[] = {bin, "gen", "--suite", CHECK_SUITE, "--out", problems, NULL};
    int st = run_quiet(gen);
    struct dirent **ents = NULL;
    int n = st == 0 ? scandir(problems, &ents, is_problem_entry, alphasort) : -1;
    if (n <= 0) {
        printf("check: not measured: nodeoracle gen exit status %d\n", st);
        no_path_rmtree(root, err, sizeof err);
        return 1;
    }
    check_cell *cells = calloc((size_t)n, sizeof *cells);
    int failed = !cells;
    for (int i = 0; cells && i < n; i++) {
        check_cell *c = &cells[i];
        char pdir[NO_PATH_MAX], cdir[NO_PATH_MAX];
        snprintf(c->name, sizeof c->name, "%s", ents[i]->d_name);
        if (no_path_join(pdir, sizeof pdir, problems, c->name, err, sizeof err) ||
            no_path_join(cdir, sizeof cdir, cands, c->name, err, sizeof err) ||
            write_candidate(pdir, cdir, err, sizeof err)) {
            fprintf(stderr, "bench: %s: %s\n", c->name, err);
            failed = 1;
            continue;
        }
        fprintf(stderr, "bench: check %s\n", c->name);
        for (int m = 0; m < CHECK_MODES; m++) {
            time_check(c, (check_mode)m, bin, pdir, cdir, quick);
            failed |= !c->ok[m];
        }
    }

    printf("suite %s (%d problems); the candidate: fast/ in float64; stdout to /dev/null\n\n",
           CHECK_SUITE, n);
    printf("%-40s %12s %6s %14s %6s %10s\n", "problem", "golden [s]", "runs", "on-the-fly [s]",
           "runs", "fly/golden");
    double total[CHECK_MODES] = {0, 0}, worst = -1;
    int all_ok[CHECK_MODES] = {1, 1};
    const char *worst_name = NULL;
    for (int i = 0; cells && i < n; i++) {
        const check_cell *c = &cells[i];
        printf("%-40s", c->name);
        for (int m = 0; m < CHECK_MODES; m++) {
            if (c->ok[m])
                printf(" %*.6f %6zu", m == CHECK_GOLDEN ? 12 : 14, c->median[m], c->runs[m]);
            else
                printf(" %*s %6s", m == CHECK_GOLDEN ? 12 : 14, "FAILED", "-");
            total[m] += c->median[m];
            all_ok[m] &= c->ok[m];
        }
        if (c->ok[CHECK_GOLDEN] && c->ok[CHECK_FLY] && c->median[CHECK_GOLDEN] > 0)
            printf(" %10.1f", c->median[CHECK_FLY] / c->median[CHECK_GOLDEN]);
        printf("\n");
        if (c->ok[CHECK_GOLDEN] && c->median[CHECK_GOLDEN] > worst) {
            worst = c->median[CHECK_GOLDEN];
            worst_name = c->name;
        }
    }
    /* The total is the sum of the per-problem medians: the time to check the
     * whole suite, one process per problem, as a user's script would. */
    printf("%-40s", "total (sum of medians)");
    for (int m = 0; m < CHECK_MODES; m++)
        if (all_ok[m])
            printf(" %*.6f %6s", m == CHECK_GOLDEN ? 12 : 14, total[m], "");
        else
            printf(" %*s %6s", m == CHECK_GOLDEN ? 12 : 14, "incomplete", "");
    if (all_ok[CHECK_GOLDEN] && all_ok[CHECK_FLY] && total[CHECK_GOLDEN] > 0)
        printf(" %10.1f", total[CHECK_FLY] / total[CHECK_GOLDEN]);
    printf("\n");

    printf("\ntarget (issue): check of one %s problem from golden files under %.0f s\n",
           CHECK_SUITE, TARGET_CHECK_GOLDEN_SECONDS);
    if (worst_name)
        printf("  worst golden median: %.6f s (%s) -> %s%s\n", worst, worst_name,
               worst < TARGET_CHECK_GOLDEN_SECONDS ? "PASS" : "MISS",
               all_ok[CHECK_GOLDEN] ? "" : " (some problems not measured)");
    else
        printf("  golden: not measured (failed)\n");

    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    free(cells);
    no_path_rmtree(root, err, sizeof err);
    return failed;
}

/* ---- Part three: one gradient-descent step, fast vs ref at 128 bits ---- */

/* The default problem of `nodeoracle compare --family F`: no_spec_default
 * (N 8, d_in = d_out = 2, D 4, L 8, euler, m 1, discrete adjoint, seed 1)
 * with the family's default width (q 16 for rff, M 8 for mlp). */
static void compare_default_spec(no_spec *s, no_family family)
{
    no_spec_default(s);
    s->family = family;
    s->q = family == NO_FAMILY_RFF ? 16 : 0;
    s->M = family == NO_FAMILY_MLP ? 8 : 0;
}

#define GD_ETA 0.1         /* train's default step */
#define GD_STEPS_FAST 20   /* steps per timed fast_train_gd run */
#define GD_STEPS_REF 8     /* steps per timed ref_train_run */

/* Progress callback of both trainers: the time of each record n = 0..steps.
 * The interval between records n - 1 and n is one step: the update
 * theta <- theta - eta G and the evaluation of F and G at the new theta,
 * the records included; the setup before record 0 is not in any interval. */
typedef struct {
    double *t; /* steps + 1 */
    size_t n;
} stamp_ctx;

static void stamp(void *ctx, size_t done, size_t total)
{
    stamp_ctx *c = ctx;
    (void)total;
    if (done >= 1 && done <= c->n)
        c->t[done - 1] = now_seconds();
}

/* Runs until more_runs() says enough, pushing every step interval into s.
 * impl IMPL_FAST: fast_train_gd; IMPL_REF: ref_train_run at 128 bits. */
static int time_gd(const no_problem *p, impl_kind impl, samples *s, size_t *nruns, int quick)
{
    size_t steps = impl == IMPL_FAST ? GD_STEPS_FAST : GD_STEPS_REF;
    double *t = malloc((steps + 1) * sizeof *t);
    if (!t)
        return -1;
    stamp_ctx sc = {t, steps + 1};
    samples runs = {0}; /* run times, for more_runs() only */
    char err[256];
    int rc = 0;
    double spent = 0;
    while (!rc && more_runs(&runs, spent, quick)) {
        double t0 = now_seconds();
        if (impl == IMPL_FAST) {
            fast_train_traj tr;
            rc = fast_train_gd(p, steps, GD_ETA, 0, stamp, &sc, &tr, err, sizeof err);
            if (!rc)
                fast_train_traj_clear(&tr);
        } else {
            ref_train_opts o;
            memset(&o, 0, sizeof o);
            o.steps = steps;
            o.eta = GD_ETA;
            o.progress = stamp;
            o.progress_ctx = &sc;
            ref_train_traj tr;
            rc = ref_train_run(p, 128, &o, &tr, err, sizeof err);
            if (!rc)
                ref_train_traj_clear(&tr);
        }
        double dt = now_seconds() - t0;
        if (rc) {
            fprintf(stderr, "bench: gd %s: %s\n", impl == IMPL_FAST ? "fast" : "ref128", err);
            break;
        }
        for (size_t n = 1; n <= steps && !rc; n++)
            rc = samples_push(s, t[n] - t[n - 1]);
        rc = rc || samples_push(&runs, dt);
        spent += dt;
    }
    *nruns = runs.n;
    free(runs.t);
    free(t);
    return rc;
}

static int bench_gd(int quick)
{
    static const struct {
        const char *name;
        no_family family;
    } fam[] = {{"linear", NO_FAMILY_LINEAR}, {"rff", NO_FAMILY_RFF}, {"mlp", NO_FAMILY_MLP}};
    int failed = 0;
    printf("\nnodeoracle bench: median wall time of one gradient-descent step%s\n",
           quick ? " (--quick: 1 run per cell, not a median)" : "");
    printf("the default problem of `nodeoracle compare --family F` (N8 d2 D4 L8, euler, m=1, "
           "discrete adjoint; q16 rff gaussian, M8 mlp tanh), eta %g;\n", GD_ETA);
    printf("fast_train_gd (%d steps a run) and ref_train_run at 128 bits (%d steps a run), "
           "uncertified; median over every step of every run\n\n",
           GD_STEPS_FAST, GD_STEPS_REF);
    printf("%-8s %14s %8s %14s %8s %10s\n", "family", "fast [s/step]", "steps",
           "ref128 [s/step]", "steps", "ref/fast");
    for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
        no_spec sp;
        compare_default_spec(&sp, fam[f].family);
        no_problem p;
        char err[256];
        if (no_problem_generate(&p, &sp, err, sizeof err)) {
            fprintf(stderr, "bench: gd %s: %s\n", fam[f].name, err);
            printf("%-8s %14s\n", fam[f].name, "FAILED");
            failed = 1;
            continue;
        }
        fprintf(stderr, "bench: gd %s\n", fam[f].name);
        samples sf = {0}, sr = {0};
        size_t rf = 0, rr = 0;
        int okf = !time_gd(&p, IMPL_FAST, &sf, &rf, quick) && sf.n > 0;
        int okr = !time_gd(&p, IMPL_REF, &sr, &rr, quick) && sr.n > 0;
        double mf = okf ? median_of(sf.t, sf.n) : 0, mr = okr ? median_of(sr.t, sr.n) : 0;
        printf("%-8s", fam[f].name);
        if (okf)
            printf(" %14.6e %8zu", mf, sf.n);
        else
            printf(" %14s %8s", "FAILED", "-");
        if (okr)
            printf(" %14.6e %8zu", mr, sr.n);
        else
            printf(" %14s %8s", "FAILED", "-");
        if (okf && okr && mf > 0)
            printf(" %10.0f", mr / mf);
        printf("\n");
        failed |= !okf || !okr;
        free(sf.t);
        free(sr.t);
        no_problem_free(&p);
    }
    return failed;
}

/* ---- Part four: kernel GD, time of step j as the expansion grows ------- */

/* Neither fast_kernel_gd nor ref_kernel_gd reports per step, so the time of
 * step j is taken as T(j) - T(j - 1), T(i) the wall time of a whole run of i
 * iterations (the setup cancels).  One repetition runs i = 0..KGD_STEPS in
 * turn; the step time is the median over repetitions of that paired
 * difference.  The problem is the default rff one of part three (only its
 * data X, Y, A, B and its step grid are used), the kernel gaussian ell=1. */
#define KGD_STEPS 16
#define KGD_ETA 0.1
/* Repetitions of one implementation: at least KGD_MIN_REPS, and more until
 * KGD_MIN_SECONDS are spent (fast: a sweep takes milliseconds, and the
 * difference of two run times is noisier than either), at most KGD_MAX_REPS. */
#define KGD_MIN_REPS 5
#define KGD_MIN_SECONDS 3.0
#define KGD_MAX_REPS 400

static int kgd_run(const no_problem *p, const ref_model *rm, impl_kind impl, size_t iters,
                   double *dt, char *err, size_t len)
{
    int rc;
    double t0 = now_seconds();
    if (impl == IMPL_FAST) {
        fast_kernel k;
        fast_kernel_gaussian(&k, p->spec.ell);
        fast_kernel_trace tr;
        rc = fast_kernel_gd(p, &k, KGD_ETA, iters, 0, &tr, err, len);
        *dt = now_seconds() - t0;
        if (!rc)
            fast_kernel_trace_clear(&tr);
    } else {
        ref_kernel *k = ref_kernel_gaussian(p->spec.D, p->spec.ell, rm->prec);
        if (!k)
            return no_errorf(err, len, "out of memory (kernel)");
        ref_kernel_trace tr;
        rc = ref_kernel_gd(rm, k, KGD_ETA, iters, 0, &tr, err, len);
        *dt = now_seconds() - t0;
        if (!rc)
            ref_kernel_trace_clear(&tr);
        ref_kernel_free(k);
    }
    return rc;
}

/* Least-squares slope of log t_j against log j over j = j0..n (t_j > 0 only);
 * *used: the number of points.  NAN if fewer than 2. */
static double fit_exponent(const double *t, size_t j0, size_t n, size_t *used)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    size_t k = 0;
    for (size_t j = j0; j <= n; j++) {
        if (!(t[j] > 0))
            continue;
        double x = log((double)j), y = log(t[j]);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        k++;
    }
    *used = k;
    double den = (double)k * sxx - sx * sx;
    return k >= 2 && den > 0 ? ((double)k * sxy - sx * sy) / den : NAN;
}

static int bench_kernel_gd(int quick)
{
    const size_t n = KGD_STEPS, j0 = KGD_STEPS / 2;
    size_t reps[2] = {0, 0};
    no_spec sp;
    compare_default_spec(&sp, NO_FAMILY_RFF); /* only X, Y, A, B and the grid are used */
    no_problem p;
    ref_model rm;
    char err[256];
    printf("\nnodeoracle bench: kernel gradient descent, time of step j = 1..%zu%s\n", n,
           quick ? " (--quick: 1 repetition, not a median)" : "");
    if (no_problem_generate(&p, &sp, err, sizeof err)) {
        printf("kernel gd: not measured: %s\n", err);
        return 1;
    }
    if (ref_model_init(&rm, &p, 128, err, sizeof err)) {
        printf("kernel gd: not measured: %s\n", err);
        no_problem_free(&p);
        return 1;
    }
    /* T[impl][r][i]: run time of i iterations in repetition r */
    double *T = malloc(KGD_MAX_REPS * (n + 1) * sizeof *T);
    double *d = malloc(KGD_MAX_REPS * sizeof *d);
    double *step = malloc(2 * (n + 1) * sizeof *step);
    int failed = !T || !d || !step;
    for (int im = 0; im < 2 && !failed; im++) {
        impl_kind impl = im ? IMPL_REF : IMPL_FAST;
        fprintf(stderr, "bench: kernel gd %s\n", im ? "ref128" : "fast");
        size_t r = 0;
        double spent = 0;
        while (!failed && r < KGD_MAX_REPS &&
               (quick ? r < 1 : r < KGD_MIN_REPS || spent < KGD_MIN_SECONDS)) {
            for (size_t i = 0; i <= n && !failed; i++)
                if (kgd_run(&p, &rm, impl, i, &T[r * (n + 1) + i], err, sizeof err)) {
                    fprintf(stderr, "bench: kernel gd %s: %s\n", im ? "ref128" : "fast", err);
                    failed = 1;
                } else {
                    spent += T[r * (n + 1) + i];
                }
            r++;
        }
        reps[im] = r;
        for (size_t j = 1; j <= n && !failed; j++) {
            for (size_t k = 0; k < r; k++)
                d[k] = T[k * (n + 1) + j] - T[k * (n + 1) + j - 1];
            step[im * (n + 1) + j] = median_of(d, r);
        }
    }
    if (failed) {
        printf("kernel gd: not measured (failed)\n");
    } else {
        printf("gaussian ell=1 on the data and grid of the default rff problem (N8 d2 D4 L8, "
               "euler, m=1), eta %g; step j appends N m S = %zu centres per layer\n",
               KGD_ETA, sp.N * sp.m);
        printf("step time = median over repetitions (fast %zu, ref %zu) of T(j) - T(j-1), "
               "T(i) a whole run of i iterations; ref at 128 bits\n",
               reps[0], reps[1]);
        printf("expected: linear in j (step j evaluates and differentiates an expansion of "
               "O(j) centres), exponent 1\n\n");
        printf("%4s %14s %14s %10s\n", "j", "fast [s]", "ref128 [s]", "ref/fast");
        for (size_t j = 1; j <= n; j++) {
            double f = step[j], r = step[n + 1 + j];
            printf("%4zu %14.6e %14.6e", j, f, r);
            if (f > 0 && r > 0)
                printf(" %10.0f", r / f);
            printf("\n");
        }
        for (int im = 0; im < 2; im++) {
            size_t used;
            double e = fit_exponent(&step[im * (n + 1)], j0, n, &used);
            printf("fitted exponent (%s): %.2f  (log t_j vs log j, j = %zu..%zu, %zu points "
                   "with t_j > 0)\n",
                   im ? "ref128" : "fast  ", e, j0, n, used);
        }
    }
    free(T);
    free(d);
    free(step);
    ref_model_clear(&rm);
    no_problem_free(&p);
    return failed;
}

/* ---- Part five: the COT distance's assignment, time vs M ---------------- */

#define COT_MMIN 64
#define COT_MMAX 4096
#define COT_DIM 9
#define COT_FIT_MMIN 512
#define COT_CERT_MMAX 512
/* Runs of one size: until MIN_CELL_SECONDS and MIN_RUNS, but a size whose
 * single run takes longer than this is run once (M = 4096 takes seconds). */
#define COT_ONE_RUN_SECONDS 2.0

static int bench_cot(int quick)
{
    printf("\nnodeoracle bench: COT distance, one layer's assignment vs M (points in R^%d)%s\n",
           COT_DIM, quick ? " (--quick: 1 run, not a median)" : "");
    printf("fast: cost matrix + Hungarian (shortest augmenting paths, O(M^3) worst case); "
           "ref: the MPFR certificate at 128 bits (M <= %d)\n\n", COT_CERT_MMAX);
    printf("%6s %14s %6s %14s %12s\n", "M", "fast [s]", "runs", "ref cert [s]", "cert eps");
    double lx[16], ly[16];
    size_t nfit = 0;
    int failed = 0;
    unsigned long long st = 88172645463325252ull;
    for (size_t M = COT_MMIN; M <= COT_MMAX && !failed; M *= 2) {
        double *x = malloc(M * COT_DIM * sizeof *x), *y = malloc(M * COT_DIM * sizeof *y);
        double *c = malloc(M * M * sizeof *c), *u = malloc(M * sizeof *u);
        double *v = malloc(M * sizeof *v);
        size_t *perm = malloc(M * sizeof *perm);
        samples sm = {0};
        char err[256];
        failed = !x || !y || !c || !u || !v || !perm;
        for (size_t i = 0; i < M * COT_DIM && !failed; i++) {
            /* xorshift64: a fixed, platform-independent instance */
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            x[i] = (double)(st >> 11) * 0x1p-52 - 1;
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            y[i] = (double)(st >> 11) * 0x1p-52 - 1;
        }
        double spent = 0, last = 0;
        while (!failed && (sm.n == 0 || (!quick && last < COT_ONE_RUN_SECONDS &&
                                         more_runs(&sm, spent, quick)))) {
            double t0 = now_seconds();
            failed = fast_assign_sqdist(M, COT_DIM, x, y, NULL, NULL, 0, c) ||
                     fast_assign_solve(M, c, perm, u, v, NULL, err, sizeof err);
            last = now_seconds() - t0;
            spent += last;
            failed |= samples_push(&sm, last);
        }
        if (failed) {
            printf("%6zu %14s\n", M, "FAILED");
        } else {
            double med = median_of(sm.t, sm.n);
            printf("%6zu %14.6e %6zu", M, med, sm.n);
            if (M >= COT_FIT_MMIN && med > 0) {
                lx[nfit] = log((double)M);
                ly[nfit++] = log(med);
            }
            if (M <= COT_CERT_MMAX) {
                ref_assign_points pts = {M, COT_DIM, x, y, NULL, NULL, 0};
                ref_assign_cert cert;
                ref_assign_cert_init(&cert, 128);
                double t0 = now_seconds();
                int rc = ref_assign_certify(&pts, perm, u, v, &cert, err, sizeof err);
                double tc = now_seconds() - t0;
                if (rc || !cert.verified) {
                    printf(" %14s\n", rc ? "FAILED" : "NOT verified");
                    failed = 1;
                } else {
                    printf(" %14.6e %12.3e\n", tc, mpfr_get_d(cert.eps, MPFR_RNDU));
                }
                ref_assign_cert_clear(&cert);
            } else {
                printf("\n");
            }
        }
        free(sm.t);
        free(x), free(y), free(c), free(u), free(v), free(perm);
    }
    if (nfit >= 2) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (size_t i = 0; i < nfit; i++)
            sx += lx[i], sy += ly[i], sxx += lx[i] * lx[i], sxy += lx[i] * ly[i];
        double k = (double)nfit, e = (k * sxy - sx * sy) / (k * sxx - sx * sx);
        printf("fitted exponent (fast): %.2f  (log t vs log M, M = %d..%d, %zu points; "
               "worst case 3)\n",
               e, COT_FIT_MMIN, COT_MMAX, nfit);
    }
    /* one RK4 step of the COT particle flow (fast_cot_flow: four metric
     * gradients of the whole network) on the default mlp problem, M = 4096 */
    no_spec fs;
    no_spec_default(&fs);
    fs.family = NO_FAMILY_MLP;
    fs.M = COT_MMAX;
    no_problem fp;
    char ferr[256];
    if (no_problem_generate(&fp, &fs, ferr, sizeof ferr)) {
        printf("COT flow step: not measured: %s\n", ferr);
        return failed;
    }
    fast_cot_flow_opts fo = {.T = 1e-3, .records = 1, .substeps = 1};
    samples fsm = {0};
    double fspent = 0;
    int ffail = 0;
    while (!ffail && more_runs(&fsm, fspent, quick)) {
        fast_cot_flow_traj tr;
        double t0 = now_seconds();
        ffail = fast_cot_flow_run(&fp, &fo, &tr, ferr, sizeof ferr);
        double dt = now_seconds() - t0;
        fspent += dt;
        if (!ffail) {
            fast_cot_flow_traj_clear(&tr);
            ffail = samples_push(&fsm, dt);
        }
    }
    if (ffail)
        printf("COT flow step (M = %d): FAILED %s\n", COT_MMAX, ferr);
    else
        printf("COT flow, one RK4 step of the particles (fast, default mlp problem, M = %d, "
               "N = %zu, L = %zu): %.6e s (median of %zu)\n",
               COT_MMAX, fs.N, fs.L, median_of(fsm.t, fsm.n), fsm.n);
    free(fsm.t);
    no_problem_free(&fp);
    return failed || ffail;
}

/* ---- Part six: peers side by side -------------------------------------- */

/* fast, ref (128 bits), the NumPy example and the PyTorch example (when
 * `import torch` works) on the same arrays: each problem is generated once
 * (no_problem_generate), written with no_problem_dir_write into a temporary
 * directory, and the Python peers read that directory (bench/peer_numpy.py,
 * which times only run() inside Python: no interpreter start-up, imports or
 * file reading).  fast and ref run in this process on the generated problem.
 *
 * Flop count of one forward + full gradient (rff, Euler, m = 1, discrete
 * adjoint), per layer and data point, q features, state dimension D:
 *   forward   pre = Omega z (q x D: 2qD), v = W phi (D x q: 2qD)
 *   backward  W^T lam (2qD), Omega^T (g o W^T lam) (2qD), lam phi^T (2qD)
 * i.e. five N x q x D products per layer: FLOPS = 10 N q D L (multiply and
 * add counted separately; encoder, decoder, loss and the O(N (q + D) L)
 * elementwise work left out, being lower order).  Transcendentals: cos and
 * sin of the same N q L arguments (one sincos each).
 * The DGEMM peak is measured here: cblas_dgemm of square 512 x 512 matrices
 * (near the best rate this BLAS reaches on this machine), and for reference the
 * rate of the run's own product shape (N x D) (D x q).  The trig-inclusive
 * floor is FLOPS / peak + N q L t_sincos, t_sincos the measured time of one
 * sin + cos of libm in a scalar loop: the time of this arithmetic done with
 * this BLAS at its peak and libm's sin and cos (a vectorised sincos could go
 * below it); %floor = floor / median.
 * Peak memory: VmHWM of this process after resetting it (clear_refs 5)
 * just before the cell (fast, ref); the Python peers report ru_maxrss of their
 * own process, interpreter and library included. */
#define PEER_REF_PREC 128
#define PEER_SQ 512

typedef enum { PEER_FAST, PEER_REF, PEER_NUMPY, PEER_TORCH, PEER_COUNT } peer_kind;
static const char *const peer_name[PEER_COUNT] = {"fast", "ref128", "numpy", "torch"};

typedef struct {
    double median;
    size_t runs;
    double mem_kib; /* < 0: not measured */
    int state;      /* 1 measured, 0 failed, -1 skipped */
    const char *why; /* when skipped */
} peer_cell;

/* Reset the peak RSS of this process (Linux >= 4.0); 0 on success. */
static int hwm_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int rc = fputs("5", f) < 0;
    rc |= fclose(f) != 0;
    return rc ? -1 : 0;
}

/* VmHWM of this process in KiB, or -1. */
static double hwm_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6))
            v = strtod(line + 6, NULL);
    if (f)
        fclose(f);
    return v;
}

/* Rate in flop/s of C = A B, A m x k, B k x n (row major), best of the
 * medians over runs spending about `seconds`. */
static double dgemm_rate(size_t m, size_t n, size_t k, double seconds)
{
    double *A = malloc(m * k * sizeof *A), *B = malloc(k * n * sizeof *B);
    double *C = calloc(m * n, sizeof *C);
    double rate = 0;
    if (A && B && C) {
        for (size_t i = 0; i < m * k; i++)
            A[i] = 1.0 / (double)(i % 97 + 1);
        for (size_t i = 0; i < k * n; i++)
            B[i] = 1.0 / (double)(i % 89 + 2);
        samples s = {0};
        double spent = 0;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0, A,
                    (int)k, B, (int)n, 0.0, C, (int)n); /* warm-up */
        while (s.n < 5 || (spent < seconds && s.n < 100000)) {
            double t0 = now_seconds();
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0,
                        A, (int)k, B, (int)n, 0.0, C, (int)n);
            double dt = now_seconds() - t0;
            spent += dt;
            if (samples_push(&s, dt))
                break;
        }
        if (s.n)
            rate = 2.0 * (double)m * (double)n * (double)k / median_of(s.t, s.n);
        free(s.t);
    }
    free(A), free(B), free(C);
    return rate;
}

/* Seconds of one sin + cos of a double, measured on a loop over n arguments
 * spread like the run's (|x| up to a few units). */
static volatile double peer_sink;
static double sincos_seconds(void)
{
    enum { NS = 1 << 16 };
    double *x = malloc(NS * sizeof *x), acc = 0;
    if (!x)
        return 0;
    for (size_t i = 0; i < NS; i++)
        x[i] = -8.0 + 16.0 * (double)i / NS;
    samples s = {0};
    double spent = 0;
    while (s.n < 5 || spent < 0.2) {
        double t0 = now_seconds();
        for (size_t i = 0; i < NS; i++)
            acc += cos(x[i]) + sin(x[i]);
        double dt = now_seconds() - t0;
        spent += dt;
        if (samples_push(&s, dt))
            break;
    }
    peer_sink = acc;
    double t = s.n ? median_of(s.t, s.n) / NS : 0;
    free(s.t);
    free(x);
    return t;
}

/* The driver: bench/peer_numpy.py of the working directory (make bench runs
 * in the checkout), else of the checkout above this binary's directory. */
static const char *peer_driver(char *buf, size_t n)
{
    if (!access("bench/peer_numpy.py", R_OK))
        return snprintf(buf, n, "bench/peer_numpy.py") < (int)n ? buf : NULL;
    char self[NO_PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0)
        return NULL;
    self[k] = 0;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(self, '/');
        if (!slash)
            return NULL;
        *slash = 0;
    }
    if (snprintf(buf, n, "%s/bench/peer_numpy.py", self) >= (int)n || access(buf, R_OK))
        return NULL;
    return buf;
}

/* Run the Python peer on dir; fill c.  Exit 77: skipped (torch missing). */
static void time_python_peer(peer_cell *c, const char *driver, const char *dir, int torch,
                             size_t runs, double min_seconds, int warmup)
{
    char cmd[3 * NO_PATH_MAX];
    if (strchr(driver, '\'') || strchr(dir, '\'')) {
        c->state = 0;
        return;
    }
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 '%s' '%s'%s --runs %zu --min-seconds %g --warmup %d", driver,
             dir, torch ? " --torch" : "", runs, min_seconds, warmup);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    if (!p) {
        c->state = 0;
        return;
    }
    double med = 0, kib = -1;
    size_t n = 0;
    int got = fscanf(p, "%lf %zu %lf", &med, &n, &kib);
    int st = pclose(p);
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        c->state = -1;
        c->why = "not installed";
    } else if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        c->state = -1;
        c->why = "no /usr/bin/python3";
    } else if (got == 3 && st == 0 && med > 0) {
        c->state = 1;
        c->median = med;
        c->runs = n;
        c->mem_kib = kib;
    } else {
        c->state = 0;
    }
}

/* Least-squares slope of y against x (n >= 2 points), NAN if undefined. */
static double lsq_slope(const double *x, const double *y, size_t n)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        sx += x[i], sy += y[i], sxx += x[i] * x[i], sxy += x[i] * y[i];
    double k = (double)n, den = k * sxx - sx * sx;
    return n >= 2 && den > 0 ? (k * sxy - sx * sy) / den : NAN;
}

/* Fitted cost exponents: fast on the default problem with one of N, L, q at
 * 1/4, 1/2 and 1 times its value (the others fixed), the slope of log t in
 * log size; ref on tiny at p = 128 (the table's), 256, 512, 1024 bits, the
 * slope of log t in log p.  Expected: 1 in N, L and q (10 N q D L flops);
 * in p below 1 over 128..1024 bits (MPFR's fixed cost per call dominates
 * there; measured about 0.6), tending to 1..2 at much higher precisions. */
static int peer_exponents(int quick, double fast_default, const peer_cell *tiny_ref)
{
    static const bench_problem def = {"default", 2, 8, 256, 64, 1024};
    static const char *const dim[3] = {"N", "L", "q"};
    int failed = 0;
    char err[256];
    printf("\ncost exponents (least squares of log t in log size%s)\n",
           quick ? "; --quick: 1 run per point" : "");
    for (int k = 0; k < 3; k++) {
        double lx[3], ly[3];
        size_t n = 0;
        printf("  fast, %s:", dim[k]);
        for (size_t f = 4; f >= 1; f /= 2) {
            bench_problem bp = def;
            size_t *v = k == 0 ? &bp.N : k == 1 ? &bp.L : &bp.q;
            *v /= f;
            double t = f == 1 ? fast_default : 0;
            if (!(t > 0)) {
                no_spec s;
                no_problem p;
                spec_of(&bp, &s);
                if (no_problem_generate(&p, &s, err, sizeof err)) {
                    printf(" (%s)", err);
                    failed = 1;
                    break;
                }
                bench_cell bc = {&bp, IMPL_FAST, 0, 0, 0, 0};
                samples sm = {0};
                if (!time_fast(&bc, &p, &sm, quick) && sm.n)
                    t = median_of(sm.t, sm.n);
                free(sm.t);
                no_problem_free(&p);
            }
            printf(" %s=%zu %.3e s", dim[k], *v, t);
            if (t > 0) {
                lx[n] = log((double)*v);
                ly[n++] = log(t);
            }
        }
        printf("  -> exponent %.2f\n", lsq_slope(lx, ly, n));
    }
    /* ref in p, on tiny */
    static const bench_problem tiny = {"tiny", 2, 4, 32, 16, 64};
    no_spec s;
    no_problem p;
    spec_of(&tiny, &s);
    if (no_problem_generate(&p, &s, err, sizeof err)) {
        printf("  ref, p: not measured: %s\n", err);
        return 1;
    }
    double lx[4], ly[4];
    size_t n = 0;
    printf("  ref (tiny), p:");
    for (long prec = 128; prec <= 1024; prec *= 2) {
        double t = prec == 128 && tiny_ref->state == 1 ? tiny_ref->median : 0;
        if (!(t > 0)) {
            bench_cell bc = {&tiny, IMPL_REF, prec, 0, 0, 0};
            samples sm = {0};
            if (!time_ref(&bc, &p, &sm, quick) && sm.n)
                t = median_of(sm.t, sm.n);
            free(sm.t);
        }
        printf(" %ld:%.3e s", prec, t);
        if (t > 0) {
            lx[n] = log((double)prec);
            ly[n++] = log(t);
        }
    }
    printf("  -> exponent %.2f\n", lsq_slope(lx, ly, n));
    no_problem_free(&p);
    return failed;
}

static int bench_peers(int quick, int ref_default)
{
    peer_cell peers_tiny_ref = {0, 0, -1, 0, NULL};
    double fast_default = 0;
    char refwhy[160];
    static const bench_problem pp[] = {
        {"tiny", 2, 4, 32, 16, 64},
        {"default", 2, 8, 256, 64, 1024},
        {"large", 16, 64, 1024, 32, 4096},
    };
    const size_t np = quick ? 2 : 3;
    char drv[NO_PATH_MAX + 32], err[512];
    printf("\nnodeoracle bench: peers side by side, one forward + full gradient on the same "
           "arrays%s\n", quick ? " (--quick: tiny and default only, fewer runs)" : "");
    printf("rff gaussian ell=1, euler, m=1, discrete adjoint; fast and ref in this process, "
           "numpy and torch timed inside Python (bench/peer_numpy.py)\n");
    const char *driver = peer_driver(drv, sizeof drv);
    const char *tmpdir = getenv("TMPDIR");
    char root[NO_PATH_MAX];
    if (no_path_join(root, sizeof root, tmpdir && *tmpdir ? tmpdir : "/tmp",
                     "nodeoracle-peers.XXXXXX", err, sizeof err) ||
        !mkdtemp(root)) {
        printf("peers: not measured: cannot make a temporary directory\n");
        return 1;
    }
    double peak = dgemm_rate(PEER_SQ, PEER_SQ, PEER_SQ, quick ? 0.1 : 0.3);
    double tsc = sincos_seconds();
    printf("measured: DGEMM peak %.2f GFLOP/s (cblas_dgemm %dx%dx%d), sin+cos %.2f ns\n",
           peak * 1e-9, PEER_SQ, PEER_SQ, PEER_SQ, tsc * 1e9);
    printf("flops = 10 N q D L (five N x q x D products per layer); floor = flops/peak + "
           "N q L t_sincos\n");
    int failed = 0;
    for (size_t ip = 0; ip < np; ip++) {
        const bench_problem *bp = &pp[ip];
        int large = ip == 2;
        no_spec s;
        spec_of(bp, &s);
        no_problem p;
        char dir[NO_PATH_MAX];
        peer_cell cell[PEER_COUNT];
        memset(cell, 0, sizeof cell);
        for (int i = 0; i < PEER_COUNT; i++)
            cell[i].mem_kib = -1;
        if (no_problem_generate(&p, &s, err, sizeof err) ||
            no_path_join(dir, sizeof dir, root, bp->problem, err, sizeof err) ||
            no_problem_dir_write(dir, &p, err, sizeof err)) {
            printf("%s: not measured: %s\n", bp->problem, err);
            failed = 1;
            continue;
        }
        fprintf(stderr, "bench: peers %s\n", bp->problem);
        /* fast */
        {
            bench_cell bc = {bp, IMPL_FAST, 0, 0, 0, 0};
            samples sm = {0};
            int reset = !hwm_reset();
            int rc = time_fast(&bc, &p, &sm, quick || large); /* large: 1 run (~20 s) */
            cell[PEER_FAST].state = !rc && sm.n;
            cell[PEER_FAST].runs = sm.n;
            cell[PEER_FAST].median = sm.n ? median_of(sm.t, sm.n) : 0;
            cell[PEER_FAST].mem_kib = reset ? hwm_kib() : -1;
            free(sm.t);
            if (ip == 1)
                fast_default = cell[PEER_FAST].median;
        }
        /* ref: a median on tiny; on default one run, and only with --ref-default
         * (minutes of MPFR work); never on large */
        if (ip > 0 && (!ref_default || large)) {
            /* ref128 costs about 10^3 x tiny on default (minutes), 10^5 x on large */
            const peer_cell *tr = &peers_tiny_ref;
            double ratio = (double)bp->N * bp->q * bp->D * bp->L / (64.0 * 32 * 4 * 16);
            snprintf(refwhy, sizeof refwhy, "skipped: about %.0f s by the flop ratio to tiny%s",
                     tr->state == 1 ? tr->median * ratio : NAN,
                     large ? "" : "; --ref-default measures it");
            cell[PEER_REF].state = -1;
            cell[PEER_REF].why = refwhy;
        } else {
            bench_cell bc = {bp, IMPL_REF, PEER_REF_PREC, 0, 0, 0};
            samples sm = {0};
            int reset = !hwm_reset();
            int rc = time_ref(&bc, &p, &sm, ip == 0 ? quick : 1);
            cell[PEER_REF].state = !rc && sm.n;
            cell[PEER_REF].runs = sm.n;
            cell[PEER_REF].median = sm.n ? median_of(sm.t, sm.n) : 0;
            cell[PEER_REF].mem_kib = reset ? hwm_kib() : -1;
            free(sm.t);
            if (ip == 0)
                peers_tiny_ref = cell[PEER_REF];
        }
        no_problem_free(&p);
        /* the Python peers */
        for (int t = 0; t < 2; t++) {
            peer_cell *c = &cell[t ? PEER_TORCH : PEER_NUMPY];
            if (!driver) {
                c->state = -1;
                c->why = "bench/peer_numpy.py not found";
                continue;
            }
            time_python_peer(c, driver, dir, t, quick || large ? 1 : 3,
                             quick || large ? 0.0 : 0.5, !large);
        }
        double flops = 10.0 * (double)bp->N * (double)bp->q * (double)bp->D * (double)bp->L;
        double floor_s = (peak > 0 ? flops / peak : 0) +
                         (double)bp->N * (double)bp->q * (double)bp->L * tsc;
        double shape = dgemm_rate(bp->N, bp->q, bp->D, quick ? 0.05 : 0.2);
        double best = 0;
        for (int i = 0; i < PEER_COUNT; i++)
            if (cell[i].state == 1 && (best == 0 || cell[i].median < best))
                best = cell[i].median;
        printf("\n%s: d%zu D%zu q%zu L%zu N%zu, %.3e flop; floor %.3e s; DGEMM of the run's "
               "shape (%zu x %zu x %zu) %.2f GFLOP/s\n",
               bp->problem, bp->d, bp->D, bp->q, bp->L, bp->N, flops, floor_s, bp->N, bp->q,
               bp->D, shape * 1e-9);
        printf("%-7s %13s %6s %9s %9s %8s %8s %12s\n", "impl", "median [s]", "runs", "/best",
               "GFLOP/s", "%peak", "%floor", "peak mem");
        for (int i = 0; i < PEER_COUNT; i++) {
            const peer_cell *c = &cell[i];
            if (c->state != 1) {
                printf("%-7s %13s   (%s)\n", peer_name[i], c->state ? "-" : "FAILED",
                       c->state ? c->why : "see stderr");
                failed |= c->state == 0;
                continue;
            }
            char mem[32];
            if (c->mem_kib > 0)
                snprintf(mem, sizeof mem, "%.1f MiB", c->mem_kib / 1024);
            else
                snprintf(mem, sizeof mem, "not meas.");
            printf("%-7s %13.6e %6zu %9.2f %9.3f %8.2f %8.2f %12s\n", peer_name[i], c->median,
                   c->runs, c->median / best, flops / c->median * 1e-9,
                   peak > 0 ? 100 * flops / c->median / peak : 0, 100 * floor_s / c->median,
                   mem);
        }
    }
    printf("\npeak mem: fast/ref VmHWM of this process after a reset (generated problem and "
           "bench included); numpy/torch ru_maxrss of the Python process\n");
    if (!quick)
        printf("runs: large is 1 run per peer (fast ~20 s, no warm-up of the Python peers): "
               "not a median\n");
    failed |= peer_exponents(quick, fast_default, &peers_tiny_ref);
    no_path_rmtree(root, err, sizeof err);
    return failed;
}

int main(int argc, char **argv)
{
    int quick = 0, only_peers = 0, ref_default = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--part") && i + 1 < argc && !strcmp(argv[i + 1], "peers")) {
            only_peers = 1;
            i++;
        } else if (!strcmp(argv[i], "--ref-default")) {
            ref_default = 1;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--part peers] [--ref-default]\n", argv[0]);
            return 2;
        }
    }
    if (only_peers)
        return bench_peers(quick, ref_default);

    static const bench_problem problems[] = {
        {"tiny", 2, 4, 32, 16, 64},
        {"default", 2, 8, 256, 64, 1024},
        {"large", 16, 64, 1024, 32, 4096},
    };
    bench_cell cells[] = {
        {&problems[0], IMPL_FAST, 0, 0, 0, 0}, {&problems[0], IMPL_REF, 128, 0, 0, 0},
        {&problems[0], IMPL_REF, 256, 0, 0, 0}, {&problems[1], IMPL_FAST, 0, 0, 0, 0},
        {&problems[2], IMPL_FAST, 0, 0, 0, 0},
    };
    const size_t ncells = sizeof cells / sizeof cells[0];

    int failed = 0;
    for (size_t ip = 0; ip < sizeof problems / sizeof problems[0]; ip++) {
        const bench_problem *bp = &problems[ip];
        no_spec s;
        spec_of(bp, &s);
        no_problem p;
        char err[256];
        /* Not timed: the generator is MPFR-based and not what is measured. */
        if (no_problem_generate(&p, &s, err, sizeof err)) {
            fprintf(stderr, "bench: %s: %s\n", bp->problem, err);
            failed = 1;
            continue;
        }
        char desc[256];
        no_spec_describe(&s, desc, sizeof desc);
        fprintf(stderr, "bench: %s: %s\n", bp->problem, desc);
        for (size_t i = 0; i < ncells; i++)
            if (cells[i].bp == bp) {
                run_cell(&cells[i], &p, quick);
                failed |= !cells[i].ok;
            }
        no_problem_free(&p);
    }

    printf("nodeoracle bench: median wall time of one forward + gradient run%s\n",
           quick ? " (--quick: 1 run per cell, not a median)" : "");
    printf("rff gaussian ell=1, euler, m=1, discrete adjoint, d_in = d_out = d\n\n");
    printf("%-8s %-24s %-8s %14s %8s\n", "problem", "sizes", "impl", "median [s]", "runs");
    for (size_t i = 0; i < ncells; i++) {
        const bench_cell *c = &cells[i];
        char sizes[64], impl[16];
        snprintf(sizes, sizeof sizes, "d%zu D%zu q%zu L%zu N%zu", c->bp->d, c->bp->D, c->bp->q,
                 c->bp->L, c->bp->N);
        if (c->impl == IMPL_REF)
            snprintf(impl, sizeof impl, "ref%ld", c->prec);
        else
            snprintf(impl, sizeof impl, "fast");
        if (c->ok)
            printf("%-8s %-24s %-8s %14.6e %8zu\n", c->bp->problem, sizes, impl, c->median,
                   c->runs);
        else
            printf("%-8s %-24s %-8s %14s %8s\n", c->bp->problem, sizes, impl, "FAILED", "-");
    }

    /* The ratios come from cells measured in this same process, one after the
     * other on the same problem, so machine speed cancels out. */
    printf("\n");
    const bench_cell *tf = find_cell(cells, ncells, "tiny", IMPL_FAST, 0);
    const long precs[] = {128, 256};
    for (size_t i = 0; i < sizeof precs / sizeof precs[0]; i++) {
        const bench_cell *tr = find_cell(cells, ncells, "tiny", IMPL_REF, precs[i]);
        if (tf && tr && tf->median > 0)
            printf("ratio ref%ld / fast on tiny: %.0f\n", precs[i], tr->median / tf->median);
    }
    printf("\ntarget (issue): ref on tiny under %.0f s\n", TARGET_REF_TINY_SECONDS);
    for (size_t i = 0; i < sizeof precs / sizeof precs[0]; i++) {
        const bench_cell *tr = find_cell(cells, ncells, "tiny", IMPL_REF, precs[i]);
        if (tr)
            printf("  ref%ld: %.3f s -> %s\n", precs[i], tr->median,
                   tr->median < TARGET_REF_TINY_SECONDS ? "met" : "NOT met");
        else
            printf("  ref%ld: not measured (failed)\n", precs[i]);
    }

    failed |= bench_gd(quick);
    failed |= bench_kernel_gd(quick);
    failed |= bench_cot(quick);
    failed |= bench_check(quick);
    failed |= bench_peers(quick, ref_default);
    return failed;
}
