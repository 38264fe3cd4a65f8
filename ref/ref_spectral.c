/* ref_spectral.c - spectral moments, the kappa bounds and exact evaluation
 * of fields of the RKHS (ref_spectral.h; proofs-notes/theorem-kappa.md).
 *
 * Two independent routes to the same numbers: the values v[] from the
 * scale-mixture moments E S^{2j} = nu^j Gamma(nu - j) / Gamma(nu) (mpfr_gamma),
 * and the rigorous bounds kappa_up, kappa_frob_up from the rational closed
 * forms with directed rounding.  The slides' formula is evaluated as printed,
 * a third route. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"
#include "ref_spectral.h"

static const char *const names[REF_KAPPA_NQ] = {
    "E w1^2", "E w1^4", "E w1^2 w2^2", "E |w|^2", "E |w|^4",
    "kappa bound (operator reading)", "kappa bound (Frobenius reading)",
    "slides' formula", "kappa bound (printed density)", "kappa bound (t, nu dof)",
};

const char *ref_kappa_name(int i)
{
    return i >= 0 && i < REF_KAPPA_NQ ? names[i] : "?";
}

static mpfr_prec_t guard(mpfr_prec_t prec)
{
    return prec / 2 > 32 ? prec / 2 : 32;
}

/* Above this precision mpfr_gamma takes minutes; the moments then use
 * Gamma(a) = (a-1)...(a-j) Gamma(a-j) (exact identity), at any precision. */
#define GAMMA_PREC_MAX 4096

/* E S^{2j} for S^2 = a / Gamma(a, 1) (a t with 2 a dof): a^j Gamma(a - j) /
 * Gamma(a), at out's precision; +Inf when a <= j.  a <= 1e6, so a - j is
 * exact in 128 bits. */
static void tmoment(double a, unsigned j, mpfr_t out)
{
    if (!(a > (double)j)) {
        mpfr_set_inf(out, 1);
        return;
    }
    mpfr_prec_t w = mpfr_get_prec(out) + 32;
    mpfr_t x, g1, g2;
    mpfr_inits2(w < 128 ? 128 : w, x, g1, g2, (mpfr_ptr)0);
    if (w > GAMMA_PREC_MAX) {
        mpfr_set_d(x, a, MPFR_RNDN);
        mpfr_pow_ui(g1, x, j, MPFR_RNDN);
        for (unsigned i = 1; i <= j; i++) {
            mpfr_sub_ui(g2, x, i, MPFR_RNDN); /* exact */
            mpfr_div(g1, g1, g2, MPFR_RNDN);
        }
        mpfr_set(out, g1, MPFR_RNDN);
        mpfr_clears(x, g1, g2, (mpfr_ptr)0);
        return;
    }
    mpfr_set_d(x, a, MPFR_RNDN);
    mpfr_gamma(g1, x, MPFR_RNDN);
    mpfr_sub_ui(x, x, j, MPFR_RNDN); /* exact */
    mpfr_gamma(g2, x, MPFR_RNDN);
    mpfr_div(g2, g2, g1, MPFR_RNDN);
    mpfr_set_d(x, a, MPFR_RNDN);
    mpfr_pow_ui(x, x, j, MPFR_RNDN);
    mpfr_mul(out, g2, x, MPFR_RNDN);
    mpfr_clears(x, g1, g2, (mpfr_ptr)0);
}

static int bad_args(no_kernel kernel, double ell, double nu)
{
    if (!(ell > 0) || !isfinite(ell))
        return 1;
    return kernel == NO_KERNEL_MATERN && (!(nu > 0) || !(nu <= 1e6));
}

/* out /= ell^(2j) (round to nearest, at out's precision + 32). */
static void div_ell(mpfr_t out, double ell, unsigned j)
{
    if (ell == 1.0 || !mpfr_number_p(out))
        return;
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(out) + 32);
    mpfr_set_d(t, ell, MPFR_RNDN);
    mpfr_pow_ui(t, t, 2 * j, MPFR_RNDN);
    mpfr_div(out, out, t, MPFR_RNDN);
    mpfr_clear(t);
}

