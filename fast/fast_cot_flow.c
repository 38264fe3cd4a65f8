/* fast_cot_flow.c - the COT particle flow by RK4 in double (fast_cot_flow.h). */
#include "fast_cot_flow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "fast.h"

/* One field evaluator: a copy of the problem whose parameters are
 * overwritten, a workspace and the outputs. */
typedef struct {
    no_problem q;
    fast_ws *ws;
    no_arrays out;
    no_param_info pi[NO_MAX_PARAMS];
    int np;
    size_t K;
    double w; /* h / M (mlp), h (others) */
} field;

static void field_clear(field *f)
{
    no_arrays_free(&f->out);
    fast_ws_free(f->ws);
    no_problem_free(&f->q);
}

static int field_init(field *f, const no_problem *p)
{
    memset(f, 0, sizeof *f);
    f->np = no_spec_params(&p->spec, f->pi);
    for (int i = 0; i < f->np; i++)
        f->K += f->pi[i].n;
    double h = no_spec_step(&p->spec);
    f->w = p->spec.family == NO_FAMILY_MLP ? h / (double)p->spec.M : h;
    if (!(f->ws = fast_ws_alloc(&p->spec)) || no_problem_copy(&f->q, p) ||
        no_outputs_init(&f->out, &p->spec)) {
        field_clear(f);
        return -1;
    }
    return 0;
}

/* G at x into G (K numbers), the loss into *F and w sum G^2 into *g2. */
static int field_eval(field *f, const double *x, double *G, double *F, double *g2, char *err,
                      size_t len)
{
    size_t k = 0;
    for (int i = 0; i < f->np; i++) {
        memcpy(no_problem_param(&f->q, f->pi[i].name), x + k, f->pi[i].n * sizeof *x);
        k += f->pi[i].n;
    }
    if (fast_run_ws(f->ws, &f->q, &f->out, err, len))
        return -1;
    k = 0;
    for (int i = 0; i < f->np; i++) {
        char name[NO_NAME_LEN] = "mgrad_";
        strcat(name, f->pi[i].name);
        memcpy(G + k, no_arrays_get(&f->out, name)->v, f->pi[i].n * sizeof *G);
        k += f->pi[i].n;
    }
    double s = 0;
    for (k = 0; k < f->K; k++)
        s += G[k] * G[k];
    *g2 = f->w * s;
    *F = no_arrays_get(&f->out, "loss")->v[0];
    return 0;
}

void fast_cot_flow_traj_clear(fast_cot_flow_traj *t)
{
    double **a[] = {&t->t,  &t->F,      &t->v2,     &t->energy, &t->resid,
                    &t->pl, &t->pl_env, &t->length, &t->dist};
    for (size_t i = 0; i < sizeof a / sizeof *a; i++)
        free(*a[i]);
    memset(t, 0, sizeof *t);
}

/* The augmented field (-c G, c^2 |G|^2, |c| |G|) at y (n = K + 2 numbers). */
static int aug(field *f, double c, const double *y, double *dy, double *F, double *g2, char *err,
               size_t len)
{
    if (field_eval(f, y, dy, F, g2, err, len))
        return -1;
    for (size_t k = 0; k < f->K; k++)
        dy[k] *= -c;
    dy[f->K] = c * c * *g2;
    dy[f->K + 1] = fabs(c) * sqrt(*g2);
    return 0;
}

