/* fast_kernel.c - kernels, kernel expansions and RKHS gradient descent in
 * double precision (fast_kernel.h; formulas: proofs-notes/kernel-gd.md,
 * sections 1 to 3; the double side and its tolerance: section 6).
 *
 * The expansion is handed to fast's generic Runge-Kutta stepper
 * (fast_scheme.h) as a field family: its eval is the expansion's, its vjp
 * the expansion's Dv^T w and, while a backward pass records, the stage
 * point Y and stage cotangent lam of every call become pending centres of
 * the layer (the parameter gradient of a kernel field is the new centres). */
#include "fast_kernel.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fast_linalg.h"
#include "fast_scheme.h"
#include "tableau.h"

/* ---- kernels ---------------------------------------------------------- */

int fast_kernel_gaussian(fast_kernel *k, double ell)
{
    if (!(ell > 0) || !isfinite(ell) || !isfinite(1.0 / (2.0 * ell * ell)))
        return -1;
    k->matern = 0;
    k->p = 0;
    k->a = 1.0 / (2.0 * ell * ell);
    return 0;
}

int fast_kernel_matern(fast_kernel *k, double nu)
{
    if (!(nu == 0.5 || nu == 1.5 || nu == 2.5 || nu == 3.5))
        return -1;
    k->matern = 1;
    k->p = (int)(nu - 0.5);
    k->a = sqrt(2.0 * nu);
    return 0;
}

void fast_kernel_radial(const fast_kernel *k, double r2, double *kv, double *psi)
{
    if (!k->matern) {
        double e = exp(-k->a * r2);
        *kv = e;
        if (psi)
            *psi = -2.0 * k->a * e;
        return;
    }
    double r = sqrt(r2), s = k->a * r, e = exp(-s), ps = 0.0;
    switch (k->p) {
    case 0:
        *kv = e;
        ps = r > 0 ? -e / r : 0.0;
        break;
    case 1:
        *kv = (1.0 + s) * e;
        ps = -3.0 * e;
        break;
    case 2:
        *kv = ((s + 3.0) * s + 3.0) / 3.0 * e;
        ps = -5.0 / 3.0 * (1.0 + s) * e;
        break;
    default:
        *kv = (((s + 6.0) * s + 15.0) * s + 15.0) / 15.0 * e;
        ps = -7.0 / 15.0 * ((s + 3.0) * s + 3.0) * e;
        break;
    }
    if (psi)
        *psi = ps;
}

/* |r|^2 from exact differences. */
static double dist2(const double *x, const double *y, size_t D)
{
    double r2 = 0.0;
    for (size_t d = 0; d < D; d++) {
        double t = x[d] - y[d];
        r2 += t * t;
    }
    return r2;
}

void fast_kernel_matrix_direct(const fast_kernel *k, size_t n, const double *Z, size_t C,
                               const double *Ctr, size_t D, double *K, double *psi)
{
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < C; c++)
            fast_kernel_radial(k, dist2(Z + i * D, Ctr + c * D, D), K + i * C + c,
                               psi ? psi + i * C + c : NULL);
}

void fast_kernel_matrix(const fast_kernel *k, size_t n, const double *Z, size_t C,
                        const double *Ctr, size_t D, double *K, double *psi, double *work)
{
    if (n == 0 || C == 0)
        return;
    if (k->matern && k->p == 0) {
        /* e^-r is not Lipschitz in r^2 at 0, and psi = -e^-r / r needs r
         * to a relative accuracy: exact differences (kernel-gd.md 6). */
        fast_kernel_matrix_direct(k, n, Z, C, Ctr, D, K, psi);
        return;
    }
    double *zn = work, *cn = work + n;
    for (size_t i = 0; i < n; i++)
        zn[i] = cblas_ddot((int)D, Z + i * D, 1, Z + i * D, 1);
    for (size_t c = 0; c < C; c++)
        cn[c] = cblas_ddot((int)D, Ctr + c * D, 1, Ctr + c * D, 1);
    /* K = -2 Z Ctr^T, then r2 = |z|^2 + |c|^2 - 2 z.c, clamped at 0: its
     * absolute error is a few (D + 2) u (|z|^2 + |c|^2), harmless for a
     * kernel Lipschitz in r^2 (kernel-gd.md 6). */
    fast_linalg_gemm_nt(n, C, D, -2.0, Z, D, Ctr, D, 0.0, K, C);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < C; c++) {
            double r2 = K[i * C + c] + zn[i] + cn[c];
            fast_kernel_radial(k, r2 > 0 ? r2 : 0.0, K + i * C + c,
                               psi ? psi + i * C + c : NULL);
        }
}

