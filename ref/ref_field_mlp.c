/* ref_field_mlp.c - v_k(z) = (1/M) sum_j a_kj sigma(u_kj . z + b_kj) (SPEC 2, mean field). */
#include "ref_activation.h"
#include "ref_internal.h"

/* The arrays the field uses as a and u: param 0 and 1, exchanged under the
 * diagnosis variant swap_au (a and u unpacked in the wrong order). */
static mpfr_t *role(const ref_field_ws *ws, int is_u)
{
    const ref_model *m = ws->m;
    int idx = is_u ^ (m->variant.swap_au != 0);
    return m->param[idx].v + ws->k * m->spec.M * m->spec.D;
}

static void mlp_neurons(ref_field_ws *ws, mpfr_t *z)
{
    const ref_model *m = ws->m;
    size_t D = m->spec.D, M = m->spec.M;
    mpfr_t *u = role(ws, 1), *b = m->param[2].v + ws->k * M;
    for (size_t j = 0; j < M; j++) {
        ref_dot(ws->pre[j], u + j * D, 1, z, 1, D, &ws->dot);
        mpfr_add(ws->pre[j], ws->pre[j], b[j], MPFR_RNDN);
        ref_activation(m->spec.activation, ws->act[j], ws->dact[j], ws->pre[j], ws->tmp);
    }
}

static void mlp_eval(ref_field_ws *ws, mpfr_t *z, mpfr_t *v)
{
    size_t D = ws->m->spec.D, M = ws->m->spec.M;
    mpfr_t *a = role(ws, 0);
    mlp_neurons(ws, z);
    for (size_t r = 0; r < D; r++) {
        ref_dot(v[r], a + r, D, ws->act, 1, M, &ws->dot);
        mpfr_mul(v[r], v[r], ws->c, MPFR_RNDN);
    }
}

/* With t_j = (1/M)(a_j . w) sigma'_j:  Dv^T w = sum_j t_j u_j;
 * da_j += scale (1/M) sigma_j w,  du_j += scale t_j z,  db_j += scale t_j.
 * g is laid out as [a (M x D), u (M x D), b (M)] of this layer. */
static void mlp_vjp(ref_field_ws *ws, mpfr_t *z, mpfr_t *w, mpfr_t *zbar, mpfr_t *g,
                    mpfr_srcptr scale)
{
    const ref_model *m = ws->m;
    size_t D = m->spec.D, M = m->spec.M;
    mpfr_t *a = role(ws, 0), *u = role(ws, 1);
    mlp_neurons(ws, z);
    for (size_t j = 0; j < M; j++) {
        ref_dot(ws->t[j], a + j * D, 1, w, 1, D, &ws->dot);
        mpfr_mul(ws->t[j], ws->t[j], ws->dact[j], MPFR_RNDN);
        mpfr_mul(ws->t[j], ws->t[j], ws->c, MPFR_RNDN);
    }
    for (size_t c = 0; c < D; c++)
        ref_dot(zbar[c], u + c, D, ws->t, 1, M, &ws->dot);
    if (!g)
        return;
    /* the gradient of a role goes to the array that played it */
    int sw = m->variant.swap_au != 0;
    mpfr_t *ga = g + (sw ? M * D : 0), *gu = g + (sw ? 0 : M * D), *gb = g + 2 * M * D;
    for (size_t j = 0; j < M; j++) {
        ref_scaled(ws->tmp, ws->t[j], scale);
        mpfr_add(gb[j], gb[j], ws->tmp, MPFR_RNDN);
        for (size_t c = 0; c < D; c++)
            mpfr_fma(gu[j * D + c], ws->tmp, z[c], gu[j * D + c], MPFR_RNDN);
        /* da_j: (scale / M) sigma_j w */
        mpfr_mul(ws->tmp, ws->act[j], ws->c, MPFR_RNDN);
        if (scale)
            mpfr_mul(ws->tmp, ws->tmp, scale, MPFR_RNDN);
        for (size_t c = 0; c < D; c++)
            mpfr_fma(ga[j * D + c], ws->tmp, w[c], ga[j * D + c], MPFR_RNDN);
    }
}

const ref_field_family ref_field_mlp = {"mlp", mlp_eval, mlp_vjp};
