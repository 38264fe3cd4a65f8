/* diagnose.c - see diagnose.h and docs/check.md. */
#include "diagnose.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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

typedef no_diag_case variant_case;

/* The variants that apply to this problem (docs/check.md's table).  The
 * step variants need the uniform grid: a replayed grid fixes every step. */
static int variant_cases(const no_spec *s, int grid, variant_case out[NO_DIAG_MAX])
{
    int n = 0;
    memset(out, 0, NO_DIAG_MAX * sizeof *out);
    out[n].cause = "missing_1_over_N", out[n++].v.loss_sum = 1;
    out[n].cause = "missing_half", out[n++].v.loss_no_half = 1;
    /* torch.nn.MSELoss(): the contract x 2/d_out, so the contract itself
     * when d_out = 2 (nothing to name) and missing_half when d_out = 1 (run:
     * the report then says the two coincide). */
    if (s->d_out != 2)
        out[n].cause = "mean_over_outputs", out[n++].v.loss_mean_all = 1;
    out[n].cause = "sign_flip", out[n++].v.residual_flip = 1;
    if (!grid) { /* h = 1/n (ode) or 1/sqrt(n) (sqrt), n = 1 or L +- 1 */
        if (s->L > 1)
            out[n].cause = "missing_1_over_L", out[n++].v.h_den = 1;
        out[n].cause = "depth_off_by_one", out[n].variant = "L+1", out[n++].v.h_den = s->L + 1;
        if (s->L > 2)
            out[n].cause = "depth_off_by_one", out[n].variant = "L-1",
            out[n++].v.h_den = s->L - 1;
    }
    if (s->family == NO_FAMILY_MLP && s->M > 1)
        out[n].cause = "missing_1_over_M", out[n++].v.no_mean_field = 1;
    if (s->family == NO_FAMILY_MLP)
        out[n].cause = "transposed_weights", out[n].variant = "a<->u", out[n++].v.swap_au = 1;
    if (s->family == NO_FAMILY_RFF) {
        if (s->q != 2)
            out[n].cause = "missing_rff_scale", out[n++].v.rff_no_scale = 1;
        out[n].cause = "rff_no_phase", out[n++].v.rff_no_phase = 1;
    }
    if (s->family == NO_FAMILY_LINEAR)
        out[n].cause = "transposed_weights", out[n].variant = "W^T",
        out[n++].v.transpose_W = 1;
    return n;
}

/* The lower precisions low_precision tries, narrowest envelope first, so a
 * float32 candidate is named float32, not bfloat16. */
static const struct {
    const char *name;
    long bits;
} lower[] = {{"float32", 24}, {"bfloat16", 8}};

int no_diag_cases(const no_spec *s, int grid, no_diag_case out[NO_DIAG_MAX])
{
    int n = variant_cases(s, grid, out);
    out[n].cause = s->adjoint == NO_ADJOINT_DISCRETE ? "continuous_adjoint" : "discrete_adjoint";
    out[n++].other_adjoint = 1;
    for (size_t f = 0; f < sizeof lower / sizeof lower[0]; f++) {
        out[n].cause = "low_precision", out[n].variant = lower[f].name;
        out[n++].bits = lower[f].bits;
    }
    return n;
}

int no_diag_run_case(const no_problem *p, const ref_setup *setup, const no_diag_case *c,
                     long prec, no_arrays *out, char *err, size_t len)
{
    const no_spec *s = &p->spec;
    no_adjoint adj = s->adjoint;
    if (c->other_adjoint)
        adj = adj == NO_ADJOINT_DISCRETE ? NO_ADJOINT_CONTINUOUS : NO_ADJOINT_DISCRETE;
    return run_hypothesis(p, setup, &c->v, adj, s->m, c->bits > 0 ? c->bits : prec, out, err,
                          len);
}

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

/* Relative size of the continuous-minus-discrete gap of the gradients. */
static double grad_gap(const no_arrays *a, const no_arrays *b)
{
    double g = 0;
    for (int i = 0; i < a->count; i++)
        if (!strncmp(a->a[i].name, "grad_", 5)) {
            g = fmax(g, match_one(&a->a[i], b));
        }
    return g;
}

/* The first layer at which the candidate's states leave the tolerance. */
static void diverging_layer(const no_problem *p, const no_arrays *cand, const no_arrays *ref,
                            const no_tol_model *t, no_diagnosis *d)
{
    const no_array *cs = no_arrays_get(cand, "states"), *rs = no_arrays_get(ref, "states");
    if (!cs || !rs || cs->n != rs->n)
        return;
    double tol = no_tol_for(t, "states"), rmax = 0;
    for (size_t e = 0; e < rs->n; e++)
        rmax = fmax(rmax, fabs(rs->v[e]));
    size_t per = p->spec.N * p->spec.D;
    for (size_t k = 0; k <= p->spec.L; k++)
        for (size_t e = k * per; e < (k + 1) * per; e++)
            if (!(fabs(cs->v[e] - rs->v[e]) <= tol * rmax)) {
                size_t len = strlen(d->detail);
                snprintf(d->detail + len, sizeof d->detail - len,
                         "%sstates diverge from layer %zu (of %zu)", len ? "; " : "", k,
                         p->spec.L);
                return;
            }
}

