/* fast_kernel: RKHS gradient descent in double (fast/fast_kernel.h) against
 * the exact one of ref/ref_kernel.h (proofs-notes/kernel-gd.md section 6).
 *
 *  matrix_blas_vs_direct   the dgemm kernel matrix (|z|^2 + |c|^2 - 2 z.c,
 *                          clamped) equals the double loop over exact
 *                          differences within (|psi(0)|/2) (2D + 2) u
 *                          (|z|^2 + |c|^2) + 24 u per entry (matern-1/2 takes
 *                          the direct route: equal bit for bit).
 *  gd_agrees_with_ref      every kernel (gaussian, matern 1/2 .. 7/2) x euler
 *                          (m = 2), heun, rk4, dopri5, 3 steps with eta = 1:
 *                          F_j and ||G_j||^2 of fast within the derived bound
 *                          tol_j of section 6 of the 128-bit reference values,
 *                          and every tol_j <= 1e-6 (meaningful: F falls by
 *                          over 10% along each run).  Measured: relative
 *                          errors <= 5.9e-16, at most 5e-4 of tol_j; the
 *                          largest tol_j is 2.7e-8 (dopri5, j = 3).
 *  refuses_runs_that_do_not_fit
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fast_kernel.h"
#include "problem.h"
#include "ref.h"
#include "ref_kernel.h"
#include "tableau.h"
#include "test_util.h"

#define U 0x1p-53
#define ITERS 3
#define PREC 128

/* The five kernels: 0 gaussian(ell = 0.9), 1..4 matern nu = 1/2 .. 7/2. */
static void kernels(int kind, fast_kernel *fk, ref_kernel **rk, size_t D)
{
    if (kind == 0) {
        cr_assert_eq(fast_kernel_gaussian(fk, 0.9), 0);
        if (rk)
            *rk = ref_kernel_gaussian(D, 0.9, PREC);
    } else {
        cr_assert_eq(fast_kernel_matern(fk, kind - 0.5), 0);
        if (rk)
            *rk = ref_kernel_matern(D, kind - 0.5, PREC);
    }
    if (rk)
        cr_assert_not_null(*rk);
}

Test(fast_kernel, matrix_blas_vs_direct)
{
    enum { n = 7, C = 11, D = 3 };
    double Z[n * D], Ctr[C * D], K1[n * C], K2[n * C], work[n + C];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n * D + C * D; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double v = 3.0 * ((double)(x >> 11) * 0x1p-53 - 0.5);
        if (i < n * D)
            Z[i] = v;
        else
            Ctr[i - n * D] = v;
    }
    memcpy(Ctr, Z, D * sizeof(double)); /* a coincident pair: r = 0 */
    for (int kind = 0; kind < 5; kind++) {
        fast_kernel k;
        kernels(kind, &k, NULL, D);
        double psi0, k0;
        fast_kernel_radial(&k, 0.0, &k0, &psi0);
        if (kind == 1)
            psi0 = 0; /* direct route */
        fast_kernel_matrix(&k, n, Z, C, Ctr, D, K1, NULL, work);
        fast_kernel_matrix_direct(&k, n, Z, C, Ctr, D, K2, NULL);
        double worst = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t c = 0; c < C; c++) {
                double z2 = 0, c2 = 0;
                for (size_t d = 0; d < D; d++)
                    z2 += Z[i * D + d] * Z[i * D + d], c2 += Ctr[c * D + d] * Ctr[c * D + d];
                double tol = fabs(psi0) / 2 * (2 * D + 2) * U * (z2 + c2) + 24 * U;
                double diff = fabs(K1[i * C + c] - K2[i * C + c]);
                cr_expect(diff <= tol, "kind %d (%zu, %zu): %g vs %g, diff %g > tol %g", kind, i,
                          c, K1[i * C + c], K2[i * C + c], diff, tol);
                if (kind == 1)
                    cr_expect_eq(diff, 0.0);
                if (diff / tol > worst)
                    worst = diff / tol;
            }
        cr_log_info("fast_kernel matrix kind %d: max |diff| / tol = %.3g", kind, worst);
    }
}

