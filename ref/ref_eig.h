/* ref_eig.h - eigenvalues of a real symmetric matrix in MPFR, by the cyclic
 * Jacobi method (Golub and Van Loan, Matrix Computations, 4th ed., 8.5),
 * hand-written so that the reference depends on no outside linear algebra.
 *
 * Why Jacobi: it is short enough to read against the textbook, it is
 * backward stable at any precision, and with the relative convergence test
 * used here (|a_pq| <= 2^-wp sqrt(|a_pp a_qq|), Demmel and Veselic 1992) it
 * computes the small eigenvalues of a positive definite matrix with unit
 * diagonal - a Gram matrix K_X - to high *relative* accuracy, which is what
 * lambda(delta) needs (proofs-notes/theorem-lambda.md, section 4).
 *
 * What "certified" means here (ref_eig_min_bits, ref_eig_sym_bits): the bits
 * are those of the eigenvalues of the matrix whose entries are the given
 * MPFR numbers, exactly; the error of those entries as approximations of
 * something else (a kernel evaluated at some precision) is the caller's to
 * state, by recomputing the entries at a higher precision too
 * (oracle/lambda.c does).  Bits are counted by the rule of
 * proofs-notes/precision.md: the solver is run at the working precision p
 * and at p + max(32, p/2), and ref_correct_bits compares the two.
 */
#ifndef NO_REF_EIG_H
#define NO_REF_EIG_H

#include <mpfr.h>
#include <stddef.h>

/* The n eigenvalues of the n x n symmetric matrix A (row-major; only the
 * upper triangle is read, A is not modified) into w[0..n-1], ascending,
 * each correctly rounded from a Jacobi computation carried out at
 * mpfr_get_prec(w[0]) + 16 bits (the caller initialises every w[i], all at
 * one precision).  1 <= n <= REF_EIG_N_MAX.  0, or -1 with err (no memory,
 * a non-finite entry, n out of range, no convergence in REF_EIG_SWEEPS
 * sweeps). */
int ref_eig_sym(mpfr_t *A, size_t n, mpfr_t *w, char *err, size_t len);

#define REF_EIG_N_MAX 4096
#define REF_EIG_SWEEPS 100 /* quadratic convergence needs about 10 at 1000 bits */

/* Certified eigenvalues: w (at precision prec, as in ref_eig_sym) and the
 * correct bits of each, bits[i] (doubles), from a second solve at prec +
 * max(32, prec/2) of the same entries (precision.md).  0, or -1 with err. */
int ref_eig_sym_bits(mpfr_t *A, size_t n, mpfr_t *w, double *bits, char *err, size_t len);

/* The smallest eigenvalue of A into lam (at lam's precision) and its correct
 * bits as the return value; a negative return (-1) is an error, with err. */
double ref_eig_min_bits(mpfr_t *A, size_t n, mpfr_t lam, char *err, size_t len);

#endif
