/* tolerance.c - see tolerance.h and proofs-notes/tolerance.md. */
#include "tolerance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tableau.h"

static double act_deriv(no_activation a, double x)
{
    switch (a) {
    case NO_ACT_TANH: {
        double t = tanh(x);
        return 1.0 - t * t;
    }
    case NO_ACT_SOFTPLUS:
        return 1.0 / (1.0 + exp(-x));
    case NO_ACT_HRELU:
        return x <= -1.0 ? 0.0 : x >= 1.0 ? 1.0 : 0.5 * (x + 1.0);
    default:
        return x > 0 ? 1.0 : 0.0;
    }
}

/* |Dv_k(z)|_F, the Jacobian assembled explicitly (D x D): a model quantity,
 * so plain double arithmetic is enough. */
double no_tol_jacobian_fro(const no_problem *p, size_t k, const double *z)
{
    const no_spec *s = &p->spec;
    size_t D = s->D;
    if (s->family == NO_FAMILY_LINEAR) {
        double acc = 0;
        const double *W = p->W + k * D * D;
        for (size_t e = 0; e < D * D; e++)
            acc += W[e] * W[e];
        return sqrt(acc);
    }
    double *J = calloc(D * D, sizeof *J);
    if (!J)
        return INFINITY;
    if (s->family == NO_FAMILY_RFF) {
        /* Dv = W diag(-sqrt(2/q) sin(Omega z + beta)) Omega */
        const double *W = p->W + k * D * s->q, c = sqrt(2.0 / (double)s->q);
        for (size_t r = 0; r < s->q; r++) {
            double pre = p->beta[r];
            for (size_t j = 0; j < D; j++)
                pre += p->Omega[r * D + j] * z[j];
            double g = -c * sin(pre);
            for (size_t i = 0; i < D; i++)
                for (size_t j = 0; j < D; j++)
                    J[i * D + j] += W[i * s->q + r] * g * p->Omega[r * D + j];
        }
    } else {
        /* Dv = (1/M) sum_j sigma'(u_j.z + b_j) a_j u_j^T */
        const double *a = p->a + k * s->M * D, *u = p->u + k * s->M * D, *b = p->b + k * s->M;
        for (size_t m = 0; m < s->M; m++) {
            double pre = b[m];
            for (size_t j = 0; j < D; j++)
                pre += u[m * D + j] * z[j];
            double g = act_deriv(s->activation, pre) / (double)s->M;
            for (size_t i = 0; i < D; i++)
                for (size_t j = 0; j < D; j++)
                    J[i * D + j] += a[m * D + i] * g * u[m * D + j];
        }
    }
    double acc = 0;
    for (size_t e = 0; e < D * D; e++)
        acc += J[e] * J[e];
    free(J);
    return sqrt(acc);
}

static double fro(const double *v, size_t n)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += v[i] * v[i];
    return sqrt(acc);
}

/* The first reference value outside the candidate format's judgeable range. */
static void range_check(no_tol_model *t, const no_arrays *ref)
{
    double lim = no_tol_range_max(t->u);
    for (int i = 0; i < ref->count; i++)
        for (size_t e = 0; e < ref->a[i].n; e++)
            if (!(fabs(ref->a[i].v[e]) <= lim)) {
                snprintf(t->out_name, sizeof t->out_name, "%s", ref->a[i].name);
                t->out_index = (long)e;
                t->out_value = ref->a[i].v[e];
                return;
            }
}

int no_tol_model_init(no_tol_model *t, const no_problem *p, const no_arrays *ref, double u)
{
    const no_spec *s = &p->spec;
    const no_array *states = no_arrays_get(ref, "states"), *out = no_arrays_get(ref, "output");
    if (!states || !out)
        return -1;
    memset(t, 0, sizeof *t);
    t->u = u;
    t->c = 4.0;
    size_t width = s->family == NO_FAMILY_RFF ? s->q : s->family == NO_FAMILY_MLP ? s->M : s->D;
    double n_w = (double)(width + s->D);
    double S = (double)s->L * (double)s->m * (double)no_tableau_of(s->scheme)->stages;
    t->dot_len = n_w;
    t->work_fwd = n_w + S;
    t->work_bwd = n_w + S + (double)s->N;
    double h = no_spec_step(s), lam = 0;
    for (size_t k = 0; k < s->L; k++) {
        double mx = 0;
        for (size_t i = 0; i < s->N; i++) {
            double j = no_tol_jacobian_fro(p, k, states->v + (k * s->N + i) * s->D);
            mx = j > mx ? j : mx;
        }
        lam += h * mx;
    }
    t->lambda = lam;
    /* backsolve: the state the adjoint reads is carried backward from z_L,
     * so its error is the forward one grown by the backward flow, one more
     * exp(Lambda) (tolerance.md, section 6). */
    t->bwd_extra = s->adjoint == NO_ADJOINT_BACKSOLVE ? 1.0 : 0.0;
    double *r = malloc(out->n * sizeof *r);
    if (!r)
        return -1;
    for (size_t e = 0; e < out->n; e++)
        r[e] = out->v[e] - p->Y[e];
    double nr = fro(r, out->n), ny = fro(out->v, out->n);
    free(r);
    t->kappa_r = nr > 0 ? fmax(1.0, ny / nr) : INFINITY;
    range_check(t, ref);
    return 0;
}

static double model_tol(const no_tol_model *t, const char *array)
{
    int forward = !strcmp(array, "states") || !strcmp(array, "output");
    if (forward)
        return t->c * t->u * t->work_fwd * exp(t->lambda);
    if (!strcmp(array, "loss"))
        return t->c * t->u * t->work_bwd * exp(t->lambda) * t->kappa_r;
    return t->c * t->u * t->work_bwd * exp((2.0 + t->bwd_extra) * t->lambda) * t->kappa_r;
}

double no_tol_meaningful_max(double u)
{
    int p = (int)lround(-log2(u)); /* 53, 24 or 8 */
    return ldexp(1.0, -(p - 3 < 10 ? p - 3 : 10));
}

double no_tol_range_max(double u)
{
    return u < 0x1.0p-24 ? 0x1.0p511 : 0x1.0p63;
}

double no_tol_for(const no_tol_model *t, const char *array)
{
    double tol = model_tol(t, array);
    for (int i = 0; i < t->ncaps; i++)
        if (!strcmp(t->caps[i].name, array))
            tol = fmin(tol, t->caps[i].tol);
    return tol;
}

void no_tol_cap(no_tol_model *t, const char *array, double tol)
{
    int i = 0;
    while (i < t->ncaps && strcmp(t->caps[i].name, array))
        i++;
    if (i == NO_MAX_ARRAYS)
        return;
    snprintf(t->caps[i].name, sizeof t->caps[i].name, "%s", array);
    t->caps[i].tol = tol;
    if (i == t->ncaps)
        t->ncaps++;
}
