/* ref_train.c - gradient descent and gradient flow in MPFR (ref_train.h,
 * proofs-notes/training.md). */
#include "ref_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

/* The records of one run at its own precision (for the bits). */
typedef struct {
    size_t n;
    mpfr_t *F, *g2, *tn, *td; /* n each */
} records;

/* One run's state: the model, theta, theta^0, G, scratch, the weight w. */
typedef struct {
    ref_model m;
    mpfr_prec_t prec;
    size_t K;
    int np;
    ref_array *par[NO_MAX_PARAMS];
    const char *gname[NO_MAX_PARAMS];
    mpfr_t *theta, *theta0, *G, *tmp, *v;
    mpfr_t w, acc, s, F;
    no_arrays dbl; /* outputs rounded, for the hook */
} run_state;

static mpfr_t *vec_new(size_t n, mpfr_prec_t prec)
{
    mpfr_t *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        mpfr_init2(x[i], prec);
        mpfr_set_zero(x[i], 1);
    }
    return x;
}

static void vec_free(mpfr_t *x, size_t n)
{
    if (!x)
        return;
    for (size_t i = 0; i < n; i++)
        mpfr_clear(x[i]);
    free(x);
}

size_t ref_train_nparams(const no_spec *s)
{
    return ref_layer_param_count(s) * s->L; /* every array has L equal blocks */
}

static void state_clear(run_state *st)
{
    vec_free(st->theta, st->K);
    vec_free(st->theta0, st->K);
    vec_free(st->G, st->K);
    vec_free(st->tmp, st->K);
    vec_free(st->v, st->K);
    mpfr_clears(st->w, st->acc, st->s, st->F, (mpfr_ptr)0);
    no_arrays_free(&st->dbl);
    ref_model_clear(&st->m);
}

static int state_init(run_state *st, const no_problem *p, mpfr_prec_t prec, char *err, size_t len)
{
    memset(st, 0, sizeof *st);
    if (ref_model_init(&st->m, p, prec, err, len))
        return -1;
    st->prec = prec;
    mpfr_inits2(prec, st->w, st->acc, st->s, st->F, (mpfr_ptr)0);
    st->K = ref_param_table(&st->m, &st->np, st->par, st->gname);
    st->theta = vec_new(st->K, prec);
    st->theta0 = vec_new(st->K, prec);
    st->G = vec_new(st->K, prec);
    st->tmp = vec_new(st->K, prec);
    st->v = vec_new(st->K, prec);
    if (!st->theta || !st->theta0 || !st->G || !st->tmp || !st->v) {
        state_clear(st);
        return no_errorf(err, len, "out of memory for the training run");
    }
    size_t k = 0;
    for (int i = 0; i < st->np; i++)
        for (size_t e = 0; e < st->par[i]->n; e++, k++) {
            mpfr_set(st->theta[k], st->par[i]->v[e], MPFR_RNDN);
            mpfr_set(st->theta0[k], st->par[i]->v[e], MPFR_RNDN);
        }
    /* w = h (linear, rff) or h / M (mlp), at the working precision */
    mpfr_set_ui(st->w, (unsigned long)p->spec.L, MPFR_RNDN);
    if (p->spec.scaling == NO_SCALING_SQRT)
        mpfr_rec_sqrt(st->w, st->w, MPFR_RNDN);
    else
        mpfr_ui_div(st->w, 1, st->w, MPFR_RNDN);
    if (p->spec.family == NO_FAMILY_MLP)
        mpfr_div_ui(st->w, st->w, (unsigned long)p->spec.M, MPFR_RNDN);
    return 0;
}

/* out = w sum x_k^2 (x - y when y is not NULL). */
static void metric_sq(run_state *st, mpfr_t out, mpfr_t *x, mpfr_t *y)
{
    mpfr_set_zero(st->acc, 1);
    for (size_t k = 0; k < st->K; k++) {
        if (y) {
            mpfr_sub(st->s, x[k], y[k], MPFR_RNDN);
            mpfr_fma(st->acc, st->s, st->s, st->acc, MPFR_RNDN);
        } else {
            mpfr_fma(st->acc, x[k], x[k], st->acc, MPFR_RNDN);
        }
    }
    mpfr_mul(out, st->acc, st->w, MPFR_RNDN);
}

