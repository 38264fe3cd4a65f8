/* backsolve: the third adjoint kind (proofs-notes/backsolve-adjoint.md) is
 * what it claims to be: the continuous adjoint's backward substep with the
 * state carried backward from z_L and never re-anchored, across layer
 * boundaries too.  The order of its gap to the discrete adjoint is fitted in
 * test_convergence.c and its ref-vs-fast agreement in test_ref_vs_fast.c;
 * here, what would catch a backsolve that re-anchors (at every substep,
 * i.e. continuous, or at every layer boundary), and the closed forms of the
 * linear family. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "fast.h"
#include "test_util.h"

#define PREC 160

static void ref_of(const no_spec *s, no_arrays *out)
{
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, s, err, sizeof err), 0, "%s", err);
    no_test_ref_doubles(&p, NULL, PREC, out);
    no_problem_free(&p);
}

/* max |a - b| / max |b| over entries [lo, hi) of array name. */
static double reldiff(const no_arrays *a, const no_arrays *b, const char *name, size_t lo,
                      size_t hi)
{
    const no_array *x = no_arrays_get(a, name), *y = no_arrays_get(b, name);
    cr_assert(x && y && x->n == y->n, "%s", name);
    if (hi > x->n)
        hi = x->n;
    double d = 0, n = 0;
    for (size_t e = lo; e < hi; e++) {
        d = fmax(d, fabs(x->v[e] - y->v[e]));
        n = fmax(n, fabs(y->v[e]));
    }
    return n > 0 ? d / n : d;
}

/* Largest relative difference over the gradient arrays, restricted to
 * layers [k0, k1) (each parameter array is L x ...: layer-major). */
static double grad_reldiff(const no_arrays *a, const no_arrays *b, size_t L, size_t k0, size_t k1)
{
    double d = 0;
    for (int i = 0; i < b->count; i++) {
        const no_array *y = &b->a[i];
        if (strncmp(y->name, "grad_", 5))
            continue;
        size_t per = y->n / L;
        d = fmax(d, reldiff(a, b, y->name, k0 * per, k1 * per));
    }
    return d;
}

/* Re-anchoring would make backsolve equal continuous.  At 160 bits both
 * are exact to ~1e-45 relative (ref's rounding, growth included, on these
 * L = 3 problems), so a relative difference above 1e-20 is not rounding: it
 * is the reconstruction error of the carried state, O(tau^r) (1e-9 to 1e-2
 * here).  Checked on every smooth field and several tableaux:
 *   m = 2: the last layer's gradient already differs (its second backward
 *          substep starts from a reconstructed state), and so does every
 *          earlier layer's;
 *   m = 1: the last layer's single substep starts from the forward z_L in
 *          both kinds, so layer L-1's gradient and adjoint[L-1] are the same
 *          computation, equal to the bit; earlier layers differ (the carry
 *          crosses layer boundaries; re-anchoring per layer, what a user
 *          calling odeint_adjoint once per layer gets, would make them equal
 *          at m = 1: backsolve-adjoint.md, section 5). */
Test(backsolve, not_reanchored)
{
    static const no_scheme_id schemes[] = {NO_SCHEME_EULER, NO_SCHEME_HEUN, NO_SCHEME_RK4,
                                           NO_SCHEME_DOPRI5};
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        if (v == 5)
            continue; /* relu: no smoothness needed here, but nothing new either */
        for (size_t sc = 0; sc < sizeof schemes / sizeof schemes[0]; sc++)
            for (size_t m = 1; m <= 2; m++) {
                no_spec s;
                no_test_spec(&s, v, schemes[sc], m, 11 + (uint64_t)v);
                no_arrays ct, bs;
                s.adjoint = NO_ADJOINT_CONTINUOUS;
                ref_of(&s, &ct);
                s.adjoint = NO_ADJOINT_BACKSOLVE;
                ref_of(&s, &bs);
                const char *tag = no_scheme_name(schemes[sc]), *var = no_test_variant_name(v);
                size_t L = s.L, nd = s.N * s.D;
                double last = grad_reldiff(&bs, &ct, L, L - 1, L);
                double early = grad_reldiff(&bs, &ct, L, 0, L - 1);
                cr_expect(early > 1e-20, "%s %s m=%zu: layers < L-1 equal continuous (%.3e)",
                          tag, var, m, early);
                if (m == 1) {
                    cr_expect(last == 0.0, "%s %s m=1: last layer differs (%.3e)", tag, var,
                              last);
                    cr_expect(reldiff(&bs, &ct, "adjoint", (L - 1) * nd, L * nd) == 0.0,
                              "%s %s m=1: adjoint[L-1] differs", tag, var);
                } else {
                    cr_expect(last > 1e-20, "%s %s m=2: last layer equals continuous (%.3e)",
                              tag, var, last);
                }
                /* Both start from the same p_L. */
                cr_expect(reldiff(&bs, &ct, "adjoint", L * nd, (L + 1) * nd) == 0.0);
                no_arrays_free(&ct);
                no_arrays_free(&bs);
            }
    }
}

