/* fast_field_rff.c - v_k(z) = W_k phi(z), phi(z) = sqrt(2/q) cos(Omega z + beta)
 * (SPEC.md 2; conventions.md, Fields, row "rff"). */
#include <math.h>
#include <string.h>

#include "fast_field.h"
#include "fast_linalg.h"
#include "fast_trig.h"

/* Two n x q blocks: the phases P (then their cosines), and the feature
 * cotangent T (then sin(P) o T). */
static size_t rff_scratch_size(const no_spec *s, size_t n)
{
    return 2 * n * s->q;
}

/* P = Z Omega^T + beta (n x q): the phases Omega z_i + beta.  The rows are
 * set to beta first and the product added to them (BLAS beta = 1): one pass
 * over P fewer than adding beta afterwards, and the same sum of D + 1 terms
 * for the tolerance model. */
static void rff_phases(const fast_field_ctx *c, size_t n, const double *Z, double *P)
{
    size_t D = c->p->spec.D, q = c->p->spec.q;
    for (size_t i = 0; i < n; i++)
        memcpy(P + i * q, c->p->beta, q * sizeof *P);
    fast_linalg_gemm_nt(n, q, D, 1.0, Z, D, c->p->Omega, D, 1.0, P, q);
}

static void rff_eval(const fast_field_ctx *c, size_t k, size_t n, const double *Z, double *V)
{
    size_t D = c->p->spec.D, q = c->p->spec.q;
    double cst = sqrt(2.0 / (double)q);
    double *P = c->scratch;
    rff_phases(c, n, Z, P);
    /* fast_trig: vectorised, within 1.4 u absolute (proofs-notes/fast-trig.md). */
    fast_trig_cos(n * q, P, P);
    /* v_i = W_k phi(z_i) = c W_k cos(P_i): V = c cos(P) W_k^T with W_k D x q,
     * the constant c as the product's alpha (one rounding, as c * cos). */
    fast_linalg_gemm_nt(n, D, q, cst, P, q, c->p->W + k * D * q, q, 0.0, V, D);
}

static void rff_vjp(const fast_field_ctx *c, size_t k, size_t n, const double *Z,
                    const double *Wbar, double *Zbar, double scale)
{
    size_t D = c->p->spec.D, q = c->p->spec.q;
    double cst = sqrt(2.0 / (double)q);
    const double *Wk = c->p->W + k * D * q;
    double *P = c->scratch, *T = P + n * q;
    rff_phases(c, n, Z, P);
    /* T = rows W_k^T w_i (n x q), the cotangent of phi. */
    fast_linalg_gemm_nn(n, q, D, 1.0, Wbar, D, Wk, q, 0.0, T, q);
    /* One sweep: cos(P) over the phases and sin(P) o T into T, sin and cos
     * from one reduction per phase.  The factors c and -c of phi = c cos and
     * of g = -c sin (conventions.md, Dv^T w) go into the products' alpha. */
    fast_trig_cos_sinmul(n * q, P, T);
    /* dW_k = sum_i w_i phi(z_i)^T = c Wbar^T cos(P). */
    fast_linalg_gemm_tn(D, q, n, scale * cst, Wbar, D, P, q, 1.0, c->grad[0], q);
    /* Dv^T w = Omega^T (g o W_k^T w) = -c Omega^T (sin o W_k^T w): rows of -c T Omega. */
    fast_linalg_gemm_nn(n, D, q, -cst, T, q, c->p->Omega, D, 0.0, Zbar, D);
}

const fast_field_type fast_field_rff = {
    .name = "rff",
    .scratch_size = rff_scratch_size,
    .eval = rff_eval,
    .vjp = rff_vjp,
};
