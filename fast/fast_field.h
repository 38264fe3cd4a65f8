/* fast_field.h - the residual families v_k of SPEC.md 2 as a table of methods.
 *
 * Like GSL's gsl_odeiv2_step_type, a family is a constant struct of function
 * pointers; the scheme and adjoint drivers (fast_scheme.h) call them without
 * knowing which family runs.  All methods are batched over n points: Z is an
 * n x D row-major matrix, one point per row, so that each method is a few
 * matrix products (fast_linalg.h).
 *
 * The formulas are the "Fields" table of proofs-notes/conventions.md.
 */
#ifndef FAST_FIELD_H
#define FAST_FIELD_H

#include <stddef.h>

#include "problem.h"

/* What a method may read and write besides its arguments.  Set up once per
 * workspace (fast_ws); the methods never allocate. */
typedef struct {
    const no_problem *p;          /* parameters of every layer, Omega/beta (rff) */
    double *scratch;              /* scratch_size(spec, n) doubles */
    double *grad[NO_MAX_PARAMS];  /* the gradient of the layer being differentiated,
                                     one array per parameter in the order of
                                     no_spec_params(), set by the driver before it
                                     calls vjp for that layer (a blocked run points
                                     them at its block's partial sums) */
} fast_field_ctx;

/* The rff field works on its q features in column panels of at most this
 * many (fast_field_rff.c): a block's scratch is 2 n fast_rff_panel(s)
 * doubles, and the block rule (fast_ws_block_size) reads the panel width. */
#define FAST_RFF_PANEL 256

static inline size_t fast_rff_panel(const no_spec *s)
{
    return s->q < FAST_RFF_PANEL ? s->q : FAST_RFF_PANEL;
}

typedef struct {
    const char *name;
    /* Doubles of scratch that eval and vjp need for n points. */
    size_t (*scratch_size)(const no_spec *s, size_t n);
    /* V = v_k(Z), row by row (n x D). */
    void (*eval)(const fast_field_ctx *c, size_t k, size_t n, const double *Z, double *V);
    /* Zbar = rows Dv_k(z_i)^T w_i, and
     * grad_k += scale * sum_i (d v_k / d theta_k)(z_i)^T w_i
     * for Z, Wbar = (w_i) n x D.  Zbar must not overlap Z or Wbar. */
    void (*vjp)(const fast_field_ctx *c, size_t k, size_t n, const double *Z, const double *Wbar,
                double *Zbar, double scale);
} fast_field_type;

extern const fast_field_type fast_field_linear;
extern const fast_field_type fast_field_rff;
extern const fast_field_type fast_field_mlp;

/* The table entry of a family (NULL for an unknown one). */
const fast_field_type *fast_field_of(no_family f);

#endif
