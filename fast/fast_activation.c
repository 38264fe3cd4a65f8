/* fast_activation.c - see fast_activation.h. */
#include <math.h>

#include "fast_activation.h"

/* softplus(x) = log(1 + e^x) without overflow of e^x for large x and without
 * losing log1p's accuracy for very negative x: log(1+e^x) = x + log(1+e^-x). */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* logistic(x) = 1/(1+e^-x), the softplus derivative; the exponent is kept
 * non-positive so e^(.) never overflows. */
static double logistic(double x)
{
    if (x >= 0)
        return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* sigma(x) and sigma'(x) of the spec's activation (relu'(0) = 0; definitions and
 * smoothness: proofs-notes/activations.md). */
void fast_activation(no_activation act, double x, double *s, double *ds)
{
    switch (act) {
    case NO_ACT_TANH: {
        double t = tanh(x);
        *s = t;
        *ds = 1.0 - t * t;
        return;
    }
    case NO_ACT_SOFTPLUS:
        *s = softplus(x);
        *ds = logistic(x);
        return;
    case NO_ACT_HRELU:
        /* (x+1)^2/4 only on |x| < 1, where it cannot overflow; outside, the
         * exact pieces 0 and x (proofs-notes/activations.md). */
        if (x <= -1.0) {
            *s = 0.0;
            *ds = 0.0;
        } else if (x >= 1.0) {
            *s = x;
            *ds = 1.0;
        } else {
            double t = x + 1.0;
            *s = 0.25 * t * t;
            *ds = 0.5 * t;
        }
        return;
    case NO_ACT_RELU:
    default:
        /* default: no_spec_validate rejects other values before a run. */
        *s = x > 0 ? x : 0.0;
        *ds = x > 0 ? 1.0 : 0.0;
        return;
    }
}
