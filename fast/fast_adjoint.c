/* fast_adjoint.c - the discrete adjoint (conventions.md, "Discrete adjoint"):
 * backpropagation through every substep, the exact gradient of the computed loss. */
#include <string.h>

#include "fast_ws.h"

void fast_adjoint_run(fast_ws *ws, no_arrays *out)
{
    const no_spec *s = &ws->spec;
    size_t nd = s->N * s->D;
    double *adj = no_arrays_find(out, "adjoint")->v;

    memcpy(adj + s->L * nd, ws->p, nd * sizeof(double));
    for (size_t k = s->L; k-- > 0;) {
        for (size_t n = s->m; n-- > 0;) {
            size_t t = k * s->m + n;
            fast_scheme_adjoint_step(&ws->scheme, k, ws->tau, fast_ws_state(ws, t), ws->p,
                                     ws->pnext);
            double *tmp = ws->p;
            ws->p = ws->pnext;
            ws->pnext = tmp;
        }
        /* adjoint[k] = p_k, the cotangent of the layer boundary state z_k. */
        memcpy(adj + k * nd, ws->p, nd * sizeof(double));
    }
}
