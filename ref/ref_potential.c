/* ref_potential.c - Psi_k(theta) and grad Psi_k(theta) in MPFR
 * (ref_potential.h; derivation: proofs-notes/mean-field-potential.md).
 *
 * The sample (Y, lam / h) of layer k is recomputed from z_k and p_{k+1}:
 * forward through the layer's substeps (stage points), then backward with the
 * discrete adjoint's stage recurrence (conventions.md)
 *   lam_s = tau (b_s p' + sum_{r>s} a_rs mu_r),   mu_s = Dv_k(Y_s)^T lam_s,
 *   p <- p' + sum_s mu_s,
 * with this file's own field v_k and its Jacobian, not ref_scheme.c's. */
#include <stdlib.h>
#include <string.h>

#include "ref_activation.h"
#include "ref_internal.h"
#include "ref_potential.h"

static const ref_array *param(const ref_model *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (!strcmp(m->param[i].name, name))
            return &m->param[i];
    return NULL;
}

/* The layer's field and scratch for one point. */
typedef struct {
    size_t D, M;
    no_activation act;
    mpfr_t *a, *u, *b;     /* layer k's particles */
    mpfr_t *pre, *sg, *dsg; /* M: u.z + b, sigma, sigma' */
    mpfr_t invM, t, tmp;
} layer_field;

/* v = (1/M) sum_j a_j sigma(u_j . z + b_j); keeps sigma' for jvp_t. */
static void field_eval(layer_field *f, mpfr_t *z, mpfr_t *v)
{
    size_t D = f->D;
    for (size_t j = 0; j < f->M; j++) {
        mpfr_set(f->pre[j], f->b[j], MPFR_RNDN);
        for (size_t c = 0; c < D; c++)
            mpfr_fma(f->pre[j], f->u[j * D + c], z[c], f->pre[j], MPFR_RNDN);
        ref_activation(f->act, f->sg[j], f->dsg[j], f->pre[j], f->tmp);
    }
    for (size_t c = 0; c < D; c++) {
        mpfr_set_zero(v[c], 1);
        for (size_t j = 0; j < f->M; j++)
            mpfr_fma(v[c], f->a[j * D + c], f->sg[j], v[c], MPFR_RNDN);
        mpfr_mul(v[c], v[c], f->invM, MPFR_RNDN);
    }
}

/* zbar = Dv(z)^T w = (1/M) sum_j (a_j . w) sigma'(u_j . z + b_j) u_j. */
static void field_vjp(layer_field *f, mpfr_t *z, mpfr_t *w, mpfr_t *zbar, mpfr_t *scratch_v)
{
    size_t D = f->D;
    field_eval(f, z, scratch_v); /* sets pre, sigma' at z */
    for (size_t c = 0; c < D; c++)
        mpfr_set_zero(zbar[c], 1);
    for (size_t j = 0; j < f->M; j++) {
        mpfr_set_zero(f->t, 1);
        for (size_t c = 0; c < D; c++)
            mpfr_fma(f->t, f->a[j * D + c], w[c], f->t, MPFR_RNDN);
        mpfr_mul(f->t, f->t, f->dsg[j], MPFR_RNDN);
        mpfr_mul(f->t, f->t, f->invM, MPFR_RNDN);
        for (size_t c = 0; c < D; c++)
            mpfr_fma(zbar[c], f->t, f->u[j * D + c], zbar[c], MPFR_RNDN);
    }
}

void ref_potential_clear(ref_potential *pt)
{
    ref_vec_free(pt->Y, pt->count * pt->D);
    ref_vec_free(pt->w, pt->count * pt->D);
    pt->Y = pt->w = NULL;
    if (pt->prec)
        mpfr_clears(pt->xi, pt->s, pt->ds, pt->aw, pt->tmp, (mpfr_ptr)0);
    pt->prec = 0;
    pt->count = 0;
}

