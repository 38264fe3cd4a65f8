/* ref_scheme.c - one explicit Runge-Kutta substep of a layer, its discrete
 * adjoint and one backward substep of the continuous adjoint, for one point,
 * driven by the tableau (problem/tableau.h).  The formulas are those of
 * proofs-notes/conventions.md; derivations in adjoints.md and
 * continuous-adjoint.md. */
#include <math.h>
#include <stdlib.h>

#include "ref_internal.h"

void ref_rational(mpfr_t r, no_rational q)
{
    if (q.dec) {
        mpfr_set_str(r, q.dec, 10, MPFR_RNDN);
        return;
    }
    mpfr_set_si(r, q.den ? q.num : 0, MPFR_RNDN);
    if (q.den)
        mpfr_div_si(r, r, q.den, MPFR_RNDN);
}

int ref_stepper_init(ref_stepper *st, const ref_model *m)
{
    const no_spec *s = &m->spec;
    st->tab = no_tableau_of(s->scheme);
    st->fam = ref_field_of(s->family);
    st->D = s->D;
    if (ref_field_ws_init(&st->fw, m))
        return -1;
    mpfr_init2(st->tau, m->prec);
    mpfr_set_zero(st->tau, 1); /* no step scaled for yet */
    mpfr_init2(st->one, 2);
    mpfr_set_ui(st->one, 1, MPFR_RNDN);
    int S = st->tab->stages, bad = 0;
    for (int i = 0; i < NO_MAX_STAGES; i++) {
        mpfr_inits2(m->prec, st->b[i], st->rb[i], (mpfr_ptr)0);
        ref_rational(st->rb[i], st->tab->b[i]);
        for (int j = 0; j < NO_MAX_STAGES; j++) {
            mpfr_inits2(m->prec, st->a[i][j], st->ra[i][j], (mpfr_ptr)0);
            ref_rational(st->ra[i][j], st->tab->a[i][j]);
        }
        st->Y[i] = st->K[i] = st->lam[i] = st->mu[i] = NULL;
        if (i < S) {
            st->Y[i] = ref_vec_new(st->D, m->prec);
            st->K[i] = ref_vec_new(st->D, m->prec);
            st->lam[i] = ref_vec_new(st->D, m->prec);
            st->mu[i] = ref_vec_new(st->D, m->prec);
            bad |= !st->Y[i] || !st->K[i] || !st->lam[i] || !st->mu[i];
        }
    }
    st->acc = ref_vec_new(st->D, m->prec);
    if (bad || !st->acc) {
        ref_stepper_clear(st);
        return -1;
    }
    return 0;
}

void ref_stepper_clear(ref_stepper *st)
{
    for (int i = 0; i < NO_MAX_STAGES; i++) {
        ref_vec_free(st->Y[i], st->D);
        ref_vec_free(st->K[i], st->D);
        ref_vec_free(st->lam[i], st->D);
        ref_vec_free(st->mu[i], st->D);
        st->Y[i] = st->K[i] = st->lam[i] = st->mu[i] = NULL;
        mpfr_clears(st->b[i], st->rb[i], (mpfr_ptr)0);
        for (int j = 0; j < NO_MAX_STAGES; j++)
            mpfr_clears(st->a[i][j], st->ra[i][j], (mpfr_ptr)0);
    }
    ref_vec_free(st->acc, st->D);
    st->acc = NULL;
    mpfr_clears(st->tau, st->one, (mpfr_ptr)0);
    ref_field_ws_clear(&st->fw);
}

/* rop = sum_j x_j y_j over the n >= 1 terms in dw->px, dw->py, correctly
 * rounded: ref_dot_ptrs, or for one or two terms the primitive that returns
 * the same correctly rounded value at a lower cost (unit_first: x_0 is the
 * exact 1 of a base, so mpfr_set or mpfr_fma; else mpfr_mul or mpfr_fmma). */
static void dot_terms(mpfr_ptr rop, ref_dot_ws *dw, int n, int unit_first)
{
    mpfr_ptr *x = dw->px, *y = dw->py;
    if (n == 1 && unit_first)
        mpfr_set(rop, y[0], MPFR_RNDN);
    else if (n == 1)
        mpfr_mul(rop, x[0], y[0], MPFR_RNDN);
    else if (n == 2 && unit_first)
        mpfr_fma(rop, x[1], y[1], y[0], MPFR_RNDN);
    else if (n == 2)
        mpfr_fmma(rop, x[0], y[0], x[1], y[1], MPFR_RNDN);
    else
        ref_dot_ptrs(rop, (size_t)n, dw);
}

