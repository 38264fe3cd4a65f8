/* ref_field_rff.c - v_k(z) = W_k phi(z), phi(z) = sqrt(2/q) cos(Omega z + beta) (SPEC 2). */
#include "ref_internal.h"

/* pre = Omega z + beta; act = c cos(pre); with deriv also dact = -c sin(pre),
 * c = sqrt(2/q).  One transcendental call per phase: mpfr_cos when only phi
 * is needed (the forward field), mpfr_sin_cos when phi' is too (the vjp):
 * both correctly rounded from one argument reduction. */
static void rff_features(ref_field_ws *ws, mpfr_t *z, int deriv)
{
    const ref_model *m = ws->m;
    size_t D = m->spec.D, q = m->spec.q;
    for (size_t r = 0; r < q; r++) {
        ref_dot(ws->pre[r], m->Omega.v + r * D, 1, z, 1, D, &ws->dot);
        if (!m->variant.rff_no_phase) /* the diagnosis variant drops beta */
            mpfr_add(ws->pre[r], ws->pre[r], m->beta.v[r], MPFR_RNDN);
        /* phi = c cos(pre); its derivative -c sin(pre), from one sin_cos */
        if (deriv)
            mpfr_sin_cos(ws->dact[r], ws->act[r], ws->pre[r], MPFR_RNDN);
        else
            mpfr_cos(ws->act[r], ws->pre[r], MPFR_RNDN);
        mpfr_mul(ws->act[r], ws->act[r], ws->c, MPFR_RNDN);
        if (deriv) {
            mpfr_mul(ws->dact[r], ws->dact[r], ws->c, MPFR_RNDN);
            mpfr_neg(ws->dact[r], ws->dact[r], MPFR_RNDN);
        }
    }
}

static void rff_eval(ref_field_ws *ws, mpfr_t *z, mpfr_t *v)
{
    size_t D = ws->m->spec.D, q = ws->m->spec.q;
    mpfr_t *W = ws->m->param[0].v + ws->k * D * q;
    rff_features(ws, z, 0);
    for (size_t r = 0; r < D; r++)
        ref_dot(v[r], W + r * q, 1, ws->act, 1, q, &ws->dot);
}

/* Dv^T w = Omega^T (phi' o (W_k^T w));  dF/dW_k += scale * w phi(z)^T. */
static void rff_vjp(ref_field_ws *ws, mpfr_t *z, mpfr_t *w, mpfr_t *zbar, mpfr_t *g,
                    mpfr_srcptr scale)
{
    const ref_model *m = ws->m;
    size_t D = m->spec.D, q = m->spec.q;
    mpfr_t *W = m->param[0].v + ws->k * D * q;
    rff_features(ws, z, 1);
    for (size_t r = 0; r < q; r++) {
        ref_dot(ws->t[r], W + r, q, w, 1, D, &ws->dot);
        mpfr_mul(ws->t[r], ws->t[r], ws->dact[r], MPFR_RNDN);
    }
    for (size_t c = 0; c < D; c++)
        ref_dot(zbar[c], m->Omega.v + c, D, ws->t, 1, q, &ws->dot);
    if (!g)
        return;
    for (size_t r = 0; r < D; r++) {
        ref_scaled(ws->tmp, w[r], scale);
        for (size_t j = 0; j < q; j++)
            mpfr_fma(g[r * q + j], ws->tmp, ws->act[j], g[r * q + j], MPFR_RNDN);
    }
}

const ref_field_family ref_field_rff = {"rff", rff_eval, rff_vjp};