int ref_spectral_smoment(no_kernel kernel, double ell, double nu, unsigned j, mpfr_t out)
{
    if (bad_args(kernel, ell, nu))
        return -1;
    if (kernel == NO_KERNEL_GAUSSIAN)
        mpfr_set_ui(out, 1, MPFR_RNDN);
    else
        tmoment(nu, j, out);
    div_ell(out, ell, j);
    return 0;
}

/* All quantities at precision p into v (initialised), round to nearest. */
static void compute(no_kernel kernel, double ell, double nu, size_t D, mpfr_prec_t p,
                    mpfr_t *v, int *exists)
{
    mpfr_prec_t w = p + 32;
    mpfr_t s1, s2, t, u;
    mpfr_inits2(w, s1, s2, t, u, (mpfr_ptr)0);
    ref_spectral_smoment(kernel, ell, nu, 1, s1);
    ref_spectral_smoment(kernel, ell, nu, 2, s2);
    int mat = kernel == NO_KERNEL_MATERN;
    int e2 = !mat || nu > 1, e4 = !mat || nu > 2;
    mpfr_set(v[REF_SPEC_M2], s1, MPFR_RNDN);
    mpfr_mul_ui(v[REF_SPEC_M4], s2, 3, MPFR_RNDN);
    mpfr_set(v[REF_SPEC_M22], s2, MPFR_RNDN);
    mpfr_mul_ui(v[REF_SPEC_N2], s1, (unsigned long)D, MPFR_RNDN);
    mpfr_mul_ui(t, s2, (unsigned long)D, MPFR_RNDN);
    mpfr_mul_ui(v[REF_SPEC_N4], t, (unsigned long)(D + 2), MPFR_RNDN);
    exists[REF_SPEC_M2] = exists[REF_SPEC_N2] = e2;
    exists[REF_SPEC_M4] = exists[REF_SPEC_M22] = exists[REF_SPEC_N4] = e4;
    /* operator reading: 1 + sqrt(s1) + sqrt(3 s2) */
    mpfr_sqrt(t, s1, MPFR_RNDN);
    mpfr_mul_ui(u, s2, 3, MPFR_RNDN);
    mpfr_sqrt(u, u, MPFR_RNDN);
    mpfr_add(u, u, t, MPFR_RNDN);
    mpfr_add_ui(v[REF_KAPPA_OP], u, 1, MPFR_RNDN);
    /* Frobenius: 1 + sqrt(s1) + sqrt((D + 2) s2) */
    mpfr_mul_ui(u, s2, (unsigned long)(D + 2), MPFR_RNDN);
    mpfr_sqrt(u, u, MPFR_RNDN);
    mpfr_add(u, u, t, MPFR_RNDN);
    mpfr_add_ui(v[REF_KAPPA_FROB], u, 1, MPFR_RNDN);
    exists[REF_KAPPA_OP] = exists[REF_KAPPA_FROB] = e4;
    /* the slides' forms: matern only */
    for (int i = REF_KAPPA_SLIDES; i <= REF_KAPPA_TNU; i++) {
        mpfr_set_nan(v[i]);
        exists[i] = 0;
    }
    if (mat && nu > 2) {
        /* as printed: 1 + sqrt(nu/(nu-1)) + sqrt(3 nu^2/((nu-1)(nu-2))) */
        mpfr_t a, b;
        mpfr_inits2(w < 128 ? 128 : w, a, b, (mpfr_ptr)0);
        mpfr_set_d(a, nu, MPFR_RNDN);
        mpfr_sub_ui(a, a, 1, MPFR_RNDN); /* exact */
        mpfr_set_d(b, nu, MPFR_RNDN);
        mpfr_div(t, b, a, MPFR_RNDN);
        mpfr_sqrt(t, t, MPFR_RNDN);
        mpfr_sub_ui(b, b, 2, MPFR_RNDN); /* exact */
        mpfr_mul(a, a, b, MPFR_RNDN);
        mpfr_set_d(b, nu, MPFR_RNDN);
        mpfr_sqr(u, b, MPFR_RNDN);
        mpfr_mul_ui(u, u, 3, MPFR_RNDN);
        mpfr_div(u, u, a, MPFR_RNDN);
        mpfr_sqrt(u, u, MPFR_RNDN);
        mpfr_add(u, u, t, MPFR_RNDN);
        mpfr_add_ui(v[REF_KAPPA_SLIDES], u, 1, MPFR_RNDN);
        mpfr_clears(a, b, (mpfr_ptr)0);
        /* printed density = our law / sqrt 2: 1 + sqrt(s1/2) + sqrt(3 s2)/2 */
        mpfr_div_2ui(t, s1, 1, MPFR_RNDN);
        mpfr_sqrt(t, t, MPFR_RNDN);
        mpfr_mul_ui(u, s2, 3, MPFR_RNDN);
        mpfr_sqrt(u, u, MPFR_RNDN);
        mpfr_div_2ui(u, u, 1, MPFR_RNDN);
        mpfr_add(u, u, t, MPFR_RNDN);
        mpfr_add_ui(v[REF_KAPPA_LITERAL], u, 1, MPFR_RNDN);
        exists[REF_KAPPA_SLIDES] = exists[REF_KAPPA_LITERAL] = 1;
    }
    if (mat && nu > 4) {
        /* t with nu dof: E S^{2j} = (nu/2)^j Gamma(nu/2 - j)/Gamma(nu/2) */
        tmoment(nu / 2, 1, t);
        div_ell(t, ell, 1);
        tmoment(nu / 2, 2, u);
        div_ell(u, ell, 2);
        mpfr_mul_ui(u, u, 3, MPFR_RNDN);
        mpfr_sqrt(u, u, MPFR_RNDN);
        mpfr_sqrt(t, t, MPFR_RNDN);
        mpfr_add(u, u, t, MPFR_RNDN);
        mpfr_add_ui(v[REF_KAPPA_TNU], u, 1, MPFR_RNDN);
        exists[REF_KAPPA_TNU] = 1;
    }
    for (int i = 0; i < REF_KAPPA_SLIDES; i++)
        if (!exists[i])
            mpfr_set_inf(v[i], 1);
    mpfr_clears(s1, s2, t, u, (mpfr_ptr)0);
}

