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

/* sigma(x) and sigma'(x) of the spec's activation (relu'(0) = 0, conventions.md). */
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
    case NO_ACT_RELU:
    default:
        *s = x > 0 ? x : 0.0;
        *ds = x > 0 ? 1.0 : 0.0;
        return;
    }
}
