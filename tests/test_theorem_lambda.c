/* test_theorem_lambda.c - the symmetric eigensolvers and lambda(delta)
 * (ref/ref_eig.h, fast/fast_eig.h, oracle/lambda.h,
 * proofs-notes/theorem-lambda.md):
 *   - the MPFR Jacobi solver against LAPACK's dsyevr on random symmetric
 *     matrices, within the derived bound n^2 u |A|_F (section 4), and the
 *     trace kept to the working precision;
 *   - against known spectra: H diag(d) H with H an exact Householder
 *     reflector of an integer vector, and the tridiagonal Toeplitz (2, -1)
 *     with eigenvalues 2 - 2 cos(k pi/(n+1)); the certified bits are honest
 *     (the error is below 2^-bits) and as many as the precision allows;
 *   - a Gram matrix with a tiny smallest eigenvalue: the bits claimed at
 *     128 bits hold against a 512-bit computation (relative accuracy);
 *   - N = 2: lambda(delta) = 1 - k(delta) exactly (section 2), for both
 *     kernels, from above by at most the separation nudge; the packing lower
 *     bound is 1 - k(delta) for N = 2 and below the upper estimate elsewhere;
 *   - the flat-limit exponent (section 5): the local slope at the smallest
 *     delta within 0.1 of 2(N-1) (Gaussian) and 2 nu (Matern);
 *   - `nodeoracle theorem lambda`: --json valid against the schema, a given
 *     set through --points, hostile options exit 2 with one line, --help.
 */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "fast_eig.h"
#include "lambda.h"
#include "npy.h"
#include "ref_eig.h"
#include "ref_kernel.h"
#include "rng.h"
#include "test_run.h"
#include "test_util.h"

NO_TEST_SCRATCH("no_lambda_")

#define U_DBL (DBL_EPSILON / 2)

static mpfr_t *mat_new(size_t n, mpfr_prec_t p)
{
    mpfr_t *a = malloc(n * n * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n * n; i++)
        mpfr_init2(a[i], p);
    return a;
}

static void mat_free(mpfr_t *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mpfr_clear(a[i]);
    free(a);
}

Test(theorem_lambda, jacobi_against_lapack_random, .timeout = NO_TEST_TIMEOUT_S)
{
    const size_t sizes[] = {1, 2, 3, 5, 8, 13, 20};
    no_rng rng;
    no_rng_init(&rng, 7, NO_STREAM_TEST + 61);
    char err[256];
    for (int it = 0; it < no_test_iters(); it++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = sizes[s];
            double *A = malloc(n * n * sizeof *A), *wf = malloc(n * sizeof *wf);
            double *bits = malloc(n * sizeof *bits);
            mpfr_t *M = mat_new(n, 53), *w = mat_new(n, 1);
            for (size_t i = 0; i < n; i++)
                mpfr_set_prec(w[i], 128);
            double fro = 0;
            mpfr_t sum;
            mpfr_init2(sum, 256);
            mpfr_set_zero(sum, 1);
            for (size_t i = 0; i < n; i++)
                for (size_t j = i; j < n; j++) {
                    double x = 2 * no_rng_uniform(&rng) - 1;
                    A[i * n + j] = A[j * n + i] = x;
                    mpfr_set_d(M[i * n + j], x, MPFR_RNDN);
                    mpfr_set_d(M[j * n + i], x, MPFR_RNDN);
                    fro += (i == j ? 1 : 2) * x * x;
                    if (i == j)
                        mpfr_sub_d(sum, sum, x, MPFR_RNDN); /* exact at 256 bits */
                }
            fro = sqrt(fro);
            cr_assert_eq(ref_eig_sym_bits(M, n, w, bits, err, sizeof err), 0, "%s", err);
            cr_assert_eq(fast_eig_sym(n, A, wf), 0);
            double bound = (double)n * (double)n * U_DBL * fro;
            for (size_t i = 0; i < n; i++) {
                double wr = mpfr_get_d(w[i], MPFR_RNDN);
                cr_expect(fabs(wr - wf[i]) <= bound, "n=%zu eig %zu: ref %.17g lapack %.17g",
                          n, i, wr, wf[i]);
                cr_expect(i == 0 || mpfr_lessequal_p(w[i - 1], w[i]), "not ascending");
                /* an eigenvalue near 0 may lose relative bits; others keep ~120 */
                cr_expect(bits[i] >= 100 || fabs(wr) < 1e-6 * fro, "n=%zu eig %zu: %.0f bits",
                          n, i, bits[i]);
                mpfr_add(sum, sum, w[i], MPFR_RNDN);
            }
            /* the trace is invariant under rotations: kept to ~2^-120 |A| */
            cr_expect(fabs(mpfr_get_d(sum, MPFR_RNDN)) <= 0x1p-110 * (fro + 1) * (double)n,
                      "n=%zu: sum of eigenvalues - trace = %g", n, mpfr_get_d(sum, MPFR_RNDN));
            mpfr_clear(sum);
            /* eigenvectors of the lowest eigenvalue from LAPACK: A v = lam v */
            double *v = malloc(n * sizeof *v), lam;
            cr_assert_eq(fast_eig_sym_lowest(n, A, 1, &lam, v), 0);
            cr_expect(fabs(lam - wf[0]) <= bound);
            for (size_t i = 0; i < n; i++) {
                double r = -lam * v[i];
                for (size_t j = 0; j < n; j++)
                    r += A[i * n + j] * v[j];
                cr_expect(fabs(r) <= 4 * bound + 16 * U_DBL * fro, "residual %g", r);
            }
            free(v);
            mat_free(M, n * n);
            mat_free(w, n);
            free(A);
            free(wf);
            free(bits);
        }
}

