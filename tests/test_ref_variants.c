/* ref_variants: the diagnosis variants of docs/check.md and the step-grid
 * replay compute what they claim.  Each check is an exact algebraic relation
 * to the contract's computation, so the expected values are derived, not
 * typed in:
 *   loss_sum      F' = N F, grad' = N grad       (F = S/(2N) vs S/2)
 *   loss_no_half  F' = 2 F, grad' = 2 grad       (S/N vs S/(2N))
 *   loss_mean_all F' = (2/d_out) F, grad' likewise (S/(N d_out) vs S/(2N))
 *   residual_flip F' = F,   grad' = -grad        (exact negation)
 *   h_den = L     identical to the contract      (same h)
 *   transpose_W   identical to the contract run on W_k^T  (mpfr_dot is
 *                 correctly rounded, so the order of terms cannot matter)
 *   no_mean_field the contract run on M a: (1/M) sum_j (M a_j) sigma = sum_j a_j sigma
 *   rff_no_scale  the contract run on 2 W with q = 8: sqrt(q/2) = 2 exactly
 *   grid          a uniform grid t_j = j/(L m), exact in binary when L m is a
 *                 power of two, replays the m-substep computation bit for bit.
 * Scaled relations hold to rounding: relative 2^-(prec-8) (a handful of
 * roundings of a scale factor through the run at 192 bits). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

#define PREC 192

static void run(const no_problem *p, const ref_variant *v, const double *grid, size_t gn,
                ref_result *r)
{
    ref_model m;
    char err[256];
    cr_assert_eq(ref_model_init(&m, p, PREC, err, sizeof err), 0, "%s", err);
    if (v)
        cr_assert_eq(ref_model_set_variant(&m, v, err, sizeof err), 0, "%s", err);
    if (grid)
        cr_assert_eq(ref_model_set_grid(&m, grid, gn, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_run(&m, r, err, sizeof err), 0, "%s", err);
    ref_model_clear(&m);
}

/* Every element of array name in a equals factor times b's, to 2^-(PREC-8)
 * relative to the array's max (factor 0 means bit-identical). */
static void expect_scaled(const ref_result *a, const ref_result *b, const char *name,
                          double factor)
{
    const ref_array *x = ref_result_get(a, name), *y = ref_result_get(b, name);
    cr_assert(x && y && x->n == y->n, "%s missing", name);
    mpfr_t t, d, mx;
    mpfr_inits2(PREC + 64, t, d, mx, (mpfr_ptr)0);
    mpfr_set_zero(mx, 1);
    for (size_t e = 0; e < y->n; e++)
        if (mpfr_cmpabs(y->v[e], mx) > 0)
            mpfr_abs(mx, y->v[e], MPFR_RNDN);
    for (size_t e = 0; e < x->n; e++) {
        if (factor == 0) {
            cr_expect(mpfr_equal_p(x->v[e], y->v[e]), "%s[%zu] differs", name, e);
            continue;
        }
        mpfr_mul_d(t, y->v[e], factor, MPFR_RNDN);
        mpfr_sub(d, x->v[e], t, MPFR_RNDN);
        mpfr_div(d, d, mx, MPFR_RNDN);
        double rel = fabs(mpfr_get_d(d, MPFR_RNDN));
        cr_expect_leq(rel, ldexp(1.0, -(PREC - 8)), "%s[%zu]: relative %.3e from %g x contract",
                      name, e, rel, factor);
    }
    mpfr_clears(t, d, mx, (mpfr_ptr)0);
}

