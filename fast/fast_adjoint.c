/* fast_adjoint.c - the backward pass of one layer for one block of points
 * (fast_ws.h), of either kind:
 *   discrete   (conventions.md, "Discrete adjoint"): backpropagation through
 *              the substep started at the stored state z_n, the exact gradient
 *              of the computed loss;
 *   continuous (conventions.md, "Continuous adjoint"): one backward substep of
 *              the adjoint ODE with the forward tableau, re-anchored at the
 *              stored end state z_{n+1}, never a backward-integrated one;
 *   backsolve  (backsolve-adjoint.md): the same backward substep from a state
 *              carried backward from z_L by the same stages, never
 *              re-anchored (torchdiffeq odeint_adjoint, diffrax
 *              BacksolveAdjoint, over one integration from s = 0 to T).
 * They differ only in the substep map, so they share this driver. */
#include "fast_ws.h"

void fast_adjoint_block(fast_ws *ws, fast_worker *wk, size_t k, size_t b)
{
    const no_spec *s = &ws->spec;
    size_t first = b * ws->B, D = s->D;
    fast_scheme_set_points(&wk->scheme, fast_ws_block_points(ws, b));
    /* The layer's gradient goes to the block's row of partial sums. */
    double *row = ws->partial + b * ws->Pk;
    for (size_t i = 0; i < ws->np; i++) {
        wk->ctx.grad[i] = row;
        row += ws->layer_n[i];
    }
    /* p' of the layer's last substep is the block's rows of adjoint layer
     * k + 1; the first substep writes those of layer k; the substeps in
     * between ping-pong in the worker's buffers. */
    const double *pout = ws->adjoint + ((k + 1) * s->N + first) * D;
    for (size_t n = s->m; n-- > 0;) {
        size_t t = k * s->m + n;
        double *pin = n == 0 ? ws->adjoint + (k * s->N + first) * D
                      : pout == wk->p ? wk->pnext
                                      : wk->p;
        if (s->adjoint == NO_ADJOINT_BACKSOLVE)
            /* The carried state is kept in the workspace's own states:
             * substep t reads boundary t + 1 (the forward z_L for the very
             * first one, else what substep t + 1 reconstructed, across layer
             * boundaries too) and overwrites the stored forward z_t with its
             * reconstruction.  The `states` output was copied by the forward
             * pass, so nothing reads the forward values after this point. */
            fast_scheme_backsolve_step(&wk->scheme, k, ws->tau, fast_ws_state(ws, t + 1, b), pout,
                                       fast_ws_state(ws, t, b), pin);
        else if (s->adjoint == NO_ADJOINT_CONTINUOUS)
            fast_scheme_continuous_step(&wk->scheme, k, ws->tau, fast_ws_state(ws, t + 1, b),
                                        pout, pin);
        else
            fast_scheme_adjoint_step(&wk->scheme, k, ws->tau, fast_ws_state(ws, t, b), pout, pin);
        pout = pin;
    }
}
