/* fast_adjoint.c - the backward pass over layers and substeps, of either kind:
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

void fast_adjoint_run(fast_ws *ws, no_arrays *out)
{
    const no_spec *s = &ws->spec;
    size_t nd = s->N * s->D;
    double *adj = no_arrays_find(out, "adjoint")->v;
    int continuous = s->adjoint == NO_ADJOINT_CONTINUOUS;
    int backsolve = s->adjoint == NO_ADJOINT_BACKSOLVE;

    memcpy(adj + s->L * nd, ws->p, nd * sizeof(double));
    for (size_t k = s->L; k-- > 0;) {
        for (size_t n = s->m; n-- > 0;) {
            size_t t = k * s->m + n;
            if (backsolve)
                /* The carried state is kept in ws->states: substep t reads
                 * boundary t + 1 (the forward z_L for the very first one,
                 * else what substep t + 1 reconstructed, across layer
                 * boundaries too) and overwrites the stored forward z_t with
                 * its reconstruction.  The `states` output was copied in
                 * fast_forward_run, so nothing reads the forward values
                 * after this point. */
                fast_scheme_backsolve_step(&ws->scheme, k, ws->tau, fast_ws_state(ws, t + 1),
                                           ws->p, fast_ws_state(ws, t), ws->pnext);
            else if (continuous)
                fast_scheme_continuous_step(&ws->scheme, k, ws->tau, fast_ws_state(ws, t + 1),
                                            ws->p, ws->pnext);
            else
                fast_scheme_adjoint_step(&ws->scheme, k, ws->tau, fast_ws_state(ws, t), ws->p,
                                         ws->pnext);
            double *tmp = ws->p;
            ws->p = ws->pnext;
            ws->pnext = tmp;
        }
        /* adjoint[k] = p_k, the cotangent of the layer boundary state z_k. */
        memcpy(adj + k * nd, ws->p, nd * sizeof(double));
        fast_ws_report(ws, "backward", k, (double)s->L + 2.0 * (double)(s->L - k));
    }
}
