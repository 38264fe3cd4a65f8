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
#include <string.h>

#include "fast_ws.h"

void fast_adjoint_block(fast_ws *ws, fast_worker *wk, size_t k, size_t b)
{
    const no_spec *s = &ws->spec;
    size_t first = b * ws->B, D = s->D;
    fast_scheme_set_points(&wk->scheme, fast_ws_block_points(ws, b));
    /* The layer's gradient goes to the block's row of partial sums. */
    double *row = fast_ws_partial(ws, k, b);
    for (size_t i = 0; i < ws->np; i++) {
        wk->ctx.grad[i] = row;
        row += ws->layer_n[i];
    }
    /* p' of the layer's last substep is the block's rows of adjoint layer
     * k + 1; the first substep writes those of layer k; the substeps in
     * between ping-pong in the worker's buffers. */
    const double *pout = ws->adjoint + ((k + 1) * s->N + first) * D;
    int backsolve = s->adjoint == NO_ADJOINT_BACKSOLVE;
    if (!backsolve)
        /* Checkpointing (fast_ws.h): the interior substep states of the
         * layer, recomputed from its start exactly as the forward pass
         * computed them. */
        for (size_t j = 0; j + 1 < s->m; j++)
            fast_scheme_step(&wk->scheme, k, ws->tau, fast_ws_sub_state(ws, wk, k, j, b),
                             fast_ws_sub_state(ws, wk, k, j + 1, b));
    double *carry = backsolve ? ws->carry + first * D : NULL;
    for (size_t j = s->m; j-- > 0;) {
        double *pin = j == 0 ? ws->adjoint + (k * s->N + first) * D
                      : pout == wk->p ? wk->pnext
                                      : wk->p;
        if (backsolve) {
            /* The carried state: substep j reads boundary j + 1 (the
             * carried z at the layer's end for the last substep, else what
             * substep j + 1 reconstructed, in slot j + 1) and writes its
             * reconstruction of boundary j into slot j; the first substep's
             * becomes the carried state of the layer below.  Never the
             * forward states: the backsolve adjoint does not re-anchor. */
            const double *z1 = j + 1 == s->m ? carry : wk->sub + (j + 1) * ws->B * D;
            fast_scheme_backsolve_step(&wk->scheme, k, ws->tau, z1, pout,
                                       wk->sub + j * ws->B * D, pin);
        } else if (s->adjoint == NO_ADJOINT_CONTINUOUS) {
            fast_scheme_continuous_step(&wk->scheme, k, ws->tau,
                                        fast_ws_sub_state(ws, wk, k, j + 1, b), pout, pin);
        } else {
            fast_scheme_adjoint_step(&wk->scheme, k, ws->tau, fast_ws_sub_state(ws, wk, k, j, b),
                                     pout, pin);
        }
        pout = pin;
    }
    if (backsolve)
        memcpy(carry, wk->sub, fast_ws_block_points(ws, b) * D * sizeof(double));
}
