/* fast_field_rff.c - v_k(z) = W_k phi(z), phi(z) = sqrt(2/q) cos(Omega z + beta)
 * (SPEC.md 2; conventions.md, Fields, row "rff"). */
#define _GNU_SOURCE /* sincos: both from one argument reduction (glibc) */
#include <math.h>

#include "fast_field.h"
#include "fast_linalg.h"

/* Three n x q blocks: the phases P, the features Phi, the feature cotangent T. */
static size_t rff_scratch_size(const no_spec *s, size_t n)
{
    return 3 * n * s->q;
}

/* P = Z Omega^T + beta (n x q): the phases Omega z_i + beta. */
static void rff_phases(const fast_field_ctx *c, size_t n, const double *Z, double *P)
{
    size_t D = c->p->spec.D, q = c->p->spec.q;
    const double *beta = c->p->beta;
    fast_linalg_gemm_nt(n, q, D, 1.0, Z, D, c->p->Omega, D, 0.0, P, q);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < q; r++)
            P[i * q + r] += beta[r];
}

static void rff_eval(const fast_field_ctx *c, size_t k, size_t n, const double *Z, double *V)
{
    size_t D = c->p->spec.D, q = c->p->spec.q;
    double cst = sqrt(2.0 / (double)q);
    double *P = c->scratch;
    rff_phases(c, n, Z, P);
    for (size_t i = 0; i < n * q; i++)
        P[i] = cst * cos(P[i]);
    /* v_i = W_k phi(z_i): V = Phi W_k^T with W_k D x q. */
    fast_linalg_gemm_nt(n, D, q, 1.0, P, q, c->p->W + k * D * q, q, 0.0, V, D);
}

static void rff_vjp(const fast_field_ctx *c, size_t k, size_t n, const double *Z,
                    const double *Wbar, double *Zbar, double scale)
{
    size_t D = c->p->spec.D, q = c->p->spec.q;
    double cst = sqrt(2.0 / (double)q);
    const double *Wk = c->p->W + k * D * q;
    double *P = c->scratch, *Phi = P + n * q, *T = Phi + n * q;
    rff_phases(c, n, Z, P);
    /* T = rows W_k^T w_i (n x q), the cotangent of phi. */
    fast_linalg_gemm_nn(n, q, D, 1.0, Wbar, D, Wk, q, 0.0, T, q);
    /* Phi = c cos(P); T <- g o T with g = -c sin(P) (conventions.md, Dv^T w). */
    for (size_t i = 0; i < n * q; i++) {
        double s, co;
        sincos(P[i], &s, &co); /* glibc's sin and cos kernels: the same bits */
        Phi[i] = cst * co;
        T[i] *= -cst * s;
    }
    /* Dv^T w = Omega^T (g o W_k^T w): rows of T Omega. */
    fast_linalg_gemm_nn(n, D, q, 1.0, T, q, c->p->Omega, D, 0.0, Zbar, D);
    /* dW_k = sum_i w_i phi(z_i)^T = Wbar^T Phi. */
    fast_linalg_gemm_tn(D, q, n, scale, Wbar, D, Phi, q, 1.0, c->grad[0], q);
}

const fast_field_type fast_field_rff = {
    .name = "rff",
    .scratch_size = rff_scratch_size,
    .eval = rff_eval,
    .vjp = rff_vjp,
};