Test(theorem_lambda, jacobi_known_spectra, .timeout = NO_TEST_TIMEOUT_S)
{
    char err[256];
    /* H diag(d) H, H = I - 2 v v^T/(v^T v), v integer: H is exactly
     * orthogonal and symmetric, so the spectrum is exactly d; built at 600
     * bits (entries within 2^-590 |d|), solved at 300. */
    const double d[] = {-3, -1, 0x1p-70, 0.5, 0.5, 2, 7}; /* ascending */
    const long vi[] = {1, -2, 3, 1, 5, -1, 2};
    size_t n = 7;
    mpfr_t *H = mat_new(n, 600), *A = mat_new(n, 600), *w = mat_new(n, 300), t, vv;
    mpfr_inits2(600, t, vv, (mpfr_ptr)0);
    long s2 = 0;
    for (size_t i = 0; i < n; i++)
        s2 += vi[i] * vi[i];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            mpfr_set_si(H[i * n + j], -2 * vi[i] * vi[j], MPFR_RNDN);
            mpfr_div_si(H[i * n + j], H[i * n + j], s2, MPFR_RNDN);
            if (i == j)
                mpfr_add_ui(H[i * n + j], H[i * n + j], 1, MPFR_RNDN);
        }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            mpfr_set_zero(A[i * n + j], 1);
            for (size_t k = 0; k < n; k++) {
                mpfr_mul(t, H[i * n + k], H[j * n + k], MPFR_RNDN);
                mpfr_mul_d(t, t, d[k], MPFR_RNDN);
                mpfr_add(A[i * n + j], A[i * n + j], t, MPFR_RNDN);
            }
        }
    cr_assert_eq(ref_eig_sym(A, n, w, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < n; i++) {
        mpfr_sub_d(t, w[i], d[i], MPFR_RNDN);
        mpfr_abs(t, t, MPFR_RNDN);
        cr_expect(mpfr_cmp_ui_2exp(t, 1, -280) <= 0, "eig %zu = %.20g, exact %g", i,
                  mpfr_get_d(w[i], MPFR_RNDN), d[i]);
    }
    mpfr_clears(t, vv, (mpfr_ptr)0);
    mat_free(H, n * n);
    mat_free(A, n * n);
    mat_free(w, n);
    /* tridiagonal Toeplitz (2, -1): lambda_k = 2 - 2 cos(k pi/(n+1)), k = 1..n
     * ascending; exact entries, solved at 200 bits, exact values at 400 */
    for (n = 2; n <= 12; n += 5) {
        mpfr_t *T = mat_new(n, 53), *ww = mat_new(n, 200), ex, pi, e;
        mpfr_inits2(400, ex, pi, e, (mpfr_ptr)0);
        mpfr_const_pi(pi, MPFR_RNDN);
        double *bits = malloc(n * sizeof *bits);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                mpfr_set_si(T[i * n + j], i == j ? 2 : (i + 1 == j || j + 1 == i) ? -1 : 0,
                            MPFR_RNDN);
        cr_assert_eq(ref_eig_sym_bits(T, n, ww, bits, err, sizeof err), 0, "%s", err);
        for (size_t k = 1; k <= n; k++) {
            mpfr_mul_ui(ex, pi, k, MPFR_RNDN);
            mpfr_div_ui(ex, ex, n + 1, MPFR_RNDN);
            mpfr_cos(ex, ex, MPFR_RNDN);
            mpfr_mul_si(ex, ex, -2, MPFR_RNDN);
            mpfr_add_ui(ex, ex, 2, MPFR_RNDN);
            mpfr_sub(e, ww[k - 1], ex, MPFR_RNDN);
            mpfr_div(e, e, ex, MPFR_RNDN);
            double rel = fabs(mpfr_get_d(e, MPFR_RNDN));
            cr_expect(rel <= ldexp(1.0, -(int)bits[k - 1]),
                      "n=%zu k=%zu: relative error %g above the claimed %.0f bits", n, k, rel,
                      bits[k - 1]);
            cr_expect(bits[k - 1] >= 180, "n=%zu k=%zu: only %.0f bits", n, k, bits[k - 1]);
        }
        free(bits);
        mpfr_clears(ex, pi, e, (mpfr_ptr)0);
        mat_free(T, n * n);
        mat_free(ww, n);
    }
}

