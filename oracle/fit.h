/* fit.h - fitting a rate: least squares of log y on log x with a Student-t
 * confidence interval for the slope.  Used for the width limit (slope of
 * the rff -> kernel difference against q, width.h) and the depth limit
 * (order of the loss curves in L, depth.h); method in
 * proofs-notes/width-limit.md section 3. */
#ifndef NO_FIT_H
#define NO_FIT_H

#include <stddef.h>

/* A least-squares line log y = a + b log x with the t interval of b. */
typedef struct {
    double slope, intercept;
    double se;         /* standard error of the slope from the residuals */
    double lo, hi;     /* slope -+ t_{(1+level)/2, k-2} se */
    double t;          /* the quantile used */
    size_t points;     /* k */
    int ok;            /* 0: a value was 0 or not finite, or k < 3 (no fit) */
} no_fit;

/* The quantile t with P(T <= t) = p of Student's t with dof >= 1 degrees of
 * freedom, p in (0, 1) (numerical integration of the density, bisection;
 * relative error below 1e-9). */
double no_fit_t_quantile(double p, double dof);

/* Least squares of log y on log x over k points; level in (0, 1) is the
 * confidence level of [lo, hi]. */
no_fit no_fit_loglog(const double *x, const double *y, size_t k, double level);

#endif