/* out[c] = base[c] + sign * sum_{j in [j0, j1)} coef_j * vecs[j][c]: the
 * combinations every stage formula is made of, one correctly rounded dot
 * product per component (the base enters the dot with coefficient 1). */
static void combine(ref_stepper *st, mpfr_t *out, mpfr_t *base, int sign, mpfr_t *coef[],
                    mpfr_t *vecs[], int nterms)
{
    mpfr_ptr *px = st->fw.dot.px, *py = st->fw.dot.py;
    /* sign = -1 (a backward step): negate the coefficients for these dots
     * and restore them after; negation is exact in MPFR. */
    if (sign < 0)
        for (int j = 0; j < nterms; j++)
            mpfr_neg(*coef[j], *coef[j], MPFR_RNDN);
    for (size_t c = 0; c < st->D; c++) {
        int n = 0;
        if (base) {
            px[n] = st->one;
            py[n++] = base[c];
        }
        for (int j = 0; j < nterms; j++) {
            px[n] = *coef[j];
            py[n++] = vecs[j][c];
        }
        dot_terms(out[c], &st->fw.dot, n, base != NULL);
    }
    if (sign < 0)
        for (int j = 0; j < nterms; j++)
            mpfr_neg(*coef[j], *coef[j], MPFR_RNDN);
}

/* out[c] = base[c] + sum_j vecs[j][c]: one correctly rounded sum (mpfr_sum)
 * per component, the value of combine() with every coefficient 1. */
static void sum_into(ref_stepper *st, mpfr_t *out, mpfr_t *base, mpfr_t *vecs[], int nterms)
{
    mpfr_ptr *px = st->fw.dot.px;
    for (size_t c = 0; c < st->D; c++) {
        px[0] = base[c];
        for (int j = 0; j < nterms; j++)
            px[j + 1] = vecs[j][c];
        mpfr_sum(out[c], px, (unsigned long)nterms + 1, MPFR_RNDN);
    }
}

/* Store tau*a_ij and tau*b_i: every use of the tableau multiplies by tau.
 * Recomputed only when the step changes (a uniform grid pays once). */
static void set_tau(ref_stepper *st, mpfr_srcptr tau)
{
    if (mpfr_equal_p(st->tau, tau))
        return;
    mpfr_set(st->tau, tau, MPFR_RNDN);
    for (int i = 0; i < st->tab->stages; i++) {
        mpfr_mul(st->b[i], st->rb[i], tau, MPFR_RNDN);
        for (int j = 0; j < st->tab->stages; j++)
            mpfr_mul(st->a[i][j], st->ra[i][j], tau, MPFR_RNDN);
    }
}

/* Stage i of a (forward, dir = +1, or backward, dir = -1) step from z:
 * Y_i = z + dir * sum_{j<i} (tau a_ij) K_j, and K_i = v(Y_i) if slope. */
static void stage(ref_stepper *st, int i, mpfr_t *z, int dir, int slope)
{
    mpfr_t *coef[NO_MAX_STAGES];
    for (int j = 0; j < i; j++)
        coef[j] = &st->a[i][j];
    combine(st, st->Y[i], z, dir, coef, st->K, i);
    if (slope)
        st->fam->eval(&st->fw, st->Y[i], st->K[i]);
}

/* Is K_i used by a later stage (a_ji != 0 for some j > i)?  The adjoints
 * need every stage point Y_i but a slope only to form those points: the
 * last stage's slope never (Euler's only one), so they do not evaluate it. */
static int slope_used(const ref_stepper *st, int i)
{
    for (int j = i + 1; j < st->tab->stages; j++)
        if (!mpfr_zero_p(st->ra[j][i]))
            return 1;
    return 0;
}

void ref_step(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z, int dir)
{
    int S = st->tab->stages;
    set_tau(st, tau);
    st->fw.k = k;
    for (int i = 0; i < S; i++)
        stage(st, i, z, dir, 1);
    mpfr_t *coef[NO_MAX_STAGES];
    for (int i = 0; i < S; i++)
        coef[i] = &st->b[i];
    combine(st, st->acc, z, dir, coef, st->K, S);
    for (size_t c = 0; c < st->D; c++)
        mpfr_set(z[c], st->acc[c], MPFR_RNDN);
}

