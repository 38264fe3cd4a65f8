/* fast.h - double-precision implementation of the nodeoracle contract (SPEC.md 1-3).
 *
 * Independent of ref/: it shares only the problem description (problem/), the
 * scheme tableaux (problem/tableau.h) and the output layout (problem/arrays.h).
 * Batched over data points: states are N x D row-major matrices and each field
 * evaluation is a few matrix products (fast/fast_linalg.h), written so that a
 * later change can hand them to BLAS.  All memory is allocated once per
 * workspace; nothing is allocated inside the layer or substep loops.
 */
#ifndef NO_FAST_H
#define NO_FAST_H

#include <stddef.h>

#include "arrays.h"
#include "problem.h"

typedef struct fast_ws fast_ws;

/* A progress hook for long runs (fn NULL: none): called once per layer of
 * each pass with the fraction of the run done. */
typedef struct {
    void (*fn)(void *ctx, const char *pass, size_t layer, size_t L, double fraction);
    void *ctx;
} fast_progress;

/* Workspace for repeated runs of problems with the same spec. */
fast_ws *fast_ws_alloc(const no_spec *spec);
void fast_ws_free(fast_ws *ws);

/* Bytes a fast_run of a validated spec takes (workspace and outputs),
 * computed before allocating anything: for refusing what cannot fit. */
double fast_memory_estimate(const no_spec *spec);

/* Forward pass, adjoint of the spec's kind (discrete or continuous), gradients
 * and metric gradients.  out must have been made by no_outputs_init(out, &p->spec).
 * Returns 0, or -1 with err filled (spec mismatch with the workspace). */
int fast_run_ws(fast_ws *ws, const no_problem *p, no_arrays *out, char *err, size_t len);

/* Convenience: allocate out (no_outputs_init) and a workspace, run, free the workspace.
 * out is overwritten without being freed: pass one that holds no arrays.  On
 * failure out is left empty. */
int fast_run(const no_problem *p, no_arrays *out, char *err, size_t len);

/* fast_run reporting its progress to pr (NULL: none). */
int fast_run_progress(const no_problem *p, const fast_progress *pr, no_arrays *out, char *err,
                      size_t len);

/* One run split across processes (docs/mpi.md), by data points.
 *
 * The points are cut into fast_block_count() blocks (a function of the spec
 * alone) and the loss and every gradient are sums over the blocks in one
 * fixed binary tree.  A part is a node of that tree: fast_part_of() gives
 * process `rank` of `ranks` its node (an empty range when there are more
 * processes than blocks: nothing to do), fast_run_part() computes it, and
 * fast_part_combine() adds the parts' sums in the tree's order, so that the
 * result has the bits of one process's fast_run_ws, whatever `ranks` is. */
size_t fast_block_count(const no_spec *s);

/* Blocks [*b0, *b1) of process rank of ranks (*b0 == *b1: none). */
void fast_part_of(size_t nblocks, size_t ranks, size_t rank, size_t *b0, size_t *b1);

/* The data points [*i0, *i1) of blocks [b0, b1). */
void fast_part_points(const no_spec *s, size_t b0, size_t b1, size_t *i0, size_t *i1);

/* The part of a run over blocks [b0, b1) (from fast_part_of): the rows of
 * those points in out's states, output and adjoint; out's grad_* the part's
 * sums; *sumsq its sum of squared residuals.  loss and mgrad_* untouched.
 * Returns 0, or -1 with err filled. */
int fast_run_part(fast_ws *ws, const no_problem *p, no_arrays *out, size_t b0, size_t b1,
                  double *sumsq, char *err, size_t len);

/* x[0] <- the whole sum from the parts' sums x[r] (r < ranks, n doubles
 * each, every rank's part from fast_part_of, an empty part's x[r] unused)
 * in the tree's order; the other x[r] are overwritten. */
void fast_part_combine(size_t nblocks, size_t ranks, double *const *x, size_t n);

/* loss and mgrad_* of out from its combined grad_* and sum of squares. */
void fast_run_finish(const no_spec *s, no_arrays *out, double sumsq);

/* Transport the N x D states Z through the flow of all layers, forward
 * (layer 0 to L-1, step +h/m) or, if reverse != 0, backward (layer L-1 to 0,
 * step -h/m) with the spec's scheme and substeps.  Used by the reversibility test.
 * Z is p->spec.N x p->spec.D.  The reverse map inverts the forward one only up to
 * the scheme's error, O((h/m)^order). */
int fast_flow(const no_problem *p, double *Z, int reverse, char *err, size_t len);

#endif