/* G (and F) at the parameters x: ref_run with x loaded into the model.
 * keep: the outputs rounded to double into st->dbl (for the hook). */
static int eval(run_state *st, mpfr_t *x, mpfr_t *G, mpfr_t F, int keep, char *err, size_t len)
{
    size_t k = 0;
    for (int i = 0; i < st->np; i++)
        for (size_t e = 0; e < st->par[i]->n; e++, k++)
            mpfr_set(st->par[i]->v[e], x[k], MPFR_RNDN);
    ref_result r;
    if (ref_run(&st->m, &r, err, len))
        return -1;
    k = 0;
    for (int i = 0; i < st->np; i++) {
        const ref_array *g = ref_result_get(&r, st->gname[i]);
        for (size_t e = 0; e < g->n; e++, k++)
            mpfr_set(G[k], g->v[e], MPFR_RNDN);
    }
    if (F)
        mpfr_set(F, ref_result_get(&r, "loss")->v[0], MPFR_RNDN);
    int rc = 0;
    if (keep) {
        no_arrays_free(&st->dbl);
        rc = ref_result_to_double(&r, &st->dbl);
    }
    ref_result_clear(&r);
    return rc ? no_errorf(err, len, "out of memory for the training run") : 0;
}

/* An estimate of |DG(theta)| (metric operator norm): power iteration on
 * central differences (G(theta + e v) - G(theta - e v)) / (2 e), |v| = 1,
 * e = 2^(-prec/3) max(1, |theta|), warm-started from the previous vector
 * (in st->v); the largest |DG v| seen.  A lower estimate of the norm: the
 * comparison multiplies it by a safety factor (proofs-notes/training.md). */
static int lip_estimate(run_state *st, int iters, double *out, char *err, size_t len)
{
    mpfr_prec_t pr = st->prec;
    mpfr_t e, nv, tn;
    mpfr_inits2(pr, e, nv, tn, (mpfr_ptr)0);
    mpfr_t *Gp = vec_new(st->K, pr), *Gm = vec_new(st->K, pr), *x = vec_new(st->K, pr);
    int rc = 0;
    double best = 0;
    if (!Gp || !Gm || !x) {
        rc = no_errorf(err, len, "out of memory for the training run");
        goto done;
    }
    metric_sq(st, tn, st->theta, NULL);
    mpfr_sqrt(tn, tn, MPFR_RNDN);
    if (mpfr_cmp_ui(tn, 1) < 0)
        mpfr_set_ui(tn, 1, MPFR_RNDN);
    mpfr_mul_2si(e, tn, -(long)(pr / 3), MPFR_RNDN);
    for (int it = 0; it < iters && !rc; it++) {
        metric_sq(st, nv, st->v, NULL);
        mpfr_sqrt(nv, nv, MPFR_RNDN);
        if (mpfr_zero_p(nv)) { /* first call: the gradient's direction, else e_1 */
            metric_sq(st, nv, st->G, NULL);
            for (size_t k = 0; k < st->K; k++)
                mpfr_set(st->v[k], st->G[k], MPFR_RNDN);
            if (mpfr_zero_p(nv)) {
                mpfr_set_ui(st->v[0], 1, MPFR_RNDN);
                mpfr_set(nv, st->w, MPFR_RNDN);
            }
            mpfr_sqrt(nv, nv, MPFR_RNDN);
        }
        for (size_t k = 0; k < st->K; k++)
            mpfr_div(st->v[k], st->v[k], nv, MPFR_RNDN);
        for (size_t k = 0; k < st->K; k++)
            mpfr_fma(x[k], e, st->v[k], st->theta[k], MPFR_RNDN);
        if ((rc = eval(st, x, Gp, NULL, 0, err, len)))
            break;
        for (size_t k = 0; k < st->K; k++) {
            mpfr_neg(x[k], e, MPFR_RNDN);
            mpfr_fma(x[k], x[k], st->v[k], st->theta[k], MPFR_RNDN);
        }
        if ((rc = eval(st, x, Gm, NULL, 0, err, len)))
            break;
        for (size_t k = 0; k < st->K; k++) {
            mpfr_sub(st->v[k], Gp[k], Gm[k], MPFR_RNDN);
            mpfr_div(st->v[k], st->v[k], e, MPFR_RNDN);
            mpfr_div_2ui(st->v[k], st->v[k], 1, MPFR_RNDN);
        }
        metric_sq(st, nv, st->v, NULL);
        mpfr_sqrt(nv, nv, MPFR_RNDN);
        double l = mpfr_get_d(nv, MPFR_RNDU);
        if (l > best)
            best = l;
        if (mpfr_zero_p(nv)) /* DG v = 0: restart from e_1 next time */
            mpfr_set_ui(st->v[0], 1, MPFR_RNDN);
    }
done:
    vec_free(Gp, st->K);
    vec_free(Gm, st->K);
    vec_free(x, st->K);
    mpfr_clears(e, nv, tn, (mpfr_ptr)0);
    *out = best;
    return rc;
}

