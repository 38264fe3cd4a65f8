/* test_theorem_kappa.c - the regularity constant kappa (ref/ref_spectral.h,
 * oracle/theorem_kappa.c, proofs-notes/theorem-kappa.md):
 *   moments_closed_forms    the Gamma-function moments equal the rational
 *                           closed forms (sections 1-2 of the note) to 2^-120
 *                           at 128 bits, for matern nu in (0, 100] and the
 *                           Gaussian; existence flags at nu = 1, 2; the
 *                           claimed bits hold against a run at 4p;
 *                           kappa_up is >= the value and within 2^-120 of it.
 *   moments_vs_generator    E w1^2, E w1^4, E w1^2 w2^2 against the mean over
 *                           our generator's Omega rows (q = 40000), within
 *                           5 standard errors (se = sample sd / sqrt(q)), where
 *                           the variance is finite (nu = 10; nu = 2.5 for
 *                           E w1^2; the Gaussian); the printed density's
 *                           E w1^2 = nu/(2(nu-1)) is > 20 se away.
 *   slides_formula_is_ours  the slides' formula equals the operator-reading
 *                           bound of our 2 nu-dof law (2^-120); the printed
 *                           density and the t with nu dof give other numbers.
 *   field_closed_forms      D_{a..} phi(0) = 1, -E w1^2, E w1^4; the partition
 *                           formula against central differences; the
 *                           same-point field has ratio sqrt(1 + 3 m2 + m4).
 *   wrong_constant_fails    the optimised lower estimate (CLI) exceeds the
 *                           bound with E w1^4 halved, and the printed
 *                           density's bound: the check then fails.
 *   cli                     --json valid against the schema, exit 0; nu <= 2
 *                           and --reading frobenius exit 1 with one line;
 *                           hostile options exit 2 with one line; --help.
 */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "problem.h"
#include "ref_spectral.h"
#include "test_run.h"
#include "test_util.h"
#include "theorem.h"

NO_TEST_SCRATCH("no_kappa_")

#define PREC 128
#define TOL 0x1p-120

static double rel(const mpfr_t a, double b)
{
    return fabs(mpfr_get_d(a, MPFR_RNDN) - b) / fabs(b);
}

/* relative difference of a and the exact rational num/den, in MPFR */
static double rel_q(const mpfr_t a, const mpfr_t exact)
{
    mpfr_t d;
    mpfr_init2(d, 64);
    mpfr_sub(d, a, exact, MPFR_RNDA);
    mpfr_div(d, d, exact, MPFR_RNDA);
    double r = fabs(mpfr_get_d(d, MPFR_RNDA));
    mpfr_clear(d);
    return r;
}

