/* diagnose_families: the structured hypotheses of the diagnosis (issue 8,
 * item 3; docs/check.md, "Diagnosis"), each named from a candidate built
 * independently of the hypothesis' own code where possible:
 *
 *  - layer-local bugs (a sign, a factor, another layer's parameters) are
 *    built by fast/ on an edited problem (W_k negated, tripled, or replaced
 *    by W_{k+1}) with the chain rule applied to its gradient, as automatic
 *    differentiation of the buggy program gives it; the diagnosis computes
 *    them in ref/ by scaling layer k's steps or remapping parameters, so the
 *    two constructions are independent;
 *  - step-size confusions (h for h/m, the other scaling's h) and the
 *    backsolve adjoint are the reference's own variants (their candidates
 *    can only be computed by a reference of the variant);
 *  - reductions (a loss factor 1/d_out: 0.5 * mean over all elements) and
 *    layouts (a transposed gradient block, grad_a and grad_u exchanged) are
 *    the contract's arrays edited;
 *  - a backward pass wrong from layer k (fast/'s adjoint and gradient
 *    blocks spoiled below k) is located, and an unexplained error reports
 *    its measured facts and nothing that reads like a cause.
 *
 * Sizes: L = 5, m = 2, d_out = 3, q = 5, M = 4 keep the causes apart (a
 * field x2 = substep_size, x sqrt(5) = wrong_scaling, x sqrt(5/2) = no rff
 * scale, x4 = no 1/M, x5 = no 1/L: all distinct).  A cause is named only
 * when it explains the candidate within the float64 tolerance, so every
 * candidate here is exact to rounding. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "diagnose.h"
#include "fast.h"
#include "test_util.h"

static void family_problem(no_problem *p, int v, no_scheme_id scheme, uint64_t seed)
{
    no_spec s;
    no_test_spec(&s, v, scheme, 2, seed);
    s.L = 5;
    s.d_out = 3;
    char err[256];
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

/* fast/'s outputs for the family problem (v, scheme, seed): a correct
 * candidate, to be spoiled by a test. */
static void fast_candidate(no_problem *p, int v, no_scheme_id scheme, uint64_t seed,
                           no_arrays *cand)
{
    char err[256];
    family_problem(p, v, scheme, seed);
    cr_assert_eq(fast_run(p, cand, err, sizeof err), 0, "%s", err);
}

static void diagnose(const no_problem *p, const no_arrays *cand, no_diagnosis *d)
{
    no_arrays ref, bits;
    char err[256];
    cr_assert_eq(ref_certify(p, 128, &ref, &bits, err, sizeof err), 0, "%s", err);
    no_tol_model tol;
    cr_assert_eq(no_tol_model_init(&tol, p, &ref, 0x1.0p-53), 0);
    cr_assert_eq(no_diagnose(p, NULL, cand, &ref, &tol, 128, d, err, sizeof err), 0, "%s", err);
    cr_log_info("%s [%s] match %.3e factor %g layer %ld: %s", d->cause, d->variant, d->match,
                d->factor, d->layer, d->detail);
    no_arrays_free(&ref);
    no_arrays_free(&bits);
}

static void expect(const no_diagnosis *d, const char *cause)
{
    cr_expect(d->found, "%s: nothing named (nearest %s at %.3e; %s)", cause, d->nearest,
              d->nearest_match, d->detail);
    cr_expect_str_eq(d->cause, cause, "expected %s, named %s [%s] (%s)", cause, d->cause,
                     d->variant, d->detail);
}

/* The first parameter array (W, or a for mlp) of layer k: per-layer block. */
static double *block(const no_problem *p, double *base, size_t k)
{
    no_param_info pi[NO_MAX_PARAMS];
    no_spec_params(&p->spec, pi);
    return base + k * pi[0].per_layer;
}

/* fast/ on p with layer k's first parameter array times c (linear, rff: W;
 * mlp: a, which the field is linear in), gradient of the program that
 * multiplies: d/dW_k = c * (the gradient at the scaled W). */
