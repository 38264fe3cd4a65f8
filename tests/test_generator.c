/* generator: the seeded, platform-independent generator (problem/rng.c,
 * problem/generate.c).
 *
 * Determinism and stream independence are exact (bitwise) properties.  The
 * lifting A and read-out B are checked for orthonormality to 1e-15 (derived
 * below).  The samplers are checked statistically: a sample statistic T of n
 * i.i.d. draws with known mean mu and standard error se must satisfy
 * |T - mu| <= 5 se.  With a fixed seed the draws are deterministic, so these
 * tests cannot flake; the 5-sigma width (two-sided normal tail 5.7e-7) is what
 * makes them meaningful for any seed a future change might pick, while any
 * bias larger than ~5 se (e.g. a wrong variance, a missing sqrt(2 nu/chi2)
 * factor, a modulo bias) is caught. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "rng.h"
#include "test_util.h"

#define NSIGMA 5.0
static const double PI = 3.14159265358979323846;

/* The arrays of a problem and their element counts (problem.h layout). */
#define NARR 10
static void arrays_of(const no_problem *p, const double *v[NARR], size_t n[NARR])
{
    const no_spec *s = &p->spec;
    int rff = s->family == NO_FAMILY_RFF, mlp = s->family == NO_FAMILY_MLP;
    const double *a[NARR] = {p->X, p->Y, p->A, p->B, p->Omega, p->beta, p->W, p->a, p->u, p->b};
    size_t c[NARR] = {s->N * s->d_in,
                      s->N * s->d_out,
                      s->D * s->d_in,
                      s->d_out * s->D,
                      rff ? s->q * s->D : 0,
                      rff ? s->q : 0,
                      mlp ? 0 : s->L * s->D * (rff ? s->q : s->D),
                      mlp ? s->L * s->M * s->D : 0,
                      mlp ? s->L * s->M * s->D : 0,
                      mlp ? s->L * s->M : 0};
    memcpy(v, a, sizeof a);
    memcpy(n, c, sizeof c);
}
static const char *const arr_name[NARR] = {"X", "Y", "A", "B", "Omega", "beta", "W", "a", "u", "b"};

static void gen(no_problem *p, const no_spec *s)
{
    char err[256];
    cr_assert_eq(no_problem_generate(p, s, err, sizeof err), 0, "%s", err);
}

/* Bitwise equality of the first n doubles (memcmp: -0 and +0 differ, and a
 * NaN equals itself, as reproducibility demands). */
static int same_bits(const double *x, const double *y, size_t n)
{
    return n == 0 || (x && y && !memcmp(x, y, n * sizeof(double)));
}

/* Same spec and seed twice: every array bit-identical, for every variant. */
Test(generator, same_seed_same_bits)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        no_spec s;
        no_test_spec(&s, v, NO_SCHEME_RK4, 2, 12345);
        no_problem p, q;
        gen(&p, &s);
        gen(&q, &s);
        const double *a[NARR], *b[NARR];
        size_t n[NARR], m[NARR];
        arrays_of(&p, a, n);
        arrays_of(&q, b, m);
        for (int i = 0; i < NARR; i++) {
            cr_expect_eq(n[i] == 0, a[i] == NULL, "%s: %s allocation does not match its use",
                         no_test_variant_name(v), arr_name[i]);
            cr_expect(same_bits(a[i], b[i], n[i]), "%s: %s differs between two runs",
                      no_test_variant_name(v), arr_name[i]);
        }
        no_problem_free(&p);
        no_problem_free(&q);
    }
}

/* Different seeds: every random array differs; A and B (deterministic
 * liftings, independent of the seed) do not. */
