/* width.h - the width limits of SPEC 4 / 5.6: rff gradient descent with q
 * random features approaches RKHS gradient descent with the true kernel
 * (Gaussian ell, Matern nu) at the Monte-Carlo rate q^(-1/2); and the
 * mean-field limit of mlp gradient descent as the width M grows (below).
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

/* ---- the mean-field (mlp) width limit: propagation of chaos --------------
 *
 * GD of the mlp ResNet in the COT metric (mgrad = (M/h) grad, the particle
 * velocity -grad Psi_k, SPEC 4) moves the empirical measure of the M
 * particles of each layer by a map that depends on the measure only, so the
 * loss after n steps is F_M(n) = Phi_n(mu_0^M), mu_0^M the initial empirical
 * measure: the width enters only through how well mu_0^M stands for the
 * initial law mu_0 (a ~ param_scale N(0, I_D), u ~ N(0, I_D / D),
 * b ~ N(0, 1), proofs-notes/generator.md).
 *
 * One problem fixes the data X, Y, A, B (spec->seed) and the step grid.  For
 * M = Mmin, 2 Mmin, ..., Mmax:
 *   init iid:  draw r = 0..seeds-1 uses a, u, b of the problem of seed
 *              spec->seed + 1 + i * seeds + r at width M (i the index of M),
 *              the data untouched: an independent draw per (M, r);
 *   init quadrature: one deterministic run, a, u, b the centred Sobol net
 *              of no_width_quadrature_init.
 * The target F_ref(n) is the quadrature run at M_ref = NO_WIDTH_MLP_REF_FACTOR
 * * Mmax.  Per (n, M): the mean and standard deviation over the draws of
 * F_M(n), and the RMS over the draws of F_M(n) - F_ref(n).  Fitted against
 * log M (fit.h): iid, the standard deviation (the fluctuation, sd ~ M^-1/2,
 * no target needed) and the RMS error; quadrature, |F_M(n) - F_ref(n)|
 * (expected ~ M^-1 up to log factors); both, the sup over the trajectory of
 * |F_M(n) - F_ref(n)|.  proofs-notes/width-limit.md 8-11. */

typedef enum { NO_WIDTH_IID, NO_WIDTH_QUADRATURE } no_width_init;

/* M_ref / Mmax: the target's own error is 1/16 of the quadrature error at
 * Mmax when that error falls like M^-1. */
#define NO_WIDTH_MLP_REF_FACTOR 16
/* Sobol dimensions of the built-in direction table: 2 D + 1 <= 21. */
#define NO_WIDTH_SOBOL_DIMS 21

typedef struct {
    no_spec spec;      /* mlp; spec.M is ignored */
    size_t Mmin, Mmax; /* powers of two, 1 <= Mmin, 4 Mmin <= Mmax <= 2^16 */
    size_t seeds;      /* iid: draws per M, >= 2; quadrature: ignored (one run) */
    size_t steps;      /* GD iterations, >= 1 */
    double eta;        /* GD step, > 0 */
    long prec;         /* bits of the runs with impl ref */
    double level;      /* confidence level of the slope intervals, in (0, 1) */
    no_width_impl impl;
    no_width_init init;
    /* after each finished run: done of total (reference run + runs) */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *progress_ctx;
} no_width_mlp_opts;

/* Fitted quantities: the spread over draws (iid only), the error vs F_ref. */
enum { NO_WIDTH_MLP_SPREAD, NO_WIDTH_MLP_ERROR, NO_WIDTH_MLP_NQ };

typedef struct {
    size_t nM, draws, steps; /* draws: seeds (iid) or 1 (quadrature) */
    size_t M_ref;
    no_width_init init;
    size_t *M;      /* nM */
    /* raw losses F_M(n), index [n * nM * draws + i * draws + r], n = 0..steps */
    double *F;
    double *F_ref;  /* steps + 1 */
    /* per (n, i), index n * nM + i, n = 0..steps: mean and standard
     * deviation (0 with one draw) of F_M(n) over the draws, and the RMS over
     * the draws of F_M(n) - F_ref(n) */
    double *mean, *sd, *err;
    /* per n, index n; fit[NO_WIDTH_MLP_SPREAD][n].ok is 0 for quadrature */
    no_fit *fit[NO_WIDTH_MLP_NQ];
    /* the whole trajectory: per M (index i) the RMS over the draws of
     * max_{n = 0..steps} |F_M(n) - F_ref(n)|, and its fit.  The headline
     * quantity of the quadrature: its per-n error changes sign at
     * scattered n (a quadrature error, not a noise), the sup over the
     * trajectory does not (width-limit.md 10) */
    double *traj;
    no_fit traj_fit;
    double seconds; /* CPU time */
} no_width_mlp_result;

/* Checks the options (one-line err naming the option); 0 or -1. */
int no_width_mlp_validate(const no_width_mlp_opts *o, char *err, size_t len);

/* Runs the experiment.  Returns 0, or -1 with err; res is then empty. */
int no_width_mlp_run(const no_width_mlp_opts *o, no_width_mlp_result *res, char *err,
                     size_t len);

void no_width_mlp_result_clear(no_width_mlp_result *res);

/* The first n points x_0..x_(n-1) of the Sobol sequence in dim <= 21
 * dimensions (Joe and Kuo's direction numbers), centred:
 * u[j * dim + c] = x_j[c] + 2^-(B+1), 2^B >= n the next power of two.  For
 * n = 2^m every coordinate takes each value (k + 1/2)/n, k = 0..n-1, exactly
 * once (a (0, m, 1)-net in each coordinate).  0, or -1 for n = 0, n > 2^30
 * or dim out of range. */
