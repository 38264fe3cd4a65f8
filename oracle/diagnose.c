/* diagnose.c - see diagnose.h and docs/check.md. */
#include "diagnose.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "progress.h"
#include "tolerance.h"

double no_diag_match(const no_arrays *cand, const no_arrays *ref)
{
    double worst = 0;
    for (int i = 0; i < cand->count; i++) {
        const no_array *c = &cand->a[i], *r = no_arrays_get(ref, c->name);
        if (!r || r->n != c->n || !strncmp(c->name, "mgrad_", 6))
            continue;
        double emax = 0, rmax = 0;
        for (size_t e = 0; e < r->n; e++) {
            /* fmax drops a NaN operand, so inf - inf or a NaN would otherwise
             * vanish from the maximum and read as a perfect match */
            if (!isfinite(c->v[e]) || !isfinite(r->v[e]))
                return NAN;
            emax = fmax(emax, fabs(c->v[e] - r->v[e]));
            rmax = fmax(rmax, fabs(r->v[e]));
        }
        worst = fmax(worst, rmax > 0 ? emax / rmax : emax);
    }
    return worst;
}

const char *no_diag_match_text(double match, char *buf, size_t len)
{
    if (isnan(match))
        snprintf(buf, len, "not computable");
    else
        snprintf(buf, len, "%.2e", match);
    return buf;
}

/* The first NaN or infinity of a's arrays that the candidate provided (in
 * a's order, mgrad_* excepted: the candidate format has none): 1 with its
 * array and flat index, else 0. */
static int first_nonfinite(const no_arrays *a, const no_arrays *cand, const no_array **arr,
                           size_t *index)
{
    for (int i = 0; i < a->count; i++) {
        const no_array *x = &a->a[i];
        if (!no_arrays_get(cand, x->name) || !strncmp(x->name, "mgrad_", 6))
            continue;
        for (size_t e = 0; e < x->n; e++)
            if (!isfinite(x->v[e])) {
                *arr = x;
                *index = e;
                return 1;
            }
    }
    return 0;
}

/* d->detail = "<who> overflows: array NAME index I (NAME[i,j,k] = inf); ...":
 * why no cause is named (the multi-index in the array's C order, as
 * compare's report writes it). */