/* kappa_up, kappa_frob_up: the closed forms with every rounding directed so
 * that the result is >= the real number (all quantities are positive). */
static void upper(no_kernel kernel, double ell, double nu, size_t D, mpfr_t op, mpfr_t frob)
{
    if (kernel == NO_KERNEL_MATERN && !(nu > 2)) {
        mpfr_set_inf(op, 1);
        mpfr_set_inf(frob, 1);
        return;
    }
    mpfr_prec_t p = mpfr_get_prec(op);
    mpfr_t m2, m4, l2, a, b;
    mpfr_inits2(p, m2, m4, l2, (mpfr_ptr)0);
    mpfr_inits2(p < 128 ? 128 : p, a, b, (mpfr_ptr)0);
    mpfr_set_d(l2, ell, MPFR_RNDN);
    mpfr_sqr(l2, l2, MPFR_RNDD); /* ell^2, rounded down */
    if (kernel == NO_KERNEL_GAUSSIAN) {
        mpfr_ui_div(m2, 1, l2, MPFR_RNDU);
        mpfr_sqr(a, l2, MPFR_RNDD);
        mpfr_ui_div(m4, 3, a, MPFR_RNDU);
    } else {
        mpfr_set_d(a, nu, MPFR_RNDN);
        mpfr_sub_ui(a, a, 1, MPFR_RNDN); /* nu - 1, exact */
        mpfr_mul(b, a, l2, MPFR_RNDD);
        mpfr_set_d(m2, nu, MPFR_RNDN);
        mpfr_div(m2, m2, b, MPFR_RNDU); /* nu / ((nu - 1) ell^2) */
        mpfr_set_d(b, nu, MPFR_RNDN);
        mpfr_sub_ui(b, b, 2, MPFR_RNDN); /* nu - 2, exact */
        mpfr_mul(a, a, b, MPFR_RNDD);
        mpfr_mul(a, a, l2, MPFR_RNDD);
        mpfr_mul(a, a, l2, MPFR_RNDD);
        mpfr_set_d(b, nu, MPFR_RNDN);
        mpfr_sqr(m4, b, MPFR_RNDU);
        mpfr_mul_ui(m4, m4, 3, MPFR_RNDU);
        mpfr_div(m4, m4, a, MPFR_RNDU); /* 3 nu^2 / ((nu-1)(nu-2) ell^4) */
    }
    mpfr_sqrt(m2, m2, MPFR_RNDU);
    mpfr_sqrt(l2, m4, MPFR_RNDU);
    mpfr_add(op, m2, l2, MPFR_RNDU);
    mpfr_add_ui(op, op, 1, MPFR_RNDU);
    /* E |w|^4 / D = (D + 2)/3 E w_1^4 */
    mpfr_mul_ui(m4, m4, (unsigned long)(D + 2), MPFR_RNDU);
    mpfr_div_ui(m4, m4, 3, MPFR_RNDU);
    mpfr_sqrt(m4, m4, MPFR_RNDU);
    mpfr_add(frob, m2, m4, MPFR_RNDU);
    mpfr_add_ui(frob, frob, 1, MPFR_RNDU);
    mpfr_clears(m2, m4, l2, a, b, (mpfr_ptr)0);
}

