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
 * trig-inclusive floor, peak memory.  Then ref on tiny at 128 and 256 bits
 * against its MPFR op-count floor (proofs-notes/ref-cost.md; see
 * bench_ref_floor), certified and not, and against mpmath at the same bits
 * (bench/peer_mpmath.py).
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
#include "fast_linalg.h"
#include "fast_team.h"
#include "fast_trig.h"
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
 * elementwise work left out, being lower order).  Transcendentals: the
 * forward pass's cos and the backward pass's sin and cos of the same N q L
 * phases (fast recomputes the phases in the backward pass: keeping the
 * features would take 2 N q L doubles, 60 times the states on default).
 * Measured for each case just before its fast cells (the machine's speed
 * drifts by tens of percent over minutes: a floor measured once at the start
 * judged later cells by another machine): the DGEMM peak, cblas_dgemm of
 * square 512 x 512 matrices
 * (near the best rate this BLAS reaches on this machine) on one core and on
 * every core at once (a fast_team of workers, rates added), and for
 * reference the rate of the run's own product shape (N x D) (D x q); the
 * time per element of fast_trig_cos and fast_trig_sincos on a block of the
 * run's size (and libm's scalar sin + cos, for comparison).  The floors:
 *   floor1 = FLOPS / peak(1 core) + N q L (t_cos + t_sincos),
 *   floor  = FLOPS / peak(all cores) + N q L (t_cos + t_sincos) / cores:
 * this arithmetic done by this BLAS at its square-matrix peak and by
 * fast_trig, perfectly parallel.  fast-1t and ref are set against floor1,
 * fast (every core, the default), NumPy and PyTorch against floor;
 * %floor = floor / median.  fast runs twice: NODEORACLE_THREADS unset (every
 * core) and 1.  fast's memory: fast_memory_estimate (its workspace and every
 * output array), against the states and adjoint outputs it must return.
 * Peak memory: VmHWM of this process after resetting it (clear_refs 5)
 * just before the cell (fast, ref); the Python peers report ru_maxrss of their
 * own process, interpreter and library included. */
#define PEER_REF_PREC 128
#define PEER_SQ 512

typedef enum { PEER_FAST, PEER_FAST1, PEER_REF, PEER_NUMPY, PEER_TORCH, PEER_COUNT } peer_kind;
static const char *const peer_name[PEER_COUNT] = {"fast", "fast-1t", "ref128", "numpy", "torch"};

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

/* Seconds per element of fast_trig_cos (sincos == 0) or fast_trig_sincos on
 * an n x q block of phases like the run's (the cache-resident size fast
 * works on), median of repeated calls. */
static double fast_trig_seconds(int sincos)
{
    enum { NT = 128 * 256 };
    double *x = malloc(NT * sizeof *x), *s = malloc(NT * sizeof *s), *c = malloc(NT * sizeof *c);
    double t = 0;
    if (x && s && c) {
        for (size_t i = 0; i < NT; i++)
            x[i] = -8.0 + 16.0 * (double)((i * 7919) % NT) / NT;
        samples sm = {0};
        double spent = 0;
        while (sm.n < 5 || spent < 0.2) {
            double t0 = now_seconds();
            if (sincos)
                fast_trig_sincos(NT, x, s, c);
            else
                fast_trig_cos(NT, x, c);
            double dt = now_seconds() - t0;
            spent += dt;
            if (samples_push(&sm, dt))
                break;
        }
        t = sm.n ? median_of(sm.t, sm.n) / NT : 0;
        peer_sink = c[NT / 2];
        free(sm.t);
    }
    free(x), free(s), free(c);
    return t;
}

/* DGEMM on every core at once: each worker of a fast_team times its own
 * 512^3 products; the rate is the sum of the workers' rates. */
typedef struct {
    double rate[256];
    double seconds;
} team_dgemm;

