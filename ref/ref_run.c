/* ref_run.c - forward pass over layers, adjoint over layers, gradients and
 * metric gradients (SPEC 1 and 3; proofs-notes/conventions.md).
 *
 * Layer-major order: every point's substep states are stored during the
 * forward pass; the backward pass walks the layers from L-1 to 0 and, within
 * a layer, each point through its substeps.  A layer's gradient is the exact
 * (mpfr_sum) sum over points of per-point contributions, so the result does
 * not depend on the order of the data points: permuting them permutes the
 * per-point outputs and leaves loss and gradients bit-identical. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

/* Everything one run allocates, in one place. */
typedef struct {
    const ref_model *m;
    ref_stepper st;
    ref_array sub;      /* (nsteps + 1) x N x D states at every step of the grid */
    ref_array contrib;  /* N x P: per point gradient contributions of one layer */
    ref_array p;        /* N x D current adjoint */
    ref_array yhat;     /* N x d_out outputs B z_L */
    ref_array r;        /* N x d_out residuals B z_L - y */
    ref_array perloss;  /* N: |B z_L - y|^2 per point */
    mpfr_ptr *terms;    /* N pointers for mpfr_sum */
    double work;        /* layers of all points in all passes, for progress */
} run_ws;

static void ws_clear(run_ws *w)
{
    ref_stepper_clear(&w->st);
    ref_array_clear(&w->sub);
    ref_array_clear(&w->contrib);
    ref_array_clear(&w->p);
    ref_array_clear(&w->yhat);
    ref_array_clear(&w->r);
    ref_array_clear(&w->perloss);
    free(w->terms);
    w->terms = NULL;
}

static int ws_init(run_ws *w, const ref_model *m, int with_adjoint)
{
    const no_spec *s = &m->spec;
    memset(w, 0, sizeof *w);
    w->m = m;
    /* A point's adjoint layer costs about two of its forward layers. */
    w->work = (double)s->N * (double)s->L * (with_adjoint ? 3 : 1);
    size_t P = ref_layer_param_count(s);
    size_t sub[3] = {m->nsteps + 1, s->N, s->D}, cp[2] = {s->N, with_adjoint ? P : 1};
    size_t pd[2] = {s->N, s->D}, rd[2] = {s->N, s->d_out}, nl[1] = {s->N};
    int bad = ref_stepper_init(&w->st, m);
    if (bad) /* the stepper cleans up after itself */
        return -1;
    bad = ref_array_init(&w->sub, "sub", 3, sub, m->prec) ||
          ref_array_init(&w->contrib, "contrib", 2, cp, m->prec) ||
          ref_array_init(&w->p, "p", 2, pd, m->prec) ||
          ref_array_init(&w->yhat, "yhat", 2, rd, m->prec) ||
          ref_array_init(&w->r, "r", 2, rd, m->prec) ||
          ref_array_init(&w->perloss, "perloss", 1, nl, m->prec) ||
          !(w->terms = malloc(s->N * sizeof(mpfr_ptr)));
    if (bad) {
        ws_clear(w);
        return -1;
    }
    return 0;
}

static mpfr_t *sub_state(run_ws *w, size_t t, size_t i)
{
    const no_spec *s = &w->m->spec;
    return w->sub.v + (t * s->N + i) * s->D;
}

/* The caller's progress hook (ref_model.progress): done of w->work. */
static void report(const run_ws *w, const char *pass, size_t k, double done)
{
    const ref_progress *pr = &w->m->progress;
    if (pr->fn)
        pr->fn(pr->ctx, pass, k, w->m->spec.L, done / w->work);
}

/* z_0 = A x, then L layers of m substeps; residuals and per-point losses. */
static void forward(run_ws *w)
{
    const ref_model *m = w->m;
    const no_spec *s = &m->spec;
    mpfr_ptr *px = w->st.fw.px, *py = w->st.fw.py;
    for (size_t i = 0; i < s->N; i++) {
        mpfr_t *z = sub_state(w, 0, i);
        for (size_t r = 0; r < s->D; r++)
            ref_dot(z[r], m->A.v + r * s->d_in, 1, m->X.v + i * s->d_in, 1, s->d_in, px, py);
        for (size_t k = 0; k < s->L; k++) {
            for (size_t t = m->first[k]; t < m->first[k + 1]; t++) {
                mpfr_t *from = sub_state(w, t, i), *to = sub_state(w, t + 1, i);
                for (size_t c = 0; c < s->D; c++)
                    mpfr_set(to[c], from[c], MPFR_RNDN);
                ref_step(&w->st, k, m->tau[t], to, +1);
            }
            report(w, "forward", k, (double)i * s->L + k + 1);
        }
        mpfr_t *zL = sub_state(w, m->nsteps, i), *res = w->r.v + i * s->d_out;
        mpfr_t *yh = w->yhat.v + i * s->d_out;
        for (size_t o = 0; o < s->d_out; o++) {
            ref_dot(yh[o], m->B.v + o * s->D, 1, zL, 1, s->D, px, py);
            mpfr_sub(res[o], yh[o], m->Y.v[i * s->d_out + o], MPFR_RNDN);
        }
        ref_dot(w->perloss.v[i], res, 1, res, 1, s->d_out, px, py);
    }
}

