/* fast_run.c - workspace, the public entry points of fast.h, and the metric
 * gradient (conventions.md, "Metric gradient"). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fast_ws.h"


/* a * b * c with overflow detection (0 on overflow). */
static size_t mul3(size_t a, size_t b, size_t c)
{
    size_t t;
    if (no_mul_size(a, b, &t) || no_mul_size(t, c, &t))
        return 0;
    return t;
}

size_t fast_ws_block_size(const no_spec *s)
{
    /* 128 points keep a block's n x width scratch and its products in cache
     * for the widths of the suites; more blocks than FAST_MAX_BLOCKS would
     * only add partial gradients to keep.  Below twice the block (256
     * points; 512 for big rff panels, below) a run is cut in two blocks of
     * at least 32 points, so that two cores share even a small run (tiny,
     * 64 points: 0.14 ms on two cores against 0.19 ms as one block;
     * fast_team.c).
     *
     * rff with big panels: from D w >= 8192 (w = fast_rff_panel(s)) a
     * 128-point panel product n x w x D has 2^20 multiply-adds and leaves
     * OpenBLAS's unpacked small-matrix path; every call then packs the
     * layer's D x w weights again, so blocks of 256 points halve that work
     * per point (the benchmark's large case, D = 64: 4-6% faster on one
     * core), and the panel keeps the scratch at 1 MiB.  Below that size a
     * bigger block only enlarges the cache footprint (default, D = 8: 2%
     * slower with 256).  mlp keeps 128: its n x M scratch has no panels. */
    size_t N = s->N, half = (N + 1) / 2, big = 128;
    if (s->family == NO_FAMILY_RFF && (double)s->D * (double)fast_rff_panel(s) >= 8192.0)
        big = 256;
    size_t B = half < 32 ? 32 : half > big ? big : half;
    size_t by_count = (N + FAST_MAX_BLOCKS - 1) / FAST_MAX_BLOCKS;
    if (B < by_count)
        B = by_count;
    return B < N ? B : (N ? N : 1);
}

/* Doubles of one worker's buffers for blocks of B points: stage buffers,
 * field scratch, p, pnext, resid and the m + 1 substep slots (used when
 * m > 1 or by the backsolve adjoint). */
static double worker_doubles(const no_spec *s, const fast_field_type *field,
                             const no_tableau *tab, size_t B)
{
    double slots = s->m > 1 || s->adjoint == NO_ADJOINT_BACKSOLVE ? (double)s->m + 1.0 : 0.0;
    return (double)fast_scheme_buffer_size(tab, B, s->D) + (double)field->scratch_size(s, B) +
           (2.0 + slots) * (double)B * (double)s->D + (double)B * (double)s->d_out;
}

/* Doubles of the shared buffers: partial gradients, loss partials, and the
 * backsolve adjoint's carried state. */
static double shared_doubles(const no_spec *s, size_t nblocks, size_t Pk)
{
    double carry = s->adjoint == NO_ADJOINT_BACKSOLVE ? (double)s->N * (double)s->D : 0.0;
    return 2.0 * (double)nblocks * (double)Pk + (double)nblocks + carry;
}

static size_t layer_params(const no_spec *s, size_t *layer_n, size_t *np)
{
    no_param_info pi[NO_MAX_PARAMS];
    *np = (size_t)no_spec_params(s, pi);
    size_t Pk = 0;
    for (size_t i = 0; i < *np; i++) {
        layer_n[i] = s->L ? pi[i].n / s->L : 0;
        Pk += layer_n[i];
    }
    return Pk;
}

static double *dalloc(double n)
{
    if (!(n >= 0) || n > (double)(SIZE_MAX / sizeof(double)) / 2)
        return NULL;
    return malloc((n > 0 ? (size_t)n : 1) * sizeof(double));
}