static void records_clear(records *r)
{
    vec_free(r->F, r->n);
    vec_free(r->g2, r->n);
    vec_free(r->tn, r->n);
    vec_free(r->td, r->n);
    memset(r, 0, sizeof *r);
}

static int records_init(records *r, size_t n, mpfr_prec_t prec)
{
    r->n = n;
    r->F = vec_new(n, prec);
    r->g2 = vec_new(n, prec);
    r->tn = vec_new(n, prec);
    r->td = vec_new(n, prec);
    if (!r->F || !r->g2 || !r->tn || !r->td) {
        records_clear(r);
        return -1;
    }
    return 0;
}

/* Record n: F (already in st->F), |G|^2, |theta|, |theta - theta^0|, and
 * theta rounded into params. */
static void record(run_state *st, records *rec, size_t n, double *params)
{
    mpfr_set(rec->F[n], st->F, MPFR_RNDN);
    metric_sq(st, rec->g2[n], st->G, NULL);
    metric_sq(st, rec->tn[n], st->theta, NULL);
    mpfr_sqrt(rec->tn[n], rec->tn[n], MPFR_RNDN);
    metric_sq(st, rec->td[n], st->theta, st->theta0);
    mpfr_sqrt(rec->td[n], rec->td[n], MPFR_RNDN);
    if (params)
        for (size_t k = 0; k < st->K; k++)
            params[n * st->K + k] = mpfr_get_d(st->theta[k], MPFR_RNDN);
}

/* Gradient descent at the state's precision. */
static int run_gd(run_state *st, const ref_train_opts *o, int outer, records *rec, double *params,
                  double *lip, char *err, size_t len)
{
    mpfr_t meta;
    mpfr_init2(meta, st->prec);
    mpfr_set_d(meta, -o->eta, MPFR_RNDN); /* exact: prec >= 53 */
    int rc = 0;
    for (size_t n = 0; n <= o->steps && !rc; n++) {
        int keep = outer && o->hook;
        if ((rc = eval(st, st->theta, st->G, st->F, keep, err, len)))
            break;
        record(st, rec, n, params);
        if (outer && lip && (rc = lip_estimate(st, o->lip_iters, &lip[n], err, len)))
            break;
        if (keep) {
            double *th = malloc(st->K * sizeof *th);
            if (!th) {
                rc = no_errorf(err, len, "out of memory for the training run");
                break;
            }
            for (size_t k = 0; k < st->K; k++)
                th[k] = mpfr_get_d(st->theta[k], MPFR_RNDN);
            int h = o->hook(o->hook_ctx, n, th, &st->dbl);
            free(th);
            if (h) {
                rc = no_errorf(err, len, "training run stopped at iteration %zu", n);
                break;
            }
        }
        if (o->progress)
            o->progress(o->progress_ctx, n + 1, o->steps + 1);
        /* theta <- theta - eta G, one rounding per element (fma) */
        if (n < o->steps)
            for (size_t k = 0; k < st->K; k++)
                mpfr_fma(st->theta[k], meta, st->G[k], st->theta[k], MPFR_RNDN);
    }
    mpfr_clear(meta);
    return rc;
}

/* Dormand-Prince 5(4): the stages of problem/tableau.c's dopri5 with the
 * seventh (first-same-as-last) stage and the fourth-order embedded weights
 * bh, for the error estimate; published rationals (num/den). */
