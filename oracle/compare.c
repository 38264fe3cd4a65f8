/* compare.c - see compare.h. */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fast.h"
#include "ref.h"

const char *no_verdict_name(no_verdict v)
{
    static const char *const n[] = {"pass", "FAIL", "FAIL(nan/inf)", "FAIL(missing)",
                                    "FAIL(ref too weak)"};
    return (unsigned)v < 5 ? n[v] : "?";
}

/* One ulp of x in the precision whose unit roundoff is u: the double's ulp
 * times 2^(53 - p) for a p-bit significand (u = 2^-p), so that a float32
 * candidate's error is counted in float32 ulps. */
static double ulp_of(double x, double u)
{
    x = fabs(x);
    return (nextafter(x, INFINITY) - x) * (u / 0x1.0p-53);
}

static int same_shape(const no_array *a, const no_array *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return 0;
    return 1;
}

static void compare_one(const no_array *c, const no_array *r, const no_array *bits,
                        const no_tol_model *tol, no_cmp_row *row)
{
    memset(row, 0, sizeof *row);
    memcpy(row->name, r->name, sizeof row->name);
    row->tol = no_tol_for(tol, r->name);
    double rmax = 0, emax = 0, r2 = 0, e2 = 0, ulps = 0, refabs = 0, minb = INFINITY;
    int finite = 1;
    for (size_t e = 0; c && e < r->n; e++) {
        double rv = r->v[e], cv = c->v[e], err = fabs(cv - rv);
        finite &= isfinite(cv);
        rmax = fmax(rmax, fabs(rv));
        emax = fmax(emax, err);
        r2 += rv * rv;
        e2 += err * err;
        if (rv != 0)
            ulps = fmax(ulps, err / ulp_of(rv, tol->u));
        /* the reference's own error, from its per-element correct bits */
        refabs = fmax(refabs, fabs(rv) * ldexp(1.0, -(int)fmin(bits->v[e], 1000)));
        minb = fmin(minb, bits->v[e]);
    }
    if (!c || !same_shape(c, r)) {
        row->verdict = NO_VERDICT_MISSING;
        return;
    }
    row->max_rel = rmax > 0 ? emax / rmax : emax;
    row->rms_rel = r2 > 0 ? sqrt(e2 / r2) : sqrt(e2);
    row->max_ulps = ulps;
    row->ref_bits = rmax > 0 && refabs > 0 ? -log2(refabs / rmax) : minb;
    row->ref_min_bits = minb;
    if (!finite)
        row->verdict = NO_VERDICT_NONFINITE;
    else if (!(row->max_rel <= row->tol))
        row->verdict = NO_VERDICT_FAIL;
    /* The reference must be 16x more accurate than the tolerance it judges by. */
    else if (ldexp(1.0, -(int)fmin(row->ref_bits, 1000)) > row->tol / 16)
        row->verdict = NO_VERDICT_REF_WEAK;
    else
        row->verdict = NO_VERDICT_PASS;
}

void no_compare_arrays(const no_arrays *cand, const no_arrays *ref, const no_arrays *ref_bits,
                       const no_tol_model *tol, no_cmp_report *rep)
{
    rep->tol = *tol;
    rep->nrows = 0;
    rep->pass = 1;
    for (int i = 0; i < ref->count && i < NO_MAX_ARRAYS; i++) {
        const no_array *r = &ref->a[i];
        no_cmp_row *row = &rep->rows[rep->nrows++];
        compare_one(no_arrays_get(cand, r->name), r, &ref_bits->a[i], tol, row);
        rep->pass &= row->verdict == NO_VERDICT_PASS;
    }
}

int no_compare_problem(const no_problem *p, long prec, no_cmp_report *rep, char *err,
                       size_t len)
{
    memset(rep, 0, sizeof *rep);
    rep->spec = p->spec;
    rep->prec = prec;
    no_arrays ref, bits, cand;
    if (ref_certify(p, (mpfr_prec_t)prec, &ref, &bits, err, len))
        return -1;
    int rc = -1;
    no_tol_model tol;
    if (fast_run(p, &cand, err, len) == 0) {
        if (no_tol_model_init(&tol, p, &ref, 0x1.0p-53) == 0) {
            no_compare_arrays(&cand, &ref, &bits, &tol, rep);
            rc = 0;
        } else {
            snprintf(err, len, "out of memory building the tolerance model");
        }
        no_arrays_free(&cand);
    }
    no_arrays_free(&ref);
    no_arrays_free(&bits);
    return rc;
}
