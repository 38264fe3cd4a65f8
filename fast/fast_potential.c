/* fast_potential.c - Psi_k(theta) and grad Psi_k(theta) in double
 * (fast_potential.h; derivation: proofs-notes/mean-field-potential.md).
 * Independent of ref_potential.c and of fast_scheme.c: the layer's stage
 * points are recomputed forward from z_k, its stage cotangents backward from
 * p_{k+1} by the discrete adjoint's recurrence (conventions.md)
 *   lam_s = tau (b_s p' + sum_{r>s} a_rs mu_r),  mu_s = Dv_k(Y_s)^T lam_s,
 *   p <- p' + sum_s mu_s. */
#include <stdlib.h>
#include <string.h>

#include "fast_activation.h"
#include "fast_potential.h"
#include "tableau.h"

typedef struct {
    size_t D, M;
    no_activation act;
    const double *a, *u, *b;
    double *sg, *dsg; /* M */
} layer_field;

/* v = (1/M) sum_j a_j sigma(u_j . z + b_j); keeps sigma' */
static void field_eval(layer_field *f, const double *z, double *v)
{
    size_t D = f->D;
    for (size_t j = 0; j < f->M; j++) {
        double xi = f->b[j];
        for (size_t c = 0; c < D; c++)
            xi += f->u[j * D + c] * z[c];
        fast_activation(f->act, xi, &f->sg[j], &f->dsg[j]);
    }
    for (size_t c = 0; c < D; c++) {
        double acc = 0;
        for (size_t j = 0; j < f->M; j++)
            acc += f->a[j * D + c] * f->sg[j];
        v[c] = acc / (double)f->M;
    }
}

/* zbar = Dv(z)^T w = (1/M) sum_j (a_j . w) sigma'(u_j . z + b_j) u_j */
static void field_vjp(layer_field *f, const double *z, const double *w, double *zbar,
                      double *scratch_v)
{
    size_t D = f->D;
    field_eval(f, z, scratch_v);
    for (size_t c = 0; c < D; c++)
        zbar[c] = 0;
    for (size_t j = 0; j < f->M; j++) {
        double t = 0;
        for (size_t c = 0; c < D; c++)
            t += f->a[j * D + c] * w[c];
        t = t * f->dsg[j] / (double)f->M;
        for (size_t c = 0; c < D; c++)
            zbar[c] += t * f->u[j * D + c];
    }
}

void fast_potential_clear(fast_potential *pt)
{
    free(pt->Y);
    free(pt->w);
    pt->Y = pt->w = NULL;
    pt->count = 0;
}

