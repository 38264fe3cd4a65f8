/* ref_kernel.c - kernels, kernel expansions and RKHS gradient descent in
 * MPFR (ref_kernel.h; derivation in proofs-notes/kernel-gd.md).
 *
 * Three parts: (1) the kernels k(z, c) and grad_z k(z, c); (2) the
 * expansion v_k = sum_c k(., c) alpha_c of every layer, its eval and
 * vector-Jacobian product, plugged into the generic scheme steppers of
 * ref_scheme.c as a field family whose data ride in ref_field_ws.ext;
 * (3) gradient descent: forward with ref_step, discrete adjoint with
 * ref_step_adjoint, whose per-stage vjp calls append the stage points Y as
 * centres with the stage cotangents lam as coefficients. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"
#include "ref_kernel.h"

enum { K_GAUSSIAN, K_MATERN, K_FEATURES };

struct ref_kernel {
    int kind;
    size_t D, q;             /* q: features only */
    mpfr_prec_t prec;
    int p;                   /* matern: nu = p + 1/2 */
    mpfr_t a;                /* gaussian: 1/(2 ell^2); matern: sqrt(2 nu); features: sqrt(2/q) */
    const ref_model *m;      /* features: Omega, beta */
    mpfr_t kv, psi;          /* radial: k and psi, grad_z k = psi (z - c) */
    mpfr_t r2, s, e, t;
    mpfr_t *phiz, *dphiz, *phic, *tq; /* features scratch, q each */
    ref_dot_ws dot;          /* max(D, q) terms */
};

/* ---- (1) kernels ------------------------------------------------------ */

static ref_kernel *kernel_new(int kind, size_t D, size_t q, mpfr_prec_t prec)
{
    ref_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->kind = kind;
    k->D = D;
    k->q = q;
    k->prec = prec;
    mpfr_inits2(prec, k->a, k->kv, k->psi, k->r2, k->s, k->e, k->t, (mpfr_ptr)0);
    size_t np = D > q ? D : q;
    int bad = ref_dot_ws_init(&k->dot, np, prec);
    if (q) {
        k->phiz = ref_vec_new(q, prec);
        k->dphiz = ref_vec_new(q, prec);
        k->phic = ref_vec_new(q, prec);
        k->tq = ref_vec_new(q, prec);
        bad |= !k->phiz || !k->dphiz || !k->phic || !k->tq;
    }
    if (bad) {
        ref_kernel_free(k);
        return NULL;
    }
    return k;
}

void ref_kernel_free(ref_kernel *k)
{
    if (!k)
        return;
    mpfr_clears(k->a, k->kv, k->psi, k->r2, k->s, k->e, k->t, (mpfr_ptr)0);
    ref_vec_free(k->phiz, k->q);
    ref_vec_free(k->dphiz, k->q);
    ref_vec_free(k->phic, k->q);
    ref_vec_free(k->tq, k->q);
    ref_dot_ws_clear(&k->dot);
    free(k);
}

ref_kernel *ref_kernel_gaussian(size_t D, double ell, mpfr_prec_t prec)
{
    if (!(ell > 0) || !isfinite(ell))
        return NULL;
    ref_kernel *k = kernel_new(K_GAUSSIAN, D, 0, prec);
    if (!k)
        return NULL;
    mpfr_set_d(k->a, ell, MPFR_RNDN); /* exact: prec >= 53 */
    mpfr_sqr(k->a, k->a, MPFR_RNDN);
    mpfr_mul_2ui(k->a, k->a, 1, MPFR_RNDN);
    mpfr_ui_div(k->a, 1, k->a, MPFR_RNDN); /* 1/(2 ell^2) */
    return k;
}

ref_kernel *ref_kernel_matern(size_t D, double nu, mpfr_prec_t prec)
{
    int p = (int)(nu - 0.5);
    if (p < 0 || p > 3 || nu != p + 0.5)
        return NULL;
    ref_kernel *k = kernel_new(K_MATERN, D, 0, prec);
    if (!k)
        return NULL;
    k->p = p;
    mpfr_set_ui(k->a, (unsigned long)(2 * p + 1), MPFR_RNDN); /* 2 nu */
    mpfr_sqrt(k->a, k->a, MPFR_RNDN);
    return k;
}

