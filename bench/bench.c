/* bench.c - median wall times of one forward + gradient run, and of one
 * `nodeoracle check` per default problem (a benchmark, not a test).
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
 * Usage: bench_nodeoracle [--quick]   (--quick: 1 run per cell, a smoke test
 * of the bench itself; its figures are not medians of anything.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arrays.h"
#include "fast.h"
#include "npy.h"
#include "path.h"
#include "problem.h"
#include "problem_dir.h"
#include "ref.h"

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

int main(int argc, char **argv)
{
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }

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

    failed |= bench_check(quick);
    return failed;
}
