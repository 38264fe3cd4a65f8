/* ref_precision_pairs: Arb-style self-consistency of the reference on random
 * small problems at random precisions (proofs-notes/precision.md).
 *
 * 1. Two precisions p1 < p2 agree, normwise per array, within the tolerance
 *    model of proofs-notes/tolerance.md evaluated with u = 2^-p1: the same
 *    rounding-error analysis that judges fast/ at u = 2^-53 bounds ref at any u.
 * 2. The correct bits that ref_certify claims at precision p are never more
 *    than the truth, measured against a run at 4p (whose error is 2^-3p times
 *    smaller, so it stands for the exact value in this comparison). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ref.h"
#include "rng.h"
#include "test_util.h"
#include "tolerance.h"

static void random_spec(no_spec *s, no_rng *r)
{
    int v = (int)no_rng_below(r, NO_TEST_VARIANTS);
    no_test_spec(s, v, no_rng_below(r, 2) ? NO_SCHEME_RK4 : NO_SCHEME_EULER,
                 1 + no_rng_below(r, 2), no_rng_next(r));
    s->adjoint = no_rng_below(r, 2) ? NO_ADJOINT_CONTINUOUS : NO_ADJOINT_DISCRETE;
    s->L = 2 + no_rng_below(r, 3);
}

/* -log2 of |x - t| / |t| without rounding down or a safety bit; p if equal. */
static double raw_bits(mpfr_t x, mpfr_t t, long p)
{
    if (mpfr_equal_p(x, t))
        return (double)p;
    if (mpfr_zero_p(t))
        return 0;
    mpfr_t d;
    mpfr_init2(d, 64);
    mpfr_sub(d, x, t, MPFR_RNDN);
    mpfr_div(d, d, t, MPFR_RNDN);
    double b = -log2(fabs(mpfr_get_d(d, MPFR_RNDN)));
    mpfr_clear(d);
    return b;
}