int ref_potential_init(ref_potential *pt, const ref_model *m, const ref_result *res, size_t k,
                       char *err, size_t len)
{
    memset(pt, 0, sizeof *pt);
    const no_spec *s = &m->spec;
    if (s->family != NO_FAMILY_MLP)
        return no_errorf(err, len, "potential: the family must be mlp, not %s",
                         no_family_name(s->family));
    if (s->adjoint != NO_ADJOINT_DISCRETE)
        return no_errorf(err, len, "potential: needs the discrete adjoint (the first variation "
                                   "of the computed loss), not %s",
                         no_adjoint_name(s->adjoint));
    if (k >= s->L)
        return no_errorf(err, len, "potential: layer %zu out of range 0..%zu", k, s->L - 1);
    const ref_array *Z = ref_result_get(res, "states"), *P = ref_result_get(res, "adjoint");
    const ref_array *pa = param(m, "a"), *pu = param(m, "u"), *pb = param(m, "b");
    size_t N = s->N, D = s->D, M = s->M;
    if (!Z || !P || !pa || !pu || !pb || Z->n != (s->L + 1) * N * D || P->n != Z->n)
        return no_errorf(err, len, "potential: the run lacks states or adjoint of the problem");
    const no_tableau *tab = no_tableau_of(s->scheme);
    int S = tab->stages;
    size_t t0 = m->first[k], nt = m->first[k + 1] - t0;
    mpfr_prec_t prec = m->prec;
    pt->D = D;
    pt->act = s->activation;
    pt->count = N * nt * (size_t)S;
    pt->prec = prec;
    mpfr_inits2(prec, pt->xi, pt->s, pt->ds, pt->aw, pt->tmp, (mpfr_ptr)0);
    pt->Y = ref_vec_new(pt->count * D, prec);
    pt->w = ref_vec_new(pt->count * D, prec);

    layer_field f;
    memset(&f, 0, sizeof f);
    f.D = D;
    f.M = M;
    f.act = s->activation;
    f.a = pa->v + k * M * D;
    f.u = pu->v + k * M * D;
    f.b = pb->v + k * M;
    f.pre = ref_vec_new(M, prec);
    f.sg = ref_vec_new(M, prec);
    f.dsg = ref_vec_new(M, prec);
    mpfr_inits2(prec, f.invM, f.t, f.tmp, (mpfr_ptr)0);
    mpfr_set_ui(f.invM, 1, MPFR_RNDN);
    mpfr_div_ui(f.invM, f.invM, (unsigned long)M, MPFR_RNDN);
    mpfr_t ra[NO_MAX_STAGES][NO_MAX_STAGES], rb[NO_MAX_STAGES], h, c1;
    mpfr_inits2(prec, h, c1, (mpfr_ptr)0);
    for (int i = 0; i < S; i++) {
        mpfr_init2(rb[i], prec);
        ref_rational(rb[i], tab->b[i]);
        for (int j = 0; j < S; j++) {
            mpfr_init2(ra[i][j], prec);
            ref_rational(ra[i][j], tab->a[i][j]);
        }
    }
    /* h of the spec's scaling: 1/L or 1/sqrt(L), exact to prec */
    mpfr_set_ui(h, (unsigned long)s->L, MPFR_RNDN);
    if (s->scaling == NO_SCALING_SQRT)
        mpfr_sqrt(h, h, MPFR_RNDN);
    mpfr_ui_div(h, 1, h, MPFR_RNDN);
    mpfr_t *z = ref_vec_new(D, prec), *p = ref_vec_new(D, prec), *v = ref_vec_new(D, prec);
    mpfr_t *K = ref_vec_new((size_t)S * D, prec), *mu = ref_vec_new((size_t)S * D, prec);
    mpfr_t *lam = ref_vec_new(D, prec);
    int bad = !pt->Y || !pt->w || !f.pre || !f.sg || !f.dsg || !z || !p || !v || !K || !mu || !lam;
    for (size_t i = 0; i < N && !bad; i++) {
        mpfr_t *Yi = pt->Y + i * nt * (size_t)S * D, *wi = pt->w + i * nt * (size_t)S * D;
        /* forward through the layer: Y_{n,s} = z_n + tau sum_{r<s} a_sr K_r */
        for (size_t c = 0; c < D; c++)
            mpfr_set(z[c], Z->v[(k * N + i) * D + c], MPFR_RNDN);
        for (size_t n = 0; n < nt; n++) {
            mpfr_srcptr tau = m->tau[t0 + n];
            for (int st = 0; st < S; st++) {
                mpfr_t *Y = Yi + (n * (size_t)S + (size_t)st) * D;
                for (size_t c = 0; c < D; c++) {
                    mpfr_set_zero(c1, 1);
                    for (int r = 0; r < st; r++)
                        mpfr_fma(c1, ra[st][r], K[(size_t)r * D + c], c1, MPFR_RNDN);
                    mpfr_fma(Y[c], tau, c1, z[c], MPFR_RNDN);
                }
                field_eval(&f, Y, K + (size_t)st * D);
            }
            for (size_t c = 0; c < D; c++) {
                mpfr_set_zero(c1, 1);
                for (int st = 0; st < S; st++)
                    mpfr_fma(c1, rb[st], K[(size_t)st * D + c], c1, MPFR_RNDN);
                mpfr_fma(z[c], tau, c1, z[c], MPFR_RNDN);
            }
        }
        /* backward from p_{k+1}: the discrete adjoint's stage cotangents */
        for (size_t c = 0; c < D; c++)
            mpfr_set(p[c], P->v[((k + 1) * N + i) * D + c], MPFR_RNDN);
        for (size_t n = nt; n-- > 0;) {
            mpfr_srcptr tau = m->tau[t0 + n];
            for (int st = S - 1; st >= 0; st--) {
                mpfr_t *Y = Yi + (n * (size_t)S + (size_t)st) * D;
                mpfr_t *w = wi + (n * (size_t)S + (size_t)st) * D;
                for (size_t c = 0; c < D; c++) {
                    mpfr_mul(c1, rb[st], p[c], MPFR_RNDN);
                    for (int r = st + 1; r < S; r++)
                        mpfr_fma(c1, ra[r][st], mu[(size_t)r * D + c], c1, MPFR_RNDN);
                    mpfr_mul(lam[c], tau, c1, MPFR_RNDN);
                    mpfr_div(w[c], lam[c], h, MPFR_RNDN); /* the 1/h of Psi's normalisation */
                }
                field_vjp(&f, Y, lam, mu + (size_t)st * D, v);
            }
            for (int st = 0; st < S; st++)
                for (size_t c = 0; c < D; c++)
                    mpfr_add(p[c], p[c], mu[(size_t)st * D + c], MPFR_RNDN);
        }
    }
    ref_vec_free(z, D);
    ref_vec_free(p, D);
    ref_vec_free(v, D);
    ref_vec_free(K, (size_t)S * D);
    ref_vec_free(mu, (size_t)S * D);
    ref_vec_free(lam, D);
    ref_vec_free(f.pre, M);
    ref_vec_free(f.sg, M);
    ref_vec_free(f.dsg, M);
    mpfr_clears(f.invM, f.t, f.tmp, h, c1, (mpfr_ptr)0);
    for (int i = 0; i < S; i++) {
        mpfr_clear(rb[i]);
        for (int j = 0; j < S; j++)
            mpfr_clear(ra[i][j]);
    }
    if (bad) {
        ref_potential_clear(pt);
        return no_errorf(err, len, "potential: out of memory");
    }
    return 0;
}

