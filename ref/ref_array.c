/* ref_array.c - MPFR arrays and the correctly rounded dot product. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

int ref_array_init(ref_array *a, const char *name, int ndim, const size_t *shape,
                   mpfr_prec_t prec)
{
    memset(a, 0, sizeof *a);
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (no_mul_size(n, shape[i], &n))
            return -1;
    a->v = malloc((n ? n : 1) * sizeof(mpfr_t));
    if (!a->v)
        return -1;
    for (size_t i = 0; i < n; i++)
        mpfr_init2(a->v[i], prec), mpfr_set_zero(a->v[i], 1);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->ndim = ndim;
    memcpy(a->shape, shape, (size_t)ndim * sizeof(size_t));
    a->n = n;
    return 0;
}

int ref_array_from_double(ref_array *a, const char *name, int ndim, const size_t *shape,
                          const double *src, mpfr_prec_t prec)
{
    if (ref_array_init(a, name, ndim, shape, prec))
        return -1;
    /* Exact: prec >= 53 (REF_PREC_MIN is checked by callers that need exactness). */
    for (size_t i = 0; i < a->n; i++)
        mpfr_set_d(a->v[i], src[i], MPFR_RNDN);
    return 0;
}

void ref_array_clear(ref_array *a)
{
    if (a->v) {
        for (size_t i = 0; i < a->n; i++)
            mpfr_clear(a->v[i]);
        free(a->v);
    }
    memset(a, 0, sizeof *a);
}

int ref_dot_ws_init(ref_dot_ws *dw, size_t cap, mpfr_prec_t prec)
{
    dw->cap = cap;
    dw->px = malloc((cap ? cap : 1) * sizeof(mpfr_ptr));
    dw->py = malloc((cap ? cap : 1) * sizeof(mpfr_ptr));
    dw->prod = ref_vec_new(cap, 2 * prec);
    if (!dw->px || !dw->py || !dw->prod) {
        ref_dot_ws_clear(dw);
        return -1;
    }
    return 0;
}

void ref_dot_ws_clear(ref_dot_ws *dw)
{
    free(dw->px);
    free(dw->py);
    ref_vec_free(dw->prod, dw->cap);
    dw->px = dw->py = NULL;
    dw->prod = NULL;
    dw->cap = 0;
}

/* prod = x y exactly: at prec(x) + prec(y) bits, mpfr_mul rounds nothing. */
static mpfr_ptr exact_product(mpfr_t prod, mpfr_srcptr x, mpfr_srcptr y)
{
    mpfr_prec_t need = mpfr_get_prec(x) + mpfr_get_prec(y);
    if (mpfr_get_prec(prod) < need)
        mpfr_set_prec(prod, need);
    mpfr_mul(prod, x, y, MPFR_RNDZ);
    return prod;
}

void ref_dot(mpfr_t rop, mpfr_t *x, size_t sx, mpfr_t *y, size_t sy, size_t n, ref_dot_ws *dw)
{
    for (size_t i = 0; i < n; i++)
        dw->px[i] = exact_product(dw->prod[i], x[i * sx], y[i * sy]);
    mpfr_sum(rop, dw->px, n, MPFR_RNDN);
}

void ref_trim_prec(mpfr_t x)
{
    if (mpfr_regular_p(x)) {
        mpfr_prec_t need = mpfr_min_prec(x);
        mpfr_prec_round(x, need < MPFR_PREC_MIN ? MPFR_PREC_MIN : need, MPFR_RNDN);
    }
}

void ref_dot_ptrs(mpfr_t rop, size_t n, ref_dot_ws *dw)
{
    for (size_t i = 0; i < n; i++)
        dw->px[i] = exact_product(dw->prod[i], dw->px[i], dw->py[i]);
    mpfr_sum(rop, dw->px, n, MPFR_RNDN);
}

mpfr_t *ref_vec_new(size_t n, mpfr_prec_t prec)
{
    mpfr_t *v = malloc((n ? n : 1) * sizeof(mpfr_t));
    if (v)
        for (size_t i = 0; i < n; i++)
            mpfr_init2(v[i], prec), mpfr_set_zero(v[i], 1);
    return v;
}

void ref_vec_free(mpfr_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

void ref_scaled(mpfr_t rop, mpfr_srcptr x, mpfr_srcptr scale)
{
    if (scale)
        mpfr_mul(rop, x, scale, MPFR_RNDN);
    else
        mpfr_set(rop, x, MPFR_RNDN);
}