Test(theorem_kappa, moments_closed_forms)
{
    static const double nus[] = {2.5, 3.5, 3.0, 7.25, 100.0, 2.0000001};
    static const size_t Ds[] = {1, 2, 5};
    char err[256];
    mpfr_t q, t;
    mpfr_inits2(4 * PREC, q, t, (mpfr_ptr)0);
    for (size_t a = 0; a < sizeof nus / sizeof *nus; a++)
        for (size_t b = 0; b < 3; b++) {
            double nu = nus[a];
            size_t D = Ds[b];
            ref_kappa k;
            cr_assert_eq(ref_kappa_bound(NO_KERNEL_MATERN, 1, nu, D, PREC, &k, err, sizeof err),
                         0, "%s", err);
            /* nu/(nu-1), 3 nu^2/((nu-1)(nu-2)), nu^2/((nu-1)(nu-2)) */
            mpfr_set_d(q, nu, MPFR_RNDN);
            mpfr_set_d(t, nu - 1, MPFR_RNDN);
            mpfr_div(q, q, t, MPFR_RNDN);
            cr_expect(rel_q(k.v[REF_SPEC_M2], q) < TOL, "nu %g: E w1^2", nu);
            mpfr_mul_ui(q, q, (unsigned long)D, MPFR_RNDN);
            cr_expect(rel_q(k.v[REF_SPEC_N2], q) < TOL, "nu %g D %zu: E |w|^2", nu, D);
            mpfr_set_d(q, nu, MPFR_RNDN);
            mpfr_sqr(q, q, MPFR_RNDN);
            mpfr_set_d(t, nu - 1, MPFR_RNDN);
            mpfr_div(q, q, t, MPFR_RNDN);
            mpfr_set_d(t, nu - 2, MPFR_RNDN);
            mpfr_div(q, q, t, MPFR_RNDN);
            cr_expect(rel_q(k.v[REF_SPEC_M22], q) < TOL, "nu %g: E w1^2 w2^2", nu);
            mpfr_mul_ui(q, q, 3, MPFR_RNDN);
            cr_expect(rel_q(k.v[REF_SPEC_M4], q) < TOL, "nu %g: E w1^4", nu);
            mpfr_mul_ui(q, q, (unsigned long)(D * (D + 2)), MPFR_RNDN);
            mpfr_div_ui(q, q, 3, MPFR_RNDN);
            cr_expect(rel_q(k.v[REF_SPEC_N4], q) < TOL, "nu %g D %zu: E |w|^4", nu, D);
            for (int i = 0; i <= REF_KAPPA_FROB; i++)
                cr_expect(k.exists[i] && k.bits[i] >= 120, "nu %g %s: bits %g", nu,
                          ref_kappa_name(i), k.bits[i]);
            /* the rigorous bound is above the value, and close */
            cr_expect(mpfr_cmp(k.kappa_up, k.v[REF_KAPPA_OP]) >= 0);
            cr_expect(rel_q(k.kappa_up, k.v[REF_KAPPA_OP]) < TOL);
            cr_expect(mpfr_cmp(k.kappa_frob_up, k.kappa_up) >= 0);
            /* equal (up to the directed roundings) iff D = 1 */
            cr_expect((rel_q(k.kappa_frob_up, k.kappa_up) < TOL) == (D == 1),
                      "D %zu: Frobenius = op iff D = 1", D);
            ref_kappa_clear(&k);
        }
    /* Gaussian: 1/ell^2, 3/ell^4, 1/ell^4 */
    static const double ells[] = {0.5, 1.0, 3.0, 0.7};
    for (size_t a = 0; a < 4; a++) {
        double l = ells[a];
        ref_kappa k;
        cr_assert_eq(ref_kappa_bound(NO_KERNEL_GAUSSIAN, l, 0, 3, PREC, &k, err, sizeof err), 0);
        cr_expect(rel(k.v[REF_SPEC_M2], 1 / (l * l)) < 1e-15, "ell %g", l);
        cr_expect(rel(k.v[REF_SPEC_M4], 3 / (l * l * l * l)) < 1e-15, "ell %g", l);
        cr_expect(rel(k.v[REF_SPEC_M22], 1 / (l * l * l * l)) < 1e-15, "ell %g", l);
        cr_expect(rel(k.v[REF_KAPPA_OP], 1 + 1 / l + sqrt(3.0) / (l * l)) < 1e-15);
        cr_expect(!k.exists[REF_KAPPA_SLIDES] && mpfr_nan_p(k.v[REF_KAPPA_SLIDES]));
        ref_kappa_clear(&k);
    }
    /* existence: nu = 2 (no 4th moment), nu = 1 (no 2nd) */
    ref_kappa k;
    cr_assert_eq(ref_kappa_bound(NO_KERNEL_MATERN, 1, 2.0, 2, PREC, &k, err, sizeof err), 0);
    cr_expect(k.exists[REF_SPEC_M2] && !k.exists[REF_SPEC_M4] && !k.exists[REF_KAPPA_OP]);
    cr_expect(mpfr_inf_p(k.v[REF_SPEC_M4]) && mpfr_inf_p(k.kappa_up));
    cr_expect(!k.exists[REF_KAPPA_SLIDES]);
    ref_kappa_clear(&k);
    cr_assert_eq(ref_kappa_bound(NO_KERNEL_MATERN, 1, 1.0, 2, PREC, &k, err, sizeof err), 0);
    cr_expect(!k.exists[REF_SPEC_M2] && mpfr_inf_p(k.v[REF_SPEC_M2]));
    ref_kappa_clear(&k);
    /* the claimed bits, against 4p */
    static const long precs[] = {53, 200};
    for (size_t a = 0; a < 2; a++) {
        ref_kappa lo, hi;
        cr_assert_eq(ref_kappa_bound(NO_KERNEL_MATERN, 1, 3.7, 4, precs[a], &lo, err, 256), 0);
        cr_assert_eq(ref_kappa_bound(NO_KERNEL_MATERN, 1, 3.7, 4, 4 * precs[a], &hi, err, 256),
                     0);
        for (int i = 0; i < REF_KAPPA_NQ; i++) {
            if (!lo.exists[i])
                continue;
            mpfr_set(q, hi.v[i], MPFR_RNDN);
            cr_expect(rel_q(lo.v[i], q) <= ldexp(1, -(int)lo.bits[i] + 1), "%s at %ld: %g bits",
                      ref_kappa_name(i), precs[a], lo.bits[i]);
        }
        ref_kappa_clear(&lo);
        ref_kappa_clear(&hi);
    }
    /* bad arguments: one line, no crash */
    cr_expect_eq(ref_kappa_bound(NO_KERNEL_MATERN, 1, 0, 2, PREC, &k, err, sizeof err), -1);
    cr_expect_eq(ref_kappa_bound(NO_KERNEL_MATERN, 1, NAN, 2, PREC, &k, err, sizeof err), -1);
    cr_expect_eq(ref_kappa_bound(NO_KERNEL_GAUSSIAN, 0, 0, 2, PREC, &k, err, sizeof err), -1);
    cr_expect_eq(ref_kappa_bound(NO_KERNEL_GAUSSIAN, 1, 0, 0, PREC, &k, err, sizeof err), -1);
    cr_expect_eq(ref_kappa_bound(NO_KERNEL_GAUSSIAN, 1, 0, 2, 10, &k, err, sizeof err), -1);
    ref_kappa_clear(&k);
    mpfr_clears(q, t, (mpfr_ptr)0);
}

