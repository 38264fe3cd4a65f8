/* ref_cot_flow.h - the COT gradient flow of the mlp particles in MPFR
 * (SPEC.md 4 "COT gradient flow (mean field)", proofs-notes/cot-flow.md).
 *
 * Every particle theta_kj = (a_kj, u_kj, b_kj) moves with the velocity
 * V_kj = -G_kj = -(M/h) dF/dtheta_kj at its own layer k (ref_run's mgrad_a,
 * mgrad_u, mgrad_b; metric-gradient.md section 2: G_kj = grad Psi_k(theta_kj)).
 * Along it the energy identity F(t) - F(0) = -int_0^t |V|^2_{L^2(mu)} ds holds,
 * |V|^2 = h sum_k (1/M) sum_j |V_kj|^2 (the metric norm of the metric
 * gradient).  The flow is integrated together with E' = |V|^2 and
 * ell' = |V| (the path length in the COT metric) by Gragg-Bulirsch-Stoer
 * extrapolation of order 16 with step control, so the identity can be
 * checked to far more digits than the Dormand-Prince flow of ref_train.h
 * reaches; ref_train's flow integrates the same ODE (checked against it in
 * tests/test_cot_flow.c). */
#ifndef NO_REF_COT_FLOW_H
#define NO_REF_COT_FLOW_H

#include <stddef.h>

#include "problem.h"

typedef struct {
    double T;       /* final training time, > 0 */
    size_t records; /* records at t_n = n T / records, n = 0..records */
    double tol;     /* local error target per macro step, mixed absolute/relative
                       (0: 2^-(3 prec / 4)) */
    /* The velocity is -vscale G with |V|^2 = vscale^2 |G|^2; 0 means 1 (the
     * contract).  Another value emulates a wrong metric factor (1/M: the
     * Euclidean-in-particles velocity (1/h) dF/dtheta; h/M: the plain
     * Euclidean gradient), for the tests that must see that bug class. */
    double vscale;
    /* Progress: done of total records (NULL: none). */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
} ref_cot_flow_opts;

typedef struct {
    size_t records;
    long prec;
    double T;
    /* records + 1 each, rounded to double from the working precision */
    double *t;      /* record times */
    double *F;      /* the loss */
    double *v2;     /* |V|^2 in the metric */
    double *energy; /* E(t) = int_0^t |V|^2 ds */
    double *resid;  /* F(t) - F(0) + E(t), computed before rounding */
    double *pl;     /* |G|^2 / F, the local PL ratio (the contract's G) */
    double *pl_env; /* running minimum of pl over every step point up to t */
    double *length; /* int_0^t |V| ds, the COT length of the path */
    double *dist;   /* |theta(t) - theta(0)| in the metric (<= length) */
    double *F_bits; /* ref_cot_flow_certify: correct bits of the prec run's F; else NULL */
    double resid_rel; /* max_n |resid_n| / E(T) (0 when E(T) = 0) */
    size_t accepted, rejected, evals; /* macro steps and gradient evaluations */
} ref_cot_flow_traj;

/* One run at precision prec (53..REF_PREC_MAX) of an mlp problem; other
 * families are refused.  Returns 0, or -1 with err filled (t is then empty). */
int ref_cot_flow_run(const no_problem *p, long prec, const ref_cot_flow_opts *o,
                     ref_cot_flow_traj *t, char *err, size_t len);

/* Runs at prec and at prec + max(32, prec/2) with tol / 2^10: the higher
 * run's values, F_bits those of the prec run (as ref_train_certify). */
int ref_cot_flow_certify(const no_problem *p, long prec, const ref_cot_flow_opts *o,
                         ref_cot_flow_traj *t, char *err, size_t len);

/* The discrete energy identity of gradient descent at the problem's
 * parameters theta: resid[i] = F(theta - eta_i G) - F(theta) + eta_i |G|^2,
 * computed at precision prec and rounded, for i < k; O(eta^2)
 * (proofs-notes/cot-flow.md section 3).  Any family.  0, or -1 with err. */
int ref_cot_flow_gd_residual(const no_problem *p, long prec, const double *eta, size_t k,
                             double *resid, char *err, size_t len);

void ref_cot_flow_traj_clear(ref_cot_flow_traj *t);

#endif
