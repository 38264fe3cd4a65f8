/* compare.c - see compare.h. */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fast.h"
#include "progress.h"
#include "ref.h"
#include "resources.h"

const char *no_verdict_name(no_verdict v)
{
    static const char *const n[] = {"pass",          "FAIL",
                                    "FAIL(nan/inf)", "FAIL(missing)",
                                    "ref too weak",  "unverifiable"};
    return (unsigned)v < sizeof n / sizeof *n ? n[v] : "?";
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

void no_compare_index_str(const no_cmp_row *row, long flat, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "%s[", row->name);
    long stride = 1;
    for (int d = 0; d < row->ndim; d++)
        stride *= row->shape[d] > 0 ? row->shape[d] : 1;
    for (int d = 0; d < row->ndim && used < n; d++) {
        stride /= row->shape[d] > 0 ? row->shape[d] : 1;
        used += (size_t)snprintf(buf + used, n - used, "%s%ld", d ? "," : "", flat / stride);
        flat %= stride;
    }
    if (row->ndim == 0 && used < n)
        used += (size_t)snprintf(buf + used, n - used, "0");
    if (used < n)
        snprintf(buf + used, n - used, "]");
}

/* The first non-finite element of a (ref first: a reference outside the
 * float64 range makes the candidate's value meaningless to look at). */
static no_nonfinite first_nonfinite(const no_array *c, const no_array *r)
{
    no_nonfinite b = {-1, 0, 0};
    for (size_t e = 0; e < r->n; e++)
        if (!isfinite(r->v[e]))
            return (no_nonfinite){(long)e, 1, r->v[e]};
    for (size_t e = 0; e < c->n; e++)
        if (!isfinite(c->v[e]))
            return (no_nonfinite){(long)e, 0, c->v[e]};
    return b;
}

static void compare_one(const no_array *c, const no_array *r, const no_array *bits,
                        const no_tol_model *tol, no_cmp_row *row)
{
    memset(row, 0, sizeof *row);
    memcpy(row->name, r->name, sizeof row->name);
    row->ndim = r->ndim;
    for (int d = 0; d < r->ndim && d < 4; d++)
        row->shape[d] = (int)r->shape[d];
    row->tol = no_tol_for(tol, r->name);
    /* isfinite: -log2 of +inf, 0 or NaN is not a number of bits */
    row->need_bits = isfinite(row->tol) && row->tol > 0 ? -log2(row->tol) + 4 : INFINITY;
    row->bad.index = -1;
    row->max_rel = row->rms_rel = row->max_ulps = NAN;
    if (!c || !same_shape(c, r)) {
        row->verdict = NO_VERDICT_MISSING;
        return;
    }
    row->bad = first_nonfinite(c, r);
    double rmax = 0, emax = 0, r2 = 0, e2 = 0, ulps = 0, refabs = 0, minb = INFINITY;
    for (size_t e = 0; e < r->n; e++)
        rmax = fmax(rmax, fabs(r->v[e]));
    /* sums of squares scaled by rmax: unscaled, values near 1e200 overflow */
    double scale = rmax > 0 && isfinite(rmax) ? rmax : 1.0;
    for (size_t e = 0; e < r->n; e++) {
        double rv = r->v[e], cv = c->v[e], err = fabs(cv - rv);
        emax = fmax(emax, err);
        r2 += (rv / scale) * (rv / scale);
        e2 += (err / scale) * (err / scale);
        if (rv != 0)
            ulps = fmax(ulps, err / ulp_of(rv, tol->u));
        /* the reference's own error, from its per-element correct bits */
        refabs = fmax(refabs, fabs(rv) * ldexp(1.0, -(int)fmin(bits->v[e], 1000)));
        minb = fmin(minb, bits->v[e]);
    }
    row->ref_min_bits = minb;
    row->ref_bits = rmax > 0 && refabs > 0 ? fmax(0.0, -log2(refabs / rmax)) : minb;
    if (row->bad.index < 0) {
        /* Non-finite numbers leave these NaN: fmax drops NaN operands, so a
         * NaN array would otherwise print an error of 0. */
        row->max_rel = rmax > 0 ? emax / rmax : emax;
        row->rms_rel = r2 > 0 ? sqrt(e2 / r2) : sqrt(e2);
        row->max_ulps = ulps;
    }
    double ref_err = ldexp(1.0, -(int)fmin(row->ref_bits, 1000));
    if ((row->bad.index >= 0 && row->bad.in_ref) || tol->out_name[0])
        row->verdict = NO_VERDICT_UNVERIFIABLE; /* outside the format's range */
    else if (!(row->tol <= no_tol_meaningful_max(tol->u)))
        row->verdict = NO_VERDICT_UNVERIFIABLE; /* inf, NaN or too large to test anything */
    else if (row->bad.index >= 0)
        row->verdict = NO_VERDICT_NONFINITE;
    /* A fail is sound whatever the reference's precision: the candidate is
     * further than tol from the exact value even if the reference errs by
     * ref_err in the candidate's favour. */
    else if (row->max_rel - ref_err > row->tol)
        row->verdict = NO_VERDICT_FAIL;
    /* A pass needs the reference 16x more accurate than the tolerance
     * (need_bits = -log2(tol) + 4), so that its error cannot hide one. */
    else if (!(row->ref_bits >= row->need_bits))
        row->verdict = NO_VERDICT_REF_WEAK;
    else if (row->max_rel <= row->tol)
        row->verdict = NO_VERDICT_PASS;
    else
        row->verdict = NO_VERDICT_REF_WEAK; /* within ref_err of the tolerance: undecided */
}

