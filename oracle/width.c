/* width.c - rff GD vs kernel GD as q grows, and mlp GD as M grows with
 * i.i.d. or quadrature initialisation (width.h, proofs-notes/width-limit.md). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fast.h"
#include "fast_train.h"
#include "fit.h"
#include "ref.h"
#include "ref_kernel.h"
#include "ref_train.h"
#include "suite.h"
#include "width.h"

#define WIDTH_QMAX ((size_t)1 << 20)
#define WIDTH_SEEDS_MAX 10000
#define WIDTH_STEPS_MAX 1000

static int is_pow2(size_t v)
{
    return v && !(v & (v - 1));
}

int no_width_validate(const no_width_opts *o, char *err, size_t len)
{
    if (o->spec.family != NO_FAMILY_RFF)
        return no_errorf(err, len, "--family: the width limit is defined for rff only");
    if (o->spec.adjoint != NO_ADJOINT_DISCRETE)
        return no_errorf(err, len, "--adjoint: kernel gradient descent needs the discrete "
                                   "adjoint (the exact gradient)");
    if (o->spec.kernel == NO_KERNEL_MATERN && o->spec.nu != 0.5 && o->spec.nu != 1.5 &&
        o->spec.nu != 2.5 && o->spec.nu != 3.5)
        return no_errorf(err, len, "--nu: the exact Matern kernel is available for nu = 0.5, "
                                   "1.5, 2.5, 3.5, got %g", o->spec.nu);
    if (!is_pow2(o->qmin) || !is_pow2(o->qmax) || o->qmax > WIDTH_QMAX)
        return no_errorf(err, len, "--qmin, --qmax: expected powers of two up to 2^20");
    if (o->qmax < 4 * o->qmin)
        return no_errorf(err, len, "--qmax must be at least 4 --qmin (three widths for a fit "
                                   "with an interval)");
    if (o->seeds < 2 || o->seeds > WIDTH_SEEDS_MAX)
        return no_errorf(err, len, "--seeds: expected 2..%d", WIDTH_SEEDS_MAX);
    if (o->steps < 1 || o->steps > WIDTH_STEPS_MAX)
        return no_errorf(err, len, "--steps: expected 1..%d", WIDTH_STEPS_MAX);
    if (!isfinite(o->eta) || !(o->eta > 0))
        return no_errorf(err, len, "--eta: expected a finite number > 0");
    if (!(o->level > 0 && o->level < 1))
        return no_errorf(err, len, "--level: expected a number in (0, 1)");
    no_spec s = o->spec;
    s.q = o->qmax;
    return no_spec_validate(&s, NO_REQ_NONE, err, len);
}

void no_width_result_clear(no_width_result *res)
{
    free(res->q);
    for (int k = 0; k < NO_WIDTH_NQ; k++) {
        free(res->diff[k]);
        free(res->stat[k]);
        free(res->sd[k]);
        free(res->fit[k]);
    }
    free(res->F_kernel);
    memset(res, 0, sizeof *res);
}

/* rff GD from W^0 = 0: F[n] and out[n * N d_out + e], n = 0..steps. */
static int rff_gd_fast(const no_problem *p, size_t steps, double eta, double *F, double *out,
                       char *err, size_t len)
{
    fast_ws *ws = fast_ws_alloc(&p->spec);
    no_arrays r;
    memset(&r, 0, sizeof r);
    if (!ws || no_outputs_init(&r, &p->spec)) {
        fast_ws_free(ws);
        return no_errorf(err, len, "out of memory (rff run, q = %zu)", p->spec.q);
    }
    size_t K = p->spec.L * p->spec.D * p->spec.q, no = p->spec.N * p->spec.d_out;
    memset(p->W, 0, K * sizeof *p->W);
    int rc = 0;
    for (size_t n = 0; n <= steps && !rc; n++) {
        if (fast_run_ws(ws, p, &r, err, len)) {
            rc = -1;
            break;
        }
        F[n] = no_arrays_get(&r, "loss")->v[0];
        memcpy(out + n * no, no_arrays_get(&r, "output")->v, no * sizeof *out);
        const double *g = no_arrays_get(&r, "mgrad_W")->v;
        if (n < steps)
            for (size_t e = 0; e < K; e++)
                p->W[e] -= eta * g[e];
    }
    no_arrays_free(&r);
    fast_ws_free(ws);
    return rc;
}

