/* activations: the mlp family's activations (proofs-notes/activations.md)
 * hold to what that note claims of each of them.
 *
 *  - sigma' is the derivative of sigma: a central difference quotient in
 *    MPFR at 256 bits, away from the kinks, agrees to 2^-100;
 *  - the smoothness class is the one the note states: at each kink the
 *    one-sided quotients of sigma and of sigma' jump (or not) by the stated
 *    amounts, at the conventional values (relu'(0) = 0), and validation's
 *    NO_REQ_SMOOTH accepts exactly the activations measured C^2, with a
 *    message that names the activation (also through the depth command);
 *  - fast's sigma, sigma' agree with ref's pointwise, hostile arguments
 *    (+-800, +-1e300) included, and never overflow;
 *  - ref vs fast on small mlp problems (euler and rk4, every adjoint kind)
 *    pass the tolerance model of proofs-notes/tolerance.md; hrelu's problem
 *    reaches all three of its pieces;
 *  - homogeneity: the field is linear in a for every activation (partial
 *    1-homogeneity, exact under scaling by 2), relu's is positively
 *    2-homogeneous in (a, u, b) (exact), and the others are not (the test
 *    can tell); the Euler identities this gives the gradient outputs hold in
 *    ref and fast;
 *  - names round-trip through --activation and problem.json, and the NumPy
 *    example passes `nodeoracle check` on every activation. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compare.h"
#include "fast.h"
#include "fast_activation.h"
#include "fast_field.h"
#include "problem_dir.h"
#include "ref.h"
#include "ref_activation.h"
#include "spec_args.h"
#include "test_run.h"
#include "test_util.h"

#define PYTHON "/usr/bin/python3"

NO_TEST_SCRATCH("no_activations_")

TestSuite(activations, .init = scratch_setup, .fini = scratch_teardown,
          .timeout = NO_TEST_TIMEOUT_S);

/* What activations.md states of each activation: its kinks (points where a
 * derivative of order <= 2 is discontinuous), the jump of sigma' and of
 * sigma'' there (right minus left), and whether the field is C^2. */
typedef struct {
    no_activation act;
    int nkinks;
    double kink[2];
    double jump1[2], jump2[2];
    int c2;
} act_class;

static const act_class classes[] = {
    {NO_ACT_TANH, 0, {0}, {0}, {0}, 1},
    {NO_ACT_SOFTPLUS, 0, {0}, {0}, {0}, 1},
    {NO_ACT_RELU, 1, {0}, {1}, {0}, 0},
    {NO_ACT_HRELU, 2, {-1, 1}, {0, 0}, {0.5, -0.5}, 0},
};
#define NCLASSES ((int)(sizeof classes / sizeof *classes))

Test(activations, the_table_covers_every_activation)
{
    cr_assert_eq(NCLASSES, NO_ACT_COUNT, "activations.md's table and the enum disagree");
    for (int i = 0; i < NCLASSES; i++)
        cr_expect_eq(classes[i].act, (no_activation)i);
}

/* ---- ref: sigma' = d sigma / dx, and the smoothness classes --------------- */

#define FD_PREC 256

typedef struct {
    mpfr_t x, s, ds, tmp, a, b;
} fd_ws;

static void fd_init(fd_ws *w)
{
    mpfr_inits2(FD_PREC, w->x, w->s, w->ds, w->tmp, w->a, w->b, (mpfr_ptr)0);
}

static void fd_clear(fd_ws *w)
{
    mpfr_clears(w->x, w->s, w->ds, w->tmp, w->a, w->b, (mpfr_ptr)0);
}

/* sigma(x0 + k 2^-e) into out (k = -1, 0, 1), and sigma' into dout if given. */
static void sigma_at(fd_ws *w, no_activation act, double x0, int k, long e, mpfr_t out,
                     mpfr_t dout)
{
    mpfr_set_d(w->x, x0, MPFR_RNDN);
    mpfr_set_si_2exp(w->tmp, k, -e, MPFR_RNDN);
    mpfr_add(w->x, w->x, w->tmp, MPFR_RNDN); /* exact at 256 bits */
    ref_activation(act, w->s, w->ds, w->x, w->tmp);
    mpfr_set(out, w->s, MPFR_RNDN);
    if (dout)
        mpfr_set(dout, w->ds, MPFR_RNDN);
}