fast_ws *fast_ws_alloc(const no_spec *spec)
{
    if (no_spec_validate(spec, 0, NULL, 0))
        return NULL;
    const fast_field_type *field = fast_field_of(spec->family);
    const no_tableau *tab = no_tableau_of(spec->scheme);
    /* The field scratch is N x q or N x M per block: checked products. */
    size_t width = spec->family == NO_FAMILY_RFF ? spec->q : spec->M;
    if (width && !mul3(3, spec->N, width))
        return NULL;

    fast_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->spec = *spec;
    ws->h = no_spec_step(spec);
    ws->tau = ws->h / (double)spec->m;
    ws->field = field;
    ws->B = fast_ws_block_size(spec);
    ws->nblocks = (spec->N + ws->B - 1) / ws->B;
    ws->Pk = layer_params(spec, ws->layer_n, &ws->np);
    ws->nworkers = fast_team_size(ws->nblocks);
    ws->partial = dalloc(2.0 * (double)ws->nblocks * (double)ws->Pk);
    ws->lossp = dalloc((double)ws->nblocks);
    ws->workers = calloc(ws->nworkers, sizeof *ws->workers);
    int backsolve = spec->adjoint == NO_ADJOINT_BACKSOLVE;
    if (backsolve)
        ws->carry = dalloc((double)spec->N * (double)spec->D);
    if (!ws->partial || !ws->lossp || !ws->workers || (backsolve && !ws->carry)) {
        fast_ws_free(ws);
        return NULL;
    }
    /* Each worker: stage buffers | field scratch | p | pnext | resid | substep slots. */
    size_t B = ws->B, bd = B * spec->D;
    for (size_t w = 0; w < ws->nworkers; w++) {
        fast_worker *wk = &ws->workers[w];
        double *q = wk->buf = dalloc(worker_doubles(spec, field, tab, B));
        if (!q) {
            fast_ws_free(ws);
            return NULL;
        }
        double *stage = q;
        q += fast_scheme_buffer_size(tab, B, spec->D);
        wk->ctx.scratch = q;
        q += field->scratch_size(spec, B);
        wk->p = q;
        wk->pnext = q + bd;
        wk->resid = q + 2 * bd;
        wk->sub = wk->resid + B * spec->d_out;
        fast_scheme_init(&wk->scheme, tab, field, &wk->ctx, B, spec->D, stage);
    }
    return ws;
}

double fast_memory_estimate(const no_spec *spec)
{
    /* The buffers of fast_ws_alloc, counted the same way (in doubles, which
     * do not overflow where size_t would), and the outputs of
     * no_outputs_init. */
    const fast_field_type *field = fast_field_of(spec->family);
    const no_tableau *tab = no_tableau_of(spec->scheme);
    size_t B = fast_ws_block_size(spec), nblocks = (spec->N + B - 1) / B, layer_n[NO_MAX_PARAMS],
           np;
    size_t Pk = layer_params(spec, layer_n, &np);
    /* fast_scheme_buffer_size and scratch_size of B points cannot overflow
     * when the N-point products of validation and fast_ws_alloc do not. */
    double block = (double)fast_team_size(nblocks) * worker_doubles(spec, field, tab, B) +
                   shared_doubles(spec, nblocks, Pk);
    no_array lay[NO_MAX_ARRAYS];
    int count = no_outputs_layout(spec, lay);
    double out = 0;
    for (int i = 0; i < count; i++)
        out += (double)lay[i].n;
    return (block + out) * sizeof(double) + sizeof(fast_ws);
}

void fast_ws_free(fast_ws *ws)
{
    if (!ws)
        return;
    if (ws->workers)
        for (size_t w = 0; w < ws->nworkers; w++)
            free(ws->workers[w].buf);
    free(ws->workers);
    free(ws->partial);
    free(ws->lossp);
    free(ws->carry);
    free(ws);
}

/* The workspace's buffers were sized and its scheme/field chosen for one spec;
 * anything that changes a size or the arithmetic must match it. */
static int check_spec(const no_spec *w, const no_spec *s, char *err, size_t len)
{
    const struct {
        const char *name;
        size_t ws, pb;
    } f[] = {
        {"N", w->N, s->N},
        {"d_in", w->d_in, s->d_in},
        {"d_out", w->d_out, s->d_out},
        {"D", w->D, s->D},
        {"L", w->L, s->L},
        {"q", w->q, s->q},
        {"M", w->M, s->M},
        {"m", w->m, s->m},
        {"family", w->family, s->family},
        {"activation", w->family == NO_FAMILY_MLP ? w->activation : 0,
         s->family == NO_FAMILY_MLP ? s->activation : 0},
        {"scheme", w->scheme, s->scheme},
        {"scaling", w->scaling, s->scaling},
        {"adjoint", w->adjoint, s->adjoint},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].ws != f[i].pb)
            return no_errorf(err, len, "fast: workspace spec has %s = %zu but the problem has %zu",
                        f[i].name, f[i].ws, f[i].pb);
    return 0;
}

