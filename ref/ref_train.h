/* ref_train.h - training dynamics in the MPFR reference (SPEC.md 4):
 * gradient descent theta^{n+1} = theta^n - eta G(theta^n) and gradient flow
 * d theta/dt = -G(theta), G the metric gradient of ref_run (mgrad_*).
 *
 * The iterate theta^n is kept as MPFR numbers at the working precision for
 * the whole run (never rounded to double between steps): the reference
 * trajectory is exact-arithmetic GD (resp. the exact flow), and
 * ref_train_certify states how many bits of each recorded F are correct by
 * running twice, at p and p + max(32, p/2) bits (the flow also with its
 * local error target divided by 2^10), as ref_certify does
 * (proofs-notes/training.md).
 *
 * Parameters are one vector of K numbers: the family's arrays in the order
 * of no_spec_params (W; or a, u, b), each in C order.  Norms are those of
 * the metric: |theta|^2 = w sum theta^2, w = h (linear, rff), h/M (mlp). */
#ifndef NO_REF_TRAIN_H
#define NO_REF_TRAIN_H

#include <mpfr.h>
#include <stddef.h>

#include "arrays.h"
#include "problem.h"

typedef struct {
    size_t steps;     /* iterations; records n = 0..steps */
    double eta;       /* GD step; for a flow, records at t = n eta */
    int flow;         /* 1: gradient flow to time steps * eta instead of GD */
    double flow_tol;  /* flow: local error target per step (0: 2^-40) */
    int keep_params;  /* record theta^n, (steps + 1) x K doubles */
    int lip_iters;    /* GD: power iterations estimating |DG(theta^n)| (0: none) */
    /* Called after each record n, with theta^n and ref_run's outputs at it
     * rounded to double (GD only; NULL: none).  Nonzero stops the run. */
    int (*hook)(void *ctx, size_t n, const double *theta, const no_arrays *out);
    void *hook_ctx;
    /* Progress: done of total records (NULL: none). */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
} ref_train_opts;

typedef struct {
    size_t steps, K;
    double eta;
    long prec;          /* the working precision whose bits are stated */
    double *F;          /* steps + 1 each: the loss */
    double *gnorm2;     /* |G(theta^n)|^2 in the metric */
    double *theta_norm; /* |theta^n| */
    double *theta_dist; /* |theta^n - theta^0| */
    double *F_bits;     /* correct bits of the prec run's F (certified runs; else NULL) */
    double *lip;        /* estimate of |DG(theta^n)| (lip_iters > 0; else NULL) */
    double *params;     /* (steps + 1) x K (keep_params; else NULL) */
    size_t flow_accepted, flow_rejected; /* RK steps of the (lower) flow run */
} ref_train_traj;

/* The parameter count K of a spec. */
size_t ref_train_nparams(const no_spec *s);

/* One run at precision prec; values rounded to double, F_bits NULL.
 * Returns 0, or -1 with err filled (t is then empty). */
int ref_train_run(const no_problem *p, long prec, const ref_train_opts *o, ref_train_traj *t,
                  char *err, size_t len);

/* Runs at prec and prec + max(32, prec/2) (flow: and tol / 2^10): values of
 * the higher run, F_bits those of the prec run, lip and the hook of the prec
 * run.  Returns 0, or -1 with err filled. */
int ref_train_certify(const no_problem *p, long prec, const ref_train_opts *o,
                      ref_train_traj *t, char *err, size_t len);

void ref_train_traj_clear(ref_train_traj *t);

#endif