ref_kernel *ref_kernel_features(const ref_model *m)
{
    if (m->spec.family != NO_FAMILY_RFF)
        return NULL;
    ref_kernel *k = kernel_new(K_FEATURES, m->spec.D, m->spec.q, m->prec);
    if (!k)
        return NULL;
    k->m = m;
    mpfr_set_ui(k->a, 2, MPFR_RNDN);
    mpfr_div_ui(k->a, k->a, (unsigned long)m->spec.q, MPFR_RNDN);
    mpfr_sqrt(k->a, k->a, MPFR_RNDN); /* sqrt(2/q) */
    return k;
}

/* phi(z) = c cos(Omega z + beta) and (dphi != NULL) phi'(z) = -c sin(.). */
static void features(ref_kernel *k, mpfr_t *z, mpfr_t *phi, mpfr_t *dphi)
{
    const ref_model *m = k->m;
    size_t D = k->D;
    for (size_t r = 0; r < k->q; r++) {
        ref_dot(k->t, m->Omega.v + r * D, 1, z, 1, D, &k->dot);
        mpfr_add(k->t, k->t, m->beta.v[r], MPFR_RNDN);
        if (dphi) {
            mpfr_sin_cos(dphi[r], phi[r], k->t, MPFR_RNDN);
            mpfr_mul(dphi[r], dphi[r], k->a, MPFR_RNDN);
            mpfr_neg(dphi[r], dphi[r], MPFR_RNDN);
        } else {
            mpfr_cos(phi[r], k->t, MPFR_RNDN);
        }
        mpfr_mul(phi[r], phi[r], k->a, MPFR_RNDN);
    }
}

/* k->r2 = |z - c|^2 (diff: D scratch numbers, z - c). */
static void dist2(ref_kernel *k, mpfr_t *z, mpfr_t *c, mpfr_t *diff)
{
    for (size_t d = 0; d < k->D; d++)
        mpfr_sub(diff[d], z[d], c[d], MPFR_RNDN);
    ref_dot(k->r2, diff, 1, diff, 1, k->D, &k->dot);
}

/* From k->r2: k->kv = k(r) and k->psi with grad_z k = psi (z - c).
 * matern, s = sqrt(2 nu) r, e = exp(-s) (proofs-notes/kernel-gd.md section 1):
 *   p = 0: k = e,                            psi = -e / r (0 at r = 0)
 *   p = 1: k = (1 + s) e,                    psi = -3 e
 *   p = 2: k = (3 + 3s + s^2)/3 e,           psi = -(5/3) (1 + s) e
 *   p = 3: k = (15 + 15s + 6s^2 + s^3)/15 e, psi = -(7/15) (3 + 3s + s^2) e */
