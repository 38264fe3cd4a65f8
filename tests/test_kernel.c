/* kernel: the `kernel` family and its RKHS gradient descent (ref/ref_kernel.h,
 * proofs-notes/kernel-gd.md).
 *
 *  identity_every_scheme   with k = k_q (the rff features' kernel), kernel GD
 *                          from v^0 = 0 equals rff GD from W^0 = 0
 *                          (W <- W - eta mgrad_W, mgrad from ref_run) at every
 *                          iterate: loss, outputs and ||G||^2, relative
 *                          difference <= TOL_ID = 1e-33 (about 2^-109) at 128
 *                          bits (measured: <= 3e-37, a few units of 2^-128),
 *                          for every scheme of problem/tableau.c.
 *  identity_detects_factor_2_and_transpose
 *                          rff GD with 2 mgrad, with mgrad^T (q = D), and kernel
 *                          GD with 2 G, each miss the identity by > 1e-6.
 *  descent_matches_gnorm   for Gaussian and Matern kernels (no rff side):
 *                          (F(v^0) - F(v^1))/eta = ||G(v^0)||^2 + O(eta), i.e. the
 *                          gradient is the Riesz representative in our metric.
 *  grad_and_vjp_vs_fd      grad_z k and the expansion's Dv^T w against central
 *                          differences (step 2^-40 at 128 bits: error ~2^-80).
 *  kernels_are_the_mc_mean_of_k_q
 *                          Gaussian and Matern-nu (nu = 1/2 .. 7/2) equal the
 *                          average of k_q over q = 40000 generated Omega rows
 *                          within 5 sigma/sqrt(q) (sigma: the sample standard
 *                          deviation of the q terms); the two wrong scale
 *                          conventions (no sqrt(2 nu); the slides' density,
 *                          k(r/sqrt 2)) and the Gaussian without the 2 fall
 *                          outside it.
 *  refuses_runs_that_do_not_fit
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "ref.h"
#include "ref_kernel.h"
#include "tableau.h"
#include "test_util.h"

#define PREC 128
#define TOL_ID 1e-33
#define ITERS 3

/* A small rff problem: N = 3, D = q = 3 (so that W^T has W's shape), L = 2. */
static void rff_problem_scaled(no_problem *p, no_scheme_id scheme, size_t m, no_kernel kern,
                               uint64_t seed, no_scaling scaling)
{
    no_spec s;
    no_spec_default(&s);
    s.N = 3;
    s.d_in = 2;
    s.d_out = 2;
    s.D = 3;
    s.L = 2;
    s.m = m;
    s.family = NO_FAMILY_RFF;
    s.q = 3;
    s.kernel = kern;
    s.ell = 0.9;
    s.nu = 2.5;
    s.scheme = scheme;
    s.seed = seed;
    s.scaling = scaling;
    char err[256];
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

static void rff_problem(no_problem *p, no_scheme_id scheme, size_t m, no_kernel kern,
                        uint64_t seed)
{
    rff_problem_scaled(p, scheme, m, kern, seed, NO_SCALING_ODE);
}

/* What both sides record per iterate. */
typedef struct {
    mpfr_t F[ITERS + 1], gn2[ITERS];
    mpfr_t out[ITERS + 1][3 * 2];
} traj;

static void traj_init(traj *t)
{
    for (int j = 0; j <= ITERS; j++) {
        mpfr_init2(t->F[j], PREC);
        if (j < ITERS)
            mpfr_init2(t->gn2[j], PREC);
        for (int e = 0; e < 6; e++)
            mpfr_init2(t->out[j][e], PREC);
    }
}

static void traj_clear(traj *t)
{
    for (int j = 0; j <= ITERS; j++) {
        mpfr_clear(t->F[j]);
        if (j < ITERS)
            mpfr_clear(t->gn2[j]);
        for (int e = 0; e < 6; e++)
            mpfr_clear(t->out[j][e]);
    }
}

/* rff GD: W^0 = 0, W^{j+1} = W^j - eta * factor * mgrad_W (transposed per
 * layer when transpose, q = D); gn2 = h sum |mgrad|^2. */
static void rff_gd(const no_problem *p, double eta, int factor, int transpose, traj *t)
{
    ref_model m;
    char err[256];
    cr_assert_eq(ref_model_init(&m, p, PREC, err, sizeof err), 0, "%s", err);
    ref_array *W = ref_model_param(&m, "W");
    size_t D = m.spec.D, q = m.spec.q;
    for (size_t e = 0; e < W->n; e++)
        mpfr_set_zero(W->v[e], 1);
    mpfr_t step, x;
    mpfr_inits2(PREC, step, x, (mpfr_ptr)0);
    mpfr_set_d(step, eta * factor, MPFR_RNDN);
    for (int j = 0; j <= ITERS; j++) {
        ref_result r;
        cr_assert_eq(ref_run(&m, &r, err, sizeof err), 0, "%s", err);
        mpfr_set(t->F[j], ref_result_get(&r, "loss")->v[0], MPFR_RNDN);
        const ref_array *o = ref_result_get(&r, "output");
        for (size_t e = 0; e < o->n; e++)
            mpfr_set(t->out[j][e], o->v[e], MPFR_RNDN);
        if (j < ITERS) {
            const ref_array *g = ref_result_get(&r, "mgrad_W");
            mpfr_set_zero(t->gn2[j], 1);
            for (size_t e = 0; e < g->n; e++)
                mpfr_fma(t->gn2[j], g->v[e], g->v[e], t->gn2[j], MPFR_RNDN);
            mpfr_set_ui(x, (unsigned long)m.spec.L, MPFR_RNDN); /* 1/h */
            if (m.spec.scaling == NO_SCALING_SQRT)
                mpfr_sqrt(x, x, MPFR_RNDN);
            mpfr_div(t->gn2[j], t->gn2[j], x, MPFR_RNDN);
            for (size_t e = 0; e < W->n; e++) {
                size_t src = e;
                if (transpose) { /* layer l, row a, col b <- row b, col a */
                    size_t l = e / (D * q), a = e % (D * q) / q, b = e % q;
                    src = l * D * q + b * q + a;
                }
                mpfr_mul(x, g->v[src], step, MPFR_RNDN);
                mpfr_sub(W->v[e], W->v[e], x, MPFR_RNDN);
            }
        }
        ref_result_clear(&r);
    }
    mpfr_clears(step, x, (mpfr_ptr)0);
    ref_model_clear(&m);
}

static void kernel_gd(const no_problem *p, double eta, traj *t, size_t *centres_last)
{
    ref_model m;
    char err[256];
    cr_assert_eq(ref_model_init(&m, p, PREC, err, sizeof err), 0, "%s", err);
    ref_kernel *k = ref_kernel_features(&m);
    cr_assert(k);
    ref_kernel_trace tr;
    cr_assert_eq(ref_kernel_gd(&m, k, eta, ITERS, 0, &tr, err, sizeof err), 0, "%s", err);
    for (int j = 0; j <= ITERS; j++) {
        mpfr_set(t->F[j], tr.F[j], MPFR_RNDN);
        if (j < ITERS)
            mpfr_set(t->gn2[j], tr.gnorm2[j], MPFR_RNDN);
        for (size_t e = 0; e < 6; e++)
            mpfr_set(t->out[j][e], tr.output.v[j * 6 + e], MPFR_RNDN);
    }
    if (centres_last)
        *centres_last = tr.centres[ITERS];
    ref_kernel_trace_clear(&tr);
    ref_kernel_free(k);
    ref_model_clear(&m);
}

static double rel(mpfr_t a, mpfr_t b)
{
    mpfr_t d;
    mpfr_init2(d, PREC);
    mpfr_sub(d, a, b, MPFR_RNDN);
    double num = fabs(mpfr_get_d(d, MPFR_RNDN)), den = fabs(mpfr_get_d(b, MPFR_RNDN));
    mpfr_clear(d);
    return num / (den > 1e-300 ? den : 1e-300);
}

/* The largest relative difference of loss, outputs (relative to the largest
 * output) and ||G||^2 over all iterates. */
static double traj_diff(traj *a, traj *b)
{
    double worst = 0;
    for (int j = 0; j <= ITERS; j++) {
        double r = rel(a->F[j], b->F[j]), omax = 0;
        worst = fmax(worst, r);
        if (j < ITERS)
            worst = fmax(worst, rel(a->gn2[j], b->gn2[j]));
        for (int e = 0; e < 6; e++)
            omax = fmax(omax, fabs(mpfr_get_d(b->out[j][e], MPFR_RNDN)));
        for (int e = 0; e < 6; e++) {
            mpfr_t x;
            mpfr_init2(x, PREC);
            mpfr_sub(x, a->out[j][e], b->out[j][e], MPFR_RNDN);
            worst = fmax(worst, fabs(mpfr_get_d(x, MPFR_RNDN)) / omax);
            mpfr_clear(x);
        }
    }
    return worst;
}

Test(kernel, identity_every_scheme, .timeout = NO_TEST_TIMEOUT_S)
{
    double worst_all = 0;
    /* every scheme, then Euler once more with scaling sqrt (h = 1/sqrt(L)) */
    for (int sc = 0; sc <= NO_SCHEME_COUNT; sc++) {
        no_problem p;
        size_t m = sc == NO_SCHEME_EULER || sc == NO_SCHEME_RK4 ? 2 : 1;
        int sq = sc == NO_SCHEME_COUNT;
        rff_problem_scaled(&p, sq ? NO_SCHEME_EULER : (no_scheme_id)sc, m,
                           sc % 2 ? NO_KERNEL_MATERN : NO_KERNEL_GAUSSIAN, 40 + (uint64_t)sc,
                           sq ? NO_SCALING_SQRT : NO_SCALING_ODE);
        no_scheme_id id = sq ? NO_SCHEME_EULER : (no_scheme_id)sc;
        const char *name = sq ? "euler (scaling sqrt)" : no_tableau_of(id)->name;
        traj a, b;
        traj_init(&a);
        traj_init(&b);
        size_t centres = 0;
        kernel_gd(&p, 1.0, &a, &centres);
        rff_gd(&p, 1.0, 1, 0, &b);
        double d = traj_diff(&a, &b);
        size_t S = (size_t)no_tableau_of(id)->stages;
        cr_expect_eq(centres, ITERS * p.spec.N * p.spec.L * m * S, "%s: %zu centres",
                     name, centres);
        cr_expect(d <= TOL_ID, "%s m=%zu: kernel GD vs rff GD differ by %.3g > %.0e",
                  name, m, d, TOL_ID);
        /* the run must move: F decreases from F(0) */
        cr_expect(mpfr_less_p(a.F[ITERS], a.F[0]), "%s: no descent",
                  name);
        cr_log_info("kernel identity %-20s m=%zu: max rel diff %.3g, F %.6g -> %.6g, %zu centres",
                    name, m, d, mpfr_get_d(a.F[0], MPFR_RNDN),
                    mpfr_get_d(a.F[ITERS], MPFR_RNDN), centres);
        worst_all = fmax(worst_all, d);
        traj_clear(&a);
        traj_clear(&b);
        no_problem_free(&p);
    }
    cr_log_info("kernel identity: worst over all schemes %.3g (tolerance %.0e)", worst_all,
                TOL_ID);
}

Test(kernel, identity_detects_factor_2_and_transpose, .timeout = NO_TEST_TIMEOUT_S)
{
    no_scheme_id sch[2] = {NO_SCHEME_EULER, NO_SCHEME_RK4};
    for (int i = 0; i < 2; i++) {
        no_problem p;
        rff_problem(&p, sch[i], 1, NO_KERNEL_GAUSSIAN, 7);
        traj k1, k2, r2, rt;
        traj_init(&k1);
        traj_init(&k2);
        traj_init(&r2);
        traj_init(&rt);
        kernel_gd(&p, 1.0, &k1, NULL);
        kernel_gd(&p, 2.0, &k2, NULL); /* kernel side's G times 2 */
        rff_gd(&p, 1.0, 2, 0, &r2);    /* rff side's mgrad times 2 */
        rff_gd(&p, 1.0, 1, 1, &rt);    /* rff side's mgrad transposed */
        traj rr; /* the unperturbed rff side, for k2 */
        traj_init(&rr);
        rff_gd(&p, 1.0, 1, 0, &rr);
        double d2r = traj_diff(&k1, &r2), d2k = traj_diff(&k2, &rr), dt = traj_diff(&k1, &rt);
        cr_expect(d2r > 1e-6 && d2k > 1e-6 && dt > 1e-6,
                  "%s: perturbations not detected: 2 mgrad %.3g, 2 G %.3g, mgrad^T %.3g",
                  no_tableau_of(sch[i])->name, d2r, d2k, dt);
        cr_log_info("kernel perturbations %s: 2 mgrad %.3g, 2 G %.3g, mgrad^T %.3g (tol %.0e)",
                    no_tableau_of(sch[i])->name, d2r, d2k, dt, TOL_ID);
        traj_clear(&k1);
        traj_clear(&k2);
        traj_clear(&r2);
        traj_clear(&rt);
        traj_clear(&rr);
        no_problem_free(&p);
    }
}

/* F(v^1) - F(v^0) = -eta ||G(v^0)||^2 + O(eta^2): the recorded ||G||^2 is
 * the derivative of F along -G in our metric, so G is dF's representative
 * (a factor 2, h or a transposition in G would break it). */
Test(kernel, descent_matches_gnorm, .timeout = NO_TEST_TIMEOUT_S)
{
    struct {
        no_scheme_id sc;
        size_t m;
        int matern;
        double nu;
    } cs[] = {{NO_SCHEME_EULER, 2, 0, 0},
              {NO_SCHEME_RK4, 1, 1, 2.5},
              {NO_SCHEME_DOPRI5, 1, 1, 0.5},
              {NO_SCHEME_HEUN, 1, 1, 3.5}};
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
        no_problem p;
        rff_problem(&p, cs[c].sc, cs[c].m, NO_KERNEL_GAUSSIAN, 11 + c);
        ref_model m;
        char err[256];
        cr_assert_eq(ref_model_init(&m, &p, PREC, err, sizeof err), 0, "%s", err);
        ref_kernel *k = cs[c].matern ? ref_kernel_matern(3, cs[c].nu, PREC)
                                     : ref_kernel_gaussian(3, 0.9, PREC);
        cr_assert(k);
        /* At v^0 = 0 (the expansion's vjp, zero there, is checked by
         * grad_and_vjp_vs_fd): O(eta) = 1e-12 relative. */
        double eta = 1e-12;
        ref_kernel_trace tr;
        cr_assert_eq(ref_kernel_gd(&m, k, eta, 1, 0, &tr, err, sizeof err), 0, "%s", err);
        mpfr_t d;
        mpfr_init2(d, PREC);
        mpfr_sub(d, tr.F[0], tr.F[1], MPFR_RNDN);
        mpfr_div_d(d, d, eta, MPFR_RNDN);
        double r = rel(d, tr.gnorm2[0]);
        cr_expect(r < 1e-9, "case %zu: secant %.17g vs ||G||^2 %.17g (rel %.3g)", c,
                  mpfr_get_d(d, MPFR_RNDN), mpfr_get_d(tr.gnorm2[0], MPFR_RNDN), r);
        cr_log_info("kernel descent case %zu (%s): ||G||^2 %.10g, secant rel diff %.3g", c,
                    no_tableau_of(cs[c].sc)->name, mpfr_get_d(tr.gnorm2[0], MPFR_RNDN), r);
        mpfr_clear(d);
        ref_kernel_trace_clear(&tr);
        ref_kernel_free(k);
        ref_model_clear(&m);
        no_problem_free(&p);
    }
}