/* The same in the reference: W an MPFR array at prec bits, never rounded. */
static int rff_gd_ref(const no_problem *p, long prec, size_t steps, double eta, double *F,
                      double *out, char *err, size_t len)
{
    ref_model m;
    if (ref_model_init(&m, p, (mpfr_prec_t)prec, err, len))
        return -1;
    ref_array *W = ref_model_param(&m, "W");
    for (size_t e = 0; e < W->n; e++)
        mpfr_set_zero(W->v[e], 1);
    mpfr_t step, x;
    mpfr_inits2((mpfr_prec_t)prec, step, x, (mpfr_ptr)0);
    mpfr_set_d(step, eta, MPFR_RNDN);
    size_t no = p->spec.N * p->spec.d_out;
    int rc = 0;
    for (size_t n = 0; n <= steps; n++) {
        ref_result r;
        if (ref_run(&m, &r, err, len)) {
            rc = -1;
            break;
        }
        F[n] = mpfr_get_d(ref_result_get(&r, "loss")->v[0], MPFR_RNDN);
        const ref_array *o = ref_result_get(&r, "output");
        for (size_t e = 0; e < no; e++)
            out[n * no + e] = mpfr_get_d(o->v[e], MPFR_RNDN);
        if (n < steps) {
            const ref_array *g = ref_result_get(&r, "mgrad_W");
            for (size_t e = 0; e < W->n; e++) {
                mpfr_mul(x, g->v[e], step, MPFR_RNDN);
                mpfr_sub(W->v[e], W->v[e], x, MPFR_RNDN);
            }
        }
        ref_result_clear(&r);
    }
    mpfr_clears(step, x, (mpfr_ptr)0);
    ref_model_clear(&m);
    return rc;
}

/* Kernel GD with the true kernel on p's data. */
static int kernel_gd(const no_width_opts *o, const no_problem *p, double *F, double *out,
                     char *err, size_t len)
{
    ref_model m;
    if (ref_model_init(&m, p, (mpfr_prec_t)o->prec, err, len))
        return -1;
    ref_kernel *k = p->spec.kernel == NO_KERNEL_GAUSSIAN
                        ? ref_kernel_gaussian(p->spec.D, p->spec.ell, (mpfr_prec_t)o->prec)
                        : ref_kernel_matern(p->spec.D, p->spec.nu, (mpfr_prec_t)o->prec);
    if (!k) {
        ref_model_clear(&m);
        return no_errorf(err, len, "out of memory (kernel)");
    }
    ref_kernel_trace tr;
    int rc = ref_kernel_gd(&m, k, o->eta, o->steps, 0, &tr, err, len);
    if (!rc) {
        size_t no = p->spec.N * p->spec.d_out;
        for (size_t n = 0; n <= o->steps; n++) {
            F[n] = mpfr_get_d(tr.F[n], MPFR_RNDN);
            for (size_t e = 0; e < no; e++)
                out[n * no + e] = mpfr_get_d(tr.output.v[n * no + e], MPFR_RNDN);
        }
        ref_kernel_trace_clear(&tr);
    }
    ref_kernel_free(k);
    ref_model_clear(&m);
    return rc;
}

/* ---- the sweep in cells (width.h) ----------------------------------------- */

struct no_width_sweep {
    int mlp;
    no_width_opts o;          /* rff */
    no_width_mlp_opts mo;     /* mlp */
    size_t nw, S, T, no;      /* widths, draws per width, steps, N d_out */
    no_problem base;          /* the data: X, Y, A, B */
    double *kout, *knorm;     /* rff: the kernel run's outputs and their norms */
    int have_target;          /* cell 0 added */
    size_t added;
    no_width_result r;
    no_width_mlp_result mr;
    clock_t t0;
};

void no_width_sweep_free(no_width_sweep *sw)
{
    if (!sw)
        return;
    no_problem_free(&sw->base);
    free(sw->kout);
    free(sw->knorm);
    no_width_result_clear(&sw->r);
    no_width_mlp_result_clear(&sw->mr);
    free(sw);
}

int no_width_sweep_open(const no_width_opts *o, no_width_sweep **swp, char *err, size_t len)
{
    *swp = NULL;
    if (no_width_validate(o, err, len))
        return -1;
    no_width_sweep *sw = calloc(1, sizeof *sw);
    if (!sw)
        return no_errorf(err, len, "out of memory (width tables)");
    sw->t0 = clock();
    sw->o = *o;
    size_t nq = 0;
    for (size_t q = o->qmin; q <= o->qmax; q *= 2)
        nq++;
    size_t S = o->seeds, T = o->steps, no = o->spec.N * o->spec.d_out;
    sw->nw = nq;
    sw->S = S;
    sw->T = T;
    sw->no = no;
    no_width_result *res = &sw->r;
    res->nq = nq;
    res->seeds = S;
    res->steps = T;
    res->q = calloc(nq, sizeof *res->q);
    res->F_kernel = calloc(T + 1, sizeof *res->F_kernel);
    int bad = !res->q || !res->F_kernel;
    for (int k = 0; k < NO_WIDTH_NQ && !bad; k++) {
        res->diff[k] = calloc(T * nq * S, sizeof(double));
        res->stat[k] = calloc(T * nq, sizeof(double));
        res->sd[k] = calloc(T * nq, sizeof(double));
        res->fit[k] = calloc(T, sizeof(no_fit));
        bad = !res->diff[k] || !res->stat[k] || !res->sd[k] || !res->fit[k];
    }
    sw->kout = calloc((T + 1) * no, sizeof *sw->kout);
    sw->knorm = calloc(T + 1, sizeof *sw->knorm);
    if (bad || !sw->kout || !sw->knorm) {
        no_width_sweep_free(sw);
        return no_errorf(err, len, "out of memory (width tables)");
    }
    for (size_t i = 0, q = o->qmin; i < nq; i++, q *= 2)
        res->q[i] = q;
    /* the data: the problem of spec.seed (at q = qmin; X, Y, A, B do not
     * depend on q: each array has its own stream, generator.md) */
    no_spec base_spec = o->spec;
    base_spec.q = o->qmin;
    if (no_problem_generate(&sw->base, &base_spec, err, len)) {
        memset(&sw->base, 0, sizeof sw->base);
        no_width_sweep_free(sw);
        return -1;
    }
    *swp = sw;
    return 0;
}