void ref_kappa_clear(ref_kappa *k)
{
    if (!k || !k->prec)
        return;
    for (int i = 0; i < REF_KAPPA_NQ; i++)
        mpfr_clear(k->v[i]);
    mpfr_clears(k->kappa_up, k->kappa_frob_up, (mpfr_ptr)0);
    k->prec = 0;
}

int ref_kappa_bound(no_kernel kernel, double ell, double nu, size_t D, mpfr_prec_t prec,
                    ref_kappa *out, char *err, size_t len)
{
    memset(out, 0, sizeof *out);
    if (kernel != NO_KERNEL_GAUSSIAN && kernel != NO_KERNEL_MATERN)
        return no_errorf(err, len, "kappa: unknown kernel");
    if (!(ell >= 1e-6) || !(ell <= 1e6))
        return no_errorf(err, len, "kappa: ell must be in [1e-6, 1e6], got %g", ell);
    if (kernel == NO_KERNEL_MATERN && (!(nu > 0) || !(nu <= 1e6)))
        return no_errorf(err, len, "kappa: nu must be in (0, 1e6], got %g", nu);
    if (D < 1 || D > 1000000)
        return no_errorf(err, len, "kappa: D must be in [1, 1e6], got %zu", D);
    if (prec < REF_PREC_MIN || prec > REF_CERTIFY_PREC_MAX)
        return no_errorf(err, len, "kappa: precision must be in [%d, %d], got %ld",
                         REF_PREC_MIN, REF_CERTIFY_PREC_MAX, (long)prec);
    out->kernel = kernel;
    out->ell = ell;
    out->nu = kernel == NO_KERNEL_MATERN ? nu : 0;
    out->D = D;
    out->prec = prec;
    mpfr_prec_t hi = prec + guard(prec);
    mpfr_t vhi[REF_KAPPA_NQ];
    int ehi[REF_KAPPA_NQ];
    for (int i = 0; i < REF_KAPPA_NQ; i++) {
        mpfr_init2(out->v[i], prec);
        mpfr_init2(vhi[i], hi);
    }
    mpfr_inits2(prec, out->kappa_up, out->kappa_frob_up, (mpfr_ptr)0);
    compute(kernel, ell, out->nu, D, prec, out->v, out->exists);
    compute(kernel, ell, out->nu, D, hi, vhi, ehi);
    for (int i = 0; i < REF_KAPPA_NQ; i++) {
        out->bits[i] = out->exists[i] ? ref_correct_bits(out->v[i], vhi[i], prec) : 0;
        mpfr_clear(vhi[i]);
    }
    upper(kernel, ell, out->nu, D, out->kappa_up, out->kappa_frob_up);
    return 0;
}

