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

/* Transport the N x D states Z through the flow of all layers, forward
 * (layer 0 to L-1, step +h/m) or, if reverse != 0, backward (layer L-1 to 0,
 * step -h/m) with the spec's scheme and substeps.  Used by the reversibility test.
 * Z is p->spec.N x p->spec.D.  The reverse map inverts the forward one only up to
 * the scheme's error, O((h/m)^order). */
int fast_flow(const no_problem *p, double *Z, int reverse, char *err, size_t len);

#endif
