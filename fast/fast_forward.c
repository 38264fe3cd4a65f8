/* fast_forward.c - the forward pass of conventions.md, "Forward pass", and the
 * adjoint's start p_L ("Discrete adjoint"; the same start serves every kind),
 * for one block of points (fast_ws.h). */
#include <string.h>

#include "fast_linalg.h"
#include "fast_ws.h"

void fast_forward_block(fast_ws *ws, fast_worker *wk, size_t b)
{
    const no_spec *s = &ws->spec;
    const no_problem *p = ws->p;
    size_t n = fast_ws_block_points(ws, b), first = b * ws->B, D = s->D, dout = s->d_out;
    fast_scheme_set_points(&wk->scheme, n);

    /* z_0 = A x: rows of X A^T. */
    fast_linalg_gemm_nt(n, D, s->d_in, 1.0, p->X + first * s->d_in, s->d_in, p->A, s->d_in, 0.0,
                        fast_ws_layer_state(ws, 0, b), D);
    /* Layer boundaries go to the `states` output, the interior substeps of
     * a layer (m > 1) through the worker's slots: the backward pass
     * recomputes them from the layer's start (fast_ws.h). */
    for (size_t k = 0; k < s->L; k++)
        for (size_t j = 0; j < s->m; j++)
            fast_scheme_step(&wk->scheme, k, ws->tau, fast_ws_sub_state(ws, wk, k, j, b),
                             fast_ws_sub_state(ws, wk, k, j + 1, b));
    if (ws->carry) /* the backsolve adjoint starts from the forward z_L */
        memcpy(ws->carry + first * D, fast_ws_layer_state(ws, s->L, b), n * D * sizeof(double));

    /* yhat = B z_L; the block's sum of squared residuals r = yhat - y, in
     * row order (the blocks' sums are added in fast_ws_tree_sum's tree). */
    double *yhat = no_arrays_find(ws->out, "output")->v + first * dout;
    const double *zL = fast_ws_layer_state(ws, s->L, b);
    fast_linalg_gemm_nt(n, dout, D, 1.0, zL, D, p->B, D, 0.0, yhat, dout);
    double sum = 0.0;
    for (size_t i = 0; i < n * dout; i++) {
        wk->resid[i] = yhat[i] - p->Y[first * dout + i];
        sum += wk->resid[i] * wk->resid[i];
    }
    ws->lossp[b] = sum;
    /* p_L = (1/N) B^T (B z_L - y): rows of (1/N) R B. */
    fast_linalg_gemm_nn(n, D, dout, 1.0 / (double)s->N, wk->resid, dout, p->B, D, 0.0,
                        ws->adjoint + (s->L * s->N + first) * D, D);
}