static void team_dgemm_member(void *ctx, fast_team *team, size_t w, size_t nw)
{
    team_dgemm *t = ctx;
    (void)nw;
    fast_team_barrier(team);
    t->rate[w] = dgemm_rate(PEER_SQ, PEER_SQ, PEER_SQ, t->seconds);
}

static double dgemm_rate_all(double seconds, size_t *workers)
{
    team_dgemm t = {{0}, seconds};
    *workers = fast_team_run(fast_team_size(256), team_dgemm_member, &t);
    double sum = 0;
    for (size_t w = 0; w < *workers; w++)
        sum += t.rate[w];
    return sum;
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

/* ---- ref at the op-count floor (issue 12, item 2) ---------------------
 *
 * proofs-notes/ref-cost.md: the floor of one ref_model_init + ref_run on tiny
 * is the MPFR operations the contract's formulas need at minimum (counted
 * there per step, per layer and once), each priced by its unit cost measured
 * here at the run's precision: mpfr_mul, mpfr_add, mpfr_fma, an exact product
 * into 2p bits, mpfr_sum per term of n terms (n = d_in, d_out, D, q, N), and
 * mpfr_cos and mpfr_sin_cos on the run's own phases Omega z + beta (every
 * layer's state of the ref run; their cost depends on the argument's size).
 * A dot product of n terms is priced at the cheaper of n exact products + one
 * mpfr_sum of n terms (mpfr_dot's method, correctly rounded) and a chain of
 * one mpfr_mul and n - 1 mpfr_fma.  Everything here is CPU time of the
 * process running it (this process; mpmath's its own), not wall time: on a
 * shared machine wall time adds whatever else runs, and a floor measured in
 * a busy second is not comparable with a run timed in a quiet one.  Unit
 * costs are the minimum over repetitions and over rounds (an ideal); ref's
 * time is the median of its runs over the same rounds, interleaved with the
 * unit-cost measurements.
 * Two floors: "floor" recomputes each phase's features in the backward pass
 * (ref's memory: the states only, O(N L m D) numbers); "floor*" keeps every
 * phase's sin and cos from the forward pass (one mpfr_sin_cos per phase,
 * memory x (1 + 2q/D)).  The certified evaluation (ref_certify) is two runs,
 * at p and p + max(32, p/2): its floor is floor(p) + floor(p + g).
 * mpmath: bench/peer_mpmath.py, the same forward + gradient at the same bits. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    double mul, add, fma, xmul; /* xmul: an exact product into 2p bits */
    double sum_din, sum_dout, sum_D, sum_q, sum_N; /* mpfr_sum, per term of n terms */
    double cos, sincos;
} ref_units;

enum { RU_MUL, RU_ADD, RU_FMA, RU_XMUL, RU_SUM };
#define RU_NV 512

/* Minimum over reps of the seconds per operation of op on RU_NV random
 * operands at prec (RU_SUM: per term of a sum of n <= RU_NV / 2 terms). */