static const long dp_a[7][6][2] = {
    {{0, 1}},
    {{1, 5}},
    {{3, 40}, {9, 40}},
    {{44, 45}, {-56, 15}, {32, 9}},
    {{19372, 6561}, {-25360, 2187}, {64448, 6561}, {-212, 729}},
    {{9017, 3168}, {-355, 33}, {46732, 5247}, {49, 176}, {-5103, 18656}},
    {{35, 384}, {0, 1}, {500, 1113}, {125, 192}, {-2187, 6784}, {11, 84}},
};
static const long dp_bh[7][2] = {{5179, 57600}, {0, 1},        {7571, 16695}, {393, 640},
                                 {-92097, 339200}, {187, 2100}, {1, 40}};

static void rat(mpfr_t x, const long q[2])
{
    mpfr_set_si(x, q[0], MPFR_RNDN);
    mpfr_div_si(x, x, q[1], MPFR_RNDN);
}

/* Gradient flow: records at t_n = n eta; between them adaptive
 * Dormand-Prince 5(4) steps, never crossing t_{n+1}; a step is accepted when
 * |y5 - y4| <= tol (1 + max(|theta|, |y5|)) in the metric. */
static int run_flow(run_state *st, const ref_train_opts *o, double tol, records *rec,
                    double *params, size_t *acc_out, size_t *rej_out, char *err, size_t len)
{
    mpfr_prec_t pr = st->prec;
    size_t K = st->K;
    mpfr_t *k[7], *y = vec_new(K, pr), *y4 = vec_new(K, pr);
    mpfr_t t, target, hh, c, en, yn, F7;
    mpfr_inits2(pr, t, target, hh, c, en, yn, F7, (mpfr_ptr)0);
    int rc = 0;
    for (int s = 0; s < 7; s++)
        k[s] = vec_new(K, pr);
    for (int s = 0; s < 7; s++)
        if (!k[s])
            rc = -1;
    if (rc || !y || !y4) {
        rc = no_errorf(err, len, "out of memory for the flow run");
        goto done;
    }
    /* the slope is -G: k holds G, the combinations subtract */
    if ((rc = eval(st, st->theta, st->G, st->F, 0, err, len)))
        goto done;
    record(st, rec, 0, params);
    for (size_t i = 0; i < K; i++)
        mpfr_set(k[0][i], st->G[i], MPFR_RNDN);
    double step = o->eta / 4;
    size_t acc = 0, rej = 0;
    mpfr_set_zero(t, 1);
    for (size_t n = 0; n < o->steps && !rc; n++) {
        mpfr_set_d(target, o->eta, MPFR_RNDN);
        mpfr_mul_ui(target, target, (unsigned long)(n + 1), MPFR_RNDN);
        while (mpfr_less_p(t, target) && !rc) {
            mpfr_sub(hh, target, t, MPFR_RNDN);
            int last = 1;
            if (mpfr_cmp_d(hh, step) > 0) {
                mpfr_set_d(hh, step, MPFR_RNDN);
                last = 0;
            }
            /* stages 2..7 */
            for (int s = 1; s < 7 && !rc; s++) {
                for (size_t i = 0; i < K; i++) {
                    mpfr_set_zero(st->acc, 1);
                    for (int j = 0; j < s; j++) {
                        if (!dp_a[s][j][0])
                            continue;
                        rat(c, dp_a[s][j]);
                        mpfr_fma(st->acc, c, k[j][i], st->acc, MPFR_RNDN);
                    }
                    mpfr_mul(st->acc, st->acc, hh, MPFR_RNDN);
                    mpfr_sub(y[i], st->theta[i], st->acc, MPFR_RNDN);
                }
                rc = eval(st, y, k[s], s == 6 ? F7 : NULL, 0, err, len);
            }
            if (rc)
                break;
            /* y (the fifth-order solution, = stage 7's point) and y4 */
            for (size_t i = 0; i < K; i++) {
                mpfr_set_zero(st->acc, 1);
                for (int j = 0; j < 7; j++) {
                    if (!dp_bh[j][0])
                        continue;
                    rat(c, dp_bh[j]);
                    mpfr_fma(st->acc, c, k[j][i], st->acc, MPFR_RNDN);
                }
                mpfr_mul(st->acc, st->acc, hh, MPFR_RNDN);
                mpfr_sub(y4[i], st->theta[i], st->acc, MPFR_RNDN);
            }
            metric_sq(st, en, y, y4);
            mpfr_sqrt(en, en, MPFR_RNDN);
            metric_sq(st, yn, st->theta, NULL);
            metric_sq(st, c, y, NULL);
            mpfr_max(yn, yn, c, MPFR_RNDN);
            mpfr_sqrt(yn, yn, MPFR_RNDN);
            mpfr_add_ui(yn, yn, 1, MPFR_RNDN);
            double errn = mpfr_get_d(en, MPFR_RNDU) / (tol * mpfr_get_d(yn, MPFR_RNDN));
            double used = mpfr_get_d(hh, MPFR_RNDN);
            if (!(errn == errn)) {
                rc = no_errorf(err, len, "the gradient flow is not finite at t = %g",
                               mpfr_get_d(t, MPFR_RNDN));
                break;
            }
            if (errn <= 1) {
                acc++;
                for (size_t i = 0; i < K; i++) {
                    mpfr_set(st->theta[i], y[i], MPFR_RNDN);
                    mpfr_set(k[0][i], k[6][i], MPFR_RNDN);
                }
                mpfr_set(st->F, F7, MPFR_RNDN);
                if (last)
                    mpfr_set(t, target, MPFR_RNDN);
                else
                    mpfr_add(t, t, hh, MPFR_RNDN);
            } else {
                rej++;
                last = 0;
            }
            double fac = errn > 0 ? 0.9 * pow(errn, -0.2) : 5;
            fac = fac < 0.2 ? 0.2 : fac > 5 ? 5 : fac;
            /* a step shortened to land on t_{n+1} does not shrink the next */
            double base = (errn <= 1 && last && used < step) ? step : used;
            step = base * fac;
            if (acc + rej > 10000000 || step < o->eta * 1e-12) {
                rc = no_errorf(err, len, "gradient flow: step size underflow at t = %g",
                               mpfr_get_d(t, MPFR_RNDN));
                break;
            }
        }
        if (rc)
            break;
        for (size_t i = 0; i < K; i++)
            mpfr_set(st->G[i], k[0][i], MPFR_RNDN);
        record(st, rec, n + 1, params);
        if (o->progress)
            o->progress(o->progress_ctx, n + 2, o->steps + 1);
    }
    *acc_out = acc;
    *rej_out = rej;
done:
    for (int s = 0; s < 7; s++)
        vec_free(k[s], K);
    vec_free(y, K);
    vec_free(y4, K);
    mpfr_clears(t, target, hh, c, en, yn, F7, (mpfr_ptr)0);
    return rc;
}

