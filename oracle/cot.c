/* cot.c - the certified COT distance (cot.h, proofs-notes/cot-distance.md). */
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cot.h"
#include "fast_assign.h"
#include "problem.h"
#include "ref_assign.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t no_cot_memory(size_t L, size_t M, size_t D, int w2, long prec)
{
    size_t n = M, nn, dim = 2 * D + 1, m;
    if (w2 && no_mul_size(L, M, &n))
        return SIZE_MAX;
    if (no_mul_size(n, n, &nn) || no_mul_size(nn, sizeof(double), &nn))
        return SIZE_MAX;
    /* an MPFR number: the struct and its limbs; the certificate holds 3 n */
    size_t mp = sizeof(mpfr_t) + ((size_t)prec / 64 + 1) * 8;
    size_t per = 2 * dim * sizeof(double) + 6 * sizeof(double) + 3 * mp + 64;
    if (no_mul_size(n, per, &m) || nn > SIZE_MAX - m)
        return SIZE_MAX;
    return nn + m;
}

void no_cot_layer_points(const no_cot_measure *m, size_t k, double *out)
{
    size_t D = m->D, dim = 2 * D + 1;
    for (size_t j = 0; j < m->M; j++) {
        const double *a = m->a + (k * m->M + j) * D, *u = m->u + (k * m->M + j) * D;
        double *o = out + j * dim;
        memcpy(o, a, D * sizeof *o);
        memcpy(o + D, u, D * sizeof *o);
        o[2 * D] = m->b[k * m->M + j];
    }
}

double no_cot_identity_sq(const no_cot_measure *x, const no_cot_measure *y)
{
    size_t L = x->L, M = x->M, D = x->D;
    double s = 0;
    for (size_t k = 0; k < L; k++) {
        double sk = 0;
        for (size_t j = 0; j < M; j++) {
            size_t o = (k * M + j) * D;
            for (size_t t = 0; t < D; t++) {
                double da = x->a[o + t] - y->a[o + t], du = x->u[o + t] - y->u[o + t];
                sk += da * da + du * du;
            }
            double db = x->b[k * M + j] - y->b[k * M + j];
            sk += db * db;
        }
        s += sk / (double)M;
    }
    return s / (double)L;
}

void no_cot_result_clear(no_cot_result *r)
{
    free(r->perm), free(r->w2sq), free(r->w2sq_lo), free(r->w2sq_hi), free(r->eps);
    free(r->slack_max), free(r->dual_violation), free(r->layer_verified), free(r->exact_costs);
    free(r->w2_perm);
    memset(r, 0, sizeof *r);
}

/* One assignment of n points: solve in double, certify in MPFR.  c (n x n)
 * and u, v (n) are scratch.  *fast_cost: the double cost of perm. */
static int assign_one(const ref_assign_points *p, double *c, double *u, double *v, size_t *perm,
                      double *fast_cost, ref_assign_cert *cert, double *ta, double *tc,
                      char *err, size_t len)
{
    double t0 = now_s();
    if (fast_assign_sqdist(p->n, p->dim, p->x, p->y, p->kx, p->ky, p->L, c))
        return no_errorf(err, len, "a squared distance overflows a double (parameters "
                                   "above about 1e150)");
    if (fast_assign_solve(p->n, c, perm, u, v, fast_cost, err, len))
        return -1;
    double t1 = now_s();
    if (ref_assign_certify(p, perm, u, v, cert, err, len))
        return -1;
    *ta += t1 - t0;
    *tc += now_s() - t1;
    return 0;
}

/* floor(-log2((hi - lo)/hi)), capped at prec; prec when hi = lo. */
static int enclosure_bits(const mpfr_t lo, const mpfr_t hi, long prec)
{
    if (mpfr_equal_p(lo, hi))
        return (int)prec;
    if (mpfr_sgn(hi) <= 0)
        return 0;
    mpfr_t d;
    mpfr_init2(d, 64);
    mpfr_sub(d, hi, lo, MPFR_RNDU);
    mpfr_div(d, d, hi, MPFR_RNDU);
    mpfr_log2(d, d, MPFR_RNDU);
    double b = -mpfr_get_d(d, MPFR_RNDU);
    mpfr_clear(d);
    b = floor(b);
    return b < 0 ? 0 : b > (double)prec ? (int)prec : (int)b;
}

