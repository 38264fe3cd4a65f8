/* diagnose: every hypothesis of docs/check.md is distinguishable from every
 * other and from the contract, and the diagnosis names it.  A candidate is
 * made from the reference's own run of one variant (rounded to double); the
 * diagnosis must name exactly that cause with a match at rounding level.
 * End-to-end mutants of a user's implementation are in tests/test_examples.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "diagnose.h"
#include "fast.h"
#include "test_util.h"

/* The candidate of a user who implemented variant v with the adjoint adj. */
static void variant_candidate(const no_problem *p, const ref_variant *v, no_adjoint adj,
                              no_arrays *out)
{
    no_problem q = *p;
    q.spec.adjoint = adj;
    no_test_ref_doubles(&q, v, 128, out);
}

/* no_diagnose as check calls it: the contract's tolerance at unit roundoff
 * u, capped by the measured envelope for float32 and bfloat16. */
static void diagnose_as_check(const no_problem *p, const no_arrays *cand, const no_arrays *ref,
                              double u, no_diagnosis *d)
{
    char err[256];
    no_tol_model tol;
    cr_assert_eq(no_tol_model_init(&tol, p, ref, u), 0);
    cr_assert_eq(no_diag_cap_tolerance(&tol, p, NULL, ref, err, sizeof err), 0, "%s", err);
    cr_assert_eq(no_diagnose(p, NULL, cand, ref, &tol, 128, d, err, sizeof err), 0, "%s", err);
}

static void expect_cause(const no_problem *p, const no_arrays *cand, const char *want)
{
    no_arrays ref, bits;
    char err[256];
    cr_assert_eq(ref_certify(p, 128, &ref, &bits, err, sizeof err), 0, "%s", err);
    no_diagnosis d;
    diagnose_as_check(p, cand, &ref, 0x1.0p-53, &d);
    cr_expect(d.found, "%s: no cause found (best %s %.3e, contract %.3e)", want, d.cause, d.match,
              d.contract_match);
    cr_expect_str_eq(d.cause, want, "expected %s, diagnosed %s (match %.3e, detail '%s')", want,
                     d.cause, d.match, d.detail);
    no_arrays_free(&ref);
    no_arrays_free(&bits);
}

static void check_family(int v)
{
    no_spec s;
    no_test_spec(&s, v, NO_SCHEME_RK4, 2, 12);
    s.L = 5; /* != M = 4: with M = L a missing 1/M and a missing 1/L coincide */
    s.d_out = 3; /* != 2: with d_out = 2 the mean over outputs is the contract */
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    struct {
        const char *cause;
        ref_variant v;
    } cases[12];
    int n = 0;
    memset(cases, 0, sizeof cases);
    cases[n].cause = "missing_1_over_N", cases[n++].v.loss_sum = 1;
    cases[n].cause = "missing_half", cases[n++].v.loss_no_half = 1;
    cases[n].cause = "mean_over_outputs", cases[n++].v.loss_mean_all = 1;
    cases[n].cause = "sign_flip", cases[n++].v.residual_flip = 1;
    cases[n].cause = "missing_1_over_L", cases[n++].v.h_den = 1;
    cases[n].cause = "depth_off_by_one", cases[n++].v.h_den = s.L + 1;
    if (s.family == NO_FAMILY_MLP) {
        cases[n].cause = "missing_1_over_M", cases[n++].v.no_mean_field = 1;
        cases[n].cause = "transposed_weights", cases[n++].v.swap_au = 1;
    }
    if (s.family == NO_FAMILY_RFF) {
        cases[n].cause = "missing_rff_scale", cases[n++].v.rff_no_scale = 1;
        cases[n].cause = "rff_no_phase", cases[n++].v.rff_no_phase = 1;
    }
    if (s.family == NO_FAMILY_LINEAR)
        cases[n].cause = "transposed_weights", cases[n++].v.transpose_W = 1;
    for (int i = 0; i < n; i++) {
        no_arrays cand;
        variant_candidate(&p, &cases[i].v, s.adjoint, &cand);
        expect_cause(&p, &cand, cases[i].cause);
        no_arrays_free(&cand);
    }
    /* the continuous adjoint where the discrete one is asked for */
    no_arrays cand;
    variant_candidate(&p, NULL, NO_ADJOINT_CONTINUOUS, &cand);
    expect_cause(&p, &cand, "continuous_adjoint");
    no_arrays_free(&cand);
    no_problem_free(&p);
}

Test(diagnose, linear_variants) { check_family(0); }
Test(diagnose, rff_variants) { check_family(1); }
Test(diagnose, mlp_variants) { check_family(3); }