static void gen(no_problem *p, int v, no_scheme_id sc, size_t m)
{
    no_spec s;
    no_test_spec(&s, v, sc, m, 31);
    s.L = 4;
    char err[256];
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

static const char *grad_name(const no_problem *p)
{
    return p->spec.family == NO_FAMILY_MLP ? "grad_u" : "grad_W";
}

Test(ref_variants, loss_constants_and_sign)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v += 3) {
        no_problem p;
        gen(&p, v, NO_SCHEME_RK4, 2);
        ref_result c, r;
        run(&p, NULL, NULL, 0, &c);
        double N = (double)p.spec.N;
        ref_variant var = {0};
        var.loss_sum = 1;
        run(&p, &var, NULL, 0, &r);
        expect_scaled(&r, &c, "loss", N);
        expect_scaled(&r, &c, grad_name(&p), N);
        ref_result_clear(&r);
        memset(&var, 0, sizeof var);
        var.loss_no_half = 1;
        run(&p, &var, NULL, 0, &r);
        expect_scaled(&r, &c, "loss", 2);
        expect_scaled(&r, &c, "adjoint", 2);
        ref_result_clear(&r);
        memset(&var, 0, sizeof var);
        var.residual_flip = 1;
        run(&p, &var, NULL, 0, &r);
        expect_scaled(&r, &c, "loss", 0);
        expect_scaled(&r, &c, grad_name(&p), -1);
        ref_result_clear(&r);
        memset(&var, 0, sizeof var);
        var.h_den = p.spec.L;
        run(&p, &var, NULL, 0, &r);
        expect_scaled(&r, &c, grad_name(&p), 0);
        ref_result_clear(&r);
        ref_result_clear(&c);
        no_problem_free(&p);
    }
}

Test(ref_variants, transposed_weights_are_the_contract_on_transposed_W)
{
    no_problem p, pt;
    gen(&p, 0, NO_SCHEME_EULER, 1);
    cr_assert_eq(no_problem_copy(&pt, &p), 0);
    size_t D = p.spec.D;
    for (size_t k = 0; k < p.spec.L; k++)
        for (size_t r = 0; r < D; r++)
            for (size_t c = 0; c < D; c++)
                pt.W[(k * D + r) * D + c] = p.W[(k * D + c) * D + r];
    ref_variant var = {0};
    var.transpose_W = 1;
    ref_result a, b;
    run(&p, &var, NULL, 0, &a);
    run(&pt, NULL, NULL, 0, &b);
    expect_scaled(&a, &b, "states", 0);
    expect_scaled(&a, &b, "loss", 0);
    /* grad of the variant w.r.t. W is the transpose of grad w.r.t. W^T */
    const ref_array *ga = ref_result_get(&a, "grad_W"), *gb = ref_result_get(&b, "grad_W");
    for (size_t k = 0; k < p.spec.L; k++)
        for (size_t r = 0; r < D; r++)
            for (size_t c = 0; c < D; c++)
                cr_expect(mpfr_equal_p(ga->v[(k * D + r) * D + c], gb->v[(k * D + c) * D + r]));
    ref_result_clear(&a);
    ref_result_clear(&b);
    no_problem_free(&pt);
    no_problem_free(&p);
}