/* q rows of our generator's Omega for this kernel, D = 2. */
static double *omega(no_kernel kern, double ell, double nu, size_t q, uint64_t seed)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_RFF;
    s.q = q;
    s.D = 2;
    s.d_in = 2;
    s.d_out = 2;
    s.N = 1;
    s.L = 1;
    s.kernel = kern;
    s.ell = ell;
    s.nu = nu;
    s.seed = seed;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    double *w = malloc(2 * q * sizeof *w);
    cr_assert_not_null(w);
    memcpy(w, p.Omega, 2 * q * sizeof *w);
    no_problem_free(&p);
    return w;
}

/* mean and standard error of f(row) over the rows */
static void mc_stat(const double *w, size_t q, int which, double *mean, double *se)
{
    double s = 0, s2 = 0;
    for (size_t j = 0; j < q; j++) {
        double a = w[2 * j] * w[2 * j], b = w[2 * j + 1] * w[2 * j + 1];
        double x = which == 0 ? a : which == 1 ? a * a : a * b;
        s += x;
        s2 += x * x;
    }
    *mean = s / (double)q;
    *se = sqrt((s2 - s * *mean) / (double)(q - 1) / (double)q);
}

Test(theorem_kappa, moments_vs_generator, .timeout = NO_TEST_TIMEOUT_S)
{
    const size_t q = 40000;
    struct {
        no_kernel kern;
        double ell, nu;
        int nmom; /* moments with finite variance: 1 (E w1^2) or 3 */
    } cases[] = {{NO_KERNEL_MATERN, 1, 10, 3}, {NO_KERNEL_MATERN, 1, 2.5, 1},
                 {NO_KERNEL_GAUSSIAN, 0.7, 0, 3}};
    char err[256];
    for (size_t c = 0; c < 3; c++) {
        ref_kappa k;
        cr_assert_eq(ref_kappa_bound(cases[c].kern, cases[c].ell, cases[c].nu, 2, PREC, &k, err,
                                     sizeof err),
                     0);
        double *w = omega(cases[c].kern, cases[c].ell, cases[c].nu, q, 11 + c);
        int idx[3] = {REF_SPEC_M2, REF_SPEC_M4, REF_SPEC_M22};
        for (int m = 0; m < cases[c].nmom; m++) {
            double mean, se, ex = mpfr_get_d(k.v[idx[m]], MPFR_RNDN);
            mc_stat(w, q, m, &mean, &se);
            cr_expect(fabs(mean - ex) <= 5 * se, "case %zu %s: MC %.6g +- %.2g, exact %.6g", c,
                      ref_kappa_name(idx[m]), mean, se, ex);
            cr_log_info("case %zu %s: MC %.6g +- %.2g, exact %.6g (z = %.2f)", c,
                        ref_kappa_name(idx[m]), mean, se, ex, (mean - ex) / se);
            /* a doubled moment is rejected */
            cr_expect(fabs(mean - 2 * ex) > 20 * se, "case %zu: 2 x %s not rejected", c,
                      ref_kappa_name(idx[m]));
            if (cases[c].kern == NO_KERNEL_MATERN && m == 0) /* the printed density */
                cr_expect(fabs(mean - ex / 2) > 20 * se, "nu %g: nu/(2(nu-1)) not rejected",
                          cases[c].nu);
        }
        free(w);
        ref_kappa_clear(&k);
    }
}