static void radial(ref_kernel *k)
{
    if (k->kind == K_GAUSSIAN) {
        mpfr_mul(k->kv, k->r2, k->a, MPFR_RNDN);
        mpfr_neg(k->kv, k->kv, MPFR_RNDN);
        mpfr_exp(k->kv, k->kv, MPFR_RNDN);
        mpfr_mul(k->psi, k->kv, k->a, MPFR_RNDN);
        mpfr_mul_si(k->psi, k->psi, -2, MPFR_RNDN);
        return;
    }
    mpfr_sqrt(k->t, k->r2, MPFR_RNDN); /* r */
    mpfr_mul(k->s, k->t, k->a, MPFR_RNDN);
    mpfr_neg(k->e, k->s, MPFR_RNDN);
    mpfr_exp(k->e, k->e, MPFR_RNDN);
    mpfr_ptr s = k->s, kv = k->kv, psi = k->psi;
    switch (k->p) {
    case 0:
        mpfr_set(kv, k->e, MPFR_RNDN);
        if (mpfr_zero_p(k->t))
            mpfr_set_zero(psi, 1);
        else {
            mpfr_div(psi, k->e, k->t, MPFR_RNDN);
            mpfr_neg(psi, psi, MPFR_RNDN);
        }
        return;
    case 1:
        mpfr_add_ui(kv, s, 1, MPFR_RNDN);
        mpfr_mul(kv, kv, k->e, MPFR_RNDN);
        mpfr_mul_si(psi, k->e, -3, MPFR_RNDN);
        return;
    case 2: /* psi first: it uses kv as scratch */
        mpfr_add_ui(psi, s, 1, MPFR_RNDN);
        mpfr_mul(psi, psi, k->e, MPFR_RNDN);
        mpfr_mul_si(psi, psi, -5, MPFR_RNDN);
        mpfr_div_ui(psi, psi, 3, MPFR_RNDN);
        mpfr_add_ui(kv, s, 3, MPFR_RNDN); /* (s + 3) s + 3 */
        mpfr_mul(kv, kv, s, MPFR_RNDN);
        mpfr_add_ui(kv, kv, 3, MPFR_RNDN);
        mpfr_mul(kv, kv, k->e, MPFR_RNDN);
        mpfr_div_ui(kv, kv, 3, MPFR_RNDN);
        return;
    default: /* 3 */
        mpfr_add_ui(psi, s, 3, MPFR_RNDN); /* (s + 3) s + 3 */
        mpfr_mul(psi, psi, s, MPFR_RNDN);
        mpfr_add_ui(psi, psi, 3, MPFR_RNDN);
        mpfr_add_ui(kv, s, 6, MPFR_RNDN); /* ((s + 6) s + 15) s + 15 */
        mpfr_mul(kv, kv, s, MPFR_RNDN);
        mpfr_add_ui(kv, kv, 15, MPFR_RNDN);
        mpfr_mul(kv, kv, s, MPFR_RNDN);
        mpfr_add_ui(kv, kv, 15, MPFR_RNDN);
        mpfr_mul(kv, kv, k->e, MPFR_RNDN);
        mpfr_div_ui(kv, kv, 15, MPFR_RNDN);
        mpfr_mul(psi, psi, k->e, MPFR_RNDN);
        mpfr_mul_si(psi, psi, -7, MPFR_RNDN);
        mpfr_div_ui(psi, psi, 15, MPFR_RNDN);
        return;
    }
}

void ref_kernel_eval(ref_kernel *k, mpfr_t out, mpfr_t *z, mpfr_t *c)
{
    if (k->kind == K_FEATURES) {
        features(k, z, k->phiz, NULL);
        features(k, c, k->phic, NULL);
        ref_dot(out, k->phiz, 1, k->phic, 1, k->q, &k->dot);
        return;
    }
    mpfr_t *diff = ref_vec_new(k->D, k->prec);
    dist2(k, z, c, diff);
    radial(k);
    mpfr_set(out, k->kv, MPFR_RNDN);
    ref_vec_free(diff, k->D);
}

/* features: grad_z k = Omega^T (phi'(z) o phi(c)); radial: psi (z - c). */
void ref_kernel_grad(ref_kernel *k, mpfr_t *grad, mpfr_t *z, mpfr_t *c)
{
    size_t D = k->D;
    if (k->kind == K_FEATURES) {
        features(k, z, k->phiz, k->dphiz);
        features(k, c, k->phic, NULL);
        for (size_t r = 0; r < k->q; r++)
            mpfr_mul(k->tq[r], k->dphiz[r], k->phic[r], MPFR_RNDN);
        for (size_t d = 0; d < D; d++)
            ref_dot(grad[d], k->m->Omega.v + d, D, k->tq, 1, k->q, &k->dot);
        return;
    }
    dist2(k, z, c, grad);
    radial(k);
    for (size_t d = 0; d < D; d++)
        mpfr_mul(grad[d], grad[d], k->psi, MPFR_RNDN);
}

/* ---- (2) expansions --------------------------------------------------- */

struct ref_kernel_expansion {
    ref_kernel *k;
    size_t L, D, q, capmax;
    size_t *cap, *count, *pending; /* per layer: room, committed, appended since */
    mpfr_t **centre, **coef, **feat; /* per layer: cap x D, cap x D, cap x q */
    mpfr_t *kv, *t, *diff;           /* capmax scratch */
    mpfr_t *phiz, *dphiz, *u;        /* q scratch (features) */
    mpfr_t tmp;
    ref_dot_ws dot;                  /* max(capmax, D, q) + 1 terms */
};

