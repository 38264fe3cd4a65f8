/* ref_assign.c - the duality certificate of an assignment (ref_assign.h). */
#include <math.h>
#include <stdlib.h>

#include "problem.h"
#include "ref_assign.h"

/* Column rescans of the repair, per column: duals right up to rounding need
 * about one per column for random points in R^5 and six for points on a line
 * (long chains of near-ties; measured up to n = 64); more would only serve a
 * far-off start, which eps then shows. */
#define REPAIR_RESCANS 16

/* Scratch of one cost evaluation: dim + 1 squares and the pointers
 * mpfr_sum wants. */
typedef struct {
    const ref_assign_points *p;
    size_t nt;
    mpfr_t a, d;
    mpfr_t *sq;
    mpfr_ptr *ptr;
} cost_ws;

static int cost_ws_init(cost_ws *w, const ref_assign_points *p, mpfr_prec_t prec)
{
    w->p = p;
    w->nt = p->dim + (p->kx ? 1 : 0);
    w->sq = malloc((w->nt + 1) * sizeof *w->sq);
    w->ptr = malloc((w->nt + 1) * sizeof *w->ptr);
    if (!w->sq || !w->ptr) {
        free(w->sq), free(w->ptr);
        return -1;
    }
    mpfr_inits2(prec, w->a, w->d, (mpfr_ptr)0);
    for (size_t t = 0; t < w->nt; t++) {
        mpfr_init2(w->sq[t], prec);
        w->ptr[t] = w->sq[t];
    }
    return 0;
}

static void cost_ws_clear(cost_ws *w)
{
    for (size_t t = 0; t < w->nt; t++)
        mpfr_clear(w->sq[t]);
    mpfr_clears(w->a, w->d, (mpfr_ptr)0);
    free(w->sq), free(w->ptr);
}

/* out = c_ij rounded down (up = 0) or up (up = 1): each difference rounded
 * toward zero (away from zero), so that its square rounded down (up) bounds
 * the exact square, and the sum rounded the same way.  Returns nonzero when
 * some step was inexact. */
static int cost_bound(cost_ws *w, size_t i, size_t j, int up, mpfr_t out)
{
    const ref_assign_points *p = w->p;
    mpfr_rnd_t rd = up ? MPFR_RNDA : MPFR_RNDZ, rs = up ? MPFR_RNDU : MPFR_RNDD;
    int inex = 0;
    for (size_t t = 0; t < p->dim; t++) {
        mpfr_set_d(w->a, p->x[i * p->dim + t], MPFR_RNDN); /* exact: prec >= 53 */
        inex |= mpfr_sub_d(w->d, w->a, p->y[j * p->dim + t], rd) != 0;
        inex |= mpfr_sqr(w->sq[t], w->d, rs) != 0;
    }
    if (p->kx) {
        /* s_k - s_k' = (k - k')/L, the layer positions of the joint measure */
        long dk = (long)p->kx[i] - (long)p->ky[j];
        mpfr_set_si(w->d, dk, MPFR_RNDN);
        inex |= mpfr_div_ui(w->d, w->d, (unsigned long)p->L, rd) != 0;
        inex |= mpfr_sqr(w->sq[p->dim], w->d, rs) != 0;
    }
    inex |= mpfr_sum(out, w->ptr, (unsigned long)w->nt, rs) != 0;
    return inex;
}

void ref_assign_cert_init(ref_assign_cert *c, mpfr_prec_t prec)
{
    mpfr_inits2(prec, c->primal_hi, c->primal_lo, c->dual_lo, c->eps, (mpfr_ptr)0);
    c->slack_max = NAN;
    c->dual_violation = NAN;
    c->is_perm = c->exact_costs = c->verified = c->repair_rescans = 0;
}

void ref_assign_cert_clear(ref_assign_cert *c)
{
    mpfr_clears(c->primal_hi, c->primal_lo, c->dual_lo, c->eps, (mpfr_ptr)0);
}

static int is_permutation(size_t n, const size_t *perm)
{
    char *seen = calloc(n ? n : 1, 1);
    if (!seen)
        return -1;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        ok = perm[i] < n && !seen[perm[i]];
        if (ok)
            seen[perm[i]] = 1;
    }
    free(seen);
    return ok;
}

