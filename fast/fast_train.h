/* fast_train.h - training dynamics in double (SPEC.md 4): gradient descent
 * theta^{n+1} = theta^n - eta G(theta^n), G the metric gradient of fast_run
 * (mgrad_*), with the records of ref_train.h computed independently in
 * double: F, |G|^2, |theta^n|, |theta^n - theta^0| in the metric
 * (w sum x^2, w = h, or h/M for mlp), and optionally theta^n.  The
 * parameter vector is the family's arrays in the order of no_spec_params,
 * each in C order.  The same inputs give the same bits on every run (no
 * threads, no data-dependent order). */
#ifndef NO_FAST_TRAIN_H
#define NO_FAST_TRAIN_H

#include <stddef.h>

#include "problem.h"

typedef struct {
    size_t steps, K;
    double eta;
    double *F, *gnorm2, *theta_norm, *theta_dist; /* steps + 1 each */
    double *params;                               /* (steps + 1) x K, or NULL */
} fast_train_traj;

/* steps iterations of GD with step eta from p's parameters (p is not
 * changed); keep_params: record theta^n.  progress (NULL: none) is called
 * after each record with (done, total).  Returns 0, or -1 with err. */
int fast_train_gd(const no_problem *p, size_t steps, double eta, int keep_params,
                  void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                  fast_train_traj *t, char *err, size_t len);

void fast_train_traj_clear(fast_train_traj *t);

#endif