/* |(sigma(x+h) - sigma(x-h)) / 2h - sigma'(x)| with h = 2^-60: the truncation
 * error is h^2/6 |sigma'''| <= 2^-120 for these activations, the rounding
 * error 2^-256/2^-60; 2^-100 separates both from any wrong formula. */
Test(activations, derivative_is_the_difference_quotient)
{
    fd_ws w;
    fd_init(&w);
    mpfr_t q, d;
    mpfr_inits2(FD_PREC, q, d, (mpfr_ptr)0);
    const long e = 60;
    for (int c = 0; c < NCLASSES; c++) {
        no_activation act = classes[c].act;
        /* 65 points on [-4, 4] with step 1/8 offset by 1/16: never within
         * 1/16 of a kink (0, +-1); and far out, where softplus and tanh
         * saturate. */
        double xs[70];
        int n = 0;
        for (int i = 0; i < 64; i++)
            xs[n++] = -4.0 + 0.125 * i + 0.0625;
        xs[n++] = -40.5, xs[n++] = 40.5, xs[n++] = -300.25, xs[n++] = 300.25;
        for (int i = 0; i < n; i++) {
            sigma_at(&w, act, xs[i], 1, e, w.a, NULL);
            sigma_at(&w, act, xs[i], -1, e, w.b, NULL);
            mpfr_sub(q, w.a, w.b, MPFR_RNDN);
            mpfr_mul_2si(q, q, e - 1, MPFR_RNDN); /* / (2 h) */
            sigma_at(&w, act, xs[i], 0, e, w.a, d);
            mpfr_sub(q, q, d, MPFR_RNDN);
            double err = fabs(mpfr_get_d(q, MPFR_RNDN));
            cr_expect_leq(err, 0x1p-100, "%s'(%g): difference quotient off by %.3e",
                          no_activation_name(act), xs[i], err);
        }
    }
    mpfr_clears(q, d, (mpfr_ptr)0);
    fd_clear(&w);
}

/* At each kink x0 (h = 2^-40): the jump of sigma' is the difference of the
 * one-sided quotients of sigma, (sigma(x0+h) - sigma(x0))/h minus
 * (sigma(x0) - sigma(x0-h))/h (that is jump1 + O(h)); the jump of sigma''
 * likewise from sigma'.  Where the note says "no kink" the same quotients at
 * 0 and +-1 must agree to O(h).  Then the conventional values: relu'(0) = 0,
 * hrelu(+-1) and hrelu'(+-1) those of the outer pieces. */