int ref_assign_certify(const ref_assign_points *p, const size_t *perm, const double *u,
                       const double *v, ref_assign_cert *cert, char *err, size_t len)
{
    size_t n = p->n;
    mpfr_prec_t prec = mpfr_get_prec(cert->eps);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(u[i]) || !isfinite(v[i]))
            return no_errorf(err, len, "certificate: potential %zu is not finite", i);
    int isp = is_permutation(n, perm);
    if (isp < 0)
        return no_errorf(err, len, "certificate: out of memory");
    cert->is_perm = isp;
    cert->verified = 0;
    cert->exact_costs = 1;
    if (!isp) {
        mpfr_set_inf(cert->eps, 1);
        mpfr_set_inf(cert->primal_hi, 1);
        mpfr_set_inf(cert->primal_lo, -1);
        mpfr_set_inf(cert->dual_lo, -1);
        cert->slack_max = INFINITY;
        cert->dual_violation = NAN;
        return 0;
    }
    cost_ws w;
    mpfr_t *U = malloc((n ? n : 1) * sizeof *U), *V = malloc((n ? n : 1) * sizeof *V);
    mpfr_ptr *ptr = malloc((2 * n + 1) * sizeof *ptr);
    if (!U || !V || !ptr || cost_ws_init(&w, p, prec)) {
        free(U), free(V), free(ptr);
        return no_errorf(err, len, "certificate: out of memory (n = %zu)", n);
    }
    mpfr_t c, t, viol;
    mpfr_inits2(prec, c, t, viol, (mpfr_ptr)0);
    mpfr_set_inf(viol, -1);
    for (size_t i = 0; i < n; i++) {
        mpfr_init2(U[i], prec);
        mpfr_init2(V[i], prec);
        mpfr_set_d(U[i], u[i], MPFR_RNDN);
        mpfr_set_inf(V[i], 1);
    }
    /* The repair (proofs-notes/cot-distance.md, section 3): Bellman-Ford on
     * the duals with complementary slackness imposed exactly on the
     * assigned pairs, V_j = RD(c_lo_{i'j} - U_i') with i' = perm^-1(j),
     * and every row lowered to feasibility, U_r = min(U_r, RD(c_lo_rj -
     * V_j)).  Queue-based (SPFA): lowering U_r raises V_perm(r), and only
     * that column needs to be scanned again.  At a fixed point U, V are
     * feasible with zero slack on the assigned pairs up to one rounding
     * each (eps ~ n 2^-prec |c|).  The rescans are capped (REPAIR_RESCANS n):
     * on a cycle of zero reduced cost the downward roundings could creep
     * forever.  Whatever happened, the last pass below sets V_j = min_i
     * RD(c_lo_ij - U_i), feasible by construction. */
    size_t *inv = malloc((n ? n : 1) * sizeof *inv), *queue = malloc((n ? n : 1) * sizeof *queue);
    char *inq = calloc(n ? n : 1, 1);
    if (!inv || !queue || !inq) {
        for (size_t i = 0; i < n; i++)
            mpfr_clears(U[i], V[i], (mpfr_ptr)0);
        mpfr_clears(c, t, viol, (mpfr_ptr)0);
        cost_ws_clear(&w);
        free(U), free(V), free(ptr), free(inv), free(queue), free(inq);
        return no_errorf(err, len, "certificate: out of memory (n = %zu)", n);
    }
    for (size_t i = 0; i < n; i++)
        inv[perm[i]] = i;
    for (size_t j = 0; j < n; j++) {
        cert->exact_costs &= !cost_bound(&w, inv[j], j, 0, c);
        mpfr_sub(V[j], c, U[inv[j]], MPFR_RNDD);
        queue[j] = j;
        inq[j] = 1;
    }
    /* queue: a ring of at most n columns (each at most once, inq) */
    size_t head = 0, count = n, popped = 0, rescans = 0, cap = REPAIR_RESCANS * n;
    int settled = 1;
    while (count) {
        size_t j = queue[head];
        head = (head + 1) % n;
        count--;
        inq[j] = 0;
        if (popped >= n && rescans++ >= cap) {
            settled = 0;
            break;
        }
        for (size_t r = 0; r < n; r++) {
            cert->exact_costs &= !cost_bound(&w, r, j, 0, c);
            if (popped < n) {
                /* first sweep: how far the given duals were from feasible */
                mpfr_set_d(t, u[r], MPFR_RNDN);
                mpfr_add_d(t, t, v[j], MPFR_RNDU);
                mpfr_sub(t, t, c, MPFR_RNDU);
                if (mpfr_greater_p(t, viol))
                    mpfr_set(viol, t, MPFR_RNDU);
            }
            mpfr_sub(t, c, V[j], MPFR_RNDD);
            if (!mpfr_less_p(t, U[r]))
                continue;
            mpfr_set(U[r], t, MPFR_RNDD);
            size_t jj = perm[r];
            cert->exact_costs &= !cost_bound(&w, r, jj, 0, c);
            mpfr_sub(V[jj], c, U[r], MPFR_RNDD);
            if (!inq[jj]) {
                queue[(head + count) % n] = jj;
                count++;
                inq[jj] = 1;
            }
        }
        popped++;
    }
    free(inv), free(queue), free(inq);
    cert->repair_rescans = settled ? (long)(popped - n) : -(long)rescans;
    for (size_t j = 0; j < n; j++)
        mpfr_set_inf(V[j], 1);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            cert->exact_costs &= !cost_bound(&w, i, j, 0, c);
            mpfr_sub(t, c, U[i], MPFR_RNDD);
            if (mpfr_less_p(t, V[j]))
                mpfr_set(V[j], t, MPFR_RNDD);
        }
    for (size_t i = 0; i < n; i++) {
        ptr[i] = U[i];
        ptr[n + i] = V[i];
    }
    mpfr_sum(cert->dual_lo, ptr, (unsigned long)(2 * n), MPFR_RNDD);
    /* Primal: the assigned costs bounded both ways; the slacks of the assigned
     * pairs (complementary slackness up to rounding). */
    mpfr_t *chi = malloc((n ? n : 1) * sizeof *chi);
    int have_chi = chi != NULL;
    double smax = 0;
    if (have_chi) {
        for (size_t i = 0; i < n; i++) {
            mpfr_init2(chi[i], prec);
            cert->exact_costs &= !cost_bound(&w, i, perm[i], 1, chi[i]);
            mpfr_sub(t, chi[i], U[i], MPFR_RNDU);
            mpfr_sub(t, t, V[perm[i]], MPFR_RNDU);
            double s = mpfr_get_d(t, MPFR_RNDU);
            if (s > smax)
                smax = s;
            ptr[i] = chi[i];
        }
        mpfr_sum(cert->primal_hi, ptr, (unsigned long)n, MPFR_RNDU);
        for (size_t i = 0; i < n; i++) {
            cost_bound(&w, i, perm[i], 0, chi[i]);
            ptr[i] = chi[i];
        }
        mpfr_sum(cert->primal_lo, ptr, (unsigned long)n, MPFR_RNDD);
        for (size_t i = 0; i < n; i++)
            mpfr_clear(chi[i]);
        free(chi);
    }
    cert->slack_max = smax;
    cert->dual_violation = n ? mpfr_get_d(viol, MPFR_RNDU) : 0;
    mpfr_sub(cert->eps, cert->primal_hi, cert->dual_lo, MPFR_RNDU);
    /* eps < 0 cannot happen (weak duality, outward rounding); were it to,
     * the bounds are wrong and nothing is verified. */
    if (have_chi) {
        mpfr_mul_2si(t, cert->primal_hi, -REF_ASSIGN_TOL_BITS, MPFR_RNDD);
        cert->verified = mpfr_sgn(cert->eps) >= 0 && mpfr_lessequal_p(cert->eps, t);
    }
    for (size_t i = 0; i < n; i++) {
        mpfr_clear(U[i]);
        mpfr_clear(V[i]);
    }
    mpfr_clears(c, t, viol, (mpfr_ptr)0);
    cost_ws_clear(&w);
    free(U), free(V), free(ptr);
    if (!have_chi)
        return no_errorf(err, len, "certificate: out of memory (n = %zu)", n);
    return 0;
}
