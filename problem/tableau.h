/* tableau.h - explicit Runge-Kutta schemes as Butcher tableaux (SPEC.md section 1).
 *
 * Like GSL's gsl_odeiv2_step_type, a scheme is a small table with its name and
 * its declared order, so that drivers and convergence tests loop over schemes
 * without knowing which one they run.  The coefficients are stored as exact
 * rationals (num/den) so that ref/ can turn them into MPFR numbers without any
 * rounding beyond its own precision, and fast/ into doubles.  This is part of
 * the problem description; the arithmetic that uses it lives in ref/ and fast/.
 *
 * One substep of size tau for dz/ds = v(z):
 *   Y_i = z + tau * sum_{j<i} a[i][j] k_j,   k_i = v(Y_i),
 *   z'  = z + tau * sum_i b[i] k_i.
 * (The field is autonomous within a layer, so the nodes c_i are not needed.)
 *
 * The embedded pairs (bosh3, dopri5) are given by the solution their
 * libraries propagate (the higher order one: torchdiffeq's and diffrax's
 * Bosh3 and Dopri5 advance with the 3rd and 5th order weights); their
 * last, first-same-as-last stage has weight 0 in it and is dropped: it
 * only feeds the error estimate and the next step's first slope, which
 * equals v at the new state (docs/schemes.md).  The step sizes of an
 * adaptive run come from the candidate's grid, which check replays.
 */
#ifndef NO_TABLEAU_H
#define NO_TABLEAU_H

#include "problem.h"

#define NO_MAX_STAGES 6

/* num/den; an entry a tableau's initializer leaves out is {0, 0} and means 0.
 * A coefficient that its authors publish as a decimal number (Tsitouras'
 * tsit5) is the decimal string dec instead (num, den unused): ref/ reads it
 * at its own precision, fast/ correctly rounded to double, as a library
 * that writes the same digits into its source does. */
typedef struct {
    long num, den;
    const char *dec;
} no_rational;

typedef struct {
    const char *name;
    int order;   /* global order of convergence */
    int stages;
    no_rational a[NO_MAX_STAGES][NO_MAX_STAGES]; /* strictly lower triangular */
    no_rational b[NO_MAX_STAGES];
} no_tableau;

extern const no_tableau no_tableau_euler;
extern const no_tableau no_tableau_rk4;

/* The tableau of scheme s (index: no_scheme_id; every scheme has one). */
const no_tableau *no_tableau_of(no_scheme_id s);

/* Convert a rational to double (correctly rounded: one IEEE division, exact
 * operands: every num and den here is below 2^53; a decimal by strtod). */
double no_rational_double(no_rational r);

#endif