/* ---- derivatives of phi and fields of V ------------------------------- */

/* k_j(s) e^s, the half-integer Matern polynomials (ref_kernel.h). */
static void kpoly(int j, mpfr_t out, const mpfr_t s, mpfr_t t)
{
    static const unsigned long den[4] = {1, 1, 3, 15};
    static const unsigned long co[4][4] = {{1, 0, 0, 0}, {1, 1, 0, 0}, {3, 3, 1, 0},
                                           {15, 15, 6, 1}};
    mpfr_set_ui(out, co[j][j], MPFR_RNDN); /* Horner */
    for (int i = j - 1; i >= 0; i--) {
        mpfr_mul(t, out, s, MPFR_RNDN);
        mpfr_add_ui(out, t, co[j][i], MPFR_RNDN);
    }
    mpfr_div_ui(out, out, den[j], MPFR_RNDN);
}

/* G_j(s) e^s = (1/s d/ds)^j e^-s times e^s = (-1)^j P_j(s) / s^(2j-1),
 * P_1 = 1, P_2 = 1 + s, P_3 = 3 + 3s + s^2, P_4 = 15 + 15s + 6s^2 + s^3. */
static void gpoly(int j, mpfr_t out, const mpfr_t s, mpfr_t t)
{
    static const unsigned long co[5][4] = {{1, 0, 0, 0}, {1, 0, 0, 0}, {1, 1, 0, 0},
                                           {3, 3, 1, 0}, {15, 15, 6, 1}};
    int deg = j - 1 < 0 ? 0 : j - 1;
    mpfr_set_ui(out, co[j][deg], MPFR_RNDN);
    for (int i = deg - 1; i >= 0; i--) {
        mpfr_mul(t, out, s, MPFR_RNDN);
        mpfr_add_ui(out, t, co[j][i], MPFR_RNDN);
    }
    if (j == 0)
        return;
    mpfr_pow_ui(t, s, (unsigned long)(2 * j - 1), MPFR_RNDN);
    mpfr_div(out, out, t, MPFR_RNDN);
    if (j & 1)
        mpfr_neg(out, out, MPFR_RNDN);
}

/* u = g^{(n)}(r^2/2) for phi = g(|x|^2/2), from r2 = |x|^2
 * (theorem-kappa.md section 3). */
static void radial_u(no_kernel kernel, double ell, int p, int n, const mpfr_t r2, mpfr_t u)
{
    mpfr_prec_t w = mpfr_get_prec(u);
    mpfr_t c2, s, e, t, q;
    mpfr_inits2(w, c2, s, e, t, q, (mpfr_ptr)0);
    mpfr_set_d(t, ell, MPFR_RNDN);
    mpfr_sqr(t, t, MPFR_RNDN);
    if (kernel == NO_KERNEL_GAUSSIAN) {
        /* (-1/ell^2)^n exp(-r^2/(2 ell^2)) */
        mpfr_div(e, r2, t, MPFR_RNDN);
        mpfr_div_2ui(e, e, 1, MPFR_RNDN);
        mpfr_neg(e, e, MPFR_RNDN);
        mpfr_exp(e, e, MPFR_RNDN);
        mpfr_pow_ui(t, t, (unsigned long)n, MPFR_RNDN);
        mpfr_div(u, e, t, MPFR_RNDN);
        if (n & 1)
            mpfr_neg(u, u, MPFR_RNDN);
    } else {
        mpfr_ui_div(c2, (unsigned long)(2 * p + 1), t, MPFR_RNDN); /* c^2 = 2 nu / ell^2 */
        mpfr_mul(s, r2, c2, MPFR_RNDN);
        mpfr_sqrt(s, s, MPFR_RNDN);
        mpfr_neg(e, s, MPFR_RNDN);
        mpfr_exp(e, e, MPFR_RNDN);
        unsigned long den = 1;
        int m = n <= p ? n : p;
        for (int j = 0; j < m; j++)
            den *= (unsigned long)(2 * (p - j) - 1);
        if (n <= p)
            kpoly(p - n, q, s, t);
        else
            gpoly(n - p, q, s, t);
        mpfr_mul(q, q, e, MPFR_RNDN);
        mpfr_pow_ui(t, c2, (unsigned long)n, MPFR_RNDN);
        mpfr_mul(q, q, t, MPFR_RNDN);
        mpfr_div_ui(u, q, den, MPFR_RNDN);
        if (m & 1)
            mpfr_neg(u, u, MPFR_RNDN);
    }
    mpfr_clears(c2, s, e, t, q, (mpfr_ptr)0);
}

