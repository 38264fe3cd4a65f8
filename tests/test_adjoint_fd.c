/* adjoint_vs_finite_differences: ref's discrete adjoint is the exact gradient
 * of the computed loss (proofs-notes/adjoints.md).
 *
 * Central differences in ref at 400 bits with step h = 2^-80: the truncation
 * error is h^2/6 |F'''| ~ 2^-162 |F'''| and the rounding error 2^-400/2^-80 =
 * 2^-320, so a correct adjoint agrees with the difference quotient to ~48
 * digits; the issue asks for at least 30 significant digits, measured
 * normwise (|g_e - fd_e| <= 1e-30 max_e |g_e|) so that a gradient entry that
 * happens to be tiny does not demand more than the array's scale.  A wrong
 * adjoint (a missing stage, a transposed Jacobian) is off at O(tau) or O(1). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "ref.h"
#include "test_util.h"

#define FD_PREC 400
#define FD_STEP_LOG2 (-80)

/* (F(x + h) - F(x - h)) / (2h) for the scalar *x of the model. */
static void central_difference(ref_model *m, mpfr_t x, mpfr_t out)
{
    mpfr_t x0, fp, fm, h;
    mpfr_inits2(FD_PREC, x0, fp, fm, h, (mpfr_ptr)0);
    mpfr_set(x0, x, MPFR_RNDN);
    mpfr_set_ui_2exp(h, 1, FD_STEP_LOG2, MPFR_RNDN);
    mpfr_add(x, x0, h, MPFR_RNDN);
    cr_assert_eq(ref_loss(m, fp), 0);
    mpfr_sub(x, x0, h, MPFR_RNDN);
    cr_assert_eq(ref_loss(m, fm), 0);
    mpfr_set(x, x0, MPFR_RNDN);
    mpfr_sub(out, fp, fm, MPFR_RNDN);
    mpfr_div_2si(out, out, FD_STEP_LOG2 + 1, MPFR_RNDN);
    mpfr_clears(x0, fp, fm, h, (mpfr_ptr)0);
}

/* Largest |g_e - fd_e| / max|g| over the entries of one array, as digits. */
static double agreement_digits(ref_model *m, ref_array *var, const ref_array *grad)
{
    mpfr_t fd, d, gmax;
    mpfr_inits2(FD_PREC, fd, d, gmax, (mpfr_ptr)0);
    mpfr_set_zero(gmax, 1);
    for (size_t e = 0; e < grad->n; e++)
        if (mpfr_cmpabs(grad->v[e], gmax) > 0)
            mpfr_abs(gmax, grad->v[e], MPFR_RNDN);
    double worst = INFINITY;
    for (size_t e = 0; e < var->n; e++) {
        central_difference(m, var->v[e], fd);
        mpfr_sub(d, fd, grad->v[e], MPFR_RNDN);
        mpfr_div(d, d, gmax, MPFR_RNDN);
        double digits = mpfr_zero_p(d) ? 120.0 : -log10(fabs(mpfr_get_d(d, MPFR_RNDN)));
        worst = fmin(worst, digits);
    }
    mpfr_clears(fd, d, gmax, (mpfr_ptr)0);
    return worst;
}

static void check_variant(int v, no_scheme_id scheme)
{
    no_spec s;
    no_test_spec(&s, v, scheme, 2, 11 + (uint64_t)v);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_model m;
    ref_result r;
    cr_assert_eq(ref_model_init(&m, &p, FD_PREC, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_run(&m, &r, err, sizeof err), 0, "%s", err);
    for (int a = 0; a < m.nparams; a++) {
        char name[NO_NAME_LEN + 8]; /* "grad_" + a parameter name */
        snprintf(name, sizeof name, "grad_%s", m.param[a].name);
        double dig = agreement_digits(&m, &m.param[a], ref_result_get(&r, name));
        cr_log_info("%s %s %s: %.1f digits", no_test_variant_name(v), no_scheme_name(scheme),
                    name, dig);
        cr_expect_geq(dig, 30.0, "%s %s %s: only %.1f digits agree with finite differences",
                      no_test_variant_name(v), no_scheme_name(scheme), name, dig);
    }
    ref_result_clear(&r);
    ref_model_clear(&m);
    no_problem_free(&p);
}

Test(adjoint_vs_finite_differences, euler_every_family)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        check_variant(v, NO_SCHEME_EULER);
}

Test(adjoint_vs_finite_differences, rk4_every_family)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        check_variant(v, NO_SCHEME_RK4);
}

/* The adjoint states: dF/dX_i = A^T p_0^i, so finite differences in X check
 * p_0 (and through the recurrence every p_k).  Same tolerance argument. */
Test(adjoint_vs_finite_differences, adjoint_states_through_inputs)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v += 2) {
        no_spec s;
        no_test_spec(&s, v, NO_SCHEME_RK4, 1, 5);
        no_problem p;
        char err[256];
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        ref_model m;
        ref_result r;
        cr_assert_eq(ref_model_init(&m, &p, FD_PREC, err, sizeof err), 0, "%s", err);
        cr_assert_eq(ref_run(&m, &r, err, sizeof err), 0, "%s", err);
        const ref_array *adj = ref_result_get(&r, "adjoint");
        ref_array gx; /* A^T p_0, N x d_in */
        size_t shape[2] = {s.N, s.d_in};
        cr_assert_eq(ref_array_init(&gx, "gX", 2, shape, FD_PREC), 0);
        for (size_t i = 0; i < s.N; i++)
            for (size_t c = 0; c < s.d_in; c++)
                for (size_t d = 0; d < s.D; d++)
                    mpfr_fma(gx.v[i * s.d_in + c], m.A.v[d * s.d_in + c], adj->v[i * s.D + d],
                             gx.v[i * s.d_in + c], MPFR_RNDN);
        double dig = agreement_digits(&m, &m.X, &gx);
        cr_expect_geq(dig, 30.0, "%s: adjoint p_0 agrees to only %.1f digits",
                      no_test_variant_name(v), dig);
        ref_array_clear(&gx);
        ref_result_clear(&r);
        ref_model_clear(&m);
        no_problem_free(&p);
    }
}