/* The same in fast: its backsolve is not its continuous adjoint.  A fast
 * that re-anchored would also fail ref_vs_fast (ref's backsolve-continuous
 * gaps there, >= 1e-6 relative, are far above its tolerances, ~1e-10), but
 * this names the cause.  Double rounding here is ~1e-15 relative; the
 * Euler gap at m = 2 is ~1e-2, so 1e-8 separates them by orders of
 * magnitude on both sides. */
Test(backsolve, fast_not_reanchored)
{
    for (int v = 0; v < 5; v++) {
        no_spec s;
        no_test_spec(&s, v, NO_SCHEME_EULER, 2, 21 + (uint64_t)v);
        no_problem p;
        char err[256];
        cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
        no_arrays ct, bs;
        p.spec.adjoint = NO_ADJOINT_CONTINUOUS;
        cr_assert_eq(fast_run(&p, &ct, err, sizeof err), 0, "%s", err);
        p.spec.adjoint = NO_ADJOINT_BACKSOLVE;
        cr_assert_eq(fast_run(&p, &bs, err, sizeof err), 0, "%s", err);
        double d = grad_reldiff(&bs, &ct, s.L, 0, s.L);
        cr_expect(d > 1e-8, "%s: fast backsolve equals continuous (%.3e)", no_test_variant_name(v),
                  d);
        no_arrays_free(&ct);
        no_arrays_free(&bs);
        no_problem_free(&p);
    }
}

/* The linear family, Euler, in closed form (backsolve-adjoint.md, section
 * 4).  v_k(z) = W_k z, so Dv = W_k does not depend on z: every kind's
 * adjoint is p <- (I + tau W_k^T) p per substep, and the kinds differ only
 * in the state the gradient g_k += tau p zeta^T uses:
 *   continuous: zeta = the stored forward state at the substep's end;
 *   backsolve:  zeta = the carried state, zb <- (I - tau W_k) zb from z_L;
 *   per layer:  the same, zb reset to the forward z_{k+1} at each layer's
 *               end (one odeint_adjoint call per layer).
 * The recurrences are run here in double from ref's z_L, p_L and W alone
 * (the forward substep states from z_0: z <- (I + tau W_k) z).  Checked:
 *   - adjoint of backsolve = of continuous = of discrete, up to ref's
 *     rounding (all three ref runs at 160 bits: 1e-30 is far above it);
 *   - ref's backsolve grad = the backsolve recurrence, ref's continuous
 *     grad = the continuous one, within 1e-12 relative (double evaluation
 *     of O(L m) steps of size ~1 with growth <= e^Lambda ~ 10: ~1e-14);
 *   - m = 1: the per-layer recurrence equals the continuous one exactly
 *     (the same formula), so a per-layer odeint_adjoint user gets our
 *     continuous adjoint; m = 2: it differs from both continuous and
 *     backsolve by far more than 1e-12 (it is neither). */