Test(generator, different_seeds_differ)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        no_spec s, t;
        no_test_spec(&s, v, NO_SCHEME_EULER, 1, 1);
        t = s;
        t.seed = 2;
        no_problem p, q;
        gen(&p, &s);
        gen(&q, &t);
        const double *a[NARR], *b[NARR];
        size_t n[NARR];
        arrays_of(&p, a, n);
        arrays_of(&q, b, n);
        for (int i = 0; i < NARR; i++) {
            if (!n[i])
                continue;
            int same = same_bits(a[i], b[i], n[i]);
            if (i == 2 || i == 3)
                cr_expect(same, "%s: %s depends on the seed", no_test_variant_name(v),
                          arr_name[i]);
            else
                cr_expect(!same, "%s: %s identical for seeds 1 and 2", no_test_variant_name(v),
                          arr_name[i]);
        }
        no_problem_free(&p);
        no_problem_free(&q);
    }
    /* Neighbouring seeds must not give shifted copies of one stream. */
    no_rng r1, r2;
    no_rng_init(&r1, 1, NO_STREAM_X);
    no_rng_init(&r2, 2, NO_STREAM_X);
    uint64_t x1[8], x2[8];
    for (int i = 0; i < 8; i++) {
        x1[i] = no_rng_next(&r1);
        x2[i] = no_rng_next(&r2);
    }
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            cr_expect_neq(x1[i], x2[j], "seed 1 draw %d equals seed 2 draw %d", i, j);
}

/* One stream per array (rng.h): changing a size leaves every array that does
 * not depend on it bit-identical, and arrays that only grow keep their prefix
 * (each stream is consumed in row-major order). */
Test(generator, stream_independence)
{
    no_spec s;
    no_test_spec(&s, 1, NO_SCHEME_EULER, 1, 7); /* rff gaussian */
    no_problem p;
    gen(&p, &s);

    /* L: X, Y, Omega, beta unchanged; W of the common layers unchanged. */
    no_spec t = s;
    t.L = s.L + 1;
    no_problem q;
    gen(&q, &t);
    cr_expect(same_bits(p.X, q.X, s.N * s.d_in), "X depends on L");
    cr_expect(same_bits(p.Y, q.Y, s.N * s.d_out), "Y depends on L");
    cr_expect(same_bits(p.Omega, q.Omega, s.q * s.D), "Omega depends on L");
    cr_expect(same_bits(p.beta, q.beta, s.q), "beta depends on L");
    cr_expect(same_bits(p.W, q.W, s.L * s.D * s.q), "W's first L layers depend on L");
    no_problem_free(&q);

    /* q: X, Y unchanged (Omega, beta, W change shape). */
    t = s;
    t.q = s.q + 3;
    gen(&q, &t);
    cr_expect(same_bits(p.X, q.X, s.N * s.d_in), "X depends on q");
    cr_expect(same_bits(p.Y, q.Y, s.N * s.d_out), "Y depends on q");
    /* Omega rows are drawn one after another: the first q rows are kept. */
    cr_expect(same_bits(p.Omega, q.Omega, s.q * s.D), "Omega's first rows depend on q");
    cr_expect(same_bits(p.beta, q.beta, s.q), "beta's first entries depend on q");
    no_problem_free(&q);

    /* N: the first N points are kept; parameters unchanged. */
    t = s;
    t.N = s.N + 1;
    gen(&q, &t);
    cr_expect(same_bits(p.X, q.X, s.N * s.d_in), "X's first points depend on N");
    cr_expect(same_bits(p.Y, q.Y, s.N * s.d_out), "Y's first points depend on N");
    cr_expect(same_bits(p.Omega, q.Omega, s.q * s.D), "Omega depends on N");
    cr_expect(same_bits(p.W, q.W, s.L * s.D * s.q), "W depends on N");
    no_problem_free(&q);

    /* Scheme, substeps, adjoint kind: nothing drawn depends on them. */
    t = s;
    t.scheme = NO_SCHEME_RK4;
    t.m = 4;
    t.adjoint = NO_ADJOINT_CONTINUOUS;
    gen(&q, &t);
    const double *a[NARR], *b[NARR];
    size_t n[NARR];
    arrays_of(&p, a, n);
    arrays_of(&q, b, n);
    for (int i = 0; i < NARR; i++)
        cr_expect(same_bits(a[i], b[i], n[i]), "%s depends on scheme/m/adjoint", arr_name[i]);
    no_problem_free(&q);
    no_problem_free(&p);

    /* mlp: M leaves the data alone. */
    no_test_spec(&s, 3, NO_SCHEME_EULER, 1, 7);
    gen(&p, &s);
    t = s;
    t.M = s.M + 2;
    gen(&q, &t);
    cr_expect(same_bits(p.X, q.X, s.N * s.d_in), "X depends on M");
    cr_expect(same_bits(p.Y, q.Y, s.N * s.d_out), "Y depends on M");
    no_problem_free(&q);
    no_problem_free(&p);
}