static void fast_layer_scaled(const no_problem *p, size_t k, double c, no_arrays *out)
{
    no_problem q;
    char err[256];
    cr_assert_eq(no_problem_copy(&q, p), 0);
    no_param_info pi[NO_MAX_PARAMS];
    no_spec_params(&p->spec, pi);
    double *w = block(&q, no_problem_param(&q, pi[0].name), k);
    for (size_t e = 0; e < pi[0].per_layer; e++)
        w[e] *= c;
    cr_assert_eq(fast_run(&q, out, err, sizeof err), 0, "%s", err);
    for (int pre = 0; pre < 2; pre++) {
        char name[NO_NAME_LEN];
        snprintf(name, sizeof name, "%s_%s", pre ? "mgrad" : "grad", pi[0].name);
        no_array *g = no_arrays_find(out, name);
        cr_assert(g);
        for (size_t e = 0; e < pi[0].per_layer; e++)
            g->v[k * pi[0].per_layer + e] *= c;
    }
    no_problem_free(&q);
}

static void expect_layer_scale(int v, double c, const char *cause)
{
    no_problem p;
    family_problem(&p, v, NO_SCHEME_RK4, 31);
    no_arrays cand;
    fast_layer_scaled(&p, 2, c, &cand);
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, cause);
    cr_expect_eq(d.layer, 2, "layer %ld", d.layer);
    if (c != -1)
        cr_expect(fabs(d.factor - c) <= 1e-9 * fabs(c), "factor %.17g, not %g", d.factor, c);
    no_arrays_free(&cand);
    no_problem_free(&p);
}

Test(diagnose_families, sign_confined_to_one_layer) { expect_layer_scale(0, -1, "layer_sign"); }
Test(diagnose_families, scale_confined_to_one_layer_rff) { expect_layer_scale(1, 3, "layer_scale"); }
Test(diagnose_families, scale_confined_to_one_layer_mlp) { expect_layer_scale(3, 3, "layer_scale"); }

/* Layer 1 computed with layer 2's parameters (params[k + 1] at k = 1): its
 * gradient lands in layer 2's block, layer 1's is zero. */
Test(diagnose_families, parameters_of_the_next_layer)
{
    no_problem p, q;
    family_problem(&p, 3, NO_SCHEME_EULER, 32);
    cr_assert_eq(no_problem_copy(&q, &p), 0);
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(&p.spec, pi);
    for (int a = 0; a < np; a++) {
        double *x = no_problem_param(&q, pi[a].name);
        memcpy(x + 1 * pi[a].per_layer, x + 2 * pi[a].per_layer, pi[a].per_layer * sizeof *x);
    }
    no_arrays cand;
    char err[256];
    cr_assert_eq(fast_run(&q, &cand, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < cand.count; i++) {
        no_array *g = &cand.a[i];
        if (strncmp(g->name, "grad_", 5) && strncmp(g->name, "mgrad_", 6))
            continue;
        size_t per = g->n / p.spec.L;
        for (size_t e = 0; e < per; e++) {
            g->v[2 * per + e] += g->v[1 * per + e];
            g->v[1 * per + e] = 0;
        }
    }
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, "layer_params");
    cr_expect_eq(d.layer, 1);
    cr_expect_str_eq(d.variant, "k=1 uses 2");
    no_arrays_free(&cand);
    no_problem_free(&q);
    no_problem_free(&p);
}

/* A reference variant as the candidate (rounded to double). */
static void expect_variant(int v, no_scheme_id scheme, const ref_variant *var, no_adjoint adj,
                           const char *cause)
{
    no_problem p;
    family_problem(&p, v, scheme, 33);
    no_problem q = p;
    q.spec.adjoint = adj;
    no_arrays cand;
    no_test_ref_doubles(&q, var, 128, &cand);
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, cause);
    no_arrays_free(&cand);
    no_problem_free(&p);
}