void ref_train_traj_clear(ref_train_traj *t)
{
    free(t->F);
    free(t->gnorm2);
    free(t->theta_norm);
    free(t->theta_dist);
    free(t->F_bits);
    free(t->lip);
    free(t->params);
    memset(t, 0, sizeof *t);
}

static int check_opts(const no_problem *p, long prec, const ref_train_opts *o, char *err,
                      size_t len)
{
    if (!(o->eta > 0) || !isfinite(o->eta))
        return no_errorf(err, len, "eta must be a positive finite number");
    if (o->steps > ((size_t)1 << 24))
        return no_errorf(err, len, "steps: at most 2^24");
    if (prec < REF_PREC_MIN || prec > REF_CERTIFY_PREC_MAX)
        return no_errorf(err, len, "precision out of range");
    if (o->flow && !(o->flow_tol >= 0 && o->flow_tol < 1))
        return no_errorf(err, len, "flow tolerance must be in [0, 1)");
    (void)p;
    return 0;
}

/* One run at prec (flow: local target tol) into rec, params and lip. */
static int one_run(const no_problem *p, long prec, const ref_train_opts *o, int outer, double tol,
                   records *rec, double *params, double *lip, ref_train_traj *t, char *err,
                   size_t len)
{
    run_state st;
    if (state_init(&st, p, prec, err, len))
        return -1;
    if (records_init(rec, o->steps + 1, prec)) {
        state_clear(&st);
        return no_errorf(err, len, "out of memory for the training run");
    }
    int rc = o->flow ? run_flow(&st, o, tol, rec, params, &t->flow_accepted, &t->flow_rejected,
                                err, len)
                     : run_gd(&st, o, outer, rec, params, lip, err, len);
    state_clear(&st);
    if (rc)
        records_clear(rec);
    return rc;
}