void ref_kernel_expansion_free(ref_kernel_expansion *e)
{
    if (!e)
        return;
    for (size_t k = 0; k < e->L; k++) {
        if (e->centre)
            ref_vec_free(e->centre[k], e->cap[k] * e->D);
        if (e->coef)
            ref_vec_free(e->coef[k], e->cap[k] * e->D);
        if (e->feat && e->feat[k])
            ref_vec_free(e->feat[k], e->cap[k] * e->q);
    }
    free(e->centre);
    free(e->coef);
    free(e->feat);
    free(e->cap);
    free(e->count);
    free(e->pending);
    ref_vec_free(e->kv, e->capmax);
    ref_vec_free(e->t, e->capmax);
    ref_vec_free(e->diff, e->capmax);
    ref_vec_free(e->phiz, e->q);
    ref_vec_free(e->dphiz, e->q);
    ref_vec_free(e->u, e->q);
    mpfr_clear(e->tmp);
    ref_dot_ws_clear(&e->dot);
    free(e);
}

/* An empty expansion (v = 0) with room for cap[k] centres in layer k. */
static ref_kernel_expansion *expansion_new(ref_kernel *k, size_t L, const size_t *cap)
{
    ref_kernel_expansion *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->k = k;
    e->L = L;
    e->D = k->D;
    e->q = k->kind == K_FEATURES ? k->q : 0;
    mpfr_init2(e->tmp, k->prec);
    e->cap = calloc(L, sizeof(size_t));
    e->count = calloc(L, sizeof(size_t));
    e->pending = calloc(L, sizeof(size_t));
    e->centre = calloc(L, sizeof(mpfr_t *));
    e->coef = calloc(L, sizeof(mpfr_t *));
    e->feat = calloc(L, sizeof(mpfr_t *));
    int bad = !e->cap || !e->count || !e->pending || !e->centre || !e->coef || !e->feat;
    for (size_t l = 0; !bad && l < L; l++) {
        e->cap[l] = cap[l];
        if (cap[l] > e->capmax)
            e->capmax = cap[l];
        e->centre[l] = ref_vec_new(cap[l] * e->D, k->prec);
        e->coef[l] = ref_vec_new(cap[l] * e->D, k->prec);
        bad = !e->centre[l] || !e->coef[l];
        if (!bad && e->q)
            bad = !(e->feat[l] = ref_vec_new(cap[l] * e->q, k->prec));
    }
    size_t np = e->capmax;
    if (np < e->D)
        np = e->D;
    if (np < e->q)
        np = e->q;
    if (!bad) {
        e->kv = ref_vec_new(e->capmax, k->prec);
        e->t = ref_vec_new(e->capmax, k->prec);
        e->diff = ref_vec_new(e->capmax, k->prec);
        bad = !e->kv || !e->t || !e->diff || ref_dot_ws_init(&e->dot, np + 1, k->prec);
    }
    if (!bad && e->q) {
        e->phiz = ref_vec_new(e->q, k->prec);
        e->dphiz = ref_vec_new(e->q, k->prec);
        e->u = ref_vec_new(e->q, k->prec);
        bad = !e->phiz || !e->dphiz || !e->u;
    }
    if (bad) {
        ref_kernel_expansion_free(e);
        return NULL;
    }
    return e;
}

size_t ref_kernel_expansion_count(const ref_kernel_expansion *e, size_t k)
{
    return e->count[k];
}

/* e->k->r2 = |a - b|^2 (a plain sum of squares: D is small). */
static void r2_of(ref_kernel_expansion *e, mpfr_t *a, mpfr_t *b)
{
    mpfr_set_zero(e->k->r2, 1);
    for (size_t d = 0; d < e->D; d++) {
        mpfr_sub(e->tmp, a[d], b[d], MPFR_RNDN);
        mpfr_sqr(e->tmp, e->tmp, MPFR_RNDN);
        mpfr_add(e->k->r2, e->k->r2, e->tmp, MPFR_RNDN);
    }
}

/* e->kv[c] = k(z, c) for the first C centres of layer l; psi (radial) in
 * e->t[c] when want_psi.  Features: phi(z), phi'(z) into e->phiz, e->dphiz,
 * with the centres' features cached at append. */
static void kernel_row(ref_kernel_expansion *e, size_t l, size_t C, mpfr_t *z, int want_psi)
{
    ref_kernel *k = e->k;
    if (k->kind == K_FEATURES) {
        features(k, z, e->phiz, want_psi ? e->dphiz : NULL);
        for (size_t c = 0; c < C; c++)
            ref_dot(e->kv[c], e->phiz, 1, e->feat[l] + c * e->q, 1, e->q, &e->dot);
        return;
    }
    for (size_t c = 0; c < C; c++) {
        r2_of(e, z, e->centre[l] + c * e->D);
        radial(k);
        mpfr_set(e->kv[c], k->kv, MPFR_RNDN);
        if (want_psi)
            mpfr_set(e->t[c], k->psi, MPFR_RNDN);
    }
}