static double ref_unit_op(int op, long prec, size_t n, int reps)
{
    mpfr_t x[RU_NV], y[RU_NV], r[RU_NV], xp[RU_NV];
    mpfr_ptr pp[RU_NV];
    gmp_randstate_t st;
    gmp_randinit_default(st);
    gmp_randseed_ui(st, 12);
    for (int i = 0; i < RU_NV; i++) {
        mpfr_inits2((mpfr_prec_t)prec, x[i], y[i], r[i], (mpfr_ptr)0);
        mpfr_init2(xp[i], 2 * (mpfr_prec_t)prec);
        mpfr_urandom(x[i], st, MPFR_RNDN);
        mpfr_sub_d(x[i], x[i], 0.5, MPFR_RNDN);
        mpfr_urandom(y[i], st, MPFR_RNDN);
        mpfr_sub_d(y[i], y[i], 0.5, MPFR_RNDN);
        mpfr_set(r[i], x[i], MPFR_RNDN); /* not NaN: fma accumulates into r */
        mpfr_mul(xp[i], x[i], y[i], MPFR_RNDZ);
        pp[i] = xp[i];
    }
    size_t sums = RU_NV / 2;
    double best = 0;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = cpu_seconds();
        for (int it = 0; it < 20; it++) {
            if (op == RU_SUM) {
                for (size_t i = 0; i < sums; i++)
                    mpfr_sum(r[i], pp + (i * 7) % (RU_NV - n), n, MPFR_RNDN);
                continue;
            }
            for (int i = 0; i < RU_NV; i++) {
                if (op == RU_MUL)
                    mpfr_mul(r[i], x[i], y[i], MPFR_RNDN);
                else if (op == RU_ADD)
                    mpfr_add(r[i], x[i], y[i], MPFR_RNDN);
                else if (op == RU_FMA)
                    mpfr_fma(r[i], x[i], y[i], r[i], MPFR_RNDN);
                else
                    mpfr_mul(xp[i], x[i], y[i], MPFR_RNDZ);
            }
        }
        double dt = (cpu_seconds() - t0) / (20.0 * (op == RU_SUM ? (double)sums * n : RU_NV));
        if (rep == 0 || dt < best)
            best = dt;
    }
    for (int i = 0; i < RU_NV; i++)
        mpfr_clears(x[i], y[i], r[i], xp[i], (mpfr_ptr)0);
    gmp_randclear(st);
    return best;
}

/* cos and sin_cos per call on the phases Omega z + beta of every layer's
 * state of a ref run of p at prec. */
static int ref_unit_trig(const no_problem *p, long prec, int reps, double *tcos, double *tsc)
{
    const no_spec *s = &p->spec;
    char err[256];
    ref_model m;
    ref_result res;
    if (ref_model_init(&m, p, (mpfr_prec_t)prec, err, sizeof err))
        return -1;
    if (ref_run(&m, &res, err, sizeof err)) {
        ref_model_clear(&m);
        return -1;
    }
    const ref_array *z = ref_result_get(&res, "states");
    size_t n = s->L * s->N * s->q;
    mpfr_t *ph = malloc(n * sizeof *ph), c, sn;
    mpfr_ptr *px = malloc(s->D * sizeof *px), *py = malloc(s->D * sizeof *py);
    int rc = !ph || !px || !py ? -1 : 0;
    mpfr_inits2((mpfr_prec_t)prec, c, sn, (mpfr_ptr)0);
    for (size_t e = 0; !rc && e < n; e++) {
        size_t r = e % s->q, ki = e / s->q; /* ki = k N + i: layer k's state of point i */
        mpfr_init2(ph[e], (mpfr_prec_t)prec);
        for (size_t d = 0; d < s->D; d++) {
            px[d] = m.Omega.v[r * s->D + d];
            py[d] = z->v[ki * s->D + d];
        }
        mpfr_dot(ph[e], px, py, s->D, MPFR_RNDN);
        mpfr_add(ph[e], ph[e], m.beta.v[r], MPFR_RNDN);
    }
    /* per block of 512 phases the minimum over reps, summed: robust to a
     * busy machine, which only ever adds time */
    *tcos = *tsc = 0;
    for (size_t b0 = 0; !rc && b0 < n; b0 += 512) {
        size_t b1 = b0 + 512 < n ? b0 + 512 : n;
        double bc = 0, bs = 0;
        for (int rep = 0; rep < reps; rep++) {
            double t0 = cpu_seconds();
            for (size_t e = b0; e < b1; e++)
                mpfr_cos(c, ph[e], MPFR_RNDN);
            double t1 = cpu_seconds();
            for (size_t e = b0; e < b1; e++)
                mpfr_sin_cos(sn, c, ph[e], MPFR_RNDN);
            double t2 = cpu_seconds();
            if (rep == 0 || t1 - t0 < bc)
                bc = t1 - t0;
            if (rep == 0 || t2 - t1 < bs)
                bs = t2 - t1;
        }
        *tcos += bc / (double)n;
        *tsc += bs / (double)n;
    }
    if (ph && !rc)
        for (size_t e = 0; e < n; e++)
            mpfr_clear(ph[e]);
    mpfr_clears(c, sn, (mpfr_ptr)0);
    free(ph), free(px), free(py);
    ref_result_clear(&res);
    ref_model_clear(&m);
    return rc;
}