/* param_scale multiplies the trained parameters' scale: doubling it doubles
 * W (linear, rff) and a (mlp) bit for bit (scaling by 2 is exact, and
 * fl(2 s / sqrt D) = 2 fl(s / sqrt D)), and changes nothing else. */
Test(generator, param_scale_is_an_exact_scale)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        no_spec s, t;
        no_test_spec(&s, v, NO_SCHEME_EULER, 1, 3);
        t = s;
        t.param_scale = 2.0;
        no_problem p, q;
        gen(&p, &s);
        gen(&q, &t);
        double *w1 = s.family == NO_FAMILY_MLP ? p.a : p.W;
        double *w2 = s.family == NO_FAMILY_MLP ? q.a : q.W;
        size_t n = s.family == NO_FAMILY_MLP ? s.L * s.M * s.D
                                             : s.L * s.D * (s.family == NO_FAMILY_RFF ? s.q : s.D);
        for (size_t e = 0; e < n; e++)
            cr_expect_eq(w2[e], 2.0 * w1[e], "%s: element %zu", no_test_variant_name(v), e);
        if (s.family == NO_FAMILY_MLP) {
            cr_expect(same_bits(p.u, q.u, n), "%s: u depends on param_scale",
                      no_test_variant_name(v));
            cr_expect(same_bits(p.b, q.b, s.L * s.M), "%s: b depends on param_scale",
                      no_test_variant_name(v));
        }
        if (s.family == NO_FAMILY_RFF)
            cr_expect(same_bits(p.Omega, q.Omega, s.q * s.D));
        no_problem_free(&p);
        no_problem_free(&q);
    }
}

/* A^T A = I (d_in x d_in) and B B^T = I (d_out x d_out), including sizes
 * where d_in or d_out does not divide D.  Off-diagonal entries are exactly 0
 * (the columns of A have disjoint supports).  A diagonal entry is
 * n_c fl(fl(1/fl(sqrt n_c)))^2 summed in n_c terms: each entry of A is within
 * 2u (relative) of 1/sqrt(n_c), its square within ~5u, and the sum of
 * n_c <= 3 terms adds <= 2u, so |diag - 1| <= ~7u = 7.8e-16 < 1e-15.  The
 * pattern is also checked: A = I when D = d_in, and every entry is 0 or
 * 1/sqrt(n). */
Test(generator, lifting_and_readout_orthonormal)
{
    const size_t dims[][3] = {/* D, d_in, d_out; D/d <= 3 */
                              {3, 2, 2}, {4, 2, 2}, {5, 2, 3}, {5, 3, 2}, {7, 3, 3},
                              {6, 6, 6}, {3, 1, 3}, {3, 3, 1}, {8, 3, 5}, {9, 4, 4}};
    for (size_t t = 0; t < sizeof dims / sizeof dims[0]; t++) {
        no_spec s;
        no_spec_default(&s);
        s.D = dims[t][0];
        s.d_in = dims[t][1];
        s.d_out = dims[t][2];
        no_problem p;
        gen(&p, &s);
        size_t D = s.D;
        double worst = 0;
        for (size_t i = 0; i < s.d_in; i++)
            for (size_t j = 0; j < s.d_in; j++) {
                double g = 0;
                for (size_t r = 0; r < D; r++)
                    g += p.A[r * s.d_in + i] * p.A[r * s.d_in + j];
                if (i != j)
                    cr_expect_eq(g, 0.0, "D=%zu d_in=%zu: (A^T A)[%zu][%zu] = %g", D, s.d_in, i,
                                 j, g);
                else
                    worst = fmax(worst, fabs(g - 1));
            }
        cr_expect_leq(worst, 1e-15, "D=%zu d_in=%zu: |A^T A - I| = %g", D, s.d_in, worst);
        worst = 0;
        for (size_t i = 0; i < s.d_out; i++)
            for (size_t j = 0; j < s.d_out; j++) {
                double g = 0;
                for (size_t r = 0; r < D; r++)
                    g += p.B[i * D + r] * p.B[j * D + r];
                if (i != j)
                    cr_expect_eq(g, 0.0, "D=%zu d_out=%zu: (B B^T)[%zu][%zu] = %g", D, s.d_out,
                                 i, j, g);
                else
                    worst = fmax(worst, fabs(g - 1));
            }
        cr_expect_leq(worst, 1e-15, "D=%zu d_out=%zu: |B B^T - I| = %g", D, s.d_out, worst);
        if (D == s.d_in)
            for (size_t r = 0; r < D; r++)
                for (size_t c = 0; c < D; c++)
                    cr_expect_eq(p.A[r * D + c], r == c ? 1.0 : 0.0, "D = d_in: A is not I");
        no_problem_free(&p);
    }
}

