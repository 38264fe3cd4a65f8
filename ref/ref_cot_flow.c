/* ref_cot_flow.c - the COT particle flow in MPFR by extrapolation
 * (ref_cot_flow.h, proofs-notes/cot-flow.md). */
#include "ref_cot_flow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

/* Gragg-Bulirsch-Stoer with the step numbers n_j = 2 (j + 1), j < GBS_COLS:
 * the diagonal entry is of order 2 GBS_COLS = 16, its neighbour (the error
 * estimate) of order 14.  A high order makes a 2^-96 local target cost
 * tens, not thousands, of macro steps (proofs-notes/cot-flow.md section 2). */
#define GBS_COLS 8
#define GBS_MAX_STEPS 200000

typedef struct {
    ref_model m;
    mpfr_prec_t prec;
    size_t K, n; /* parameters; n = K + 2 with E and ell */
    int np;
    ref_array *par[NO_MAX_PARAMS];
    const char *gname[NO_MAX_PARAMS];
    mpfr_t w, c, acc, s;
} state;

static void state_clear(state *st)
{
    mpfr_clears(st->w, st->c, st->acc, st->s, (mpfr_ptr)0);
    ref_model_clear(&st->m);
}

static int state_init(state *st, const no_problem *p, mpfr_prec_t prec, double vscale, char *err,
                      size_t len)
{
    memset(st, 0, sizeof *st);
    if (ref_model_init(&st->m, p, prec, err, len))
        return -1;
    st->prec = prec;
    mpfr_inits2(prec, st->w, st->c, st->acc, st->s, (mpfr_ptr)0);
    st->K = ref_param_table(&st->m, &st->np, st->par, st->gname);
    st->n = st->K + 2;
    /* the metric weight h / M (mlp) or h (the other families, GD residual only) */
    mpfr_set_ui(st->w, (unsigned long)p->spec.L, MPFR_RNDN);
    if (p->spec.scaling == NO_SCALING_SQRT)
        mpfr_rec_sqrt(st->w, st->w, MPFR_RNDN);
    else
        mpfr_ui_div(st->w, 1, st->w, MPFR_RNDN);
    if (p->spec.family == NO_FAMILY_MLP)
        mpfr_div_ui(st->w, st->w, (unsigned long)p->spec.M, MPFR_RNDN);
    mpfr_set_d(st->c, vscale, MPFR_RNDN);
    return 0;
}

static void load(state *st, mpfr_t *x)
{
    size_t k = 0;
    for (int i = 0; i < st->np; i++)
        for (size_t e = 0; e < st->par[i]->n; e++, k++)
            mpfr_set(st->par[i]->v[e], x[k], MPFR_RNDN);
}

/* The augmented field at x (only x[0..K) is read): f = (-c G, c^2 |G|^2,
 * |c| |G|), |G|^2 = w sum G^2 into g2 and the loss into F. */
static int eval(state *st, mpfr_t *x, mpfr_t *f, mpfr_t F, mpfr_t g2, char *err, size_t len)
{
    load(st, x);
    ref_result r;
    if (ref_run(&st->m, &r, err, len))
        return -1;
    size_t k = 0;
    mpfr_set_zero(st->acc, 1);
    for (int i = 0; i < st->np; i++) {
        const ref_array *g = ref_result_get(&r, st->gname[i]);
        for (size_t e = 0; e < g->n; e++, k++) {
            mpfr_fma(st->acc, g->v[e], g->v[e], st->acc, MPFR_RNDN);
            mpfr_mul(f[k], g->v[e], st->c, MPFR_RNDN);
            mpfr_neg(f[k], f[k], MPFR_RNDN);
        }
    }
    mpfr_set(F, ref_result_get(&r, "loss")->v[0], MPFR_RNDN);
    ref_result_clear(&r);
    mpfr_mul(g2, st->acc, st->w, MPFR_RNDN);
    mpfr_sqr(st->s, st->c, MPFR_RNDN);
    mpfr_mul(f[st->K], g2, st->s, MPFR_RNDN);
    mpfr_sqrt(f[st->K + 1], g2, MPFR_RNDN);
    mpfr_abs(st->s, st->c, MPFR_RNDN);
    mpfr_mul(f[st->K + 1], f[st->K + 1], st->s, MPFR_RNDN);
    return 0;
}