static int ref_units_measure(const no_problem *p, long prec, int quick, ref_units *u)
{
    const no_spec *s = &p->spec;
    int reps = quick ? 2 : 5;
    u->mul = ref_unit_op(RU_MUL, prec, 0, reps);
    u->add = ref_unit_op(RU_ADD, prec, 0, reps);
    u->fma = ref_unit_op(RU_FMA, prec, 0, reps);
    u->xmul = ref_unit_op(RU_XMUL, prec, 0, reps);
    u->sum_din = ref_unit_op(RU_SUM, prec, s->d_in, reps);
    u->sum_dout = ref_unit_op(RU_SUM, prec, s->d_out, reps);
    u->sum_D = ref_unit_op(RU_SUM, prec, s->D, reps);
    u->sum_q = ref_unit_op(RU_SUM, prec, s->q, reps);
    u->sum_N = ref_unit_op(RU_SUM, prec, s->N, reps);
    return ref_unit_trig(p, prec, quick ? 2 : 5, &u->cos, &u->sincos);
}

/* best = the elementwise minimum of best and u (first: best = u). */
static void ref_units_min(ref_units *best, const ref_units *u, int first)
{
    double *b[] = {&best->mul,     &best->add,   &best->fma,   &best->xmul,
                   &best->sum_din, &best->sum_dout, &best->sum_D, &best->sum_q,
                   &best->sum_N,   &best->cos,   &best->sincos};
    const double v[] = {u->mul,   u->add,   u->fma,   u->xmul, u->sum_din, u->sum_dout,
                        u->sum_D, u->sum_q, u->sum_N, u->cos,  u->sincos};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (first || v[i] < *b[i])
            *b[i] = v[i];
}

/* Push the CPU times of n runs of ref_model_init + ref_run (time_ref's run). */
static int time_ref_cpu(const no_problem *p, long prec, int n, samples *sm)
{
    char err[256];
    for (int r = 0; r < n; r++) {
        ref_model m;
        ref_result res;
        double t0 = cpu_seconds();
        if (ref_model_init(&m, p, (mpfr_prec_t)prec, err, sizeof err))
            return -1;
        int rc = ref_run(&m, &res, err, sizeof err);
        double dt = cpu_seconds() - t0;
        if (!rc)
            ref_result_clear(&res);
        ref_model_clear(&m);
        if (rc || samples_push(sm, dt))
            return -1;
    }
    return 0;
}

/* A correctly rounded or fma-chained dot product of n terms, the cheaper. */
static double ref_dot_cost(const ref_units *u, double n, double sum_term)
{
    double exact = n * (u->xmul + sum_term), chain = u->mul + (n - 1) * u->fma;
    return n <= 1 ? u->mul : exact < chain ? exact : chain;
}

/* The floor of ref-cost.md (rff, Euler, discrete adjoint), seconds; stored:
 * floor*, the forward pass keeps every phase's sin and cos. */
static double ref_floor_seconds(const no_spec *s, const ref_units *u, int stored)
{
    double N = (double)s->N, D = (double)s->D, q = (double)s->q, L = (double)s->L;
    double T = (double)(s->L * s->m), dout = (double)s->d_out;
    double dotD = ref_dot_cost(u, D, u->sum_D), dotq = ref_dot_cost(u, q, u->sum_q);
    double phase = dotD + u->add;
    double fwd = q * phase + q * (stored ? u->sincos + 2 * u->mul : u->cos + u->mul) +
                 D * dotq + D * u->fma;
    double bwd = (stored ? 0 : q * phase + q * (u->sincos + 2 * u->mul)) + D * u->mul +
                 q * (dotD + u->mul) + D * dotq + D * q * u->fma + D * u->add;
    double layer = D * q * N * u->sum_N;
    double once = N * D * ref_dot_cost(u, (double)s->d_in, u->sum_din) +
                  N * dout * (dotD + u->add) + N * ref_dot_cost(u, dout, u->sum_dout) +
                  N * u->sum_N + N * D * (ref_dot_cost(u, dout, u->sum_dout) + u->mul) +
                  L * D * q * u->mul;
    return N * T * (fwd + bwd) + L * layer + once;
}