Test(diagnose_families, substep_h_instead_of_h_over_m)
{
    ref_variant v = {0};
    v.substep_h = 1;
    expect_variant(1, NO_SCHEME_RK4, &v, NO_ADJOINT_DISCRETE, "substep_size");
}

Test(diagnose_families, step_of_the_other_scaling)
{
    ref_variant v = {0};
    v.swap_scaling = 1;
    expect_variant(3, NO_SCHEME_EULER, &v, NO_ADJOINT_DISCRETE, "wrong_scaling");
}

/* A backsolve candidate on a discrete-adjoint problem: named, with its gap
 * and the order fitted from m and 2m (RK4: 4; the fit is the slope of two
 * points, so a margin of 0.5). */
Test(diagnose_families, backsolve_candidate_named_with_gap_and_order)
{
    no_problem p;
    family_problem(&p, 3, NO_SCHEME_RK4, 34);
    no_problem q = p;
    q.spec.adjoint = NO_ADJOINT_BACKSOLVE;
    no_arrays cand;
    no_test_ref_doubles(&q, NULL, 128, &cand);
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, "backsolve_adjoint");
    cr_expect(d.gap > 0 && d.gap < 1e-2, "gap %g", d.gap);
    cr_expect(fabs(d.order - 4) <= 0.5, "order %g", d.order);
    no_arrays_free(&cand);
    no_problem_free(&p);
}

/* 0.5 * mean over all N d_out squared errors = the contract x 1/d_out. */
Test(diagnose_families, half_mean_loss_factor)
{
    no_problem p;
    no_arrays cand;
    fast_candidate(&p, 0, NO_SCHEME_RK4, 35, &cand);
    for (int i = 0; i < cand.count; i++) {
        no_array *a = &cand.a[i];
        if (!strcmp(a->name, "loss") || !strcmp(a->name, "adjoint") ||
            !strncmp(a->name, "grad_", 5) || !strncmp(a->name, "mgrad_", 6))
            for (size_t e = 0; e < a->n; e++)
                a->v[e] /= 3;
    }
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, "loss_scaled");
    cr_expect(fabs(d.factor - 1.0 / 3) <= 1e-12, "factor %.17g", d.factor);
    cr_expect_str_eq(d.variant, "x1/3");
    no_arrays_free(&cand);
    no_problem_free(&p);
}

/* Each layer's W gradient block written transposed (rff: D x q as q x D). */
Test(diagnose_families, transposed_gradient_blocks)
{
    no_problem p;
    no_arrays cand;
    fast_candidate(&p, 1, NO_SCHEME_EULER, 36, &cand);
    no_array *g = no_arrays_find(&cand, "grad_W");
    size_t r = p.spec.D, c = p.spec.q;
    double t[64];
    cr_assert_leq(r * c, 64);
    for (size_t k = 0; k < p.spec.L; k++) {
        double *b = g->v + k * r * c;
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < c; j++)
                t[j * r + i] = b[i * c + j];
        memcpy(b, t, r * c * sizeof *t);
    }
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, "transposed_gradient");
    no_arrays_free(&cand);
    no_problem_free(&p);
}

Test(diagnose_families, swapped_gradient_arrays)
{
    no_problem p;
    no_arrays cand;
    fast_candidate(&p, 4, NO_SCHEME_EULER, 37, &cand);
    no_array *a = no_arrays_find(&cand, "grad_a"), *u = no_arrays_find(&cand, "grad_u");
    double *t = a->v;
    a->v = u->v, u->v = t;
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, "swapped_arrays");
    a = no_arrays_find(&cand, "grad_a"), u = no_arrays_find(&cand, "grad_u");
    t = a->v, a->v = u->v, u->v = t; /* back, so each is freed once */
    no_arrays_free(&cand);
    no_problem_free(&p);
}

/* rff features sqrt(2/q) cos(Omega z): no phase, the scale kept, which is
 * rff_no_phase (cos/sqrt(q)) with the field x sqrt(2): a pair, its factor
 * fitted. */
