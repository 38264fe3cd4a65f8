/* convergence_order_forward / convergence_order_adjoint_gap: Euler and RK4
 * converge to the exact flow at their declared orders (problem/tableau.c),
 * and the continuous-minus-discrete adjoint gap shrinks at the same order
 * (proofs-notes/continuous-adjoint.md).  Rates are least-squares slopes of
 * log(error) against log(tau), tau = h/m, over m in a range where the error
 * is asymptotic; the tolerance is +-0.15 on the slope.  Smooth fields
 * only: relu's kinks break the Taylor expansions behind both orders. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ref.h"
#include "tableau.h"
#include "test_util.h"

#define PREC 160

static double slope(const double *x, const double *y, int n)
{
    double mx = 0, my = 0, sxy = 0, sxx = 0;
    for (int i = 0; i < n; i++)
        mx += x[i] / n, my += y[i] / n;
    for (int i = 0; i < n; i++)
        sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
    return sxy / sxx;
}

/* The run of variant v with scheme and m substeps, at PREC bits. */
static void run(int v, no_scheme_id sc, size_t m, no_adjoint adj, ref_result *r)
{
    no_spec s;
    no_test_spec(&s, v, sc, m, 3);
    s.adjoint = adj;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_model mo;
    cr_assert_eq(ref_model_init(&mo, &p, PREC, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_run(&mo, r, err, sizeof err), 0, "%s", err);
    ref_model_clear(&mo);
    no_problem_free(&p);
}

/* max |a - b| over the last layer's states (or a whole array). */
static double maxdiff(const ref_array *a, const ref_array *b, size_t from)
{
    mpfr_t d;
    mpfr_init2(d, PREC);
    double mx = 0;
    for (size_t e = from; e < a->n; e++) {
        mpfr_sub(d, a->v[e], b->v[e], MPFR_RNDN);
        mx = fmax(mx, fabs(mpfr_get_d(d, MPFR_RNDN)));
    }
    mpfr_clear(d);
    return mx;
}

/* The substep counts fitted for a scheme of that order: where the error is
 * asymptotic (the next term, tau^(order+1), bends a fit that starts too
 * coarse) and far above the stand-in's error.  Measured on rff-matern: the
 * 3/8 rule fits 3.57 over m = 2..16 and 3.81 over 4..32, so order 4 starts
 * at m = 8.  tsit5's error constant changes sign on the way (rff-gaussian,
 * successive slopes 6.37, 5.06, 4.64, 4.85, 4.93, 4.97 from m = 4 to 256;
 * rff-matern fits 5.46 over 8..64, 5.31 over 16..128, 5.19 over 32..256),
 * so order 5 is fitted over m = 64..512. */
static const size_t *substeps_for(int order)
{
    static const size_t low[] = {4, 8, 16, 32}, high[] = {8, 16, 32, 64},
                        fifth[] = {64, 128, 256, 512};
    return order >= 5 ? fifth : order == 1 || order == 4 ? high : low;
}

/* The exact flow is scheme independent: dopri5 (order 5) with 8192
 * substeps stands for it (its error, ~2e-25 on rff-gaussian by its own
 * measured rate, is below 1e-4 of the smallest error fitted: tsit5 at
 * m = 512, ~5e-20). */
static void forward_order(int v, const ref_array *zx, no_scheme_id sc)
{
    int order = no_tableau_of(sc)->order, n = 4;
    const size_t *ms = substeps_for(order);
    size_t last = zx->n - zx->shape[1] * zx->shape[2];
    double lt[8], le[8];
    for (int i = 0; i < n; i++) {
        ref_result r;
        run(v, sc, ms[i], NO_ADJOINT_DISCRETE, &r);
        lt[i] = log(1.0 / (3.0 * (double)ms[i])); /* tau = 1/(L m), L = 3 */
        le[i] = log(maxdiff(ref_result_get(&r, "states"), zx, last));
        ref_result_clear(&r);
    }
    double sl = slope(lt, le, n);
    cr_log_info("forward %s %s: slope %.3f", no_scheme_name(sc), no_test_variant_name(v), sl);
    cr_expect(fabs(sl - order) <= 0.15, "forward %s %s: fitted order %.3f, declared %d",
              no_scheme_name(sc), no_test_variant_name(v), sl, order);
}

/* Every scheme of the table (problem/tableau.c) at its declared order, on
 * every smooth field (relu's kinks break the Taylor expansion). */
Test(convergence_order_forward, every_scheme_of_the_table, .timeout = 900)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        if (v == 5)
            continue; /* relu */
        ref_result exact;
        run(v, NO_SCHEME_DOPRI5, 8192, NO_ADJOINT_DISCRETE, &exact);
        for (int sc = 0; sc < NO_SCHEME_COUNT; sc++)
            forward_order(v, ref_result_get(&exact, "states"), (no_scheme_id)sc);
        ref_result_clear(&exact);
    }
}

/* gap(m) = max over parameter arrays of max |grad_cont - grad_disc|. */
static void gap_order(no_scheme_id sc, const size_t *ms, int n)
{
    int order = no_tableau_of(sc)->order;
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        if (v == 5)
            continue;
        double lt[8], lg[8];
        for (int i = 0; i < n; i++) {
            ref_result rd, rc;
            run(v, sc, ms[i], NO_ADJOINT_DISCRETE, &rd);
            run(v, sc, ms[i], NO_ADJOINT_CONTINUOUS, &rc);
            double g = 0;
            for (int a = 0; a < rd.count; a++)
                if (!strncmp(rd.a[a].name, "grad_", 5))
                    g = fmax(g, maxdiff(&rd.a[a], &rc.a[a], 0));
            lt[i] = log(1.0 / (3.0 * (double)ms[i]));
            lg[i] = log(g);
            ref_result_clear(&rd);
            ref_result_clear(&rc);
        }
        double sl = slope(lt, lg, n);
        cr_log_info("gap %s %s: slope %.3f", no_scheme_name(sc), no_test_variant_name(v), sl);
        cr_expect(fabs(sl - order) <= 0.15, "adjoint gap %s %s: fitted order %.3f, declared %d",
                  no_scheme_name(sc), no_test_variant_name(v), sl, order);
    }
}

Test(convergence_order_adjoint_gap, euler)
{
    const size_t ms[] = {8, 16, 32, 64};
    gap_order(NO_SCHEME_EULER, ms, 4);
}

/* From m = 4: at m = 2 the tau^5 term still bends the rk4 gap.  Measured
 * fits: over m = 2..16, 4.16 (rff-gaussian) and 4.17 (mlp-tanh); over
 * m = 4..32, 4.08 and 4.09, approaching 4 as the range moves out. */
Test(convergence_order_adjoint_gap, rk4)
{
    const size_t ms[] = {4, 8, 16, 32};
    gap_order(NO_SCHEME_RK4, ms, 4);
}
