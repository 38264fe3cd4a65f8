/* fast_ws.h - internal: the workspace shared by the forward and adjoint
 * drivers (fast_forward.c, fast_adjoint.c).
 *
 * Everything a run needs is carved from one allocation made by fast_ws_alloc,
 * so the layer and substep loops never allocate. */
#ifndef FAST_WS_H
#define FAST_WS_H

#include "fast.h"
#include "fast_field.h"
#include "fast_scheme.h"

struct fast_ws {
    no_spec spec;            /* the spec the buffers were sized for */
    size_t nsub;             /* L * m substeps */
    double h, tau;           /* layer step (spec scaling) and substep h/m */
    const fast_field_type *field;
    fast_field_ctx ctx;      /* ctx.p and ctx.grad are set per run */
    fast_scheme scheme;
    double *states;          /* (L m + 1) x N x D: every substep boundary state */
    double *resid;           /* N x d_out: B z_L - y */
    double *p, *pnext;       /* N x D: adjoint ping-pong */
    double *block;           /* the one allocation */
    fast_progress progress;  /* none unless fast_run_progress sets it */
};

/* The progress hook, once per layer: done of the run's 3 L layer units (a
 * backward layer costs about two forward ones). */
static inline void fast_ws_report(const fast_ws *ws, const char *pass, size_t k, double done)
{
    if (ws->progress.fn)
        ws->progress.fn(ws->progress.ctx, pass, k, ws->spec.L, done / (3.0 * ws->spec.L));
}

/* State at substep boundary t (0..L m) of the last forward pass. */
static inline double *fast_ws_state(fast_ws *ws, size_t t)
{
    return ws->states + t * ws->spec.N * ws->spec.D;
}

/* Forward pass of fast_forward.c: fills ws->states and out's states, output,
 * loss, and ws->p = p_L. */
void fast_forward_run(fast_ws *ws, const no_problem *p, no_arrays *out);

/* Adjoint of the spec's kind, discrete or continuous (fast_adjoint.c), from
 * ws->p = p_L: out's adjoint and grad_*. */
void fast_adjoint_run(fast_ws *ws, no_arrays *out);

#endif