Test(diagnose_families, rff_phase_dropped_scale_kept)
{
    no_problem p;
    family_problem(&p, 1, NO_SCHEME_EULER, 38);
    ref_variant v = {0};
    v.rff_no_phase = 1;
    v.field_scale = sqrt(2.0);
    no_arrays cand;
    no_test_ref_doubles(&p, &v, 128, &cand);
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, "rff_no_phase+field_scale");
    cr_expect(fabs(d.factor - sqrt(2.0)) <= 1e-9, "factor %.17g", d.factor);
    no_arrays_free(&cand);
    no_problem_free(&p);
}

/* The forward pass right, the backward pass wrong from layer 3 down (as a
 * stage detached there would make it): adjoint blocks 0..3 and gradient
 * blocks 0..2 spoiled by 1%. */
Test(diagnose_families, backward_error_located)
{
    no_problem p;
    no_arrays cand;
    fast_candidate(&p, 3, NO_SCHEME_RK4, 39, &cand);
    const no_spec *s = &p.spec;
    no_array *adj = no_arrays_find(&cand, "adjoint");
    for (size_t e = 0; e < 4 * s->N * s->D; e++)
        adj->v[e] *= 1.01 + 0.001 * (double)(e % 3);
    for (int i = 0; i < cand.count; i++) {
        no_array *g = &cand.a[i];
        if (strncmp(g->name, "grad_", 5) && strncmp(g->name, "mgrad_", 6))
            continue;
        for (size_t e = 0; e < 3 * (g->n / s->L); e++)
            g->v[e] *= 1.01 + 0.001 * (double)(e % 3);
    }
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, "backward_error");
    cr_expect_eq(d.layer, 3);
    cr_expect_eq(d.adjoint_layer, 3);
    cr_expect_eq(d.states_layer, -1);
    no_arrays_free(&cand);
    no_problem_free(&p);
}

/* An error no hypothesis explains (states from layer 2 on perturbed by a
 * pattern no computation produces): nothing named, the facts reported. */
Test(diagnose_families, unexplained_reports_facts_only)
{
    no_problem p;
    no_arrays cand;
    fast_candidate(&p, 0, NO_SCHEME_EULER, 40, &cand);
    const no_spec *s = &p.spec;
    no_array *st = no_arrays_find(&cand, "states");
    for (size_t e = 2 * s->N * s->D; e < st->n; e++)
        st->v[e] += 0.01 * (double)((e * 7) % 5);
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    cr_expect(!d.found, "named %s", d.cause);
    cr_expect_str_eq(d.cause, "unknown");
    cr_expect_eq(d.states_layer, 2);
    cr_expect(d.nearest[0] != 0 && d.nearest_match > d.tol, "nearest %s at %g", d.nearest,
              d.nearest_match);
    cr_expect(strstr(d.detail, "states diverge from layer 2") != NULL, "detail '%s'", d.detail);
    no_arrays_free(&cand);
    no_problem_free(&p);
}

/* The report: a backsolve candidate on a continuous-adjoint problem
 * was named low_precision[float32] ("21.4-bit computation") although every
 * file is float64.  Its gap to the continuous adjoint is small (the two
 * differ only by the backward reconstruction of the state), yet it is a
 * computation the reference runs, so it is named as such. */
Test(diagnose_families, backsolve_on_continuous_problem_is_not_float32)
{
    no_problem p;
    family_problem(&p, 1, NO_SCHEME_RK4, 41);
    p.spec.adjoint = NO_ADJOINT_CONTINUOUS;
    no_problem q = p;
    q.spec.adjoint = NO_ADJOINT_BACKSOLVE;
    no_arrays cand;
    no_test_ref_doubles(&q, NULL, 128, &cand);
    no_diagnosis d;
    diagnose(&p, &cand, &d);
    expect(&d, "backsolve_adjoint");
    cr_expect(strstr(d.detail, "float32") == NULL, "detail '%s'", d.detail);
    no_arrays_free(&cand);
    no_problem_free(&p);
}
