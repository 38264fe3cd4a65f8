/* fast_ws.h - internal: the workspace shared by the forward and adjoint
 * drivers (fast_forward.c, fast_adjoint.c, fast_run.c).
 *
 * Blocks.  The N data points are cut into blocks of B consecutive points
 * (fast_ws_block_size: a function of the spec alone, never of the threads
 * or processes).  Points are independent until the loss and the parameter
 * gradients sum over them, so a block runs its forward pass and, layer by
 * layer, its backward pass on its own; a layer's gradient is then the sum of
 * the blocks' partial gradients in one fixed binary tree over the block
 * indices (fast_ws_tree_sum).  One thread, several threads (fast_team.h) or
 * several processes that own subtrees get the same bits.
 *
 * Memory.  The layer states live in the caller's `states` output and the
 * adjoints in its `adjoint` output; nothing of size L N D is added.  With
 * m > 1 substeps per layer only the layer boundaries are kept (checkpoints):
 * the backward pass of a layer first recomputes the block's interior
 * substep states from the layer's start, with the forward pass's own
 * arithmetic (the same bits), into the worker's m + 1 substep slots.  That
 * costs one more forward pass of m - 1 substeps per layer and saves
 * (m - 1) L N D doubles.  The backsolve adjoint carries its state backward in
 * an N x D array of its own (it must not overwrite the forward states, which
 * are an output).  The workspace adds the workers' buffers and two layers of
 * partial gradients per block (fast_ws_partial: the members of a team meet
 * once a layer, not twice).
 *
 * Everything is carved from allocations made by fast_ws_alloc, so the layer
 * and substep loops never allocate. */
#ifndef FAST_WS_H
#define FAST_WS_H

#include "fast.h"
#include "fast_field.h"
#include "fast_scheme.h"
#include "fast_team.h"

/* One worker's buffers, for a block of at most B points. */
typedef struct {
    fast_field_ctx ctx;   /* scratch for B points; grad[] set per layer and block */
    fast_scheme scheme;   /* stage buffers for B points */
    double *p, *pnext;    /* B x D: the adjoint between substeps of a layer (m > 1) */
    double *resid;        /* B x d_out: the block's residuals B z_L - y */
    double *sub;          /* (m + 1) x B x D: a layer's substep states (m > 1, backsolve) */
    double *buf;          /* this worker's allocation */
} fast_worker;

struct fast_ws {
    no_spec spec;            /* the spec the buffers were sized for */
    double h, tau;           /* layer step (spec scaling) and substep h/m */
    const fast_field_type *field;
    size_t B, nblocks;       /* block size and count */
    size_t nworkers;         /* workers allocated (the team may run fewer) */
    fast_worker *workers;
    size_t np;               /* parameters of the family (no_spec_params) */
    size_t layer_n[NO_MAX_PARAMS]; /* entries of each parameter per layer */
    size_t Pk;               /* sum of layer_n: one layer's gradient */
    double *partial;         /* 2 x nblocks x Pk: the blocks' partial gradients of a layer,
                                the layers' parities in turn (fast_ws_partial) */
    double *lossp;           /* nblocks: the blocks' sums of squared residuals */
    double *carry;           /* N x D: the backsolve adjoint's carried state (else NULL) */
    fast_progress progress;  /* none unless fast_run_progress sets it */
    /* Set per run (fast_run_ws): */
    const no_problem *p;
    no_arrays *out;
    size_t part0, part1;     /* the blocks of this run (fast_run_part) */
    double *states;          /* the output's `states`: (L + 1) x N x D */
    double *adjoint;         /* the output's `adjoint` */
    double *grad[NO_MAX_PARAMS];
};

/* Block b's row of partial gradients of layer k.  Two sets of rows, used
 * by the layers in turn: a member may start on layer k - 1 while another
 * still sums layer k, so the backward pass meets one barrier a layer,
 * not two. */
static inline double *fast_ws_partial(const fast_ws *ws, size_t k, size_t b)
{
    return ws->partial + ((k & 1) * ws->nblocks + b) * ws->Pk;
}

/* Points per block for a spec (see above): 128 points (256 for rff with big
 * feature panels; two blocks below twice that), and at most FAST_MAX_BLOCKS
 * blocks, so the partial gradients stay small (fast_run.c). */
#define FAST_MAX_BLOCKS 32
size_t fast_ws_block_size(const no_spec *s);

/* The progress hook, once per layer: done of the run's 3 L layer units (a
 * backward layer costs about two forward ones). */
static inline void fast_ws_report(const fast_ws *ws, const char *pass, size_t k, double done)
{
    if (ws->progress.fn)
        ws->progress.fn(ws->progress.ctx, pass, k, ws->spec.L, done / (3.0 * ws->spec.L));
}

/* Rows of block b of layer state k (0..L), in the `states` output. */
static inline double *fast_ws_layer_state(const fast_ws *ws, size_t k, size_t b)
{
    return ws->states + (k * ws->spec.N + b * ws->B) * ws->spec.D;
}

/* Substep boundary n (0..m) of layer k for block b: the layer states at the
 * ends, the worker's slot n inside. */
static inline double *fast_ws_sub_state(const fast_ws *ws, const fast_worker *wk, size_t k,
                                        size_t n, size_t b)
{
    if (n == 0)
        return fast_ws_layer_state(ws, k, b);
    if (n == ws->spec.m)
        return fast_ws_layer_state(ws, k + 1, b);
    return wk->sub + n * ws->B * ws->spec.D;
}

/* Points in block b. */
static inline size_t fast_ws_block_points(const fast_ws *ws, size_t b)
{
    size_t first = b * ws->B;
    return ws->spec.N - first < ws->B ? ws->spec.N - first : ws->B;
}

/* Forward pass of block b (fast_forward.c): its rows of the states, the
 * output, the residual's sum of squares into lossp[b], and the adjoint's
 * start p_L into the adjoint output's last layer. */
void fast_forward_block(fast_ws *ws, fast_worker *wk, size_t b);

/* Backward pass of layer k for block b (fast_adjoint.c), of the spec's kind:
 * from the block's rows of adjoint layer k + 1 to those of layer k, adding
 * the block's gradient of layer k into partial row b (zeroed by the caller). */
void fast_adjoint_block(fast_ws *ws, fast_worker *wk, size_t k, size_t b);

/* x[lo] <- the sum of rows lo..hi-1 of x (rows of `stride` doubles, columns
 * j0..j1-1) in the fixed tree: S(lo, hi) = S(lo, mid) + S(mid, hi) with
 * mid - lo the largest power of two below hi - lo.  Rows other than lo are
 * overwritten. */
void fast_ws_tree_sum(double *x, size_t stride, size_t lo, size_t hi, size_t j0, size_t j1);

#endif