static void run_at(const no_problem *p, long prec, ref_result *r)
{
    ref_model m;
    char err[256];
    cr_assert_eq(ref_model_init(&m, p, prec, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_run(&m, r, err, sizeof err), 0, "%s", err);
    ref_model_clear(&m);
}

/* Every array of r1 (precision p1) agrees with r2 (much more accurate)
 * normwise within the tolerance model at u = 2^-p1. */
static void expect_within_model(const no_problem *p, const ref_result *r1, const ref_result *r2,
                                long p1, const char *what)
{
    no_arrays d2;
    cr_assert_eq(ref_result_to_double(r2, &d2), 0);
    no_tol_model tol;
    cr_assert_eq(no_tol_model_init(&tol, p, &d2, ldexp(1.0, (int)-p1)), 0);
    for (int a = 0; a < r1->count; a++) {
        mpfr_t diff, dmax, xmax;
        mpfr_inits2(64, diff, dmax, xmax, (mpfr_ptr)0);
        mpfr_set_zero(dmax, 1);
        mpfr_set_zero(xmax, 1);
        for (size_t e = 0; e < r1->a[a].n; e++) {
            mpfr_sub(diff, r1->a[a].v[e], r2->a[a].v[e], MPFR_RNDA);
            mpfr_abs(diff, diff, MPFR_RNDN);
            mpfr_max(dmax, dmax, diff, MPFR_RNDU);
            mpfr_abs(diff, r2->a[a].v[e], MPFR_RNDN);
            mpfr_max(xmax, xmax, diff, MPFR_RNDN);
        }
        double rel = mpfr_zero_p(xmax) ? mpfr_get_d(dmax, MPFR_RNDU)
                                       : mpfr_get_d(dmax, MPFR_RNDU) / mpfr_get_d(xmax, MPFR_RNDN);
        double tl = no_tol_for(&tol, r1->a[a].name);
        cr_log_info("%s %s: rel %.3e tol %.3e", what, r1->a[a].name, rel, tl);
        cr_expect_leq(rel, tl, "%s: %s differs by %.3e > %.3e", what, r1->a[a].name, rel, tl);
        mpfr_clears(diff, dmax, xmax, (mpfr_ptr)0);
    }
    no_arrays_free(&d2);
}

Test(ref_precision_pairs, two_precisions_agree_within_model)
{
    no_rng r;
    no_rng_init(&r, 2024, NO_STREAM_TEST);
    int n = 8 * no_test_iters();
    for (int it = 0; it < n; it++) {
        no_spec s;
        random_spec(&s, &r);
        long p1 = 53 + (long)no_rng_below(&r, 200), p2 = p1 + 1 + (long)no_rng_below(&r, 200);
        no_problem p;
        char err[256], desc[256], what[300];
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        no_spec_describe(&s, desc, sizeof desc);
        ref_result r1, r2;
        run_at(&p, p1, &r1);
        run_at(&p, p2, &r2);
        snprintf(what, sizeof what, "%s at %ld vs %ld bits", desc, p1, p2);
        expect_within_model(&p, &r1, &r2, p1, what);
        ref_result_clear(&r1);
        ref_result_clear(&r2);
        no_problem_free(&p);
    }
}

/* ref_model_init_rounded, the diagnosis's emulation of float32 (24 bits)
 * and of narrower formats, rounds the inputs too, so the contract's
 * two-precision argument no longer applies as is; the same rounding-error
 * model still bounds it, now with the input rounding counted as one more
 * rounding per entry (within c = 4).  Its range: [8, REF_PREC_MAX] bits. */
Test(ref_precision_pairs, rounded_runs_within_model)
{
    no_rng r;
    no_rng_init(&r, 4242, NO_STREAM_TEST);
    int n = 6 * no_test_iters();
    for (int it = 0; it < n; it++) {
        no_spec s;
        random_spec(&s, &r);
        long p1 = it % 2 ? 24 : 12 + (long)no_rng_below(&r, 30);
        no_problem p;
        char err[256], desc[256], what[300];
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        no_spec_describe(&s, desc, sizeof desc);
        ref_model m;
        ref_result r1, r2;
        cr_assert_eq(ref_model_init_rounded(&m, &p, p1, err, sizeof err), 0, "%s", err);
        cr_assert_eq(ref_run(&m, &r1, err, sizeof err), 0, "%s", err);
        ref_model_clear(&m);
        run_at(&p, 128, &r2);
        snprintf(what, sizeof what, "%s rounded to %ld bits", desc, p1);
        expect_within_model(&p, &r1, &r2, p1, what);
        ref_result_clear(&r1);
        ref_result_clear(&r2);
        no_problem_free(&p);
    }
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 1);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_model m;
    cr_expect_eq(ref_model_init_rounded(&m, &p, REF_PREC_ROUNDED_MIN - 1, err, sizeof err), -1);
    cr_expect(strstr(err, "precision") != NULL, "'%s'", err);
    cr_expect_eq(ref_model_init_rounded(&m, &p, REF_PREC_ROUNDED_MIN, err, sizeof err), 0, "%s",
                 err);
    ref_model_clear(&m);
    no_problem_free(&p);
}

Test(ref_precision_pairs, claimed_bits_never_exceed_truth)
{
    no_rng r;
    no_rng_init(&r, 77, NO_STREAM_TEST);
    int n = 6 * no_test_iters();
    for (int it = 0; it < n; it++) {
        no_spec s;
        random_spec(&s, &r);
        long p = 53 + (long)no_rng_below(&r, 150);
        no_problem pb;
        char err[256], desc[256];
        cr_assert_eq(no_problem_generate(&pb, &s, err, sizeof err), 0, "%s", err);
        no_spec_describe(&s, desc, sizeof desc);
        no_arrays vals, bits;
        cr_assert_eq(ref_certify(&pb, p, &vals, &bits, err, sizeof err), 0, "%s", err);
        ref_result lo, truth;
        run_at(&pb, p, &lo);
        run_at(&pb, 4 * p, &truth);
        size_t claims = 0;
        double margin = INFINITY;
        for (int a = 0; a < lo.count; a++)
            for (size_t e = 0; e < lo.a[a].n; e++, claims++) {
                double claimed = bits.a[a].v[e];
                double actual = raw_bits(lo.a[a].v[e], truth.a[a].v[e], p);
                margin = fmin(margin, actual - claimed);
                cr_expect_leq(claimed, actual,
                              "%s at %ld bits: %s[%zu] claims %.0f correct bits, has %.2f", desc,
                              p, lo.a[a].name, e, claimed, actual);
            }
        cr_assert_gt(claims, 0);
        cr_log_info("%s at %ld bits: %zu claims, smallest margin %.2f bits", desc, p, claims,
                    margin);
        no_arrays_free(&vals);
        no_arrays_free(&bits);
        ref_result_clear(&lo);
        ref_result_clear(&truth);
        no_problem_free(&pb);
    }
}