/* Discrete adjoint (conventions.md): with p' = p on entry,
 *   lam_i = tau b_i p' + sum_{j>i} tau a_ji mu_j,  mu_i = Dv(Y_i)^T lam_i,
 *   g += (dv/dtheta)(Y_i)^T lam_i,  p <- p' + sum_i mu_i. */
void ref_step_adjoint(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z, mpfr_t *p,
                      mpfr_t *g)
{
    int S = st->tab->stages;
    set_tau(st, tau);
    st->fw.k = k;
    for (int i = 0; i < S; i++)
        stage(st, i, z, +1, slope_used(st, i));
    for (int i = S - 1; i >= 0; i--) {
        mpfr_t *coef[NO_MAX_STAGES + 1], *vecs[NO_MAX_STAGES + 1];
        int n = 0;
        coef[n] = &st->b[i];
        vecs[n++] = p;
        for (int j = i + 1; j < S; j++) {
            coef[n] = &st->a[j][i];
            vecs[n++] = st->mu[j];
        }
        combine(st, st->lam[i], NULL, +1, coef, vecs, n);
        st->fam->vjp(&st->fw, st->Y[i], st->lam[i], st->mu[i], g, NULL);
    }
    sum_into(st, st->acc, p, st->mu, S);
    for (size_t c = 0; c < st->D; c++)
        mpfr_set(p[c], st->acc[c], MPFR_RNDN);
}

/* Continuous adjoint, one backward substep from the anchored state z1 and p:
 *   Z_i = z1 - sum_{j<i} tau a_ij v(Z_j),  P_i = p + sum_{j<i} tau a_ij mu_j,
 *   mu_i = Dv(Z_i)^T P_i,  g += tau b_i (dv/dtheta)(Z_i)^T P_i,
 *   p <- p + sum_i tau b_i mu_i.
 * all_slopes: evaluate every K_i = v(Z_i) (the backsolve step uses them),
 * else only those a later stage uses. */
static void continuous_substep(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z1,
                               mpfr_t *p, mpfr_t *g, int all_slopes)
{
    int S = st->tab->stages;
    set_tau(st, tau);
    st->fw.k = k;
    for (int i = 0; i < S; i++) {
        stage(st, i, z1, -1, all_slopes || slope_used(st, i)); /* Y[i] = Z_i, K[i] = v(Z_i) */
        mpfr_t *coef[NO_MAX_STAGES];
        for (int j = 0; j < i; j++)
            coef[j] = &st->a[i][j];
        combine(st, st->lam[i], p, +1, coef, st->mu, i); /* lam[i] = P_i */
        st->fam->vjp(&st->fw, st->Y[i], st->lam[i], st->mu[i], g, st->b[i]);
    }
    mpfr_t *coef[NO_MAX_STAGES];
    for (int i = 0; i < S; i++)
        coef[i] = &st->b[i];
    combine(st, st->acc, p, +1, coef, st->mu, S);
    for (size_t c = 0; c < st->D; c++)
        mpfr_set(p[c], st->acc[c], MPFR_RNDN);
}

void ref_step_adjoint_continuous(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z1,
                                 mpfr_t *p, mpfr_t *g)
{
    continuous_substep(st, k, tau, z1, p, g, 0);
}

/* Backsolve adjoint (backsolve-adjoint.md), one backward substep of the
 * augmented system (z, p, g) from the *carried* state z, not a stored one:
 * the stages Z_i, P_i and the p and g updates are those of the continuous
 * substep above, with z in the place of the anchor z1, and then the state
 * itself takes the backward step with the same stages,
 *   z <- z - sum_i tau b_i v(Z_i),
 * so that the next substep (and the next layer) starts from this
 * reconstruction.  That is what torchdiffeq's odeint_adjoint and diffrax's
 * BacksolveAdjoint do between output times: one RK step of the whole
 * augmented state, z included.  The continuous substep evaluates every
 * K[i] = v(Z_i) here, so every slope the update needs is there after it. */
void ref_step_adjoint_backsolve(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z,
                                mpfr_t *p, mpfr_t *g)
{
    int S = st->tab->stages;
    continuous_substep(st, k, tau, z, p, g, 1); /* p, g; K[i] = v(Z_i) */
    mpfr_t *coef[NO_MAX_STAGES];
    for (int i = 0; i < S; i++)
        coef[i] = &st->b[i]; /* tau b_i, set for this tau by the call above */
    combine(st, st->acc, z, -1, coef, st->K, S);
    for (size_t c = 0; c < st->D; c++)
        mpfr_set(z[c], st->acc[c], MPFR_RNDN);
}
