/* ref_assign.h - the certificate of an assignment (fast/fast_assign.h) in
 * MPFR: a rigorous enclosure of the optimal cost of
 *
 *   min_pi sum_i c_{i pi(i)},   c_ij = |x_i - y_j|^2 (+ ((kx_i - ky_j)/L)^2),
 *
 * from a permutation and dual potentials computed in double, by linear
 * programming duality (proofs-notes/cot-distance.md, section 3).
 *
 * The costs are evaluated from the double points (exact inputs) with
 * directed rounding: c_lo <= c_ij <= c_hi (equal when exact at the
 * precision).  The duals in double are repaired, not trusted: Bellman-Ford
 * (queue-based) imposes complementary slackness on the assigned pairs
 * at the working precision (v_j = c_lo_{i'j} - u_i', u_i lowered to
 * min_j (c_lo_ij - v_j)), and a last pass sets v_j = RD(min_i (c_lo_ij -
 * u_i)), so that u_i + v_j <= c_ij holds for every pair exactly (dual
 * feasibility by construction, whatever the repair achieved).  Weak duality
 * then gives, for every permutation sigma,
 * sum_i c_{i sigma(i)} >= sum u + sum v >= dual_lo, so
 *
 *   dual_lo <= OPT <= cost(perm) <= primal_hi,   eps = RU(primal_hi - dual_lo),
 *
 * and perm is eps-optimal.  Mathematically eps is the sum of the reduced
 * costs c - u - v of the assigned pairs (complementary slackness holds up to
 * eps); it is 0 only when the duals are exactly optimal.  Nothing here trusts
 * fast/: a wrong permutation gives a large eps, a wrong dual a small dual_lo.
 * Cost: two passes over the n^2 pairs, each 2 dim + 1 MPFR operations,
 * plus n operations per column rescanned by the repair (a few in all when
 * the double duals are right up to rounding). */
#ifndef NO_REF_ASSIGN_H
#define NO_REF_ASSIGN_H

#include <mpfr.h>
#include <stddef.h>

/* "verified" means eps <= 2^-REF_ASSIGN_TOL_BITS primal_hi: the optimum is
 * known to 40 bits, and perm's cost is within that of it. */
#define REF_ASSIGN_TOL_BITS 40

/* Two point sets of n points in R^dim (row-major), with optional layer
 * indices kx, ky (both NULL, or both n long, with L > 0). */
typedef struct {
    size_t n, dim;
    const double *x, *y;
    const size_t *kx, *ky;
    size_t L;
} ref_assign_points;

typedef struct {
    mpfr_t primal_hi; /* >= cost(perm) */
    mpfr_t primal_lo; /* <= cost(perm) */
    mpfr_t dual_lo;   /* <= OPT: the repaired dual objective, rounded down */
    mpfr_t eps;       /* RU(primal_hi - dual_lo) >= cost(perm) - OPT >= 0 */
    double slack_max; /* max_i RU(c_hi - u_i - v_perm(i)) over the assigned pairs */
    double dual_violation; /* max_ij of u_i + v_j - c_ij for the duals as given
                            * (> 0: infeasible in double, repaired), rounded up */
    long repair_rescans; /* columns scanned again by the repair after the first
                          * sweep; negative: it had not settled within the cap
                          * (the last pass still makes the duals feasible, and
                          * eps says how good they are) */
    int is_perm;      /* perm is a permutation of 0..n-1 */
    int exact_costs;  /* every cost evaluated was exact at the precision */
    int verified;     /* is_perm and eps <= 2^-REF_ASSIGN_TOL_BITS primal_hi */
} ref_assign_cert;

/* Every mpfr_t of c at precision prec (>= 53). */
void ref_assign_cert_init(ref_assign_cert *c, mpfr_prec_t prec);
void ref_assign_cert_clear(ref_assign_cert *c);

/* The certificate of perm (n entries) with the potentials u and v (n each;
 * v only enters dual_violation, being recomputed from u) into cert,
 * initialised by the caller.  A perm that is not a permutation gives
 * is_perm = 0, verified = 0 and eps = +Inf.  Returns 0, or -1 with err filled
 * (a non-finite u or v, no memory). */
int ref_assign_certify(const ref_assign_points *p, const size_t *perm, const double *u,
                       const double *v, ref_assign_cert *cert, char *err, size_t len);

#endif
