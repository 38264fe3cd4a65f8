/* depth.c - GD at L layers vs L -> infinity (depth.h,
 * proofs-notes/depth-limit.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "depth.h"
#include "fast_train.h"
#include "ref_train.h"
#include "tableau.h"

#define DEPTH_LMAX ((size_t)1 << 14)
#define DEPTH_STEPS_MAX 1000

int no_depth_expected_order(int k, size_t n, int p)
{
    if (k == NO_DEPTH_LOSS && n == 0)
        return p;
    return p < 2 ? p : 2;
}

void no_depth_tie(no_problem *p)
{
    no_param_info info[NO_MAX_PARAMS];
    int np = no_spec_params(&p->spec, info);
    for (int j = 0; j < np; j++) {
        double *v = no_problem_param(p, info[j].name);
        size_t per = info[j].per_layer;
        for (size_t k = 1; k < p->spec.L; k++)
            memcpy(v + k * per, v, per * sizeof *v);
    }
}

static int is_pow2(size_t v)
{
    return v && !(v & (v - 1));
}

int no_depth_validate(const no_depth_opts *o, char *err, size_t len)
{
    if (o->spec.scaling != NO_SCALING_ODE)
        return no_errorf(err, len, "--scaling: the depth limit needs ode scaling (h = 1/L); "
                                   "with h = 1/sqrt(L) there is no limiting flow");
    if (!is_pow2(o->Lmin) || !is_pow2(o->Lmax) || o->Lmax > DEPTH_LMAX)
        return no_errorf(err, len, "--Lmin, --Lmax: expected powers of two up to 2^14");
    if (o->Lmax < 8 * o->Lmin)
        return no_errorf(err, len, "--Lmax must be at least 8 --Lmin (three differences for "
                                   "a fit with an interval)");
    if (o->steps < 1 || o->steps > DEPTH_STEPS_MAX)
        return no_errorf(err, len, "--steps: expected 1..%d", DEPTH_STEPS_MAX);
    if (!isfinite(o->eta) || !(o->eta > 0))
        return no_errorf(err, len, "--eta: expected a finite number > 0");
    if (!(o->level > 0 && o->level < 1))
        return no_errorf(err, len, "--level: expected a number in (0, 1)");
    no_spec s = o->spec;
    s.L = o->Lmax;
    /* the orders are derived for a C^2 field (relu is refused) */
    return no_spec_validate(&s, NO_REQ_SMOOTH, err, len);
}

void no_depth_result_clear(no_depth_result *res)
{
    free(res->L);
    for (int k = 0; k < NO_DEPTH_NQ; k++) {
        free(res->val[k]);
        free(res->diff[k]);
        free(res->fit[k]);
        free(res->expected[k]);
        free(res->limit[k]);
        free(res->kept[k]);
    }
    memset(res, 0, sizeof *res);
}

/* GD at depth L from tied parameters: F and |G|^2 at n = 0..steps into
 * val[k][n * nL + i]. */
static int run_depth(const no_depth_opts *o, size_t L, size_t i, no_depth_result *res, char *err,
                     size_t len)
{
    no_spec s = o->spec;
    s.L = L;
    no_problem p;
    if (no_problem_generate(&p, &s, err, len))
        return -1;
    no_depth_tie(&p);
    const double *F = NULL, *G2 = NULL;
    int rc;
    fast_train_traj ft;
    ref_train_traj rt;
    memset(&ft, 0, sizeof ft);
    memset(&rt, 0, sizeof rt);
    if (o->impl == NO_DEPTH_REF) {
        ref_train_opts ro;
        memset(&ro, 0, sizeof ro);
        ro.steps = o->steps;
        ro.eta = o->eta;
        rc = ref_train_run(&p, o->prec, &ro, &rt, err, len);
        F = rt.F;
        G2 = rt.gnorm2;
    } else {
        rc = fast_train_gd(&p, o->steps, o->eta, 0, NULL, NULL, &ft, err, len);
        F = ft.F;
        G2 = ft.gnorm2;
    }
    if (!rc)
        for (size_t n = 0; n <= o->steps; n++) {
            res->val[NO_DEPTH_LOSS][n * res->nL + i] = F[n];
            res->val[NO_DEPTH_GNORM2][n * res->nL + i] = G2[n];
        }
    fast_train_traj_clear(&ft);
    ref_train_traj_clear(&rt);
    no_problem_free(&p);
    return rc;
}

int no_depth_run(const no_depth_opts *o, no_depth_result *res, char *err, size_t len)
{
    memset(res, 0, sizeof *res);
    if (no_depth_validate(o, err, len))
        return -1;
    clock_t t0 = clock();
    size_t nL = 0;
    for (size_t L = o->Lmin; L <= o->Lmax; L *= 2)
        nL++;
    size_t T = o->steps + 1;
    res->nL = nL;
    res->steps = o->steps;
    res->scheme_order = no_tableau_of(o->spec.scheme)->order;
    res->L = calloc(nL, sizeof *res->L);
    int bad = !res->L;
    for (int k = 0; k < NO_DEPTH_NQ && !bad; k++) {
        res->val[k] = calloc(T * nL, sizeof(double));
        res->diff[k] = calloc(T * (nL - 1), sizeof(double));
        res->fit[k] = calloc(T, sizeof(no_fit));
        res->expected[k] = calloc(T, sizeof(int));
        res->limit[k] = calloc(T, sizeof(double));
        res->kept[k] = calloc(T, sizeof(size_t));
        bad = !res->val[k] || !res->diff[k] || !res->fit[k] || !res->expected[k] ||
              !res->limit[k] || !res->kept[k];
    }
    double *x = calloc(nL, sizeof *x);
    if (bad || !x) {
        free(x);
        no_depth_result_clear(res);
        return no_errorf(err, len, "out of memory (depth tables)");
    }
    for (size_t i = 0, L = o->Lmin; i < nL; i++, L *= 2) {
        res->L[i] = L;
        x[i] = (double)L;
    }
    int rc = 0;
    for (size_t i = 0; i < nL && !rc; i++) {
        rc = run_depth(o, res->L[i], i, res, err, len);
        if (!rc && o->progress)
            o->progress(o->progress_ctx, i + 1, nL);
    }
    for (int k = 0; k < NO_DEPTH_NQ && !rc; k++)
        for (size_t n = 0; n < T; n++) {
            const double *v = res->val[k] + n * nL;
            double *d = res->diff[k] + n * (nL - 1);
            for (size_t i = 0; i + 1 < nL; i++)
                d[i] = fabs(v[i] - v[i + 1]);
            /* d_i belongs to the coarser depth L_i.  Only the leading
             * differences above the rounding floor are fitted: once d_i is
             * the runs' own rounding it stops falling and would bend the
             * line (high-order schemes at n = 0 reach it by L ~ 64). */
            double top = 0;
            for (size_t i = 0; i < nL; i++)
                top = fmax(top, fabs(v[i]));
            double floor_ = ldexp(top, o->impl == NO_DEPTH_REF ? -46 : -40);
            size_t kept = 0;
            while (kept + 1 < nL && d[kept] > floor_)
                kept++;
            res->kept[k][n] = kept;
            res->fit[k][n] = no_fit_loglog(x, d, kept, o->level);
            int r = no_depth_expected_order(k, n, res->scheme_order);
            res->expected[k][n] = r;
            res->limit[k][n] = v[nL - 1] + (v[nL - 1] - v[nL - 2]) / (ldexp(1, r) - 1);
        }
    free(x);
    res->seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (rc) {
        no_depth_result_clear(res);
        return -1;
    }
    return 0;
}