/* The loss is F = sum_i |B z_L^i - y^i|^2 / den: den = 2N (the contract),
 * 2 (variant loss_sum: the 1/N missing), N (loss_no_half) or N d_out
 * (loss_mean_all: the mean over all N d_out squared errors). */
static unsigned long loss_den(const ref_model *m)
{
    unsigned long N = (unsigned long)m->spec.N;
    if (m->variant.loss_mean_all)
        return N * (unsigned long)m->spec.d_out;
    return m->variant.loss_sum ? 2 : m->variant.loss_no_half ? N : 2 * N;
}

/* F, the sum exact-then-rounded. */
static void loss_total(run_ws *w, mpfr_t F)
{
    size_t N = w->m->spec.N;
    for (size_t i = 0; i < N; i++)
        w->terms[i] = w->perloss.v[i];
    mpfr_sum(F, w->terms, N, MPFR_RNDN);
    mpfr_div_ui(F, F, loss_den(w->m), MPFR_RNDN);
}

/* p_L = dF/dz_L = (2/den) B^T (B z_L - y): (1/N) B^T r for the contract;
 * negated under the variant residual_flip. */
static void adjoint_start(run_ws *w)
{
    const no_spec *s = &w->m->spec;
    for (size_t i = 0; i < s->N; i++)
        for (size_t c = 0; c < s->D; c++) {
            mpfr_t *pc = w->p.v + i * s->D + c;
            ref_dot(*pc, w->m->B.v + c, s->D, w->r.v + i * s->d_out, 1, s->d_out,
                    w->st.fw.px, w->st.fw.py);
            mpfr_mul_2ui(*pc, *pc, 1, MPFR_RNDN);
            mpfr_div_ui(*pc, *pc, loss_den(w->m), MPFR_RNDN);
            if (w->m->variant.residual_flip)
                mpfr_neg(*pc, *pc, MPFR_RNDN);
        }
}

static void copy_block(mpfr_t *dst, mpfr_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mpfr_set(dst[i], src[i], MPFR_RNDN);
}

/* Layer k's gradient: sum over points of contributions, split into the
 * family's parameter arrays (concatenated layout of ref_field_family.vjp). */
static void layer_gradient(run_ws *w, size_t k, ref_array *grad[], int np)
{
    const no_spec *s = &w->m->spec;
    size_t P = ref_layer_param_count(s), off = 0;
    for (int a = 0; a < np; a++) {
        size_t per = grad[a]->n / s->L;
        for (size_t e = 0; e < per; e++) {
            for (size_t i = 0; i < s->N; i++)
                w->terms[i] = w->contrib.v[i * P + off + e];
            mpfr_sum(grad[a]->v[k * per + e], w->terms, s->N, MPFR_RNDN);
        }
        off += per;
    }
}

/* The adjoint of the spec's kind, layer L-1 down to 0 (adjoint[k] = p at the
 * boundary z_k).  discrete: each substep from its stored start state z_t;
 * continuous: from its stored end state z_{t+1} (re-anchored every substep);
 * backsolve: from the state carried backward from z_L, never re-anchored
 * (backsolve-adjoint.md).  The backsolve state lives in w->sub itself: step
 * t overwrites the stored z_t with its reconstruction from z_{t+1}, which
 * was written by the step after it (the last layer's first step starts from
 * the forward z_L), so the carry crosses layer boundaries by construction.
 * The forward states are no longer needed then: ref_run copied the `states`
 * output before the backward pass. */
static void backward(run_ws *w, ref_array *adj, ref_array *grad[], int np)
{
    const no_spec *s = &w->m->spec;
    size_t P = ref_layer_param_count(s), ND = s->N * s->D;
    copy_block(adj->v + s->L * ND, w->p.v, ND);
    for (size_t k = s->L; k-- > 0;) {
        for (size_t e = 0; e < s->N * P; e++)
            mpfr_set_zero(w->contrib.v[e], 1);
        for (size_t i = 0; i < s->N; i++) {
            mpfr_t *p = w->p.v + i * s->D, *g = w->contrib.v + i * P;
            const ref_model *m = w->m;
            for (size_t t = m->first[k + 1]; t-- > m->first[k];) {
                if (s->adjoint == NO_ADJOINT_CONTINUOUS) {
                    ref_step_adjoint_continuous(&w->st, k, m->tau[t], sub_state(w, t + 1, i),
                                                p, g);
                } else if (s->adjoint == NO_ADJOINT_BACKSOLVE) {
                    copy_block(sub_state(w, t, i), sub_state(w, t + 1, i), s->D);
                    ref_step_adjoint_backsolve(&w->st, k, m->tau[t], sub_state(w, t, i), p, g);
                } else
                    ref_step_adjoint(&w->st, k, m->tau[t], sub_state(w, t, i), p, g);
            }
        }
        copy_block(adj->v + k * ND, w->p.v, ND);
        layer_gradient(w, k, grad, np);
        report(w, "backward", k, (double)s->N * s->L * (1 + 2 * (double)(s->L - k) / s->L));
    }
}

