/* fast_linalg.c - see fast_linalg.h. */
#include "fast_linalg.h"

/* BLAS semantics for beta: 0 overwrites (never reads C), 1 leaves C alone. */
static void scale_c(size_t m, size_t n, double beta, double *restrict C, size_t ldc)
{
    if (beta == 1.0)
        return;
    for (size_t i = 0; i < m; i++) {
        double *restrict c = C + i * ldc;
        if (beta == 0.0)
            for (size_t j = 0; j < n; j++)
                c[j] = 0.0;
        else
            for (size_t j = 0; j < n; j++)
                c[j] *= beta;
    }
}

void fast_linalg_gemm_nt(size_t m, size_t n, size_t k, double alpha, const double *restrict A,
                         size_t lda, const double *restrict B, size_t ldb, double beta,
                         double *restrict C, size_t ldc)
{
    /* Rows of A and rows of B are both contiguous: each entry is one dot product. */
    for (size_t i = 0; i < m; i++) {
        const double *restrict a = A + i * lda;
        double *restrict c = C + i * ldc;
        for (size_t j = 0; j < n; j++) {
            const double *restrict b = B + j * ldb;
            double s = 0.0;
            for (size_t l = 0; l < k; l++)
                s += a[l] * b[l];
            c[j] = beta == 0.0 ? alpha * s : alpha * s + beta * c[j];
        }
    }
}

void fast_linalg_gemm_nn(size_t m, size_t n, size_t k, double alpha, const double *restrict A,
                         size_t lda, const double *restrict B, size_t ldb, double beta,
                         double *restrict C, size_t ldc)
{
    scale_c(m, n, beta, C, ldc);
    /* i-l-j order: the inner loop streams a row of B into a row of C. */
    for (size_t i = 0; i < m; i++) {
        double *restrict c = C + i * ldc;
        for (size_t l = 0; l < k; l++) {
            double f = alpha * A[i * lda + l];
            const double *restrict b = B + l * ldb;
            for (size_t j = 0; j < n; j++)
                c[j] += f * b[j];
        }
    }
}

void fast_linalg_gemm_tn(size_t m, size_t n, size_t k, double alpha, const double *restrict A,
                         size_t lda, const double *restrict B, size_t ldb, double beta,
                         double *restrict C, size_t ldc)
{
    scale_c(m, n, beta, C, ldc);
    /* l-i-j order: one pass over the k rows of A and B (the data points),
     * each a rank-one update of C with contiguous inner loop. */
    for (size_t l = 0; l < k; l++) {
        const double *restrict a = A + l * lda;
        const double *restrict b = B + l * ldb;
        for (size_t i = 0; i < m; i++) {
            double f = alpha * a[i];
            double *restrict c = C + i * ldc;
            for (size_t j = 0; j < n; j++)
                c[j] += f * b[j];
        }
    }
}

void fast_linalg_xpay(size_t n, const double *restrict x, double alpha, double *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] + alpha * y[i];
}

void fast_linalg_axpy(size_t n, double alpha, const double *restrict x, double *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void fast_linalg_scale(size_t n, double alpha, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = alpha * x[i];
}