/* ---- expansions ------------------------------------------------------- */

struct fast_kernel_expansion {
    fast_kernel k;
    size_t L, D, nmax, capmax;
    size_t *cap, *count, *pending; /* per layer: room, committed, appended since */
    double **ctr, **coef;          /* per layer: cap x D each */
    double *K, *psi, *T;           /* nmax x capmax each */
    double *work;                  /* nmax + capmax */
};

void fast_kernel_expansion_free(fast_kernel_expansion *e)
{
    if (!e)
        return;
    for (size_t l = 0; l < e->L; l++) {
        if (e->ctr)
            free(e->ctr[l]);
        if (e->coef)
            free(e->coef[l]);
    }
    free(e->ctr);
    free(e->coef);
    free(e->cap);
    free(e->count);
    free(e->pending);
    free(e->K);
    free(e->psi);
    free(e->T);
    free(e->work);
    free(e);
}

/* malloc of n doubles, at least one. */
static double *dalloc(size_t n)
{
    if (n > (size_t)PTRDIFF_MAX / sizeof(double))
        return NULL;
    return malloc((n ? n : 1) * sizeof(double));
}

fast_kernel_expansion *fast_kernel_expansion_new(const fast_kernel *k, size_t L, size_t D,
                                                 const size_t *cap, size_t nmax)
{
    fast_kernel_expansion *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->k = *k;
    e->L = L;
    e->D = D;
    e->nmax = nmax;
    e->cap = calloc(L ? L : 1, sizeof(size_t));
    e->count = calloc(L ? L : 1, sizeof(size_t));
    e->pending = calloc(L ? L : 1, sizeof(size_t));
    e->ctr = calloc(L ? L : 1, sizeof(double *));
    e->coef = calloc(L ? L : 1, sizeof(double *));
    int bad = !e->cap || !e->count || !e->pending || !e->ctr || !e->coef;
    size_t cd;
    for (size_t l = 0; !bad && l < L; l++) {
        e->cap[l] = cap[l];
        if (cap[l] > e->capmax)
            e->capmax = cap[l];
        bad = no_mul_size(cap[l], D, &cd) || !(e->ctr[l] = dalloc(cd)) ||
              !(e->coef[l] = dalloc(cd));
    }
    size_t nc;
    if (!bad)
        bad = no_mul_size(nmax, e->capmax, &nc) || !(e->K = dalloc(nc)) ||
              !(e->psi = dalloc(nc)) || !(e->T = dalloc(nc)) ||
              !(e->work = dalloc(nmax + e->capmax));
    if (bad) {
        fast_kernel_expansion_free(e);
        return NULL;
    }
    return e;
}

size_t fast_kernel_expansion_count(const fast_kernel_expansion *e, size_t l)
{
    return e->count[l];
}

/* Rows of Ctr and scale * Alpha after layer l's committed and pending centres. */
static int put(fast_kernel_expansion *e, size_t l, size_t n, const double *Ctr,
               const double *Alpha, double scale)
{
    size_t c0 = e->count[l] + e->pending[l], D = e->D;
    if (n > e->cap[l] - c0)
        return -1;
    memcpy(e->ctr[l] + c0 * D, Ctr, n * D * sizeof(double));
    for (size_t i = 0; i < n * D; i++)
        e->coef[l][c0 * D + i] = scale * Alpha[i];
    e->pending[l] += n;
    return 0;
}

/* Pending centres join the field, their coefficients times f. */
static void commit(fast_kernel_expansion *e, size_t l, double f)
{
    size_t c0 = e->count[l], P = e->pending[l], D = e->D;
    cblas_dscal((int)(P * D), f, e->coef[l] + c0 * D, 1);
    e->count[l] += P;
    e->pending[l] = 0;
}

int fast_kernel_expansion_add(fast_kernel_expansion *e, size_t l, size_t n, const double *Ctr,
                              const double *Alpha)
{
    if (e->pending[l] || put(e, l, n, Ctr, Alpha, 1.0))
        return -1;
    commit(e, l, 1.0);
    return 0;
}

void fast_kernel_expansion_eval(fast_kernel_expansion *e, size_t l, size_t n, const double *Z,
                                double *V)
{
    size_t C = e->count[l], D = e->D;
    if (C == 0 || n == 0) {
        memset(V, 0, n * D * sizeof *V);
        return;
    }
    fast_kernel_matrix(&e->k, n, Z, C, e->ctr[l], D, e->K, NULL, e->work);
    /* V = K alpha: (n x C) (C x D). */
    fast_linalg_gemm_nn(n, D, C, 1.0, e->K, C, e->coef[l], D, 0.0, V, D);
}

