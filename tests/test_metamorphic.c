/* Metamorphic tests: relations between runs of related problems, which hold
 * whatever the (unknown) exact values are.
 *
 *   metamorphic_permutation    permuting the data points permutes the
 *                              per-point outputs and leaves loss and gradients
 *                              unchanged (bit-identical in ref, 64 u in fast);
 *   metamorphic_zero_field     param_scale = 0 gives the zero field: states
 *                              never move, yet the gradient is not zero;
 *   metamorphic_reversibility  forward then backward integration returns to
 *                              the start up to the scheme's error, with the
 *                              predicted order in h/m.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "fast.h"
#include "problem.h"
#include "ref.h"
#include "tolerance.h"
#include "test_util.h"

#define U 0x1p-53

static void gen(no_problem *p, const no_spec *s)
{
    char err[256];
    cr_assert_eq(no_problem_generate(p, s, err, sizeof err), 0, "%s", err);
}

static void ref_of(const no_problem *p, mpfr_prec_t prec, ref_model *m, ref_result *r)
{
    char err[256];
    cr_assert_eq(ref_model_init(m, p, prec, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_run(m, r, err, sizeof err), 0, "%s", err);
}

static void fast_of(const no_problem *p, no_arrays *out)
{
    char err[256];
    memset(out, 0, sizeof *out);
    cr_assert_eq(fast_run(p, out, err, sizeof err), 0, "%s", err);
}

/* ------------------------------------------------------------------------ */
/* metamorphic_permutation                                                   */
/* ------------------------------------------------------------------------ */

/* Per-point arrays of the output layout (arrays.h): element e of the
 * permuted problem corresponds to element perm_index(e) of the original.
 * states/adjoint are (L+1) x N x D, output is N x d_out; everything else
 * (loss, grad_*, mgrad_*) is a sum over points and must not move. */
static size_t perm_index(const char *name, const no_spec *s, const size_t *pi, size_t e)
{
    size_t w;
    if (!strcmp(name, "states") || !strcmp(name, "adjoint"))
        w = s->D;
    else if (!strcmp(name, "output"))
        w = s->d_out;
    else
        return e;
    size_t row = e / w, col = e % w; /* row = k N + i */
    size_t k = row / s->N, i = row % s->N;
    return (k * s->N + pi[i]) * w + col;
}

/* Q = P with data point i of Q being point pi[i] of P. */
static void permute_points(no_problem *q, const no_problem *p, const size_t *pi)
{
    const no_spec *s = &p->spec;
    cr_assert_eq(no_problem_copy(q, p), 0, "no_problem_copy: out of memory");
    for (size_t i = 0; i < s->N; i++) {
        memcpy(q->X + i * s->d_in, p->X + pi[i] * s->d_in, s->d_in * sizeof(double));
        memcpy(q->Y + i * s->d_out, p->Y + pi[i] * s->d_out, s->d_out * sizeof(double));
    }
}

/* Largest normwise error of fast over every array, in units of u (for the log). */
static double worst_fast_u;

/* The permutation check for one problem.
 *
 * ref (128 bits): every per-point quantity is computed point by point from
 * that point's data alone, and every sum over points (loss, each gradient
 * entry) is an mpfr_sum, correctly rounded and therefore independent of the
 * order of its terms (ref/ref_run.c).  So the permuted run's per-point arrays
 * are the original's permuted, and loss, grad_*, mgrad_* are bit-identical:
 * checked with mpfr_equal_p, no tolerance.
 *
 * fast (double): the per-point arithmetic does not depend on the point's
 * position either, but the sums over points are recursive sums in point
 * order (loss; the gradient entries accumulate N-point rank-one updates for
 * every stage and substep, fast_linalg_gemm_tn).  For a recursive sum of n
 * terms t_j every order has error <= gamma_{n-1} sum |t_j| (Higham, Accuracy
 * and Stability, 4.2), so two orders differ by <= 2 gamma_{n-1} sum |t_j|
 * ~ 2 (n-1) u sum |t_j|.  Reordering only permutes the N = 4 points inside
 * each of the s m (<= 4 x 2) groups, so n <= N s m = 32 terms and
 * 2 (n - 1) = 62 <= 64; for these random problems the normwise cancellation
 * factor max_e sum|t| / max_e |g_e| is O(1), so the check
 * max |fast(Q) - perm(fast(P))| <= 64 u max |fast(P)| per array is the
 * worst-case reordering bound, typically met with an order of magnitude to
 * spare (the measured worst is logged). */
