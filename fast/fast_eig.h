/* fast_eig.h - symmetric eigenvalues in double through LAPACK's dsyevr
 * (the MRRR algorithm; Debian's liblapacke-dev), the fast/ counterpart of
 * ref/ref_eig.h.  Matrices are row-major, n x n, symmetric; only the upper
 * triangle is read and the caller's matrix is not modified.
 *
 * Accuracy (LAPACK Users' Guide, 4.7): the computed eigenvalues are those of
 * A + E with |E|_2 <= p(n) u |A|_2, u = 2^-53, p(n) a modest function of n,
 * so by Weyl each is within p(n) u |A|_2 of the exact one - an *absolute*
 * error: an eigenvalue below p(n) u |A|_2 has no correct digit.  oracle/
 * uses p(n) = n^2 (proofs-notes/theorem-lambda.md, section 4).
 */
#ifndef FAST_EIG_H
#define FAST_EIG_H

#include <stddef.h>

/* All n eigenvalues of A, ascending, into w.  0, or -1 (no memory, n = 0,
 * a non-finite entry, or LAPACK's info != 0). */
int fast_eig_sym(size_t n, const double *A, double *w);

/* The k smallest eigenvalues (1 <= k <= n), ascending, into w[0..k-1] and,
 * unless Z is NULL, unit eigenvectors into the columns of Z (n x k,
 * row-major: Z[i k + j] is entry i of vector j).  0, or -1 as above. */
int fast_eig_sym_lowest(size_t n, const double *A, size_t k, double *w, double *Z);

#endif