void ref_kernel_expansion_eval(ref_kernel_expansion *e, size_t l, mpfr_t *z, mpfr_t *v)
{
    size_t C = e->count[l], D = e->D;
    if (C == 0) {
        for (size_t d = 0; d < D; d++)
            mpfr_set_zero(v[d], 1);
        return;
    }
    kernel_row(e, l, C, z, 0);
    for (size_t d = 0; d < D; d++)
        ref_dot(v[d], e->kv, 1, e->coef[l] + d, D, C, &e->dot);
}

void ref_kernel_expansion_vjp(ref_kernel_expansion *e, size_t l, mpfr_t *z, mpfr_t *w,
                              mpfr_t *zbar)
{
    size_t C = e->count[l], D = e->D;
    if (C == 0) {
        for (size_t d = 0; d < D; d++)
            mpfr_set_zero(zbar[d], 1);
        return;
    }
    kernel_row(e, l, C, z, 1);
    if (e->q) { /* zbar = Omega^T (phi'(z) o u), u = sum_c (alpha_c . w) phi(c) */
        for (size_t c = 0; c < C; c++)
            ref_dot(e->t[c], e->coef[l] + c * D, 1, w, 1, D, &e->dot);
        for (size_t r = 0; r < e->q; r++) {
            ref_dot(e->u[r], e->t, 1, e->feat[l] + r, e->q, C, &e->dot);
            mpfr_mul(e->u[r], e->u[r], e->dphiz[r], MPFR_RNDN);
        }
        for (size_t d = 0; d < D; d++)
            ref_dot(zbar[d], e->k->m->Omega.v + d, D, e->u, 1, e->q, &e->dot);
        return;
    }
    /* radial: zbar = sum_c (alpha_c . w) psi_c (z - c) */
    for (size_t c = 0; c < C; c++) {
        ref_dot(e->tmp, e->coef[l] + c * D, 1, w, 1, D, &e->dot);
        mpfr_mul(e->t[c], e->t[c], e->tmp, MPFR_RNDN);
    }
    for (size_t d = 0; d < D; d++) {
        for (size_t c = 0; c < C; c++)
            mpfr_sub(e->diff[c], z[d], e->centre[l][c * D + d], MPFR_RNDN);
        ref_dot(zbar[d], e->t, 1, e->diff, 1, C, &e->dot);
    }
}

/* Append centre y with coefficient scale * w to layer l, not yet part of the
 * field (pending until commit). */
static void append(ref_kernel_expansion *e, size_t l, mpfr_t *y, mpfr_t *w, mpfr_srcptr scale)
{
    size_t c = e->count[l] + e->pending[l]++, D = e->D;
    for (size_t d = 0; d < D; d++) {
        mpfr_set(e->centre[l][c * D + d], y[d], MPFR_RNDN);
        ref_scaled(e->coef[l][c * D + d], w[d], scale);
    }
    if (e->q)
        features(e->k, y, e->feat[l] + c * e->q, NULL);
}

/* sum_{c,c'} a_c^T k(c, c') a_c' over the centres c0 .. c0 + P - 1 of
 * layer l. */
static void range_gram(ref_kernel_expansion *e, size_t l, size_t c0, size_t P, mpfr_t out)
{
    size_t D = e->D;
    mpfr_t *ctr = e->centre[l] + c0 * D, *a = e->coef[l] + c0 * D;
    mpfr_t *acc = ref_vec_new(P ? P : 1, e->k->prec), *u = ref_vec_new(D, e->k->prec);
    for (size_t c = 0; c < P; c++) {
        if (e->q) {
            for (size_t c2 = 0; c2 < P; c2++)
                ref_dot(e->kv[c2], e->feat[l] + (c0 + c) * e->q, 1,
                        e->feat[l] + (c0 + c2) * e->q, 1, e->q, &e->dot);
        } else {
            for (size_t c2 = 0; c2 < P; c2++) {
                r2_of(e, ctr + c * D, ctr + c2 * D);
                radial(e->k);
                mpfr_set(e->kv[c2], e->k->kv, MPFR_RNDN);
            }
        }
        for (size_t d = 0; d < D; d++)
            ref_dot(u[d], e->kv, 1, a + d, D, P, &e->dot);
        ref_dot(acc[c], a + c * D, 1, u, 1, D, &e->dot);
    }
    for (size_t c = 0; c < P; c++)
        e->dot.px[c] = acc[c];
    mpfr_sum(out, e->dot.px, P, MPFR_RNDN);
    ref_vec_free(acc, P ? P : 1);
    ref_vec_free(u, D);
}