void fast_kernel_expansion_vjp(fast_kernel_expansion *e, size_t l, size_t n, const double *Z,
                               const double *W, double *Zbar)
{
    size_t C = e->count[l], D = e->D;
    memset(Zbar, 0, n * D * sizeof *Zbar);
    if (C == 0 || n == 0)
        return;
    fast_kernel_matrix(&e->k, n, Z, C, e->ctr[l], D, e->K, e->psi, e->work);
    /* T_ic = psi_ic (alpha_c . w_i): T = psi o (W alpha^T). */
    fast_linalg_gemm_nt(n, C, D, 1.0, W, D, e->coef[l], D, 0.0, e->T, C);
    /* Zbar_i = sum_c T_ic (z_i - c), from exact differences: the split form
     * z_i sum_c T_ic - T Ctr would cancel when z_i is near the centres. */
    for (size_t i = 0; i < n; i++) {
        const double *z = Z + i * D, *t = e->T + i * C, *ps = e->psi + i * C;
        double *zb = Zbar + i * D;
        for (size_t c = 0; c < C; c++) {
            double w = t[c] * ps[c];
            if (w == 0.0)
                continue;
            const double *y = e->ctr[l] + c * D;
            for (size_t d = 0; d < D; d++)
                zb[d] += w * (z[d] - y[d]);
        }
    }
}

/* sum_{c,c'} a_c^T k(c, c') a_c' over layer l's pending centres (out) and
 * its absolute form with |a_c| |a_c'| |k| (abs); scratch: P^2 + P D + 2 P. */
static void pending_gram(fast_kernel_expansion *e, size_t l, double *scratch, double *out,
                         double *abs)
{
    size_t c0 = e->count[l], P = e->pending[l], D = e->D;
    *out = *abs = 0.0;
    if (P == 0)
        return;
    const double *ctr = e->ctr[l] + c0 * D, *a = e->coef[l] + c0 * D;
    double *K = scratch, *U = K + P * P, *work = U + P * D;
    fast_kernel_matrix(&e->k, P, ctr, P, ctr, D, K, NULL, work);
    /* U = K a (P x D); out = sum_c a_c . U_c. */
    fast_linalg_gemm_nn(P, D, P, 1.0, K, P, a, D, 0.0, U, D);
    *out = cblas_ddot((int)(P * D), a, 1, U, 1);
    double *nrm = work; /* |a_c|, P numbers */
    for (size_t c = 0; c < P; c++)
        nrm[c] = cblas_dnrm2((int)D, a + c * D, 1);
    double s = 0.0;
    for (size_t c = 0; c < P; c++) {
        double t = 0.0;
        for (size_t c2 = 0; c2 < P; c2++)
            t += fabs(K[c * P + c2]) * nrm[c2];
        s += nrm[c] * t;
    }
    *abs = s;
}

/* ---- the expansion as a field family of fast_scheme ------------------- */

typedef struct {
    fast_field_ctx base; /* first: the stepper hands back &base */
    fast_kernel_expansion *e;
    int record;
} kfield_ctx;

static size_t kfield_scratch(const no_spec *s, size_t n)
{
    (void)s;
    (void)n;
    return 0;
}

static void kfield_eval(const fast_field_ctx *c, size_t l, size_t n, const double *Z, double *V)
{
    const kfield_ctx *kc = (const kfield_ctx *)c;
    fast_kernel_expansion_eval(kc->e, l, n, Z, V);
}

/* While recording, the stage point Z and the scaled stage cotangent
 * scale W (lam, tau included) become pending centres of layer l. */
static void kfield_vjp(const fast_field_ctx *c, size_t l, size_t n, const double *Z,
                       const double *W, double *Zbar, double scale)
{
    const kfield_ctx *kc = (const kfield_ctx *)c;
    fast_kernel_expansion_vjp(kc->e, l, n, Z, W, Zbar);
    if (kc->record)
        (void)put(kc->e, l, n, Z, W, scale); /* room: fast_kernel_gd's caps */
}

static const fast_field_type kernel_field = {"kernel", kfield_scratch, kfield_eval, kfield_vjp};

/* ---- gradient descent ------------------------------------------------- */