Test(activations, smoothness_class_is_as_documented)
{
    fd_ws w;
    fd_init(&w);
    mpfr_t lo, mid, hi, dlo, dmid, dhi, r;
    mpfr_inits2(FD_PREC, lo, mid, hi, dlo, dmid, dhi, r, (mpfr_ptr)0);
    const long e = 40;
    const double h = ldexp(1.0, (int)-e);
    for (int c = 0; c < NCLASSES; c++) {
        const act_class *k = &classes[c];
        const double probe[3] = {-1, 0, 1};
        for (int p = 0; p < 3; p++) {
            double x0 = probe[p], j1 = 0, j2 = 0;
            for (int i = 0; i < k->nkinks; i++)
                if (k->kink[i] == x0)
                    j1 = k->jump1[i], j2 = k->jump2[i];
            sigma_at(&w, k->act, x0, -1, e, lo, dlo);
            sigma_at(&w, k->act, x0, 0, e, mid, dmid);
            sigma_at(&w, k->act, x0, 1, e, hi, dhi);
            /* (hi - mid) - (mid - lo), over h */
            mpfr_sub(r, hi, mid, MPFR_RNDN);
            mpfr_sub(r, r, mid, MPFR_RNDN);
            mpfr_add(r, r, lo, MPFR_RNDN);
            double jump1 = mpfr_get_d(r, MPFR_RNDN) / h;
            mpfr_sub(r, dhi, dmid, MPFR_RNDN);
            mpfr_sub(r, r, dmid, MPFR_RNDN);
            mpfr_add(r, r, dlo, MPFR_RNDN);
            double jump2 = mpfr_get_d(r, MPFR_RNDN) / h;
            /* smooth pieces contribute |sigma''| h <= h and |sigma'''| h <= 2 h */
            cr_expect_leq(fabs(jump1 - j1), 4 * h, "%s at %g: sigma' jumps by %.6g, note says %g",
                          no_activation_name(k->act), x0, jump1, j1);
            /* relu's sigma'' is a delta at 0: its quotient is 1/h, not a jump */
            if (!(k->act == NO_ACT_RELU && x0 == 0))
                cr_expect_leq(fabs(jump2 - j2), 4 * h,
                              "%s at %g: sigma'' jumps by %.6g, note says %g",
                              no_activation_name(k->act), x0, jump2, j2);
        }
    }
    /* the values at the kinks (conventions.md, activations.md) */
    double s, ds;
    sigma_at(&w, NO_ACT_RELU, 0, 0, e, mid, dmid);
    cr_expect(mpfr_zero_p(mid) && mpfr_zero_p(dmid), "relu(0), relu'(0) must be 0, 0");
    fast_activation(NO_ACT_RELU, 0.0, &s, &ds);
    cr_expect(s == 0 && ds == 0, "fast relu(0), relu'(0) = %g, %g", s, ds);
    const double at[2] = {-1, 1}, want_s[2] = {0, 1}, want_ds[2] = {0, 1};
    for (int i = 0; i < 2; i++) {
        sigma_at(&w, NO_ACT_HRELU, at[i], 0, e, mid, dmid);
        cr_expect(mpfr_cmp_d(mid, want_s[i]) == 0 && mpfr_cmp_d(dmid, want_ds[i]) == 0,
                  "ref hrelu(%g), hrelu'(%g) = %g, %g", at[i], at[i], mpfr_get_d(mid, MPFR_RNDN),
                  mpfr_get_d(dmid, MPFR_RNDN));
        fast_activation(NO_ACT_HRELU, at[i], &s, &ds);
        cr_expect(s == want_s[i] && ds == want_ds[i], "fast hrelu(%g), hrelu'(%g) = %g, %g",
                  at[i], at[i], s, ds);
    }
    mpfr_clears(lo, mid, hi, dlo, dmid, dhi, r, (mpfr_ptr)0);
    fd_clear(&w);
}

/* NO_REQ_SMOOTH accepts exactly the activations the table calls C^2, and the
 * refusal names the activation and what it lacks; unknown values are
 * refused with or without the requirement. */
Test(activations, smoothness_requirement_names_the_activation)
{
    for (int c = 0; c < NCLASSES; c++) {
        no_spec s;
        no_test_spec(&s, 3, NO_SCHEME_RK4, 1, 1);
        s.activation = classes[c].act;
        const char *name = no_activation_name(s.activation);
        char err[512] = "";
        cr_expect_eq(no_spec_validate(&s, NO_REQ_NONE, err, sizeof err), 0, "%s: %s", name,
                     err);
        int rc = no_spec_validate(&s, NO_REQ_SMOOTH, err, sizeof err);
        if (classes[c].c2) {
            cr_expect_eq(rc, 0, "%s is C^2 but NO_REQ_SMOOTH refused it: %s", name, err);
            continue;
        }
        cr_expect_eq(rc, -1, "%s is not C^2 but NO_REQ_SMOOTH accepted it", name);
        char want[64];
        snprintf(want, sizeof want, "activation %s ", name);
        cr_expect(strstr(err, want) && strstr(err, "C^2"),
                  "%s: message '%s' does not name it and the requirement", name, err);
        /* the same through a command that needs a smooth field */
        run_result r = runf("depth --family mlp --activation %s", name);
        cr_expect_eq(r.status, 2, "depth --activation %s: exit %d", name, r.status);
        cr_expect(strstr(r.err, want) != NULL, "depth --activation %s: stderr '%s'", name, r.err);
        run_free(&r);
    }
    no_spec s;
    no_test_spec(&s, 3, NO_SCHEME_RK4, 1, 1);
    s.activation = NO_ACT_COUNT;
    char err[256] = "";
    cr_expect_eq(no_spec_validate(&s, NO_REQ_NONE, err, sizeof err), -1);
    cr_expect(strstr(err, "activation") != NULL, "'%s'", err);
}