int no_width_sobol_centred(size_t n, size_t dim, double *u);

/* The standard normal quantile Phi^-1(p), p in (0, 1) (relative error about
 * 1e-15: Acklam's rational approximation refined by one Halley step on
 * erfc). */
double no_width_normal_quantile(double p);

/* Overwrites the mlp parameters a, u, b of p by a quadrature of the
 * generator's law: the L M particles are the first L M points s_j of the
 * centred Sobol sequence in 2 D + 1 dimensions, layer k taking j = kM..kM+M-1,
 * mapped coordinatewise by the normal quantile and scaled: b =
 * Phi^-1(s_0), u_c = Phi^-1(s_(1+c)) / sqrt(D), a_c = param_scale
 * Phi^-1(s_(1+D+c)).  For M = 2^m each coordinate of a layer's particles is
 * thus exactly the midpoint quantile grid Phi^-1((k + 1/2)/M) of its
 * marginal law.  0, or -1 with err (not mlp, 2 D + 1 > NO_WIDTH_SOBOL_DIMS,
 * L M > 2^30, out of memory). */
int no_width_quadrature_init(no_problem *p, char *err, size_t len);

/* ---- the sweep in cells, for a caller that runs them elsewhere -----------
 * no_width_run and no_width_mlp_run are open, run and add every cell in
 * order, close.  nodeoracle-mpi (mpi/, docs/mpi.md) runs the cells on its
 * ranks and adds them on rank 0, in order: the result is the same, bit for
 * bit (every statistic is computed in close, in the serial order, from the
 * same doubles).
 *
 * Cell 0 is the infinite-width target (rff: kernel GD with the true kernel;
 * mlp: the quadrature run at M_ref); cell 1 + i S + r the run of width index
 * i and draw r (S the draws per width: seeds, or 1 for the mlp quadrature).
 * A cell's result is no_width_sweep_cell_len doubles: F(n), n = 0..steps,
 * then (rff) the outputs, (steps + 1) x N d_out.  Cells depend on the
 * options only, never on each other. */
typedef struct no_width_sweep no_width_sweep;

/* Validate, allocate the tables and generate the data.  0, or -1 with err. */
int no_width_sweep_open(const no_width_opts *o, no_width_sweep **sw, char *err, size_t len);
int no_width_mlp_sweep_open(const no_width_mlp_opts *o, no_width_sweep **sw, char *err,
                            size_t len);
size_t no_width_sweep_cells(const no_width_sweep *sw);
size_t no_width_sweep_cell_len(const no_width_sweep *sw);
/* The estimated work of a cell, in units of about 10 ns (width.c: fast's
 * and the reference's field multiply-adds, the random draws, the kernel
 * expansion, weighted as measured): what nodeoracle-mpi balances by. */
double no_width_sweep_cost(const no_width_sweep *sw, size_t cell);
/* Run a cell into out (no_width_sweep_cell_len doubles).  0, or -1 with
 * err.  Touches nothing in sw: any process that opened the same sweep may
 * run any cell. */
int no_width_sweep_run(const no_width_sweep *sw, size_t cell, double *out, char *err,
                       size_t len);
/* Record a cell's result; rff: cell 0 first (the others are measured
 * against it).  0, or -1 with err. */
int no_width_sweep_add(no_width_sweep *sw, size_t cell, const double *out, char *err,
                       size_t len);
/* Every cell added: the statistics and fits; frees sw.  res->seconds is
 * this process's CPU time since open (a caller that ran cells elsewhere
 * may replace it).  0, or -1 with err (res empty). */
int no_width_sweep_close(no_width_sweep *sw, no_width_result *res, char *err, size_t len);
int no_width_mlp_sweep_close(no_width_sweep *sw, no_width_mlp_result *res, char *err,
                             size_t len);
/* Free without a result. */
void no_width_sweep_free(no_width_sweep *sw);
/* Run and add every cell in this process, in order, calling progress (if
 * not NULL) after each.  0, or -1 with err (sw still to be freed). */
int no_width_sweep_all(no_width_sweep *sw, void (*progress)(void *, size_t, size_t), void *ctx,
                       char *err, size_t len);

/* ---- the command in steps (cmd_width.c) ------------------------------------
 * `nodeoracle width` is: open (parse, validate; help and usage errors
 * printed, *c NULL and the result the exit status), prepare (create --out;
 * an error printed and its status), the sweep (no_width_cmd_sweep: open it,
 * or the error printed and its status), every cell run and added, finish
 * (close, --out files, the table or JSON; frees c; the exit status).
 * cpu_seconds < 0: the sweep's own CPU time, else the figure given (the
 * total over the processes that ran the cells). */
typedef struct no_width_cmd no_width_cmd;
int no_width_cmd_open(int argc, char **argv, no_width_cmd **c);
int no_width_cmd_prepare(no_width_cmd *c);
int no_width_cmd_sweep(no_width_cmd *c, no_width_sweep **sw);
/* The progress reporter of the command (quiet: none). */
void no_width_cmd_progress(no_width_cmd *c, size_t done, size_t total);
int no_width_cmd_finish(no_width_cmd *c, no_width_sweep *sw, double cpu_seconds);
void no_width_cmd_free(no_width_cmd *c);

#endif