/* out = w sum_{k<K} (x_k - y_k)^2 + (the E and ell parts when all) (y NULL: 0). */
static void norm_sq(state *st, mpfr_t out, mpfr_t *x, mpfr_t *y, int all)
{
    mpfr_set_zero(st->acc, 1);
    for (size_t k = 0; k < st->K; k++) {
        if (y)
            mpfr_sub(st->s, x[k], y[k], MPFR_RNDN);
        else
            mpfr_set(st->s, x[k], MPFR_RNDN);
        mpfr_fma(st->acc, st->s, st->s, st->acc, MPFR_RNDN);
    }
    mpfr_mul(out, st->acc, st->w, MPFR_RNDN);
    for (size_t k = st->K; all && k < st->n; k++) {
        if (y)
            mpfr_sub(st->s, x[k], y[k], MPFR_RNDN);
        else
            mpfr_set(st->s, x[k], MPFR_RNDN);
        mpfr_fma(out, st->s, st->s, out, MPFR_RNDN);
    }
}

void ref_cot_flow_traj_clear(ref_cot_flow_traj *t)
{
    double **a[] = {&t->t,   &t->F,  &t->v2,     &t->energy, &t->resid,
                    &t->pl,  &t->pl_env, &t->length, &t->dist, &t->F_bits};
    for (size_t i = 0; i < sizeof a / sizeof *a; i++)
        free(*a[i]);
    memset(t, 0, sizeof *t);
}

static int traj_alloc(ref_cot_flow_traj *t, size_t records)
{
    memset(t, 0, sizeof *t);
    size_t n1 = records + 1;
    double **a[] = {&t->t, &t->F, &t->v2, &t->energy, &t->resid, &t->pl, &t->pl_env,
                    &t->length, &t->dist};
    for (size_t i = 0; i < sizeof a / sizeof *a; i++)
        if (!(*a[i] = calloc(n1, sizeof(double))))
            return -1;
    t->records = records;
    return 0;
}

/* The workspace of one run: the state y, its field f0, the midpoint
 * sequence z_prev, z and its field fz, two rows of the extrapolation table,
 * theta(0). */
enum { W_Y, W_F0, W_ZP, W_Z, W_FZ, W_TH0, W_FIXED };
#define W_COUNT (W_FIXED + 2 * GBS_COLS)

static int check_opts(const no_problem *p, long prec, const ref_cot_flow_opts *o, char *err,
                      size_t len)
{
    if (p->spec.family != NO_FAMILY_MLP)
        return no_errorf(err, len, "the COT flow is defined for the mlp family (particles "
                                   "theta_kj), not %s",
                         p->spec.family == NO_FAMILY_LINEAR ? "linear"
                         : p->spec.family == NO_FAMILY_RFF  ? "rff"
                                                            : "a kernel expansion");
    if (prec < REF_PREC_MIN || prec > REF_PREC_MAX)
        return no_errorf(err, len, "prec: expected %d..%d bits", REF_PREC_MIN, REF_PREC_MAX);
    if (!(o->T > 0) || !isfinite(o->T))
        return no_errorf(err, len, "time: expected a finite number > 0");
    if (o->records < 1 || o->records > 100000)
        return no_errorf(err, len, "records: expected 1..100000");
    if (o->tol < 0 || !isfinite(o->tol) || (o->tol > 0 && o->tol > 1e-3))
        return no_errorf(err, len, "tol: expected 0 (the default) or a number in (0, 1e-3]");
    if (!isfinite(o->vscale))
        return no_errorf(err, len, "vscale: not finite");
    return 0;
}