/* ---- fast against ref, pointwise ------------------------------------------ */

/* sigma to 8u relative (libm's tanh, exp, log1p are within 2 ulps, and
 * softplus and hrelu add two or three roundings), sigma' to 8u absolute: it
 * is <= 1 and enters the Jacobian as a sum (1 - tanh^2 loses relative
 * accuracy where it is tiny, harmlessly).  Every output finite. */
Test(activations, fast_matches_ref_pointwise)
{
    const double u = 0x1p-53;
    mpfr_t x, s, ds, tmp;
    mpfr_inits2(200, x, s, ds, tmp, (mpfr_ptr)0);
    double xs[400];
    int n = 0;
    for (int i = 0; i < 321; i++)
        xs[n++] = -8.0 + 0.05 * i; /* crosses 0 and +-1 */
    const double hostile[] = {0.0,  -0.0,  0x1p-1074, 1e-300, 1e-8,  -1e-8,  1 - 0x1p-53,
                              1 + 0x1p-52, -1 + 0x1p-53, -1 - 0x1p-52, 36.7, -36.7, 709.0,
                              710.0, -745.0, 800.0, -800.0, 1e300, -1e300, DBL_MAX, -DBL_MAX};
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++)
        xs[n++] = hostile[i];
    for (int c = 0; c < NO_ACT_COUNT; c++)
        for (int i = 0; i < n; i++) {
            no_activation act = (no_activation)c;
            double fs, fds;
            fast_activation(act, xs[i], &fs, &fds);
            mpfr_set_d(x, xs[i], MPFR_RNDN);
            ref_activation(act, s, ds, x, tmp);
            double rs = mpfr_get_d(s, MPFR_RNDN), rds = mpfr_get_d(ds, MPFR_RNDN);
            cr_expect(isfinite(fs) && isfinite(fds), "%s(%g): fast gives %g, %g",
                      no_activation_name(act), xs[i], fs, fds);
            double es = fabs(fs - rs), eds = fabs(fds - rds);
            cr_expect_leq(es, 8 * u * fmax(fabs(rs), DBL_MIN), "%s(%.17g) = %.17g, ref %.17g",
                          no_activation_name(act), xs[i], fs, rs);
            cr_expect_leq(eds, 8 * u, "%s'(%.17g) = %.17g, ref %.17g", no_activation_name(act),
                          xs[i], fds, rds);
        }
    mpfr_clears(x, s, ds, tmp, (mpfr_ptr)0);
}

/* ---- ref vs fast on problems ----------------------------------------------- */

/* The small mlp problem of the tests below, with activation act. */
static void act_spec(no_spec *s, no_activation act, no_scheme_id scheme, size_t m, uint64_t seed)
{
    no_test_spec(s, 3, scheme, m, seed);
    s->activation = act;
    s->N = 5, s->L = 4, s->D = 4, s->M = 6;
}

/* Pre-activations of p at its layer-start states (fast's), counted by the
 * interval they fall in: x <= -1, -1 < x < 1, x >= 1. */
