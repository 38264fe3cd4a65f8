/* cot.h - the COT distance between two mlp particle measures with the same
 * L and M (SPEC 4, "COT distance"; proofs-notes/cot-distance.md):
 *
 *   COT_2(mu, mu')^2 = h sum_k W_2(mu_k, mu'_k)^2,
 *   W_2(mu_k, mu'_k)^2 = min_pi (1/M) sum_j |theta_kj - theta'_{k pi(j)}|^2,
 *
 * h = 1/L, theta_kj = (a_kj, u_kj, b_kj) in R^(2D+1).  Per layer the
 * assignment is solved in double (fast/fast_assign.h) and certified in MPFR
 * (ref/ref_assign.h): the result is a rigorous enclosure [lo, hi] of
 * COT_2^2, not an estimate.  Optionally the same for W_2 of the joint
 * measures on (layer, parameter) space, one assignment of size L M with the
 * ground cost (s_k - s_k')^2 + |theta - theta'|^2, s_k = k/L; W_2 <= COT_2. */
#ifndef NO_COT_H
#define NO_COT_H

#include <stddef.h>

/* An mlp particle measure: a, u (L x M x D), b (L x M), borrowed. */
typedef struct {
    size_t L, M, D;
    const double *a, *u, *b;
} no_cot_measure;

typedef struct {
    size_t L, M, D;
    long prec;
    /* per layer k (arrays of L) */
    size_t *perm;       /* L x M: theta_kj is matched with theta'_{k perm[k M + j]} */
    double *w2sq;       /* fast's W_2(mu_k, mu'_k)^2 (the double assignment's cost / M) */
    double *w2sq_lo;    /* certified enclosure of W_2(mu_k, mu'_k)^2, rounded outward */
    double *w2sq_hi;
    double *eps;        /* certificate eps / M: cost(perm)/M - W_2^2 <= eps */
    double *slack_max;  /* largest reduced cost of an assigned pair */
    double *dual_violation; /* of the double duals before repair (<= 0: feasible) */
    int *layer_verified, *exact_costs;
    /* the total */
    double cot2, cot2_lo, cot2_hi; /* COT_2^2: RN of the certified primal, enclosure */
    double cot, cot_lo, cot_hi;    /* COT_2 */
    int cot2_bits;                 /* correct bits of COT_2^2 from the enclosure */
    int verified;                  /* every layer verified */
    double identity2;              /* h sum_k (1/M) sum_j |theta_kj - theta'_kj|^2 (double) */
    /* the joint W_2 (when asked) */
    int have_w2;
    size_t *w2_perm;               /* (L M): flat index k' M + j' matched with k M + j */
    double w2, w2sq_joint, w2sq_joint_lo, w2sq_joint_hi, w2_eps;
    int w2_verified, w2_le_cot;    /* w2_le_cot: lo(W_2^2) <= hi(COT_2^2), as it must */
    double seconds_assign, seconds_certify;
} no_cot_result;

/* Bytes the computation needs at most (the n x n cost matrix in double and
 * the O(n) vectors of the solver and the certificate, n = M, or L M with
 * w2), or SIZE_MAX on overflow. */
size_t no_cot_memory(size_t L, size_t M, size_t D, int w2, long prec);

/* COT_2(x, y) (and W_2 when w2) certified at prec bits into r (allocated
 * here; no_cot_result_clear it).  x and y must have the same L, M, D, all
 * >= 1.  Returns 0, or -1 with err filled and nothing left allocated. */
int no_cot_distance(const no_cot_measure *x, const no_cot_measure *y, long prec, int w2,
                    no_cot_result *r, char *err, size_t len);

void no_cot_result_clear(no_cot_result *r);

/* The rows theta_kj = (a_kj, u_kj, b_kj) of layer k into out (M x (2D+1)). */
void no_cot_layer_points(const no_cot_measure *m, size_t k, double *out);

/* The squared L^2(mu) length of the displacement theta -> theta' with the
 * identity pairing: h sum_k (1/M) sum_j |theta_kj - theta'_kj|^2 (SPEC 3's
 * metric), in double. */
double no_cot_identity_sq(const no_cot_measure *x, const no_cot_measure *y);

#endif
