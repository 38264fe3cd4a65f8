/* fast_scheme.c - see fast_scheme.h.  Formulas: proofs-notes/conventions.md,
 * "Forward pass", "Discrete adjoint", "Continuous adjoint". */
#include "fast_scheme.h"

#include <string.h>

#include "fast_linalg.h"

size_t fast_scheme_buffer_size(const no_tableau *t, size_t n, size_t D)
{
    /* Y, K, mu per stage, plus lam. */
    return (3 * (size_t)t->stages + 1) * n * D;
}

void fast_scheme_init(fast_scheme *sc, const no_tableau *t, const fast_field_type *field,
                      const fast_field_ctx *ctx, size_t n, size_t D, double *buf)
{
    memset(sc, 0, sizeof *sc);
    sc->s = t->stages;
    sc->n = n;
    sc->D = D;
    sc->field = field;
    sc->ctx = ctx;
    size_t nd = n * D;
    for (int i = 0; i < sc->s; i++) {
        sc->b[i] = no_rational_double(t->b[i]);
        sc->row_zero[i] = 1;
        for (int j = 0; j < i; j++) {
            sc->a[i][j] = no_rational_double(t->a[i][j]);
            if (sc->a[i][j] != 0.0)
                sc->row_zero[i] = 0;
        }
        sc->Y[i] = buf + (size_t)(3 * i) * nd;
        sc->K[i] = buf + (size_t)(3 * i + 1) * nd;
        sc->mu[i] = buf + (size_t)(3 * i + 2) * nd;
    }
    sc->lam = buf + (size_t)(3 * sc->s) * nd;
    for (int i = 0; i < sc->s; i++)
        for (int j = i + 1; j < sc->s; j++)
            sc->feeds[i] |= sc->a[j][i] != 0.0;
}

/* dst = sum_{j in J} c_j src_j, over the j with c_j != 0 (the tableau is sparse;
 * skipping a zero term changes no finite result). */
static void combine(size_t nd, int count, const double *coef, double *const *src, double *dst)
{
    int first = 1;
    for (int j = 0; j < count; j++) {
        if (coef[j] == 0.0)
            continue;
        if (first)
            fast_linalg_scale(nd, coef[j], src[j], dst);
        else
            fast_linalg_axpy(nd, coef[j], src[j], dst);
        first = 0;
    }
    if (first)
        memset(dst, 0, nd * sizeof *dst);
}

void fast_scheme_set_points(fast_scheme *sc, size_t n)
{
    sc->n = n;
}

void fast_scheme_step(fast_scheme *sc, size_t k, double tau, const double *z, double *zout)
{
    size_t nd = sc->n * sc->D;
    for (int i = 0; i < sc->s; i++) {
        /* Y_i = z + tau * sum_{j<i} a_ij K_j; a zero row leaves Y_i = z, so the
         * stored start state serves as the stage point without a copy. */
        if (sc->row_zero[i]) {
            sc->Yp[i] = z;
        } else {
            combine(nd, i, sc->a[i], sc->K, sc->Y[i]);
            fast_linalg_xpay(nd, z, tau, sc->Y[i]);
            sc->Yp[i] = sc->Y[i];
        }
        /* Without zout (the discrete adjoint's recomputation) only the
         * slopes that later stage points use are needed: for Euler none,
         * for RK4 all but the last.  The vjp recomputes what it needs at
         * the stage points itself. */
        if (zout || sc->feeds[i])
            sc->field->eval(sc->ctx, k, sc->n, sc->Yp[i], sc->K[i]);
    }
    if (zout) {
        /* z' = z + tau * sum_i b_i K_i. */
        combine(nd, sc->s, sc->b, sc->K, zout);
        fast_linalg_xpay(nd, z, tau, zout);
    }
}

