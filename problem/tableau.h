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
 */
#ifndef NO_TABLEAU_H
#define NO_TABLEAU_H

#include "problem.h"

#define NO_MAX_STAGES 4

typedef struct {
    long num, den;
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

const no_tableau *no_tableau_of(no_scheme_id s);

/* Convert a rational to double (correctly rounded: one IEEE division). */
double no_rational_double(no_rational r);

#endif