static void count_pieces(const no_problem *p, const no_arrays *o, int cnt[3])
{
    const no_spec *s = &p->spec;
    const no_array *st = no_arrays_get(o, "states");
    cr_assert_not_null(st);
    cnt[0] = cnt[1] = cnt[2] = 0;
    for (size_t k = 0; k < s->L; k++)
        for (size_t i = 0; i < s->N; i++)
            for (size_t j = 0; j < s->M; j++) {
                const double *z = st->v + (k * s->N + i) * s->D;
                double x = p->b[k * s->M + j];
                for (size_t r = 0; r < s->D; r++)
                    x += p->u[(k * s->M + j) * s->D + r] * z[r];
                cnt[x <= -1 ? 0 : x < 1 ? 1 : 2]++;
            }
}

Test(activations, ref_vs_fast_every_activation)
{
    for (int c = 0; c < NO_ACT_COUNT; c++)
        for (int sc = 0; sc < 2; sc++)
            for (int adj = 0; adj < NO_ADJOINT_COUNT; adj++) {
                no_spec s;
                act_spec(&s, (no_activation)c, sc ? NO_SCHEME_RK4 : NO_SCHEME_EULER, 2,
                         90 + (uint64_t)c);
                s.adjoint = (no_adjoint)adj;
                no_problem p;
                char err[256], desc[256];
                no_cmp_report rep;
                cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
                cr_assert_eq(no_compare_problem(&p, 128, 0, &rep, err, sizeof err), 0, "%s",
                             err);
                no_spec_describe(&s, desc, sizeof desc);
                for (int i = 0; i < rep.nrows; i++)
                    cr_expect_eq(rep.rows[i].verdict, NO_VERDICT_PASS,
                                 "%s: %s max rel %.3e > tol %.3e: %s", desc, rep.rows[i].name,
                                 rep.rows[i].max_rel, rep.rows[i].tol,
                                 no_verdict_name(rep.rows[i].verdict));
                cr_expect(rep.pass, "%s failed", desc);
                if (c == NO_ACT_HRELU && sc == 0 && adj == 0) {
                    /* the comparison saw every piece of hrelu */
                    no_arrays o;
                    cr_assert_eq(fast_run(&p, &o, err, sizeof err), 0, "%s", err);
                    int cnt[3];
                    count_pieces(&p, &o, cnt);
                    cr_expect(cnt[0] > 0 && cnt[1] > 0 && cnt[2] > 0,
                              "%s: pre-activations per piece %d %d %d", desc, cnt[0], cnt[1],
                              cnt[2]);
                    no_arrays_free(&o);
                }
                no_problem_free(&p);
            }
}

/* ---- homogeneity ------------------------------------------------------------ */

/* V = v_k(Z) (n x D) by fast's mlp field, for p's parameters. */
static void field_eval(const no_problem *p, size_t k, size_t n, const double *Z, double *V)
{
    fast_field_ctx ctx = {.p = p};
    ctx.scratch = malloc(fast_field_mlp.scratch_size(&p->spec, n) * sizeof(double));
    cr_assert_not_null(ctx.scratch);
    fast_field_mlp.eval(&ctx, k, n, Z, V);
    free(ctx.scratch);
}

static void scale(double *v, size_t n, double c)
{
    for (size_t i = 0; i < n; i++)
        v[i] *= c;
}

/* Scaling by 2 is exact in binary floating point, and so are relu and the
 * sums that follow at twice the size: the identities hold bit for bit.
 *   v_(2a, u, b) = 2 v           every activation (linear in a)
 *   v_(a, 2u, 2b) = 2 v          relu only: (u, b) -> relu(u.z + b) is
 *                                positively 1-homogeneous; the others differ
 *                                by more than 1e-3 (the check can tell). */
