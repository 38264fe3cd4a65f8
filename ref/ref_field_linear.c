/* ref_field_linear.c - v_k(z) = W_k z (SPEC 2, family linear).
 * The diagnosis variant transpose_W uses W_k^T: the same code with the row
 * and column strides of W exchanged. */
#include "ref_internal.h"

/* Strides of the matrix the field applies: (row, col) = (D, 1), or (1, D). */
static void strides(const ref_field_ws *ws, size_t *rs, size_t *cs)
{
    size_t D = ws->m->spec.D;
    int t = ws->m->variant.transpose_W;
    *rs = t ? 1 : D;
    *cs = t ? D : 1;
}

static void linear_eval(ref_field_ws *ws, mpfr_t *z, mpfr_t *v)
{
    size_t D = ws->m->spec.D;
    mpfr_t *W = ws->m->param[0].v + ws->k * D * D;
    size_t rs, cs;
    strides(ws, &rs, &cs);
    for (size_t r = 0; r < D; r++)
        ref_dot(v[r], W + r * rs, cs, z, 1, D, &ws->dot);
}

/* Dv^T w = W_k^T w;  dF/dW_k += scale * w z^T. */
static void linear_vjp(ref_field_ws *ws, mpfr_t *z, mpfr_t *w, mpfr_t *zbar, mpfr_t *g,
                       mpfr_srcptr scale)
{
    size_t D = ws->m->spec.D;
    mpfr_t *W = ws->m->param[0].v + ws->k * D * D;
    size_t rs, cs;
    strides(ws, &rs, &cs);
    for (size_t c = 0; c < D; c++)
        ref_dot(zbar[c], W + c * cs, rs, w, 1, D, &ws->dot);
    if (!g)
        return;
    /* dF/dW_k[r][c] at the entry the field used as M[r][c]. */
    for (size_t r = 0; r < D; r++) {
        ref_scaled(ws->tmp, w[r], scale);
        for (size_t c = 0; c < D; c++) {
            mpfr_t *gi = g + r * rs + c * cs;
            mpfr_fma(*gi, ws->tmp, z[c], *gi, MPFR_RNDN);
        }
    }
}

const ref_field_family ref_field_linear = {"linear", linear_eval, linear_vjp};