/* grad_z k(z, c) and Dv(z)^T w of a GD-built expansion, against central
 * differences with step 2^-40 at 128 bits (truncation ~2^-80). */
Test(kernel, grad_and_vjp_vs_fd, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p;
    rff_problem(&p, NO_SCHEME_MIDPOINT, 1, NO_KERNEL_GAUSSIAN, 5);
    ref_model m;
    char err[256];
    cr_assert_eq(ref_model_init(&m, &p, PREC, err, sizeof err), 0, "%s", err);
    double z0[3] = {0.3, -0.7, 0.45}, c0[3] = {-0.2, 0.1, 0.9}, w0[3] = {0.8, -0.3, 0.5};
    mpfr_t z[3], c[3], w[3], g[3], v1[3], v2[3], kp, km, fd, x;
    for (int d = 0; d < 3; d++) {
        mpfr_inits2(PREC, z[d], c[d], w[d], g[d], v1[d], v2[d], (mpfr_ptr)0);
        mpfr_set_d(z[d], z0[d], MPFR_RNDN);
        mpfr_set_d(c[d], c0[d], MPFR_RNDN);
        mpfr_set_d(w[d], w0[d], MPFR_RNDN);
    }
    mpfr_inits2(PREC, kp, km, fd, x, (mpfr_ptr)0);
    for (int kind = 0; kind < 6; kind++) {
        ref_kernel *k = kind == 0   ? ref_kernel_gaussian(3, 0.9, PREC)
                        : kind == 5 ? ref_kernel_features(&m)
                                    : ref_kernel_matern(3, kind - 0.5, PREC);
        cr_assert(k);
        double worst = 0;
        /* the kernel's gradient */
        ref_kernel_grad(k, g, z, c);
        for (int d = 0; d < 3; d++) {
            mpfr_set(x, z[d], MPFR_RNDN);
            mpfr_add_d(z[d], x, 0x1p-40, MPFR_RNDN);
            ref_kernel_eval(k, kp, z, c);
            mpfr_sub_d(z[d], x, 0x1p-40, MPFR_RNDN);
            ref_kernel_eval(k, km, z, c);
            mpfr_set(z[d], x, MPFR_RNDN);
            mpfr_sub(fd, kp, km, MPFR_RNDN);
            mpfr_mul_2si(fd, fd, 39, MPFR_RNDN);
            mpfr_sub(fd, fd, g[d], MPFR_RNDN);
            worst = fmax(worst, fabs(mpfr_get_d(fd, MPFR_RNDN)));
        }
        /* the expansion's vjp: w . v(z +- e_d delta) against (Dv^T w)_d */
        ref_kernel_trace tr;
        cr_assert_eq(ref_kernel_gd(&m, k, 1.0, 2, 0, &tr, err, sizeof err), 0, "%s", err);
        for (size_t l = 0; l < m.spec.L; l++) {
            cr_assert_gt(ref_kernel_expansion_count(tr.v, l), 0);
            ref_kernel_expansion_vjp(tr.v, l, z, w, g);
            for (int d = 0; d < 3; d++) {
                mpfr_set(x, z[d], MPFR_RNDN);
                mpfr_add_d(z[d], x, 0x1p-40, MPFR_RNDN);
                ref_kernel_expansion_eval(tr.v, l, z, v1);
                mpfr_sub_d(z[d], x, 0x1p-40, MPFR_RNDN);
                ref_kernel_expansion_eval(tr.v, l, z, v2);
                mpfr_set(z[d], x, MPFR_RNDN);
                mpfr_set_zero(fd, 1);
                for (int e = 0; e < 3; e++) {
                    mpfr_sub(kp, v1[e], v2[e], MPFR_RNDN);
                    mpfr_fma(fd, kp, w[e], fd, MPFR_RNDN);
                }
                mpfr_mul_2si(fd, fd, 39, MPFR_RNDN);
                mpfr_sub(fd, fd, g[d], MPFR_RNDN);
                worst = fmax(worst, fabs(mpfr_get_d(fd, MPFR_RNDN)));
            }
        }
        cr_expect(worst < 1e-20, "kernel kind %d: gradient vs central differences %.3g", kind,
                  worst);
        cr_log_info("kernel kind %d: grad and vjp vs central differences %.3g", kind, worst);
        ref_kernel_trace_clear(&tr);
        ref_kernel_free(k);
    }
    for (int d = 0; d < 3; d++)
        mpfr_clears(z[d], c[d], w[d], g[d], v1[d], v2[d], (mpfr_ptr)0);
    mpfr_clears(kp, km, fd, x, (mpfr_ptr)0);
    ref_model_clear(&m);
    no_problem_free(&p);
}