/* keepF (NULL: none): records + 1 numbers receiving F at full precision, for the bits. */
static int flow(const no_problem *p, long prec, const ref_cot_flow_opts *o, ref_cot_flow_traj *t,
                mpfr_t *keepF, char *err, size_t len)
{
    if (check_opts(p, prec, o, err, len))
        return -1;
    state st;
    double vs = o->vscale != 0 ? o->vscale : 1;
    if (state_init(&st, p, (mpfr_prec_t)prec, vs, err, len))
        return -1;
    if (traj_alloc(t, o->records)) {
        state_clear(&st);
        ref_cot_flow_traj_clear(t);
        return no_errorf(err, len, "out of memory for the COT flow");
    }
    t->prec = prec;
    t->T = o->T;
    double tol = o->tol > 0 ? o->tol : ldexp(1, -(int)(3 * prec / 4));
    size_t n = st.n;
    mpfr_t *v[W_COUNT];
    int rc = 0;
    for (int i = 0; i < W_COUNT; i++)
        if (!(v[i] = ref_vec_new(n, st.prec)))
            rc = -1;
    mpfr_t tt, target, hh, hs, F, F0, g2, e1, e2, q;
    mpfr_inits2(st.prec, tt, target, hh, hs, F, F0, g2, e1, e2, q, (mpfr_ptr)0);
    if (rc) {
        rc = no_errorf(err, len, "out of memory for the COT flow");
        goto done;
    }
    mpfr_t *y = v[W_Y], *f0 = v[W_F0], *th0 = v[W_TH0];
    mpfr_t **row[2] = {v + W_FIXED, v + W_FIXED + GBS_COLS};
    size_t k = 0;
    for (int i = 0; i < st.np; i++)
        for (size_t e = 0; e < st.par[i]->n; e++, k++) {
            mpfr_set(y[k], st.par[i]->v[e], MPFR_RNDN);
            mpfr_set(th0[k], st.par[i]->v[e], MPFR_RNDN);
        }
    if ((rc = eval(&st, y, f0, F0, g2, err, len)))
        goto done;
    mpfr_set(F, F0, MPFR_RNDN);
    t->evals = 1;
    double env = INFINITY;
    double H = fmin(o->T / (double)o->records, 1.0 / 16);
    mpfr_set_zero(tt, 1);
    for (size_t r = 0; r <= o->records && !rc; r++) {
        if (r > 0) {
            mpfr_set_d(target, o->T, MPFR_RNDN);
            mpfr_mul_ui(target, target, (unsigned long)r, MPFR_RNDN);
            mpfr_div_ui(target, target, (unsigned long)o->records, MPFR_RNDN);
        }
        while (r > 0 && mpfr_less_p(tt, target) && !rc) {
            if (t->accepted + t->rejected >= GBS_MAX_STEPS) {
                rc = no_errorf(err, len, "COT flow: more than %d steps (tolerance %g too "
                                         "small for this precision?)",
                               GBS_MAX_STEPS, tol);
                break;
            }
            mpfr_sub(hh, target, tt, MPFR_RNDN);
            int last = 1;
            if (mpfr_cmp_d(hh, H) > 0) {
                mpfr_set_d(hh, H, MPFR_RNDN);
                last = 0;
            }
            mpfr_t **prev = row[0], **cur = row[1];
            for (int j = 0; j < GBS_COLS && !rc; j++) {
                unsigned long nj = 2 * (unsigned long)(j + 1);
                mpfr_div_ui(hs, hh, nj, MPFR_RNDN);
                /* modified midpoint: z1 = y + hs f(y), z_{m+1} = z_{m-1} + 2 hs f(z_m);
                 * z_{n_j} has an error expansion in even powers of hs (Gragg) */
                mpfr_t *zp = v[W_ZP], *z = v[W_Z];
                for (size_t i = 0; i < n; i++) {
                    mpfr_set(zp[i], y[i], MPFR_RNDN);
                    mpfr_fma(z[i], hs, f0[i], y[i], MPFR_RNDN);
                }
                mpfr_mul_2ui(hs, hs, 1, MPFR_RNDN);
                for (unsigned long m = 1; m < nj; m++) {
                    if ((rc = eval(&st, z, v[W_FZ], e1, e2, err, len)))
                        break;
                    t->evals++;
                    for (size_t i = 0; i < n; i++)
                        mpfr_fma(zp[i], hs, v[W_FZ][i], zp[i], MPFR_RNDN);
                    mpfr_t *sw = zp;
                    zp = z;
                    z = sw;
                }
                if (rc)
                    break;
                for (size_t i = 0; i < n; i++)
                    mpfr_set(cur[0][i], z[i], MPFR_RNDN);
                /* Aitken-Neville in hs^2: T_{j,l} = T_{j,l-1} + (T_{j,l-1} - T_{j-1,l-1})
                 * (j-l+1)^2 / ((j+1)^2 - (j-l+1)^2) */
                for (int l = 1; l <= j; l++) {
                    unsigned long a = (unsigned long)(j - l + 1), b = (unsigned long)(j + 1);
                    mpfr_set_ui(q, a * a, MPFR_RNDN);
                    mpfr_div_ui(q, q, b * b - a * a, MPFR_RNDN);
                    for (size_t i = 0; i < n; i++) {
                        mpfr_sub(st.s, cur[l - 1][i], prev[l - 1][i], MPFR_RNDN);
                        mpfr_fma(cur[l][i], st.s, q, cur[l - 1][i], MPFR_RNDN);
                    }
                }
                mpfr_t **sw = prev;
                prev = cur;
                cur = sw;
            }
            if (rc)
                break;
            /* prev holds the last row: the order-16 value and the order-14 one */
            mpfr_t *y16 = prev[GBS_COLS - 1], *y14 = prev[GBS_COLS - 2];
            norm_sq(&st, e1, y16, y14, 1);
            mpfr_sqrt(e1, e1, MPFR_RNDN);
            norm_sq(&st, e2, y, NULL, 1);
            norm_sq(&st, q, y16, NULL, 1);
            mpfr_max(e2, e2, q, MPFR_RNDN);
            mpfr_sqrt(e2, e2, MPFR_RNDN);
            mpfr_add_ui(e2, e2, 1, MPFR_RNDN);
            mpfr_div(e1, e1, e2, MPFR_RNDN);
            double errn = mpfr_get_d(e1, MPFR_RNDU) / tol;
            if (!isfinite(errn)) {
                rc = no_errorf(err, len, "COT flow: the field is not finite at t = %g",
                               mpfr_get_d(tt, MPFR_RNDN));
                break;
            }
            double fac = errn > 0 ? 0.9 * pow(errn, -1.0 / (2 * GBS_COLS - 1)) : 4;
            fac = fmin(4, fmax(0.2, fac));
            double hd = mpfr_get_d(hh, MPFR_RNDN);
            if (errn <= 1) {
                for (size_t i = 0; i < n; i++)
                    mpfr_set(y[i], y16[i], MPFR_RNDN);
                mpfr_add(tt, tt, hh, MPFR_RNDN);
                if (last)
                    mpfr_set(tt, target, MPFR_RNDN); /* land exactly on the record time */
                if ((rc = eval(&st, y, f0, F, g2, err, len)))
                    break;
                t->evals++;
                t->accepted++;
                mpfr_div(q, g2, F, MPFR_RNDN);
                env = fmin(env, mpfr_get_d(q, MPFR_RNDD));
                /* a step shortened to land on a record does not shrink the next */
                if (!(last && hd * fac < H))
                    H = hd * fac;
            } else {
                t->rejected++;
                H = hd * fmin(fac, 0.5);
            }
        }
        if (rc)
            break;
        if (r == 0) {
            mpfr_div(q, g2, F, MPFR_RNDN);
            env = mpfr_get_d(q, MPFR_RNDD);
        }
        t->t[r] = mpfr_get_d(tt, MPFR_RNDN);
        t->F[r] = mpfr_get_d(F, MPFR_RNDN);
        if (keepF)
            mpfr_set(keepF[r], F, MPFR_RNDN);
        t->v2[r] = mpfr_get_d(f0[st.K], MPFR_RNDN);
        t->energy[r] = mpfr_get_d(y[st.K], MPFR_RNDN);
        /* the identity's residual before any rounding: F - F0 + E cancels */
        mpfr_sub(q, F, F0, MPFR_RNDN);
        mpfr_add(q, q, y[st.K], MPFR_RNDN);
        t->resid[r] = mpfr_get_d(q, MPFR_RNDN);
        mpfr_div(q, g2, F, MPFR_RNDN);
        t->pl[r] = mpfr_get_d(q, MPFR_RNDN);
        t->pl_env[r] = env;
        t->length[r] = mpfr_get_d(y[st.K + 1], MPFR_RNDN);
        norm_sq(&st, q, y, th0, 0);
        mpfr_sqrt(q, q, MPFR_RNDN);
        t->dist[r] = mpfr_get_d(q, MPFR_RNDN);
        if (o->progress)
            o->progress(o->progress_ctx, r + 1, o->records + 1);
    }
    if (!rc) {
        double ET = t->energy[o->records], mx = 0;
        for (size_t r = 0; r <= o->records; r++)
            mx = fmax(mx, fabs(t->resid[r]));
        t->resid_rel = ET > 0 ? mx / ET : 0;
    }
done:
    for (int i = 0; i < W_COUNT; i++)
        ref_vec_free(v[i], n);
    mpfr_clears(tt, target, hh, hs, F, F0, g2, e1, e2, q, (mpfr_ptr)0);
    state_clear(&st);
    if (rc)
        ref_cot_flow_traj_clear(t);
    return rc;
}