/* n standard normals: the sample mean has standard error 1/sqrt(n) and the
 * sample variance (for normal data) sqrt(2/n); both within 5 se.  The third
 * and fourth moments (0 and 3, standard errors sqrt(15/n) and sqrt(96/n))
 * catch a wrong shape (e.g. uniforms scaled to variance 1). */
Test(generator, normal_moments)
{
    const size_t n = 200000;
    no_rng r;
    no_rng_init(&r, 2024, NO_STREAM_TEST);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    for (size_t i = 0; i < n; i++) {
        double x = no_rng_normal(&r);
        cr_assert(isfinite(x));
        s1 += x;
        s2 += x * x;
        s3 += x * x * x;
        s4 += x * x * x * x;
    }
    double mean = s1 / n, var = (s2 - n * mean * mean) / (n - 1);
    double m3 = s3 / n, m4 = s4 / n;
    cr_log_info("normals: mean %.3g var %.5f m3 %.3g m4 %.4f", mean, var, m3, m4);
    cr_expect_leq(fabs(mean), NSIGMA / sqrt((double)n), "mean %g", mean);
    cr_expect_leq(fabs(var - 1), NSIGMA * sqrt(2.0 / n), "variance %g", var);
    cr_expect_leq(fabs(m3), NSIGMA * sqrt(15.0 / n), "third moment %g", m3);
    cr_expect_leq(fabs(m4 - 3), NSIGMA * sqrt(96.0 / n), "fourth moment %g", m4);
}

/* Mean of x and its standard error estimated from the sample itself. */
static void sample_mean_se(const double *x, size_t n, double *mean, double *se)
{
    double s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s1 += x[i];
        s2 += x[i] * x[i];
    }
    *mean = s1 / n;
    *se = sqrt((s2 / n - *mean * *mean) / (n - 1));
}

/* Matern Omega rows (SPEC 2): multivariate Student-t with 2 nu dof and unit
 * scale, w = g sqrt(2 nu / chi2_{2 nu}).  For nu = 3.5: E w_1^2 = nu/(nu-1);
 * the standard error of the sample mean of w_1^2 is sqrt(Var(w_1^2)/q) with
 * Var(w_1^2) = E w_1^4 - (E w_1^2)^2 estimated from the sample's own 4th
 * moment (finite: 2 nu = 7 > 4).  A univariate t with nu dof (the slides'
 * "/nu" convention) would give E w^2 = nu/(nu-2) = 2.33 instead of 1.4. */
Test(generator, matern_student_t_second_moment)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_RFF;
    s.kernel = NO_KERNEL_MATERN;
    s.nu = 3.5;
    s.N = 1;
    s.d_in = s.d_out = 1;
    s.D = 2;
    s.L = 1;
    s.q = 100000;
    s.seed = 99;
    no_problem p;
    gen(&p, &s);
    double *w2 = malloc(s.q * sizeof *w2);
    cr_assert_not_null(w2);
    for (size_t j = 0; j < s.q; j++)
        w2[j] = p.Omega[j * s.D] * p.Omega[j * s.D];
    double mean, se;
    sample_mean_se(w2, s.q, &mean, &se);
    double expect = s.nu / (s.nu - 1);
    cr_log_info("matern nu=3.5: E w1^2 = %.5f +- %.5f (expected %.5f)", mean, se, expect);
    cr_expect_leq(fabs(mean - expect), NSIGMA * se, "E w1^2 = %g +- %g, expected %g", mean, se,
                  expect);
    free(w2);
    no_problem_free(&p);
}