static void check_permutation(int v, no_scheme_id scheme, no_adjoint adj)
{
    const size_t pi[4] = {2, 0, 3, 1}; /* no fixed point */
    no_spec s;
    no_test_spec(&s, v, scheme, 2, 40 + (uint64_t)v);
    s.N = 4;
    s.adjoint = adj;
    const char *tag = no_test_variant_name(v);
    const char *sch = no_scheme_name(scheme);
    no_problem p, q;
    gen(&p, &s);
    permute_points(&q, &p, pi);

    ref_model mp, mq;
    ref_result rp, rq;
    ref_of(&p, 128, &mp, &rp);
    ref_of(&q, 128, &mq, &rq);
    cr_assert_eq(rp.count, rq.count);
    for (int a = 0; a < rp.count; a++) {
        const ref_array *x = &rp.a[a], *y = ref_result_get(&rq, x->name);
        cr_assert_not_null(y, "%s: no %s in the permuted run", tag, x->name);
        cr_assert_eq(x->n, y->n);
        size_t bad = 0;
        for (size_t e = 0; e < y->n; e++)
            bad += !mpfr_equal_p(y->v[e], x->v[perm_index(x->name, &s, pi, e)]);
        cr_expect_eq(bad, 0, "%s %s %s: ref %s: %zu of %zu entries not bit-identical", tag, sch,
                     no_adjoint_name(adj), x->name, bad, x->n);
    }

    no_arrays fp, fq;
    fast_of(&p, &fp);
    fast_of(&q, &fq);
    for (int a = 0; a < fp.count; a++) {
        const no_array *x = &fp.a[a], *y = no_arrays_get(&fq, x->name);
        cr_assert_not_null(y);
        double scale = 0, err = 0;
        for (size_t e = 0; e < y->n; e++) {
            double xe = x->v[perm_index(x->name, &s, pi, e)];
            scale = fmax(scale, fabs(xe));
            err = fmax(err, fabs(y->v[e] - xe));
        }
        cr_expect(isfinite(scale) && isfinite(err), "%s: fast %s not finite", tag, x->name);
        cr_expect_leq(err, 64 * U * scale, "%s %s %s: fast %s: %.3g u normwise after permuting",
                      tag, sch, no_adjoint_name(adj), x->name, scale > 0 ? err / scale / U : err);
        if (scale > 0)
            worst_fast_u = fmax(worst_fast_u, err / scale / U);
    }
    no_arrays_free(&fp);
    no_arrays_free(&fq);
    ref_result_clear(&rp);
    ref_result_clear(&rq);
    ref_model_clear(&mp);
    ref_model_clear(&mq);
    no_problem_free(&p);
    no_problem_free(&q);
}

Test(metamorphic_permutation, euler_discrete)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        check_permutation(v, NO_SCHEME_EULER, NO_ADJOINT_DISCRETE);
    cr_log_info("euler: worst fast reordering error %.2f u", worst_fast_u);
}

Test(metamorphic_permutation, rk4_discrete)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        check_permutation(v, NO_SCHEME_RK4, NO_ADJOINT_DISCRETE);
    cr_log_info("rk4: worst fast reordering error %.2f u", worst_fast_u);
}

/* The continuous adjoint sums over points the same way (same bound). */
Test(metamorphic_permutation, continuous_adjoint)
{
    check_permutation(2, NO_SCHEME_RK4, NO_ADJOINT_CONTINUOUS);
    check_permutation(3, NO_SCHEME_EULER, NO_ADJOINT_CONTINUOUS);
    cr_log_info("continuous: worst fast reordering error %.2f u", worst_fast_u);
}

/* ------------------------------------------------------------------------ */
/* metamorphic_zero_field                                                    */
/* ------------------------------------------------------------------------ */

