/* ref_linear_ce.c - see ref_linear_ce.h; the derivations are in
 * proofs-notes/theorem-linear-counterexample.md (sections 2-5). */
#include <math.h>
#include <stdlib.h>

#include "ref_linear_ce.h"

void ref_lce_time(mpfr_t t, const mpfr_t x, const mpfr_t s)
{
    mpfr_t a;
    mpfr_init2(a, mpfr_get_prec(t) + 16);
    /* log((1 + x)/2) = log1p((x - 1)/2): no cancellation near x = 1 */
    mpfr_sub_ui(a, x, 1, MPFR_RNDN);
    mpfr_div_2ui(a, a, 1, MPFR_RNDN);
    mpfr_log1p(a, a, MPFR_RNDN);
    mpfr_sub(a, x, a, MPFR_RNDN);
    mpfr_sub_ui(a, a, 1, MPFR_RNDN);
    mpfr_mul(t, a, s, MPFR_RNDN);
    mpfr_clear(a);
}

int ref_lce_closed_w(mpfr_t w, const mpfr_t t, const mpfr_t s)
{
    if (!mpfr_number_p(t) || !mpfr_number_p(s) || mpfr_sgn(t) < 0 || mpfr_sgn(s) <= 0)
        return -1;
    mpfr_prec_t wp = mpfr_get_prec(w) + 32;
    mpfr_t x, g, d, tol;
    mpfr_inits2(wp, x, g, d, tol, (mpfr_ptr)0);
    /* x0 = 2 + 2 t/s lies above the root (the proofs note, section 3) */
    mpfr_div(x, t, s, MPFR_RNDN);
    mpfr_add_ui(x, x, 1, MPFR_RNDN);
    mpfr_mul_2ui(x, x, 1, MPFR_RNDN);
    int it, done = 0;
    for (it = 1; it <= 400 && !done; it++) {
        ref_lce_time(g, x, s);
        mpfr_sub(g, g, t, MPFR_RNDN);
        /* t'(x) = s x / (1 + x) */
        mpfr_add_ui(d, x, 1, MPFR_RNDN);
        mpfr_div(d, x, d, MPFR_RNDN);
        mpfr_mul(d, d, s, MPFR_RNDN);
        mpfr_div(d, g, d, MPFR_RNDN); /* the Newton step */
        mpfr_sub(x, x, d, MPFR_RNDN);
        mpfr_mul_2si(tol, x, -(long)(wp - 8), MPFR_RNDN);
        mpfr_abs(d, d, MPFR_RNDN);
        done = mpfr_lessequal_p(d, tol);
    }
    /* w = -log x */
    mpfr_log(x, x, MPFR_RNDN);
    mpfr_neg(w, x, MPFR_RNDN);
    mpfr_clears(x, g, d, tol, (mpfr_ptr)0);
    return done ? it - 1 : -1;
}

/* P_k, the k-th Taylor coefficient of P = y^e (k >= 1), from y_0..y_k and
 * P_0..P_{k-1}: y P' = e y' P gives
 * k y_0 P_k = sum_{j=1..k} ((e + 1) j - k) y_j P_{k-j}. */
static void power_coef(mpfr_t out, const mpfr_t *y, const mpfr_t *P, long e, size_t k,
                       mpfr_t tmp)
{
    mpfr_set_zero(out, 1);
    for (size_t j = 1; j <= k; j++) {
        long f = (e + 1) * (long)j - (long)k;
        if (!f)
            continue;
        mpfr_mul(tmp, y[j], P[k - j], MPFR_RNDN);
        mpfr_mul_si(tmp, tmp, f, MPFR_RNDN);
        mpfr_add(out, out, tmp, MPFR_RNDN);
    }
    mpfr_div(out, out, y[0], MPFR_RNDN);
    mpfr_div_ui(out, out, (unsigned long)k, MPFR_RNDN);
}

