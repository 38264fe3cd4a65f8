/* width.c - rff GD vs kernel GD as q grows (width.h,
 * proofs-notes/width-limit.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fast.h"
#include "fit.h"
#include "ref.h"
#include "ref_kernel.h"
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

int no_width_run(const no_width_opts *o, no_width_result *res, char *err, size_t len)
{
    memset(res, 0, sizeof *res);
    if (no_width_validate(o, err, len))
        return -1;
    clock_t t0 = clock();
    size_t nq = 0;
    for (size_t q = o->qmin; q <= o->qmax; q *= 2)
        nq++;
    size_t S = o->seeds, T = o->steps, no = o->spec.N * o->spec.d_out;
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
    double *kout = calloc((T + 1) * no, sizeof *kout), *rout = calloc((T + 1) * no, sizeof *rout),
           *rF = calloc(T + 1, sizeof *rF), *knorm = calloc(T + 1, sizeof *knorm);
    if (bad || !kout || !rout || !rF || !knorm) {
        free(kout);
        free(rout);
        free(rF);
        free(knorm);
        no_width_result_clear(res);
        return no_errorf(err, len, "out of memory (width tables)");
    }
    for (size_t i = 0, q = o->qmin; i < nq; i++, q *= 2)
        res->q[i] = q;
    size_t total = 1 + nq * S, done = 0;
    int rc = 0;
    /* the data: the problem of spec.seed (at q = qmin; X, Y, A, B do not
     * depend on q: each array has its own stream, generator.md) */
    no_spec base_spec = o->spec;
    base_spec.q = o->qmin;
    no_problem base;
    int have_base = 0;
    if (no_problem_generate(&base, &base_spec, err, len))
        rc = -1;
    else {
        have_base = 1;
        rc = kernel_gd(o, &base, res->F_kernel, kout, err, len);
        if (o->progress)
            o->progress(o->progress_ctx, ++done, total);
    }
    for (size_t n = 0; n <= T && !rc; n++) {
        double s = 0;
        for (size_t e = 0; e < no; e++)
            s += kout[n * no + e] * kout[n * no + e];
        knorm[n] = sqrt(s);
    }
    for (size_t i = 0; i < nq && !rc; i++) {
        for (size_t r = 0; r < S && !rc; r++) {
            no_spec fs = o->spec;
            fs.q = res->q[i];
            fs.seed = o->spec.seed + 1 + (uint64_t)(i * S + r);
            no_problem feat, run;
            if (no_problem_generate(&feat, &fs, err, len)) {
                rc = -1;
                break;
            }
            /* the data of base, the features of feat */
            if (no_problem_copy(&run, &feat)) {
                no_problem_free(&feat);
                rc = no_errorf(err, len, "out of memory (problem copy)");
                break;
            }
            memcpy(run.X, base.X, o->spec.N * o->spec.d_in * sizeof *run.X);
            memcpy(run.Y, base.Y, o->spec.N * o->spec.d_out * sizeof *run.Y);
            memcpy(run.A, base.A, o->spec.D * o->spec.d_in * sizeof *run.A);
            memcpy(run.B, base.B, o->spec.d_out * o->spec.D * sizeof *run.B);
            run.spec.seed = o->spec.seed;
            rc = o->impl == NO_WIDTH_REF ? rff_gd_ref(&run, o->prec, T, o->eta, rF, rout, err, len)
                                         : rff_gd_fast(&run, T, o->eta, rF, rout, err, len);
            no_problem_free(&run);
            no_problem_free(&feat);
            if (rc)
                break;
            for (size_t n = 1; n <= T; n++) {
                double s = 0;
                for (size_t e = 0; e < no; e++) {
                    double d = rout[n * no + e] - kout[n * no + e];
                    s += d * d;
                }
                size_t at = (n - 1) * nq * S + i * S + r;
                res->diff[NO_WIDTH_LOSS][at] = fabs(rF[n] - res->F_kernel[n]);
                res->diff[NO_WIDTH_OUTPUT][at] = sqrt(s) / knorm[n];
            }
            if (o->progress)
                o->progress(o->progress_ctx, ++done, total);
        }
    }
    if (!rc) {
        double *x = malloc(nq * sizeof *x);
        if (!x)
            rc = no_errorf(err, len, "out of memory (fit)");
        for (size_t i = 0; i < nq && x; i++)
            x[i] = (double)res->q[i];
        for (size_t n = 1; n <= T && x; n++)
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
                res->fit[k][n - 1] =
                    no_fit_loglog(x, res->stat[k] + (n - 1) * nq, nq, o->level);
            }
        free(x);
    }
    if (have_base)
        no_problem_free(&base);
    free(kout);
    free(rout);
    free(rF);
    free(knorm);
    res->seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (rc) {
        no_width_result_clear(res);
        return -1;
    }
    return 0;
}