/* param_scale = 0 makes W = 0 (linear, rff) or a = 0 (mlp), so v_k = 0 and
 * Dv_k = 0 for every layer.  Every stage is then z + tau * (sum of exact
 * zeros) = z, exactly, in any precision:
 *   - states[k] == states[0] for every k, in ref and fast, bit for bit;
 *   - states[0] == A x: the generated A has one nonzero per row, so A x is
 *     one product of two doubles, exact at 106 <= 128 bits in ref (compared
 *     with the product computed here at 256 bits) and correctly rounded in
 *     fast (compared with ref's value rounded to double);
 *   - the adjoint never changes either: adjoint[k] == adjoint[L] exactly.
 * The loss still depends on the parameters: dv/dW = p z^T (linear),
 * p phi(z)^T (rff), da = (1/M) sigma(u.z + b) p (mlp) are not zero, while
 * du and db carry the factor a . p = 0 and are exactly zero.  fast's gradient
 * must match ref's within the compare tolerance of proofs-notes/tolerance.md
 * (c u W G K, here with growth G = 1 since Dv = 0), which demands exact zeros
 * where ref has them. */
static void check_zero_field(int v, no_scheme_id scheme)
{
    no_spec s;
    no_test_spec(&s, v, scheme, 2, 60 + (uint64_t)v);
    s.param_scale = 0.0;
    const char *tag = no_test_variant_name(v);
    const char *sch = no_scheme_name(scheme);
    no_problem p;
    gen(&p, &s);
    size_t ND = s.N * s.D;

    ref_model m;
    ref_result r;
    ref_of(&p, 128, &m, &r);
    const ref_array *st = ref_result_get(&r, "states"), *adj = ref_result_get(&r, "adjoint");
    cr_assert(st && adj);
    mpfr_t ax;
    mpfr_init2(ax, 256);
    for (size_t i = 0; i < s.N; i++)
        for (size_t c = 0; c < s.D; c++) {
            mpfr_set_zero(ax, 1);
            for (size_t j = 0; j < s.d_in; j++) {
                mpfr_t t;
                mpfr_init2(t, 256);
                mpfr_set_d(t, p.A[c * s.d_in + j], MPFR_RNDN);
                mpfr_mul_d(t, t, p.X[i * s.d_in + j], MPFR_RNDN);
                mpfr_add(ax, ax, t, MPFR_RNDN);
                mpfr_clear(t);
            }
            cr_expect(mpfr_equal_p(st->v[i * s.D + c], ax), "%s %s: ref z_0 != A x", tag, sch);
        }
    mpfr_clear(ax);
    for (size_t k = 1; k <= s.L; k++)
        for (size_t e = 0; e < ND; e++) {
            cr_expect(mpfr_equal_p(st->v[k * ND + e], st->v[e]),
                      "%s %s: ref states[%zu] moved under the zero field", tag, sch, k);
            cr_expect(mpfr_equal_p(adj->v[(k - 1) * ND + e], adj->v[s.L * ND + e]),
                      "%s %s: ref adjoint[%zu] != adjoint[L]", tag, sch, k - 1);
        }

    no_arrays ref_d, f;
    cr_assert_eq(ref_result_to_double(&r, &ref_d), 0);
    fast_of(&p, &f);
    const double *fs = no_arrays_get(&f, "states")->v, *fa = no_arrays_get(&f, "adjoint")->v;
    const double *rs = no_arrays_get(&ref_d, "states")->v;
    for (size_t e = 0; e < ND; e++)
        cr_expect_eq(fs[e], rs[e], "%s %s: fast z_0 != fl(A x)", tag, sch);
    for (size_t k = 1; k <= s.L; k++)
        for (size_t e = 0; e < ND; e++) {
            cr_expect_eq(fs[k * ND + e], fs[e], "%s %s: fast states[%zu] moved", tag, sch, k);
            cr_expect_eq(fa[(k - 1) * ND + e], fa[s.L * ND + e],
                         "%s %s: fast adjoint[%zu] != adjoint[L]", tag, sch, k - 1);
        }

    no_tol_model tol;
    cr_assert_eq(no_tol_model_init(&tol, &p, &ref_d, U), 0);
    cr_expect_eq(tol.lambda, 0.0, "%s: growth of the zero field is %g", tag, tol.lambda);
    for (int a = 0; a < ref_d.count; a++) {
        const no_array *x = &ref_d.a[a];
        if (strncmp(x->name, "grad_", 5) && strncmp(x->name, "mgrad_", 6))
            continue;
        const char *pn = strchr(x->name, '_') + 1;
        double scale = 0, err = 0;
        const no_array *y = no_arrays_get(&f, x->name);
        for (size_t e = 0; e < x->n; e++) {
            scale = fmax(scale, fabs(x->v[e]));
            err = fmax(err, fabs(y->v[e] - x->v[e]));
        }
        int must_vanish = s.family == NO_FAMILY_MLP && strcmp(pn, "a");
        if (must_vanish)
            cr_expect_eq(scale, 0.0, "%s %s: ref %s should be exactly 0 (a = 0)", tag, sch,
                         x->name);
        else
            cr_expect_gt(scale, 0.0, "%s %s: ref %s is zero under the zero field", tag, sch,
                         x->name);
        double t = no_tol_for(&tol, x->name);
        cr_expect_leq(err, t * scale, "%s %s: fast %s off by %.3g normwise (tol %.3g)", tag, sch,
                      x->name, scale > 0 ? err / scale : err, t);
    }

    /* linear: with z and p constant, every stage contributes tau b_i p z^T and
     * sum_i b_i = 1, so each layer's gradient is h sum_i p^i (z_0^i)^T exactly
     * (in the reals).  ref computes it with O(L m s N) roundings at 128 bits;
     * 2^-115 normwise leaves a factor 2^13 for them. */
    if (s.family == NO_FAMILY_LINEAR) {
        const ref_array *g = ref_result_get(&r, "grad_W");
        mpfr_t want, t, d, gmax, dmax;
        mpfr_inits2(256, want, t, d, gmax, dmax, (mpfr_ptr)0);
        mpfr_set_zero(gmax, 1);
        mpfr_set_zero(dmax, 1);
        for (size_t k = 0; k < s.L; k++)
            for (size_t a = 0; a < s.D; a++)
                for (size_t b = 0; b < s.D; b++) {
                    mpfr_set_zero(want, 1);
                    for (size_t i = 0; i < s.N; i++) {
                        mpfr_mul(t, adj->v[s.L * ND + i * s.D + a], st->v[i * s.D + b],
                                 MPFR_RNDN);
                        mpfr_add(want, want, t, MPFR_RNDN);
                    }
                    mpfr_div_ui(want, want, (unsigned long)s.L, MPFR_RNDN); /* h = 1/L */
                    mpfr_sub(d, g->v[(k * s.D + a) * s.D + b], want, MPFR_RNDN);
                    mpfr_abs(d, d, MPFR_RNDN);
                    mpfr_max(dmax, dmax, d, MPFR_RNDN);
                    mpfr_abs(t, want, MPFR_RNDN);
                    mpfr_max(gmax, gmax, t, MPFR_RNDN);
                }
        mpfr_mul_2si(gmax, gmax, -115, MPFR_RNDN);
        cr_expect(mpfr_lessequal_p(dmax, gmax), "%s %s: grad_W != h sum_i p_L z_0^T", tag, sch);
        mpfr_clears(want, t, d, gmax, dmax, (mpfr_ptr)0);
    }

    no_arrays_free(&f);
    no_arrays_free(&ref_d);
    ref_result_clear(&r);
    ref_model_clear(&m);
    no_problem_free(&p);
}