size_t no_width_sweep_cells(const no_width_sweep *sw)
{
    return 1 + sw->nw * sw->S;
}

size_t no_width_sweep_cell_len(const no_width_sweep *sw)
{
    return sw->mlp ? sw->T + 1 : (sw->T + 1) * (1 + sw->no);
}

/* The cost model of a cell, in units of about 10 ns on the development
 * machine (docs/mpi.md; measured with nodeoracle width on 2 cores): a
 * gradient-descent iterate of fast is 3 passes (forward, adjoint,
 * gradient) of no_suite_cost field multiply-adds, 1 unit each; the same in
 * the reference, at prec bits, WIDTH_REF_WEIGHT(prec) units each; drawing a
 * problem's random numbers (MPFR Box-Muller) about 50 units per number; and
 * the kernel target, about C^2 D (T+1)^2 / 2 kernel terms per pass (its
 * expansion grows by C = N L m stages centres an iterate), two passes, at
 * half the reference's weight.  Rough (within a factor 2 of the measured
 * cells), and only the ratios matter: it decides the split, never a
 * result. */
#define WIDTH_REF_WEIGHT(prec) (30.0 * (0.5 + (double)(prec) / 256.0))
#define WIDTH_DRAW_UNITS 50.0

double no_width_sweep_cost(const no_width_sweep *sw, size_t cell)
{
    double T1 = (double)(sw->T + 1), pass = 3;
    no_spec s = sw->mlp ? sw->mo.spec : sw->o.spec;
    int ref = sw->mlp ? sw->mo.impl == NO_WIDTH_REF : sw->o.impl == NO_WIDTH_REF;
    long prec = sw->mlp ? sw->mo.prec : sw->o.prec;
    double D = (double)s.D, L = (double)s.L;
    if (!sw->mlp) {
        if (cell == 0) {
            s.q = 1;
            double C = no_suite_cost(&s) / (2 * D);
            return C * C * D * T1 * T1 / 2 * 2 * WIDTH_REF_WEIGHT(prec) / 2;
        }
        s.q = sw->r.q[(cell - 1) / sw->S];
        return T1 * pass * no_suite_cost(&s) * (ref ? WIDTH_REF_WEIGHT(prec) : 1) +
               WIDTH_DRAW_UNITS * L * D * (double)s.q;
    }
    s.q = 0;
    s.M = cell == 0 ? sw->mr.M_ref : sw->mr.M[(cell - 1) / sw->S];
    return T1 * pass * no_suite_cost(&s) * (ref ? WIDTH_REF_WEIGHT(prec) : 1) +
           WIDTH_DRAW_UNITS * L * (2 * D + 1) * (double)s.M;
}

/* rff cell: 0 the kernel run, else the run of q index i, draw r; out = F
 * (T + 1), then the outputs ((T + 1) N d_out). */
static int rff_cell(const no_width_sweep *sw, size_t cell, double *out, char *err, size_t len)
{
    const no_width_opts *o = &sw->o;
    size_t T = sw->T;
    double *F = out, *o_out = out + T + 1;
    if (cell == 0)
        return kernel_gd(o, &sw->base, F, o_out, err, len);
    size_t i = (cell - 1) / sw->S, r = (cell - 1) % sw->S;
    no_spec fs = o->spec;
    fs.q = sw->r.q[i];
    fs.seed = o->spec.seed + 1 + (uint64_t)(i * sw->S + r);
    no_problem feat, run;
    if (no_problem_generate(&feat, &fs, err, len))
        return -1;
    /* the data of base, the features of feat */
    if (no_problem_copy(&run, &feat)) {
        no_problem_free(&feat);
        return no_errorf(err, len, "out of memory (problem copy)");
    }
    const no_problem *base = &sw->base;
    memcpy(run.X, base->X, o->spec.N * o->spec.d_in * sizeof *run.X);
    memcpy(run.Y, base->Y, o->spec.N * o->spec.d_out * sizeof *run.Y);
    memcpy(run.A, base->A, o->spec.D * o->spec.d_in * sizeof *run.A);
    memcpy(run.B, base->B, o->spec.d_out * o->spec.D * sizeof *run.B);
    run.spec.seed = o->spec.seed;
    int rc = o->impl == NO_WIDTH_REF ? rff_gd_ref(&run, o->prec, T, o->eta, F, o_out, err, len)
                                     : rff_gd_fast(&run, T, o->eta, F, o_out, err, len);
    no_problem_free(&run);
    no_problem_free(&feat);
    return rc;
}