static void explain_nonfinite(no_diagnosis *d, const char *who, const no_array *a, size_t index)
{
    char where[96];
    size_t l = (size_t)snprintf(where, sizeof where, "%s[", a->name);
    size_t idx[4] = {0}, rest = index;
    int nd = a->ndim > 0 ? a->ndim : 1;
    if (a->ndim > 0)
        for (int k = a->ndim - 1; k >= 0; k--) {
            idx[k] = a->shape[k] ? rest % a->shape[k] : 0;
            rest = a->shape[k] ? rest / a->shape[k] : 0;
        }
    else
        idx[0] = index;
    for (int k = 0; k < nd && l < sizeof where; k++)
        l += (size_t)snprintf(where + l, sizeof where - l, "%s%zu", k ? "," : "", idx[k]);
    double v = a->v[index];
    snprintf(d->detail, sizeof d->detail,
             "%s %s: array %s index %zu (%s] = %s); no cause is named from non-finite numbers",
             who, isnan(v) ? "is not a number" : "overflows", a->name, index, where,
             isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

/* Normwise error of one array against its namesake in ref. */
static double match_one(const no_array *a, const no_arrays *ref)
{
    no_arrays one = {0};
    one.count = 1;
    one.a[0] = *a; /* a view: shares a's storage */
    return no_diag_match(&one, ref);
}

/* Normwise error of a against b over the arrays the candidate provided. */
static double match_provided(const no_arrays *cand, const no_arrays *a, const no_arrays *b)
{
    no_arrays view = {0};
    for (int i = 0; i < a->count; i++)
        if (no_arrays_get(cand, a->a[i].name))
            view.a[view.count++] = a->a[i]; /* a view: shares a's storage */
    return no_diag_match(&view, b);
}

/* A lower precision's rounding spoils every array: a candidate whose error
 * is that format's in some arrays but 2^12 times smaller in another (an
 * exact forward pass, a backward error) did not compute in that format.
 * 1 if no provided array (the loss aside: one number, small by chance) is
 * that much more accurate than the format's run fmt of the same values. */
static int spread_like_rounding(const no_arrays *cand, const no_arrays *fmt,
                                const no_arrays *ref)
{
    for (int i = 0; i < cand->count; i++) {
        const no_array *c = &cand->a[i], *f = no_arrays_get(fmt, c->name);
        if (!f || !strcmp(c->name, "loss") || !strncmp(c->name, "mgrad_", 6))
            continue;
        double e_c = match_one(c, ref), e_f = match_one(f, ref);
        if (e_f > 0 && isfinite(e_f) && !(e_c >= ldexp(e_f, -12)))
            return 0;
    }
    return 1;
}

/* The fraction of the candidate's values (over its arrays, the loss aside:
 * one number, often summed in a wider type) that are exactly numbers of a
 * bits-bit significand.  A program that computed in float32 holds float32
 * numbers even if it saved them as float64 (x.double(), astype): a
 * candidate whose values use all 53 bits rounded last in float64, and its
 * error is not a float32 computation's (a forgotten step grid, a
 * discretisation of its own). */
static double representable_fraction(const no_arrays *cand, long bits)
{
    double in = 0, all = 0;
    for (int i = 0; i < cand->count; i++) {
        const no_array *c = &cand->a[i];
        if (!strcmp(c->name, "loss"))
            continue;
        for (size_t e = 0; e < c->n; e++) {
            int ex;
            double m = frexp(c->v[e], &ex); /* |m| in [0.5, 1) */
            double scaled = ldexp(m, (int)bits);
            in += scaled == nearbyint(scaled);
            all += 1;
        }
    }
    return all > 0 ? in / all : 0;
}

/* The reference's values under a variant or adjoint kind (not certified:
 * a hypothesis only needs to be far more accurate than the candidate). */
static int run_hypothesis(const no_problem *p, const ref_setup *base, const ref_variant *v,
                          no_adjoint adjoint, size_t m, long prec, no_arrays *out, char *err,
                          size_t len)
{
    no_problem q = *p;
    q.spec.adjoint = adjoint;
    q.spec.m = m;
    ref_model mo;
    /* Below the contract's 53 bits: the emulation of a lower precision. */
    if (prec < REF_PREC_MIN ? ref_model_init_rounded(&mo, &q, prec, err, len)
                            : ref_model_init(&mo, &q, prec, err, len))
        return -1;
    mo.progress = no_progress_ref(); /* a deep problem's hypotheses take long */
    int rc = 0;
    if (v)
        rc = ref_model_set_variant(&mo, v, err, len);
    if (!rc && base && base->grid)
        rc = ref_model_set_grid(&mo, base->grid, base->grid_count, err, len);
    ref_result r;
    if (!rc && !(rc = ref_run(&mo, &r, err, len))) {
        rc = ref_result_to_double(&r, out);
        ref_result_clear(&r);
    }
    ref_model_clear(&mo);
    return rc;
}

/* How much more a candidate in the same precision may err than the
 * reference's run in it: 2^NO_DIAG_ENVELOPE_BITS for the placement and signs
 * of roundings, times sqrt(n_w) because the reference rounds a dot product
 * of length n_w once and a candidate up to n_w times, whose errors add like
 * a random walk (Higham and Mary's probabilistic bound, sqrt(n) u instead of
 * n u; proofs-notes/tolerance.md, "Lower precisions"). */
static double envelope_factor(const no_tol_model *t)
{
    return ldexp(sqrt(t->dot_len), (int)NO_DIAG_ENVELOPE_BITS);
}

int no_diag_cap_tolerance(no_tol_model *t, const no_problem *p, const ref_setup *setup,
                          const no_arrays *ref, char *err, size_t len)
{
    if (!(t->u > 0x1.0p-53))
        return 0;
    long bits = lround(-log2(t->u));
    no_arrays h;
    if (run_hypothesis(p, setup, NULL, p->spec.adjoint, p->spec.m, bits, &h, err, len))
        return -1;
    const no_array *out = no_arrays_get(&h, "output");
    double e_out = out ? match_one(out, ref) : 0;
    for (int i = 0; i < h.count; i++) {
        double e = match_one(&h.a[i], ref);
        if (!isfinite(e)) /* not computable (a value outside double): no envelope */
            continue;
        /* The loss is one number: its measured error can be small by chance
         * (a lucky cancellation).  To first order its relative error is
         * 2 kappa_r times the output's (dF/F = 2 <r, dyhat> / |r|^2), which
         * the output, an array, measures stably. */
        if (!strcmp(h.a[i].name, "loss"))
            e = fmax(e, 2 * t->kappa_r * e_out);
        no_tol_cap(t, h.a[i].name, fmax(e * envelope_factor(t), t->c * t->u));
    }
    no_arrays_free(&h);
    return 0;
}

/* Record a hypothesis (variant NULL: its only form); returns its index, or
 * -1 if the table is full. */
static int add(no_diagnosis *d, const char *cause, const char *variant, double match)
{
    if (d->nhyp >= NO_DIAG_MAX)
        return -1;
    no_hypothesis *h = &d->hyp[d->nhyp];
    snprintf(h->cause, sizeof h->cause, "%s", cause);
    snprintf(h->variant, sizeof h->variant, "%s", variant ? variant : "");
    h->match = match;
    return d->nhyp++;
}

/* Append "; text" (or text) to d->detail. */
static void detail_add(no_diagnosis *d, const char *text)
{
    size_t l = strlen(d->detail);
    snprintf(d->detail + l, sizeof d->detail - l, "%s%s", l ? "; " : "", text);
}

/* Relative size of the gap between two runs' gradients. */
static double grad_gap(const no_arrays *a, const no_arrays *b)
{
    double g = 0;
    for (int i = 0; i < a->count; i++)
        if (!strncmp(a->a[i].name, "grad_", 5))
            g = fmax(g, match_one(&a->a[i], b));
    return g;
}

/* ------------------------------------------------------------------ */
/* The hypotheses (docs/check.md's table).                            */

static const char *adjoint_cause(no_adjoint a)
{
    return a == NO_ADJOINT_CONTINUOUS ? "continuous_adjoint"
           : a == NO_ADJOINT_BACKSOLVE ? "backsolve_adjoint"
                                       : "discrete_adjoint";
}

static no_diag_case *next(no_diag_case *out, int *n, const char *cause, const char *variant,
                          no_diag_kind kind)
{
    no_diag_case *c = &out[(*n)++];
    c->cause = cause;
    c->variant = variant;
    c->kind = kind;
    return c;
}

/* The variants of the whole computation that apply to this problem.  The
 * step variants need the uniform grid: a replayed grid fixes every step. */
static int variant_cases(const no_spec *s, int grid, no_diag_case out[NO_DIAG_MAX])
{
    int n = 0;
    const no_diag_kind G = NO_DIAG_GLOBAL;
    memset(out, 0, NO_DIAG_MAX * sizeof *out);
    next(out, &n, "missing_1_over_N", NULL, G)->v.loss_sum = 1;
    next(out, &n, "missing_half", NULL, G)->v.loss_no_half = 1;
    /* torch.nn.MSELoss(): the contract x 2/d_out, so the contract itself
     * when d_out = 2 (nothing to name) and missing_half when d_out = 1 (run:
     * the report then says the two coincide). */
    if (s->d_out != 2)
        next(out, &n, "mean_over_outputs", NULL, G)->v.loss_mean_all = 1;
    next(out, &n, "sign_flip", NULL, G)->v.residual_flip = 1;
    if (!grid) { /* h = 1/n (ode) or 1/sqrt(n) (sqrt), n = 1 or L +- 1 */
        if (s->L > 1)
            next(out, &n, "missing_1_over_L", NULL, G)->v.h_den = 1;
        next(out, &n, "depth_off_by_one", "L+1", G)->v.h_den = s->L + 1;
        if (s->L > 2)
            next(out, &n, "depth_off_by_one", "L-1", G)->v.h_den = s->L - 1;
        /* Each substep of size h instead of h/m (an RK driver given the
         * layer's step), and the other scaling's step (1 = sqrt(1): L > 1). */
        if (s->m > 1)
            next(out, &n, "substep_size", "h", G)->v.substep_h = 1;
        if (s->L > 1)
            next(out, &n, "wrong_scaling", s->scaling == NO_SCALING_ODE ? "1/sqrt(L)" : "1/L",
                 G)
                ->v.swap_scaling = 1;
    }
    if (s->family == NO_FAMILY_MLP && s->M > 1)
        next(out, &n, "missing_1_over_M", NULL, G)->v.no_mean_field = 1;
    if (s->family == NO_FAMILY_MLP)
        next(out, &n, "transposed_weights", "a<->u", G)->v.swap_au = 1;
    if (s->family == NO_FAMILY_RFF) {
        if (s->q != 2)
            next(out, &n, "missing_rff_scale", NULL, G)->v.rff_no_scale = 1;
        next(out, &n, "rff_no_phase", NULL, G)->v.rff_no_phase = 1;
    }
    if (s->family == NO_FAMILY_LINEAR)
        next(out, &n, "transposed_weights", "W^T", G)->v.transpose_W = 1;
    return n;
}

/* The lower precisions low_precision tries, narrowest envelope first, so a
 * float32 candidate is named float32, not bfloat16. */
static const struct {
    const char *name;
    long bits;
} lower[] = {{"float32", 24}, {"bfloat16", 8}};

/* The first parameter array with two-dimensional per-layer blocks that a
 * transposition changes (not 1 x 1): W, or a for mlp; -1 if none. */
static int transposable(const no_spec *s, no_param_info pi[NO_MAX_PARAMS])
{
    int np = no_spec_params(s, pi);
    for (int i = 0; i < np; i++)
        if (pi[i].ndim == 3 && pi[i].shape[1] * pi[i].shape[2] > 1)
            return i;
    return -1;
}

int no_diag_cases(const no_spec *s, int grid, no_diag_case out[NO_DIAG_MAX])
{
    int n = variant_cases(s, grid, out);
    for (int a = 0; a < 3; a++)
        if ((no_adjoint)a != s->adjoint)
            next(out, &n, adjoint_cause((no_adjoint)a), NULL, NO_DIAG_ADJOINT)->adjoint = 1 + a;
    /* Layouts: a gradient's blocks transposed, grad_a and grad_u exchanged. */
    no_param_info pi[NO_MAX_PARAMS];
    int t = transposable(s, pi);
    if (t >= 0) {
        static const char *const names[] = {"grad_W", "grad_a"};
        next(out, &n, "transposed_gradient", names[s->family == NO_FAMILY_MLP], NO_DIAG_LAYOUT)
            ->transpose_grad = 1 + t;
    }
    if (s->family == NO_FAMILY_MLP)
        next(out, &n, "swapped_arrays", "grad_a<->grad_u", NO_DIAG_LAYOUT)->swap_grads = 1;
    /* One instance of each searched family (layer L/2, factor 3, ...): what
     * the suites must be able to see (tests/test_suites.c). */
    const no_diag_kind S = NO_DIAG_SEARCHED;
    next(out, &n, "loss_scaled", "x1/2", S)->loss_factor = 0.5;
    next(out, &n, "field_scale", "x3", S)->v.field_scale = 3;
    if (s->L > 1) {
        size_t k = s->L / 2;
        no_diag_case *c = next(out, &n, "layer_sign", "k=L/2", S);
        c->v.scale_layer = k + 1, c->v.layer_scale = -1;
        c = next(out, &n, "layer_scale", "k=L/2 x3", S);
        c->v.scale_layer = k + 1, c->v.layer_scale = 3;
        c = next(out, &n, "layer_params", "k=L/2 uses k+1", S);
        c->from_layer = k + 1, c->to_layer = k + 1 < s->L ? k + 1 : k - 1;
        next(out, &n, "layer_params", "k uses k-1", S)->wrap = -1;
    }
    if (s->family == NO_FAMILY_RFF) {
        no_diag_case *c = next(out, &n, "rff_no_phase+field_scale", "x1.414", S);
        c->v.rff_no_phase = 1, c->v.field_scale = sqrt(2.0);
    }
    for (size_t f = 0; f < sizeof lower / sizeof lower[0]; f++)
        next(out, &n, "low_precision", lower[f].name, NO_DIAG_LOWPREC)->bits = lower[f].bits;
    return n;
}

/* Layer k of the run uses the parameters of layer map(k). */
static size_t layer_map(const no_diag_case *c, size_t L, size_t k)
{
    if (c->wrap)
        return (size_t)(((long)k + c->wrap % (long)L + (long)L) % (long)L);
    return c->from_layer == k + 1 ? c->to_layer : k;
}

/* q = p with every layer k's parameters replaced by layer map(k)'s. */
static int remap_params(no_problem *q, const no_problem *p, const no_diag_case *c)
{
    if (no_problem_copy(q, p))
        return -1;
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(&p->spec, pi);
    for (int a = 0; a < np; a++) {
        const double *src = no_problem_param(p, pi[a].name);
        double *dst = no_problem_param(q, pi[a].name);
        for (size_t k = 0; k < p->spec.L; k++)
            memcpy(dst + k * pi[a].per_layer, src + layer_map(c, p->spec.L, k) * pi[a].per_layer,
                   pi[a].per_layer * sizeof *dst);
    }
    return 0;
}

/* Gradients as automatic differentiation of the remapped computation gives
 * them: layer j's block is the sum of the blocks of every layer k that used
 * j's parameters (zero if none did). */
static int fold_gradients(no_arrays *h, const no_spec *s, const no_diag_case *c)
{
    for (int i = 0; i < h->count; i++) {
        no_array *a = &h->a[i];
        if (strncmp(a->name, "grad_", 5) && strncmp(a->name, "mgrad_", 6))
            continue;
        size_t per = a->n / s->L;
        double *f = calloc(a->n ? a->n : 1, sizeof *f);
        if (!f)
            return -1;
        for (size_t k = 0; k < s->L; k++)
            for (size_t e = 0; e < per; e++)
                f[layer_map(c, s->L, k) * per + e] += a->v[k * per + e];
        memcpy(a->v, f, a->n * sizeof *f);
        free(f);
    }
    return 0;
}

/* The contract's arrays in a candidate's wrong layout. */
static int apply_layout(no_arrays *h, const no_spec *s, const no_diag_case *c)
{
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    if (c->transpose_grad > 0 && c->transpose_grad <= np) {
        const no_param_info *P = &pi[c->transpose_grad - 1];
        size_t r = P->shape[1], cols = P->shape[2];
        for (int pre = 0; pre < 2; pre++) {
            char name[NO_NAME_LEN];
            snprintf(name, sizeof name, "%s_%s", pre ? "mgrad" : "grad", P->name);
            no_array *a = no_arrays_find(h, name);
            double *t = malloc(r * cols * sizeof *t);
            if (!t)
                return -1;
            for (size_t k = 0; a && k < s->L; k++) {
                double *blk = a->v + k * r * cols;
                for (size_t i = 0; i < r; i++)
                    for (size_t j = 0; j < cols; j++)
                        t[j * r + i] = blk[i * cols + j]; /* B^T's C order */
                memcpy(blk, t, r * cols * sizeof *t);
            }
            free(t);
        }
    }
    if (c->swap_grads)
        for (int pre = 0; pre < 2; pre++) {
            no_array *a = no_arrays_find(h, pre ? "mgrad_a" : "grad_a");
            no_array *u = no_arrays_find(h, pre ? "mgrad_u" : "grad_u");
            if (a && u && a->n == u->n) {
                double *t = a->v;
                a->v = u->v, u->v = t;
            }
        }
    return 0;
}

/* Loss, adjoint and gradients times f: the computation with its loss
 * multiplied by f (the states and outputs do not change). */
static void scale_loss(no_arrays *h, double f)
{
    for (int i = 0; i < h->count; i++) {
        no_array *a = &h->a[i];
        if (!strcmp(a->name, "loss") || !strcmp(a->name, "adjoint") ||
            !strncmp(a->name, "grad_", 5) || !strncmp(a->name, "mgrad_", 6))
            for (size_t e = 0; e < a->n; e++)
                a->v[e] *= f;
    }
}

int no_diag_run_case(const no_problem *p, const ref_setup *setup, const no_diag_case *c,
                     long prec, no_arrays *out, char *err, size_t len)
{
    const no_spec *s = &p->spec;
    no_adjoint adj = c->adjoint ? (no_adjoint)(c->adjoint - 1) : s->adjoint;
    const no_problem *run = p;
    no_problem q;
    int remap = c->from_layer || c->wrap;
    if (remap) {
        if (remap_params(&q, p, c))
            return no_errorf(err, len, "out of memory in the diagnosis");
        run = &q;
    }
    int rc = run_hypothesis(run, setup, &c->v, adj, s->m, c->bits > 0 ? c->bits : prec, out,
                            err, len);
    if (remap)
        no_problem_free(&q);
    if (rc)
        return -1;
    if ((remap && fold_gradients(out, s, c)) || apply_layout(out, s, c)) {
        no_arrays_free(out);
        return no_errorf(err, len, "out of memory in the diagnosis");
    }
    if (c->loss_factor != 0)
        scale_loss(out, c->loss_factor);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Measured facts.                                                    */

/* The smallest of t's tolerances over the arrays the candidate provided. */
static double worst_tol(const no_tol_model *t, const no_arrays *ref, const no_arrays *cand)
{
    double tol = INFINITY;
    for (int i = 0; i < cand->count; i++)
        if (no_arrays_get(ref, cand->a[i].name))
            tol = fmin(tol, no_tol_for(t, cand->a[i].name));
    return isfinite(tol) ? tol : 0;
}

/* The same for the a-priori model around a hypothesis' outputs. */
static double tol_of_worst(const no_problem *p, const no_arrays *ref, const no_arrays *cand,
                           double u)
{
    no_tol_model t;
    return no_tol_model_init(&t, p, ref, u) ? 0 : worst_tol(&t, ref, cand);
}

/* Does block [lo, hi) of the candidate's array name stay within its
 * tolerance (normwise: relative to the array's largest reference value)?
 * -1 if the candidate or the reference lacks the array. */
static int block_ok(const no_arrays *cand, const no_arrays *ref, const no_tol_model *t,
                    const char *name, size_t lo, size_t hi)
{
    const no_array *c = no_arrays_get(cand, name), *r = no_arrays_get(ref, name);
    if (!c || !r || c->n != r->n || hi > r->n)
        return -1;
    double tol = no_tol_for(t, name), rmax = 0;
    for (size_t e = 0; e < r->n; e++)
        rmax = fmax(rmax, fabs(r->v[e]));
    for (size_t e = lo; e < hi; e++)
        if (!(fabs(c->v[e] - r->v[e]) <= tol * rmax))
            return 0;
    return 1;
}

/* The first layer boundary whose states leave the tolerance (-1: none, or
 * no states). */
static long states_layer(const no_spec *s, const no_arrays *cand, const no_arrays *ref,
                         const no_tol_model *t)
{
    size_t per = s->N * s->D;
    for (size_t k = 0; k <= s->L; k++)
        if (block_ok(cand, ref, t, "states", k * per, (k + 1) * per) != 1)
            return block_ok(cand, ref, t, "states", 0, per) < 0 ? -1 : (long)k;
    return -1;
}

/* The highest layer boundary whose adjoint leaves the tolerance (-1: none,
 * or no adjoint): the backward pass runs from L down, so an error made in
 * layer k's backward step first shows in p_k. */
static long adjoint_layer(const no_spec *s, const no_arrays *cand, const no_arrays *ref,
                          const no_tol_model *t)
{
    size_t per = s->N * s->D;
    for (size_t k = s->L + 1; k-- > 0;) {
        int ok = block_ok(cand, ref, t, "adjoint", k * per, (k + 1) * per);
        if (ok < 0)
            return -1;
        if (!ok)
            return (long)k;
    }
    return -1;
}

/* The highest layer whose gradient block (of any parameter array) leaves
 * the tolerance; -1: none. */
static long gradient_layer(const no_spec *s, const no_arrays *cand, const no_arrays *ref,
                           const no_tol_model *t)
{
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    for (size_t k = s->L; k-- > 0;)
        for (int a = 0; a < np; a++) {
            char name[NO_NAME_LEN];
            snprintf(name, sizeof name, "grad_%s", pi[a].name);
            size_t per = pi[a].per_layer;
            if (block_ok(cand, ref, t, name, k * per, (k + 1) * per) == 0)
                return (long)k;
        }
    return -1;
}

/* Do the forward arrays the candidate provided stay within tolerance? */
static int forward_ok(const no_arrays *cand, const no_arrays *ref, const no_tol_model *t)
{
    static const char *const fw[] = {"states", "output", "loss"};
    int seen = 0;
    for (size_t i = 0; i < 3; i++) {
        const no_array *r = no_arrays_get(ref, fw[i]);
        int ok = r ? block_ok(cand, ref, t, fw[i], 0, r->n) : -1;
        if (ok == 0)
            return 0;
        seen |= ok == 1;
    }
    return seen;
}

/* c if every array the candidate provided is c times the reference's
 * within its tolerance, with one c (to 1e-6 relative) for all; else NaN. */
static double constant_ratio(const no_arrays *cand, const no_arrays *ref, const no_tol_model *t)
{
    double c0 = NAN;
    for (int i = 0; i < cand->count; i++) {
        const no_array *c = &cand->a[i], *r = no_arrays_get(ref, c->name);
        if (!r || r->n != c->n || !strncmp(c->name, "mgrad_", 6))
            continue;
        double cr = 0, rr = 0, rmax = 0;
        for (size_t e = 0; e < r->n; e++)
            cr += c->v[e] * r->v[e], rr += r->v[e] * r->v[e], rmax = fmax(rmax, fabs(r->v[e]));
        if (!(rr > 0))
            continue;
        double k = cr / rr, tol = no_tol_for(t, c->name);
        for (size_t e = 0; e < r->n; e++)
            if (!(fabs(c->v[e] - k * r->v[e]) <= tol * rmax * fmax(1, fabs(k))))
                return NAN;
        if (isnan(c0))
            c0 = k;
        else if (!(fabs(k - c0) <= 1e-6 * fabs(c0)))
            return NAN;
    }
    return c0;
}

/* ------------------------------------------------------------------ */
/* The search.                                                        */

/* Ranks: among the hypotheses that explain the candidate, the simplest is
 * named (a field scaled by L is a missing 1/L; the named cause says it). */
enum {
    RANK_GLOBAL,  /* one variant of the computation, another adjoint kind */
    RANK_SIMPLE,  /* a factor on the loss, a wrong layout */
    RANK_LAYER,   /* a sign or another layer's parameters in one layer */
    RANK_FITTED,  /* a fitted factor on the field (every layer, or one) */
    RANK_PAIR,    /* two causes together */
    RANK_LOCATED, /* no computation: a backward error located */
    RANK_NONE
};

#define DIAG_FIT_PREC 64     /* fitting needs no certified digits */
#define DIAG_MAX_LAYERS 64   /* per-layer searches beyond this depth are skipped */
#define DIAG_BUDGET_S 120.0  /* searches stop after this much reference time */

typedef struct {
    const no_problem *p;
    const ref_setup *setup;
    const no_arrays *cand, *ref;
    const no_tol_model *tol;
    long prec;
    double u;
    no_diagnosis *d;
    char *err;
    size_t len;
    /* the chosen hypothesis */
    int rank;
    double match, mtol, factor;
    long layer;
    char cause[48], variant[24];
    no_diag_case chosen;
    /* every explained one, for "equally matches" */
    int nexpl;
    struct {
        char cause[48];
        double match;
    } expl[64];
    /* the nearest of all */
    no_diag_case nearest;
    char near_cause[48], near_variant[24];
    int have_nearest;
    double seconds;
    int skipped;
} search;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int over_budget(search *S)
{
    if (S->seconds > DIAG_BUDGET_S)
        S->skipped = 1;
    return S->skipped;
}

static int timed_run(search *S, const no_diag_case *c, long prec, no_arrays *h)
{
    double t0 = now_s();
    int rc = no_diag_run_case(S->p, S->setup, c, prec, h, S->err, S->len);
    S->seconds += now_s() - t0;
    return rc;
}

/* Weigh hypothesis c (its arrays h) as cause/variant; record it in the
 * report's list when record.  Returns its match. */
static double weigh(search *S, const no_diag_case *c, const char *cause, const char *variant,
                    int rank, double factor, long layer, const no_arrays *h, int record)
{
    double mt = no_diag_match(S->cand, h);
    if (record)
        add(S->d, cause, variant, mt);
    if (isnan(S->d->nearest_match) || mt < S->d->nearest_match) {
        if (!isnan(mt)) {
            S->d->nearest_match = mt;
            snprintf(S->d->nearest, sizeof S->d->nearest, "%s%s%s%s", cause,
                     variant && variant[0] ? "[" : "", variant ? variant : "",
                     variant && variant[0] ? "]" : "");
            S->nearest = *c;
            snprintf(S->near_cause, sizeof S->near_cause, "%s", cause);
            snprintf(S->near_variant, sizeof S->near_variant, "%s", variant ? variant : "");
            S->have_nearest = 1;
        }
    }
    double th = tol_of_worst(S->p, h, S->cand, S->u);
    if (!(mt <= th))
        return mt;
    if (S->nexpl < 64) {
        snprintf(S->expl[S->nexpl].cause, sizeof S->expl[0].cause, "%s", cause);
        S->expl[S->nexpl++].match = mt;
    }
    if (rank < S->rank || (rank == S->rank && mt < S->match)) {
        S->rank = rank, S->match = mt, S->factor = factor, S->layer = layer;
        S->mtol = th;
        snprintf(S->cause, sizeof S->cause, "%s", cause);
        snprintf(S->variant, sizeof S->variant, "%s", variant ? variant : "");
        S->chosen = *c;
    }
    return mt;
}

/* Run c at prec and weigh it; 0, or -1 with err. */
static int try_case(search *S, const no_diag_case *c, const char *cause, const char *variant,
                    int rank, double factor, long layer, int record)
{
    no_arrays h;
    /* The searches (many runs) are screened at DIAG_FIT_PREC bits: a
     * hypothesis 16 times outside its tolerance there is outside it, as the
     * screening run's own error (2^-64 times the growth) is far below any
     * float64 tolerance; the others are judged at the full precision. */
    if (rank >= RANK_LAYER && S->prec > DIAG_FIT_PREC) {
        if (timed_run(S, c, DIAG_FIT_PREC, &h))
            return -1;
        double mt = no_diag_match(S->cand, &h);
        if (!(mt <= 16 * tol_of_worst(S->p, &h, S->cand, S->u))) {
            weigh(S, c, cause, variant, rank, factor, layer, &h, record);
            no_arrays_free(&h);
            return 0;
        }
        no_arrays_free(&h);
    }
    if (timed_run(S, c, S->prec, &h))
        return -1;
    weigh(S, c, cause, variant, rank, factor, layer, &h, record);
    no_arrays_free(&h);
    return 0;
}

/* A factor as the report writes it: "1/3", "2", or "%.6g". */
static void factor_text(double f, char *buf, size_t len)
{
    for (int q = 1; q <= 64; q++) {
        double n = f * q;
        if (fabs(n - nearbyint(n)) <= 1e-12 * fabs(n) && nearbyint(n) != 0) {
            if (q == 1)
                snprintf(buf, len, "x%.0f", n);
            else
                snprintf(buf, len, "x%.0f/%d", n, q);
            return;
        }
    }
    /* six digits, or as many as it takes to tell the factor from 1 */
    snprintf(buf, len, fabs(f - 1) < 1e-5 ? "x%.12g" : "x%.6g", f);
}

/* The loss factor that best maps h onto the candidate: the ratio of the
 * losses if the candidate gave one, else least squares over its gradients. */
static double loss_factor_of(const no_arrays *cand, const no_arrays *h)
{
    const no_array *cl = no_arrays_get(cand, "loss"), *hl = no_arrays_get(h, "loss");
    if (cl && hl && hl->v[0] != 0)
        return cl->v[0] / hl->v[0];
    double ch = 0, hh = 0;
    for (int i = 0; i < cand->count; i++) {
        const no_array *c = &cand->a[i], *r = no_arrays_get(h, c->name);
        if (!r || r->n != c->n || strncmp(c->name, "grad_", 5))
            continue;
        for (size_t e = 0; e < r->n; e++)
            ch += c->v[e] * r->v[e], hh += r->v[e] * r->v[e];
    }
    return hh > 0 ? ch / hh : NAN;
}

/* h (hypothesis c's arrays) with the candidate's loss factor, weighed as
 * "loss_scaled" on its own or "<cause>+loss_scaled". */
static void try_loss_factor(search *S, const no_diag_case *c, const char *cause,
                            const no_arrays *h, int rank)
{
    double f = loss_factor_of(S->cand, h);
    if (!isfinite(f) || f == 0 || fabs(f - 1) <= 1e-9)
        return;
    no_arrays g = {0};
    for (int i = 0; i < h->count; i++) { /* a copy to scale */
        no_array *a = no_arrays_add(&g, h->a[i].name, h->a[i].ndim, h->a[i].shape);
        if (!a) {
            no_arrays_free(&g);
            return;
        }
        memcpy(a->v, h->a[i].v, a->n * sizeof *a->v);
    }
    scale_loss(&g, f);
    no_diag_case cf = *c;
    cf.loss_factor = c->loss_factor != 0 ? c->loss_factor * f : f;
    char name[64], var[64];
    snprintf(name, sizeof name, "%s%sloss_scaled", cause ? cause : "", cause ? "+" : "");
    factor_text(f, var, sizeof var);
    weigh(S, &cf, name, var, rank, f, -1, &g, rank == RANK_SIMPLE);
    no_arrays_free(&g);
}

/* Gauss-Newton on the candidate's output (its loss if it gave none) for the
 * factor at *slot of case c, from 1; 0 with *out, or -1 (err) / 1 (no fit). */
static int fit_factor(search *S, no_diag_case *c, double *slot, double *out)
{
    const no_array *co = no_arrays_get(S->cand, "output");
    const char *name = co ? "output" : "loss";
    if (!co && !(co = no_arrays_get(S->cand, "loss")))
        return 1;
    double x = 1, prev_rr = INFINITY;
    for (int it = 0; it < 12; it++) {
        no_arrays h0, h1;
        double dx = 0x1.0p-24 * fmax(1, fabs(x));
        *slot = x;
        if (timed_run(S, c, DIAG_FIT_PREC, &h0))
            return -1;
        *slot = x + dx;
        if (timed_run(S, c, DIAG_FIT_PREC, &h1)) {
            no_arrays_free(&h0);
            return -1;
        }
        const no_array *a0 = no_arrays_get(&h0, name), *a1 = no_arrays_get(&h1, name);
        double jr = 0, jj = 0, rr = 0, cc = 0;
        for (size_t e = 0; a0 && a1 && e < co->n && e < a0->n; e++) {
            double j = (a1->v[e] - a0->v[e]) / dx, r = a0->v[e] - co->v[e];
            jr += j * r, jj += j * j, rr += r * r, cc += co->v[e] * co->v[e];
        }
        /* A true hypothesis converges quadratically once near; still 5%
         * off after four steps, this one is not worth its runs. */
        if (it >= 4 && rr > 0.05 * 0.05 * cc) {
            no_arrays_free(&h0);
            no_arrays_free(&h1);
            return 1;
        }
        /* A plateau: the residual no longer falls, so x is the least-squares
         * factor of a hypothesis that does not fit exactly (a true one
         * falls to rounding level); judge it as it is. */
        if (it >= 2 && rr >= 0.98 * prev_rr) {
            no_arrays_free(&h0);
            no_arrays_free(&h1);
            break;
        }
        prev_rr = rr;
        no_arrays_free(&h0);
        no_arrays_free(&h1);
        double step = jj > 0 ? -jr / jj : NAN;
        if (!isfinite(step))
            return 1;
        /* damped: a step beyond 4 times the factor's size is not trusted */
        double cap = 4 * fmax(1, fabs(x));
        step = fmax(-cap, fmin(cap, step));
        x += step;
        if (fabs(step) <= 0x1.0p-40 * fmax(1, fabs(x)))
            break;
    }
    *slot = x;
    *out = x;
    return 0;
}

/* The layers to search: the one before the first diverging states when the
 * candidate gave states, else all (up to DIAG_MAX_LAYERS). */
static void layer_range(const search *S, size_t *lo, size_t *hi)
{
    const no_spec *s = &S->p->spec;
    long k = S->d->states_layer;
    if (k >= 1) {
        *lo = (size_t)k - 1, *hi = (size_t)k;
    } else if (k == 0 || s->L > DIAG_MAX_LAYERS) {
        *lo = *hi = 0; /* z_0 = A x is wrong: no layer to blame; too deep */
    } else {
        *lo = 0, *hi = s->L;
    }
}

static int search_layers(search *S)
{
    const no_spec *s = &S->p->spec;
    size_t lo, hi;
    layer_range(S, &lo, &hi);
    char var[64];
    /* a sign, another layer's parameters */
    for (size_t k = lo; k < hi && s->L > 1 && !over_budget(S); k++) {
        no_diag_case c = {0};
        c.cause = "layer_sign", c.kind = NO_DIAG_SEARCHED;
        c.v.scale_layer = k + 1, c.v.layer_scale = -1;
        snprintf(var, sizeof var, "k=%zu", k);
        if (try_case(S, &c, "layer_sign", var, RANK_LAYER, -1, (long)k, 0))
            return -1;
        for (int dk = -1; dk <= 1; dk += 2) {
            if ((dk < 0 && k == 0) || (dk > 0 && k + 1 == s->L))
                continue;
            no_diag_case e = {0};
            e.cause = "layer_params", e.kind = NO_DIAG_SEARCHED;
            e.from_layer = k + 1, e.to_layer = (size_t)((long)k + dk);
            snprintf(var, sizeof var, "k=%zu uses %zu", k, e.to_layer);
            if (try_case(S, &e, "layer_params", var, RANK_LAYER, NAN, (long)k, 0))
                return -1;
        }
    }
    for (int w = -1; w <= 1 && s->L > 1; w += 2) {
        no_diag_case c = {0};
        c.cause = "layer_params", c.kind = NO_DIAG_SEARCHED, c.wrap = w;
        if (try_case(S, &c, "layer_params", w < 0 ? "k uses k-1" : "k uses k+1", RANK_LAYER,
                     NAN, -1, 0))
            return -1;
    }
    return 0;
}

/* A fitted factor on one layer's field, or on every layer's (with a
 * variant of the computation: the pairs). */
static int search_fitted(search *S, const no_diag_case *base, const char *cause, int rank,
                         int one_layer)
{
    size_t lo = 0, hi = 1;
    if (one_layer)
        layer_range(S, &lo, &hi);
    for (size_t k = lo; k < hi && !over_budget(S); k++) {
        no_diag_case c = base ? *base : (no_diag_case){0};
        c.kind = NO_DIAG_SEARCHED;
        double *slot = one_layer ? &c.v.layer_scale : &c.v.field_scale;
        if (one_layer)
            c.v.scale_layer = k + 1;
        double f;
        int rc = fit_factor(S, &c, slot, &f);
        if (rc < 0)
            return -1;
        if (rc > 0 || fabs(f - 1) <= 1e-9)
            continue;
        char var[64], ft[24];
        factor_text(f, ft, sizeof ft);
        if (one_layer)
            snprintf(var, sizeof var, "k=%zu %s", k, ft);
        else
            snprintf(var, sizeof var, "%s", ft);
        c.cause = cause;
        if (try_case(S, &c, cause, var, rank, f, one_layer ? (long)k : -1, 0))
            return -1;
    }
    return 0;
}

/* Does the hypothesis change the forward pass (states, outputs)?  Loss
 * variants, the residual's sign and the adjoint kinds do not. */
static int changes_forward(const no_diag_case *c)
{
    const ref_variant *v = &c->v;
    return v->h_den || v->substep_h || v->swap_scaling || v->no_mean_field ||
           v->rff_no_scale || v->rff_no_phase || v->transpose_W || v->swap_au ||
           v->field_scale != 0 || v->scale_layer || c->from_layer || c->wrap || c->bits;
}

/* Two variants of the computation at once (no field set by both). */
static int combinable(const ref_variant *a, const ref_variant *b)
{
    int la = a->loss_sum || a->loss_no_half || a->loss_mean_all;
    int lb = b->loss_sum || b->loss_no_half || b->loss_mean_all;
    int ra = a->rff_no_scale || a->rff_no_phase, rb = b->rff_no_scale || b->rff_no_phase;
    return !(la && lb) && !(ra && rb) && !(a->h_den && b->h_den) &&
           !(a->residual_flip && b->residual_flip) && !(a->substep_h && b->substep_h) &&
           !(a->swap_scaling && b->swap_scaling) && !(a->no_mean_field && b->no_mean_field) &&
           !(a->swap_au && b->swap_au) && !(a->transpose_W && b->transpose_W);
}

static void merge(ref_variant *a, const ref_variant *b)
{
    a->loss_sum |= b->loss_sum, a->loss_no_half |= b->loss_no_half;
    a->loss_mean_all |= b->loss_mean_all, a->residual_flip |= b->residual_flip;
    a->no_mean_field |= b->no_mean_field, a->rff_no_scale |= b->rff_no_scale;
    a->rff_no_phase |= b->rff_no_phase, a->transpose_W |= b->transpose_W;
    a->swap_au |= b->swap_au, a->substep_h |= b->substep_h;
    a->swap_scaling |= b->swap_scaling;
    if (b->h_den)
        a->h_den = b->h_den;
}

/* A structural hypothesis computed in a lower precision than declared:
 * the candidate's error against it is that of the format's own run of it
 * (the low_precision test around a variant instead of the contract). */
static int try_lower_precision(search *S, const no_diag_case *c, const char *cause,
                               const char *variant)
{
    for (size_t f = 0; f < sizeof lower / sizeof lower[0]; f++) {
        if (!(ldexp(1.0, (int)-lower[f].bits) > S->u))
            continue;
        no_diag_case lo = *c;
        lo.bits = lower[f].bits;
        no_arrays hi, hl;
        if (timed_run(S, c, S->prec, &hi))
            return -1;
        if (timed_run(S, &lo, S->prec, &hl)) {
            no_arrays_free(&hi);
            return -1;
        }
        double e_c = no_diag_match(S->cand, &hi), e_fmt = match_provided(S->cand, &hl, &hi);
        int spread = spread_like_rounding(S->cand, &hl, &hi) &&
                     representable_fraction(S->cand, lower[f].bits) >= 0.5;
        no_arrays_free(&hi);
        no_arrays_free(&hl);
        double lost = log2(e_c / e_fmt);
        if (spread && isfinite(e_c) && e_fmt > 0 && isfinite(e_fmt) &&
            e_c <= NO_DIAG_ENVELOPE_MAX &&
            lost >= -NO_DIAG_ENVELOPE_BITS && lost <= log2(envelope_factor(S->tol))) {
            S->rank = RANK_PAIR, S->match = e_c, S->mtol = INFINITY, S->chosen = *c;
            snprintf(S->cause, sizeof S->cause, "%s", cause);
            snprintf(S->variant, sizeof S->variant, "%s", variant);
            char text[200];
            snprintf(text, sizeof text,
                     "computed in %s: the candidate's error %.3e against %s is that of a "
                     "%.1f-bit computation",
                     lower[f].name, e_c, cause, (double)lower[f].bits - lost);
            detail_add(S->d, text);
            return 0;
        }
    }
    return 0;
}

/* The gap of adjoint kind c to the problem's, and its order from m and 2m. */
static void adjoint_gap(search *S, const no_diag_case *c)
{
    const no_spec *s = &S->p->spec;
    no_arrays h, h2, c2;
    if (no_diag_run_case(S->p, S->setup, c, S->prec, &h, S->err, S->len))
        return;
    no_diagnosis *d = S->d;
    d->gap = grad_gap(&h, S->ref);
    no_arrays_free(&h);
    if (!(S->setup && S->setup->grid) && s->m <= NO_MAX_SUBSTEPS / 2) {
        no_problem q = *S->p;
        q.spec.m = 2 * s->m;
        if (!no_diag_run_case(&q, NULL, c, S->prec, &h2, S->err, S->len)) {
            no_diag_case none = {0};
            if (!no_diag_run_case(&q, NULL, &none, S->prec, &c2, S->err, S->len)) {
                d->order = log2(d->gap / grad_gap(&h2, &c2));
                no_arrays_free(&c2);
            }
            no_arrays_free(&h2);
        }
    }
    char text[160];
    snprintf(text, sizeof text,
             "%s-minus-%s gradient gap %.3e of the gradient's norm, fitted order %.2f (m and 2m)",
             c->cause, adjoint_cause(s->adjoint), d->gap, d->order);
    detail_add(d, text);
}

/* The low_precision hypothesis of the contract (every input and primitive
 * rounded to a lower format's bits), measured: named when the candidate's
 * error is that format's error within the envelope.  Checked from the
 * narrowest envelope up, so a float32 candidate is named float32. */
static int try_contract_precision(search *S)
{
    no_diagnosis *d = S->d;
    for (size_t f = 0; f < sizeof lower / sizeof lower[0]; f++) {
        if (!(ldexp(1.0, (int)-lower[f].bits) > S->u))
            continue;
        no_arrays h;
        no_diag_case c = {0};
        c.bits = lower[f].bits;
        if (timed_run(S, &c, S->prec, &h))
            return -1;
        double mt = no_diag_match(S->cand, &h), e_fmt = match_provided(S->cand, &h, S->ref);
        int spread = spread_like_rounding(S->cand, &h, S->ref) &&
                     representable_fraction(S->cand, lower[f].bits) >= 0.5;
        add(d, "low_precision", lower[f].name, mt);
        no_arrays_free(&h);
        double lost = log2(d->contract_match / e_fmt); /* bits the candidate lost vs the run */
        /* (a run whose error is not finite is no envelope: NaN fails every test) */
        if (S->rank == RANK_NONE && spread && isfinite(mt) && e_fmt > 0 && isfinite(e_fmt) &&
            d->contract_match <= NO_DIAG_ENVELOPE_MAX && lost >= -NO_DIAG_ENVELOPE_BITS &&
            lost <= log2(envelope_factor(S->tol))) {
            S->rank = RANK_GLOBAL, S->match = mt, S->mtol = INFINITY;
            snprintf(S->cause, sizeof S->cause, "low_precision");
            snprintf(S->variant, sizeof S->variant, "%s", lower[f].name);
            char text[200];
            snprintf(text, sizeof text,
                     "the candidate's error %.3e is that of a %.1f-bit computation: %s "
                     "(%ld bits), whose emulation by the reference errs by %.3e",
                     d->contract_match, (double)lower[f].bits - lost, lower[f].name,
                     lower[f].bits, e_fmt);
            detail_add(d, text);
            return 0;
        }
    }
    return 0;
}

/* Forward correct, the adjoint (or the gradient blocks) correct above
 * layer k and wrong from k down: a backward error located, named when no
 * computation explains the candidate. */
static void locate_backward(search *S)
{
    const no_spec *s = &S->p->spec;
    no_diagnosis *d = S->d;
    if (!forward_ok(S->cand, S->ref, S->tol))
        return;
    long k = d->adjoint_layer;
    const char *where = "adjoint";
    if (k < 0 && !no_arrays_get(S->cand, "adjoint")) {
        k = gradient_layer(s, S->cand, S->ref, S->tol);
        where = "gradient";
    }
    if (k < 0)
        return;
    S->rank = RANK_LOCATED, S->layer = k, S->match = NAN, S->mtol = INFINITY;
    snprintf(S->cause, sizeof S->cause, "backward_error");
    snprintf(S->variant, sizeof S->variant, "k=%ld", k);
    char text[200];
    snprintf(text, sizeof text,
             "the forward pass is within tolerance; the %s is within tolerance above layer %ld "
             "and wrong at layer %ld (the backward pass goes wrong there)",
             where, k, k);
    detail_add(d, text);
}

int no_diagnose(const no_problem *p, const ref_setup *setup, const no_arrays *cand,
                const no_arrays *ref, const no_tol_model *tol, long prec, no_diagnosis *d,
                char *err, size_t len)
{
    memset(d, 0, sizeof *d);
    const no_spec *s = &p->spec;
    d->contract_match = no_diag_match(cand, ref);
    d->tol = worst_tol(tol, ref, cand);
    d->match = NAN;
    d->gap = d->order = d->factor = d->ratio = d->nearest_match = NAN;
    d->layer = d->states_layer = d->adjoint_layer = -1;
    snprintf(d->cause, sizeof d->cause, "unknown");

    /* A reference that overflows double (W = 1e300, X = 1e308) or a
     * candidate with a NaN gives nothing to measure: every match would be
     * NaN, and naming a cause from them would be a guess. */
    const no_array *bad;
    size_t bad_i;
    if (first_nonfinite(ref, cand, &bad, &bad_i)) {
        explain_nonfinite(d, "reference", bad, bad_i);
        return 0;
    }
    if (first_nonfinite(cand, cand, &bad, &bad_i)) {
        explain_nonfinite(d, "candidate", bad, bad_i);
        return 0;
    }

    /* The measured facts, whatever is found. */
    d->states_layer = states_layer(s, cand, ref, tol);
    d->adjoint_layer = adjoint_layer(s, cand, ref, tol);
    d->ratio = constant_ratio(cand, ref, tol);

    search S = {0};
    S.p = p, S.setup = setup, S.cand = cand, S.ref = ref, S.tol = tol, S.prec = prec;
    S.u = tol->u, S.d = d, S.err = err, S.len = len;
    S.rank = RANK_NONE, S.match = INFINITY, S.layer = -1, S.factor = NAN;

    /* Rank by rank, simplest first; a rank that explains the candidate ends
     * the search (a later one could only be a more complicated account). */
    no_diag_case cases[NO_DIAG_MAX];
    int n = no_diag_cases(s, setup && setup->grid, cases);
    /* Rank 0's outputs are kept: the pairs reuse them. */
    no_arrays kept[NO_DIAG_MAX];
    int have[NO_DIAG_MAX] = {0}, rc = -1;
    for (int i = 0; i < n; i++) {
        if (cases[i].kind != NO_DIAG_GLOBAL && cases[i].kind != NO_DIAG_ADJOINT)
            continue;
        if (timed_run(&S, &cases[i], S.prec, &kept[i]))
            goto out;
        have[i] = 1;
        weigh(&S, &cases[i], cases[i].cause, cases[i].variant, RANK_GLOBAL, NAN, -1, &kept[i], 1);
    }
    if (S.rank == RANK_NONE) {
        no_diag_case none = {0};
        try_loss_factor(&S, &none, NULL, ref, RANK_SIMPLE);
        for (int i = 0; i < n; i++)
            if (cases[i].kind == NO_DIAG_LAYOUT &&
                try_case(&S, &cases[i], cases[i].cause, cases[i].variant, RANK_SIMPLE, NAN, -1,
                         1))
                goto out;
        /* If any exist, a transposition of the other 2-D gradient (mlp: u). */
        if (s->family == NO_FAMILY_MLP) {
            no_diag_case c = {0};
            c.cause = "transposed_gradient", c.kind = NO_DIAG_LAYOUT, c.transpose_grad = 2;
            if (try_case(&S, &c, c.cause, "grad_u", RANK_SIMPLE, NAN, -1, 0))
                goto out;
        }
    }
    /* Rounding of the contract in a lower format than declared, before the
     * searches: no search beats an envelope of the contract itself. */
    if (S.rank == RANK_NONE && try_contract_precision(&S))
        goto out;
    /* A candidate whose forward pass is right cannot be explained by a
     * hypothesis that changes it: the layer-local and fitted field searches
     * are skipped (they are most of the diagnosis's time). */
    int fw_ok = forward_ok(cand, ref, tol);
    if (S.rank == RANK_NONE && !fw_ok && search_layers(&S))
        goto out;
    if (S.rank == RANK_NONE && !fw_ok && !over_budget(&S) &&
        (search_fitted(&S, NULL, "field_scale", RANK_FITTED, 0) ||
         search_fitted(&S, NULL, "layer_scale", RANK_FITTED, 1)))
        goto out;
    if (S.rank == RANK_NONE) {
        /* Pairs: two variants of the computation; a variant with a factor
         * on the loss; a variant of the field with a fitted field factor. */
        for (int i = 0; i < n && !over_budget(&S); i++) {
            if (cases[i].kind != NO_DIAG_GLOBAL || (fw_ok && changes_forward(&cases[i])))
                continue;
            const ref_variant *lv = &cases[i].v; /* a loss variant times a factor is
                                                    loss_scaled, already tried */
            if (have[i] && !(lv->loss_sum || lv->loss_no_half || lv->loss_mean_all))
                try_loss_factor(&S, &cases[i], cases[i].cause, &kept[i], RANK_PAIR);
            for (int j = i + 1; j < n && !over_budget(&S); j++) {
                if (cases[j].kind != NO_DIAG_GLOBAL || !combinable(&cases[i].v, &cases[j].v) ||
                    (fw_ok && changes_forward(&cases[j])))
                    continue;
                no_diag_case c = cases[i];
                merge(&c.v, &cases[j].v);
                char name[64], var[64];
                snprintf(name, sizeof name, "%s+%s", cases[i].cause, cases[j].cause);
                snprintf(var, sizeof var, "%s%s%s", cases[i].variant ? cases[i].variant : "",
                         cases[i].variant && cases[j].variant ? "," : "",
                         cases[j].variant ? cases[j].variant : "");
                if (try_case(&S, &c, name, var, RANK_PAIR, NAN, -1, 0))
                    goto out;
            }
            const ref_variant *v = &cases[i].v;
            if (!fw_ok && (v->rff_no_phase || v->rff_no_scale || v->no_mean_field ||
                           v->swap_au || v->transpose_W)) {
                char name[32];
                snprintf(name, sizeof name, "%s+field_scale", cases[i].cause);
                if (search_fitted(&S, &cases[i], name, RANK_PAIR, 0))
                    goto out;
            }
        }
    }
    /* A computation that explains the candidate in a lower precision. */
    if (S.rank == RANK_NONE && S.have_nearest && !S.nearest.bits &&
        try_lower_precision(&S, &S.nearest, S.near_cause, S.near_variant))
        goto out;
    if (S.rank == RANK_NONE)
        locate_backward(&S);

    d->found = S.rank != RANK_NONE;
    if (d->found) {
        snprintf(d->cause, sizeof d->cause, "%s", S.cause);
        snprintf(d->variant, sizeof d->variant, "%s", S.variant);
        d->match = S.match;
        d->factor = S.factor;
        d->layer = S.layer;
        if (S.rank != RANK_LOCATED)
            d->tol = isfinite(S.mtol) ? S.mtol : d->tol;
        if (S.chosen.kind == NO_DIAG_ADJOINT && S.chosen.adjoint)
            adjoint_gap(&S, &S.chosen);
        /* Hypotheses that coincide on this problem (e.g. M = L makes a
         * missing 1/M and a missing 1/L the same computation) are named,
         * not hidden. */
        for (int i = 0; i < S.nexpl; i++)
            if (strcmp(S.expl[i].cause, S.cause) &&
                S.expl[i].match <= fmax(2 * S.match, 16 * S.u)) {
                char text[96];
                snprintf(text, sizeof text,
                         "equally matches %s (indistinguishable on this problem)",
                         S.expl[i].cause);
                detail_add(d, text);
            }
    } else {
        if (isfinite(d->ratio)) {
            char text[96];
            snprintf(text, sizeof text, "every array is %.6g times the reference's", d->ratio);
            detail_add(d, text);
        }
    }
    if (S.skipped)
        detail_add(d, "searches stopped: the reference time budget was spent");
    /* Hypotheses whose own outputs overflow double: say so, as they could
     * not be measured (a bug that overflows would show in the candidate). */
    char skipped[160] = "";
    for (int i = 0; i < d->nhyp; i++)
        if (isnan(d->hyp[i].match)) {
            size_t l = strlen(skipped);
            snprintf(skipped + l, sizeof skipped - l, "%s%s%s%s%s", l ? ", " : "",
                     d->hyp[i].cause, d->hyp[i].variant[0] ? "[" : "", d->hyp[i].variant,
                     d->hyp[i].variant[0] ? "]" : "");
        }
    if (skipped[0]) {
        char text[200];
        snprintf(text, sizeof text, "not computable (outputs not finite): %s", skipped);
        detail_add(d, text);
    }
    if (d->states_layer >= 0) {
        char text[64];
        snprintf(text, sizeof text, "states diverge from layer %ld (of %zu)", d->states_layer,
                 s->L);
        detail_add(d, text);
    }
    if (d->adjoint_layer >= 0 && strcmp(d->cause, "backward_error")) {
        char text[64];
        snprintf(text, sizeof text, "adjoint diverges from layer %ld down", d->adjoint_layer);
        detail_add(d, text);
    }
    rc = 0;
out:
    for (int i = 0; i < n; i++)
        if (have[i])
            no_arrays_free(&kept[i]);
    return rc;
}