Test(theorem_kappa, slides_formula_is_ours)
{
    static const double nus[] = {2.5, 3.5, 5, 17.5};
    char err[256];
    for (size_t a = 0; a < 4; a++) {
        double nu = nus[a];
        ref_kappa k;
        cr_assert_eq(ref_kappa_bound(NO_KERNEL_MATERN, 1, nu, 3, PREC, &k, err, sizeof err), 0);
        cr_expect(k.exists[REF_KAPPA_SLIDES] && k.bits[REF_KAPPA_SLIDES] >= 120);
        cr_expect(rel_q(k.v[REF_KAPPA_OP], k.v[REF_KAPPA_SLIDES]) < TOL, "nu %g", nu);
        /* double check of the printed formula itself */
        double sl = 1 + sqrt(nu / (nu - 1)) + sqrt(3 * nu * nu / ((nu - 1) * (nu - 2)));
        cr_expect(rel(k.v[REF_KAPPA_SLIDES], sl) < 1e-14, "nu %g", nu);
        /* printed density: 1 + sqrt(m2/2) + sqrt(m4)/2, a different number */
        double m2 = nu / (nu - 1), m4 = 3 * nu * nu / ((nu - 1) * (nu - 2));
        cr_expect(rel(k.v[REF_KAPPA_LITERAL], 1 + sqrt(m2 / 2) + sqrt(m4) / 2) < 1e-14);
        cr_expect(mpfr_get_d(k.v[REF_KAPPA_SLIDES], MPFR_RNDN) -
                      mpfr_get_d(k.v[REF_KAPPA_LITERAL], MPFR_RNDN) > 0.5);
        if (nu > 4) {
            double t2 = nu / (nu - 2), t4 = 3 * nu * nu / ((nu - 2) * (nu - 4));
            cr_expect(rel(k.v[REF_KAPPA_TNU], 1 + sqrt(t2) + sqrt(t4)) < 1e-14);
            cr_expect(mpfr_cmp(k.v[REF_KAPPA_TNU], k.v[REF_KAPPA_SLIDES]) > 0);
        } else {
            cr_expect(!k.exists[REF_KAPPA_TNU]);
        }
        ref_kappa_clear(&k);
    }
}

