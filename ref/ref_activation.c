/* ref_activation.c - see ref_activation.h. */
#include "ref_activation.h"

/* sigma and sigma' at x, the definitions of proofs-notes/activations.md:
 * tanh; softplus log(1 + e^x) with derivative 1/(1 + e^-x); relu with
 * derivative [x > 0]; hrelu 0 | (x+1)^2/4 | x on x <= -1 | |x| < 1 | x >= 1
 * with derivative 0 | (x+1)/2 | 1.  Each branch is a few correctly rounded
 * MPFR operations, so every value is known to within a few ulps of s's
 * precision (ref_certify recomputes at a higher one to count the bits). */
void ref_activation(no_activation act, mpfr_t s, mpfr_t ds, mpfr_t x, mpfr_t tmp)
{
    switch (act) {
    case NO_ACT_TANH:
        mpfr_tanh(s, x, MPFR_RNDN);
        mpfr_sqr(ds, s, MPFR_RNDN);
        mpfr_ui_sub(ds, 1, ds, MPFR_RNDN);
        break;
    case NO_ACT_SOFTPLUS:
        /* The exponent kept <= 0, as in fast: e^x overflows MPFR's exponent
         * range for x > 2^30 ln 2, where softplus(x) = x + log1p(e^-x) is
         * still finite; x <= 0: log1p(e^x) and e^x / (1 + e^x). */
        if (mpfr_sgn(x) > 0) {
            mpfr_neg(tmp, x, MPFR_RNDN);
            mpfr_exp(tmp, tmp, MPFR_RNDN);
            mpfr_log1p(s, tmp, MPFR_RNDN);
            mpfr_add(s, s, x, MPFR_RNDN);
            mpfr_add_ui(tmp, tmp, 1, MPFR_RNDN);
            mpfr_ui_div(ds, 1, tmp, MPFR_RNDN);
        } else {
            mpfr_exp(tmp, x, MPFR_RNDN);
            mpfr_log1p(s, tmp, MPFR_RNDN);
            mpfr_set(ds, tmp, MPFR_RNDN);
            mpfr_add_ui(tmp, tmp, 1, MPFR_RNDN);
            mpfr_div(ds, ds, tmp, MPFR_RNDN);
        }
        break;
    case NO_ACT_RELU:
        if (mpfr_sgn(x) > 0) {
            mpfr_set(s, x, MPFR_RNDN);
            mpfr_set_ui(ds, 1, MPFR_RNDN);
        } else {
            mpfr_set_zero(s, 1);
            mpfr_set_zero(ds, 1);
        }
        break;
    case NO_ACT_HRELU:
        /* sigma and sigma' are continuous at -1 and 1 (the pieces agree
         * there), so an x that ref and fast round to opposite sides of a
         * branch point changes both by O(|x - x'|): unlike relu's kink. */
        if (mpfr_cmp_si(x, -1) <= 0) {
            mpfr_set_zero(s, 1);
            mpfr_set_zero(ds, 1);
        } else if (mpfr_cmp_ui(x, 1) >= 0) {
            mpfr_set(s, x, MPFR_RNDN);
            mpfr_set_ui(ds, 1, MPFR_RNDN);
        } else {
            mpfr_add_ui(tmp, x, 1, MPFR_RNDN);
            mpfr_sqr(s, tmp, MPFR_RNDN);
            mpfr_div_2ui(s, s, 2, MPFR_RNDN); /* exact: a power of two */
            mpfr_div_2ui(ds, tmp, 1, MPFR_RNDN);
        }
        break;
    default:
        /* no_spec_validate rejects any other value before a model exists;
         * NaN makes a missed case visible in every output. */
        mpfr_set_nan(s);
        mpfr_set_nan(ds);
        break;
    }
}
