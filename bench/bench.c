/* bench.c - median wall time of one forward + gradient run (a benchmark, not a test).
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
 * Usage: bench_nodeoracle [--quick]   (--quick: 1 run per cell, a smoke test
 * of the bench itself; its figures are not medians of anything.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arrays.h"
#include "fast.h"
#include "problem.h"
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
    return failed;
}