static void linear_euler(size_t m)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, m, 5);
    s.L = 4;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    no_arrays r[NO_ADJOINT_COUNT];
    for (int a = 0; a < NO_ADJOINT_COUNT; a++) {
        p.spec.adjoint = (no_adjoint)a;
        no_test_ref_doubles(&p, NULL, PREC, &r[a]);
    }
    size_t N = s.N, D = s.D, L = s.L, nsub = L * m;
    double tau = no_spec_step(&s) / (double)m;
    for (int a = 1; a < NO_ADJOINT_COUNT; a++)
        cr_expect(reldiff(&r[a], &r[NO_ADJOINT_DISCRETE], "adjoint", 0, (L + 1) * N * D) < 1e-30,
                  "m=%zu: %s adjoint differs from discrete", m, no_adjoint_name((no_adjoint)a));

    /* Forward substep states in double, from z_0 = states[0]. */
    double *fw = calloc((nsub + 1) * N * D, sizeof *fw), *tmp = calloc(D, sizeof *tmp);
    cr_assert(fw && tmp);
    memcpy(fw, no_arrays_get(&r[0], "states")->v, N * D * sizeof *fw);
    for (size_t t = 0; t < nsub; t++) {
        const double *W = p.W + (t / m) * D * D;
        for (size_t i = 0; i < N; i++)
            for (size_t c = 0; c < D; c++) {
                double acc = 0;
                for (size_t j = 0; j < D; j++)
                    acc += W[c * D + j] * fw[(t * N + i) * D + j];
                fw[((t + 1) * N + i) * D + c] = fw[(t * N + i) * D + c] + tau * acc;
            }
    }
    /* The three recurrences: 0 continuous, 1 backsolve, 2 per layer. */
    double *g[3], *pp = calloc(N * D, sizeof *pp), *zb = calloc(N * D, sizeof *zb);
    cr_assert(pp && zb);
    for (int kind = 0; kind < 3; kind++) {
        g[kind] = calloc(L * D * D, sizeof *g[kind]);
        cr_assert(g[kind]);
        memcpy(pp, no_arrays_get(&r[0], "adjoint")->v + L * N * D, N * D * sizeof *pp);
        memcpy(zb, fw + nsub * N * D, N * D * sizeof *zb);
        for (size_t t = nsub; t-- > 0;) {
            size_t k = t / m;
            const double *W = p.W + k * D * D;
            if (kind == 2 && (t + 1) % m == 0) /* a layer's end: re-anchor */
                memcpy(zb, fw + (t + 1) * N * D, N * D * sizeof *zb);
            for (size_t i = 0; i < N; i++) {
                double *pi = pp + i * D, *zi = zb + i * D;
                const double *zeta = kind == 0 ? fw + ((t + 1) * N + i) * D : zi;
                for (size_t a = 0; a < D; a++)
                    for (size_t b = 0; b < D; b++)
                        g[kind][k * D * D + a * D + b] += tau * pi[a] * zeta[b];
                for (size_t c = 0; c < D; c++) { /* p <- p + tau W^T p */
                    double acc = 0;
                    for (size_t j = 0; j < D; j++)
                        acc += W[j * D + c] * pi[j];
                    tmp[c] = pi[c] + tau * acc;
                }
                memcpy(pi, tmp, D * sizeof *tmp);
                for (size_t c = 0; c < D; c++) { /* zb <- zb - tau W zb */
                    double acc = 0;
                    for (size_t j = 0; j < D; j++)
                        acc += W[c * D + j] * zi[j];
                    tmp[c] = zi[c] - tau * acc;
                }
                memcpy(zi, tmp, D * sizeof *tmp);
            }
        }
    }
    const no_array *gc = no_arrays_get(&r[NO_ADJOINT_CONTINUOUS], "grad_W"),
                   *gb = no_arrays_get(&r[NO_ADJOINT_BACKSOLVE], "grad_W");
    double d_c = 0, d_b = 0, d_lc = 0, d_lb = 0, nc = 0, nb = 0;
    for (size_t e = 0; e < L * D * D; e++) {
        d_c = fmax(d_c, fabs(g[0][e] - gc->v[e]));
        d_b = fmax(d_b, fabs(g[1][e] - gb->v[e]));
        d_lc = fmax(d_lc, fabs(g[2][e] - gc->v[e]));
        d_lb = fmax(d_lb, fabs(g[2][e] - gb->v[e]));
        nc = fmax(nc, fabs(gc->v[e]));
        nb = fmax(nb, fabs(gb->v[e]));
    }
    cr_expect(d_c <= 1e-12 * nc, "m=%zu: continuous grad off its recurrence by %.3e", m, d_c / nc);
    cr_expect(d_b <= 1e-12 * nb, "m=%zu: backsolve grad off its recurrence by %.3e", m, d_b / nb);
    if (m == 1) {
        cr_expect(d_lc <= 1e-12 * nc, "m=1: per-layer re-anchoring is not continuous (%.3e)",
                  d_lc / nc);
    } else {
        cr_expect(d_lc > 1e-6 * nc, "m=%zu: per-layer equals continuous (%.3e)", m, d_lc / nc);
        cr_expect(d_lb > 1e-6 * nb, "m=%zu: per-layer equals backsolve (%.3e)", m, d_lb / nb);
    }
    cr_log_info("linear euler m=%zu: rel. gaps continuous-backsolve %.3e, per layer-continuous %.3e",
                m, reldiff(&r[NO_ADJOINT_BACKSOLVE], &r[NO_ADJOINT_CONTINUOUS], "grad_W", 0,
                           L * D * D),
                d_lc / nc);
    for (int kind = 0; kind < 3; kind++)
        free(g[kind]);
    free(pp);
    free(zb);
    free(fw);
    free(tmp);
    for (int a = 0; a < NO_ADJOINT_COUNT; a++)
        no_arrays_free(&r[a]);
    no_problem_free(&p);
}

Test(backsolve, linear_euler_closed_form_m1)
{
    linear_euler(1);
}

Test(backsolve, linear_euler_closed_form_m2)
{
    linear_euler(2);
}