Test(activations, field_homogeneity)
{
    for (int c = 0; c < NO_ACT_COUNT; c++) {
        no_spec s;
        act_spec(&s, (no_activation)c, NO_SCHEME_EULER, 1, 120);
        s.N = 16; /* points: the data lifted, z_0 = A x, spread by param_scale 2 */
        s.param_scale = 2.0;
        no_problem p;
        char err[256];
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        size_t n = s.N, D = s.D, M = s.M, L = s.L;
        double *Z = calloc(n * D, sizeof *Z), *V = calloc(n * D, sizeof *V),
               *W = calloc(n * D, sizeof *W);
        cr_assert(Z && V && W);
        for (size_t i = 0; i < n; i++)
            for (size_t r = 0; r < D; r++)
                for (size_t q = 0; q < s.d_in; q++)
                    Z[i * D + r] += 2.0 * p.A[r * s.d_in + q] * p.X[i * s.d_in + q];
        for (size_t k = 0; k < L; k++) {
            field_eval(&p, k, n, Z, V);
            scale(p.a, L * M * D, 2.0);
            field_eval(&p, k, n, Z, W);
            scale(p.a, L * M * D, 0.5);
            for (size_t e = 0; e < n * D; e++)
                cr_expect_eq(W[e], 2 * V[e], "%s layer %zu: v_(2a) != 2 v at %zu",
                             no_activation_name(s.activation), k, e);
            scale(p.u, L * M * D, 2.0);
            scale(p.b, L * M, 2.0);
            field_eval(&p, k, n, Z, W);
            scale(p.u, L * M * D, 0.5);
            scale(p.b, L * M, 0.5);
            double dev = 0, nrm = 0;
            for (size_t e = 0; e < n * D; e++) {
                dev = fmax(dev, fabs(W[e] - 2 * V[e]));
                nrm = fmax(nrm, fabs(V[e]));
            }
            if (c == NO_ACT_RELU)
                cr_expect_eq(dev, 0.0, "relu layer %zu: v_(a, 2u, 2b) - 2 v = %.3e", k, dev);
            else
                cr_expect_gt(dev, 1e-3 * nrm, "%s layer %zu: v_(a, 2u, 2b) = 2 v to %.3e",
                             no_activation_name(s.activation), k, dev / nrm);
        }
        free(Z), free(V), free(W);
        no_problem_free(&p);
    }
}

static double dot(const double *x, const double *y, size_t n)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += x[i] * y[i];
    return acc;
}

/* The gradient outputs of a run o of p, as the homogeneity identities see
 * them: ga = <a, dF/da>, gub = <u, dF/du> + <b, dF/db>, and (Euler, m = 1,
 * discrete adjoint) pv = sum_k sum_i p_(k+1)^i . (z_(k+1)^i - z_k^i), which is
 * h sum_k sum_i p_(k+1) . v_k(z_k): the derivative of F along theta -> c theta
 * restricted to a, at c = 1, for a field linear in a. */
static void euler_sums(const no_problem *p, const no_arrays *o, double *ga, double *gub,
                       double *pv, double *mag)
{
    const no_spec *s = &p->spec;
    size_t na = s->L * s->M * s->D, nb = s->L * s->M;
    const no_array *Ga = no_arrays_get(o, "grad_a"), *Gu = no_arrays_get(o, "grad_u"),
                   *Gb = no_arrays_get(o, "grad_b"), *St = no_arrays_get(o, "states"),
                   *Ad = no_arrays_get(o, "adjoint");
    cr_assert(Ga && Gu && Gb && St && Ad);
    *ga = dot(p->a, Ga->v, na);
    *gub = dot(p->u, Gu->v, na) + dot(p->b, Gb->v, nb);
    *pv = 0;
    *mag = 0;
    size_t layer = s->N * s->D;
    for (size_t k = 0; k < s->L; k++)
        for (size_t e = 0; e < layer; e++) {
            double t = Ad->v[(k + 1) * layer + e] * (St->v[(k + 1) * layer + e] -
                                                    St->v[k * layer + e]);
            *pv += t;
            *mag += fabs(t);
        }
    for (size_t e = 0; e < na; e++)
        *mag += fabs(p->a[e] * Ga->v[e]) + fabs(p->u[e] * Gu->v[e]);
}