/* One chi-square per row (a multivariate t, not independent univariate t
 * entries): E w_1^2 w_2^2 = E g_1^2 g_2^2 E (2nu/chi2)^2 = nu^2/((nu-1)(nu-2)),
 * against (nu/(nu-1))^2 for independent entries.  nu = 6 (12 dof) so that
 * Var(w_1^2 w_2^2) (an 8th moment) is finite; se from the sample.  With
 * q = 100000 the se is ~0.03 and the two hypotheses (1.8 vs 1.44) are 12 se
 * apart. */
Test(generator, matern_rows_share_one_chi_square)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_RFF;
    s.kernel = NO_KERNEL_MATERN;
    s.nu = 6.0;
    s.N = 1;
    s.d_in = s.d_out = 1;
    s.D = 2;
    s.L = 1;
    s.q = 100000;
    s.seed = 5;
    no_problem p;
    gen(&p, &s);
    double *x = malloc(s.q * sizeof *x);
    cr_assert_not_null(x);
    for (size_t j = 0; j < s.q; j++) {
        double a = p.Omega[j * 2], b = p.Omega[j * 2 + 1];
        x[j] = a * a * b * b;
    }
    double mean, se;
    sample_mean_se(x, s.q, &mean, &se);
    double nu = s.nu, expect = nu * nu / ((nu - 1) * (nu - 2));
    cr_log_info("matern nu=6: E w1^2 w2^2 = %.4f +- %.4f (expected %.4f)", mean, se, expect);
    cr_expect_leq(fabs(mean - expect), NSIGMA * se, "E w1^2 w2^2 = %g +- %g, expected %g", mean,
                  se, expect);
    free(x);
    no_problem_free(&p);
}

/* Gaussian Omega: w ~ N(0, I/ell^2), so E w^2 = 1/ell^2 with standard error
 * sqrt(2/ell^4 / n) (exact for a normal). */
Test(generator, gaussian_omega_bandwidth)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_RFF;
    s.kernel = NO_KERNEL_GAUSSIAN;
    s.ell = 0.5;
    s.N = 1;
    s.d_in = s.d_out = 1;
    s.D = 2;
    s.L = 1;
    s.q = 25000;
    no_problem p;
    gen(&p, &s);
    size_t n = s.q * s.D;
    double s2 = 0;
    for (size_t e = 0; e < n; e++)
        s2 += p.Omega[e] * p.Omega[e];
    double mean = s2 / n, expect = 1 / (s.ell * s.ell);
    double se = sqrt(2.0 / n) * expect;
    cr_expect_leq(fabs(mean - expect), NSIGMA * se, "E w^2 = %g, expected %g", mean, expect);
    /* beta ~ U[0, 2 pi): in range, mean pi with se 2 pi / sqrt(12 q). */
    double sb = 0;
    for (size_t j = 0; j < s.q; j++) {
        cr_expect(p.beta[j] >= 0 && p.beta[j] < 2 * PI, "beta[%zu] = %g", j, p.beta[j]);
        sb += p.beta[j];
    }
    cr_expect_leq(fabs(sb / s.q - PI), NSIGMA * 2 * PI / sqrt(12.0 * s.q), "mean beta %g",
                  sb / s.q);
    no_problem_free(&p);
}

/* Gamma(shape, 1) has mean shape and variance shape: the sample mean is
 * within 5 sqrt(shape/n).  shape 0.5 exercises the boost path (shape < 1),
 * shape 3 Marsaglia-Tsang directly.  Every draw is positive and finite. */
