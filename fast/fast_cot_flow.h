/* fast_cot_flow.h - the COT particle flow of the mlp family in double
 * (SPEC.md 4, proofs-notes/cot-flow.md): d theta_kj/dt = -G_kj, G_kj =
 * (M/h) dF/dtheta_kj (fast_run's mgrad_a, mgrad_u, mgrad_b), integrated with
 * the classical RK4 scheme in training time at a fixed step, together with
 * E' = |V|^2 and ell' = |V| (metric h/M sum |.|^2), so that the energy
 * identity's residual F(t) - F(0) + E(t) is that of an order-4 scheme.
 * Gradient descent is the explicit Euler scheme of the same flow
 * (fast_train.h).  Same records as ref_cot_flow.h, computed independently. */
#ifndef NO_FAST_COT_FLOW_H
#define NO_FAST_COT_FLOW_H

#include <stddef.h>

#include "problem.h"

typedef struct {
    double T;        /* final training time, > 0 */
    size_t records;  /* records at t_n = n T / records */
    size_t substeps; /* RK4 steps between records (0: 16) */
    double vscale;   /* velocity -vscale G (0 means 1, the contract); ref_cot_flow.h */
    void (*progress)(void *ctx, size_t done, size_t total); /* NULL: none */
    void *progress_ctx;
} fast_cot_flow_opts;

typedef struct {
    size_t records;
    double T;
    double *t, *F, *v2, *energy, *resid, *pl, *pl_env, *length, *dist; /* records + 1 each */
    double resid_rel; /* max_n |resid_n| / E(T) (0 when E(T) = 0) */
    size_t steps, evals;
} fast_cot_flow_traj;

/* One run of an mlp problem (other families refused).  0, or -1 with err. */
int fast_cot_flow_run(const no_problem *p, const fast_cot_flow_opts *o, fast_cot_flow_traj *t,
                      char *err, size_t len);

/* resid[i] = F(theta - eta_i G) - F(theta) + eta_i |G|^2 at the problem's
 * parameters, in double, for i < k (ref_cot_flow_gd_residual).  Any family. */
int fast_cot_flow_gd_residual(const no_problem *p, const double *eta, size_t k, double *resid,
                              char *err, size_t len);

void fast_cot_flow_traj_clear(fast_cot_flow_traj *t);

#endif
