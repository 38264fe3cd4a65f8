/* ref_pl.c - the links of the local PL chain (ref_pl.h,
 * proofs-notes/theorem-pl.md), read off one reference run. */
#include <stdlib.h>
#include <string.h>

#include "ref_eig.h"
#include "ref_kernel.h"
#include "ref_pl.h"

const char *ref_pl_unsupported(const no_spec *s)
{
    if (s->family != NO_FAMILY_RFF)
        return "the PL chain is derived for family rff (V = {W phi}, |v|_V = |W|_F)";
    if (s->scheme != NO_SCHEME_EULER || s->m != 1)
        return "the PL chain is derived for Euler steps, one per layer (--scheme euler --m 1)";
    if (s->adjoint != NO_ADJOINT_DISCRETE)
        return "the PL chain needs the exact gradient (--adjoint discrete)";
    if (s->N < 2)
        return "the PL chain needs N >= 2 points (a separation)";
    if (s->d_out > s->D)
        return "the PL chain needs d_out <= D (B^T injective)";
    return NULL;
}

void ref_pl_links_clear(ref_pl_links *l)
{
    if (!l->prec)
        return;
    mpfr_t *vecs[] = {l->lmin, l->lmax, l->w};
    for (int i = 0; i < 3; i++) {
        for (size_t k = 0; vecs[i] && k < l->L; k++)
            mpfr_clear(vecs[i][k]);
        free(vecs[i]);
    }
    for (size_t k = 0; l->P && k <= l->L; k++)
        mpfr_clear(l->P[k]);
    for (size_t k = 0; l->sep && k <= l->L; k++)
        mpfr_clear(l->sep[k]);
    free(l->P);
    free(l->sep);
    mpfr_clears(l->F, l->G2, l->gram, l->R, l->kappa1, l->delta, l->sA_min, l->sA_max,
                l->sB_min, l->sB_max, (mpfr_ptr)0);
    memset(l, 0, sizeof *l);
}

static mpfr_t *vec_new(size_t n, mpfr_prec_t prec)
{
    mpfr_t *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        mpfr_init2(v[i], prec);
    return v;
}

static void vec_free(mpfr_t *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

int ref_pl_singular_extremes(const ref_array *M, size_t r, size_t c, int trans, mpfr_t smin,
                             mpfr_t smax, char *err, size_t len)
{
    size_t n = trans ? r : c, inner = trans ? c : r;
    mpfr_prec_t prec = mpfr_get_prec(smin);
    mpfr_t *G = vec_new(n * n, prec), *w = vec_new(n, prec), t;
    if (!G || !w) {
        vec_free(G, n * n);
        vec_free(w, n);
        return no_errorf(err, len, "out of memory (singular values)");
    }
    mpfr_init2(t, prec);
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            mpfr_set_zero(G[a * n + b], 1);
            for (size_t l = 0; l < inner; l++) {
                mpfr_srcptr x = trans ? M->v[a * c + l] : M->v[l * c + a];
                mpfr_srcptr y = trans ? M->v[b * c + l] : M->v[l * c + b];
                mpfr_mul(t, x, y, MPFR_RNDN);
                mpfr_add(G[a * n + b], G[a * n + b], t, MPFR_RNDN);
            }
        }
    int rc = ref_eig_sym(G, n, w, err, len);
    if (!rc) {
        /* a rank-deficient M can give a tiny negative eigenvalue: 0 */
        if (mpfr_sgn(w[0]) < 0)
            mpfr_set_zero(w[0], 1);
        mpfr_sqrt(smin, w[0], MPFR_RNDN);
        mpfr_sqrt(smax, w[n - 1], MPFR_RNDN);
    }
    mpfr_clear(t);
    vec_free(G, n * n);
    vec_free(w, n);
    return rc;
}

/* |a - b| for two D-vectors, into out (t scratch). */
static void dist(mpfr_t out, mpfr_t *a, mpfr_t *b, size_t D, mpfr_t t)
{
    mpfr_set_zero(out, 1);
    for (size_t d = 0; d < D; d++) {
        mpfr_sub(t, a[d], b[d], MPFR_RNDN);
        mpfr_fma(out, t, t, out, MPFR_RNDN);
    }
    mpfr_sqrt(out, out, MPFR_RNDN);
}

/* min over pairs of |x_i - x_j|, x the N x D rows of v. */
static void min_separation(mpfr_t out, mpfr_t *v, size_t N, size_t D, mpfr_t t, mpfr_t s)
{
    mpfr_set_inf(out, 1);
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) {
            dist(s, v + i * D, v + j * D, D, t);
            mpfr_min(out, out, s, MPFR_RNDN);
        }
}

static int links_init(ref_pl_links *l, size_t L, size_t N, mpfr_prec_t prec)
{
    memset(l, 0, sizeof *l);
    l->L = L;
    l->N = N;
    l->prec = prec;
    mpfr_inits2(prec, l->F, l->G2, l->gram, l->R, l->kappa1, l->delta, l->sA_min, l->sA_max,
                l->sB_min, l->sB_max, (mpfr_ptr)0);
    l->lmin = vec_new(L, prec);
    l->lmax = vec_new(L, prec);
    l->w = vec_new(L, prec);
    l->P = vec_new(L + 1, prec);
    l->sep = vec_new(L + 1, prec);
    if (!l->lmin || !l->lmax || !l->w || !l->P || !l->sep) {
        ref_pl_links_clear(l);
        return -1;
    }
    return 0;
}