void fast_kernel_trace_clear(fast_kernel_trace *tr)
{
    free(tr->F);
    free(tr->gnorm2);
    free(tr->gnorm2_abs);
    free(tr->lip);
    free(tr->centres);
    free(tr->output);
    fast_kernel_expansion_free(tr->v);
    memset(tr, 0, sizeof *tr);
}

double fast_kernel_gd_memory(const no_spec *s, size_t iters)
{
    const no_tableau *t = no_tableau_of(s->scheme);
    double S = t->stages, N = (double)s->N, D = (double)s->D, L = (double)s->L,
           m = (double)s->m, it = (double)iters;
    double cap = it * N * m * S, P = N * m * S;
    double doubles = L * cap * 2 * D                      /* centres, coefficients */
                     + 3 * N * cap + N + cap              /* K, psi, T, work */
                     + (L * m + 1) * N * D                /* states */
                     + (3 * S + 1) * N * D + 4 * N * D + N /* stages, p, Lipschitz */
                     + N * (double)s->d_out               /* residuals */
                     + P * P + P * D + 2 * P              /* Gram */
                     + (it + 1) * (N * (double)s->d_out + 4); /* trace */
    return doubles * sizeof(double) + 4 * L * sizeof(size_t);
}

/* Caps per layer (iters N m S each) and their total; -1 on overflow. */
static int gd_caps(const no_spec *s, size_t iters, size_t *cap, size_t *total)
{
    size_t S = (size_t)no_tableau_of(s->scheme)->stages, c;
    if (no_mul_size(iters, s->N, &c) || no_mul_size(c, s->m, &c) || no_mul_size(c, S, &c))
        return -1;
    *total = 0;
    for (size_t l = 0; l < s->L; l++) {
        cap[l] = c;
        if (*total + c < *total)
            return -1;
        *total += c;
    }
    return 0;
}

/* Forward pass under the current field: states at every substep boundary
 * (L m + 1 blocks of N x D), outputs, residuals; returns F. */
static double gd_forward(const no_problem *p, fast_scheme *sc, double tau, double *st,
                         double *out, double *resid)
{
    const no_spec *s = &p->spec;
    size_t N = s->N, D = s->D, nd = N * D;
    /* z_0 = A x: rows of X A^T. */
    fast_linalg_gemm_nt(N, D, s->d_in, 1.0, p->X, s->d_in, p->A, s->d_in, 0.0, st, D);
    for (size_t t = 0; t < s->L * s->m; t++)
        fast_scheme_step(sc, t / s->m, tau, st + t * nd, st + (t + 1) * nd);
    const double *zL = st + s->L * s->m * nd;
    fast_linalg_gemm_nt(N, s->d_out, D, 1.0, zL, D, p->B, D, 0.0, out, s->d_out);
    double sum = 0.0;
    for (size_t i = 0; i < N * s->d_out; i++) {
        resid[i] = out[i] - p->Y[i];
        sum += resid[i] * resid[i];
    }
    return sum / (2.0 * (double)N);
}