Test(ref_variants, field_constants)
{
    /* rff without sqrt(2/q) == contract with W scaled by sqrt(q/2); the scale
     * is applied in double, exact when q/2 is a perfect square (q = 8: 2). */
    no_problem p, ps;
    no_spec s;
    no_test_spec(&s, 1, NO_SCHEME_EULER, 1, 5);
    s.q = 8;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(no_problem_copy(&ps, &p), 0);
    for (size_t e = 0; e < s.L * s.D * s.q; e++)
        ps.W[e] = 2.0 * p.W[e];
    ref_variant var = {0};
    var.rff_no_scale = 1;
    ref_result a, b;
    run(&p, &var, NULL, 0, &a);
    run(&ps, NULL, NULL, 0, &b);
    expect_scaled(&a, &b, "states", 1);
    expect_scaled(&a, &b, "loss", 1);
    ref_result_clear(&a);
    ref_result_clear(&b);
    no_problem_free(&ps);
    no_problem_free(&p);

    /* mlp without 1/M == contract with a scaled by M (M = 4: exact). */
    no_test_spec(&s, 3, NO_SCHEME_RK4, 1, 6);
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(no_problem_copy(&ps, &p), 0);
    for (size_t e = 0; e < s.L * s.M * s.D; e++)
        ps.a[e] = (double)s.M * p.a[e];
    memset(&var, 0, sizeof var);
    var.no_mean_field = 1;
    run(&p, &var, NULL, 0, &a);
    run(&ps, NULL, NULL, 0, &b);
    expect_scaled(&a, &b, "states", 1);
    expect_scaled(&a, &b, "grad_u", 1);
    ref_result_clear(&a);
    ref_result_clear(&b);
    no_problem_free(&ps);
    no_problem_free(&p);

    /* rff without phase == contract with beta = 0 and W scaled by 1/sqrt(2):
     * compare the states only to rounding (1/sqrt(2) is inexact in double). */
    no_test_spec(&s, 1, NO_SCHEME_EULER, 1, 8);
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(no_problem_copy(&ps, &p), 0);
    memset(ps.beta, 0, s.q * sizeof(double));
    memset(&var, 0, sizeof var);
    var.rff_no_phase = 1;
    run(&p, &var, NULL, 0, &a);
    run(&ps, NULL, NULL, 0, &b);
    /* states differ (the field differs by 1/sqrt 2); z_0 agrees exactly */
    const ref_array *sa = ref_result_get(&a, "states"), *sb = ref_result_get(&b, "states");
    for (size_t e = 0; e < s.N * s.D; e++)
        cr_expect(mpfr_equal_p(sa->v[e], sb->v[e]));
    cr_expect(!mpfr_equal_p(ref_result_get(&a, "loss")->v[0], ref_result_get(&b, "loss")->v[0]));
    ref_result_clear(&a);
    ref_result_clear(&b);
    no_problem_free(&ps);
    no_problem_free(&p);
}

Test(ref_variants, uniform_grid_replays_substeps)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        no_problem p;
        gen(&p, v, v % 2 ? NO_SCHEME_RK4 : NO_SCHEME_EULER, 2);
        size_t G = p.spec.L * p.spec.m; /* 8: t_j = j/8 exact in binary */
        double *t = malloc((G + 1) * sizeof *t);
        for (size_t j = 0; j <= G; j++)
            t[j] = (double)j / (double)G;
        ref_result a, b;
        run(&p, NULL, NULL, 0, &a);
        run(&p, NULL, t, G + 1, &b);
        for (int i = 0; i < a.count; i++)
            expect_scaled(&b, &a, a.a[i].name, 0);
        ref_result_clear(&a);
        ref_result_clear(&b);
        free(t);
        no_problem_free(&p);
    }
}

Test(ref_variants, grid_errors)
{
    no_problem p;
    gen(&p, 0, NO_SCHEME_EULER, 1);
    ref_model m;
    char err[256];
    cr_assert_eq(ref_model_init(&m, &p, PREC, err, sizeof err), 0);
    const double crosses[] = {0, 0.1, 0.3, 0.6, 0.8, 1}; /* L = 4: 0.25 is no grid point */
    cr_expect_eq(ref_model_set_grid(&m, crosses, 6, err, sizeof err), -1);
    cr_expect(strstr(err, "boundary") != NULL, "%s", err);
    const double back[] = {0, 0.25, 0.5, 0.5, 0.75, 1};
    cr_expect_eq(ref_model_set_grid(&m, back, 6, err, sizeof err), -1);
    cr_expect(strstr(err, "increasing") != NULL, "%s", err);
    const double late[] = {0.1, 0.25, 0.5, 0.75, 1};
    cr_expect_eq(ref_model_set_grid(&m, late, 5, err, sizeof err), -1);
    /* after a rejected grid the model still runs on its uniform grid */
    ref_result r;
    cr_expect_eq(ref_run(&m, &r, err, sizeof err), 0);
    ref_result_clear(&r);
    ref_model_clear(&m);
    no_problem_free(&p);
}

