/* fast_linalg.h - the few dense kernels fast/ needs, row-major doubles.
 *
 * Every field evaluation and every vector-Jacobian product of fast/ is a
 * handful of these products over the N x D state matrix (fast_field.h), so
 * they are the whole cost of a run.  The three products are one cblas_dgemm
 * each (OpenBLAS); the argument conventions are exactly those of
 *     cblas_dgemm(CblasRowMajor, transA, transB, m, n, k,
 *                 alpha, A, lda, B, ldb, beta, C, ldc).
 * The summation order inside BLAS is its own: the error model of fast/
 * (proofs-notes/tolerance.md) bounds a length-k dot product by gamma_k for
 * any order, with or without fused multiply-add, so it does not change.  As in BLAS, beta == 0 means that C is written, not read (it may
 * hold NaN or garbage).  C must not overlap A or B.
 */
#ifndef FAST_LINALG_H
#define FAST_LINALG_H

#include <stddef.h>

/* Decides once per process whether BLAS can be used (its work buffer can be
 * allocated, fast_linalg.c) and sets it to one thread; returns 1 when the
 * products go to BLAS, 0 when they run in plain loops.  The products call
 * it themselves. */
int fast_linalg_init(void);

/* OpenBLAS reads its settings from the environment when it is loaded, before
 * main.  This sets the two a process of ours wants when the user has not set
 * them: OPENBLAS_NUM_THREADS=1 (see fast_linalg_init) and, when OpenBLAS did
 * not recognise the CPU and fell back to its generic kernels,
 * OPENBLAS_CORETYPE naming the fastest kernels the CPU supports.  Returns 1
 * when it set one: the caller should exec itself again for them to apply. */
int fast_linalg_blas_environment(void);

/* C (m x n) = alpha * A B^T + beta * C,  A is m x k, B is n x k.
 * (CblasNoTrans, CblasTrans.) */
void fast_linalg_gemm_nt(size_t m, size_t n, size_t k, double alpha, const double *A, size_t lda,
                         const double *B, size_t ldb, double beta, double *C, size_t ldc);

/* C (m x n) = alpha * A B + beta * C,  A is m x k, B is k x n.
 * (CblasNoTrans, CblasNoTrans.) */
void fast_linalg_gemm_nn(size_t m, size_t n, size_t k, double alpha, const double *A, size_t lda,
                         const double *B, size_t ldb, double beta, double *C, size_t ldc);

/* C (m x n) = alpha * A^T B + beta * C,  A is k x m, B is k x n.
 * (CblasTrans, CblasNoTrans.)  Used to accumulate parameter gradients summed
 * over data points (beta = 1). */
void fast_linalg_gemm_tn(size_t m, size_t n, size_t k, double alpha, const double *A, size_t lda,
                         const double *B, size_t ldb, double beta, double *C, size_t ldc);

/* y = x + alpha * y, elementwise over n entries (the "z + tau * increment" of
 * a Runge-Kutta update; y must not overlap x). */
void fast_linalg_xpay(size_t n, const double *x, double alpha, double *y);

/* y += alpha * x over n entries (BLAS daxpy). */
void fast_linalg_axpy(size_t n, double alpha, const double *x, double *y);

/* y = alpha * x over n entries (x and y may be the same array). */
void fast_linalg_scale(size_t n, double alpha, const double *x, double *y);

#endif