void fast_scheme_adjoint_step(fast_scheme *sc, size_t k, double tau, const double *z,
                              const double *pout, double *pin)
{
    size_t nd = sc->n * sc->D;
    /* The stage points are recomputed from the stored start state, so the
     * adjoint differentiates exactly the arithmetic of the forward substep. */
    fast_scheme_step(sc, k, tau, z, NULL);
    for (int i = sc->s - 1; i >= 0; i--) {
        /* lam_i = tau (b_i p' + sum_{j>i} a_ji mu_j): K_i enters z' with weight
         * tau b_i and each later stage point Y_j with weight tau a_ji. */
        fast_linalg_scale(nd, sc->b[i], pout, sc->lam);
        for (int j = i + 1; j < sc->s; j++)
            if (sc->a[j][i] != 0.0)
                fast_linalg_axpy(nd, sc->a[j][i], sc->mu[j], sc->lam);
        fast_linalg_scale(nd, tau, sc->lam, sc->lam);
        /* mu_i = Dv(Y_i)^T lam_i; grad += (dv/dtheta)(Y_i)^T lam_i (tau is in lam). */
        sc->field->vjp(sc->ctx, k, sc->n, sc->Yp[i], sc->lam, sc->mu[i], 1.0);
    }
    /* p = p' + sum_i mu_i: z enters z' directly and every stage point. */
    memcpy(pin, pout, nd * sizeof *pin);
    for (int i = 0; i < sc->s; i++)
        fast_linalg_axpy(nd, 1.0, sc->mu[i], pin);
}

/* The backward substep of (z, p, g) from (z1, p1), shared by the continuous
 * and the backsolve adjoint: they differ only in where z1 comes from (a
 * stored forward state or the carried one) and in whether the state itself
 * is stepped, which needs v(Z_i) for every stage with b_i != 0 (all_slopes). */
static void backward_stages(fast_scheme *sc, size_t k, double tau, const double *z1,
                            const double *p1, double *p0, int all_slopes)
{
    size_t nd = sc->n * sc->D;
    /* Backward in s with step -tau for (z, p, g):
     *   dz/ds = v(z), dp/ds = -Dv(z)^T p, dg/ds = -(dv/dtheta)(z)^T p.
     * K holds v(Z_j), mu holds Dv(Z_j)^T P_j, lam holds P_i. */
    for (int i = 0; i < sc->s; i++) {
        const double *Zi, *Pi;
        if (sc->row_zero[i]) {
            Zi = z1;
            Pi = p1;
        } else {
            /* Z_i = z1 - tau sum_{j<i} a_ij v(Z_j) */
            combine(nd, i, sc->a[i], sc->K, sc->Y[i]);
            fast_linalg_xpay(nd, z1, -tau, sc->Y[i]);
            Zi = sc->Y[i];
            /* P_i = p1 + tau sum_{j<i} a_ij Dv(Z_j)^T P_j */
            combine(nd, i, sc->a[i], sc->mu, sc->lam);
            fast_linalg_xpay(nd, p1, tau, sc->lam);
            Pi = sc->lam;
        }
        /* v(Z_i) is needed by later stage points, and by the state update
         * of the backsolve adjoint if b_i != 0. */
        int used = all_slopes && sc->b[i] != 0.0;
        for (int j = i + 1; j < sc->s; j++)
            used |= sc->a[j][i] != 0.0;
        if (used)
            sc->field->eval(sc->ctx, k, sc->n, Zi, sc->K[i]);
        /* mu_i = Dv(Z_i)^T P_i; grad += tau b_i (dv/dtheta)(Z_i)^T P_i */
        sc->field->vjp(sc->ctx, k, sc->n, Zi, Pi, sc->mu[i], tau * sc->b[i]);
    }
    /* p0 = p1 + tau sum_i b_i Dv(Z_i)^T P_i */
    combine(nd, sc->s, sc->b, sc->mu, p0);
    fast_linalg_xpay(nd, p1, tau, p0);
}

void fast_scheme_continuous_step(fast_scheme *sc, size_t k, double tau, const double *z1,
                                 const double *p1, double *p0)
{
    backward_stages(sc, k, tau, z1, p1, p0, 0);
}

void fast_scheme_backsolve_step(fast_scheme *sc, size_t k, double tau, const double *z1,
                                const double *p1, double *z0, double *p0)
{
    size_t nd = sc->n * sc->D;
    backward_stages(sc, k, tau, z1, p1, p0, 1);
    /* z0 = z1 - tau sum_i b_i v(Z_i): the state's own backward RK step with
     * the stages just used for p, so the next substep starts from this
     * reconstruction and not from a stored forward state. */
    combine(nd, sc->s, sc->b, sc->K, z0);
    fast_linalg_xpay(nd, z1, -tau, z0);
}
