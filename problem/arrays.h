/* arrays.h - named double arrays: the layout of a run's outputs (SPEC.md 1, 3).
 *
 * ref/ (after rounding) and fast/ both fill the same layout, created by
 * no_outputs_init(), so the oracle can compare them array by array without
 * knowing the family.  The layout, in order:
 *   states    (L+1) x N x D   z_k at layer boundaries (z_0 = A x)
 *   output    N x d_out       yhat = B z_L
 *   loss      1               F = 1/(2N) sum_i |yhat_i - y_i|^2
 *   adjoint   (L+1) x N x D   p_k = dF/dz_k, of the spec's adjoint kind
 *   grad_<P>  shape of P      dF/dP (discrete adjoint) or its quadrature
 *                             (continuous adjoint), for every parameter P
 *   mgrad_<P> shape of P      metric gradient: grad / h (linear, rff),
 *                             grad * M / h (mlp)   (SPEC 3)
 */
#ifndef NO_ARRAYS_H
#define NO_ARRAYS_H

#include <stddef.h>

#include "problem.h"

#define NO_MAX_ARRAYS 16
#define NO_NAME_LEN 32

typedef struct {
    char name[NO_NAME_LEN];
    int ndim;
    size_t shape[4];
    size_t n;
    double *v;
} no_array;

typedef struct {
    int count;
    no_array a[NO_MAX_ARRAYS];
} no_arrays;

/* Append a zero-filled array; returns it, or NULL (full, bad name, no memory). */
no_array *no_arrays_add(no_arrays *s, const char *name, int ndim, const size_t *shape);
no_array *no_arrays_find(no_arrays *s, const char *name);
const no_array *no_arrays_get(const no_arrays *s, const char *name);
void no_arrays_free(no_arrays *s);

/* The standard output layout above (names, shapes, n; v = NULL) for a
 * validated spec; returns the number of arrays. */
int no_outputs_layout(const no_spec *spec, no_array out[NO_MAX_ARRAYS]);

/* Create the standard output layout above for a spec (zero-filled).
 * Returns 0, or -1 (out of memory; s is then empty). */
int no_outputs_init(no_arrays *s, const no_spec *spec);

/* Metric factor of SPEC 3: 1/h for linear and rff, M/h for mlp. */
double no_metric_factor(const no_spec *spec);

#endif