/* out must have the layout of no_outputs_init(out, spec). */
static int check_outputs(no_arrays *out, const no_spec *s, char *err, size_t len)
{
    size_t nd = s->N * s->D;
    const struct {
        const char *name;
        size_t n;
    } f[] = {{"states", (s->L + 1) * nd},
             {"output", s->N * s->d_out},
             {"loss", 1},
             {"adjoint", (s->L + 1) * nd}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        no_array *a = no_arrays_find(out, f[i].name);
        if (!a || a->n != f[i].n)
            return no_errorf(err, len, "fast: output array '%s' missing or of the wrong size",
                        f[i].name);
    }
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    for (int kind = 0; kind < 2; kind++)
        for (int i = 0; i < np; i++) {
            char name[NO_NAME_LEN];
            snprintf(name, sizeof name, "%s_%s", kind ? "mgrad" : "grad", pi[i].name);
            no_array *a = no_arrays_find(out, name);
            if (!a || a->n != pi[i].n)
                return no_errorf(err, len, "fast: output array '%s' missing or of the wrong size",
                            name);
        }
    return 0;
}

static size_t tree_mid(size_t lo, size_t hi);

void fast_ws_tree_sum(double *x, size_t stride, size_t lo, size_t hi, size_t j0, size_t j1)
{
    if (hi - lo < 2)
        return;
    size_t mid = tree_mid(lo, hi);
    fast_ws_tree_sum(x, stride, lo, mid, j0, j1);
    fast_ws_tree_sum(x, stride, mid, hi, j0, j1);
    double *a = x + lo * stride, *c = x + mid * stride;
    for (size_t j = j0; j < j1; j++)
        a[j] += c[j];
}

/* One member of the run's team: the forward pass of its blocks, then layer
 * by layer the backward pass of its blocks and, once every block has its
 * partial gradient of the layer, the tree sums of its share of the layer's
 * gradient entries.  Which member does which block changes nothing in the
 * results (fast_ws.h). */
static void run_member(void *ctx, fast_team *team, size_t w, size_t nw)
{
    fast_ws *ws = ctx;
    fast_worker *wk = &ws->workers[w];
    const no_spec *s = &ws->spec;
    size_t nb = ws->part1 - ws->part0;
    size_t b0 = ws->part0 + nb * w / nw, b1 = ws->part0 + nb * (w + 1) / nw;
    for (size_t b = b0; b < b1; b++) {
        fast_forward_block(ws, wk, b);
        if (w == 0)
            fast_ws_report(ws, "forward", s->L - 1,
                           (double)s->L * (double)(b - b0 + 1) / (double)(b1 - b0));
    }
    /* No barrier here: a block's backward pass reads only its own forward
     * pass (states, residuals), which this member computed. */
    size_t j0 = ws->Pk * w / nw, j1 = ws->Pk * (w + 1) / nw;
    for (size_t k = s->L; k-- > 0;) {
        for (size_t b = b0; b < b1; b++) {
            memset(fast_ws_partial(ws, k, b), 0, ws->Pk * sizeof(double));
            fast_adjoint_block(ws, wk, k, b);
        }
        fast_team_barrier(team);
        double *rows = fast_ws_partial(ws, k, 0);
        const double *sum = rows + ws->part0 * ws->Pk;
        fast_ws_tree_sum(rows, ws->Pk, ws->part0, ws->part1, j0, j1);
        /* The first block's row holds the layer's gradient (of the part),
         * parameter after parameter. */
        size_t off = 0;
        for (size_t i = 0; i < ws->np; i++) {
            size_t n = ws->layer_n[i], lo = j0 > off ? j0 : off, hi = j1 < off + n ? j1 : off + n;
            if (lo < hi)
                memcpy(ws->grad[i] + k * n + (lo - off), sum + lo, (hi - lo) * sizeof(double));
            off += n;
        }
        /* Layer k - 1 writes the other set of rows (fast_ws_partial): a
         * member that starts on it while another still sums layer k
         * touches nothing the other reads, and it cannot reach layer
         * k - 2 (these rows again) before everyone has passed the next
         * barrier, after their sums of layer k. */
        if (w == 0)
            fast_ws_report(ws, "backward", k, (double)s->L + 2.0 * (double)(s->L - k));
    }
}