/* log2 |v|, or -inf for 0 */
static double log2_abs(const mpfr_t v)
{
    if (mpfr_zero_p(v))
        return -INFINITY;
    long e;
    double m = mpfr_get_d_2exp(&e, v, MPFR_RNDN);
    return log2(fabs(m)) + (double)e;
}

int ref_lce_taylor(mpfr_t *y, const double *times, size_t nt, const mpfr_t y0, const mpfr_t c,
                   long a, long b, mpfr_prec_t prec, size_t *steps)
{
    if (a < 0 || b < 0 || mpfr_sgn(y0) <= 0 || prec < 2)
        return -1;
    for (size_t j = 0; j < nt; j++)
        if (!(times[j] >= 0) || !isfinite(times[j]) || (j && times[j] < times[j - 1]))
            return -1;
    size_t K = (size_t)prec / 2 + 8;
    mpfr_prec_t wp = prec + 32;
    mpfr_t *Y = malloc((K + 1) * sizeof *Y), *Pa = malloc((K + 1) * sizeof *Pa),
           *Pb = malloc((K + 1) * sizeof *Pb);
    if (!Y || !Pa || !Pb) {
        free(Y);
        free(Pa);
        free(Pb);
        return -1;
    }
    for (size_t k = 0; k <= K; k++)
        mpfr_inits2(wp, Y[k], Pa[k], Pb[k], (mpfr_ptr)0);
    mpfr_t t, h, tmp, acc, target;
    mpfr_inits2(wp, t, h, tmp, acc, target, (mpfr_ptr)0);
    mpfr_set(Y[0], y0, MPFR_RNDN);
    mpfr_set_zero(t, 1);
    size_t nsteps = 0, j = 0;
    int rc = 0;
    while (j < nt) {
        mpfr_set_d(target, times[j], MPFR_RNDN);
        if (mpfr_greaterequal_p(t, target)) {
            mpfr_set(y[j++], Y[0], MPFR_RNDN);
            continue;
        }
        /* the coefficients of y at t: y_{k+1} = c (P^a_k + P^b_k)/(k + 1) */
        for (size_t k = 0; k < K; k++) {
            if (k == 0) {
                mpfr_pow_si(Pa[0], Y[0], a, MPFR_RNDN);
                mpfr_pow_si(Pb[0], Y[0], b, MPFR_RNDN);
            } else {
                power_coef(Pa[k], Y, Pa, a, k, tmp);
                power_coef(Pb[k], Y, Pb, b, k, tmp);
            }
            mpfr_add(acc, Pa[k], Pb[k], MPFR_RNDN);
            mpfr_mul(acc, acc, c, MPFR_RNDN);
            mpfr_div_ui(Y[k + 1], acc, (unsigned long)(k + 1), MPFR_RNDN);
        }
        /* Jorba-Zou: h = min over k = K-1, K of (2^-prec |y| / |y_k|)^(1/k),
         * times 0.9 so that the neglected tail is below the target */
        double ly = log2_abs(Y[0]) - (double)prec, lh = INFINITY;
        for (size_t k = K - 1; k <= K; k++) {
            double lk = log2_abs(Y[k]);
            if (isfinite(lk))
                lh = fmin(lh, (ly - lk) / (double)k);
        }
        double hd = isfinite(lh) ? 0.9 * exp2(lh) : INFINITY;
        mpfr_sub(h, target, t, MPFR_RNDN);
        int last = 1;
        if (mpfr_cmp_d(h, hd) > 0) {
            if (!(hd > 1e-300)) {
                rc = -1;
                break;
            }
            mpfr_set_d(h, hd, MPFR_RNDN);
            last = 0;
        }
        /* y(t + h) by Horner */
        mpfr_set(acc, Y[K], MPFR_RNDN);
        for (size_t k = K; k-- > 0;) {
            mpfr_mul(acc, acc, h, MPFR_RNDN);
            mpfr_add(acc, acc, Y[k], MPFR_RNDN);
        }
        mpfr_set(Y[0], acc, MPFR_RNDN);
        if (last)
            mpfr_set(t, target, MPFR_RNDN);
        else
            mpfr_add(t, t, h, MPFR_RNDN);
        nsteps++;
        if (!mpfr_number_p(Y[0]) || mpfr_sgn(Y[0]) <= 0) {
            rc = -1;
            break;
        }
    }
    if (steps)
        *steps = nsteps;
    for (size_t k = 0; k <= K; k++)
        mpfr_clears(Y[k], Pa[k], Pb[k], (mpfr_ptr)0);
    mpfr_clears(t, h, tmp, acc, target, (mpfr_ptr)0);
    free(Y);
    free(Pa);
    free(Pb);
    return rc;
}

