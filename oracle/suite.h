/* suite.h - named sets of problems (the docs list what each covers).
 *   smoke    one problem per family (euler, discrete), seconds.
 *   default  every family (linear; rff gaussian and matern; mlp tanh, softplus,
 *            relu) x scheme (euler, rk4) x adjoint kind (discrete, continuous),
 *            m = 2, plus sqrt scaling; small sizes (N=12, d_in=2, d_out=3, D=4,
 *            L=8, q=24, M=6).
 *   deep     L = 64, 256, 1024 x {linear, rff, mlp} x {euler, rk4}; N=3, D=4.
 *   wide     q = 1024, 4096 (rff gaussian, matern) and M = 1024, 4096 (mlp tanh);
 *            L=4, N=3, D=4.
 *   schemes  every scheme of the table (problem/tableau.c) x every adjoint kind
 *            (discrete, continuous, backsolve), the field variants in turn;
 *            the sizes of default but L = 5, m = 2 (m = 1 for order >= 4).
 * Every suite has d_out = 3 and N, L, M, q, m pairwise distinct, so that each
 * cause of the diagnosis changes some problem's results (suite.c, small()). */
#ifndef NO_SUITE_H
#define NO_SUITE_H

#include "problem.h"

#define NO_SUITE_MAX 64

/* Fill out with the suite's specs; returns their count, or -1 if unknown. */
int no_suite_specs(const char *name, no_spec out[NO_SUITE_MAX]);

/* Space-separated names of the suites, for help and errors. */
const char *no_suite_names(void);

#endif