/* coef[nb] += products over the partitions of mask into 1- and 2-blocks. */
static void partitions(unsigned mask, int nb, mpfr_t *prod, mpfr_t *xd, mpfr_t dd[4][4],
                       mpfr_t *coef)
{
    if (!mask) {
        mpfr_add(coef[nb], coef[nb], prod[nb], MPFR_RNDN);
        return;
    }
    int i = 0;
    while (!(mask >> i & 1))
        i++;
    unsigned rest = mask & ~(1u << i);
    mpfr_mul(prod[nb + 1], prod[nb], xd[i], MPFR_RNDN);
    partitions(rest, nb + 1, prod, xd, dd, coef);
    for (int j = i + 1; j < 4; j++)
        if (rest >> j & 1) {
            mpfr_mul(prod[nb + 1], prod[nb], dd[i][j], MPFR_RNDN);
            partitions(rest & ~(1u << j), nb + 1, prod, xd, dd, coef);
        }
}

static int supported(no_kernel kernel, double nu, int *p)
{
    *p = 0;
    if (kernel == NO_KERNEL_GAUSSIAN)
        return 1;
    int q = (int)(nu - 0.5);
    if (q < 0 || q > 3 || nu != q + 0.5)
        return 0;
    *p = q;
    return 1;
}

/* D_{dirs} phi(x) at out's precision, x given in MPFR (D numbers). */
static void dphi_mp(no_kernel kernel, double ell, int p, size_t D, mpfr_t *x, int m,
                    const double *dirs, mpfr_t out)
{
    mpfr_prec_t w = mpfr_get_prec(out) + 16;
    mpfr_t r2, t, u, prod[5], xd[4], dd[4][4], coef[5];
    mpfr_inits2(w, r2, t, u, (mpfr_ptr)0);
    for (int i = 0; i < 5; i++) {
        mpfr_init2(prod[i], w);
        mpfr_init2(coef[i], w);
        mpfr_set_zero(coef[i], 1);
    }
    for (int i = 0; i < 4; i++) {
        mpfr_init2(xd[i], w);
        for (int j = 0; j < 4; j++)
            mpfr_init2(dd[i][j], w);
    }
    mpfr_set_zero(r2, 1);
    for (size_t d = 0; d < D; d++)
        mpfr_fma(r2, x[d], x[d], r2, MPFR_RNDN);
    for (int i = 0; i < m; i++) {
        mpfr_set_zero(xd[i], 1);
        for (size_t d = 0; d < D; d++) {
            mpfr_mul_d(t, x[d], dirs[i * D + d], MPFR_RNDN);
            mpfr_add(xd[i], xd[i], t, MPFR_RNDN);
        }
        for (int j = i + 1; j < m; j++) {
            mpfr_set_zero(dd[i][j], 1);
            for (size_t d = 0; d < D; d++) {
                mpfr_set_d(t, dirs[i * D + d], MPFR_RNDN);
                mpfr_mul_d(t, t, dirs[j * D + d], MPFR_RNDN);
                mpfr_add(dd[i][j], dd[i][j], t, MPFR_RNDN);
            }
        }
    }
    mpfr_set_ui(prod[0], 1, MPFR_RNDN);
    partitions(m ? (1u << m) - 1 : 0, 0, prod, xd, dd, coef);
    mpfr_set_zero(t, 1);
    for (int nb = 0; nb <= m; nb++) {
        if (mpfr_zero_p(coef[nb]))
            continue; /* at x = 0 the singular g^(n) only meet x . d = 0 */
        radial_u(kernel, ell, p, nb, r2, u);
        mpfr_fma(t, coef[nb], u, t, MPFR_RNDN);
    }
    mpfr_set(out, t, MPFR_RNDN);
    mpfr_clears(r2, t, u, (mpfr_ptr)0);
    for (int i = 0; i < 5; i++)
        mpfr_clears(prod[i], coef[i], (mpfr_ptr)0);
    for (int i = 0; i < 4; i++) {
        mpfr_clear(xd[i]);
        for (int j = 0; j < 4; j++)
            mpfr_clear(dd[i][j]);
    }
}