Test(theorem_kappa, field_closed_forms)
{
    char err[256];
    const size_t D = 3;
    double zero[3] = {0, 0, 0}, e1[12] = {0};
    for (int i = 0; i < 4; i++)
        e1[i * D] = 1;
    struct {
        no_kernel kern;
        double ell, nu;
    } ks[] = {{NO_KERNEL_GAUSSIAN, 0.8, 0}, {NO_KERNEL_MATERN, 1, 2.5}, {NO_KERNEL_MATERN, 1, 3.5}};
    mpfr_t v, h, fp, fm;
    mpfr_inits2(256, v, h, fp, fm, (mpfr_ptr)0);
    for (size_t c = 0; c < 3; c++) {
        ref_kappa k;
        cr_assert_eq(ref_kappa_bound(ks[c].kern, ks[c].ell, ks[c].nu, D, PREC, &k, err, 256), 0);
        double m2 = mpfr_get_d(k.v[REF_SPEC_M2], MPFR_RNDN);
        double m4 = mpfr_get_d(k.v[REF_SPEC_M4], MPFR_RNDN);
        /* at 0: phi = 1, D_aa phi = -E w1^2, D_aaaa phi = E w1^4 */
        double want[5] = {1, 0, -m2, 0, m4};
        for (int m = 0; m <= 4; m++) {
            cr_assert_eq(ref_spectral_dphi(ks[c].kern, ks[c].ell, ks[c].nu, D, zero, m, e1, v), 0);
            cr_expect(fabs(mpfr_get_d(v, MPFR_RNDN) - want[m]) <= 1e-14 * fmax(1, fabs(want[m])),
                      "kernel %zu m %d: %.17g, want %.17g", c, m, mpfr_get_d(v, MPFR_RNDN),
                      want[m]);
        }
        /* D_{d1..dm} phi against central differences of D_{d1..d(m-1)} phi
         * along d_m, step 2^-20 at 256 bits (truncation ~2^-40) */
        double x[3] = {0.3, -0.45, 0.2};
        double dirs[12] = {0.6, 0.8, 0, -0.3, 0.1, 0.9, 0.5, 0.5, -0.7, 0.2, -0.6, 0.4};
        for (int m = 1; m <= 4; m++) {
            double xp[3], xm[3], hh = 0x1p-20;
            for (size_t d = 0; d < D; d++) {
                xp[d] = x[d] + hh * dirs[(m - 1) * D + d];
                xm[d] = x[d] - hh * dirs[(m - 1) * D + d];
            }
            ref_spectral_dphi(ks[c].kern, ks[c].ell, ks[c].nu, D, x, m, dirs, v);
            ref_spectral_dphi(ks[c].kern, ks[c].ell, ks[c].nu, D, xp, m - 1, dirs, fp);
            ref_spectral_dphi(ks[c].kern, ks[c].ell, ks[c].nu, D, xm, m - 1, dirs, fm);
            /* x +- h d is rounded: divide by the displacement actually taken
             * along d, (xp - xm) . d / |d|^2 (rel. error ~2^-36) */
            double step = 0;
            for (size_t d = 0; d < D; d++)
                step += (xp[d] - xm[d]) * dirs[(m - 1) * D + d];
            double dn = 0;
            for (size_t d = 0; d < D; d++)
                dn += dirs[(m - 1) * D + d] * dirs[(m - 1) * D + d];
            mpfr_sub(h, fp, fm, MPFR_RNDN);
            double fd = mpfr_get_d(h, MPFR_RNDN) / (step / dn);
            double an = mpfr_get_d(v, MPFR_RNDN);
            cr_expect(fabs(fd - an) <= 1e-9 * fmax(1, fabs(an)),
                      "kernel %zu m %d: fd %.15g vs %.15g", c, m, fd, an);
        }
        /* the same-point field: ||k(.,0) e1 + D_e1 k(.,0) e1 - D_e1e1 k(.,0) e1||
         * = sqrt(1 + 3 m2 + m4), and the ratio equals it */
        double y[9] = {0}, dir[18] = {0}, alpha[9] = {0}, xs[9] = {0}, es[9] = {0}, as[9] = {0},
               bs[9] = {0};
        int nd[3] = {0, 1, 2};
        for (int t = 0; t < 3; t++) {
            alpha[t * D] = t == 2 ? -1 : 1;
            dir[2 * t * D] = dir[(2 * t + 1) * D] = 1;
            es[t * D] = alpha[t * D];
            as[t * D] = bs[t * D] = 1;
        }
        ref_kappa_field f = {D, 3, y, nd, dir, alpha, xs, es, as, bs};
        double bits, terms[4];
        cr_assert_eq(ref_kappa_ratio(ks[c].kern, ks[c].ell, ks[c].nu, &f, PREC, v, &bits, terms,
                                     err, sizeof err),
                     0, "%s", err);
        double want_r = sqrt(1 + 3 * m2 + m4);
        cr_expect(fabs(mpfr_get_d(v, MPFR_RNDN) - want_r) <= 1e-14 * want_r,
                  "kernel %zu: ratio %.17g, want %.17g", c, mpfr_get_d(v, MPFR_RNDN), want_r);
        cr_expect(bits >= 120, "bits %g", bits);
        cr_expect(fabs(terms[0] - (1 + m2)) <= 1e-13 * (1 + m2), "|v(0)| = 1 + m2");
        cr_expect(fabs(terms[1] - m2) <= 1e-13 * m2, "|Dv(0)| = m2");
        cr_expect(fabs(terms[2] - (m2 + m4)) <= 1e-13 * (m2 + m4), "|D2v(0)| = m2 + m4");
        cr_expect(mpfr_get_d(v, MPFR_RNDN) < mpfr_get_d(k.kappa_up, MPFR_RNDN));
        ref_kappa_clear(&k);
    }
    /* not in V: matern 1.5 has no bounded D^2 v */
    double y[3] = {0}, dir[6] = {1, 0, 0, 1, 0, 0}, alpha[3] = {1, 0, 0}, xs[9] = {0},
           es[9] = {1, 0, 0, 1, 0, 0, 1, 0, 0}, as[9] = {0}, bs[9] = {0};
    int nd[1] = {0};
    ref_kappa_field f = {D, 1, y, nd, dir, alpha, xs, es, as, bs};
    cr_expect_eq(ref_kappa_ratio(NO_KERNEL_MATERN, 1, 1.5, &f, PREC, v, NULL, NULL, err, 256), -1);
    cr_expect(strstr(err, "unbounded") != NULL, "%s", err);
    mpfr_clears(v, h, fp, fm, (mpfr_ptr)0);
}