Test(metamorphic_zero_field, euler)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        check_zero_field(v, NO_SCHEME_EULER);
}

Test(metamorphic_zero_field, rk4)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        check_zero_field(v, NO_SCHEME_RK4);
}

/* ------------------------------------------------------------------------ */
/* metamorphic_reversibility                                                 */
/* ------------------------------------------------------------------------ */

#define REV_PREC 200
static const size_t rev_m[] = {1, 2, 4, 8};
#define REV_NM 4

/* z_0 = A x for every point, at the model's precision (exact: one product of
 * two doubles per entry, see the zero-field test). */
static mpfr_t *start_states(const ref_model *m)
{
    const no_spec *s = &m->spec;
    mpfr_t *Z = malloc(s->N * s->D * sizeof *Z);
    cr_assert_not_null(Z);
    for (size_t i = 0; i < s->N; i++)
        for (size_t c = 0; c < s->D; c++) {
            mpfr_t *z = &Z[i * s->D + c];
            mpfr_init2(*z, m->prec);
            mpfr_set_zero(*z, 1);
            mpfr_t t;
            mpfr_init2(t, m->prec);
            for (size_t j = 0; j < s->d_in; j++) {
                mpfr_mul(t, m->A.v[c * s->d_in + j], m->X.v[i * s->d_in + j], MPFR_RNDN);
                mpfr_add(*z, *z, t, MPFR_RNDN);
            }
            mpfr_clear(t);
        }
    return Z;
}

