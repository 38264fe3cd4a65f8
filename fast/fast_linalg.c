/* fast_linalg.c - see fast_linalg.h.  Every body is one (C)BLAS call, so the
 * products run in the optimised library the build links (Debian's OpenBLAS,
 * `-lopenblas`); only the standard CBLAS interface is used, so a reference
 * libblas with its CBLAS header links as well.
 *
 * Guards: BLAS rejects a leading dimension below max(1, cols) (xerbla prints
 * and returns), which a product with an empty inner dimension would trip.
 * Empty products are handled here instead: m or n zero is a no-op, k zero
 * leaves beta C (BLAS semantics, beta == 0 writes zeros). */
#include "fast_linalg.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Whether the products go to BLAS (decided once, by blas_init). */
static int use_blas;

/* OpenBLAS's level-3 routines take a work buffer of 128 MiB (and a page) on
 * their first call and, when that allocation fails, retry forever: under a
 * memory limit (ulimit -v) a dgemm hangs instead of failing.  blas_init
 * probes twice that once, and when it cannot be had every product runs in
 * the loops below instead, which need no memory: the run either completes
 * or fails with one line (our own allocations are checked), never hangs. */
#define FAST_BLAS_PROBE_BYTES ((size_t)256 << 20)

/* One BLAS thread, set before the first BLAS call of the process.  fast/
 * multiplies small matrices (N x D with D ~ 4..64), where OpenBLAS's
 * threads cost more than they save, and a threaded OpenBLAS spin-waits
 * between calls, taking the cores that process-level parallelism (test
 * runners, one run per problem) needs.  It also allocates per-thread
 * buffers on first use: under a tight memory limit (ulimit -v, the
 * resources tests) that allocation hangs instead of failing.  With one
 * thread the summation order is also fixed: a run's bits are the same on
 * every run.  openblas_set_num_threads is OpenBLAS's own call; the build
 * links OpenBLAS explicitly (-lopenblas). */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_init(void)
{
    void *probe = malloc(FAST_BLAS_PROBE_BYTES);
    use_blas = probe != NULL;
    free(probe);
    if (use_blas)
        openblas_set_num_threads(1);
}

/* OpenBLAS picks its kernels when it is loaded, from the CPU's model number;
 * a model its table does not know (0.3.21, Debian bookworm's, on Emerald
 * Rapids, family 6 model 0xCF) gets the generic "Prescott" SSE3 kernels,
 * 2.5 times slower than its AVX-512 ones on our products (measured:
 * 8.0 against 21.1 GFLOP/s for 128 x 256 x 8).  OPENBLAS_CORETYPE names the
 * kernels instead; it is set only when detection fell back to Prescott and
 * the CPU (with the OS's register support, which __builtin_cpu_supports
 * checks) has every instruction set those kernels use. */
static const char *blas_coretype(void)
{
    const char *name = openblas_get_corename();
    if (!name || strcasecmp(name, "prescott"))
        return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

int fast_linalg_blas_environment(void)
{
    int set = 0;
    if (!getenv("OPENBLAS_NUM_THREADS") && !setenv("OPENBLAS_NUM_THREADS", "1", 1))
        set = 1;
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : blas_coretype();
    if (core && !setenv("OPENBLAS_CORETYPE", core, 1))
        set = 1;
    return set;
}

int fast_linalg_init(void)
{
    pthread_once(&blas_once, blas_init);
    return use_blas;
}

/* The fallback: plain loops ordered so that the innermost loop runs over
 * contiguous memory. */
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

static void loop_gemm_nt(size_t m, size_t n, size_t k, double alpha, const double *restrict A,
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
static void loop_gemm_nn(size_t m, size_t n, size_t k, double alpha, const double *restrict A,
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
static void loop_gemm_tn(size_t m, size_t n, size_t k, double alpha, const double *restrict A,
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

static int empty_product(size_t m, size_t n, size_t k, double beta, double *C, size_t ldc)
{
    if (m == 0 || n == 0)
        return 1;
    if (k > 0)
        return 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            C[i * ldc + j] = beta == 0.0 ? 0.0 : beta * C[i * ldc + j];
    return 1;
}

/* Leading dimensions as BLAS wants them: at least 1. */
static int ld(size_t x)
{
    return x > 0 ? (int)x : 1;
}

typedef void loop_fn(size_t, size_t, size_t, double, const double *, size_t, const double *,
                     size_t, double, double *, size_t);

/* One product: BLAS with the transposition flags ta, tb, or the loop when
 * BLAS is not usable in this process (fast_linalg_init). */
static void product(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, loop_fn *loop, size_t m,
                    size_t n, size_t k, double alpha, const double *A, size_t lda,
                    const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    if (!fast_linalg_init()) {
        loop(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (empty_product(m, n, k, beta, C, ldc))
        return;
    cblas_dgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha, A, ld(lda), B, ld(ldb),
                beta, C, ld(ldc));
}

void fast_linalg_gemm_nt(size_t m, size_t n, size_t k, double alpha, const double *A, size_t lda,
                         const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    product(CblasNoTrans, CblasTrans, loop_gemm_nt, m, n, k, alpha, A, lda, B, ldb, beta, C,
            ldc);
}

void fast_linalg_gemm_nn(size_t m, size_t n, size_t k, double alpha, const double *A, size_t lda,
                         const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    product(CblasNoTrans, CblasNoTrans, loop_gemm_nn, m, n, k, alpha, A, lda, B, ldb, beta, C,
            ldc);
}

void fast_linalg_gemm_tn(size_t m, size_t n, size_t k, double alpha, const double *A, size_t lda,
                         const double *B, size_t ldb, double beta, double *C, size_t ldc)
{
    product(CblasTrans, CblasNoTrans, loop_gemm_tn, m, n, k, alpha, A, lda, B, ldb, beta, C,
            ldc);
}

/* The elementwise updates stay loops: they are not products (nothing for BLAS
 * to block), and BLAS's dscal/daxpy return early or write zeros for a zero
 * factor, where IEEE arithmetic gives 0 * Inf = NaN.  A run that overflows
 * must keep its NaN so that it is reported as non-finite (a tableau's zero
 * weight, dopri5's b_2, multiplies every state). */
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