/* Psi = sum_c (a . w_c) sigma(xi_c),  xi_c = u . Y_c + b:
 *   dPsi/da = sum_c sigma(xi_c) w_c,
 *   dPsi/du = sum_c (a . w_c) sigma'(xi_c) Y_c,
 *   dPsi/db = sum_c (a . w_c) sigma'(xi_c). */
void ref_potential_eval(ref_potential *pt, mpfr_t *theta, mpfr_t psi, mpfr_t *grad)
{
    size_t D = pt->D;
    mpfr_t *a = theta, *u = theta + D, *b = theta + 2 * D;
    mpfr_set_zero(psi, 1);
    if (grad)
        for (size_t c = 0; c < 2 * D + 1; c++)
            mpfr_set_zero(grad[c], 1);
    for (size_t q = 0; q < pt->count; q++) {
        mpfr_t *Y = pt->Y + q * D, *w = pt->w + q * D;
        mpfr_set(pt->xi, *b, MPFR_RNDN);
        mpfr_set_zero(pt->aw, 1);
        for (size_t c = 0; c < D; c++) {
            mpfr_fma(pt->xi, u[c], Y[c], pt->xi, MPFR_RNDN);
            mpfr_fma(pt->aw, a[c], w[c], pt->aw, MPFR_RNDN);
        }
        ref_activation(pt->act, pt->s, pt->ds, pt->xi, pt->tmp);
        mpfr_fma(psi, pt->aw, pt->s, psi, MPFR_RNDN);
        if (!grad)
            continue;
        mpfr_mul(pt->tmp, pt->aw, pt->ds, MPFR_RNDN); /* (a . w) sigma' */
        for (size_t c = 0; c < D; c++) {
            mpfr_fma(grad[c], pt->s, w[c], grad[c], MPFR_RNDN);
            mpfr_fma(grad[D + c], pt->tmp, Y[c], grad[D + c], MPFR_RNDN);
        }
        mpfr_add(grad[2 * D], grad[2 * D], pt->tmp, MPFR_RNDN);
    }
}