Test(generator, gamma_mean)
{
    const double shapes[] = {0.5, 3.0};
    const size_t n = 100000;
    for (int k = 0; k < 2; k++) {
        no_rng r;
        no_rng_init(&r, 77 + (uint64_t)k, NO_STREAM_TEST);
        double s1 = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
            double g = no_rng_gamma(&r, shapes[k]);
            cr_assert(isfinite(g) && g > 0, "shape %g: draw %g", shapes[k], g);
            s1 += g;
            s2 += g * g;
        }
        double mean = s1 / n, var = s2 / n - mean * mean;
        cr_log_info("gamma(%g): mean %.5f var %.5f", shapes[k], mean, var);
        cr_expect_leq(fabs(mean - shapes[k]), NSIGMA * sqrt(shapes[k] / n),
                      "gamma(%g): mean %g", shapes[k], mean);
        /* chi2(dof) = 2 Gamma(dof/2): mean dof, variance 2 dof. */
        double c1 = 0;
        for (size_t i = 0; i < n / 4; i++)
            c1 += no_rng_chisq(&r, 2 * shapes[k]);
        c1 /= (double)(n / 4);
        cr_expect_leq(fabs(c1 - 2 * shapes[k]), NSIGMA * sqrt(4 * shapes[k] / (n / 4)),
                      "chisq(%g): mean %g", 2 * shapes[k], c1);
    }
}

/* no_rng_uniform: in [0, 1), a multiple of 2^-53 (top 53 bits), mean 1/2
 * within 5 sqrt(1/(12 n)).  no_rng_uniform_open0: in (0, 1]. */
Test(generator, uniform_range_and_mean)
{
    const size_t n = 200000;
    no_rng r;
    no_rng_init(&r, 31, NO_STREAM_TEST);
    double s = 0, lo = 1, hi = 0;
    for (size_t i = 0; i < n; i++) {
        double x = no_rng_uniform(&r);
        cr_assert(x >= 0 && x < 1, "uniform draw %a out of [0,1)", x);
        double k = x * 0x1p53;
        cr_assert_eq(k, floor(k), "uniform draw %a is not a multiple of 2^-53", x);
        s += x;
        lo = fmin(lo, x);
        hi = fmax(hi, x);
        double y = no_rng_uniform_open0(&r);
        cr_assert(y > 0 && y <= 1, "open0 draw %a out of (0,1]", y);
    }
    cr_expect_leq(fabs(s / n - 0.5), NSIGMA * sqrt(1.0 / (12.0 * n)), "mean %g", s / n);
    /* The extremes of n uniforms are within ~20/n of the ends (P = e^-20). */
    cr_expect_lt(lo, 20.0 / n);
    cr_expect_gt(hi, 1 - 20.0 / n);
}

/* no_rng_below(n): in [0, n) and unbiased.  Buckets of n = 6: each count is
 * Binomial(draws, 1/6), within 5 of its standard deviations.  n = 3 2^62
 * exposes modulo bias: an unbiased draw is below 2^62 with probability 1/3,
 * while 'next() % n' would be with probability 1/2. */
Test(generator, below_is_unbiased)
{
    no_rng r;
    no_rng_init(&r, 4, NO_STREAM_TEST);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(no_rng_below(&r, 1), 0);

    const size_t draws = 60000;
    size_t count[6] = {0};
    for (size_t i = 0; i < draws; i++) {
        uint64_t x = no_rng_below(&r, 6);
        cr_assert_lt(x, 6);
        count[x]++;
    }
    double p = 1.0 / 6, sd = sqrt(draws * p * (1 - p));
    for (int b = 0; b < 6; b++)
        cr_expect_leq(fabs(count[b] - draws * p), NSIGMA * sd, "bucket %d: %zu of %zu", b,
                      count[b], draws);

    const uint64_t big = (uint64_t)3 << 62;
    const size_t nb = 30000;
    size_t low = 0;
    for (size_t i = 0; i < nb; i++) {
        uint64_t x = no_rng_below(&r, big);
        cr_assert_lt(x, big);
        low += x < ((uint64_t)1 << 62);
    }
    double frac = (double)low / nb, sdf = sqrt((1.0 / 3) * (2.0 / 3) / nb);
    cr_expect_leq(fabs(frac - 1.0 / 3), NSIGMA * sdf, "P(x < 2^62) = %g for n = 3 2^62", frac);
}