static int traj_alloc(ref_train_traj *t, const no_problem *p, long prec, const ref_train_opts *o,
                      int bits)
{
    memset(t, 0, sizeof *t);
    size_t n = o->steps + 1;
    t->steps = o->steps;
    t->K = ref_train_nparams(&p->spec);
    t->eta = o->eta;
    t->prec = prec;
    t->F = calloc(n, sizeof *t->F);
    t->gnorm2 = calloc(n, sizeof *t->gnorm2);
    t->theta_norm = calloc(n, sizeof *t->theta_norm);
    t->theta_dist = calloc(n, sizeof *t->theta_dist);
    int bad = !t->F || !t->gnorm2 || !t->theta_norm || !t->theta_dist;
    if (bits && !(t->F_bits = calloc(n, sizeof *t->F_bits)))
        bad = 1;
    if (o->lip_iters > 0 && !o->flow && !(t->lip = calloc(n, sizeof *t->lip)))
        bad = 1;
    if (o->keep_params) {
        size_t cnt;
        if (no_mul_size(n, t->K, &cnt) || !(t->params = calloc(cnt, sizeof *t->params)))
            bad = 1;
    }
    if (bad)
        ref_train_traj_clear(t);
    return bad ? -1 : 0;
}

static void to_double(const records *r, ref_train_traj *t)
{
    for (size_t n = 0; n < r->n; n++) {
        t->F[n] = mpfr_get_d(r->F[n], MPFR_RNDN);
        t->gnorm2[n] = mpfr_get_d(r->g2[n], MPFR_RNDN);
        t->theta_norm[n] = mpfr_get_d(r->tn[n], MPFR_RNDN);
        t->theta_dist[n] = mpfr_get_d(r->td[n], MPFR_RNDN);
    }
}

static double default_tol(const ref_train_opts *o)
{
    return o->flow_tol > 0 ? o->flow_tol : ldexp(1, -40);
}

int ref_train_run(const no_problem *p, long prec, const ref_train_opts *o, ref_train_traj *t,
                  char *err, size_t len)
{
    memset(t, 0, sizeof *t);
    if (check_opts(p, prec, o, err, len))
        return -1;
    if (traj_alloc(t, p, prec, o, 0))
        return no_errorf(err, len, "out of memory for the training run");
    records rec;
    if (one_run(p, prec, o, 1, default_tol(o), &rec, t->params, t->lip, t, err, len)) {
        ref_train_traj_clear(t);
        return -1;
    }
    to_double(&rec, t);
    records_clear(&rec);
    return 0;
}

int ref_train_certify(const no_problem *p, long prec, const ref_train_opts *o,
                      ref_train_traj *t, char *err, size_t len)
{
    memset(t, 0, sizeof *t);
    if (check_opts(p, prec, o, err, len))
        return -1;
    if (traj_alloc(t, p, prec, o, 1))
        return no_errorf(err, len, "out of memory for the training run");
    long guard = prec / 2 > 32 ? prec / 2 : 32;
    double tol = default_tol(o);
    records lo, hi;
    /* the progress of both runs: the first half, then the second */
    ref_train_opts o2 = *o;
    if (one_run(p, prec, o, 1, tol, &lo, NULL, t->lip, t, err, len)) {
        ref_train_traj_clear(t);
        return -1;
    }
    size_t acc = t->flow_accepted, rej = t->flow_rejected;
    o2.hook = NULL;
    o2.lip_iters = 0;
    if (one_run(p, prec + guard, &o2, 0, ldexp(tol, -10), &hi, t->params, NULL, t, err, len)) {
        records_clear(&lo);
        ref_train_traj_clear(t);
        return -1;
    }
    t->flow_accepted = acc;
    t->flow_rejected = rej;
    to_double(&hi, t);
    for (size_t n = 0; n <= o->steps; n++)
        t->F_bits[n] = ref_correct_bits(lo.F[n], hi.F[n], (mpfr_prec_t)prec);
    records_clear(&lo);
    records_clear(&hi);
    return 0;
}
