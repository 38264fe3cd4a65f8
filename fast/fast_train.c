/* fast_train.c - gradient descent in double (fast_train.h). */
#include "fast_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "fast.h"

void fast_train_traj_clear(fast_train_traj *t)
{
    free(t->F);
    free(t->gnorm2);
    free(t->theta_norm);
    free(t->theta_dist);
    free(t->params);
    memset(t, 0, sizeof *t);
}

/* w sum_k (x_k - y_k)^2 (y NULL: w sum x_k^2), in order. */
static double msq(const double *x, const double *y, size_t K, double w)
{
    double s = 0;
    for (size_t k = 0; k < K; k++) {
        double d = y ? x[k] - y[k] : x[k];
        s += d * d;
    }
    return w * s;
}

int fast_train_gd(const no_problem *p, size_t steps, double eta, int keep_params,
                  void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                  fast_train_traj *t, char *err, size_t len)
{
    memset(t, 0, sizeof *t);
    if (!(eta > 0) || !isfinite(eta))
        return no_errorf(err, len, "eta must be a positive finite number");
    if (steps > ((size_t)1 << 24))
        return no_errorf(err, len, "steps: at most 2^24");
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(&p->spec, pi);
    size_t K = 0;
    for (int i = 0; i < np; i++)
        K += pi[i].n;
    size_t n1 = steps + 1, cnt = 0;
    t->steps = steps;
    t->K = K;
    t->eta = eta;
    t->F = calloc(n1, sizeof *t->F);
    t->gnorm2 = calloc(n1, sizeof *t->gnorm2);
    t->theta_norm = calloc(n1, sizeof *t->theta_norm);
    t->theta_dist = calloc(n1, sizeof *t->theta_dist);
    if (keep_params && (no_mul_size(n1, K, &cnt) || !(t->params = calloc(cnt, sizeof(double)))))
        keep_params = -1;
    no_problem q;
    memset(&q, 0, sizeof q);
    double *th = malloc(K * sizeof *th), *th0 = malloc(K * sizeof *th0), *G = malloc(K * sizeof *G);
    fast_ws *ws = fast_ws_alloc(&p->spec);
    no_arrays out = {0};
    int rc = 0;
    if (!t->F || !t->gnorm2 || !t->theta_norm || !t->theta_dist || keep_params < 0 || !th ||
        !th0 || !G || !ws || no_problem_copy(&q, p) || no_outputs_init(&out, &p->spec)) {
        rc = no_errorf(err, len, "out of memory for the training run");
        goto done;
    }
    double h = no_spec_step(&p->spec);
    double w = p->spec.family == NO_FAMILY_MLP ? h / (double)p->spec.M : h;
    size_t k = 0;
    for (int i = 0; i < np; i++) {
        const double *src = no_problem_param(p, pi[i].name);
        memcpy(th + k, src, pi[i].n * sizeof *th);
        k += pi[i].n;
    }
    memcpy(th0, th, K * sizeof *th);
    for (size_t n = 0; n <= steps; n++) {
        k = 0;
        for (int i = 0; i < np; i++) {
            memcpy(no_problem_param(&q, pi[i].name), th + k, pi[i].n * sizeof *th);
            k += pi[i].n;
        }
        if ((rc = fast_run_ws(ws, &q, &out, err, len)))
            break;
        k = 0;
        for (int i = 0; i < np; i++) {
            char name[NO_NAME_LEN] = "mgrad_";
            strcat(name, pi[i].name);
            const no_array *g = no_arrays_get(&out, name);
            memcpy(G + k, g->v, pi[i].n * sizeof *G);
            k += pi[i].n;
        }
        t->F[n] = no_arrays_get(&out, "loss")->v[0];
        t->gnorm2[n] = msq(G, NULL, K, w);
        t->theta_norm[n] = sqrt(msq(th, NULL, K, w));
        t->theta_dist[n] = sqrt(msq(th, th0, K, w));
        if (t->params)
            memcpy(t->params + n * K, th, K * sizeof *th);
        if (progress)
            progress(ctx, n + 1, n1);
        if (n < steps)
            for (k = 0; k < K; k++)
                th[k] = th[k] - eta * G[k];
    }
done:
    no_arrays_free(&out);
    fast_ws_free(ws);
    no_problem_free(&q);
    free(th);
    free(th0);
    free(G);
    if (rc)
        fast_train_traj_clear(t);
    return rc;
}
