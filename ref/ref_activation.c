/* ref_activation.c - see ref_activation.h. */
#include "ref_activation.h"

/* sigma and sigma' at x (conventions.md): tanh; softplus log(1 + e^x) with
 * derivative 1/(1 + e^-x); relu with derivative [x > 0]. */
void ref_activation(no_activation act, mpfr_t s, mpfr_t ds, mpfr_t x, mpfr_t tmp)
{
    switch (act) {
    case NO_ACT_TANH:
        mpfr_tanh(s, x, MPFR_RNDN);
        mpfr_sqr(ds, s, MPFR_RNDN);
        mpfr_ui_sub(ds, 1, ds, MPFR_RNDN);
        break;
    case NO_ACT_SOFTPLUS:
        mpfr_exp(tmp, x, MPFR_RNDN);
        mpfr_log1p(s, tmp, MPFR_RNDN);
        mpfr_neg(tmp, x, MPFR_RNDN);
        mpfr_exp(tmp, tmp, MPFR_RNDN);
        mpfr_add_ui(tmp, tmp, 1, MPFR_RNDN);
        mpfr_ui_div(ds, 1, tmp, MPFR_RNDN);
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
    }
}
