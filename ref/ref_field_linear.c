/* ref_field_linear.c - v_k(z) = W_k z (SPEC 2, family linear). */
#include "ref_internal.h"

static void linear_eval(ref_field_ws *ws, mpfr_t *z, mpfr_t *v)
{
    size_t D = ws->m->spec.D;
    mpfr_t *W = ws->m->param[0].v + ws->k * D * D;
    for (size_t r = 0; r < D; r++)
        ref_dot(v[r], W + r * D, 1, z, 1, D, ws->px, ws->py);
}

/* Dv^T w = W_k^T w;  dF/dW_k += scale * w z^T. */
static void linear_vjp(ref_field_ws *ws, mpfr_t *z, mpfr_t *w, mpfr_t *zbar, mpfr_t *g,
                       mpfr_srcptr scale)
{
    size_t D = ws->m->spec.D;
    mpfr_t *W = ws->m->param[0].v + ws->k * D * D;
    for (size_t c = 0; c < D; c++)
        ref_dot(zbar[c], W + c, D, w, 1, D, ws->px, ws->py);
    if (!g)
        return;
    for (size_t r = 0; r < D; r++) {
        ref_scaled(ws->tmp, w[r], scale);
        for (size_t c = 0; c < D; c++)
            mpfr_fma(g[r * D + c], ws->tmp, z[c], g[r * D + c], MPFR_RNDN);
    }
}

const ref_field_family ref_field_linear = {"linear", linear_eval, linear_vjp};