/* The Gram form over layer l's pending centres (|G_l|^2 before the 1/h). */
static void pending_gram(ref_kernel_expansion *e, size_t l, mpfr_t out)
{
    range_gram(e, l, e->count[l], e->pending[l], out);
}

void ref_kernel_expansion_norm2(ref_kernel_expansion *e, size_t k, size_t count, mpfr_t out)
{
    range_gram(e, k, 0, count < e->count[k] ? count : e->count[k], out);
}

/* The pending centres join the field with coefficients times f. */
static void commit(ref_kernel_expansion *e, size_t l, mpfr_srcptr f)
{
    size_t c0 = e->count[l], P = e->pending[l], D = e->D;
    for (size_t i = c0 * D; i < (c0 + P) * D; i++)
        mpfr_mul(e->coef[l][i], e->coef[l][i], f, MPFR_RNDN);
    e->count[l] += P;
    e->pending[l] = 0;
}

static void scale_pending(ref_kernel_expansion *e, size_t l, mpfr_srcptr f)
{
    size_t c0 = e->count[l], P = e->pending[l], D = e->D;
    for (size_t i = c0 * D; i < (c0 + P) * D; i++)
        mpfr_mul(e->coef[l][i], e->coef[l][i], f, MPFR_RNDN);
}

/* The expansion as a field family of the steppers: ws->ext is the
 * expansion, ws->k the layer.  vjp with g != NULL records (Y, scale w): the
 * stage point and its cotangent (g's content is not used). */
static void kfield_eval(ref_field_ws *ws, mpfr_t *z, mpfr_t *v)
{
    ref_kernel_expansion_eval(ws->ext, ws->k, z, v);
}

static void kfield_vjp(ref_field_ws *ws, mpfr_t *z, mpfr_t *w, mpfr_t *zbar, mpfr_t *g,
                       mpfr_srcptr scale)
{
    ref_kernel_expansion_vjp(ws->ext, ws->k, z, w, zbar);
    if (g)
        append(ws->ext, ws->k, z, w, scale);
}

static const ref_field_family kernel_field = {"kernel", kfield_eval, kfield_vjp};

/* ---- (3) gradient descent --------------------------------------------- */

/* Centres layer l holds after iters steps: iters N n_l S. */
static int layer_caps(const ref_model *m, size_t iters, size_t *cap)
{
    size_t S = (size_t)no_tableau_of(m->spec.scheme)->stages;
    for (size_t l = 0; l < m->spec.L; l++) {
        size_t n = m->first[l + 1] - m->first[l];
        if (no_mul_size(iters, m->spec.N, &cap[l]) || no_mul_size(cap[l], n, &cap[l]) ||
            no_mul_size(cap[l], S, &cap[l]))
            return -1;
    }
    return 0;
}

double ref_kernel_gd_memory(const ref_model *m, const ref_kernel *k, size_t iters)
{
    const no_spec *s = &m->spec;
    double S = no_tableau_of(s->scheme)->stages, N = (double)s->N, D = (double)s->D;
    double per = 2 * D + (k->kind == K_FEATURES ? (double)k->q : 0), total = 0, capmax = 0;
    for (size_t l = 0; l < s->L; l++) {
        double c = (double)iters * N * (double)(m->first[l + 1] - m->first[l]) * S;
        total += c;
        if (c > capmax)
            capmax = c;
    }
    double numbers = total * per + capmax * (D + 3) + ((double)m->nsteps + 1) * N * D +
                     ((double)iters + 1) * (N * (double)s->d_out + 2) + 8 * N * D;
    /* the expansion's dot scratch: capmax exact products at twice the precision */
    return numbers * ref_number_bytes(m->prec) + capmax * ref_number_bytes(2 * m->prec) +
           total * 2 * sizeof(mpfr_ptr);
}