/* Push the CPU time of one ref_certify(p, prec). */
static int time_certify_cpu(const no_problem *p, long prec, samples *sm)
{
    char err[256];
    no_arrays v, b;
    double t0 = cpu_seconds();
    if (ref_certify(p, (mpfr_prec_t)prec, &v, &b, err, sizeof err)) {
        fprintf(stderr, "bench: ref_certify at %ld bits: %s\n", prec, err);
        return -1;
    }
    double dt = cpu_seconds() - t0;
    no_arrays_free(&v);
    no_arrays_free(&b);
    return samples_push(sm, dt);
}

/* bench/peer_mpmath.py at prec bits on dir (driver: peer_numpy.py's path);
 * backend: mpmath's arithmetic backend as the driver reports it. */
static void time_mpmath_peer(peer_cell *c, const char *numpy_driver, const char *dir, long prec,
                             int runs, char backend[16])
{
    char drv[NO_PATH_MAX + 32], cmd[3 * NO_PATH_MAX];
    const char *slash = numpy_driver ? strrchr(numpy_driver, '/') : NULL;
    c->state = 0;
    if (!numpy_driver) {
        c->state = -1;
        c->why = "bench/ not found";
        return;
    }
    if (strchr(numpy_driver, '\'') || strchr(dir, '\''))
        return;
    snprintf(drv, sizeof drv, "%.*speer_mpmath.py", slash ? (int)(slash - numpy_driver + 1) : 0,
             numpy_driver);
    if (access(drv, R_OK)) {
        c->state = -1;
        c->why = "bench/peer_mpmath.py not found";
        return;
    }
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' --prec %ld --runs %d", drv, dir, prec,
             runs);
    fflush(NULL);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    double med = 0, kib = -1;
    size_t n = 0;
    int got = fscanf(f, "%lf %zu %lf %15s", &med, &n, &kib, backend);
    int st = pclose(f);
    if (got == 4 && st == 0 && med > 0) {
        c->state = 1;
        c->median = med;
        c->runs = n;
        c->mem_kib = kib;
    } else if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        c->state = -1;
        c->why = "no /usr/bin/python3";
    } else if (got != 4) {
        c->state = -1;
        c->why = "mpmath not installed?";
    }
}

#define REF_FLOOR_TARGET 1.5   /* issue 12: ref <= 1.5 x the floor at 256 bits */
#define REF_MPMATH_TARGET 6.0  /* and >= 6 x faster than mpmath */