int fast_cot_flow_run(const no_problem *p, const fast_cot_flow_opts *o, fast_cot_flow_traj *t,
                      char *err, size_t len)
{
    memset(t, 0, sizeof *t);
    if (p->spec.family != NO_FAMILY_MLP)
        return no_errorf(err, len, "the COT flow is defined for the mlp family (particles "
                                   "theta_kj) only");
    if (!(o->T > 0) || !isfinite(o->T))
        return no_errorf(err, len, "time: expected a finite number > 0");
    if (o->records < 1 || o->records > 100000 || o->substeps > 100000)
        return no_errorf(err, len, "records: expected 1..100000, substeps at most 100000");
    if (!isfinite(o->vscale))
        return no_errorf(err, len, "vscale: not finite");
    double c = o->vscale != 0 ? o->vscale : 1;
    size_t sub = o->substeps ? o->substeps : 16, n1 = o->records + 1;
    field f;
    if (field_init(&f, p))
        return no_errorf(err, len, "out of memory for the COT flow");
    size_t K = f.K, n = K + 2;
    double *buf = calloc(8 * n, sizeof *buf);
    double **a[] = {&t->t,  &t->F,      &t->v2,     &t->energy, &t->resid,
                    &t->pl, &t->pl_env, &t->length, &t->dist};
    int rc = 0;
    for (size_t i = 0; i < sizeof a / sizeof *a; i++)
        if (!(*a[i] = calloc(n1, sizeof(double))))
            rc = -1;
    if (rc || !buf) {
        rc = no_errorf(err, len, "out of memory for the COT flow");
        goto done;
    }
    t->records = o->records;
    t->T = o->T;
    double *y = buf, *y0 = buf + n, *k1 = buf + 2 * n, *k2 = buf + 3 * n, *k3 = buf + 4 * n,
           *k4 = buf + 5 * n, *ys = buf + 6 * n;
    size_t c0 = 0;
    for (int i = 0; i < f.np; i++) {
        memcpy(y + c0, no_problem_param(p, f.pi[i].name), f.pi[i].n * sizeof *y);
        c0 += f.pi[i].n;
    }
    memcpy(y0, y, n * sizeof *y);
    double F, g2, F0, Fs, gs, env = INFINITY;
    if ((rc = aug(&f, c, y, k1, &F0, &g2, err, len)))
        goto done;
    F = F0;
    t->evals = 1;
    double dt = o->T / (double)(o->records * sub);
    for (size_t r = 0; r <= o->records && !rc; r++) {
        for (size_t s = 0; r > 0 && s < sub && !rc; s++) {
            /* classical RK4; k1 is the field at y, kept from the last step */
            for (size_t i = 0; i < n; i++)
                ys[i] = y[i] + 0.5 * dt * k1[i];
            if ((rc = aug(&f, c, ys, k2, &Fs, &gs, err, len)))
                break;
            for (size_t i = 0; i < n; i++)
                ys[i] = y[i] + 0.5 * dt * k2[i];
            if ((rc = aug(&f, c, ys, k3, &Fs, &gs, err, len)))
                break;
            for (size_t i = 0; i < n; i++)
                ys[i] = y[i] + dt * k3[i];
            if ((rc = aug(&f, c, ys, k4, &Fs, &gs, err, len)))
                break;
            for (size_t i = 0; i < n; i++)
                y[i] += dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
            if ((rc = aug(&f, c, y, k1, &F, &g2, err, len)))
                break;
            t->evals += 4;
            t->steps++;
            if (!isfinite(F) || !isfinite(g2)) {
                rc = no_errorf(err, len, "COT flow: not finite at step %zu", t->steps);
                break;
            }
            env = fmin(env, g2 / F);
        }
        if (rc)
            break;
        if (r == 0)
            env = g2 / F;
        t->t[r] = o->T * (double)r / (double)o->records;
        t->F[r] = F;
        t->v2[r] = k1[K];
        t->energy[r] = y[K];
        t->resid[r] = (F - F0) + y[K];
        t->pl[r] = g2 / F;
        t->pl_env[r] = env;
        t->length[r] = y[K + 1];
        double d = 0;
        for (size_t i = 0; i < K; i++)
            d += (y[i] - y0[i]) * (y[i] - y0[i]);
        t->dist[r] = sqrt(f.w * d);
        if (o->progress)
            o->progress(o->progress_ctx, r + 1, n1);
    }
    if (!rc) {
        double mx = 0, ET = t->energy[o->records];
        for (size_t r = 0; r <= o->records; r++)
            mx = fmax(mx, fabs(t->resid[r]));
        t->resid_rel = ET > 0 ? mx / ET : 0;
    }
done:
    free(buf);
    field_clear(&f);
    if (rc)
        fast_cot_flow_traj_clear(t);
    return rc;
}

int fast_cot_flow_gd_residual(const no_problem *p, const double *eta, size_t k, double *resid,
                              char *err, size_t len)
{
    field f;
    if (field_init(&f, p))
        return no_errorf(err, len, "out of memory for the GD residual");
    double *th = malloc(f.K * sizeof *th), *G = malloc(f.K * sizeof *G),
           *x = malloc(f.K * sizeof *x), *Gx = malloc(f.K * sizeof *Gx);
    int rc = 0;
    if (!th || !G || !x || !Gx) {
        rc = no_errorf(err, len, "out of memory for the GD residual");
        goto done;
    }
    size_t c = 0;
    for (int i = 0; i < f.np; i++) {
        memcpy(th + c, no_problem_param(p, f.pi[i].name), f.pi[i].n * sizeof *th);
        c += f.pi[i].n;
    }
    double F, g2, Fx, gx;
    if ((rc = field_eval(&f, th, G, &F, &g2, err, len)))
        goto done;
    for (size_t i = 0; i < k && !rc; i++) {
        if (!(eta[i] > 0) || !isfinite(eta[i])) {
            rc = no_errorf(err, len, "eta: expected finite numbers > 0");
            break;
        }
        for (size_t j = 0; j < f.K; j++)
            x[j] = th[j] - eta[i] * G[j];
        if ((rc = field_eval(&f, x, Gx, &Fx, &gx, err, len)))
            break;
        resid[i] = (Fx - F) + eta[i] * g2;
    }
done:
    free(th);
    free(G);
    free(x);
    free(Gx);
    field_clear(&f);
    return rc;
}