void ref_kernel_trace_clear(ref_kernel_trace *tr)
{
    if (tr->F)
        ref_vec_free(tr->F, tr->iters + 1);
    if (tr->gnorm2)
        ref_vec_free(tr->gnorm2, tr->iters ? tr->iters : 1);
    free(tr->centres);
    ref_array_clear(&tr->output);
    ref_kernel_expansion_free(tr->v);
    memset(tr, 0, sizeof *tr);
}

/* Forward pass of every point under the current field: states at every
 * step boundary into sub ((nsteps + 1) x N x D), outputs into out (N x
 * d_out), residuals r, loss F. */
static void gd_forward(const ref_model *m, ref_stepper *st, mpfr_t *sub, mpfr_t *out, mpfr_t *r,
                       mpfr_t *perloss, mpfr_ptr *terms, mpfr_t F)
{
    const no_spec *s = &m->spec;
    size_t N = s->N, D = s->D;
    ref_dot_ws *dw = &st->fw.dot;
    for (size_t i = 0; i < N; i++) {
        mpfr_t *z = sub + i * D;
        for (size_t d = 0; d < D; d++)
            ref_dot(z[d], m->A.v + d * s->d_in, 1, m->X.v + i * s->d_in, 1, s->d_in, dw);
        for (size_t l = 0; l < s->L; l++)
            for (size_t t = m->first[l]; t < m->first[l + 1]; t++) {
                mpfr_t *from = sub + (t * N + i) * D, *to = sub + ((t + 1) * N + i) * D;
                for (size_t d = 0; d < D; d++)
                    mpfr_set(to[d], from[d], MPFR_RNDN);
                ref_step(st, l, m->tau[t], to, +1);
            }
        mpfr_t *zL = sub + (m->nsteps * N + i) * D;
        for (size_t o = 0; o < s->d_out; o++) {
            mpfr_t *yo = out + i * s->d_out + o;
            ref_dot(*yo, m->B.v + o * D, 1, zL, 1, D, dw);
            mpfr_sub(r[i * s->d_out + o], *yo, m->Y.v[i * s->d_out + o], MPFR_RNDN);
        }
        ref_dot(perloss[i], r + i * s->d_out, 1, r + i * s->d_out, 1, s->d_out, dw);
        terms[i] = perloss[i];
    }
    mpfr_sum(F, terms, N, MPFR_RNDN);
    mpfr_div_ui(F, F, 2 * (unsigned long)N, MPFR_RNDN);
}

