/* fast_scheme.h - internal: one substep of an explicit Runge-Kutta scheme, its
 * discrete adjoint, and one backward substep of the continuous and of the
 * backsolve adjoint.
 *
 * Driven only by the Butcher tableau (problem/tableau.h) and the family table
 * (fast_field.h): the drivers in fast_forward.c and fast_adjoint.c never
 * know which scheme or family they run.
 * States are n x D row-major matrices (one point per row).
 */
#ifndef FAST_SCHEME_H
#define FAST_SCHEME_H

#include <stddef.h>

#include "fast_field.h"
#include "tableau.h"

typedef struct {
    int s;                                 /* stages */
    double a[NO_MAX_STAGES][NO_MAX_STAGES]; /* tableau as doubles (no_rational_double) */
    double b[NO_MAX_STAGES];
    int row_zero[NO_MAX_STAGES];           /* a[i][.] == 0: stage i is at the start state */
    int feeds[NO_MAX_STAGES];              /* some a[j][i] != 0, j > i: later stage points use K_i */
    size_t n, D;                           /* points of the current calls (<= the buffers' n), dimension */
    const fast_field_type *field;
    const fast_field_ctx *ctx;
    /* Stage buffers, each n x D, carved from one workspace block. */
    double *Y[NO_MAX_STAGES];  /* stage points */
    double *K[NO_MAX_STAGES];  /* stage slopes v(Y_i) */
    double *mu[NO_MAX_STAGES]; /* stage cotangents */
    double *lam;               /* one stage's slope cotangent / continuous P_i */
    const double *Yp[NO_MAX_STAGES]; /* where stage i's point is (Y[i] or the start state) */
} fast_scheme;

/* Doubles of stage buffers fast_scheme_init needs for n points of dimension D. */
size_t fast_scheme_buffer_size(const no_tableau *t, size_t n, size_t D);

/* Bind a tableau, a family and its context to buf (fast_scheme_buffer_size doubles). */
void fast_scheme_init(fast_scheme *sc, const no_tableau *t, const fast_field_type *field,
                      const fast_field_ctx *ctx, size_t n, size_t D, double *buf);

/* Later calls work on the first n points of the buffers (n <= the n of
 * fast_scheme_init): the last, shorter block of a blocked run. */
void fast_scheme_set_points(fast_scheme *sc, size_t n);

/* One substep of size tau (negative: backward) of layer k from z; writes zout
 * unless it is NULL (then only the stage points are computed, for the
 * adjoint, and only the slopes K_i that later stage points need).
 * zout must not overlap z. */
void fast_scheme_step(fast_scheme *sc, size_t k, double tau, const double *z, double *zout);

/* Discrete adjoint of that substep (conventions.md, "Discrete adjoint"): from
 * the substep's stored start state z and the cotangent pout of its end state,
 * write pin (cotangent of z) and add the substep's parameter gradient to
 * ctx->grad.  pin must not overlap pout. */
void fast_scheme_adjoint_step(fast_scheme *sc, size_t k, double tau, const double *z,
                              const double *pout, double *pin);

/* One backward substep of the continuous adjoint (conventions.md, "Continuous
 * adjoint"), re-anchored at the stored forward state z1 at the substep's end:
 * from p1 write p0 and add the quadrature of the parameter gradient to
 * ctx->grad.  p0 must not overlap p1. */
void fast_scheme_continuous_step(fast_scheme *sc, size_t k, double tau, const double *z1,
                                 const double *p1, double *p0);

/* One backward substep of the backsolve adjoint (proofs-notes/
 * backsolve-adjoint.md): the continuous substep from the carried state z1
 * (not re-anchored), and the state's backward step with the same stages,
 * z0 = z1 - tau sum_i b_i v(Z_i).  z0 must not overlap z1 (it may be where
 * the next call's z1 lives), p0 not p1. */
void fast_scheme_backsolve_step(fast_scheme *sc, size_t k, double tau, const double *z1,
                                const double *p1, double *z0, double *p0);

#endif