Test(theorem_lambda, jacobi_errors)
{
    char err[256] = "";
    mpfr_t *A = mat_new(2, 64), *w = mat_new(2, 64), lam;
    mpfr_init2(lam, 64);
    cr_expect_eq(ref_eig_sym(A, 0, w, err, sizeof err), -1);
    cr_expect(strstr(err, "order") != NULL, "%s", err);
    mpfr_set_ui(A[0], 1, MPFR_RNDN);
    mpfr_set_nan(A[1]);
    cr_expect_eq(ref_eig_sym(A, 2, w, err, sizeof err), -1);
    cr_expect(strstr(err, "not finite") != NULL, "%s", err);
    cr_expect_lt(ref_eig_min_bits(A, 2, lam, err, sizeof err), 0);
    double M[4] = {1, NAN, NAN, 1}, wf[2];
    cr_expect_eq(fast_eig_sym(2, M, wf), -1);
    cr_expect_eq(fast_eig_sym(0, M, wf), -1);
    mpfr_clear(lam);
    mat_free(A, 4);
    mat_free(w, 2);
}

/* The bits claimed for a tiny lambda_min at 128 bits hold against 512 bits. */
Test(theorem_lambda, certified_bits_of_a_tiny_eigenvalue, .timeout = NO_TEST_TIMEOUT_S)
{
    no_lambda_kernel k = {.matern = 0, .ell = 1};
    size_t N = 6;
    double X[6];
    for (size_t i = 0; i < N; i++)
        X[i] = (double)i / 32; /* collinear, spacing 1/32: lambda ~ 1e-16 */
    char err[256];
    mpfr_t lo, hi, e;
    mpfr_init2(lo, 128);
    mpfr_init2(hi, 512);
    mpfr_init2(e, 64);
    double blo, bhi;
    cr_assert_eq(no_lambda_min_ref(&k, N, 1, X, 128, lo, &blo, err, sizeof err), 0, "%s", err);
    cr_assert_eq(no_lambda_min_ref(&k, N, 1, X, 512, hi, &bhi, err, sizeof err), 0, "%s", err);
    mpfr_sub(e, lo, hi, MPFR_RNDN);
    mpfr_div(e, e, hi, MPFR_RNDN);
    double rel = fabs(mpfr_get_d(e, MPFR_RNDN));
    cr_log_info("lambda_min %.17g, %.0f bits at 128, relative error %g", mpfr_get_d(hi, 0), blo,
                rel);
    cr_expect(mpfr_sgn(hi) > 0 && mpfr_get_d(hi, MPFR_RNDN) < 1e-13);
    cr_expect(rel <= ldexp(1.0, -(int)blo), "claimed %.0f bits, error %g", blo, rel);
    cr_expect(blo >= 60, "only %.0f bits", blo);
    /* LAPACK: within the derived absolute bound, no more */
    double normK;
    double lf = no_lambda_min_fast(&k, N, 1, X, NULL, &normK);
    cr_expect(fabs(lf - mpfr_get_d(hi, MPFR_RNDN)) <= no_lambda_fast_bound(N, 1, normK));
    mpfr_clears(lo, hi, e, (mpfr_ptr)0);
}

static no_lambda_opts base_opts(int matern, double par, size_t N, size_t D, double delta)
{
    no_lambda_opts o;
    memset(&o, 0, sizeof o);
    o.kernel.matern = matern;
    o.kernel.ell = matern ? 1 : par;
    o.kernel.nu = matern ? par : 2.5;
    o.N = N;
    o.D = D;
    o.delta = delta;
    o.prec = 128;
    o.starts = 2;
    o.iters = 50;
    o.seed = 3;
    o.level = 0.95;
    return o;
}