/* L = 3: the boundaries 1/3, 2/3 are not doubles; the grid's points j/6 are
 * snapped to them (docs/formats.md), the interior points 1/6, 5/6 carry one
 * double rounding (relative 2^-53), so the replay equals the 2-substep run up
 * to a step perturbation of ~1e-16 times the flow's sensitivity: 1e-13
 * normwise allows a growth of 1000 and is far below any real mismatch. */
Test(ref_variants, non_dyadic_grid_snaps_boundaries)
{
    no_spec s;
    no_test_spec(&s, 1, NO_SCHEME_RK4, 2, 17);
    s.L = 3;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    double t[7];
    for (int j = 0; j <= 6; j++)
        t[j] = j / 6.0;
    ref_result a, b;
    run(&p, NULL, NULL, 0, &a);
    run(&p, NULL, t, 7, &b);
    for (int i = 0; i < a.count; i++) {
        const ref_array *x = &a.a[i], *y = ref_result_get(&b, x->name);
        double emax = 0, rmax = 0;
        for (size_t e = 0; e < x->n; e++) {
            double xv = mpfr_get_d(x->v[e], MPFR_RNDN), yv = mpfr_get_d(y->v[e], MPFR_RNDN);
            emax = fmax(emax, fabs(xv - yv));
            rmax = fmax(rmax, fabs(xv));
        }
        cr_expect_leq(emax, 1e-13 * rmax, "%s: grid replay differs by %.3e", x->name, emax / rmax);
    }
    ref_result_clear(&a);
    ref_result_clear(&b);
    no_problem_free(&p);
}

/* swap_au: bit-identical to the contract run on the problem with a and u
 * exchanged, with grad_a and grad_u exchanged (same arithmetic, renamed). */
Test(ref_variants, swap_au_is_the_contract_on_swapped_arrays)
{
    no_problem p, ps;
    gen(&p, 3, NO_SCHEME_RK4, 1);
    cr_assert_eq(no_problem_copy(&ps, &p), 0);
    size_t n = p.spec.L * p.spec.M * p.spec.D;
    memcpy(ps.a, p.u, n * sizeof(double));
    memcpy(ps.u, p.a, n * sizeof(double));
    ref_variant var = {0};
    var.swap_au = 1;
    ref_result a, b;
    run(&p, &var, NULL, 0, &a);
    run(&ps, NULL, NULL, 0, &b);
    expect_scaled(&a, &b, "states", 0);
    expect_scaled(&a, &b, "loss", 0);
    const ref_array *ga = ref_result_get(&a, "grad_a"), *gu = ref_result_get(&b, "grad_u");
    for (size_t e = 0; e < n; e++)
        cr_expect(mpfr_equal_p(ga->v[e], gu->v[e]), "grad_a[%zu]", e);
    ref_result_clear(&a);
    ref_result_clear(&b);
    no_problem_free(&ps);
    no_problem_free(&p);
}

/* loss_mean_all (torch.nn.MSELoss: the mean over all N d_out squared
 * errors): F' = (2/d_out) F, and so the adjoint and every gradient; d_out = 4
 * makes the factor 1/2 exact.  States and output are the contract's. */
Test(ref_variants, mean_over_outputs_is_the_contract_times_2_over_d_out)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v += 3) {
        no_spec s;
        no_test_spec(&s, v, NO_SCHEME_RK4, 2, 37);
        s.L = 4, s.D = 4, s.d_out = 4;
        no_problem p;
        char err[256];
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        ref_variant var = {0};
        var.loss_mean_all = 1;
        ref_result c, r;
        run(&p, NULL, NULL, 0, &c);
        run(&p, &var, NULL, 0, &r);
        expect_scaled(&r, &c, "output", 0);
        expect_scaled(&r, &c, "loss", 0.5);
        expect_scaled(&r, &c, "adjoint", 0.5);
        expect_scaled(&r, &c, grad_name(&p), 0.5);
        ref_result_clear(&r);
        ref_result_clear(&c);
        no_problem_free(&p);
    }
}