void no_compare_arrays(const no_arrays *cand, const no_arrays *ref, const no_arrays *ref_bits,
                       const no_tol_model *tol, no_cmp_report *rep)
{
    rep->tol = *tol;
    rep->nrows = 0;
    rep->pass = 1;
    int failed = 0;
    for (int i = 0; i < ref->count && i < NO_MAX_ARRAYS; i++) {
        const no_array *r = &ref->a[i];
        no_cmp_row *row = &rep->rows[rep->nrows++];
        compare_one(no_arrays_get(cand, r->name), r, &ref_bits->a[i], tol, row);
        rep->pass &= row->verdict == NO_VERDICT_PASS;
        failed |= row->verdict == NO_VERDICT_FAIL || row->verdict == NO_VERDICT_NONFINITE ||
                  row->verdict == NO_VERDICT_MISSING;
    }
    rep->outcome = failed ? NO_OUTCOME_FAIL : rep->pass ? NO_OUTCOME_PASS : NO_OUTCOME_UNJUDGED;
}

long no_compare_cap(long prec, long max_prec)
{
    long cap = max_prec > 0 ? max_prec : prec > NO_PREC_AUTO_CAP ? prec : NO_PREC_AUTO_CAP;
    return cap < REF_CERTIFY_PREC_MAX ? cap : REF_CERTIFY_PREC_MAX;
}

long no_compare_next_prec(long prec, long cap)
{
    if (prec >= cap)
        return 0;
    return 2 * prec < cap ? 2 * prec : cap;
}

int no_compare_needs_more_bits(const no_cmp_report *rep)
{
    for (int i = 0; i < rep->nrows; i++)
        if (rep->rows[i].verdict == NO_VERDICT_REF_WEAK)
            return 1;
    return 0;
}

static double compare_bytes(const void *spec, long prec)
{
    return no_res_compare_bytes(spec, prec);
}

long no_compare_raise(no_cmp_report *rep, double (*bytes)(const void *ctx, long prec),
                      const void *ctx)
{
    long next = no_compare_needs_more_bits(rep) ? no_compare_next_prec(rep->prec, rep->prec_cap)
                                                : 0;
    char err[200];
    if (next && no_res_require(bytes(ctx, next), "raising the reference", "", err, sizeof err)) {
        snprintf(rep->raise_note, sizeof rep->raise_note, "stopped at %ld bits: %s", rep->prec,
                 err);
        return 0;
    }
    return next;
}

int no_compare_problem(const no_problem *p, long prec, long cap, no_cmp_report *rep, char *err,
                       size_t len)
{
    memset(rep, 0, sizeof *rep);
    cap = no_compare_cap(prec, cap);
    no_arrays cand;
    if (fast_run_progress(p, no_progress_fast(), &cand, err, len))
        return -1;
    int rc = 0;
    /* Arb-style: judge at prec; while some row could only be judged by a
     * more accurate reference, certify again at twice the precision. */
    for (long at = prec; at && rc == 0; at = no_compare_raise(rep, compare_bytes, &p->spec)) {
        no_arrays ref, bits;
        no_tol_model tol;
        if (ref_certify_setup(p, (mpfr_prec_t)at, no_progress_setup(), &ref, &bits, err, len)) {
            rc = -1;
            break;
        }
        if (no_tol_model_init(&tol, p, &ref, 0x1.0p-53) == 0) {
            memset(rep, 0, sizeof *rep);
            rep->spec = p->spec;
            rep->prec = at;
            rep->prec_asked = prec;
            rep->prec_cap = cap;
            no_compare_arrays(&cand, &ref, &bits, &tol, rep);
        } else {
            snprintf(err, len, "out of memory building the tolerance model");
            rc = -1;
        }
        no_arrays_free(&ref);
        no_arrays_free(&bits);
    }
    no_arrays_free(&cand);
    return rc;
}