int fast_kernel_gd(const no_problem *p, const fast_kernel *k, double eta, size_t iters,
                   double max_bytes, fast_kernel_trace *tr, char *err, size_t len)
{
    const no_spec *s = &p->spec;
    size_t N = s->N, D = s->D, L = s->L, m = s->m;
    memset(tr, 0, sizeof *tr);
    if (s->adjoint != NO_ADJOINT_DISCRETE)
        return no_errorf(err, len, "fast kernel gd: only the discrete adjoint (the exact gradient)");
    if (!isfinite(eta))
        return no_errorf(err, len, "fast kernel gd: eta must be finite");
    const no_tableau *tab = no_tableau_of(s->scheme);
    size_t S = (size_t)tab->stages, total = 0;
    size_t *cap = calloc(L ? L : 1, sizeof(size_t));
    if (!cap)
        return no_errorf(err, len, "out of memory");
    int overflow = gd_caps(s, iters, cap, &total);
    double bytes = fast_kernel_gd_memory(s, iters), limit = max_bytes > 0 ? max_bytes : 1 << 30;
    if (overflow || bytes > limit || N * m * S > (size_t)INT32_MAX / (D + 1)) {
        free(cap);
        if (overflow)
            return no_errorf(err, len,
                             "fast kernel gd: %zu steps make more than %zu centres (iters x N "
                             "x substeps (L m) x stages = %zu x %zu x %zu x %zu)",
                             iters, SIZE_MAX, iters, N, L * m, S);
        return no_errorf(err, len,
                         "fast kernel gd: %zu steps make %zu centres (iters x N x substeps (L m) "
                         "x stages = %zu x %zu x %zu x %zu), %.4g bytes, over the limit %.4g",
                         iters, total, iters, N, L * m, S, bytes, limit);
    }
    size_t nd = N * D, P = N * m * S;
    tr->iters = iters;
    tr->v = fast_kernel_expansion_new(k, L, D, cap, N);
    free(cap);
    tr->F = dalloc(iters + 1);
    tr->gnorm2 = dalloc(iters);
    tr->gnorm2_abs = dalloc(iters);
    tr->lip = dalloc(iters + 1);
    tr->centres = calloc(iters + 1, sizeof(size_t));
    tr->output = dalloc((iters + 1) * N * s->d_out);
    double *st = dalloc((L * m + 1) * nd), *pa = dalloc(nd), *pb = dalloc(nd),
           *resid = dalloc(N * s->d_out), *gram = dalloc(P * P + P * D + 2 * P),
           *sbuf = dalloc(fast_scheme_buffer_size(tab, N, D)), *unit = dalloc(nd), *zb = dalloc(nd),
           *fro = dalloc(N);
    if (!tr->v || !tr->F || !tr->gnorm2 || !tr->gnorm2_abs || !tr->lip || !tr->centres ||
        !tr->output || !st || !pa || !pb || !resid || !gram || !sbuf || !unit || !zb || !fro) {
        free(st), free(pa), free(pb), free(resid), free(gram), free(sbuf);
        free(unit), free(zb), free(fro);
        fast_kernel_trace_clear(tr);
        return no_errorf(err, len, "out of memory in fast kernel gd");
    }
    kfield_ctx kc;
    memset(&kc, 0, sizeof kc);
    kc.base.p = p;
    kc.e = tr->v;
    fast_scheme sc;
    fast_scheme_init(&sc, tab, &kernel_field, &kc.base, N, D, sbuf);
    double h = no_spec_step(s), tau = h / (double)m;
    fast_kernel_expansion *e = tr->v;
    for (size_t j = 0;; j++) {
        double *out = tr->output + j * N * s->d_out;
        tr->F[j] = gd_forward(p, &sc, tau, st, out, resid);
        tr->lip[j] = 0.0;
        for (size_t l = 0; l < L; l++) {
            tr->centres[j] += e->count[l];
            /* max over the layer's substep start states of |Dv_l(z_i)|_F,
             * column by column: Dv^T e_d for d = 0..D-1. */
            double lmax = 0.0;
            for (size_t t = l * m; t < (l + 1) * m && e->count[l]; t++) {
                memset(fro, 0, N * sizeof *fro);
                for (size_t d = 0; d < D; d++) {
                    memset(unit, 0, nd * sizeof *unit);
                    for (size_t i = 0; i < N; i++)
                        unit[i * D + d] = 1.0;
                    fast_kernel_expansion_vjp(e, l, N, st + t * nd, unit, zb);
                    for (size_t i = 0; i < N; i++)
                        fro[i] += cblas_ddot((int)D, zb + i * D, 1, zb + i * D, 1);
                }
                for (size_t i = 0; i < N; i++)
                    lmax = sqrt(fro[i]) > lmax ? sqrt(fro[i]) : lmax;
            }
            tr->lip[j] += h * lmax;
        }
        if (j == iters)
            break;
        /* p_L = (1/N) B^T r: rows of (1/N) R B. */
        fast_linalg_gemm_nn(N, D, s->d_out, 1.0 / (double)N, resid, s->d_out, p->B, D, 0.0, pa, D);
        kc.record = 1;
        for (size_t t = L * m; t-- > 0;) {
            fast_scheme_adjoint_step(&sc, t / m, tau, st + t * nd, pa, pb);
            double *sw = pa;
            pa = pb;
            pb = sw;
        }
        kc.record = 0;
        /* G_l = (1/h) sum k(., Y) lam; ||G||^2 = h sum_l gram_l(G); v -= eta G. */
        double g2 = 0.0, g2abs = 0.0;
        for (size_t l = 0; l < L; l++) {
            size_t c0 = e->count[l];
            cblas_dscal((int)(e->pending[l] * D), 1.0 / h, e->coef[l] + c0 * D, 1);
            double g, gabs;
            pending_gram(e, l, gram, &g, &gabs);
            g2 += g;
            g2abs += gabs;
            commit(e, l, -eta);
        }
        tr->gnorm2[j] = h * g2;
        tr->gnorm2_abs[j] = h * g2abs;
    }
    free(st), free(pa), free(pb), free(resid), free(gram), free(sbuf);
    free(unit), free(zb), free(fro);
    return 0;
}