int ref_cot_flow_run(const no_problem *p, long prec, const ref_cot_flow_opts *o,
                     ref_cot_flow_traj *t, char *err, size_t len)
{
    memset(t, 0, sizeof *t);
    return flow(p, prec, o, t, NULL, err, len);
}

int ref_cot_flow_certify(const no_problem *p, long prec, const ref_cot_flow_opts *o,
                         ref_cot_flow_traj *t, char *err, size_t len)
{
    memset(t, 0, sizeof *t);
    ref_cot_flow_traj lo;
    ref_cot_flow_opts oh = *o;
    long hi = prec + (prec / 2 > 32 ? prec / 2 : 32);
    if (hi > REF_PREC_MAX)
        hi = REF_PREC_MAX;
    size_t n1 = o->records + 1;
    /* the two runs' F at the higher precision: bits beyond a double's are measured */
    mpfr_t *Flo = ref_vec_new(n1, (mpfr_prec_t)hi), *Fhi = ref_vec_new(n1, (mpfr_prec_t)hi);
    mpfr_t d;
    mpfr_init2(d, (mpfr_prec_t)hi);
    int rc = 0;
    if (!Flo || !Fhi) {
        rc = no_errorf(err, len, "out of memory for the COT flow");
        goto done;
    }
    if ((rc = flow(p, prec, o, &lo, Flo, err, len)))
        goto done;
    ref_cot_flow_traj_clear(&lo);
    double tol = o->tol > 0 ? o->tol : ldexp(1, -(int)(3 * prec / 4));
    oh.tol = tol / 1024;
    oh.progress = NULL;
    if ((rc = flow(p, hi, &oh, t, Fhi, err, len)))
        goto done;
    t->prec = prec;
    if (!(t->F_bits = calloc(n1, sizeof(double)))) {
        ref_cot_flow_traj_clear(t);
        rc = no_errorf(err, len, "out of memory for the COT flow");
        goto done;
    }
    /* as ref_train_certify: -log2 |F_p - F_hi| / |F_hi|, rounded down, minus one */
    for (size_t r = 0; r < n1; r++) {
        mpfr_sub(d, Flo[r], Fhi[r], MPFR_RNDN);
        mpfr_div(d, d, Fhi[r], MPFR_RNDN);
        mpfr_abs(d, d, MPFR_RNDN);
        double b = (double)prec;
        if (!mpfr_zero_p(d)) {
            mpfr_log2(d, d, MPFR_RNDN);
            b = floor(-mpfr_get_d(d, MPFR_RNDN)) - 1;
        }
        t->F_bits[r] = fmax(0, fmin((double)prec, b));
    }
done:
    ref_vec_free(Flo, n1);
    ref_vec_free(Fhi, n1);
    mpfr_clear(d);
    return rc;
}

