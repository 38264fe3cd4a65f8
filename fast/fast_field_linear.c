/* fast_field_linear.c - v_k(z) = W_k z (conventions.md, Fields, row "linear"). */
#include "fast_field.h"
#include "fast_linalg.h"

static size_t linear_scratch_size(const no_spec *s, size_t n)
{
    (void)s;
    (void)n;
    return 0;
}

static void linear_eval(const fast_field_ctx *c, size_t k, size_t n, const double *Z, double *V)
{
    size_t D = c->p->spec.D;
    const double *Wk = c->p->W + k * D * D;
    /* Rows v_i = W_k z_i, i.e. V = Z W_k^T. */
    fast_linalg_gemm_nt(n, D, D, 1.0, Z, D, Wk, D, 0.0, V, D);
}

static void linear_vjp(const fast_field_ctx *c, size_t k, size_t n, const double *Z,
                       const double *Wbar, double *Zbar, double scale)
{
    size_t D = c->p->spec.D;
    const double *Wk = c->p->W + k * D * D;
    /* Dv^T w = W_k^T w: rows of Wbar W_k. */
    fast_linalg_gemm_nn(n, D, D, 1.0, Wbar, D, Wk, D, 0.0, Zbar, D);
    /* dW_k = sum_i w_i z_i^T = Wbar^T Z. */
    fast_linalg_gemm_tn(D, D, n, scale, Wbar, D, Z, D, 1.0, c->grad[0], D);
}

const fast_field_type fast_field_linear = {
    .name = "linear",
    .scratch_size = linear_scratch_size,
    .eval = linear_eval,
    .vjp = linear_vjp,
};

const fast_field_type *fast_field_of(no_family f)
{
    switch (f) {
    case NO_FAMILY_LINEAR:
        return &fast_field_linear;
    case NO_FAMILY_RFF:
        return &fast_field_rff;
    case NO_FAMILY_MLP:
        return &fast_field_mlp;
    }
    return NULL;
}