static int mlp_width_run(const no_width_mlp_opts *o, const no_problem *base, size_t M,
                         int quadrature, uint64_t seed, double *F, char *err, size_t len);

int no_width_sweep_run(const no_width_sweep *sw, size_t cell, double *out, char *err,
                       size_t len)
{
    if (cell >= no_width_sweep_cells(sw))
        return no_errorf(err, len, "width: no cell %zu", cell);
    if (!sw->mlp)
        return rff_cell(sw, cell, out, err, len);
    const no_width_mlp_opts *o = &sw->mo;
    if (cell == 0)
        return mlp_width_run(o, &sw->base, sw->mr.M_ref, 1, o->spec.seed, out, err, len);
    size_t i = (cell - 1) / sw->S, r = (cell - 1) % sw->S;
    uint64_t seed = o->spec.seed + 1 + (uint64_t)(i * sw->S + r);
    return mlp_width_run(o, &sw->base, sw->mr.M[i], o->init != NO_WIDTH_IID, seed, out, err,
                         len);
}

int no_width_sweep_add(no_width_sweep *sw, size_t cell, const double *out, char *err,
                       size_t len)
{
    size_t T = sw->T, no = sw->no, nq = sw->nw, S = sw->S;
    if (cell >= no_width_sweep_cells(sw))
        return no_errorf(err, len, "width: no cell %zu", cell);
    if (sw->mlp) {
        no_width_mlp_result *res = &sw->mr;
        if (cell == 0)
            memcpy(res->F_ref, out, (T + 1) * sizeof *out);
        else
            for (size_t n = 0; n <= T; n++)
                res->F[n * nq * S + (cell - 1)] = out[n];
        sw->have_target |= cell == 0;
        sw->added++;
        return 0;
    }
    no_width_result *res = &sw->r;
    const double *rF = out, *rout = out + T + 1;
    if (cell == 0) {
        memcpy(res->F_kernel, rF, (T + 1) * sizeof *rF);
        memcpy(sw->kout, rout, (T + 1) * no * sizeof *rout);
        const double *kout = sw->kout;
        for (size_t n = 0; n <= T; n++) {
            double s = 0;
            for (size_t e = 0; e < no; e++)
                s += kout[n * no + e] * kout[n * no + e];
            sw->knorm[n] = sqrt(s);
        }
        sw->have_target = 1;
        sw->added++;
        return 0;
    }
    if (!sw->have_target)
        return no_errorf(err, len, "width: the kernel run (cell 0) must come first");
    size_t i = (cell - 1) / S, r = (cell - 1) % S;
    const double *kout = sw->kout;
    for (size_t n = 1; n <= T; n++) {
        double s = 0;
        for (size_t e = 0; e < no; e++) {
            double d = rout[n * no + e] - kout[n * no + e];
            s += d * d;
        }
        size_t at = (n - 1) * nq * S + i * S + r;
        res->diff[NO_WIDTH_LOSS][at] = fabs(rF[n] - res->F_kernel[n]);
        res->diff[NO_WIDTH_OUTPUT][at] = sqrt(s) / sw->knorm[n];
    }
    sw->added++;
    return 0;
}

static int rff_close(no_width_sweep *sw, char *err, size_t len)
{
    no_width_result *res = &sw->r;
    const no_width_opts *o = &sw->o;
    size_t nq = sw->nw, S = sw->S, T = sw->T;
    double *x = malloc(nq * sizeof *x);
    if (!x)
        return no_errorf(err, len, "out of memory (fit)");
    for (size_t i = 0; i < nq; i++)
        x[i] = (double)res->q[i];
    for (size_t n = 1; n <= T; n++)
        for (int k = 0; k < NO_WIDTH_NQ; k++) {
            for (size_t i = 0; i < nq; i++) {
                const double *d = res->diff[k] + (n - 1) * nq * S + i * S;
                double m1 = 0, m2 = 0;
                for (size_t r = 0; r < S; r++) {
                    m1 += d[r];
                    m2 += d[r] * d[r];
                }
                m1 /= (double)S;
                m2 /= (double)S;
                double var = (m2 - m1 * m1) * (double)S / (double)(S - 1);
                res->stat[k][(n - 1) * nq + i] = k == NO_WIDTH_LOSS ? m1 : sqrt(m2);
                res->sd[k][(n - 1) * nq + i] = sqrt(var > 0 ? var : 0);
            }
            res->fit[k][n - 1] = no_fit_loglog(x, res->stat[k] + (n - 1) * nq, nq, o->level);
        }
    free(x);
    return 0;
}