int ref_cot_flow_gd_residual(const no_problem *p, long prec, const double *eta, size_t k,
                             double *resid, char *err, size_t len)
{
    if (prec < REF_PREC_MIN || prec > REF_PREC_MAX)
        return no_errorf(err, len, "prec: expected %d..%d bits", REF_PREC_MIN, REF_PREC_MAX);
    state st;
    if (state_init(&st, p, (mpfr_prec_t)prec, 1, err, len))
        return -1;
    mpfr_t *th = ref_vec_new(st.n, st.prec), *f = ref_vec_new(st.n, st.prec),
           *x = ref_vec_new(st.n, st.prec);
    mpfr_t F, Fx, g2, me;
    mpfr_inits2(st.prec, F, Fx, g2, me, (mpfr_ptr)0);
    int rc = 0;
    if (!th || !f || !x) {
        rc = no_errorf(err, len, "out of memory for the GD residual");
        goto done;
    }
    size_t c = 0;
    for (int i = 0; i < st.np; i++)
        for (size_t e = 0; e < st.par[i]->n; e++, c++)
            mpfr_set(th[c], st.par[i]->v[e], MPFR_RNDN);
    if ((rc = eval(&st, th, f, F, g2, err, len)))
        goto done;
    for (size_t i = 0; i < k && !rc; i++) {
        if (!(eta[i] > 0) || !isfinite(eta[i])) {
            rc = no_errorf(err, len, "eta: expected finite numbers > 0");
            break;
        }
        /* f = -G (c = 1): x = theta - eta G */
        mpfr_set_d(me, eta[i], MPFR_RNDN);
        for (size_t j = 0; j < st.K; j++)
            mpfr_fma(x[j], me, f[j], th[j], MPFR_RNDN);
        load(&st, x);
        if (ref_loss(&st.m, Fx)) {
            rc = no_errorf(err, len, "out of memory for the GD residual");
            break;
        }
        mpfr_sub(Fx, Fx, F, MPFR_RNDN);
        mpfr_fma(Fx, me, g2, Fx, MPFR_RNDN);
        resid[i] = mpfr_get_d(Fx, MPFR_RNDN);
    }
done:
    ref_vec_free(th, st.n);
    ref_vec_free(f, st.n);
    ref_vec_free(x, st.n);
    mpfr_clears(F, Fx, g2, me, (mpfr_ptr)0);
    state_clear(&st);
    return rc;
}