Test(kernel, refuses_runs_that_do_not_fit)
{
    no_problem p;
    rff_problem(&p, NO_SCHEME_DOPRI5, 1, NO_KERNEL_GAUSSIAN, 3);
    ref_model m;
    char err[256];
    cr_assert_eq(ref_model_init(&m, &p, PREC, err, sizeof err), 0, "%s", err);
    ref_kernel *k = ref_kernel_gaussian(3, 1.0, PREC);
    ref_kernel_trace tr;
    /* 1000 steps of N = 3, L = 2, 6 stages: 36000 centres; limit 1 MB */
    cr_assert_eq(ref_kernel_gd(&m, k, 0.1, 1000, 1e6, &tr, err, sizeof err), -1);
    cr_expect(strstr(err, "36000 centres") != NULL, "%s", err);
    cr_log_info("kernel refusal: %s", err);
    /* zero steps: v^0 = 0, no centres, F(0) recorded */
    cr_assert_eq(ref_kernel_gd(&m, k, 0.1, 0, 0, &tr, err, sizeof err), 0, "%s", err);
    cr_expect_eq(tr.centres[0], 0);
    cr_expect(mpfr_number_p(tr.F[0]) && mpfr_sgn(tr.F[0]) > 0);
    ref_kernel_trace_clear(&tr);
    double need = ref_kernel_gd_memory(&m, k, 1000);
    cr_expect(need > 1e6 && need < 1e8, "estimate %.3g", need);
    ref_kernel_free(k);
    ref_model_clear(&m);
    no_problem_free(&p);
}

