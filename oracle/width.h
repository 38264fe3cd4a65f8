/* width.h - the width limit of SPEC 4 / 5.6: rff gradient descent with q
 * random features approaches RKHS gradient descent with the true kernel
 * (Gaussian ell, Matern nu) at the Monte-Carlo rate q^(-1/2).
 * Derivation and method: proofs-notes/width-limit.md.
 *
 * One problem fixes the data X, Y, A, B (spec->seed) and the step grid.  The
 * infinite-width target is ref_kernel_gd with the true kernel from v^0 = 0,
 * at prec bits.  For every q = qmin, 2 qmin, ..., qmax and every draw
 * r = 0..seeds-1, rff GD runs from W^0 = 0 with Omega and beta replaced by
 * those of the problem generated with the same spec, that q and the seed
 * spec->seed + 1 + i * seeds + r (i the index of q): a fresh, independent
 * draw per (q, r), the data untouched.  At every iterate n = 1..steps the
 * loss difference |F_rff(n) - F_kernel(n)| and the normwise relative output
 * difference |out_rff(n) - out_kernel(n)|_F / |out_kernel(n)|_F are
 * recorded; per q their mean (loss) and RMS (output) over the draws are
 * fitted by least squares, log(value) = a + b log q, with a two-sided
 * Student-t interval for b from the regression residuals.
 *
 * Layering: needs ref/ (kernel GD, and rff GD with impl ref) and fast/ (rff
 * GD with impl fast), so it lives in oracle/. */
#ifndef NO_WIDTH_H
#define NO_WIDTH_H

#include <stddef.h>

#include "fit.h"
#include "problem.h"

typedef enum { NO_WIDTH_FAST, NO_WIDTH_REF } no_width_impl;

typedef struct {
    no_spec spec;      /* rff, discrete adjoint; spec.q is ignored */
    size_t qmin, qmax; /* powers of two, 1 <= qmin < qmax */
    size_t seeds;      /* draws per q, >= 2 */
    size_t steps;      /* GD iterations, >= 1 */
    double eta;        /* GD step, > 0 */
    long prec;         /* bits of the kernel run (and of rff with impl ref) */
    double level;      /* confidence level of the slope interval, in (0, 1) */
    no_width_impl impl;
    /* after each finished run: done of total (kernel run + qs * seeds) */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
} no_width_opts;

/* Two measured quantities. */
enum { NO_WIDTH_LOSS, NO_WIDTH_OUTPUT, NO_WIDTH_NQ };

typedef struct {
    size_t nq, seeds, steps;
    size_t *q;          /* nq */
    /* raw differences, index [(n - 1) * nq * seeds + i * seeds + r] for
     * n = 1..steps, q index i, draw r */
    double *diff[NO_WIDTH_NQ];
    /* per (n, i), index (n - 1) * nq + i: the statistic that is fitted
     * (mean |dF|; RMS of the output difference) and the standard deviation
     * of the per-draw values */
    double *stat[NO_WIDTH_NQ], *sd[NO_WIDTH_NQ];
    no_fit *fit[NO_WIDTH_NQ]; /* per n, index n - 1 */
    double *F_kernel;   /* steps + 1 */
    double seconds;     /* CPU time */
} no_width_result;

/* Checks the options (one-line err naming the option); 0 or -1. */
int no_width_validate(const no_width_opts *o, char *err, size_t len);

/* Runs the experiment.  Returns 0, or -1 with err (invalid options, out of
 * memory, a kernel run over its memory limit); res is then empty. */
int no_width_run(const no_width_opts *o, no_width_result *res, char *err, size_t len);

void no_width_result_clear(no_width_result *res);

#endif