/* M = L: the two hypotheses coincide; the diagnosis names one and says so. */
Test(diagnose, coinciding_hypotheses_are_named)
{
    no_spec s;
    no_test_spec(&s, 3, NO_SCHEME_EULER, 1, 12);
    s.L = s.M;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_variant v = {0};
    v.no_mean_field = 1;
    no_arrays cand, ref, bits;
    variant_candidate(&p, &v, s.adjoint, &cand);
    cr_assert_eq(ref_certify(&p, 128, &ref, &bits, err, sizeof err), 0, "%s", err);
    no_diagnosis d;
    diagnose_as_check(&p, &cand, &ref, 0x1.0p-53, &d);
    cr_expect(d.found);
    cr_expect(strstr(d.detail, "indistinguishable") != NULL, "detail '%s'", d.detail);
    no_arrays_free(&cand);
    no_arrays_free(&ref);
    no_arrays_free(&bits);
    no_problem_free(&p);
}

/* Round x to b significant bits (round to nearest): what storing it in a
 * format with a b-bit significand does (float32 24, bfloat16 8). */
static double round_to_bits(double x, int b)
{
    int e;
    double m = frexp(x, &e);
    return ldexp(nearbyint(ldexp(m, b)), e - b);
}

static void round_all(no_arrays *a, int bits)
{
    for (int i = 0; i < a->count; i++)
        for (size_t e = 0; e < a->a[i].n; e++)
            a->a[i].v[e] = round_to_bits(a->a[i].v[e], bits);
}

/* fast/'s outputs for field variant v, changed by edit(cand, arg), then
 * diagnosed as a candidate declaring unit roundoff u. */
static void diagnose_edited_fast(int v, void (*edit)(no_arrays *, int), int arg, double u,
                                 no_diagnosis *d)
{
    no_spec s;
    no_test_spec(&s, v, NO_SCHEME_EULER, 1, 4);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    no_arrays cand, ref, refbits;
    cr_assert_eq(fast_run(&p, &cand, err, sizeof err), 0, "%s", err);
    edit(&cand, arg);
    cr_assert_eq(ref_certify(&p, 128, &ref, &refbits, err, sizeof err), 0, "%s", err);
    diagnose_as_check(&p, &cand, &ref, u, d);
    cr_log_info("%s [%s]: %s", d->cause, d->variant, d->detail);
    no_arrays_free(&cand);
    no_arrays_free(&ref);
    no_arrays_free(&refbits);
    no_problem_free(&p);
}

/* A candidate that computed in double and stored its outputs in a b-bit
 * format: its error is one rounding per element, about 2^-(b+1) relative,
 * which the reference's own b-bit run matches within the diagnosis's
 * envelope (NO_DIAG_ENVELOPE_BITS): low_precision, naming that format. */
static void expect_low_precision(int bits, double u_declared, const char *format)
{
    no_diagnosis d;
    diagnose_edited_fast(3, round_all, bits, u_declared, &d);
    cr_expect(d.found, "no cause found (best %s %.3e)", d.cause, d.match);
    cr_expect_str_eq(d.cause, "low_precision", "diagnosed %s, detail '%s'", d.cause, d.detail);
    cr_expect_str_eq(d.variant, format, "detail '%s'", d.detail);
}

Test(diagnose, low_precision_float32_envelope)
{
    expect_low_precision(24, 0x1.0p-53, "float32");
}

/* Declared float32, stored in bfloat16: the float32 envelope is 16 bits too
 * narrow, bfloat16's fits. */
Test(diagnose, low_precision_bfloat16_envelope)
{
    expect_low_precision(8, 0x1.0p-24, "bfloat16");
}

/* A real bug is not absorbed by an envelope: the loss without its 1/2,
 * computed in float32 and declared float64, is named missing_half (it
 * matches that variant 100x better than the contract), not low_precision. */
Test(diagnose, bug_in_float32_is_not_low_precision)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 4);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_variant v = {0};
    v.loss_no_half = 1;
    no_arrays cand;
    variant_candidate(&p, &v, s.adjoint, &cand);
    round_all(&cand, 24);
    expect_cause(&p, &cand, "missing_half");
    no_arrays_free(&cand);
    no_problem_free(&p);
}

/* Every element off by +-percent %. */
static void scale_alternately(no_arrays *a, int percent)
{
    for (int i = 0; i < a->count; i++)
        for (size_t e = 0; e < a->a[i].n; e++)
            a->a[i].v[e] *= 1 + percent / 100.0 * (e % 2 ? 1 : -1);
}

/* An unexplained error of 10% declared float32 is not ascribed to bfloat16,
 * although a bfloat16 computation of a growing flow errs by percents: the
 * candidate's error exceeds NO_DIAG_ENVELOPE_MAX (2^-5), so the cause is
 * "unknown" rather than a guess. */
Test(diagnose, large_unexplained_error_is_unknown)
{
    no_diagnosis d;
    diagnose_edited_fast(1, scale_alternately, 10, 0x1.0p-24, &d);
    cr_expect(!d.found, "named %s [%s] (match %.3e, detail '%s')", d.cause, d.variant, d.match,
              d.detail);
    cr_expect_str_eq(d.cause, "unknown");
}