int no_cot_distance(const no_cot_measure *x, const no_cot_measure *y, long prec, int w2,
                    no_cot_result *r, char *err, size_t len)
{
    memset(r, 0, sizeof *r);
    if (x->L != y->L || x->M != y->M || x->D != y->D)
        return no_errorf(err, len, "the measures differ in shape: L M D = %zu %zu %zu and "
                                   "%zu %zu %zu", x->L, x->M, x->D, y->L, y->M, y->D);
    if (!x->L || !x->M || !x->D)
        return no_errorf(err, len, "empty measure: L = %zu, M = %zu, D = %zu (each must be "
                                   ">= 1)", x->L, x->M, x->D);
    size_t L = x->L, M = x->M, D = x->D, dim = 2 * D + 1;
    if (no_cot_memory(L, M, D, w2, prec) == SIZE_MAX)
        return no_errorf(err, len, "M = %zu is too large (the cost matrix overflows)", M);
    size_t n = w2 ? L * M : M;
    r->L = L, r->M = M, r->D = D, r->prec = prec;
    r->perm = malloc(L * M * sizeof *r->perm);
    r->w2sq = malloc(L * sizeof(double)), r->w2sq_lo = malloc(L * sizeof(double));
    r->w2sq_hi = malloc(L * sizeof(double)), r->eps = malloc(L * sizeof(double));
    r->slack_max = malloc(L * sizeof(double)), r->dual_violation = malloc(L * sizeof(double));
    r->layer_verified = malloc(L * sizeof(int)), r->exact_costs = malloc(L * sizeof(int));
    if (w2)
        r->w2_perm = malloc(n * sizeof *r->w2_perm);
    double *c = malloc(n * n * sizeof *c), *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
    double *px = malloc(n * dim * sizeof *px), *py = malloc(n * dim * sizeof *py);
    size_t *kx = w2 ? malloc(n * sizeof *kx) : NULL;
    if (!r->perm || !r->w2sq || !r->w2sq_lo || !r->w2sq_hi || !r->eps || !r->slack_max ||
        !r->dual_violation || !r->layer_verified || !r->exact_costs ||
        (w2 && (!r->w2_perm || !kx)) || !c || !u || !v || !px || !py) {
        free(c), free(u), free(v), free(px), free(py), free(kx);
        no_cot_result_clear(r);
        return no_errorf(err, len, "out of memory (M = %zu%s)", M, w2 ? ", with --w2" : "");
    }
    ref_assign_cert cert;
    ref_assign_cert_init(&cert, prec);
    mpfr_t slo, shi, t, q;
    mpfr_inits2(prec + 64, slo, shi, t, q, (mpfr_ptr)0);
    mpfr_set_zero(slo, 1);
    mpfr_set_zero(shi, 1);
    int rc = 0;
    int all = 1;
    for (size_t k = 0; k < L && !rc; k++) {
        no_cot_layer_points(x, k, px);
        no_cot_layer_points(y, k, py);
        ref_assign_points p = {M, dim, px, py, NULL, NULL, 0};
        double fc;
        rc = assign_one(&p, c, u, v, r->perm + k * M, &fc, &cert, &r->seconds_assign,
                        &r->seconds_certify, err, len);
        if (rc)
            break;
        r->w2sq[k] = fc / (double)M;
        /* dual_lo may be slightly negative; the optimum is >= 0 */
        mpfr_set_zero(q, 1);
        mpfr_max(t, cert.dual_lo, q, MPFR_RNDD);
        mpfr_add(slo, slo, t, MPFR_RNDD);
        mpfr_add(shi, shi, cert.primal_hi, MPFR_RNDU);
        mpfr_div_ui(q, t, (unsigned long)M, MPFR_RNDD);
        r->w2sq_lo[k] = mpfr_get_d(q, MPFR_RNDD);
        mpfr_div_ui(q, cert.primal_hi, (unsigned long)M, MPFR_RNDU);
        r->w2sq_hi[k] = mpfr_get_d(q, MPFR_RNDU);
        mpfr_div_ui(q, cert.eps, (unsigned long)M, MPFR_RNDU);
        r->eps[k] = mpfr_get_d(q, MPFR_RNDU);
        r->slack_max[k] = cert.slack_max;
        r->dual_violation[k] = cert.dual_violation;
        r->layer_verified[k] = cert.verified;
        r->exact_costs[k] = cert.exact_costs;
        all &= cert.verified;
    }
    if (!rc) {
        /* COT_2^2 = (1/L) sum_k OPT_k / M, enclosed by rounding outward */
        mpfr_div_ui(slo, slo, (unsigned long)M, MPFR_RNDD);
        mpfr_div_ui(slo, slo, (unsigned long)L, MPFR_RNDD);
        mpfr_div_ui(shi, shi, (unsigned long)M, MPFR_RNDU);
        mpfr_div_ui(shi, shi, (unsigned long)L, MPFR_RNDU);
        r->cot2_bits = enclosure_bits(slo, shi, prec);
        r->cot2_lo = mpfr_get_d(slo, MPFR_RNDD);
        r->cot2_hi = mpfr_get_d(shi, MPFR_RNDU);
        r->cot2 = mpfr_get_d(shi, MPFR_RNDN);
        mpfr_sqrt(t, slo, MPFR_RNDD);
        r->cot_lo = mpfr_get_d(t, MPFR_RNDD);
        mpfr_sqrt(t, shi, MPFR_RNDU);
        r->cot_hi = mpfr_get_d(t, MPFR_RNDU);
        mpfr_sqrt(t, shi, MPFR_RNDN);
        r->cot = mpfr_get_d(t, MPFR_RNDN);
        r->verified = all;
        r->identity2 = no_cot_identity_sq(x, y);
    }
    if (!rc && w2) {
        for (size_t k = 0; k < L; k++) {
            no_cot_layer_points(x, k, px + k * M * dim);
            no_cot_layer_points(y, k, py + k * M * dim);
            for (size_t j = 0; j < M; j++)
                kx[k * M + j] = k;
        }
        ref_assign_points p = {n, dim, px, py, kx, kx, L};
        double fc;
        rc = assign_one(&p, c, u, v, r->w2_perm, &fc, &cert, &r->seconds_assign,
                        &r->seconds_certify, err, len);
        if (!rc) {
            r->have_w2 = 1;
            r->w2sq_joint = fc / (double)n;
            mpfr_set_zero(q, 1);
            mpfr_max(t, cert.dual_lo, q, MPFR_RNDD);
            mpfr_div_ui(t, t, (unsigned long)n, MPFR_RNDD);
            r->w2sq_joint_lo = mpfr_get_d(t, MPFR_RNDD);
            r->w2_le_cot = mpfr_lessequal_p(t, shi);
            mpfr_div_ui(t, cert.primal_hi, (unsigned long)n, MPFR_RNDU);
            r->w2sq_joint_hi = mpfr_get_d(t, MPFR_RNDU);
            mpfr_sqrt(t, t, MPFR_RNDN);
            r->w2 = mpfr_get_d(t, MPFR_RNDN);
            mpfr_div_ui(t, cert.eps, (unsigned long)n, MPFR_RNDU);
            r->w2_eps = mpfr_get_d(t, MPFR_RNDU);
            r->w2_verified = cert.verified;
        }
    }
    mpfr_clears(slo, shi, t, q, (mpfr_ptr)0);
    ref_assign_cert_clear(&cert);
    free(c), free(u), free(v), free(px), free(py), free(kx);
    if (rc)
        no_cot_result_clear(r);
    return rc;
}