/* 1 - k(r) at 256 bits, r along the first axis. */
static double one_minus_k(const no_lambda_kernel *k, size_t D, double r)
{
    ref_kernel *rk = k->matern ? ref_kernel_matern(D, k->nu, 256)
                               : ref_kernel_gaussian(D, k->ell, 256);
    mpfr_t *z = mat_new(2 * D, 1), out;
    for (size_t i = 0; i < 2 * D; i++) {
        mpfr_set_prec(z[i], 64);
        mpfr_set_zero(z[i], 1);
    }
    mpfr_set_d(z[D], r, MPFR_RNDN);
    mpfr_init2(out, 256);
    ref_kernel_eval(rk, out, z, z + D);
    mpfr_ui_sub(out, 1, out, MPFR_RNDN);
    double v = mpfr_get_d(out, MPFR_RNDN);
    mpfr_clear(out);
    mat_free(z, 2 * D);
    ref_kernel_free(rk);
    return v;
}

Test(theorem_lambda, two_points_closed_form, .timeout = NO_TEST_TIMEOUT_S)
{
    const int matern[] = {0, 0, 1, 1, 1, 1};
    const double par[] = {1, 0.4, 0.5, 1.5, 2.5, 3.5};
    const double deltas[] = {0.3, 1, 2.5};
    char err[256];
    for (size_t c = 0; c < 6; c++)
        for (size_t D = 1; D <= 3; D += 2)
            for (size_t j = 0; j < 3; j++) {
                no_lambda_opts o = base_opts(matern[c], par[c], 2, D, deltas[j]);
                no_lambda_result r;
                cr_assert_eq(no_lambda_run(&o, &r, err, sizeof err), 0, "%s", err);
                /* any two points at distance delta are one configuration up
                 * to a rigid motion, and k decreases in r: the infimum is
                 * 1 - k(delta), attained */
                double exact = one_minus_k(&o.kernel, D, deltas[j]);
                double lam = r.main.lam;
                cr_expect(lam >= exact - 4 * U_DBL && lam - exact <= 0x1p-36 * deltas[j],
                          "kernel %d par %g D %zu delta %g: %.17g, 1 - k(delta) = %.17g",
                          matern[c], par[c], D, deltas[j], lam, exact);
                cr_expect(r.main.bits >= 100, "%.0f bits", r.main.bits);
                cr_expect(r.main.min_dist >= deltas[j]);
                /* the packing bound for N = 2: one neighbour, 1 - k(delta) */
                cr_expect(fabs(r.main.lower - exact) <= 20 * U_DBL + 1e-15 * fabs(exact),
                          "lower %.17g vs %.17g", r.main.lower, exact);
                no_lambda_result_clear(&r);
            }
}

Test(theorem_lambda, lower_bound_below_upper_estimate, .timeout = NO_TEST_TIMEOUT_S)
{
    char err[256];
    const double ells[] = {0.2, 0.3};
    for (size_t c = 0; c < 2; c++) {
        no_lambda_opts o = base_opts(0, ells[c], 8, 2, 1);
        no_lambda_result r;
        cr_assert_eq(no_lambda_run(&o, &r, err, sizeof err), 0, "%s", err);
        cr_expect(r.main.lower > 0, "ell %g: lower %g", ells[c], r.main.lower);
        cr_expect(r.main.lower <= r.main.lam, "ell %g: lower %.17g > upper %.17g", ells[c],
                  r.main.lower, r.main.lam);
        cr_log_info("ell %g: %.6g <= lambda(1) <= %.6g", ells[c], r.main.lower, r.main.lam);
        no_lambda_result_clear(&r);
    }
}

Test(theorem_lambda, flat_limit_exponent, .timeout = NO_TEST_TIMEOUT_S)
{
    const int matern[] = {0, 1, 1};
    const double par[] = {1, 0.5, 1.5};
    char err[256];
    for (size_t c = 0; c < 3; c++) {
        no_lambda_opts o = base_opts(matern[c], par[c], 4, 2, 1);
        o.sweep = 9;
        o.prec = 256;
        o.iters = 20;
        no_lambda_result r;
        cr_assert_eq(no_lambda_run(&o, &r, err, sizeof err), 0, "%s", err);
        double want = no_lambda_expected_exponent(&o.kernel, o.N);
        cr_expect(fabs(r.local_slope - want) <= 0.1, "kernel %d par %g: local slope %.4f, %g",
                  matern[c], par[c], r.local_slope, want);
        /* the fit's interval measures the residuals of smooth, deterministic
         * data (the approach to the limit), not noise: only its centre is
         * tested (section 5) */
        cr_expect(r.fit.ok && fabs(r.fit.slope - want) <= 0.1, "fit %.4f [%.4f, %.4f] vs %g",
                  r.fit.slope, r.fit.lo, r.fit.hi, want);
        cr_log_info("kernel %d par %g: local %.4f fit %.4f [%.4f, %.4f], derived %g", matern[c],
                    par[c], r.local_slope, r.fit.slope, r.fit.lo, r.fit.hi, want);
        no_lambda_result_clear(&r);
    }
}