static void problem(no_problem *p, no_scheme_id scheme, size_t m)
{
    no_spec s;
    no_spec_default(&s);
    s.N = 3;
    s.d_in = 2;
    s.d_out = 2;
    s.D = 3;
    s.L = 2;
    s.m = m;
    s.family = NO_FAMILY_RFF; /* only X, Y, A, B and the grid are used */
    s.q = 3;
    s.scheme = scheme;
    s.seed = 5;
    char err[256];
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

Test(fast_kernel, gd_agrees_with_ref, .timeout = NO_TEST_TIMEOUT_S)
{
    static const struct {
        no_scheme_id s;
        size_t m;
    } sch[] = {{NO_SCHEME_EULER, 2}, {NO_SCHEME_HEUN, 1}, {NO_SCHEME_RK4, 1}, {NO_SCHEME_DOPRI5, 1}};
    double worst_F = 0, worst_G = 0, max_tol = 0;
    for (size_t si = 0; si < sizeof sch / sizeof sch[0]; si++) {
        no_problem p;
        problem(&p, sch[si].s, sch[si].m);
        const no_spec *s = &p.spec;
        const no_tableau *tab = no_tableau_of(s->scheme);
        size_t S = (size_t)tab->stages, P = s->N * s->m * S;
        ref_model rm;
        char err[256];
        cr_assert_eq(ref_model_init(&rm, &p, PREC, err, sizeof err), 0, "%s", err);
        for (int kind = 0; kind < 5; kind++) {
            fast_kernel fk;
            ref_kernel *rk;
            kernels(kind, &fk, &rk, s->D);
            ref_kernel_trace rt;
            fast_kernel_trace ft;
            cr_assert_eq(ref_kernel_gd(&rm, rk, 1.0, ITERS, 0, &rt, err, sizeof err), 0, "%s",
                         err);
            cr_assert_eq(fast_kernel_gd(&p, &fk, 1.0, ITERS, 0, &ft, err, sizeof err), 0, "%s",
                         err);
            /* The bound of kernel-gd.md section 6, iterate by iterate. */
            double W = 0, growth = 1, kappa = 1, tol_prev = 0;
            for (size_t j = 0; j <= ITERS; j++) {
                cr_assert_eq(ft.centres[j], rt.centres[j]);
                double Cj = (double)ft.centres[j] / (double)s->L;
                W += 2 * (double)(s->L * s->m * S) * (Cj + 2 * (double)s->D + 40);
                double lam = ft.lip[j];
                double g = exp(2 * lam); /* forward and adjoint: exp(Lambda) each */
                growth = g > growth ? g : growth;
                /* kappa_F: |dF| <= (1/N) sum_i |r_i| |d yhat_i| against F. */
                double num = 0, den = 0;
                for (size_t i = 0; i < s->N; i++) {
                    double r2 = 0, y2 = 0;
                    for (size_t o = 0; o < s->d_out; o++) {
                        double yh = ft.output[(j * s->N + i) * s->d_out + o];
                        double r = yh - p.Y[i * s->d_out + o];
                        r2 += r * r;
                        y2 += yh * yh;
                    }
                    num += sqrt(r2) * (sqrt(y2) + 1.0);
                    den += r2;
                }
                double kF = 2 * num / den;
                kappa = kF > kappa ? kF : kappa;
                double tolF = 4 * U * W * growth * kappa + tol_prev * growth * kappa;
                double Fr = mpfr_get_d(rt.F[j], MPFR_RNDN);
                double eF = fabs(ft.F[j] - Fr) / fabs(Fr);
                cr_expect(eF <= tolF, "%s kind %d F_%zu: fast %.17g ref %.17g rel %g > tol %g",
                          tab->name, kind, j, ft.F[j], Fr, eF, tolF);
                worst_F = eF / tolF > worst_F ? eF / tolF : worst_F;
                max_tol = tolF > max_tol ? tolF : max_tol;
                if (j < ITERS) {
                    double Gr = mpfr_get_d(rt.gnorm2[j], MPFR_RNDN);
                    double cond = ft.gnorm2_abs[j] / ft.gnorm2[j];
                    double tolG = 2 * tolF * cond + 4 * U * (double)(P + s->D) * cond;
                    double eG = fabs(ft.gnorm2[j] - Gr) / fabs(Gr);
                    cr_expect(eG <= tolG,
                              "%s kind %d |G_%zu|^2: fast %.17g ref %.17g rel %g > tol %g",
                              tab->name, kind, j, ft.gnorm2[j], Gr, eG, tolG);
                    worst_G = eG / tolG > worst_G ? eG / tolG : worst_G;
                    max_tol = tolG > max_tol ? tolG : max_tol;
                }
                tol_prev = tolF;
            }
            cr_expect(ft.F[ITERS] < 0.9 * ft.F[0], "%s kind %d: the run does not move",
                      tab->name, kind);
            fast_kernel_trace_clear(&ft);
            ref_kernel_trace_clear(&rt);
            ref_kernel_free(rk);
        }
        ref_model_clear(&rm);
        no_problem_free(&p);
    }
    /* meaningful: 10^5 below the 10% fall of F the run makes */
    cr_expect(max_tol <= 1e-6, "largest tolerance %g: not meaningful", max_tol);
    cr_log_info("fast_kernel gd: max err/tol F %.3g, |G|^2 %.3g; largest tol %.3g",
            worst_F, worst_G, max_tol);
}

Test(fast_kernel, refuses_runs_that_do_not_fit)
{
    no_problem p;
    problem(&p, NO_SCHEME_RK4, 2);
    fast_kernel k;
    cr_assert_eq(fast_kernel_gaussian(&k, 1.0), 0);
    fast_kernel_trace tr;
    char err[512];
    /* 10^6 steps: 10^6 x N 3 x L m 4 x S 4 centres, far over 1 MiB. */
    cr_assert_eq(fast_kernel_gd(&p, &k, 0.1, 1000000, 1 << 20, &tr, err, sizeof err), -1);
    cr_expect(strstr(err, "48000000 centres") != NULL, "%s", err);
    cr_expect(strstr(err, "bytes") != NULL, "%s", err);
    cr_expect(fast_kernel_gd(&p, &k, 0.1, (size_t)-1 / 2, 0, &tr, err, sizeof err) == -1);
    cr_expect(strstr(err, "more than") != NULL, "%s", err);
    cr_expect_eq(fast_kernel_matern(&k, 2.0), -1);
    cr_expect_eq(fast_kernel_gaussian(&k, 0.0), -1);
    no_problem_free(&p);
}
