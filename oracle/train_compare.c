/* train_compare.c - fast's GD against the reference's along the run
 * (train_compare.h, proofs-notes/training.md). */
#include "train_compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "tolerance.h"

const char *const no_train_q_names[NO_TRAIN_NQ] = {"theta", "F", "grad_norm2", "theta_norm",
                                                   "theta_dist"};

#define U 0x1p-53
#define REF_BITS_NEEDED 60.0

void no_train_cmp_clear(no_train_cmp *c)
{
    free(c->E);
    for (int q = 0; q < NO_TRAIN_NQ; q++) {
        free(c->err[q]);
        free(c->tol[q]);
    }
    free(c->judged);
    free(c->dG);
    free(c->tF);
    free(c->ok);
    ref_train_traj_clear(&c->ref);
    fast_train_traj_clear(&c->fast);
    memset(c, 0, sizeof *c);
}

/* The per-iteration single-run tolerances, collected by the reference's hook. */
typedef struct {
    no_problem q; /* p with theta^n */
    no_param_info pi[NO_MAX_PARAMS];
    int np;
    double w;
    double *dG, *tF;
    unsigned char *ok;
} hook_ctx;

static int tol_hook(void *vctx, size_t n, const double *theta, const no_arrays *out)
{
    hook_ctx *h = vctx;
    size_t k = 0;
    for (int i = 0; i < h->np; i++) {
        memcpy(no_problem_param(&h->q, h->pi[i].name), theta + k, h->pi[i].n * sizeof *theta);
        k += h->pi[i].n;
    }
    no_tol_model tm;
    if (no_tol_model_init(&tm, &h->q, out, U))
        return -1;
    double mx = no_tol_meaningful_max(U), s = 0;
    int ok = tm.out_name[0] == 0;
    for (int i = 0; i < h->np; i++) {
        char name[NO_NAME_LEN] = "mgrad_";
        strcat(name, h->pi[i].name);
        const no_array *g = no_arrays_get(out, name);
        double t = no_tol_for(&tm, name), gmax = 0;
        for (size_t e = 0; e < g->n; e++)
            gmax = fmax(gmax, fabs(g->v[e]));
        ok = ok && isfinite(t) && t <= mx;
        s += (double)g->n * (t * gmax) * (t * gmax);
    }
    h->dG[n] = sqrt(h->w * s);
    h->tF[n] = no_tol_for(&tm, "loss");
    ok = ok && isfinite(h->tF[n]) && h->tF[n] <= mx;
    h->ok[n] = (unsigned char)ok;
    return 0;
}

static double metric_dist(const double *a, const double *b, size_t K, double w)
{
    double s = 0;
    for (size_t k = 0; k < K; k++)
        s += (a[k] - b[k]) * (a[k] - b[k]);
    return sqrt(w * s);
}

int no_train_judge(const no_problem *p, const ref_train_traj *r, const fast_train_traj *f,
                   const double *dG, const double *tF, const unsigned char *ok,
                   no_train_cmp *c)
{
    return no_train_judge_some(p, r, f, dG, tF, ok, NO_TRAIN_ALL, c);
}