int ref_pl_eval(const ref_model *m, ref_pl_links *out, ref_result *run, char *err, size_t len)
{
    const no_spec *s = &m->spec;
    const char *why = ref_pl_unsupported(s);
    if (why)
        return no_errorf(err, len, "%s", why);
    size_t L = s->L, N = s->N, D = s->D, q = s->q;
    mpfr_prec_t prec = m->prec;
    if (links_init(out, L, N, prec))
        return no_errorf(err, len, "out of memory (PL links)");
    ref_result res;
    if (ref_run(m, &res, err, len)) {
        ref_pl_links_clear(out);
        return -1;
    }
    const ref_array *Z = ref_result_get(&res, "states"), *P = ref_result_get(&res, "adjoint"),
                    *Fa = ref_result_get(&res, "loss"), *G = ref_result_get(&res, "mgrad_W");
    const ref_array *W = &m->param[0];
    mpfr_srcptr h = m->tau[0]; /* one uniform substep per layer: tau = h */
    ref_kernel *kq = ref_kernel_features(m);
    mpfr_t *K = vec_new(N * N, prec), *eig = vec_new(N, prec), t, u, x;
    mpfr_inits2(prec, t, u, x, (mpfr_ptr)0);
    int rc = !kq || !K || !eig ? no_errorf(err, len, "out of memory (PL links)") : 0;

    mpfr_set(out->F, Fa->v[0], MPFR_RNDN);
    /* |G|^2 = h sum over every entry of mgrad_W squared */
    mpfr_set_zero(out->G2, 1);
    for (size_t e = 0; e < G->n; e++)
        mpfr_fma(out->G2, G->v[e], G->v[e], out->G2, MPFR_RNDN);
    mpfr_mul(out->G2, out->G2, h, MPFR_RNDN);

    /* per layer: Gram matrix, its extreme eigenvalues, the Gram form */
    mpfr_set_zero(out->gram, 1);
    for (size_t k = 0; k < L && !rc; k++) {
        mpfr_t *zk = Z->v + k * N * D, *pk1 = P->v + (k + 1) * N * D;
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                ref_kernel_eval(kq, K[i * N + j], zk + i * D, zk + j * D);
                mpfr_set_zero(u, 1); /* p_{k+1}^i . p_{k+1}^j */
                for (size_t d = 0; d < D; d++)
                    mpfr_fma(u, pk1[i * D + d], pk1[j * D + d], u, MPFR_RNDN);
                mpfr_mul(u, u, K[i * N + j], MPFR_RNDN);
                mpfr_fma(out->gram, u, h, out->gram, MPFR_RNDN);
            }
        rc = ref_eig_sym(K, N, eig, err, len);
        if (!rc) {
            mpfr_set(out->lmin[k], eig[0], MPFR_RNDN);
            mpfr_set(out->lmax[k], eig[N - 1], MPFR_RNDN);
        }
    }
    /* adjoint energies and separations at every layer boundary */
    for (size_t k = 0; k <= L && !rc; k++) {
        mpfr_set_zero(out->P[k], 1);
        for (size_t e = 0; e < N * D; e++)
            mpfr_fma(out->P[k], P->v[k * N * D + e], P->v[k * N * D + e], out->P[k], MPFR_RNDN);
        min_separation(out->sep[k], Z->v + k * N * D, N, D, t, u);
    }
    /* |W_k|_F and R = (h sum w_k^2)^(1/2) */
    mpfr_set_zero(out->R, 1);
    size_t per = D * q;
    for (size_t k = 0; k < L && !rc; k++) {
        mpfr_set_zero(out->w[k], 1);
        for (size_t e = 0; e < per; e++)
            mpfr_fma(out->w[k], W->v[k * per + e], W->v[k * per + e], out->w[k], MPFR_RNDN);
        mpfr_fma(out->R, out->w[k], h, out->R, MPFR_RNDN);
        mpfr_sqrt(out->w[k], out->w[k], MPFR_RNDN);
    }
    mpfr_sqrt(out->R, out->R, MPFR_RNDN);
    /* kappa1 = sqrt(2/q) |Omega|_2 (Omega is q x D: |Omega|_2 from Omega^T Omega) */
    if (!rc)
        rc = ref_pl_singular_extremes(&m->Omega, q, D, 0, u, out->kappa1, err, len);
    if (!rc) {
        mpfr_set_ui(t, 2, MPFR_RNDN);
        mpfr_div_ui(t, t, (unsigned long)q, MPFR_RNDN);
        mpfr_sqrt(t, t, MPFR_RNDN);
        mpfr_mul(out->kappa1, out->kappa1, t, MPFR_RNDN);
        rc = ref_pl_singular_extremes(&m->A, D, s->d_in, 0, out->sA_min, out->sA_max, err, len);
    }
    if (!rc)
        rc = ref_pl_singular_extremes(&m->B, s->d_out, D, 1, out->sB_min, out->sB_max, err, len);
    if (!rc)
        min_separation(out->delta, m->X.v, N, s->d_in, t, u);

    mpfr_clears(t, u, x, (mpfr_ptr)0);
    vec_free(K, N * N);
    vec_free(eig, N);
    ref_kernel_free(kq);
    if (run && !rc)
        *run = res;
    else
        ref_result_clear(&res);
    if (rc)
        ref_pl_links_clear(out);
    return rc;
}