int ref_lce_flow_continuous(mpfr_t *w, const double *times, size_t nt, double N,
                            mpfr_prec_t prec, size_t *steps)
{
    if (!(N > 0))
        return -1;
    mpfr_t y0, c;
    mpfr_inits2(prec + 32, y0, c, (mpfr_ptr)0);
    mpfr_set_ui(y0, 1, MPFR_RNDN);
    mpfr_set_si(c, -1, MPFR_RNDN);
    mpfr_div_d(c, c, N, MPFR_RNDN);
    int rc = ref_lce_taylor(w, times, nt, y0, c, 2, 3, prec + 16, steps);
    for (size_t j = 0; !rc && j < nt; j++)
        mpfr_log(w[j], w[j], MPFR_RNDN);
    mpfr_clears(y0, c, (mpfr_ptr)0);
    return rc;
}

int ref_lce_flow_euler(mpfr_t *w, const double *times, size_t nt, double N, size_t L,
                       mpfr_prec_t prec, size_t *steps)
{
    if (L < 1 || L > (size_t)1 << 20 || !(N > 0))
        return -1;
    mpfr_t y0, c;
    mpfr_inits2(prec + 32, y0, c, (mpfr_ptr)0);
    mpfr_set_ui(y0, 1, MPFR_RNDN);
    mpfr_set_si(c, -1, MPFR_RNDN);
    mpfr_div_d(c, c, N, MPFR_RNDN);
    mpfr_div_ui(c, c, (unsigned long)L, MPFR_RNDN);
    int rc = ref_lce_taylor(w, times, nt, y0, c, (long)L - 1, 2 * (long)L - 1, prec + 16, steps);
    for (size_t j = 0; !rc && j < nt; j++) {
        mpfr_sub_ui(w[j], w[j], 1, MPFR_RNDN);
        mpfr_mul_ui(w[j], w[j], (unsigned long)L, MPFR_RNDN);
    }
    mpfr_clears(y0, c, (mpfr_ptr)0);
    return rc;
}

int ref_lce_gd_euler(double *w, size_t steps, double eta, double N, size_t L, mpfr_prec_t prec)
{
    if (L < 1 || !(N > 0))
        return -1;
    mpfr_t x, r, p, q;
    mpfr_inits2(prec, x, r, p, q, (mpfr_ptr)0);
    mpfr_set_zero(x, 1);
    w[0] = 0;
    for (size_t n = 1; n <= steps; n++) {
        mpfr_div_ui(r, x, (unsigned long)L, MPFR_RNDN);
        mpfr_add_ui(r, r, 1, MPFR_RNDN);
        mpfr_pow_ui(p, r, (unsigned long)(L - 1), MPFR_RNDN); /* r^(L-1) */
        mpfr_mul(q, p, r, MPFR_RNDN);                         /* r^L */
        mpfr_add_ui(q, q, 1, MPFR_RNDN);
        mpfr_mul(p, p, q, MPFR_RNDN);
        mpfr_mul_d(p, p, eta, MPFR_RNDN);
        mpfr_div_d(p, p, N, MPFR_RNDN);
        mpfr_sub(x, x, p, MPFR_RNDN);
        w[n] = mpfr_get_d(x, MPFR_RNDN);
    }
    mpfr_clears(x, r, p, q, (mpfr_ptr)0);
    return 0;
}