Test(theorem_lambda, cli, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    run_result r = run("theorem lambda --N 4 --sweep 4 --seeds 6 --qmax 512 --json");
    cr_assert_eq(r.status, 0, "status %d, stderr %s", r.status, r.err);
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "kind")), "theorem");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "holds");
    json_t *det = json_object_get(o, "details");
    cr_expect_eq(json_array_size(json_object_get(det, "sweep")), 4);
    cr_expect_eq(json_array_size(json_object_get(det, "q_sweep")), 6);
    cr_expect(json_object_get(json_object_get(det, "q_needed"), "q_bernstein") != NULL);
    json_decref(o);
    no_test_expect_schema_valid(r.out, doc, "theorem lambda --json");
    run_free(&r);
    /* a given set: two points at distance 0.7 */
    char pts[PATH_MAX], err[256];
    IN_SCRATCH(pts, "X.npy");
    double v[4] = {0.1, 0.2, 0.1, 0.9};
    no_array a = {.ndim = 2, .shape = {2, 2}, .n = 4, .v = v};
    cr_assert_eq(no_npy_write(pts, &a, err, sizeof err), 0, "%s", err);
    r = runf("theorem lambda --points '%s' --seeds 0 --json", pts);
    cr_assert_eq(r.status, 0, "status %d, stderr %s", r.status, r.err);
    o = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(o);
    double lam = json_real_value(
        json_object_get(json_object_get(json_object_get(o, "details"), "best"), "lambda_min"));
    no_lambda_kernel k = {.ell = 1};
    double want = one_minus_k(&k, 2, 0.9 - 0.2);
    cr_expect(fabs(lam - want) <= 4 * U_DBL, "given set: %.17g, 1 - k = %.17g", lam, want);
    json_decref(o);
    no_test_expect_schema_valid(r.out, doc, "theorem lambda --points --json");
    run_free(&r);
    /* text output names the estimate as such */
    r = run("theorem lambda --N 3 --sweep 0 --seeds 0");
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "upper estimate") && strstr(r.out, "not a bound"), "%s", r.out);
    run_free(&r);
    double dup[4] = {0.5, 0.5, 0.5, 0.5};
    a.v = dup;
    char same[PATH_MAX];
    IN_SCRATCH(same, "same.npy");
    cr_assert_eq(no_npy_write(same, &a, err, sizeof err), 0, "%s", err);
    char same_cmd[PATH_MAX + 64], missing_cmd[PATH_MAX + 64];
    snprintf(same_cmd, sizeof same_cmd, "theorem lambda --points '%s'", same);
    snprintf(missing_cmd, sizeof missing_cmd, "theorem lambda --points '%s/none.npy'", scratch);
    const char *const bad[][2] = {
        {"theorem lambda --N 1", "--N"},
        {"theorem lambda --N 100000000000", "--N"},
        {"theorem lambda --D 0", "--D"},
        {"theorem lambda --delta nan", "--delta"},
        {"theorem lambda --delta 0", "--delta"},
        {"theorem lambda --delta -1", "--delta"},
        {"theorem lambda --ell inf", "--ell"},
        {"theorem lambda --kernel matern --nu 2", "--nu"},
        {"theorem lambda --kernel cauchy", "--kernel"},
        {"theorem lambda --prec 10", "--prec"},
        {"theorem lambda --sweep 13", "--sweep"},
        {"theorem lambda --qmin 64 --qmax 128", "--qm"},
        {"theorem lambda --level 1", "--level"},
        {"theorem lambda --seeds", "needs a value"},
        {"theorem lambda --bogus 1", "unknown option"},
        {same_cmd, "coincide"},
        {missing_cmd, NULL},
    };
    expect_usage_errors(bad, sizeof bad / sizeof bad[0]);
    run_result h = run("theorem lambda --help");
    cr_expect_eq(h.status, 0);
    cr_expect(strstr(h.out, "EXIT STATUS") && strstr(h.out, "--delta") &&
              strstr(h.out, "--points"));
    run_free(&h);
}