int ref_spectral_dphi(no_kernel kernel, double ell, double nu, size_t D, const double *x,
                      int m, const double *dirs, mpfr_t out)
{
    int p;
    if (m < 0 || m > 4 || !supported(kernel, nu, &p) || !(ell > 0) || !D)
        return -1;
    mpfr_t *xm = ref_vec_new(D, mpfr_get_prec(out) + 16);
    if (!xm)
        return -1;
    for (size_t d = 0; d < D; d++)
        mpfr_set_d(xm[d], x[d], MPFR_RNDN);
    dphi_mp(kernel, ell, p, D, xm, m, dirs, out);
    ref_vec_free(xm, D);
    return 0;
}

/* <D_A k(., y), D_B k(., z)> = (-1)^|B| D_{A u B} phi(y - z); off: D numbers
 * of scratch (y - z is formed there, at its precision), dirs: 4 D. */
static void atom_ip(no_kernel kernel, double ell, int p, size_t D, const double *y, int na,
                    const double *da, const double *z, int nb, const double *db, mpfr_t *off,
                    double *dirs, mpfr_t out)
{
    for (size_t d = 0; d < D; d++) {
        mpfr_set_d(off[d], y[d], MPFR_RNDN);
        mpfr_sub_d(off[d], off[d], z[d], MPFR_RNDN);
    }
    if (na)
        memcpy(dirs, da, (size_t)na * D * sizeof *dirs);
    if (nb)
        memcpy(dirs + (size_t)na * D, db, (size_t)nb * D * sizeof *dirs);
    dphi_mp(kernel, ell, p, D, off, na + nb, dirs, out);
    if (nb & 1)
        mpfr_neg(out, out, MPFR_RNDN);
}

/* The ratio at precision w; terms (may be NULL) get the three terms and the
 * norm. */
