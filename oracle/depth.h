/* depth.h - the depth limit of training (SPEC 5.6): gradient descent on a
 * ResNet of L layers approaches gradient descent on the Neural ODE
 * (parameters functions of time, L -> infinity), and the loss curves
 * converge at a rate in L that is fitted with a confidence interval.
 * Derivation and method: proofs-notes/depth-limit.md.
 *
 * The limit exists only when the initial parameters have one (i.i.d. draws
 * per layer have none), so every run starts from tied parameters: the
 * generator's layer 0 (each array has its own stream, so layer 0 does not
 * depend on L), copied to every layer, theta^0(t) constant.  Scaling must be
 * ode (h = 1/L).  For L = Lmin, 2 Lmin, ..., Lmax, n = 0..steps, GD records
 * the loss F_L(n) and the squared metric norm of the gradient G2_L(n); the
 * successive differences d_L(n) = |X_L(n) - X_2L(n)| are fitted,
 * log d = a + b log L, order = -b with a Student-t interval (fit.h).  A
 * successive difference of an order-r sequence behaves like C (1 - 2^-r)
 * L^-r, so no limit needs to be known to fit r.
 *
 * The derived orders, with p the scheme's order (depth-limit.md): the loss
 * at n = 0 (one forward pass of a constant-in-time field) converges at p;
 * the loss at n >= 1 and |G|^2 at every n at min(p, 2): the parameters of
 * a ResNet are piecewise constant in time, and the part of the continuous
 * gradient a layer cannot represent enters the loss quadratically. */
#ifndef NO_DEPTH_H
#define NO_DEPTH_H

#include <stddef.h>

#include "fit.h"
#include "problem.h"

typedef enum { NO_DEPTH_FAST, NO_DEPTH_REF } no_depth_impl;

typedef struct {
    no_spec spec;      /* scaling ode, smooth activation; spec.L is ignored */
    size_t Lmin, Lmax; /* powers of two, Lmax >= 8 Lmin (three differences) */
    size_t steps;      /* GD iterations, >= 1 */
    double eta;        /* GD step, > 0 */
    long prec;         /* bits of the runs with impl ref */
    double level;      /* confidence level of the interval, in (0, 1) */
    no_depth_impl impl;
    void (*progress)(void *ctx, size_t done, size_t total); /* after each L */
    void *progress_ctx;
} no_depth_opts;

/* The two curves. */
enum { NO_DEPTH_LOSS, NO_DEPTH_GNORM2, NO_DEPTH_NQ };

typedef struct {
    size_t nL, steps;
    size_t *L;                     /* nL depths */
    double *val[NO_DEPTH_NQ];      /* [n * nL + i]: X_{L_i}(n), n = 0..steps */
    double *diff[NO_DEPTH_NQ];     /* [n * (nL - 1) + i]: |X_{L_i}(n) - X_{L_{i+1}}(n)| */
    /* per n: how many leading differences lie above the rounding floor,
     * 2^-40 max_L |X_L(n)| (fast; ref: 2^-46, the recorded values being doubles); only they are fitted */
    size_t *kept[NO_DEPTH_NQ];
    no_fit *fit[NO_DEPTH_NQ];      /* per n: slope of log diff on log L (order = -slope);
                                      ok = 0 when fewer than 3 are kept */
    int *expected[NO_DEPTH_NQ];    /* per n: the derived order */
    /* per n: the Richardson estimate of the limit from the two deepest runs
     * with the derived order, X_Lmax + (X_Lmax - X_Lmax/2) / (2^r - 1) */
    double *limit[NO_DEPTH_NQ];
    int scheme_order;              /* p */
    double seconds;                /* CPU time */
} no_depth_result;

/* The derived order of quantity k at iterate n for a scheme of order p. */
int no_depth_expected_order(int k, size_t n, int p);

/* Ties the parameters: every layer of every parameter array of p becomes a
 * copy of layer 0. */
void no_depth_tie(no_problem *p);

/* Checks the options (one-line err naming the option); 0 or -1. */
int no_depth_validate(const no_depth_opts *o, char *err, size_t len);

/* Runs the experiment.  Returns 0, or -1 with err (invalid options, out of
 * memory, a run that failed); res is then empty. */
int no_depth_run(const no_depth_opts *o, no_depth_result *res, char *err, size_t len);

void no_depth_result_clear(no_depth_result *res);

#endif
