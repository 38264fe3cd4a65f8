/* ref_internal.h - what the ref/ modules share with each other (not public).
 *
 * The flow of ref/ is: ref_model.c (arrays as MPFR) -> ref_field_*.c (v_k, its
 * vector-Jacobian products) -> ref_scheme.c (one substep, its discrete adjoint,
 * one backward substep of the continuous and of the backsolve adjoint) -> ref_run.c (forward over
 * layers, adjoint over layers, gradients, metric gradients) -> ref_certify.c.
 */
#ifndef NO_REF_INTERNAL_H
#define NO_REF_INTERNAL_H

#include "ref.h"
#include "tableau.h"

int ref_array_from_double(ref_array *a, const char *name, int ndim, const size_t *shape,
                          const double *src, mpfr_prec_t prec);

/* n zero numbers at precision prec (NULL: no memory); freed by ref_vec_free. */
mpfr_t *ref_vec_new(size_t n, mpfr_prec_t prec);
void ref_vec_free(mpfr_t *v, size_t n);

/* The scratch of ref_dot, allocated once by its owner: cap pointer pairs
 * and cap exact products (2 prec bits each, grown if an input is wider). */
typedef struct {
    size_t cap;
    mpfr_ptr *px, *py;
    mpfr_t *prod;
} ref_dot_ws;

int ref_dot_ws_init(ref_dot_ws *dw, size_t cap, mpfr_prec_t prec); /* 0, or -1: no memory */
void ref_dot_ws_clear(ref_dot_ws *dw);

/* rop = sum_i x_i y_i over n <= dw->cap terms, correctly rounded: the value
 * of mpfr_dot by mpfr_dot's own method (every product exact, then one
 * mpfr_sum), on products allocated once instead of at every call.
 * ref_dot takes two strided vectors; ref_dot_ptrs the terms in dw->px[i],
 * dw->py[i] (and overwrites dw->px). */
void ref_dot(mpfr_t rop, mpfr_t *x, size_t sx, mpfr_t *y, size_t sy, size_t n, ref_dot_ws *dw);
void ref_dot_ptrs(mpfr_t rop, size_t n, ref_dot_ws *dw);

/* x at the fewest bits that hold its value exactly (its value unchanged):
 * an exact sum or a number read back carries no zero limbs. */
void ref_trim_prec(mpfr_t x);

/* q as an MPFR number at r's precision; den 0 is an entry the tableau leaves
 * out: 0, and a decimal is read at r's precision (tableau.h). */
void ref_rational(mpfr_t r, no_rational q);

/* The field's width (q for rff, M for mlp, D for linear) and the terms its
 * dot scratch must hold: the field's dot products (length D or width),
 * ref_run's (length d_in <= D or d_out) and the scheme's stage
 * combinations (up to stages + 1 terms, ref_scheme.c).  ref_field.c
 * allocates by them, ref_memory.c counts by them. */
size_t ref_field_width(const no_spec *s);
size_t ref_field_dot_terms(const no_spec *s);

/* The trained parameter arrays of m's family (np of them, in the order of
 * no_spec_params) with the names of their metric gradients in ref_run's
 * result ("mgrad_W", ...); returns the parameter count K. */
size_t ref_param_table(ref_model *m, int *np, ref_array *par[NO_MAX_PARAMS],
                       const char *gname[NO_MAX_PARAMS]);

/* rop = x * scale (scale NULL means 1). */
void ref_scaled(mpfr_t rop, mpfr_srcptr x, mpfr_srcptr scale);

/* Scratch for one field evaluation of one layer at one point. */
typedef struct {
    const ref_model *m;
    size_t k;            /* layer */
    size_t width;        /* q (rff), M (mlp), D (linear) */
    mpfr_t *pre;         /* width: Omega z + beta, or u.z + b */
    mpfr_t *act;         /* width: phi (rff) or sigma (mlp) */
    mpfr_t *dact;        /* width: phi' (rff) or sigma' (mlp) */
    mpfr_t *t;           /* width: W^T w (rff), a.w (mlp) */
    mpfr_t c, tmp;       /* sqrt(2/q) (rff), 1/M (mlp); a temporary */
    ref_dot_ws dot;      /* for the field's dots and the scheme's combinations:
                            max(D, width, stages + 2) terms */
    void *ext;           /* a family's own data, NULL for the spec's families:
                            the kernel expansion of ref_kernel.c */
} ref_field_ws;

int ref_field_ws_init(ref_field_ws *ws, const ref_model *m);
void ref_field_ws_clear(ref_field_ws *ws);

/* A residual family (SPEC 2), GSL style: the drivers never know which one.
 * eval:  v = v_k(z)                                          (D numbers)
 * vjp:   zbar = Dv_k(z)^T w; if g != NULL also
 *        g += scale * (d v_k / d theta_k)(z)^T w, g laid out as the layer's
 *        parameters concatenated (W; or a, u, b).  scale NULL means 1. */
typedef struct {
    const char *name;
    void (*eval)(ref_field_ws *ws, mpfr_t *z, mpfr_t *v);
    void (*vjp)(ref_field_ws *ws, mpfr_t *z, mpfr_t *w, mpfr_t *zbar, mpfr_t *g,
                mpfr_srcptr scale);
} ref_field_family;

extern const ref_field_family ref_field_linear;
extern const ref_field_family ref_field_rff;
extern const ref_field_family ref_field_mlp;
const ref_field_family *ref_field_of(no_family f);

/* Parameter count of one layer (all parameter arrays concatenated). */
size_t ref_layer_param_count(const no_spec *s);

/* One scheme substep and its adjoints, for one point (ref_scheme.c). */
typedef struct {
    const no_tableau *tab;
    const ref_field_family *fam;
    ref_field_ws fw;
    size_t D;
    mpfr_t tau;                                  /* the step the coefficients are scaled for */
    mpfr_t ra[NO_MAX_STAGES][NO_MAX_STAGES], rb[NO_MAX_STAGES]; /* the tableau */
    mpfr_t a[NO_MAX_STAGES][NO_MAX_STAGES], b[NO_MAX_STAGES];   /* tau a, tau b */
    mpfr_t *Y[NO_MAX_STAGES], *K[NO_MAX_STAGES]; /* stage points and slopes */
    mpfr_t *lam[NO_MAX_STAGES], *mu[NO_MAX_STAGES];
    mpfr_t *acc;                                 /* D */
    mpfr_t one;                                  /* 1: the coefficient of a combination's base */
} ref_stepper;

int ref_stepper_init(ref_stepper *st, const ref_model *m);
void ref_stepper_clear(ref_stepper *st);
/* Every step takes its size tau (a grid may be non-uniform, ref_model.tau).
 * z <- one step of layer k, of size +tau (dir = +1) or -tau (dir = -1). */
void ref_step(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z, int dir);
/* Discrete adjoint of the step started at z: p <- p + sum_i mu_i, g += ... */
void ref_step_adjoint(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z, mpfr_t *p,
                      mpfr_t *g);
/* One backward step of the continuous adjoint from the anchored end state z1. */
void ref_step_adjoint_continuous(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z1,
                                 mpfr_t *p, mpfr_t *g);
/* One backward step of the backsolve adjoint: the continuous step from the
 * carried state z, then z <- z - tau sum_i b_i v(Z_i) (no re-anchoring). */
void ref_step_adjoint_backsolve(ref_stepper *st, size_t k, mpfr_srcptr tau, mpfr_t *z,
                                mpfr_t *p, mpfr_t *g);

#endif
