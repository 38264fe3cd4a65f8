/* fast_forward.c - the forward pass of conventions.md, "Forward pass", and the
 * adjoint's start p_L ("Discrete adjoint"; the same start serves both kinds). */
#include <string.h>

#include "fast_linalg.h"
#include "fast_ws.h"

void fast_forward_run(fast_ws *ws, const no_problem *p, no_arrays *out)
{
    const no_spec *s = &ws->spec;
    size_t N = s->N, D = s->D, nd = N * D;
    double *states = no_arrays_find(out, "states")->v;
    double *yhat = no_arrays_find(out, "output")->v;

    /* z_0 = A x: rows of X A^T. */
    fast_linalg_gemm_nt(N, D, s->d_in, 1.0, p->X, s->d_in, p->A, s->d_in, 0.0,
                        fast_ws_state(ws, 0), D);
    /* Every substep boundary is kept: the discrete adjoint recomputes stages
     * from the substep's start, the continuous adjoint re-anchors at its end. */
    for (size_t k = 0; k < s->L; k++) {
        for (size_t n = 0; n < s->m; n++) {
            size_t t = k * s->m + n;
            fast_scheme_step(&ws->scheme, k, ws->tau, fast_ws_state(ws, t),
                             fast_ws_state(ws, t + 1));
        }
        fast_ws_report(ws, "forward", k, (double)k + 1);
    }
    for (size_t k = 0; k <= s->L; k++)
        memcpy(states + k * nd, fast_ws_state(ws, k * s->m), nd * sizeof(double));

    /* yhat = B z_L, loss = 1/(2N) sum |yhat - y|^2. */
    const double *zL = fast_ws_state(ws, ws->nsub);
    fast_linalg_gemm_nt(N, s->d_out, D, 1.0, zL, D, p->B, D, 0.0, yhat, s->d_out);
    double sum = 0.0;
    for (size_t i = 0; i < N * s->d_out; i++) {
        ws->resid[i] = yhat[i] - p->Y[i];
        sum += ws->resid[i] * ws->resid[i];
    }
    no_arrays_find(out, "loss")->v[0] = sum / (2.0 * (double)N);

    /* p_L = (1/N) B^T (B z_L - y): rows of (1/N) R B. */
    fast_linalg_gemm_nn(N, D, s->d_out, 1.0 / (double)N, ws->resid, s->d_out, p->B, D, 0.0,
                        ws->p, D);
}