static int mlp_close(no_width_sweep *sw, char *err, size_t len);

/* All cells added: the statistics and fits into the result (taken over
 * from the sweep, which is freed). */
static int sweep_close(no_width_sweep *sw, char *err, size_t len)
{
    if (sw->added != no_width_sweep_cells(sw) || !sw->have_target)
        return no_errorf(err, len, "width: %zu of %zu runs added", sw->added,
                         no_width_sweep_cells(sw));
    return sw->mlp ? mlp_close(sw, err, len) : rff_close(sw, err, len);
}

int no_width_sweep_close(no_width_sweep *sw, no_width_result *res, char *err, size_t len)
{
    memset(res, 0, sizeof *res);
    int rc = sw->mlp ? no_errorf(err, len, "width: an mlp sweep") : sweep_close(sw, err, len);
    if (!rc) {
        *res = sw->r;
        memset(&sw->r, 0, sizeof sw->r);
        res->seconds = (double)(clock() - sw->t0) / CLOCKS_PER_SEC;
    }
    no_width_sweep_free(sw);
    return rc;
}

int no_width_sweep_all(no_width_sweep *sw, void (*progress)(void *, size_t, size_t), void *ctx,
                       char *err, size_t len)
{
    size_t n = no_width_sweep_cells(sw);
    double *out = malloc(no_width_sweep_cell_len(sw) * sizeof *out);
    if (!out)
        return no_errorf(err, len, "out of memory (width run)");
    int rc = 0;
    for (size_t c = 0; c < n && !rc; c++) {
        rc = no_width_sweep_run(sw, c, out, err, len) || no_width_sweep_add(sw, c, out, err, len);
        if (!rc && progress)
            progress(ctx, c + 1, n);
    }
    free(out);
    return rc ? -1 : 0;
}

int no_width_run(const no_width_opts *o, no_width_result *res, char *err, size_t len)
{
    memset(res, 0, sizeof *res);
    no_width_sweep *sw;
    if (no_width_sweep_open(o, &sw, err, len))
        return -1;
    if (no_width_sweep_all(sw, o->progress, o->progress_ctx, err, len)) {
        no_width_sweep_free(sw);
        return -1;
    }
    return no_width_sweep_close(sw, res, err, len);
}

/* ---- the mean-field (mlp) width limit (width.h; width-limit.md 8-11) ---- */

#define WIDTH_MMAX ((size_t)1 << 16)
/* 512 MiB of quadrature points at most */
#define WIDTH_QUAD_DOUBLES ((size_t)1 << 26)

/* Joe and Kuo's direction numbers (new-joe-kuo-6.21201, dimensions 2..21):
 * degree s, the inner coefficients a of the primitive polynomial
 * x^s + c_1 x^(s-1) + ... + c_(s-1) x + 1 (a = c_1 ... c_(s-1) in binary),
 * and the initial m_1..m_s (odd, m_k < 2^k).  Dimension 1 is van der
 * Corput's (all m_k = 1).  The test checks that each polynomial is
 * primitive and that every coordinate of the first 2^m points is a
 * permutation of k / 2^m. */
static const struct {
    unsigned s, a, m[7];
} sobol_dir[NO_WIDTH_SOBOL_DIMS - 1] = {
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
    {6, 19, {1, 1, 1, 15, 7, 5}},
    {6, 22, {1, 3, 1, 15, 13, 25}},
    {6, 25, {1, 1, 5, 5, 19, 61}},
    {7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {7, 4, {1, 3, 7, 13, 13, 15, 69}},
};

int no_width_sobol_centred(size_t n, size_t dim, double *u)
{
    if (n < 1 || n > ((size_t)1 << 30) || dim < 1 || dim > NO_WIDTH_SOBOL_DIMS)
        return -1;
    unsigned bits = 0;
    while (((size_t)1 << bits) < n)
        bits++;
    double centre = 0.5 / (double)((size_t)1 << bits);
    for (size_t c = 0; c < dim; c++) {
        /* v[k - 1] = the k-th direction number, left-aligned in 32 bits */
        uint32_t v[32];
        if (c == 0) {
            for (unsigned k = 1; k <= 32; k++)
                v[k - 1] = (uint32_t)1 << (32 - k);
        } else {
            unsigned s = sobol_dir[c - 1].s, a = sobol_dir[c - 1].a;
            for (unsigned k = 1; k <= 32; k++) {
                if (k <= s) {
                    v[k - 1] = (uint32_t)sobol_dir[c - 1].m[k - 1] << (32 - k);
                    continue;
                }
                uint32_t x = v[k - s - 1] ^ (v[k - s - 1] >> s);
                for (unsigned i = 1; i < s; i++)
                    if ((a >> (s - 1 - i)) & 1)
                        x ^= v[k - i - 1];
                v[k - 1] = x;
            }
        }
        /* point j: the xor of the direction numbers of j's set bits; points
         * j < 2^bits need bits direction numbers, so the value is a multiple
         * of 2^-bits and adding the centre is exact in double */
        for (size_t j = 0; j < n; j++) {
            uint32_t x = 0;
            for (unsigned k = 0; k < bits; k++)
                if ((j >> k) & 1)
                    x ^= v[k];
            u[j * dim + c] = ldexp((double)x, -32) + centre;
        }
    }
    return 0;
}

double no_width_normal_quantile(double p)
{
    /* Acklam's approximation (relative error 1.15e-9), then one Halley step
     * on e = Phi(x) - p computed with erfc, which brings it to rounding
     * level; the tails use the variable sqrt(-2 log p) */
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                -2.759285104469687e+02, 1.383577518672690e+02,
                                -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                -1.556989798598866e+02, 6.680131188771972e+01,
                                -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                -2.400758277161838e+00, -2.549732539343734e+00,
                                4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01,
                                2.445134137142996e+00, 3.754408661907416e+00};
    if (!(p > 0 && p < 1))
        return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    double x;
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p > 1 - 0.02425) {
        double q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    double e = 0.5 * erfc(-x / sqrt(2.0)) - p;
    double g = e * 2.5066282746310002 * exp(x * x / 2);
    return x - g / (1 + x * g / 2);
}

