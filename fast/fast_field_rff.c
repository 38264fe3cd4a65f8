/* fast_field_rff.c - v_k(z) = W_k phi(z), phi(z) = sqrt(2/q) cos(Omega z + beta)
 * (SPEC.md 2; conventions.md, Fields, row "rff"). */
#include <math.h>
#include <string.h>

#include "fast_field.h"
#include "fast_linalg.h"
#include "fast_trig.h"

/* The features are taken in panels of at most FAST_RFF_PANEL columns (of the
 * q), one panel after the other, so that a block's two n x panel scratch
 * matrices stay in a core's cache between the passes over them (product,
 * trig, product) instead of streaming n x q matrices through it: on the
 * benchmark's large case (q = 1024, blocks of 256 points) the 4 MiB of
 * scratch became 1 MiB and a one-core run 4-6% faster (docs/performance.md).
 * Column panels change no sum over the phases' inner dimension D nor over
 * the points; the two products that sum over the q features (V and Dv^T w)
 * add the panels' partial products in panel order, a sum of q terms in
 * another order, which the tolerance model bounds the same way (gamma_q,
 * tolerance.md section 2). */
/* Two n x panel blocks: the phases P (then their cosines), and the feature
 * cotangent T (then sin(P) o T). */
static size_t rff_scratch_size(const no_spec *s, size_t n)
{
    return 2 * n * fast_rff_panel(s);
}

/* P = Z Omega_J^T + beta_J (n x w), the phases Omega_j z_i + beta_j of the
 * panel J = j0..j0+w-1.  The rows are set to beta first and the product
 * added to them (BLAS beta = 1): one pass over P fewer than adding beta
 * afterwards, and the same sum of D + 1 terms for the tolerance model. */
static void rff_phases(const fast_field_ctx *c, size_t n, const double *Z, size_t j0, size_t w,
                       double *P)
{
    size_t D = c->p->spec.D;
    for (size_t i = 0; i < n; i++)
        memcpy(P + i * w, c->p->beta + j0, w * sizeof *P);
    fast_linalg_gemm_nt(n, w, D, 1.0, Z, D, c->p->Omega + j0 * D, D, 1.0, P, w);
}

static void rff_eval(const fast_field_ctx *c, size_t k, size_t n, const double *Z, double *V)
{
    size_t D = c->p->spec.D, q = c->p->spec.q, panel = fast_rff_panel(&c->p->spec);
    double cst = sqrt(2.0 / (double)q);
    const double *Wk = c->p->W + k * D * q;
    double *P = c->scratch;
    for (size_t j0 = 0; j0 < q; j0 += panel) {
        size_t w = q - j0 < panel ? q - j0 : panel;
        rff_phases(c, n, Z, j0, w, P);
        /* fast_trig: vectorised, within 1.4 u absolute (proofs-notes/fast-trig.md). */
        fast_trig_cos(n * w, P, P);
        /* v_i = W_k phi(z_i) = c W_k cos(P_i): V (+)= c cos(P_J) (W_k)_J^T, the
         * panel's columns of W_k (D x q), the constant c as the product's
         * alpha (one rounding, as c * cos). */
        fast_linalg_gemm_nt(n, D, w, cst, P, w, Wk + j0, q, j0 ? 1.0 : 0.0, V, D);
    }
}

static void rff_vjp(const fast_field_ctx *c, size_t k, size_t n, const double *Z,
                    const double *Wbar, double *Zbar, double scale)
{
    size_t D = c->p->spec.D, q = c->p->spec.q, panel = fast_rff_panel(&c->p->spec);
    double cst = sqrt(2.0 / (double)q);
    const double *Wk = c->p->W + k * D * q;
    double *P = c->scratch, *T = P + n * panel;
    for (size_t j0 = 0; j0 < q; j0 += panel) {
        size_t w = q - j0 < panel ? q - j0 : panel;
        rff_phases(c, n, Z, j0, w, P);
        /* T = rows (W_k)_J^T w_i (n x w), the panel's cotangent of phi. */
        fast_linalg_gemm_nn(n, w, D, 1.0, Wbar, D, Wk + j0, q, 0.0, T, w);
        /* One sweep: cos(P) over the phases and sin(P) o T into T, sin and
         * cos from one reduction per phase.  The factors c and -c of
         * phi = c cos and of g = -c sin (conventions.md, Dv^T w) go into the
         * products' alpha. */
        fast_trig_cos_sinmul(n * w, P, T);
        /* dW_k = sum_i w_i phi(z_i)^T = c Wbar^T cos(P): the panel's columns. */
        fast_linalg_gemm_tn(D, w, n, scale * cst, Wbar, D, P, w, 1.0, c->grad[0] + j0, q);
        /* Dv^T w = Omega^T (g o W_k^T w) = -c Omega^T (sin o W_k^T w): rows of
         * -c T Omega, the panels' parts added in turn. */
        fast_linalg_gemm_nn(n, D, w, -cst, T, w, c->p->Omega + j0 * D, D, j0 ? 1.0 : 0.0, Zbar,
                            D);
    }
}

const fast_field_type fast_field_rff = {
    .name = "rff",
    .scratch_size = rff_scratch_size,
    .eval = rff_eval,
    .vjp = rff_vjp,
};
