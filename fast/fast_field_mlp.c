/* fast_field_mlp.c - the mean-field ResNet v_k(z) = (1/M) sum_j a_kj sigma(u_kj . z + b_kj)
 * (SPEC.md 2; conventions.md, Fields, row "mlp", and the activations below it). */
#include <math.h>

#include "fast_activation.h"
#include "fast_field.h"
#include "fast_linalg.h"

/* Two n x M blocks: pre-activations (then sigma in their place), and
 * (a_kj . w_i) sigma'. */
static size_t mlp_scratch_size(const no_spec *s, size_t n)
{
    return 2 * n * s->M;
}

/* X = Z u_k^T + b_k (n x M): the pre-activations u_kj . z_i + b_kj. */
static void mlp_preact(const fast_field_ctx *c, size_t k, size_t n, const double *Z, double *X)
{
    size_t D = c->p->spec.D, M = c->p->spec.M;
    const double *bk = c->p->b + k * M;
    fast_linalg_gemm_nt(n, M, D, 1.0, Z, D, c->p->u + k * M * D, D, 0.0, X, M);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < M; j++)
            X[i * M + j] += bk[j];
}

static void mlp_eval(const fast_field_ctx *c, size_t k, size_t n, const double *Z, double *V)
{
    size_t D = c->p->spec.D, M = c->p->spec.M;
    no_activation act = c->p->spec.activation;
    double *X = c->scratch;
    mlp_preact(c, k, n, Z, X);
    for (size_t i = 0; i < n * M; i++) {
        double ds;
        fast_activation(act, X[i], &X[i], &ds);
    }
    /* v_i = (1/M) sum_j sigma_ij a_kj: V = (1/M) S a_k, a_k M x D. */
    fast_linalg_gemm_nn(n, D, M, 1.0 / (double)M, X, M, c->p->a + k * M * D, D, 0.0, V, D);
}

static void mlp_vjp(const fast_field_ctx *c, size_t k, size_t n, const double *Z,
                    const double *Wbar, double *Zbar, double scale)
{
    size_t D = c->p->spec.D, M = c->p->spec.M;
    no_activation act = c->p->spec.activation;
    const double *ak = c->p->a + k * M * D, *uk = c->p->u + k * M * D;
    double *X = c->scratch, *S = X, *E = X + n * M;
    double invM = 1.0 / (double)M;
    mlp_preact(c, k, n, Z, X);
    /* E = (a_kj . w_i): rows of Wbar a_k^T. */
    fast_linalg_gemm_nt(n, M, D, 1.0, Wbar, D, ak, D, 0.0, E, M);
    for (size_t i = 0; i < n * M; i++) {
        double ds;
        fast_activation(act, X[i], &S[i], &ds); /* sigma over its argument */
        E[i] *= ds;                             /* (a_kj . w) sigma'(.) */
    }
    /* Dv^T w = (1/M) sum_j (a_kj . w) sigma' u_kj: Zbar = (1/M) E u_k. */
    fast_linalg_gemm_nn(n, D, M, invM, E, M, uk, D, 0.0, Zbar, D);
    /* da_kj = (1/M) sigma w, du_kj = (1/M) (a.w) sigma' z, db_kj = (1/M) (a.w) sigma',
     * each summed over points i. */
    double *ga = c->grad[0], *gu = c->grad[1], *gb = c->grad[2];
    fast_linalg_gemm_tn(M, D, n, scale * invM, S, M, Wbar, D, 1.0, ga, D);
    fast_linalg_gemm_tn(M, D, n, scale * invM, E, M, Z, D, 1.0, gu, D);
    for (size_t j = 0; j < M; j++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += E[i * M + j];
        gb[j] += scale * invM * s;
    }
}

const fast_field_type fast_field_mlp = {
    .name = "mlp",
    .scratch_size = mlp_scratch_size,
    .eval = mlp_eval,
    .vjp = mlp_vjp,
};