/* The kernel k against the Monte Carlo mean of k_q(z, z') = phi(z).phi(z')
 * over q generated rows (problem/generate.c: the rff sampler of the
 * kernel): the q terms 2 cos(w.z + b) cos(w.z' + b) are i.i.d. with mean
 * k(z - z') (generator.md section 4), so the mean is within 5 sigma/sqrt(q)
 * of k (sigma the sample standard deviation).  The same bound rejects the
 * wrong scale conventions. */
#define MC_Q 40000

static void mc_case(no_kernel kern, double nu_or_ell)
{
    no_spec s;
    no_spec_default(&s);
    s.N = 1;
    s.d_in = 1;
    s.d_out = 1;
    s.D = 3;
    s.L = 1;
    s.family = NO_FAMILY_RFF;
    s.q = MC_Q;
    s.kernel = kern;
    if (kern == NO_KERNEL_MATERN)
        s.nu = nu_or_ell;
    else
        s.ell = nu_or_ell;
    s.seed = 2024;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_model m;
    cr_assert_eq(ref_model_init(&m, &p, 64, err, sizeof err), 0, "%s", err);
    ref_kernel *kq = ref_kernel_features(&m);
    ref_kernel *k = kern == NO_KERNEL_MATERN ? ref_kernel_matern(3, nu_or_ell, 64)
                                             : ref_kernel_gaussian(3, nu_or_ell, 64);
    cr_assert(kq && k);
    const double dir[3] = {0.48, -0.6, 0.64}, z0[3] = {0.1, 0.25, -0.3}; /* |dir| = 1 */
    const double rs[3] = {0.3, 0.8, 1.6};
    mpfr_t z[3], c[3], kv, kqv;
    for (int d = 0; d < 3; d++)
        mpfr_inits2(64, z[d], c[d], (mpfr_ptr)0);
    mpfr_inits2(64, kv, kqv, (mpfr_ptr)0);
    for (int d = 0; d < 3; d++)
        mpfr_set_d(z[d], z0[d], MPFR_RNDN);
    for (int ri = 0; ri < 3; ri++) {
        double r = rs[ri], zc[3], mean = 0, m2 = 0;
        for (int d = 0; d < 3; d++)
            zc[d] = z0[d] + r * dir[d];
        for (size_t j = 0; j < MC_Q; j++) { /* Welford */
            const double *w = p.Omega + 3 * j;
            double a = w[0] * z0[0] + w[1] * z0[1] + w[2] * z0[2] + p.beta[j];
            double b = w[0] * zc[0] + w[1] * zc[1] + w[2] * zc[2] + p.beta[j];
            double t = 2 * cos(a) * cos(b), dl = t - mean;
            mean += dl / (double)(j + 1);
            m2 += dl * (t - mean);
        }
        double sigma = sqrt(m2 / (MC_Q - 1)), tol = 5 * sigma / sqrt((double)MC_Q);
        /* the reference's k_q is the same mean (double sum vs MPFR: 1e-9) */
        for (int d = 0; d < 3; d++)
            mpfr_set_d(c[d], zc[d], MPFR_RNDN);
        ref_kernel_eval(kq, kqv, z, c);
        cr_expect(fabs(mpfr_get_d(kqv, MPFR_RNDN) - mean) < 1e-9, "k_q %.17g vs mean %.17g",
                  mpfr_get_d(kqv, MPFR_RNDN), mean);
        /* k at distance r, and the wrong conventions as k at another distance:
         * no sqrt(2 nu) is k(r / sqrt(2 nu)); the slides' density (w/sqrt 2)
         * is k(r / sqrt 2); the Gaussian without the 2 is k(r sqrt 2). */
        double alt[2], nalt = 0;
        if (kern == NO_KERNEL_MATERN) {
            if (nu_or_ell > 0.5)
                alt[(int)nalt++] = r / sqrt(2 * nu_or_ell);
            alt[(int)nalt++] = r / sqrt(2.0);
        } else {
            alt[(int)nalt++] = r * sqrt(2.0);
        }
        double kr = 0;
        for (int a = -1; a < nalt; a++) {
            double ra = a < 0 ? r : alt[a];
            for (int d = 0; d < 3; d++)
                mpfr_set_d(c[d], z0[d] + ra * dir[d], MPFR_RNDN);
            ref_kernel_eval(k, kv, z, c);
            double kval = mpfr_get_d(kv, MPFR_RNDN);
            if (a < 0) {
                kr = kval;
                cr_expect(fabs(kval - mean) <= tol,
                          "%s %g r=%g: k = %.6f, MC mean %.6f +- %.4f (5 sigma/sqrt q)",
                          no_kernel_name(kern), nu_or_ell, r, kval, mean, tol);
            } else {
                cr_expect(fabs(kval - mean) > tol,
                          "%s %g r=%g: wrong convention %d (%.6f) not rejected: mean %.6f +- %.4f",
                          no_kernel_name(kern), nu_or_ell, r, a, kval, mean, tol);
            }
        }
        cr_log_info("kernel mc %s %g r=%.1f: k %.5f, mean of k_q %.5f, |diff| %.2g, tol %.3g",
                    no_kernel_name(kern), nu_or_ell, r, kr, mean, fabs(kr - mean), tol);
    }
    for (int d = 0; d < 3; d++)
        mpfr_clears(z[d], c[d], (mpfr_ptr)0);
    mpfr_clears(kv, kqv, (mpfr_ptr)0);
    ref_kernel_free(k);
    ref_kernel_free(kq);
    ref_model_clear(&m);
    no_problem_free(&p);
}

Test(kernel, kernels_are_the_mc_mean_of_k_q, .timeout = NO_TEST_TIMEOUT_S)
{
    mc_case(NO_KERNEL_GAUSSIAN, 0.8);
    for (int p = 0; p < 4; p++)
        mc_case(NO_KERNEL_MATERN, p + 0.5);
}
