/* diagnose_nonfinite: no cause is named from NaN or infinity.
 *
 * The bug (issue 7): with W = 1e300 or X = 1e308 in a problem, the
 * reference leaves the double range, every match was a NaN that fmax()
 * dropped, and check reported "missing_1_over_N, matches to 0.000e+00".
 * Now a comparison that involves a non-finite number is NaN ("not
 * computable") and never chosen; a non-finite reference or candidate is
 * reported with its array and index instead of a cause; a hypothesis whose
 * own outputs overflow (a step h = 1 on 32 layers) is marked and passed
 * over, and the right cause is still named.  The end-to-end `check` runs of
 * the same inputs are in tests/test_verdicts.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "diagnose.h"
#include "test_util.h"

/* A small linear problem (N = 3, D = 3, d_out = 3) of L layers. */
static void linear_problem(no_problem *p, size_t L, uint64_t seed)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, seed);
    s.d_out = 3;
    s.L = L;
    char err[256];
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

/* no_diagnose as check calls it for a float64 candidate. */
static void diagnose(const no_problem *p, const no_arrays *cand, const no_arrays *ref,
                     no_diagnosis *d)
{
    char err[256];
    no_tol_model tol;
    cr_assert_eq(no_tol_model_init(&tol, p, ref, 0x1.0p-53), 0);
    cr_assert_eq(no_diagnose(p, NULL, cand, ref, &tol, 96, d, err, sizeof err), 0, "%s", err);
    cr_log_info("cause %s, match %g, detail '%s'", d->cause, d->match, d->detail);
}

static void expect_nothing_named(const no_diagnosis *d, const char *detail)
{
    cr_expect(!d->found, "named %s (match %g) from non-finite numbers", d->cause, d->match);
    cr_expect_str_eq(d->cause, "unknown");
    cr_expect(strstr(d->detail, detail) != NULL, "detail '%s' lacks '%s'", d->detail, detail);
    for (int i = 0; i < d->nhyp; i++)
        cr_expect(!(d->hyp[i].match == 0), "%s matches to 0 from non-finite numbers",
                  d->hyp[i].cause);
}

/* A problem whose reference overflows double, diagnosed with the outputs
 * of the same problem before the edit as the candidate (finite). */
static void expect_reference_overflow(void (*edit)(no_problem *), const char *detail)
{
    no_problem p;
    linear_problem(&p, 3, 21);
    no_arrays cand, ref;
    no_test_ref_doubles(&p, NULL, 96, &cand);
    edit(&p);
    no_test_ref_doubles(&p, NULL, 128, &ref);
    no_diagnosis d;
    diagnose(&p, &cand, &ref, &d);
    expect_nothing_named(&d, detail);
    cr_expect(isnan(d.match), "match %g", d.match);
    no_arrays_free(&cand);
    no_arrays_free(&ref);
    no_problem_free(&p);
}

static void w_1e300(no_problem *p)
{
    for (size_t e = 0; e < p->spec.L * p->spec.D * p->spec.D; e++)
        p->W[e] = 1e300;
}

static void x_1e308(no_problem *p)
{
    p->X[0] = 1e308;
}

/* Before: "missing_1_over_N (matches it to 0.000e+00)". */
Test(diagnose_nonfinite, w_1e300_reference_overflows)
{
    /* z_1 = z_0 + W z_0 / 3 ~ 1e300 |z_0|, z_2 ~ 1e600: states[2,...] */
    expect_reference_overflow(w_1e300, "reference overflows: array states index ");
}

/* Before: "missing_1_over_L (matches it to 0.000e+00)". */
Test(diagnose_nonfinite, x_1e308_reference_overflows)
{
    expect_reference_overflow(x_1e308, "reference overflows: array ");
}

/* A candidate with a NaN in a gradient: the diagnosis says where, and
 * matches nothing (before: no location, every hypothesis "inf"). */
Test(diagnose_nonfinite, candidate_nan_is_located_not_matched)
{
    no_problem p;
    linear_problem(&p, 3, 22);
    no_arrays cand, ref;
    no_test_ref_doubles(&p, NULL, 96, &cand);
    no_test_ref_doubles(&p, NULL, 128, &ref);
    no_array *g = (no_array *)no_arrays_get(&cand, "grad_W");
    cr_assert_not_null(g);
    g->v[5] = NAN; /* layer 0, row 1, column 2 (D = 3) */
    no_diagnosis d;
    diagnose(&p, &cand, &ref, &d);
    expect_nothing_named(&d, "candidate is not a number: array grad_W index 5 (grad_W[0,1,2]");
    no_arrays_free(&cand);
    no_arrays_free(&ref);
    no_problem_free(&p);
}