static int ratio_at(no_kernel kernel, double ell, int p, const ref_kappa_field *f,
                    mpfr_prec_t w, mpfr_t ratio, double terms[4])
{
    size_t D = f->D, n = f->n;
    double *dirs = malloc(4 * D * sizeof *dirs), *B = malloc(2 * D * sizeof *B);
    mpfr_t *off = ref_vec_new(D, w + 16);
    if (!off || !dirs || !B) {
        ref_vec_free(off, off ? D : 0);
        free(dirs);
        free(B);
        return -1;
    }
    mpfr_t ip, a, acc, term, nrm, sc;
    mpfr_inits2(w + 16, ip, a, acc, term, nrm, sc, (mpfr_ptr)0);
    mpfr_set_zero(nrm, 1); /* ||v||^2 = sum_ij (alpha_i . alpha_j) <atom_i, atom_j> */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            mpfr_set_zero(a, 1);
            for (size_t d = 0; d < D; d++) {
                mpfr_set_d(sc, f->alpha[i * D + d], MPFR_RNDN);
                mpfr_mul_d(sc, sc, f->alpha[j * D + d], MPFR_RNDN);
                mpfr_add(a, a, sc, MPFR_RNDN);
            }
            atom_ip(kernel, ell, p, D, f->y + i * D, f->nd[i], f->dir + 2 * i * D,
                    f->y + j * D, f->nd[j], f->dir + 2 * j * D, off, dirs, ip);
            mpfr_fma(nrm, a, ip, nrm, MPFR_RNDN);
        }
    mpfr_sqrt(nrm, nrm, MPFR_RNDN);
    mpfr_set_zero(acc, 1);
    for (int t = 0; t < 3; t++) {
        /* e . D_B v(x) = sum_i (alpha_i . e) <atom_i, D_B k(., x)> */
        const double *x = f->x + t * D, *e = f->e + t * D;
        memcpy(B, f->a + t * D, D * sizeof *B);
        memcpy(B + D, f->b + t * D, D * sizeof *B);
        mpfr_set_zero(term, 1);
        for (size_t i = 0; i < n; i++) {
            mpfr_set_zero(a, 1);
            for (size_t d = 0; d < D; d++) {
                mpfr_set_d(sc, f->alpha[i * D + d], MPFR_RNDN);
                mpfr_mul_d(sc, sc, e[d], MPFR_RNDN);
                mpfr_add(a, a, sc, MPFR_RNDN);
            }
            atom_ip(kernel, ell, p, D, f->y + i * D, f->nd[i], f->dir + 2 * i * D, x, t, B,
                    off, dirs, ip);
            mpfr_fma(term, a, ip, term, MPFR_RNDN);
        }
        mpfr_abs(term, term, MPFR_RNDN);
        const double *vs[3] = {e, B, B + D}; /* divide by |e| |a| |b| */
        for (int k = 0; k <= t; k++) {
            mpfr_set_zero(a, 1);
            for (size_t d = 0; d < D; d++) {
                mpfr_set_d(sc, vs[k][d], MPFR_RNDN);
                mpfr_fma(a, sc, sc, a, MPFR_RNDN);
            }
            mpfr_sqrt(a, a, MPFR_RNDN);
            mpfr_div(term, term, a, MPFR_RNDN);
        }
        if (terms)
            terms[t] = mpfr_get_d(term, MPFR_RNDN);
        mpfr_add(acc, acc, term, MPFR_RNDN);
    }
    if (terms)
        terms[3] = mpfr_get_d(nrm, MPFR_RNDN);
    mpfr_div(ratio, acc, nrm, MPFR_RNDN);
    mpfr_clears(ip, a, acc, term, nrm, sc, (mpfr_ptr)0);
    ref_vec_free(off, D);
    free(dirs);
    free(B);
    return 0;
}

int ref_kappa_ratio(no_kernel kernel, double ell, double nu, const ref_kappa_field *f,
                    mpfr_prec_t prec, mpfr_t ratio, double *bits, double terms[4], char *err,
                    size_t len)
{
    int p;
    if (!supported(kernel, nu, &p))
        return no_errorf(err, len, "kappa: matern nu must be 0.5, 1.5, 2.5 or 3.5, got %g",
                         nu);
    if (!(ell > 0) || !isfinite(ell))
        return no_errorf(err, len, "kappa: ell must be finite > 0");
    if (!f->D || !f->n)
        return no_errorf(err, len, "kappa: empty field");
    if (kernel == NO_KERNEL_MATERN && p < 2)
        return no_errorf(err, len, "kappa: D^2 v is unbounded on V for nu = %g <= 2", nu);
    for (size_t i = 0; i < f->n; i++)
        if (f->nd[i] < 0 || f->nd[i] > 2)
            return no_errorf(err, len, "kappa: atom %zu has %d derivatives (0..2)", i,
                             f->nd[i]);
    mpfr_prec_t hi = prec + guard(prec);
    mpfr_t rhi;
    mpfr_init2(rhi, hi);
    int rc = ratio_at(kernel, ell, p, f, prec, ratio, terms) ||
             ratio_at(kernel, ell, p, f, hi, rhi, NULL);
    if (rc) {
        mpfr_clear(rhi);
        return no_errorf(err, len, "kappa: out of memory");
    }
    if (bits)
        *bits = ref_correct_bits(ratio, rhi, prec);
    mpfr_clear(rhi);
    if (!mpfr_number_p(ratio))
        return no_errorf(err, len, "kappa: the field has norm 0 or is not finite");
    return 0;
}
