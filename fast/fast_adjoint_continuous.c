/* fast_adjoint_continuous.c - the optimise-then-discretise gradient
 * (conventions.md, "Continuous adjoint"): the adjoint ODE integrated backward
 * with the forward tableau, re-anchored at each stored substep end state. */
#include <string.h>

#include "fast_ws.h"

void fast_adjoint_continuous_run(fast_ws *ws, no_arrays *out)
{
    const no_spec *s = &ws->spec;
    size_t nd = s->N * s->D;
    double *adj = no_arrays_find(out, "adjoint")->v;

    memcpy(adj + s->L * nd, ws->p, nd * sizeof(double));
    for (size_t k = s->L; k-- > 0;) {
        for (size_t n = s->m; n-- > 0;) {
            /* The backward substep n of layer k starts from z_{n+1}: the stored
             * state at boundary t + 1, never a backward-integrated one. */
            size_t t = k * s->m + n;
            fast_scheme_continuous_step(&ws->scheme, k, ws->tau, fast_ws_state(ws, t + 1), ws->p,
                                        ws->pnext);
            double *tmp = ws->p;
            ws->p = ws->pnext;
            ws->pnext = tmp;
        }
        memcpy(adj + k * nd, ws->p, nd * sizeof(double));
    }
}