int no_width_quadrature_init(no_problem *p, char *err, size_t len)
{
    const no_spec *s = &p->spec;
    if (s->family != NO_FAMILY_MLP)
        return no_errorf(err, len, "quadrature initialisation: family mlp only");
    size_t dim = 2 * s->D + 1, M = s->M, D = s->D, n;
    if (dim > NO_WIDTH_SOBOL_DIMS)
        return no_errorf(err, len, "--init quadrature: needs D <= %d (2 D + 1 Sobol "
                                   "dimensions), got D = %zu",
                         (NO_WIDTH_SOBOL_DIMS - 1) / 2, D);
    if (no_mul_size(s->L, M, &n) || n > ((size_t)1 << 30))
        return no_errorf(err, len, "--init quadrature: L M = %zu x %zu exceeds 2^30 points",
                         s->L, M);
    double *pts = n <= SIZE_MAX / (dim * sizeof(double)) ? malloc(n * dim * sizeof *pts) : NULL;
    if (!pts)
        return no_errorf(err, len, "out of memory (quadrature points, L M = %zu)", n);
    no_width_sobol_centred(n, dim, pts);
    /* layer k takes the points kM..(k+1)M-1: the L M particles of all
     * layers are one low-discrepancy set of the limit measure (uniform
     * layer x mu_0), not L copies of one M-point set, whose errors would
     * add up coherently over the layers where i.i.d. layers average them
     * out (width-limit.md 10) */
    double su = 1 / sqrt((double)D);
    for (size_t k = 0; k < s->L; k++)
        for (size_t j = 0; j < M; j++) {
            double *t = pts + (k * M + j) * dim;
            for (size_t c = 0; c < dim; c++)
                t[c] = no_width_normal_quantile(t[c]);
            p->b[k * M + j] = t[0];
            for (size_t c = 0; c < D; c++) {
                p->u[(k * M + j) * D + c] = su * t[1 + c];
                p->a[(k * M + j) * D + c] = s->param_scale * t[1 + D + c];
            }
        }
    free(pts);
    return 0;
}

int no_width_mlp_validate(const no_width_mlp_opts *o, char *err, size_t len)
{
    if (o->spec.family != NO_FAMILY_MLP)
        return no_errorf(err, len, "--family: the mean-field width limit is for mlp");
    if (!is_pow2(o->Mmin) || !is_pow2(o->Mmax) || o->Mmax > WIDTH_MMAX)
        return no_errorf(err, len, "--Mmin, --Mmax: expected powers of two up to 2^16");
    if (o->Mmax < 4 * o->Mmin)
        return no_errorf(err, len, "--Mmax must be at least 4 --Mmin (three widths for a fit "
                                   "with an interval)");
    if (o->init != NO_WIDTH_IID && o->init != NO_WIDTH_QUADRATURE)
        return no_errorf(err, len, "--init: expected iid or quadrature");
    if (o->init == NO_WIDTH_IID && (o->seeds < 2 || o->seeds > WIDTH_SEEDS_MAX))
        return no_errorf(err, len, "--seeds: expected 2..%d", WIDTH_SEEDS_MAX);
    if (o->steps < 1 || o->steps > WIDTH_STEPS_MAX)
        return no_errorf(err, len, "--steps: expected 1..%d", WIDTH_STEPS_MAX);
    if (!isfinite(o->eta) || !(o->eta > 0))
        return no_errorf(err, len, "--eta: expected a finite number > 0");
    if (!(o->level > 0 && o->level < 1))
        return no_errorf(err, len, "--level: expected a number in (0, 1)");
    if (o->impl != NO_WIDTH_FAST && o->impl != NO_WIDTH_REF)
        return no_errorf(err, len, "--impl: expected fast or ref");
    /* the target always uses the quadrature */
    if (2 * o->spec.D + 1 > NO_WIDTH_SOBOL_DIMS)
        return no_errorf(err, len, "--D: the quadrature target needs D <= %d (2 D + 1 Sobol "
                                   "dimensions), got D = %zu",
                         (NO_WIDTH_SOBOL_DIMS - 1) / 2, o->spec.D);
    /* the target's Sobol points, L M_ref (2 D + 1) doubles, held at once */
    size_t L = o->spec.L, Mref = NO_WIDTH_MLP_REF_FACTOR * o->Mmax, pts;
    if (no_mul_size(L, Mref, &pts) || no_mul_size(pts, 2 * o->spec.D + 1, &pts) ||
        pts > WIDTH_QUAD_DOUBLES)
        return no_errorf(err, len, "--Mmax: the quadrature target (L x 16 MMAX particles in "
                                   "2 D + 1 dimensions) would exceed 2^26 numbers; lower "
                                   "--Mmax, --L or --D");
    no_spec s = o->spec;
    s.q = 0;
    s.M = Mref;
    return no_spec_validate(&s, NO_REQ_NONE, err, len);
}

