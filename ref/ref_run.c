/* ref_run.c - forward pass over layers, adjoint over layers, gradients and
 * metric gradients (SPEC 1 and 3; proofs-notes/conventions.md).
 *
 * Layer-major order: every point's substep states are stored during the
 * forward pass; the backward pass walks the layers from L-1 to 0 and, within
 * a layer, each point through its substeps.  A layer's gradient is the exact
 * (mpfr_sum) sum over points of per-point contributions, so the result does
 * not depend on the order of the data points: permuting them permutes the
 * per-point outputs and leaves loss and gradients bit-identical.
 *
 * One run over points [i0, i1) (run_points) serves ref_run, all points with
 * every sum rounded into the result, and ref_run_part, a range of points
 * with every sum kept exact in a ref_part, for a run split across processes:
 * ref_part_finish rounds the sum of the parts' exact sums once, which is the
 * rounding of the same exact total (proofs-notes/ref-split.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

/* Everything one run allocates, in one place.  It runs the n points
 * i0 .. i0 + n - 1 (all N for ref_run); local point j is point i0 + j. */
typedef struct {
    const ref_model *m;
    size_t i0, n;       /* the points run */
    ref_part *part;     /* NULL: sums rounded into the result; else kept exact here */
    ref_stepper st;
    ref_array sub;      /* (nsteps + 1) x n x D states at every step of the grid */
    ref_array contrib;  /* n x P: per point gradient contributions of one layer */
    ref_array p;        /* n x D current adjoint */
    ref_array yhat;     /* n x d_out outputs B z_L */
    ref_array r;        /* n x d_out residuals B z_L - y */
    ref_array perloss;  /* n: |B z_L - y|^2 per point */
    mpfr_ptr *terms;    /* n pointers for mpfr_sum */
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

static int ws_init(run_ws *w, const ref_model *m, size_t i0, size_t i1, int with_adjoint)
{
    const no_spec *s = &m->spec;
    memset(w, 0, sizeof *w);
    w->m = m;
    w->i0 = i0;
    w->n = i1 - i0;
    size_t n = w->n;
    /* A point's adjoint layer costs about two of its forward layers. */
    w->work = (double)n * (double)s->L * (with_adjoint ? 3 : 1);
    size_t P = ref_layer_param_count(s);
    size_t sub[3] = {m->nsteps + 1, n, s->D}, cp[2] = {n, with_adjoint ? P : 1};
    size_t pd[2] = {n, s->D}, rd[2] = {n, s->d_out}, nl[1] = {n};
    int bad = ref_stepper_init(&w->st, m);
    if (bad) /* the stepper cleans up after itself */
        return -1;
    bad = ref_array_init(&w->sub, "sub", 3, sub, m->prec) ||
          ref_array_init(&w->contrib, "contrib", 2, cp, m->prec) ||
          ref_array_init(&w->p, "p", 2, pd, m->prec) ||
          ref_array_init(&w->yhat, "yhat", 2, rd, m->prec) ||
          ref_array_init(&w->r, "r", 2, rd, m->prec) ||
          ref_array_init(&w->perloss, "perloss", 1, nl, m->prec) ||
          !(w->terms = malloc((n ? n : 1) * sizeof(mpfr_ptr)));
    if (bad) {
        ws_clear(w);
        return -1;
    }
    return 0;
}

/* The state of local point j at step t of the grid. */
static mpfr_t *sub_state(run_ws *w, size_t t, size_t j)
{
    return w->sub.v + (t * w->n + j) * w->m->spec.D;
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
    ref_dot_ws *dw = &w->st.fw.dot;
    for (size_t j = 0; j < w->n; j++) {
        size_t i = w->i0 + j; /* the data point */
        mpfr_t *z = sub_state(w, 0, j);
        for (size_t r = 0; r < s->D; r++)
            ref_dot(z[r], m->A.v + r * s->d_in, 1, m->X.v + i * s->d_in, 1, s->d_in, dw);
        for (size_t k = 0; k < s->L; k++) {
            for (size_t t = m->first[k]; t < m->first[k + 1]; t++) {
                mpfr_t *from = sub_state(w, t, j), *to = sub_state(w, t + 1, j);
                for (size_t c = 0; c < s->D; c++)
                    mpfr_set(to[c], from[c], MPFR_RNDN);
                ref_step(&w->st, k, m->tau[t], to, +1);
            }
            report(w, "forward", k, (double)j * s->L + k + 1);
        }
        mpfr_t *zL = sub_state(w, m->nsteps, j), *res = w->r.v + j * s->d_out;
        mpfr_t *yh = w->yhat.v + j * s->d_out;
        for (size_t o = 0; o < s->d_out; o++) {
            ref_dot(yh[o], m->B.v + o * s->D, 1, zL, 1, s->D, dw);
            mpfr_sub(res[o], yh[o], m->Y.v[i * s->d_out + o], MPFR_RNDN);
        }
        ref_dot(w->perloss.v[j], res, 1, res, 1, s->d_out, dw);
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

/* rop = the exact sum of n terms: rop's precision is set to hold it (the
 * terms may have any precisions), then trimmed to the bits it has.  Every
 * nonzero term is an integer multiple of 2^lo (lo: the least exponent of a
 * bit it has) below 2^hi in magnitude, so the sum is a multiple of 2^lo
 * below n 2^hi <= 2^(hi + ceil(log2 n)): hi + ceil(log2 n) - lo bits hold
 * it.  mpfr_sum's ternary value 0 confirms that nothing was rounded.  An
 * exact zero has mpfr_sum's sign (-0 only when every term is -0); a NaN or
 * an infinity among the terms gives mpfr_sum's NaN or infinity.  0, or -1:
 * the sum would need more than MPFR_PREC_MAX bits (terms of wildly
 * different exponents) or overflows MPFR's exponent range. */
static int exact_sum(mpfr_ptr rop, mpfr_ptr *terms, size_t n)
{
    mpfr_exp_t hi = 0, lo = 0;
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!mpfr_regular_p(terms[i]))
            continue;
        mpfr_exp_t e = mpfr_get_exp(terms[i]), low = e - (mpfr_exp_t)mpfr_min_prec(terms[i]);
        if (!any || e > hi)
            hi = e;
        if (!any || low < lo)
            lo = low;
        any = 1;
    }
    mpfr_prec_t prec = MPFR_PREC_MIN;
    if (any) {
        unsigned long bits = (unsigned long)hi - (unsigned long)lo, logn = 0;
        while (logn < 64 && ((size_t)1 << logn) < n)
            logn++;
        if (bits > (unsigned long)MPFR_PREC_MAX - logn)
            return -1;
        prec = (mpfr_prec_t)(bits + logn);
        if (prec < MPFR_PREC_MIN)
            prec = MPFR_PREC_MIN;
    }
    mpfr_set_prec(rop, prec);
    if (mpfr_sum(rop, terms, n, MPFR_RNDN) != 0)
        return -1;
    ref_trim_prec(rop);
    return 0;
}

/* A sum over the run's points: rounded into rop at its precision (ref_run:
 * mpfr_sum, the exact sum rounded once) or, for a part, exact into exact. */
static int point_sum(run_ws *w, mpfr_ptr rop, mpfr_ptr exact, size_t n)
{
    if (!w->part) {
        mpfr_sum(rop, w->terms, n, MPFR_RNDN);
        return 0;
    }
    return exact_sum(exact, w->terms, n);
}

/* The sum over the points of |B z_L - y|^2 (F before its division by den). */
static int loss_sum(run_ws *w, mpfr_ptr rop)
{
    for (size_t j = 0; j < w->n; j++)
        w->terms[j] = w->perloss.v[j];
    return point_sum(w, rop, w->part ? w->part->loss_sum : NULL, w->n);
}

/* p_L = dF/dz_L = (2/den) B^T (B z_L - y): (1/N) B^T r for the contract;
 * negated under the variant residual_flip. */
static void adjoint_start(run_ws *w)
{
    const no_spec *s = &w->m->spec;
    for (size_t j = 0; j < w->n; j++)
        for (size_t c = 0; c < s->D; c++) {
            mpfr_t *pc = w->p.v + j * s->D + c;
            ref_dot(*pc, w->m->B.v + c, s->D, w->r.v + j * s->d_out, 1, s->d_out,
                    &w->st.fw.dot);
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
 * family's parameter arrays (concatenated layout of ref_field_family.vjp).
 * A part keeps the arrays' entries concatenated in part->grad (ref.h). */
static int layer_gradient(run_ws *w, size_t k, ref_array *grad[], int np)
{
    const no_spec *s = &w->m->spec;
    size_t P = ref_layer_param_count(s), off = 0, gbase = 0;
    for (int a = 0; a < np; a++) {
        size_t per = grad[a]->n / s->L;
        for (size_t e = 0; e < per; e++) {
            for (size_t j = 0; j < w->n; j++)
                w->terms[j] = w->contrib.v[j * P + off + e];
            size_t at = k * per + e;
            if (point_sum(w, grad[a]->v[at], w->part ? w->part->grad[gbase + at] : NULL, w->n))
                return -1;
        }
        off += per;
        gbase += grad[a]->n;
    }
    return 0;
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
static int backward(run_ws *w, ref_array *adj, ref_array *grad[], int np)
{
    const no_spec *s = &w->m->spec;
    size_t P = ref_layer_param_count(s), ND = s->N * s->D, nD = w->n * s->D;
    mpfr_t *rows = adj->v + w->i0 * s->D; /* adjoint[k] of the run's points: rows + k ND */
    copy_block(rows + s->L * ND, w->p.v, nD);
    for (size_t k = s->L; k-- > 0;) {
        for (size_t e = 0; e < w->n * P; e++)
            mpfr_set_zero(w->contrib.v[e], 1);
        for (size_t j = 0; j < w->n; j++) {
            mpfr_t *p = w->p.v + j * s->D, *g = w->contrib.v + j * P;
            const ref_model *m = w->m;
            for (size_t t = m->first[k + 1]; t-- > m->first[k];) {
                if (s->adjoint == NO_ADJOINT_CONTINUOUS) {
                    ref_step_adjoint_continuous(&w->st, k, m->tau[t], sub_state(w, t + 1, j),
                                                p, g);
                } else if (s->adjoint == NO_ADJOINT_BACKSOLVE) {
                    copy_block(sub_state(w, t, j), sub_state(w, t + 1, j), s->D);
                    ref_step_adjoint_backsolve(&w->st, k, m->tau[t], sub_state(w, t, j), p, g);
                } else
                    ref_step_adjoint(&w->st, k, m->tau[t], sub_state(w, t, j), p, g);
            }
        }
        copy_block(rows + k * ND, w->p.v, nD);
        if (layer_gradient(w, k, grad, np))
            return -1;
        report(w, "backward", k, (double)w->n * s->L * (1 + 2 * (double)(s->L - k) / s->L));
    }
    return 0;
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

/* The grad_* and mgrad_* arrays of res, in the order of no_spec_params. */
static int result_grads(ref_result *res, const no_spec *s, ref_array *grad[], ref_array *mgrad[])
{
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    for (int a = 0; a < np; a++) {
        char name[NO_NAME_LEN];
        snprintf(name, sizeof name, "grad_%s", pi[a].name);
        grad[a] = result_find(res, name);
        snprintf(name, sizeof name, "mgrad_%s", pi[a].name);
        mgrad[a] = result_find(res, name);
    }
    return np;
}

/* Forward and backward over points [i0, i1): res (allocated here, the full
 * output layout) gets those points' rows of states, output and adjoint; the
 * loss's sum (not yet divided) and the gradients go to res rounded when
 * part is NULL, exact to part otherwise (whose grad is allocated). */
static int run_points(const ref_model *m, size_t i0, size_t i1, ref_result *res,
                      ref_part *part, char *err, size_t len)
{
    const no_spec *s = &m->spec;
    run_ws w;
    if (result_init(res, s, m->prec) || ws_init(&w, m, i0, i1, 1)) {
        ref_result_clear(res);
        snprintf(err, len, "out of memory in the reference run");
        return -1;
    }
    w.part = part;
    forward(&w);
    ref_array *states = result_find(res, "states"), *out = result_find(res, "output");
    size_t ND = s->N * s->D, nD = w.n * s->D;
    for (size_t k = 0; k <= s->L; k++)
        copy_block(states->v + k * ND + i0 * s->D, sub_state(&w, m->first[k], 0), nD);
    copy_block(out->v + i0 * s->d_out, w.yhat.v, w.n * s->d_out);

    ref_array *grad[NO_MAX_PARAMS], *mgrad[NO_MAX_PARAMS];
    int np = result_grads(res, s, grad, mgrad);
    int bad = loss_sum(&w, result_find(res, "loss")->v[0]);
    if (!bad) {
        adjoint_start(&w);
        bad = backward(&w, result_find(res, "adjoint"), grad, np);
    }
    ws_clear(&w);
    if (bad) {
        ref_result_clear(res);
        snprintf(err, len, "a part's exact sum does not fit an MPFR number (more than %ld "
                 "bits, or beyond the exponent range)", (long)MPFR_PREC_MAX);
        return -1;
    }
    return 0;
}

/* From the rounded sums in res: F = sum / den, mgrad = grad x the metric factor. */
static void finish_outputs(const ref_model *m, ref_result *res)
{
    const no_spec *s = &m->spec;
    mpfr_ptr F = result_find(res, "loss")->v[0];
    mpfr_div_ui(F, F, loss_den(m), MPFR_RNDN);
    ref_array *grad[NO_MAX_PARAMS], *mgrad[NO_MAX_PARAMS];
    int np = result_grads(res, s, grad, mgrad);
    mpfr_t f;
    mpfr_init2(f, m->prec);
    metric_factor(s, f);
    for (int a = 0; a < np; a++)
        for (size_t e = 0; e < grad[a]->n; e++)
            mpfr_mul(mgrad[a]->v[e], grad[a]->v[e], f, MPFR_RNDN);
    mpfr_clear(f);
}

int ref_run(const ref_model *m, ref_result *res, char *err, size_t len)
{
    if (run_points(m, 0, m->spec.N, res, NULL, err, len))
        return -1;
    finish_outputs(m, res);
    return 0;
}

/* part holds no sums and no points (a previous part's sums freed). */
static void part_empty(ref_part *part)
{
    ref_vec_free(part->grad, part->ngrad);
    part->grad = NULL;
    part->ngrad = 0;
    part->i0 = part->i1 = 0;
    mpfr_set_zero(part->loss_sum, 1);
}

int ref_run_part(const ref_model *m, size_t i0, size_t i1, ref_result *res, ref_part *part,
                 char *err, size_t len)
{
    const no_spec *s = &m->spec;
    memset(res, 0, sizeof *res);
    part_empty(part);
    if (i0 > i1 || i1 > s->N) {
        snprintf(err, len, "points [%zu, %zu) are not a range of the %zu points", i0, i1, s->N);
        return -1;
    }
    size_t ngrad = s->L * ref_layer_param_count(s);
    if (!(part->grad = ref_vec_new(ngrad, MPFR_PREC_MIN))) {
        snprintf(err, len, "out of memory in the reference run");
        return -1;
    }
    part->ngrad = ngrad;
    part->i0 = i0;
    part->i1 = i1;
    if (run_points(m, i0, i1, res, part, err, len)) {
        part_empty(part);
        return -1;
    }
    return 0;
}

/* qsort order of nonempty parts: by first point. */
static int by_first_point(const void *a, const void *b)
{
    const ref_part *x = *(ref_part *const *)a, *y = *(ref_part *const *)b;
    return x->i0 < y->i0 ? -1 : x->i0 > y->i0;
}

int ref_part_finish(const ref_model *m, ref_part *const *parts, size_t nparts, ref_result *res,
                    char *err, size_t len)
{
    const no_spec *s = &m->spec;
    size_t ngrad = s->L * ref_layer_param_count(s);
    ref_array *grad[NO_MAX_PARAMS], *mgrad[NO_MAX_PARAMS];
    int np = result_grads(res, s, grad, mgrad);
    ref_array *loss = result_find(res, "loss");
    size_t total = 0;
    for (int a = 0; a < np; a++) {
        if (!grad[a] || !mgrad[a] || grad[a]->n != mgrad[a]->n)
            break;
        total += grad[a]->n;
    }
    if (res->prec != m->prec || !loss || loss->n != 1 || total != ngrad) {
        snprintf(err, len, "the result does not have the model's output layout at %ld bits",
                 (long)m->prec);
        return -1;
    }
    /* The nonempty parts, by first point: they must tile [0, N). */
    ref_part **use = malloc((nparts ? nparts : 1) * sizeof *use);
    mpfr_ptr *terms = malloc((nparts ? nparts : 1) * sizeof *terms);
    if (!use || !terms) {
        free(use);
        free(terms);
        snprintf(err, len, "out of memory combining the parts");
        return -1;
    }
    size_t k = 0;
    const char *why = NULL;
    for (size_t r = 0; r < nparts && !why; r++) {
        /* An empty part may never have run (a rank with no points): its
         * gradient size is not looked at. */
        if (parts[r]->i0 > parts[r]->i1 || parts[r]->i1 > s->N)
            why = "a part's points are not a range of the problem's";
        else if (parts[r]->i0 == parts[r]->i1)
            continue;
        else if (parts[r]->ngrad != ngrad)
            why = "a part has another gradient size";
        else
            use[k++] = parts[r];
    }
    if (!why) {
        qsort(use, k, sizeof *use, by_first_point);
        size_t next = 0;
        for (size_t r = 0; r < k && !why; r++) {
            if (use[r]->i0 != next)
                why = "the parts' points overlap or leave a gap";
            next = use[r]->i1;
        }
        if (!why && next != s->N)
            why = "the parts do not cover every point";
    }
    if (why) {
        free(use);
        free(terms);
        snprintf(err, len, "%s", why);
        return -1;
    }
    /* Each total: the parts' exact sums added exactly, rounded once. */
    for (size_t r = 0; r < k; r++)
        terms[r] = use[r]->loss_sum;
    mpfr_sum(loss->v[0], terms, k, MPFR_RNDN);
    size_t gbase = 0;
    for (int a = 0; a < np; a++) {
        for (size_t e = 0; e < grad[a]->n; e++) {
            for (size_t r = 0; r < k; r++)
                terms[r] = use[r]->grad[gbase + e];
            mpfr_sum(grad[a]->v[e], terms, k, MPFR_RNDN);
        }
        gbase += grad[a]->n;
    }
    free(use);
    free(terms);
    finish_outputs(m, res);
    return 0;
}

int ref_loss(const ref_model *m, mpfr_t loss)
{
    run_ws w;
    if (ws_init(&w, m, 0, m->spec.N, 0))
        return -1;
    forward(&w);
    loss_sum(&w, loss);
    mpfr_div_ui(loss, loss, loss_den(m), MPFR_RNDN);
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