static void free_states(mpfr_t *Z, size_t n)
{
    for (size_t e = 0; e < n; e++)
        mpfr_clear(Z[e]);
    free(Z);
}

/* e(m) = max |R(F(Z0)) - Z0| with F the forward flow of all layers and R the
 * reverse one (ref_flow at 200 bits, so rounding, ~2^-190, is far below the
 * smallest e measured).  If out is given, the round-tripped states (rounded
 * to double) are stored there. */
static double roundtrip_error(const no_problem *p, double *out)
{
    char err[256];
    ref_model m;
    cr_assert_eq(ref_model_init(&m, p, REV_PREC, err, sizeof err), 0, "%s", err);
    size_t n = p->spec.N * p->spec.D;
    mpfr_t *Z0 = start_states(&m), *Z = start_states(&m);
    cr_assert_eq(ref_flow(&m, Z, 0), 0);
    cr_assert_eq(ref_flow(&m, Z, 1), 0);
    mpfr_t d;
    mpfr_init2(d, REV_PREC);
    double e = 0;
    for (size_t k = 0; k < n; k++) {
        mpfr_sub(d, Z[k], Z0[k], MPFR_RNDN);
        e = fmax(e, fabs(mpfr_get_d(d, MPFR_RNDN)));
        if (out)
            out[k] = mpfr_get_d(Z[k], MPFR_RNDN);
    }
    mpfr_clear(d);
    free_states(Z0, n);
    free_states(Z, n);
    ref_model_clear(&m);
    return e;
}

/* Least-squares slope of log e against log(h/m). */
static double fitted_slope(const double *e, const no_spec *s)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < REV_NM; i++) {
        double x = log(no_spec_step(s) / (double)rev_m[i]), y = log(e[i]);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    return (REV_NM * sxy - sx * sy) / (REV_NM * sxx - sx * sx);
}

/* The measured errors and slope of one variant and scheme. */
static double reversal_slope(int v, no_scheme_id scheme, double e[REV_NM])
{
    for (int i = 0; i < REV_NM; i++) {
        no_spec s;
        /* Same seed for every m: the parameters depend on L, not on m. */
        no_test_spec(&s, v, scheme, rev_m[i], 80 + (uint64_t)v);
        no_problem p;
        gen(&p, &s);
        e[i] = roundtrip_error(&p, NULL);
        no_problem_free(&p);
        cr_expect(e[i] > 0 && isfinite(e[i]), "%s %s m=%zu: e = %g", no_test_variant_name(v),
                  no_scheme_name(scheme), rev_m[i], e[i]);
    }
    no_spec s;
    no_test_spec(&s, v, scheme, 1, 0);
    double slope = fitted_slope(e, &s);
    cr_log_info("%s %s: e(m=1,2,4,8) = %.2e %.2e %.2e %.2e, slope %.3f",
                no_test_variant_name(v), no_scheme_name(scheme), e[0], e[1], e[2], e[3], slope);
    return slope;
}