size_t fast_block_count(const no_spec *s)
{
    size_t B = fast_ws_block_size(s);
    return (s->N + B - 1) / B;
}

/* The tree's split of [lo, hi): mid - lo the largest power of two below
 * hi - lo (fast_ws_tree_sum). */
static size_t tree_mid(size_t lo, size_t hi)
{
    size_t half = 1;
    while (2 * half < hi - lo)
        half *= 2;
    return lo + half;
}

/* Ranks [r0, r1) share the node [lo, hi): one rank takes it whole, else the
 * ranks are split between the children in proportion to their blocks (each
 * child at least one rank). */
static size_t rank_split(size_t lo, size_t mid, size_t hi, size_t r0, size_t r1)
{
    size_t n = r1 - r0;
    size_t left = (size_t)((double)n * (double)(mid - lo) / (double)(hi - lo) + 0.5);
    if (left < 1)
        left = 1;
    if (left > n - 1)
        left = n - 1;
    return r0 + left;
}

static void part_of(size_t lo, size_t hi, size_t r0, size_t r1, size_t rank, size_t *b0,
                    size_t *b1)
{
    if (r1 - r0 == 1 || hi - lo == 1) {
        if (rank == r0)
            *b0 = lo, *b1 = hi;
        return;
    }
    size_t mid = tree_mid(lo, hi), rm = rank_split(lo, mid, hi, r0, r1);
    if (rank < rm)
        part_of(lo, mid, r0, rm, rank, b0, b1);
    else
        part_of(mid, hi, rm, r1, rank, b0, b1);
}

void fast_part_points(const no_spec *s, size_t b0, size_t b1, size_t *i0, size_t *i1)
{
    size_t B = fast_ws_block_size(s);
    *i0 = b0 * B < s->N ? b0 * B : s->N;
    *i1 = b1 * B < s->N ? b1 * B : s->N;
}

void fast_part_of(size_t nblocks, size_t ranks, size_t rank, size_t *b0, size_t *b1)
{
    *b0 = *b1 = 0;
    if (nblocks && ranks && rank < ranks)
        part_of(0, nblocks, 0, ranks, rank, b0, b1);
}

/* x[r0] <- the node [lo, hi)'s sum from the parts of ranks [r0, r1). */
static void combine(size_t lo, size_t hi, size_t r0, size_t r1, double *const *x, size_t n)
{
    if (r1 - r0 == 1 || hi - lo == 1)
        return;
    size_t mid = tree_mid(lo, hi), rm = rank_split(lo, mid, hi, r0, r1);
    combine(lo, mid, r0, rm, x, n);
    combine(mid, hi, rm, r1, x, n);
    for (size_t j = 0; j < n; j++)
        x[r0][j] += x[rm][j];
}

void fast_part_combine(size_t nblocks, size_t ranks, double *const *x, size_t n)
{
    if (nblocks && ranks)
        combine(0, nblocks, 0, ranks, x, n);
}

int fast_run_part(fast_ws *ws, const no_problem *p, no_arrays *out, size_t b0, size_t b1,
                  double *sumsq, char *err, size_t len)
{
    if (!ws || !p || !out || !sumsq)
        return no_errorf(err, len, "fast: null workspace, problem, output or sum");
    if (no_spec_validate(&p->spec, 0, err, len))
        return -1;
    if (check_spec(&ws->spec, &p->spec, err, len) || check_outputs(out, &p->spec, err, len))
        return -1;
    if (b0 >= b1 || b1 > ws->nblocks)
        return no_errorf(err, len, "fast: blocks [%zu, %zu) are not a part of the %zu blocks",
                         b0, b1, ws->nblocks);

    const no_spec *s = &p->spec;
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    ws->p = p;
    ws->out = out;
    ws->part0 = b0;
    ws->part1 = b1;
    ws->adjoint = no_arrays_find(out, "adjoint")->v;
    ws->states = no_arrays_find(out, "states")->v;
    for (int i = 0; i < np; i++) {
        char name[NO_NAME_LEN];
        snprintf(name, sizeof name, "grad_%s", pi[i].name);
        ws->grad[i] = no_arrays_find(out, name)->v;
    }
    for (size_t w = 0; w < ws->nworkers; w++)
        ws->workers[w].ctx.p = p;

    fast_team_run(ws->nworkers < b1 - b0 ? ws->nworkers : b1 - b0, run_member, ws);

    /* The part's sum of squared residuals, its blocks' sums in the tree. */
    fast_ws_tree_sum(ws->lossp, 1, b0, b1, 0, 1);
    *sumsq = ws->lossp[b0];

    for (size_t w = 0; w < ws->nworkers; w++)
        ws->workers[w].ctx.p = NULL;
    ws->p = NULL;
    ws->out = NULL;
    return 0;
}

