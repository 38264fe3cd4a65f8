/* fast_eig.c - symmetric eigenvalues through LAPACKE_dsyevr (fast_eig.h). */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fast_eig.h"

/* dsyevr on a copy of A (it overwrites its input): range 'A' (all) when
 * k == n, else 'I' with il = 1, iu = k; vectors into Z when Z != NULL. */
static int syevr(size_t n, const double *A, size_t k, double *w, double *Z)
{
    if (n == 0 || k == 0 || k > n || n > (size_t)1 << 20)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            if (!isfinite(A[i * n + j]))
                return -1;
    double *a = malloc(n * n * sizeof *a);
    double *all = malloc(n * sizeof *all);
    lapack_int *isuppz = malloc(2 * n * sizeof *isuppz);
    double *z = Z ? malloc(n * k * sizeof *z) : NULL;
    int rc = -1;
    if (!a || !all || !isuppz || (Z && !z))
        goto done;
    memcpy(a, A, n * n * sizeof *a);
    lapack_int N = (lapack_int)n, m = 0;
    /* abstol 0: LAPACK's default, the accuracy of the Users' Guide bound */
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, Z ? 'V' : 'N', k == n ? 'A' : 'I', 'U', N,
                                     a, N, 0.0, 0.0, 1, (lapack_int)k, 0.0, &m, all, z,
                                     (lapack_int)k, isuppz);
    if (info != 0 || (size_t)m != k)
        goto done;
    memcpy(w, all, k * sizeof *w);
    if (Z)
        memcpy(Z, z, n * k * sizeof *Z);
    rc = 0;
done:
    free(a);
    free(all);
    free(isuppz);
    free(z);
    return rc;
}

int fast_eig_sym(size_t n, const double *A, double *w)
{
    return syevr(n, A, n, w, NULL);
}

int fast_eig_sym_lowest(size_t n, const double *A, size_t k, double *w, double *Z)
{
    return syevr(n, A, k, w, Z);
}