int no_train_judge_some(const no_problem *p, const ref_train_traj *r, const fast_train_traj *f,
                        const double *dG, const double *tF, const unsigned char *ok,
                        unsigned provided, no_train_cmp *c)
{
    if (!f->params)
        provided &= ~(1u << NO_TRAIN_Q_THETA);
    c->provided = provided;
    size_t n1 = r->steps + 1, K = r->K;
    free(c->E);
    free(c->judged);
    for (int q = 0; q < NO_TRAIN_NQ; q++) {
        free(c->err[q]);
        free(c->tol[q]);
    }
    c->steps = r->steps;
    c->E = calloc(n1, sizeof *c->E);
    c->judged = calloc(n1, 1);
    int bad = !c->E || !c->judged;
    for (int q = 0; q < NO_TRAIN_NQ; q++) {
        c->err[q] = calloc(n1, sizeof(double));
        c->tol[q] = calloc(n1, sizeof(double));
        bad = bad || !c->err[q] || !c->tol[q];
    }
    if (bad)
        return -1;
    double h = no_spec_step(&p->spec);
    double w = p->spec.family == NO_FAMILY_MLP ? h / (double)p->spec.M : h;
    double eta = r->eta, mx = no_tol_meaningful_max(U), Kd = (double)K;
    c->worst = 0;
    c->first_fail = c->first_unjudged = n1;
    c->njudged = 0;
    int fail = 0, meaningful = 1;
    double E = 0;
    for (size_t n = 0; n < n1; n++) {
        const double *tr = r->params + n * K;
        double gn = sqrt(r->gnorm2[n]), tn = r->theta_norm[n];
        double lip = 2 * (n + 1 < n1 ? fmax(r->lip[n], r->lip[n + 1]) : r->lip[n]);
        c->E[n] = E;
        /* the errors */
        if (provided & (1u << NO_TRAIN_Q_THETA))
            c->err[NO_TRAIN_Q_THETA][n] = metric_dist(f->params + n * K, tr, K, w);
        if (provided & (1u << NO_TRAIN_Q_F))
            c->err[NO_TRAIN_Q_F][n] = fabs(f->F[n] - r->F[n]);
        if (provided & (1u << NO_TRAIN_Q_G2))
            c->err[NO_TRAIN_Q_G2][n] = fabs(f->gnorm2[n] - r->gnorm2[n]);
        if (provided & (1u << NO_TRAIN_Q_TNORM))
            c->err[NO_TRAIN_Q_TNORM][n] = fabs(f->theta_norm[n] - r->theta_norm[n]);
        if (provided & (1u << NO_TRAIN_Q_TDIST))
            c->err[NO_TRAIN_Q_TDIST][n] = fabs(f->theta_dist[n] - r->theta_dist[n]);
        /* the tolerances: E_n carried through each record (first order in
         * E_n, with the curvature term Lambda E_n^2), plus the record's own
         * rounding and the reference's rounding to double */
        double eg = lip * E + dG[n];
        c->tol[NO_TRAIN_Q_THETA][n] = E + 2 * U * tn;
        c->tol[NO_TRAIN_Q_F][n] = gn * E + lip * E * E + (tF[n] + 2 * U) * fabs(r->F[n]);
        c->tol[NO_TRAIN_Q_G2][n] = eg * (2 * gn + eg) + (Kd + 4) * U * r->gnorm2[n];
        c->tol[NO_TRAIN_Q_TNORM][n] = E + (Kd + 4) * U * tn;
        c->tol[NO_TRAIN_Q_TDIST][n] = E + (Kd + 4) * U * (tn + r->theta_norm[0]);
        /* judged only while every part is meaningful (once not, never again:
         * E_{n+1} builds on E_n) */
        int fin = 1, nonfin_q = NO_TRAIN_Q_F;
        for (int q = NO_TRAIN_NQ - 1; q >= 0; q--)
            if (!isfinite(c->err[q][n])) {
                fin = 0;
                nonfin_q = q;
            }
        meaningful = meaningful && ok[n] && isfinite(E) && isfinite(lip) && E <= mx * tn &&
                     c->tol[NO_TRAIN_Q_F][n] <= mx * fabs(r->F[n]) &&
                     r->F_bits[n] >= REF_BITS_NEEDED;
        if (!fin) { /* fast's NaN or Inf is a failure whatever the bound */
            if (!fail) {
                c->first_fail = n;
                c->first_fail_q = nonfin_q;
            }
            fail = 1;
        }
        if (meaningful) {
            c->judged[n] = 1;
            c->njudged++;
            for (int q = 0; q < NO_TRAIN_NQ; q++) {
                if (!(provided & (1u << q)))
                    continue;
                double ratio = c->err[q][n] / c->tol[q][n];
                if (c->err[q][n] == 0)
                    ratio = 0;
                if (ratio > c->worst) {
                    c->worst = ratio;
                    c->worst_n = n;
                    c->worst_q = q;
                }
                if (!(ratio <= 1) && !fail) {
                    fail = 1;
                    c->first_fail = n;
                    c->first_fail_q = q;
                }
            }
        } else if (c->first_unjudged == n1) {
            c->first_unjudged = n;
        }
        /* propagate to n + 1: the update's rounding is
         * |fl(a - fl(eta g)) - (a - eta g)| <= u |a - eta g| + u (1 + u) eta |g|
         * elementwise, doubled for fast's own a and g */
        if (n + 1 < n1) {
            double rho = 2 * U * (r->theta_norm[n + 1] + 2 * eta * gn);
            E = (1 + eta * lip) * E + eta * dG[n] + rho;
        }
    }
    c->verdict = fail ? NO_TRAIN_FAIL : c->njudged < n1 ? NO_TRAIN_UNVERIFIABLE : NO_TRAIN_PASS;
    return 0;
}

int no_train_reference(const no_problem *p, long prec, size_t steps, double eta,
                       void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                       no_train_cmp *c, char *err, size_t len)
{
    memset(c, 0, sizeof *c);
    hook_ctx h;
    memset(&h, 0, sizeof h);
    size_t n1 = steps + 1;
    if (steps > ((size_t)1 << 24))
        return no_errorf(err, len, "steps: at most 2^24");
    h.np = no_spec_params(&p->spec, h.pi);
    double hs = no_spec_step(&p->spec);
    h.w = p->spec.family == NO_FAMILY_MLP ? hs / (double)p->spec.M : hs;
    h.dG = calloc(n1, sizeof *h.dG);
    h.tF = calloc(n1, sizeof *h.tF);
    h.ok = calloc(n1, 1);
    int rc = 0;
    if (!h.dG || !h.tF || !h.ok || no_problem_copy(&h.q, p)) {
        rc = no_errorf(err, len, "out of memory for the training comparison");
        goto done;
    }
    ref_train_opts o;
    memset(&o, 0, sizeof o);
    o.steps = steps;
    o.eta = eta;
    o.keep_params = 1;
    o.lip_iters = 3;
    o.hook = tol_hook;
    o.hook_ctx = &h;
    o.progress = progress;
    o.progress_ctx = ctx;
    if ((rc = ref_train_certify(p, prec, &o, &c->ref, err, len)))
        goto done;
    c->dG = h.dG;
    c->tF = h.tF;
    c->ok = h.ok;
    h.dG = h.tF = NULL;
    h.ok = NULL;
done:
    if (rc)
        no_train_cmp_clear(c);
    no_problem_free(&h.q);
    free(h.dG);
    free(h.tF);
    free(h.ok);
    return rc;
}

int no_train_compare(const no_problem *p, long prec, size_t steps, double eta,
                     void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                     no_train_cmp *c, char *err, size_t len)
{
    int rc = no_train_reference(p, prec, steps, eta, progress, ctx, c, err, len);
    if (rc)
        return rc;
    if ((rc = fast_train_gd(p, steps, eta, 1, progress, ctx, &c->fast, err, len)))
        goto done;
    if (no_train_judge(p, &c->ref, &c->fast, c->dG, c->tF, c->ok, c))
        rc = no_errorf(err, len, "out of memory for the training comparison");
done:
    if (rc)
        no_train_cmp_clear(c);
    return rc;
}