int ref_kernel_gd(const ref_model *m, ref_kernel *k, double eta, size_t iters,
                  double max_bytes, ref_kernel_trace *tr, char *err, size_t len)
{
    const no_spec *s = &m->spec;
    size_t N = s->N, D = s->D, L = s->L;
    memset(tr, 0, sizeof *tr);
    if (s->adjoint != NO_ADJOINT_DISCRETE)
        return no_errorf(err, len, "kernel gd: only the discrete adjoint (the exact gradient)");
    if (k->D != D)
        return no_errorf(err, len, "kernel gd: kernel on R^%zu, states in R^%zu", k->D, D);
    if (!isfinite(eta))
        return no_errorf(err, len, "kernel gd: eta must be finite");
    size_t *cap = calloc(L, sizeof(size_t)), total = 0;
    if (!cap)
        return no_errorf(err, len, "out of memory");
    int overflow = layer_caps(m, iters, cap);
    for (size_t l = 0; !overflow && l < L; l++)
        overflow = total + cap[l] < total, total += cap[l];
    double bytes = ref_kernel_gd_memory(m, k, iters), limit = max_bytes > 0 ? max_bytes : 1 << 30;
    if (overflow || bytes > limit) {
        free(cap);
        int S = no_tableau_of(s->scheme)->stages;
        if (overflow)
            return no_errorf(err, len,
                             "kernel gd: %zu steps make more than %zu centres (iters x N x "
                             "substeps (L m) x stages = %zu x %zu x %zu x %d)",
                             iters, SIZE_MAX, iters, N, m->nsteps, S);
        return no_errorf(err, len,
                         "kernel gd: %zu steps make %zu centres (iters x N x substeps (L m) x "
                         "stages = %zu x %zu x %zu x %d), %.4g bytes at %ld bits, over the limit "
                         "%.4g",
                         iters, total, iters, N, m->nsteps, S, bytes, (long)m->prec, limit);
    }
    tr->iters = iters;
    tr->v = expansion_new(k, L, cap);
    free(cap);
    tr->F = ref_vec_new(iters + 1, m->prec);
    tr->gnorm2 = ref_vec_new(iters ? iters : 1, m->prec);
    tr->centres = calloc(iters + 1, sizeof(size_t));
    size_t oshape[3] = {iters + 1, N, s->d_out};
    ref_stepper st;
    int have_st = 0, bad = !tr->v || !tr->F || !tr->gnorm2 || !tr->centres ||
                           ref_array_init(&tr->output, "output", 3, oshape, m->prec);
    if (!bad)
        bad = !(have_st = !ref_stepper_init(&st, m));
    size_t nsub = (m->nsteps + 1) * N * D;
    mpfr_t *sub = bad ? NULL : ref_vec_new(nsub, m->prec);
    mpfr_t *p = bad ? NULL : ref_vec_new(N * D, m->prec);
    mpfr_t *r = bad ? NULL : ref_vec_new(N * s->d_out, m->prec);
    mpfr_t *perloss = bad ? NULL : ref_vec_new(N, m->prec);
    mpfr_ptr *terms = malloc(N * sizeof(mpfr_ptr));
    if (bad || !sub || !p || !r || !perloss || !terms) {
        if (have_st)
            ref_stepper_clear(&st);
        ref_vec_free(sub, nsub);
        ref_vec_free(p, N * D);
        ref_vec_free(r, N * s->d_out);
        ref_vec_free(perloss, N);
        free(terms);
        ref_kernel_trace_clear(tr);
        return no_errorf(err, len, "out of memory in kernel gd");
    }
    st.fam = &kernel_field;
    st.fw.ext = tr->v;
    mpfr_t f, neg_eta, g;
    mpfr_inits2(m->prec, f, neg_eta, g, (mpfr_ptr)0);
    mpfr_set_ui(f, (unsigned long)L, MPFR_RNDN); /* 1/h, ref_run's metric factor */
    if (s->scaling == NO_SCALING_SQRT)
        mpfr_sqrt(f, f, MPFR_RNDN);
    mpfr_set_d(neg_eta, -eta, MPFR_RNDN);
    for (size_t j = 0;; j++) {
        mpfr_t *out = tr->output.v + j * N * s->d_out;
        gd_forward(m, &st, sub, out, r, perloss, terms, tr->F[j]);
        for (size_t l = 0; l < L; l++)
            tr->centres[j] += tr->v->count[l];
        if (j == iters)
            break;
        /* p_L = (1/N) B^T r, then every substep's discrete adjoint, whose
         * stage vjps append (Y_i, lam_i) to the layer (pending). */
        for (size_t i = 0; i < N; i++)
            for (size_t d = 0; d < D; d++) {
                ref_dot(p[i * D + d], m->B.v + d, D, r + i * s->d_out, 1, s->d_out,
                        &st.fw.dot);
                mpfr_div_ui(p[i * D + d], p[i * D + d], (unsigned long)N, MPFR_RNDN);
            }
        for (size_t l = L; l-- > 0;)
            for (size_t i = 0; i < N; i++)
                for (size_t t = m->first[l + 1]; t-- > m->first[l];)
                    ref_step_adjoint(&st, l, m->tau[t], sub + (t * N + i) * D, p + i * D,
                                     &tr->v->tmp); /* g non-NULL: record */
        /* G_l = (1/h) sum k(., Y) lam; ||G||^2 = h sum_l gram_l(G). */
        mpfr_set_zero(tr->gnorm2[j], 1);
        for (size_t l = 0; l < L; l++) {
            scale_pending(tr->v, l, f);
            pending_gram(tr->v, l, g);
            mpfr_add(tr->gnorm2[j], tr->gnorm2[j], g, MPFR_RNDN);
            commit(tr->v, l, neg_eta);
        }
        mpfr_div(tr->gnorm2[j], tr->gnorm2[j], f, MPFR_RNDN);
    }
    mpfr_clears(f, neg_eta, g, (mpfr_ptr)0);
    ref_stepper_clear(&st);
    ref_vec_free(sub, nsub);
    ref_vec_free(p, N * D);
    ref_vec_free(r, N * s->d_out);
    ref_vec_free(perloss, N);
    free(terms);
    return 0;
}