/* The ref cells: tiny at 128 and 256 bits against the floor and mpmath. */
static int bench_ref_floor(int quick, const char *root, const char *numpy_driver)
{
    static const bench_problem tiny = {"tiny", 2, 4, 32, 16, 64};
    static const long precs[2] = {128, 256};
    no_spec s;
    no_problem p;
    char err[256], dir[NO_PATH_MAX];
    spec_of(&tiny, &s);
    if (no_problem_generate(&p, &s, err, sizeof err) ||
        no_path_join(dir, sizeof dir, root, tiny.problem, err, sizeof err)) {
        printf("\nref at the floor: not measured: %s\n", err);
        return 1;
    }
    fprintf(stderr, "bench: ref at the op-count floor (tiny)\n");
    printf("\nref at the op-count floor (proofs-notes/ref-cost.md): tiny, one ref_model_init + "
           "ref_run%s\n", quick ? " (--quick: 1 run per cell, fewer repetitions)" : "");
    printf("CPU time throughout (this process; mpmath: its own).  Unit costs [ns], min over "
           "repetitions and %d rounds; cos, sin_cos on the run's\nown phases; xmul: exact "
           "product into 2p bits; sum/n: mpfr_sum per term of n\n", quick ? 1 : 3);
    printf("%6s %7s %7s %7s %7s %7s %7s %7s %7s %8s %8s\n", "bits", "mul", "add", "fma", "xmul",
           "sum/din", "sum/D", "sum/q", "sum/N", "cos", "sin_cos");
    int failed = 0, rounds = quick ? 1 : 3;
    double t_ref[2] = {0, 0}, fl[2] = {0, 0}, fls[2] = {0, 0}, flc[2] = {0, 0}, tc[2] = {0, 0};
    peer_cell mpm[2];
    char backend[16] = "?";
    memset(mpm, 0, sizeof mpm);
    for (int k = 0; k < 2; k++) {
        long pr = precs[k], hi = pr + (pr / 2 > 32 ? pr / 2 : 32); /* ref_certify's guard */
        ref_units u, uh, v;
        samples sr = {0}, sc = {0};
        int bad = 0;
        /* rounds of: unit costs at p and p + g, ref runs, one certified run */
        for (int r = 0; !bad && r < rounds; r++) {
            bad = ref_units_measure(&p, pr, quick, &v);
            ref_units_min(&u, &v, r == 0);
            bad = bad || ref_units_measure(&p, hi, quick, &v);
            ref_units_min(&uh, &v, r == 0);
            bad = bad || time_ref_cpu(&p, pr, quick ? 1 : 2, &sr) || time_certify_cpu(&p, pr, &sc);
        }
        if (bad) {
            printf("%6ld   (not measured: ref failed)\n", pr);
            failed = 1;
            free(sr.t), free(sc.t);
            continue;
        }
        t_ref[k] = median_of(sr.t, sr.n);
        tc[k] = median_of(sc.t, sc.n);
        free(sr.t), free(sc.t);
        for (int h = 0; h < 2; h++) {
            const ref_units *w = h ? &uh : &u;
            printf("%6ld %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %7.1f %8.0f %8.0f\n",
                   h ? hi : pr, w->mul * 1e9, w->add * 1e9, w->fma * 1e9, w->xmul * 1e9,
                   w->sum_din * 1e9, w->sum_D * 1e9, w->sum_q * 1e9, w->sum_N * 1e9,
                   w->cos * 1e9, w->sincos * 1e9);
        }
        fl[k] = ref_floor_seconds(&s, &u, 0);
        fls[k] = ref_floor_seconds(&s, &u, 1);
        flc[k] = fl[k] + ref_floor_seconds(&s, &uh, 0);
        time_mpmath_peer(&mpm[k], numpy_driver, dir, pr, quick ? 1 : 3, backend);
    }
    no_problem_free(&p);
    printf("\n%6s %11s %11s %9s %11s %9s | %13s %9s | %11s %9s\n", "bits", "ref [s]",
           "floor [s]", "ref/floor", "floor* [s]", "/floor*", "certified [s]", "/floor",
           "mpmath [s]", "mpmath/ref");
    for (int k = 0; k < 2; k++) {
        if (!(t_ref[k] > 0) || !(fl[k] > 0)) {
            printf("%6ld   FAILED\n", precs[k]);
            failed = 1;
            continue;
        }
        char mp[64];
        if (mpm[k].state == 1)
            snprintf(mp, sizeof mp, "%11.4f %9.1f", mpm[k].median, mpm[k].median / t_ref[k]);
        else
            snprintf(mp, sizeof mp, "%11s   (%s)", mpm[k].state ? "-" : "FAILED",
                     mpm[k].state ? mpm[k].why : "see stderr");
        failed |= mpm[k].state == 0;
        printf("%6ld %11.4f %11.4f %9.2f %11.4f %9.2f | %13.4f %9.2f | %s\n", precs[k],
               t_ref[k], fl[k], t_ref[k] / fl[k], fls[k], t_ref[k] / fls[k], tc[k],
               tc[k] / flc[k], mp);
    }
    printf("floor: phases recomputed in the backward pass (ref's memory, the states only); "
           "floor*: every phase's sin and cos kept\nfrom the forward pass (one sin_cos per "
           "phase, %.0fx the stored numbers); certified: ref_certify, runs at p and\n"
           "p + max(32, p/2), against floor(p) + floor(p + g); mpmath: bench/peer_mpmath.py "
           "(backend %s), median of %s; ref: median of %s\n",
           1.0 + 2.0 * (double)s.q / (double)s.D, backend, quick ? "1 run" : "3 runs",
           quick ? "1 run" : "6 runs, 3 certified");
    if (t_ref[1] > 0 && fl[1] > 0) {
        printf("target (issue 12): ref <= %.1f x floor at 256 bits: %.2f -> %s", REF_FLOOR_TARGET,
               t_ref[1] / fl[1], t_ref[1] / fl[1] <= REF_FLOOR_TARGET ? "met" : "NOT met");
        if (mpm[1].state == 1)
            printf("; >= %.0f x faster than mpmath: %.1f -> %s\n", REF_MPMATH_TARGET,
                   mpm[1].median / t_ref[1],
                   mpm[1].median / t_ref[1] >= REF_MPMATH_TARGET ? "met" : "NOT met");
        else
            printf("; mpmath not measured\n");
    }
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
    size_t nw = fast_team_size(256);
    printf("flops = 10 N q D L (five N x q x D products per layer); trig = N q L (cos + sincos: "
           "the forward cos and the backward\nsin and cos, recomputed: keeping them would take "
           "2 N q L doubles); floor1 = flops/peak1 + trig (one core),\nfloor = flops/peak%zu + "
           "trig/%zu (every core): %%floor of fast-1t and ref128 against floor1, of the others "
           "against floor;\nthe peaks and trig times are measured for each case just before "
           "its fast cells (this machine's speed drifts\nby tens of percent over minutes)\n",
           nw, nw);
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
        /* The floor's rates, measured now: next to the cells they judge. */
        double peak = dgemm_rate(PEER_SQ, PEER_SQ, PEER_SQ, quick ? 0.1 : 0.3);
        double peak_all = dgemm_rate_all(quick ? 0.1 : 0.3, &nw);
        double tsc = sincos_seconds(), tcos = fast_trig_seconds(0), tsin = fast_trig_seconds(1);
        /* fast: on every core (NODEORACLE_THREADS unset, the default) and on
         * one (the workspace reads the variable when it is made) */
        const char *user_threads = getenv("NODEORACLE_THREADS");
        for (int one = 0; one < 2; one++) {
            peer_cell *c = &cell[one ? PEER_FAST1 : PEER_FAST];
            bench_cell bc = {bp, IMPL_FAST, 0, 0, 0, 0};
            samples sm = {0};
            if (one)
                setenv("NODEORACLE_THREADS", "1", 1);
            else
                unsetenv("NODEORACLE_THREADS");
            int reset = !hwm_reset();
            int rc = time_fast(&bc, &p, &sm, quick); /* large: 3 runs (seconds each) */
            c->state = !rc && sm.n;
            c->runs = sm.n;
            c->median = sm.n ? median_of(sm.t, sm.n) : 0;
            c->mem_kib = reset ? hwm_kib() : -1;
            free(sm.t);
            if (ip == 1 && one)
                fast_default = c->median;
        }
        if (user_threads)
            setenv("NODEORACLE_THREADS", user_threads, 1);
        else
            unsetenv("NODEORACLE_THREADS");
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
        double trig = (double)bp->N * (double)bp->q * (double)bp->L * (tcos + tsin);
        double floor1 = (peak > 0 ? flops / peak : 0) + trig;
        double floor_s = (peak_all > 0 ? flops / peak_all : 0) + trig / (double)nw;
        double shape = dgemm_rate(bp->N, bp->q, bp->D, quick ? 0.05 : 0.2);
        double best = 0;
        for (int i = 0; i < PEER_COUNT; i++)
            if (cell[i].state == 1 && (best == 0 || cell[i].median < best))
                best = cell[i].median;
        double kept = 2.0 * ((double)bp->L + 1) * (double)bp->N * (double)bp->D * sizeof(double);
        printf("\n%s: d%zu D%zu q%zu L%zu N%zu, %.3e flop; floor1 %.3e s, floor %.3e s; DGEMM "
               "of the run's shape (%zu x %zu x %zu) %.2f GFLOP/s\n",
               bp->problem, bp->d, bp->D, bp->q, bp->L, bp->N, flops, floor1, floor_s, bp->N,
               bp->q, bp->D, shape * 1e-9);
        printf("measured: DGEMM peak %.2f GFLOP/s on one core, %.2f on %zu (cblas_dgemm %dx%dx%d "
               "each); per element: fast_trig cos %.2f ns, sincos %.2f ns, libm sin+cos %.2f ns\n",
               peak * 1e-9, peak_all * 1e-9, nw, PEER_SQ, PEER_SQ, PEER_SQ, tcos * 1e9,
               tsin * 1e9, tsc * 1e9);
        printf("fast's memory (fast_memory_estimate: workspace and every output) %.2f MiB = "
               "%.2f x the states and adjoint it returns (%.2f MiB)\n",
               fast_memory_estimate(&s) / 1048576.0, fast_memory_estimate(&s) / kept,
               kept / 1048576.0);
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
            double fl = i == PEER_FAST1 || i == PEER_REF ? floor1 : floor_s;
            printf("%-7s %13.6e %6zu %9.2f %9.3f %8.2f %8.2f %12s\n", peer_name[i], c->median,
                   c->runs, c->median / best, flops / c->median * 1e-9,
                   peak > 0 ? 100 * flops / c->median / peak : 0, 100 * fl / c->median, mem);
        }
        /* The targets: fast >= 2x ahead of the best Python peer, and
         * within 1.5x of the floor. */
        double py = 0;
        for (int i = PEER_NUMPY; i <= PEER_TORCH; i++)
            if (cell[i].state == 1 && (py == 0 || cell[i].median < py))
                py = cell[i].median;
        if (cell[PEER_FAST].state == 1 && py > 0)
            printf("targets: best Python peer / fast = %.2f (>= 2: %s); fast / floor = %.2f "
                   "(<= 1.5: %s)\n",
                   py / cell[PEER_FAST].median, py / cell[PEER_FAST].median >= 2 ? "met" : "NOT met",
                   cell[PEER_FAST].median / floor_s,
                   cell[PEER_FAST].median / floor_s <= 1.5 ? "met" : "NOT met");
    }
    printf("\npeak mem: fast/ref VmHWM of this process after a reset (generated problem and "
           "bench included); numpy/torch ru_maxrss of the Python process\n");
    if (!quick)
        printf("runs: on large, fast is a median of 3 runs and the Python peers 1 run each (no "
               "warm-up)\n");
    failed |= peer_exponents(quick, fast_default, &peers_tiny_ref);
    failed |= bench_ref_floor(quick, root, driver);
    no_path_rmtree(root, err, sizeof err);
    return failed;
}

int main(int argc, char **argv)
{
    /* The BLAS settings nodeoracle itself runs with (one BLAS thread, the
     * kernels named when OpenBLAS does not know the CPU: fast_linalg.h),
     * read by OpenBLAS at load time: set them and start again. */
    if (fast_linalg_blas_environment())
        execv("/proc/self/exe", argv);
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