/* Partial 1-homogeneity (every activation): <a, dF/da> = pv.  Positive
 * 2-homogeneity of relu: <u, dF/du> + <b, dF/db> = <a, dF/da> too, so
 * <theta, dF/dtheta> = 2 pv (Euler's identity; relu'(0) = 0 keeps
 * x relu'(x) = relu(x) at the kink).  For tanh, softplus and hrelu the second
 * identity fails by more than 1e-3.  Checked on ref (128 bits, rounded) and
 * fast, to 1e-12 of the sum of the terms' magnitudes. */
Test(activations, gradient_homogeneity_identities)
{
    for (int c = 0; c < NO_ACT_COUNT; c++) {
        no_spec s;
        act_spec(&s, (no_activation)c, NO_SCHEME_EULER, 1, 130 + (uint64_t)c);
        s.L = 6;
        s.param_scale = 2.0; /* hrelu: pre-activations outside [-1, 1] too */
        no_problem p;
        char err[256];
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        no_arrays o[2];
        no_test_ref_doubles(&p, NULL, 128, &o[0]);
        cr_assert_eq(fast_run(&p, &o[1], err, sizeof err), 0, "%s", err);
        for (int w = 0; w < 2; w++) {
            const char *who = w ? "fast" : "ref";
            double ga, gub, pv, mag;
            euler_sums(&p, &o[w], &ga, &gub, &pv, &mag);
            cr_expect_leq(fabs(ga - pv), 1e-12 * mag, "%s %s: <a, dF/da> = %.17g, pv = %.17g",
                          who, no_activation_name(s.activation), ga, pv);
            if (c == NO_ACT_RELU)
                cr_expect_leq(fabs(gub - ga), 1e-12 * mag,
                              "%s relu: <(u,b), dF/d(u,b)> = %.17g, <a, dF/da> = %.17g", who,
                              gub, ga);
            else
                cr_expect_gt(fabs(gub - ga), 1e-3 * fabs(ga),
                             "%s %s: <(u,b), dF/d(u,b)> = <a, dF/da> = %.6g: looks 2-homogeneous",
                             who, no_activation_name(s.activation), ga);
        }
        no_arrays_free(&o[0]);
        no_arrays_free(&o[1]);
        no_problem_free(&p);
    }
}

/* relu's identity <(u,b), dF/d(u,b)> = <a, dF/da> holds per field evaluation,
 * so for every scheme, substep count and adjoint kind (the continuous and
 * backsolve adjoints accumulate the same per-evaluation terms). */
Test(activations, relu_identity_every_scheme_and_adjoint)
{
    for (int sc = 0; sc < 2; sc++)
        for (int adj = 0; adj < NO_ADJOINT_COUNT; adj++) {
            no_spec s;
            act_spec(&s, NO_ACT_RELU, sc ? NO_SCHEME_RK4 : NO_SCHEME_EULER, 3, 140);
            s.adjoint = (no_adjoint)adj;
            no_problem p;
            char err[256];
            cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
            no_arrays o;
            cr_assert_eq(fast_run(&p, &o, err, sizeof err), 0, "%s", err);
            double ga, gub, pv, mag;
            euler_sums(&p, &o, &ga, &gub, &pv, &mag);
            cr_expect_leq(fabs(gub - ga), 1e-12 * mag, "%s %s: %.17g vs %.17g",
                          no_scheme_name(s.scheme), no_adjoint_name(s.adjoint), gub, ga);
            no_arrays_free(&o);
            no_problem_free(&p);
        }
}

/* ---- names: --activation, problem.json, and an outside candidate ----------- */