int fast_potential_init(fast_potential *pt, const no_problem *p, const no_arrays *run, size_t k,
                        char *err, size_t len)
{
    memset(pt, 0, sizeof *pt);
    const no_spec *s = &p->spec;
    if (s->family != NO_FAMILY_MLP)
        return no_errorf(err, len, "potential: the family must be mlp, not %s",
                         no_family_name(s->family));
    if (s->adjoint != NO_ADJOINT_DISCRETE)
        return no_errorf(err, len, "potential: needs the discrete adjoint (the first variation "
                                   "of the computed loss), not %s",
                         no_adjoint_name(s->adjoint));
    if (k >= s->L)
        return no_errorf(err, len, "potential: layer %zu out of range 0..%zu", k, s->L - 1);
    size_t N = s->N, D = s->D, M = s->M, nt = s->m;
    const no_array *Z = no_arrays_get(run, "states"), *P = no_arrays_get(run, "adjoint");
    if (!Z || !P || Z->n != (s->L + 1) * N * D || P->n != Z->n)
        return no_errorf(err, len, "potential: the run lacks states or adjoint of the problem");
    const no_tableau *tab = no_tableau_of(s->scheme);
    size_t S = (size_t)tab->stages;
    double ra[NO_MAX_STAGES][NO_MAX_STAGES], rb[NO_MAX_STAGES];
    for (size_t i = 0; i < S; i++) {
        rb[i] = no_rational_double(tab->b[i]);
        for (size_t j = 0; j < S; j++)
            ra[i][j] = no_rational_double(tab->a[i][j]);
    }
    double h = no_spec_step(s), tau = h / (double)nt;
    pt->D = D;
    pt->act = s->activation;
    pt->count = N * nt * S;
    pt->Y = malloc(pt->count * D * sizeof(double));
    pt->w = malloc(pt->count * D * sizeof(double));
    layer_field f = {D, M, s->activation, p->a + k * M * D, p->u + k * M * D, p->b + k * M,
                     malloc(M * sizeof(double)), malloc(M * sizeof(double))};
    double *scratch = malloc((4 + 2 * S) * D * sizeof(double));
    if (!pt->Y || !pt->w || !f.sg || !f.dsg || !scratch) {
        free(f.sg);
        free(f.dsg);
        free(scratch);
        fast_potential_clear(pt);
        return no_errorf(err, len, "potential: out of memory");
    }
    double *z = scratch, *pp = z + D, *v = pp + D, *lam = v + D, *K = lam + D, *mu = K + S * D;
    for (size_t i = 0; i < N; i++) {
        double *Yi = pt->Y + i * nt * S * D, *wi = pt->w + i * nt * S * D;
        memcpy(z, Z->v + (k * N + i) * D, D * sizeof(double));
        for (size_t n = 0; n < nt; n++) {
            for (size_t st = 0; st < S; st++) {
                double *Y = Yi + (n * S + st) * D;
                for (size_t c = 0; c < D; c++) {
                    double acc = 0;
                    for (size_t r = 0; r < st; r++)
                        acc += ra[st][r] * K[r * D + c];
                    Y[c] = z[c] + tau * acc;
                }
                field_eval(&f, Y, K + st * D);
            }
            for (size_t c = 0; c < D; c++) {
                double acc = 0;
                for (size_t st = 0; st < S; st++)
                    acc += rb[st] * K[st * D + c];
                z[c] += tau * acc;
            }
        }
        memcpy(pp, P->v + ((k + 1) * N + i) * D, D * sizeof(double));
        for (size_t n = nt; n-- > 0;) {
            for (size_t st = S; st-- > 0;) {
                double *Y = Yi + (n * S + st) * D, *w = wi + (n * S + st) * D;
                for (size_t c = 0; c < D; c++) {
                    double acc = rb[st] * pp[c];
                    for (size_t r = st + 1; r < S; r++)
                        acc += ra[r][st] * mu[r * D + c];
                    lam[c] = tau * acc;
                    w[c] = lam[c] / h; /* the 1/h of Psi's normalisation */
                }
                field_vjp(&f, Y, lam, mu + st * D, v);
            }
            for (size_t st = 0; st < S; st++)
                for (size_t c = 0; c < D; c++)
                    pp[c] += mu[st * D + c];
        }
    }
    free(f.sg);
    free(f.dsg);
    free(scratch);
    return 0;
}

/* Psi = sum_c (a . w_c) sigma(xi_c), xi_c = u . Y_c + b; gradient as in
 * ref_potential.c: (sigma w_c, (a . w_c) sigma' Y_c, (a . w_c) sigma'). */
double fast_potential_eval(const fast_potential *pt, const double *theta, double *grad)
{
    size_t D = pt->D;
    const double *a = theta, *u = theta + D;
    double b = theta[2 * D], psi = 0;
    if (grad)
        for (size_t c = 0; c < 2 * D + 1; c++)
            grad[c] = 0;
    for (size_t q = 0; q < pt->count; q++) {
        const double *Y = pt->Y + q * D, *w = pt->w + q * D;
        double xi = b, aw = 0, sg, dsg;
        for (size_t c = 0; c < D; c++) {
            xi += u[c] * Y[c];
            aw += a[c] * w[c];
        }
        fast_activation(pt->act, xi, &sg, &dsg);
        psi += aw * sg;
        if (!grad)
            continue;
        double t = aw * dsg;
        for (size_t c = 0; c < D; c++) {
            grad[c] += sg * w[c];
            grad[D + c] += t * Y[c];
        }
        grad[2 * D] += t;
    }
    return psi;
}