void no_width_mlp_result_clear(no_width_mlp_result *res)
{
    free(res->M);
    free(res->F);
    free(res->F_ref);
    free(res->mean);
    free(res->sd);
    free(res->err);
    free(res->traj);
    for (int k = 0; k < NO_WIDTH_MLP_NQ; k++)
        free(res->fit[k]);
    memset(res, 0, sizeof *res);
}

/* GD from p's parameters in the COT metric (mgrad, SPEC 3): F[n], n =
 * 0..steps, in double (fast) or in MPFR at prec bits (ref, the iterate
 * never rounded). */
static int mlp_gd(const no_width_mlp_opts *o, const no_problem *p, double *F, char *err,
                  size_t len)
{
    if (o->impl == NO_WIDTH_REF) {
        ref_train_opts ro;
        memset(&ro, 0, sizeof ro);
        ro.steps = o->steps;
        ro.eta = o->eta;
        ref_train_traj t;
        if (ref_train_run(p, o->prec, &ro, &t, err, len))
            return -1;
        memcpy(F, t.F, (o->steps + 1) * sizeof *F);
        ref_train_traj_clear(&t);
        return 0;
    }
    fast_train_traj t;
    if (fast_train_gd(p, o->steps, o->eta, 0, NULL, NULL, &t, err, len))
        return -1;
    memcpy(F, t.F, (o->steps + 1) * sizeof *F);
    fast_train_traj_clear(&t);
    return 0;
}

/* The run at width M: data of base, parameters drawn from seed (iid) or the
 * quadrature; F[n], n = 0..steps. */
static int mlp_width_run(const no_width_mlp_opts *o, const no_problem *base, size_t M,
                         int quadrature, uint64_t seed, double *F, char *err, size_t len)
{
    no_spec s = o->spec;
    s.q = 0;
    s.M = M;
    s.seed = seed;
    no_problem p;
    if (no_problem_generate(&p, &s, err, len))
        return -1;
    /* X, Y come from the streams of seed: the data of base replace them (A
     * and B do not depend on the seed, copied all the same) */
    memcpy(p.X, base->X, s.N * s.d_in * sizeof *p.X);
    memcpy(p.Y, base->Y, s.N * s.d_out * sizeof *p.Y);
    memcpy(p.A, base->A, s.D * s.d_in * sizeof *p.A);
    memcpy(p.B, base->B, s.d_out * s.D * sizeof *p.B);
    p.spec.seed = o->spec.seed;
    int rc = quadrature ? no_width_quadrature_init(&p, err, len) : 0;
    if (!rc)
        rc = mlp_gd(o, &p, F, err, len);
    no_problem_free(&p);
    return rc;
}