Test(activations, names_round_trip)
{
    for (int c = 0; c < NO_ACT_COUNT; c++) {
        const char *name = no_activation_name((no_activation)c);
        cr_assert(name && strcmp(name, "?"), "activation %d has no name", c);
        for (int d = 0; d < c; d++)
            cr_expect(strcmp(name, no_activation_name((no_activation)d)), "duplicate %s", name);
        no_spec s;
        no_spec_default(&s);
        char err[256];
        cr_expect_eq(no_spec_arg(&s, "--family", "mlp", err, sizeof err), 1, "%s", err);
        cr_expect_eq(no_spec_arg(&s, "--activation", name, err, sizeof err), 1, "%s", err);
        cr_expect_eq(s.activation, (no_activation)c, "--activation %s", name);
        no_problem p, q;
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        char dir[PATH_MAX];
        IN_SCRATCH(dir, "names-%s", name);
        cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);
        cr_assert_eq(no_problem_dir_read(dir, &q, err, sizeof err), 0, "%s", err);
        cr_expect_eq(q.spec.activation, (no_activation)c, "problem.json: %s", name);
        no_problem_free(&p);
        no_problem_free(&q);
    }
    no_spec s;
    no_spec_default(&s);
    char err[256] = "";
    cr_expect_eq(no_spec_arg(&s, "--activation", "gelu", err, sizeof err), -1);
    cr_expect(strstr(err, "gelu") != NULL, "'%s'", err);
}

/* Export a candidate for the problem of activation act (sc: rk4 and the
 * discrete adjoint, else euler and the continuous one) with
 * examples/<lang>/export_candidate.py and run `check` on it.  Returns the
 * exporter's status (77: the PyTorch one without torch; nothing checked). */
static int candidate_check(const char *lang, no_activation act, int sc)
{
    char script[PATH_MAX], rel[64];
    snprintf(rel, sizeof rel, "examples/%s/export_candidate.py", lang);
    no_test_repo_path(script, sizeof script, rel);
    no_spec s;
    act_spec(&s, act, sc ? NO_SCHEME_RK4 : NO_SCHEME_EULER, 2, 150 + (uint64_t)act);
    s.adjoint = sc ? NO_ADJOINT_DISCRETE : NO_ADJOINT_CONTINUOUS;
    s.param_scale = 1.5; /* hrelu: pre-activations on both sides of +-1 */
    const char *name = no_activation_name(act);
    no_problem p;
    char err[256], prob[PATH_MAX], cand[PATH_MAX];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(prob, "%s-%s-%d", lang, name, sc);
    IN_SCRATCH(cand, "%s-%s-%d-cand", lang, name, sc);
    if (access(prob, F_OK) != 0)
        cr_assert_eq(no_problem_dir_write(prob, &p, err, sizeof err), 0, "%s", err);
    no_problem_free(&p);
    char cmd[3 * PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s'", PYTHON, script, prob, cand);
    run_result e = run_shell(cmd);
    int st = e.status;
    cr_expect(st == 0 || (st == 77 && !strcmp(lang, "pytorch")), "%s export %s: exit %d: %s",
              lang, name, st, e.err);
    run_free(&e);
    if (st != 0)
        return st;
    run_result r = runf("check --problem '%s' --candidate '%s'", prob, cand);
    cr_expect_eq(r.status, 0, "%s candidate, %s %s: check exit %d\n%s%s", lang, name,
                 no_scheme_name(s.scheme), r.status, r.out, r.err);
    run_free(&r);
    return 0;
}

/* The NumPy example (examples/numpy) exports a candidate that `check`
 * passes for every activation: its activation table matches the contract,
 * kinks and branch conventions included. */
Test(activations, numpy_candidate_passes_check)
{
    cr_assert_eq(access(PYTHON, X_OK), 0, PYTHON " missing (make deps)");
    for (int c = 0; c < NO_ACT_COUNT; c++)
        for (int sc = 0; sc < 2; sc++)
            candidate_check("numpy", (no_activation)c, sc);
}

/* The PyTorch example's hrelu (torch.where over a clamped square, autograd
 * through it) passes too; skipped without python3-torch.  The other
 * activations are test_examples.c's. */
Test(activations, pytorch_candidate_passes_check_hrelu)
{
    cr_assert_eq(access(PYTHON, X_OK), 0, PYTHON " missing (make deps)");
    for (int sc = 0; sc < 2; sc++)
        if (candidate_check("pytorch", NO_ACT_HRELU, sc) == 77)
            cr_skip_test("python3-torch not installed");
}