void fast_run_finish(const no_spec *s, no_arrays *out, double sumsq)
{
    /* loss = 1/(2N) sum |yhat - y|^2. */
    no_arrays_find(out, "loss")->v[0] = sumsq / (2.0 * (double)s->N);
    /* SPEC 3: mgrad = grad / h (linear, rff), grad * M / h (mlp). */
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    double factor = no_metric_factor(s);
    for (int i = 0; i < np; i++) {
        char name[NO_NAME_LEN];
        snprintf(name, sizeof name, "grad_%s", pi[i].name);
        const double *g = no_arrays_find(out, name)->v;
        snprintf(name, sizeof name, "mgrad_%s", pi[i].name);
        double *mg = no_arrays_find(out, name)->v;
        for (size_t j = 0; j < pi[i].n; j++)
            mg[j] = factor * g[j];
    }
}

int fast_run_ws(fast_ws *ws, const no_problem *p, no_arrays *out, char *err, size_t len)
{
    double sumsq;
    if (!ws)
        return no_errorf(err, len, "fast: null workspace");
    if (fast_run_part(ws, p, out, 0, ws->nblocks, &sumsq, err, len))
        return -1;
    fast_run_finish(&p->spec, out, sumsq);
    return 0;
}

int fast_run(const no_problem *p, no_arrays *out, char *err, size_t len)
{
    return fast_run_progress(p, NULL, out, err, len);
}

int fast_run_progress(const no_problem *p, const fast_progress *pr, no_arrays *out, char *err,
                      size_t len)
{
    if (!p || !out)
        return no_errorf(err, len, "fast: null problem or output");
    if (no_spec_validate(&p->spec, 0, err, len))
        return -1;
    fast_ws *ws = fast_ws_alloc(&p->spec);
    if (!ws)
        return no_errorf(err, len, "fast: out of memory for the workspace");
    if (no_outputs_init(out, &p->spec)) {
        fast_ws_free(ws);
        return no_errorf(err, len, "fast: out of memory for the outputs");
    }
    if (pr)
        ws->progress = *pr;
    int rc = fast_run_ws(ws, p, out, err, len);
    if (rc)
        no_arrays_free(out);
    fast_ws_free(ws);
    return rc;
}

int fast_flow(const no_problem *p, double *Z, int reverse, char *err, size_t len)
{
    if (!p || !Z)
        return no_errorf(err, len, "fast: null problem or state");
    if (no_spec_validate(&p->spec, 0, err, len))
        return -1;
    fast_ws *ws = fast_ws_alloc(&p->spec);
    if (!ws)
        return no_errorf(err, len, "fast: out of memory for the workspace");
    const no_spec *s = &p->spec;
    fast_worker *wk = &ws->workers[0];
    wk->ctx.p = p;
    /* Reverse runs the layers in the opposite order with step -h/m: the same
     * scheme applied to the time-reversed field, so it inverts the forward
     * map only up to the scheme's local error.  Block by block: rows are
     * independent. */
    double tau = reverse ? -ws->tau : ws->tau;
    for (size_t b = 0; b < ws->nblocks; b++) {
        size_t n = fast_ws_block_points(ws, b), nd = n * s->D;
        double *rows = Z + b * ws->B * s->D, *cur = wk->p, *next = wk->pnext;
        fast_scheme_set_points(&wk->scheme, n);
        memcpy(cur, rows, nd * sizeof(double));
        for (size_t l = 0; l < s->L; l++) {
            size_t k = reverse ? s->L - 1 - l : l;
            for (size_t sub = 0; sub < s->m; sub++) {
                fast_scheme_step(&wk->scheme, k, tau, cur, next);
                double *tmp = cur;
                cur = next;
                next = tmp;
            }
        }
        memcpy(rows, cur, nd * sizeof(double));
    }
    fast_ws_free(ws);
    return 0;
}