int no_width_mlp_sweep_open(const no_width_mlp_opts *o, no_width_sweep **swp, char *err,
                            size_t len)
{
    *swp = NULL;
    if (no_width_mlp_validate(o, err, len))
        return -1;
    no_width_sweep *sw = calloc(1, sizeof *sw);
    if (!sw)
        return no_errorf(err, len, "out of memory (width tables)");
    sw->t0 = clock();
    sw->mlp = 1;
    sw->mo = *o;
    size_t nM = 0;
    for (size_t M = o->Mmin; M <= o->Mmax; M *= 2)
        nM++;
    int iid = o->init == NO_WIDTH_IID;
    size_t S = iid ? o->seeds : 1, T = o->steps;
    sw->nw = nM;
    sw->S = S;
    sw->T = T;
    no_width_mlp_result *res = &sw->mr;
    res->nM = nM;
    res->draws = S;
    res->steps = T;
    res->init = o->init;
    res->M_ref = NO_WIDTH_MLP_REF_FACTOR * o->Mmax;
    res->M = calloc(nM, sizeof *res->M);
    res->F = calloc((T + 1) * nM * S, sizeof *res->F);
    res->F_ref = calloc(T + 1, sizeof *res->F_ref);
    res->mean = calloc((T + 1) * nM, sizeof *res->mean);
    res->sd = calloc((T + 1) * nM, sizeof *res->sd);
    res->err = calloc((T + 1) * nM, sizeof *res->err);
    res->traj = calloc(nM, sizeof *res->traj);
    int bad = !res->M || !res->F || !res->F_ref || !res->mean || !res->sd || !res->err ||
              !res->traj;
    for (int k = 0; k < NO_WIDTH_MLP_NQ; k++) {
        res->fit[k] = calloc(T + 1, sizeof(no_fit));
        bad |= !res->fit[k];
    }
    if (bad) {
        no_width_sweep_free(sw);
        return no_errorf(err, len, "out of memory (width tables)");
    }
    for (size_t i = 0, M = o->Mmin; i < nM; i++, M *= 2)
        res->M[i] = M;
    no_spec bs = o->spec;
    bs.q = 0;
    bs.M = o->Mmin;
    if (no_problem_generate(&sw->base, &bs, err, len)) {
        memset(&sw->base, 0, sizeof sw->base);
        no_width_sweep_free(sw);
        return -1;
    }
    *swp = sw;
    return 0;
}

static int mlp_close(no_width_sweep *sw, char *err, size_t len)
{
    no_width_mlp_result *res = &sw->mr;
    const no_width_mlp_opts *o = &sw->mo;
    size_t nM = sw->nw, S = sw->S, T = sw->T;
    int iid = o->init == NO_WIDTH_IID;
    double *x = calloc(nM, sizeof *x);
    if (!x)
        return no_errorf(err, len, "out of memory (fit)");
    for (size_t i = 0; i < nM; i++)
        x[i] = (double)res->M[i];
    for (size_t n = 0; n <= T; n++) {
        for (size_t i = 0; i < nM; i++) {
            const double *f = res->F + n * nM * S + i * S;
            double m1 = 0, e2 = 0, v = 0;
            for (size_t r = 0; r < S; r++) {
                m1 += f[r];
                e2 += (f[r] - res->F_ref[n]) * (f[r] - res->F_ref[n]);
            }
            m1 /= (double)S;
            /* two passes: the spread is 1e-3 of F at M = 1024, a one-pass
             * variance would lose digits to cancellation */
            for (size_t r = 0; r < S; r++)
                v += (f[r] - m1) * (f[r] - m1);
            res->mean[n * nM + i] = m1;
            res->sd[n * nM + i] = S > 1 ? sqrt(v / (double)(S - 1)) : 0;
            res->err[n * nM + i] = sqrt(e2 / (double)S);
        }
        if (iid)
            res->fit[NO_WIDTH_MLP_SPREAD][n] =
                no_fit_loglog(x, res->sd + n * nM, nM, o->level);
        res->fit[NO_WIDTH_MLP_ERROR][n] = no_fit_loglog(x, res->err + n * nM, nM, o->level);
    }
    for (size_t i = 0; i < nM; i++) {
        double e2 = 0;
        for (size_t r = 0; r < S; r++) {
            double e = 0;
            for (size_t n = 0; n <= T; n++)
                e = fmax(e, fabs(res->F[n * nM * S + i * S + r] - res->F_ref[n]));
            e2 += e * e;
        }
        res->traj[i] = sqrt(e2 / (double)S);
    }
    res->traj_fit = no_fit_loglog(x, res->traj, nM, o->level);
    free(x);
    return 0;
}

int no_width_mlp_sweep_close(no_width_sweep *sw, no_width_mlp_result *res, char *err,
                             size_t len)
{
    memset(res, 0, sizeof *res);
    int rc = !sw->mlp ? no_errorf(err, len, "width: an rff sweep") : sweep_close(sw, err, len);
    if (!rc) {
        *res = sw->mr;
        memset(&sw->mr, 0, sizeof sw->mr);
        res->seconds = (double)(clock() - sw->t0) / CLOCKS_PER_SEC;
    }
    no_width_sweep_free(sw);
    return rc;
}

int no_width_mlp_run(const no_width_mlp_opts *o, no_width_mlp_result *res, char *err,
                     size_t len)
{
    memset(res, 0, sizeof *res);
    no_width_sweep *sw;
    if (no_width_mlp_sweep_open(o, &sw, err, len))
        return -1;
    if (no_width_sweep_all(sw, o->progress, o->progress_ctx, err, len)) {
        no_width_sweep_free(sw);
        return -1;
    }
    return no_width_mlp_sweep_close(sw, res, err, len);
}