static double value_of(json_t *o, const char *name, double *bits)
{
    json_t *vals = json_object_get(o, "values");
    for (size_t i = 0; i < json_array_size(vals); i++) {
        json_t *v = json_array_get(vals, i);
        if (!strcmp(json_string_value(json_object_get(v, "name")), name)) {
            if (bits)
                *bits = json_real_value(json_object_get(v, "bits"));
            return json_real_value(json_object_get(v, "value"));
        }
    }
    cr_assert_fail("no value '%s'", name);
    return NAN;
}

Test(theorem_kappa, wrong_constant_fails, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("theorem kappa --nu 2.5 --D 2 --effort 1500 --samples 500 --json");
    cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(o);
    double bits, lower = value_of(o, "lower estimate (optimised field, MPFR)", &bits);
    double m2 = value_of(o, "E w1^2", NULL), m4 = value_of(o, "E w1^4", NULL);
    double err = lower * ldexp(1, -(int)bits + 1);
    /* the true bound holds with margin; E w1^4 halved, or the printed
     * density's moments (m2/2, m4/4), give a bound the field beats */
    cr_expect_eq(no_thm_judge(lower, 1 + sqrt(m2) + sqrt(m4), err), NO_THM_HOLDS);
    cr_expect_eq(no_thm_judge(lower, 1 + sqrt(m2) + sqrt(m4 / 2), err), NO_THM_FAILS,
                 "lower %.17g vs the bound with E w1^4 halved %.17g", lower,
                 1 + sqrt(m2) + sqrt(m4 / 2));
    cr_expect_eq(no_thm_judge(lower, value_of(o, "kappa bound (printed density)", NULL), err),
                 NO_THM_FAILS);
    /* the lower estimate beats the same-point closed form (the search moved) */
    cr_expect(lower > sqrt(1 + 3 * m2 + m4) * 1.05, "lower %.17g", lower);
    json_decref(o);
    run_free(&r);
}