/* The match itself: any NaN or infinity on either side is NaN, never 0. */
Test(diagnose_nonfinite, match_of_nonfinite_is_nan)
{
    no_arrays a = {0}, b = {0};
    size_t shape[1] = {3};
    no_array *x = no_arrays_add(&a, "output", 1, shape), *y = no_arrays_add(&b, "output", 1, shape);
    cr_assert(x && y);
    const double vals[3] = {1, -2, 3};
    memcpy(x->v, vals, sizeof vals);
    memcpy(y->v, vals, sizeof vals);
    y->v[2] = 3.5;
    cr_expect_float_eq(no_diag_match(&a, &b), 0.5 / 3.5, 1e-15);
    const double bad[] = {INFINITY, -INFINITY, NAN};
    for (int k = 0; k < 3; k++) {
        y->v[0] = bad[k];
        cr_expect(isnan(no_diag_match(&a, &b)), "reference %g: match %g", bad[k],
                  no_diag_match(&a, &b));
        cr_expect(isnan(no_diag_match(&b, &a)), "candidate %g: match %g", bad[k],
                  no_diag_match(&b, &a));
        y->v[0] = vals[0];
    }
    char buf[32];
    cr_expect_str_eq(no_diag_match_text(NAN, buf, sizeof buf), "not computable");
    cr_expect_str_eq(no_diag_match_text(0.125, buf, sizeof buf), "1.25e-01");
    no_arrays_free(&a);
    no_arrays_free(&b);
}

/* The contract is finite, one hypothesis is not: W_k = w I on L = 32
 * layers grows |z| by G = (1 + w/32)^32 ~ 1e125 (the loss ~ G^2 fits in a
 * double); a missing 1/L (h = 1) grows it by (1 + w)^32 ~ 32^32 G, whose
 * loss and adjoint ~ 1e346 do not.  A sign-flipped candidate is still
 * named sign_flip; missing_1_over_L is "not computable" (before: its match
 * was taken from its finite arrays alone, the NaN of the others dropped by
 * fmax, so a candidate matching those arrays would have been named it).
 * Growth 1e125 makes the float64 tolerance model infinite (exp(Lambda)):
 * nothing is named within an infinite tolerance (check calls such a
 * problem unverifiable and does not diagnose it), so sign_flip is the
 * nearest hypothesis, reported with its match, not a cause. */
Test(diagnose_nonfinite, overflowing_hypothesis_is_passed_over)
{
    no_problem p;
    linear_problem(&p, 32, 23);
    const no_spec s = p.spec;
    const double w = 32 * (pow(10, 125.0 / 32) - 1);
    for (size_t k = 0; k < s.L; k++)
        for (size_t r = 0; r < s.D; r++)
            for (size_t c = 0; c < s.D; c++)
                p.W[(k * s.D + r) * s.D + c] = r == c ? w : 0;
    no_arrays ref, cand;
    no_test_ref_doubles(&p, NULL, 128, &ref);
    for (int i = 0; i < ref.count; i++)
        for (size_t e = 0; e < ref.a[i].n; e++)
            cr_assert(isfinite(ref.a[i].v[e]), "the contract's %s overflows", ref.a[i].name);
    ref_variant flip = {0};
    flip.residual_flip = 1;
    no_test_ref_doubles(&p, &flip, 128, &cand);
    for (int i = 0; i < cand.count; i++) /* a candidate's rounding: not an exact 0 */
        for (size_t e = 0; e < cand.a[i].n; e++)
            cand.a[i].v[e] *= 1 + 0x1.0p-50;
    no_diagnosis d;
    diagnose(&p, &cand, &ref, &d);
    cr_expect(!d.found, "named %s within an infinite tolerance", d.cause);
    cr_expect_str_eq(d.nearest, "sign_flip", "detail '%s'", d.detail);
    cr_expect(d.nearest_match < 1e-14, "sign_flip matched %g", d.nearest_match);
    int seen = 0;
    for (int i = 0; i < d.nhyp; i++)
        if (!strcmp(d.hyp[i].cause, "missing_1_over_L")) {
            seen = 1;
            cr_expect(isnan(d.hyp[i].match), "missing_1_over_L matched %g", d.hyp[i].match);
        }
    cr_expect(seen, "missing_1_over_L was not run");
    cr_expect(strstr(d.detail, "not computable (outputs not finite): missing_1_over_L") != NULL,
              "detail '%s'", d.detail);
    no_arrays_free(&ref);
    no_arrays_free(&cand);
    no_problem_free(&p);
}