/* RK4 (order p = 4): a step of -tau after a step of +tau returns to the start
 * up to O(tau^(p+1)) (the tau^(p+1) terms of the two local errors cancel for
 * even p, leaving O(tau^(p+2)) per step, e.g. R(x)R(-x) - 1 = O(x^6) for the
 * linear test equation), accumulated over L m steps: a slope between p and
 * p + 1 = 5.  The check is slope >= 4 - 0.15: 0.15 absorbs the
 * pre-asymptotic curvature of a 4-point fit from m = 1.  relu is excluded: its
 * field is not C^5 and the expansion does not hold. */
Test(metamorphic_reversibility, rk4_order)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        if (v == 5)
            continue; /* relu */
        double e[REV_NM];
        double slope = reversal_slope(v, NO_SCHEME_RK4, e);
        cr_expect_geq(slope, 4 - 0.15, "%s rk4: reversal slope %.3f < 3.85",
                      no_test_variant_name(v), slope);
    }
}

/* Euler (p = 1, odd): the tau^2 terms of the forward and backward local errors
 * add, z + tau v(z) - tau v(z + tau v(z)) = z - tau^2 Dv v + O(tau^3), so the
 * round trip of L m steps is off by O(tau): slope 1 +- 0.15. */
Test(metamorphic_reversibility, euler_order)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        if (v == 5)
            continue;
        double e[REV_NM];
        double slope = reversal_slope(v, NO_SCHEME_EULER, e);
        cr_expect(fabs(slope - 1) <= 0.15, "%s euler: reversal slope %.3f not in 1 +- 0.15",
                  no_test_variant_name(v), slope);
    }
}

/* fast_flow does the same round trip in double.  Its result must be within
 * the scheme's reversal error e(m) (measured by ref) of the start, plus
 * rounding, and within rounding of ref's round trip.  Rounding: 2 L m = 24
 * RK4 steps, each adding a few u |z| (stage combinations, dot products of
 * length <= D + M), amplified by the flow's growth (|Dv| = O(1) over unit
 * time, a factor e^2 at most for the two passes): 24 * 10 * 1.1e-16 * |z| (|z|
 * <= 3) * e^2 ~ 6e-13, so 1e-12 absolute. */
Test(metamorphic_reversibility, fast_flow_roundtrip)
{
    no_spec s;
    no_test_spec(&s, 3, NO_SCHEME_RK4, 4, 83); /* mlp tanh */
    no_problem p;
    gen(&p, &s);
    size_t n = s.N * s.D;
    double *zr = malloc(n * sizeof *zr), *z = malloc(n * sizeof *z), *z0 = malloc(n * sizeof *z0);
    cr_assert(zr && z && z0);
    double e = roundtrip_error(&p, zr);
    /* z_0 = A x in double: one product per entry, the same rounding as ref's
     * exact value rounded to double. */
    for (size_t i = 0; i < s.N; i++)
        for (size_t c = 0; c < s.D; c++) {
            double acc = 0;
            for (size_t j = 0; j < s.d_in; j++)
                acc += p.A[c * s.d_in + j] * p.X[i * s.d_in + j];
            z0[i * s.D + c] = z[i * s.D + c] = acc;
        }
    char err[256];
    cr_assert_eq(fast_flow(&p, z, 0, err, sizeof err), 0, "%s", err);
    double moved = 0;
    for (size_t k = 0; k < n; k++)
        moved = fmax(moved, fabs(z[k] - z0[k]));
    cr_expect_gt(moved, 1e-3, "the forward flow barely moved the states (%g)", moved);
    cr_assert_eq(fast_flow(&p, z, 1, err, sizeof err), 0, "%s", err);
    double back = 0, vs_ref = 0;
    for (size_t k = 0; k < n; k++) {
        back = fmax(back, fabs(z[k] - z0[k]));
        vs_ref = fmax(vs_ref, fabs(z[k] - zr[k]));
    }
    cr_log_info("fast_flow rk4 m=4: |Z - Z0| = %.3g (ref %.3g), |Z - Z_ref| = %.3g", back, e,
                vs_ref);
    cr_expect_leq(back, e + 1e-12, "fast round trip off by %g, ref's by %g", back, e);
    cr_expect_leq(vs_ref, 1e-12, "fast and ref round trips differ by %g", vs_ref);
    free(zr);
    free(z);
    free(z0);
    no_problem_free(&p);
}
