/* ref_linear_ce.h - the scalar dynamics of the linear NODE counter-example
 * (seed 002, section 3.1, Proposition 3; SPEC 5.5), in MPFR.  With X = I,
 * A = B = I, Y = -I and W^0 = 0 the gradient flow keeps W = w(t) I
 * (proofs-notes/theorem-linear-counterexample.md), and in our normalisation
 *
 *   continuous model:  dw/dt = -(1/N) e^w (e^w + 1),
 *                      t(x) = N (x - 1 - log((1 + x)/2)),  x = e^-w;
 *   Euler, L layers:   dw/dt = -(1/N) r^(L-1) (r^L + 1),  r = 1 + w/L.
 *
 * Three independent computations of these: the closed form t(x) inverted by
 * Newton's method, a Taylor-series integrator of the polynomial ODE
 * y' = c (y^a + y^b) (the continuous flow in E = e^w, the Euler flow in r),
 * and the gradient-descent recursion of the Euler model. */
#ifndef NO_REF_LINEAR_CE_H
#define NO_REF_LINEAR_CE_H

#include <mpfr.h>
#include <stddef.h>

/* t = s (x - 1 - log((1 + x)/2)); s = N is our normalisation (s = N/2 is
 * the loss without the 1/2, used by the tests as a wrong constant). */
void ref_lce_time(mpfr_t t, const mpfr_t x, const mpfr_t s);

/* w(t) = -log x, x >= 1 the root of ref_lce_time(x) = t (t >= 0), by
 * Newton's method from x = 2 + 2 t/s (above the root; the map is increasing
 * and convex, so the iterates decrease monotonically).  At w's precision.
 * Returns the Newton iterations, or -1 (t < 0, s <= 0, or no convergence). */
int ref_lce_closed_w(mpfr_t w, const mpfr_t t, const mpfr_t s);

/* y' = c (y^a + y^b) from y(0) = y0 > 0 (c < 0, so y decreases and stays
 * positive), integrated by Taylor series of order K = prec/2 + 8 with the
 * Jorba-Zou step (|y_k| h^k <= 2^-prec |y| for k = K-1, K), times t kept in
 * MPFR; y[j] (initialised by the caller at prec) = y(times[j]), times
 * nondecreasing, >= 0.  *steps (may be NULL) = Taylor steps taken.
 * Returns 0, or -1 (bad arguments, no memory, or a step underflow). */
int ref_lce_taylor(mpfr_t *y, const double *times, size_t nt, const mpfr_t y0, const mpfr_t c,
                   long a, long b, mpfr_prec_t prec, size_t *steps);

/* The continuous flow at times[j]: w = log E, E the Taylor solution of
 * E' = -(1/N)(E^2 + E^3), E(0) = 1.  Returns 0 or -1. */
int ref_lce_flow_continuous(mpfr_t *w, const double *times, size_t nt, double N,
                            mpfr_prec_t prec, size_t *steps);

/* The Euler model's flow at times[j]: w = L (r - 1), r the Taylor solution
 * of r' = -(1/(N L)) (r^(L-1) + r^(2L-1)), r(0) = 1.  Returns 0 or -1. */
int ref_lce_flow_euler(mpfr_t *w, const double *times, size_t nt, double N, size_t L,
                       mpfr_prec_t prec, size_t *steps);

/* Gradient descent of the Euler model, w_0 = 0,
 * w_{n+1} = w_n - (eta/N) r^(L-1) (r^L + 1), r = 1 + w_n/L, at prec bits;
 * w[n] (n = 0..steps) rounded to double.  Returns 0 or -1 (no memory). */
int ref_lce_gd_euler(double *w, size_t steps, double eta, double N, size_t L, mpfr_prec_t prec);

#endif