/* Append "; text" (or text) to d->detail. */
static void detail_add(no_diagnosis *d, const char *text)
{
    size_t l = strlen(d->detail);
    snprintf(d->detail + l, sizeof d->detail - l, "%s%s", l ? "; " : "", text);
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
    const double u = tol->u;

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

    double best = INFINITY, best_tol = 0;
    int best_i = -1; /* the best hypothesis in d->hyp */
    variant_case vc[NO_DIAG_MAX];
    int nv = variant_cases(s, setup && setup->grid, vc);
    for (int i = 0; i < nv; i++) {
        no_arrays h;
        if (run_hypothesis(p, setup, &vc[i].v, s->adjoint, s->m, prec, &h, err, len))
            return -1;
        double mt = no_diag_match(cand, &h); /* NaN (not computable) is never < best */
        int k = add(d, vc[i].cause, vc[i].variant, mt);
        if (mt < best)
            best = mt, best_i = k, best_tol = tol_of_worst(p, &h, cand, u);
        no_arrays_free(&h);
    }

    /* The other adjoint kind; its gap and order from m and 2m (no grid). */
    no_adjoint other = s->adjoint == NO_ADJOINT_DISCRETE ? NO_ADJOINT_CONTINUOUS
                                                         : NO_ADJOINT_DISCRETE;
    no_arrays h, h2, c2;
    if (run_hypothesis(p, setup, NULL, other, s->m, prec, &h, err, len))
        return -1;
    double mt = no_diag_match(cand, &h), gap = grad_gap(&h, ref);
    const char *adj_cause = other == NO_ADJOINT_CONTINUOUS ? "continuous_adjoint"
                                                           : "discrete_adjoint";
    int k = add(d, adj_cause, NULL, mt);
    if (mt < best) {
        best = mt, best_i = k, best_tol = tol_of_worst(p, &h, cand, u);
        double order = NAN;
        if (!(setup && setup->grid) && s->m <= NO_MAX_SUBSTEPS / 2 &&
            !run_hypothesis(p, NULL, NULL, other, 2 * s->m, prec, &h2, err, len)) {
            if (!run_hypothesis(p, NULL, NULL, s->adjoint, 2 * s->m, prec, &c2, err, len)) {
                order = log2(gap / grad_gap(&h2, &c2));
                no_arrays_free(&c2);
            }
            no_arrays_free(&h2);
        }
        snprintf(d->detail, sizeof d->detail,
                 "continuous-minus-discrete gradient gap %.3e of the gradient's norm, "
                 "fitted order %.2f (m and 2m)",
                 gap, order);
    }
    no_arrays_free(&h);

    /* The rounding envelope of a lower precision than declared, measured:
     * the reference itself computes in that precision (every input and
     * primitive rounded to its bits) and the candidate's error is set
     * against that run's error.  Checked from the narrowest envelope up, so
     * a float32 candidate is named float32, not bfloat16. */
    for (size_t f = 0; f < sizeof lower / sizeof lower[0]; f++) {
        if (!(ldexp(1.0, (int)-lower[f].bits) > u))
            continue;
        if (run_hypothesis(p, setup, NULL, s->adjoint, s->m, lower[f].bits, &h, err, len))
            return -1;
        double mt = no_diag_match(cand, &h), e_fmt = match_provided(cand, &h, ref);
        int k = add(d, "low_precision", lower[f].name, mt);
        no_arrays_free(&h);
        double lost = log2(d->contract_match / e_fmt); /* bits the candidate lost vs the run */
        /* (a run whose error is not finite is no envelope: NaN fails every test) */
        if (!(best <= best_tol) && isfinite(mt) && e_fmt > 0 && isfinite(e_fmt) &&
            d->contract_match <= NO_DIAG_ENVELOPE_MAX && lost >= -NO_DIAG_ENVELOPE_BITS &&
            lost <= log2(envelope_factor(tol))) {
            best = mt, best_i = k, best_tol = INFINITY;
            snprintf(d->detail, sizeof d->detail,
                     "the candidate's error %.3e is that of a %.1f-bit computation: %s "
                     "(%ld bits), whose emulation by the reference errs by %.3e",
                     d->contract_match, (double)lower[f].bits - lost, lower[f].name,
                     lower[f].bits, e_fmt);
        }
    }

    d->match = best_i >= 0 ? best : NAN;
    d->found = best_i >= 0 && (best <= best_tol || best * 100 <= d->contract_match);
    const no_hypothesis *bh = d->found ? &d->hyp[best_i] : NULL;
    snprintf(d->cause, sizeof d->cause, "%s", bh ? bh->cause : "unknown");
    snprintf(d->variant, sizeof d->variant, "%s", bh ? bh->variant : "");
    /* Hypotheses that coincide on this problem (e.g. M = L makes a missing 1/M
     * and a missing 1/L the same computation) are named, not hidden.  Not
     * for low_precision: an envelope is a size, not a computation to match. */
    if (bh && strcmp(bh->cause, "low_precision"))
        for (int i = 0; i < d->nhyp; i++) {
            const no_hypothesis *h = &d->hyp[i];
            /* "equally": within a factor 2 of the best, or both at rounding level */
            if (strcmp(h->cause, bh->cause) && h->match <= fmax(2 * best, 16 * u) &&
                strcmp(h->cause, "low_precision")) {
                char text[96];
                snprintf(text, sizeof text,
                         "equally matches %s (indistinguishable on this problem)", h->cause);
                detail_add(d, text);
            }
        }
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
    diverging_layer(p, cand, ref, tol, d);
    return 0;
}