/* The metric factor of SPEC 3: 1/h = L (ode) or sqrt(L) (sqrt), times M for mlp. */
static void metric_factor(const no_spec *s, mpfr_t f)
{
    mpfr_set_ui(f, (unsigned long)s->L, MPFR_RNDN);
    if (s->scaling == NO_SCALING_SQRT)
        mpfr_sqrt(f, f, MPFR_RNDN);
    if (s->family == NO_FAMILY_MLP)
        mpfr_mul_ui(f, f, (unsigned long)s->M, MPFR_RNDN);
}

static int result_init(ref_result *res, const no_spec *s, mpfr_prec_t prec)
{
    memset(res, 0, sizeof *res);
    res->prec = prec;
    no_array lay[NO_MAX_ARRAYS];
    int n = no_outputs_layout(s, lay);
    for (int i = 0; i < n; i++) {
        if (ref_array_init(&res->a[i], lay[i].name, lay[i].ndim, lay[i].shape, prec)) {
            ref_result_clear(res);
            return -1;
        }
        res->count++;
    }
    return 0;
}

static ref_array *result_find(ref_result *res, const char *name)
{
    for (int i = 0; i < res->count; i++)
        if (!strcmp(res->a[i].name, name))
            return &res->a[i];
    return NULL;
}

int ref_run(const ref_model *m, ref_result *res, char *err, size_t len)
{
    const no_spec *s = &m->spec;
    run_ws w;
    if (result_init(res, s, m->prec) || ws_init(&w, m, 1)) {
        ref_result_clear(res);
        snprintf(err, len, "out of memory in the reference run");
        return -1;
    }
    forward(&w);
    ref_array *states = result_find(res, "states"), *out = result_find(res, "output");
    for (size_t k = 0; k <= s->L; k++)
        copy_block(states->v + k * s->N * s->D, sub_state(&w, m->first[k], 0), s->N * s->D);
    copy_block(out->v, w.yhat.v, s->N * s->d_out);
    loss_total(&w, result_find(res, "loss")->v[0]);

    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    ref_array *grad[NO_MAX_PARAMS], *mgrad[NO_MAX_PARAMS];
    for (int a = 0; a < np; a++) {
        char name[NO_NAME_LEN];
        snprintf(name, sizeof name, "grad_%s", pi[a].name);
        grad[a] = result_find(res, name);
        snprintf(name, sizeof name, "mgrad_%s", pi[a].name);
        mgrad[a] = result_find(res, name);
    }
    adjoint_start(&w);
    backward(&w, result_find(res, "adjoint"), grad, np);

    mpfr_t f;
    mpfr_init2(f, m->prec);
    metric_factor(s, f);
    for (int a = 0; a < np; a++)
        for (size_t e = 0; e < grad[a]->n; e++)
            mpfr_mul(mgrad[a]->v[e], grad[a]->v[e], f, MPFR_RNDN);
    mpfr_clear(f);
    ws_clear(&w);
    return 0;
}

int ref_loss(const ref_model *m, mpfr_t loss)
{
    run_ws w;
    if (ws_init(&w, m, 0))
        return -1;
    forward(&w);
    loss_total(&w, loss);
    ws_clear(&w);
    return 0;
}

int ref_flow(const ref_model *m, mpfr_t *Z, int reverse)
{
    const no_spec *s = &m->spec;
    ref_stepper st;
    if (ref_stepper_init(&st, m))
        return -1;
    for (size_t i = 0; i < s->N; i++)
        for (size_t kk = 0; kk < s->L; kk++) {
            size_t k = reverse ? s->L - 1 - kk : kk;
            for (size_t n = m->first[k]; n < m->first[k + 1]; n++) {
                size_t t = reverse ? m->first[k + 1] - 1 - (n - m->first[k]) : n;
                ref_step(&st, k, m->tau[t], Z + i * s->D, reverse ? -1 : +1);
            }
        }
    ref_stepper_clear(&st);
    return 0;
}

void ref_result_clear(ref_result *res)
{
    for (int i = 0; i < res->count; i++)
        ref_array_clear(&res->a[i]);
    res->count = 0;
}

const ref_array *ref_result_get(const ref_result *res, const char *name)
{
    return result_find((ref_result *)res, name);
}

int ref_result_to_double(const ref_result *res, no_arrays *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < res->count; i++) {
        const ref_array *a = &res->a[i];
        no_array *d = no_arrays_add(out, a->name, a->ndim, a->shape);
        if (!d) {
            no_arrays_free(out);
            return -1;
        }
        for (size_t e = 0; e < a->n; e++)
            d->v[e] = mpfr_get_d(a->v[e], MPFR_RNDN);
    }
    return 0;
}