Test(theorem_kappa, cli, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    const char *ok[] = {"theorem kappa --effort 200 --samples 1000 --json",
                        "theorem kappa --kernel gaussian --ell 0.5 --D 3 --effort 200 "
                        "--samples 1000 --json"};
    for (int i = 0; i < 2; i++) {
        run_result r = run(ok[i]);
        cr_expect_eq(r.status, 0, "%s: status %d, %s", ok[i], r.status, r.err);
        no_test_expect_schema_valid(r.out, doc, ok[i]);
        json_error_t jerr;
        json_t *o = json_loads(r.out, 0, &jerr);
        cr_assert_not_null(o, "%s: not JSON", ok[i]);
        cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "holds");
        json_t *det = json_object_get(o, "details");
        cr_expect(json_is_object(json_object_get(det, "lower_estimate")) &&
                      json_is_array(json_object_get(det, "density_readings")),
                  "%s: details", ok[i]);
        json_decref(o);
        run_free(&r);
    }
    /* nu <= 2: reported, the existence check fails (exit 1, one line) */
    run_result r = run("theorem kappa --nu 1.5 --samples 500 --json");
    cr_expect_eq(r.status, 1, "nu 1.5: status %d", r.status);
    cr_expect(strstr(r.err, "2 < nu") && strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
              "nu 1.5: stderr '%s'", r.err);
    no_test_expect_schema_valid(r.out, doc, "nu 1.5");
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(o);
    cr_expect(json_is_null(json_object_get(json_array_get(json_object_get(o, "values"), 7),
                                           "value")),
              "the slides' formula at nu 1.5 is not null");
    json_decref(o);
    run_free(&r);
    r = run("theorem kappa --reading frobenius --effort 100 --samples 500");
    cr_expect_eq(r.status, 1, "frobenius: status %d", r.status);
    cr_expect(strstr(r.err, "Frobenius") != NULL, "%s", r.err);
    run_free(&r);
    const char *const bad[][2] = {
        {"theorem kappa --nu 0", "--nu"},
        {"theorem kappa --nu nan", "--nu"},
        {"theorem kappa --nu -3", "--nu"},
        {"theorem kappa --kernel gaussian --ell 0", "--ell"},
        {"theorem kappa --ell 2", "unit length scale"},
        {"theorem kappa --D 0", "--D"},
        {"theorem kappa --D 65", "--D"},
        {"theorem kappa --prec 10", "--prec"},
        {"theorem kappa --kernel laplace", "--kernel"},
        {"theorem kappa --reading max", "--reading"},
        {"theorem kappa --effort 5", "--effort"},
        {"theorem kappa --samples 1", "--samples"},
        {"theorem kappa --bogus 1", "unknown option"},
        {"theorem kappa --nu", "needs a value"},
    };
    expect_usage_errors(bad, sizeof bad / sizeof bad[0]);
    run_result h = run("theorem kappa --help");
    cr_expect_eq(h.status, 0);
    cr_expect(strstr(h.out, "EXIT STATUS") && strstr(h.out, "--reading"));
    run_free(&h);
}
