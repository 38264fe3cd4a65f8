/* problem.h - the one description of a nodeoracle problem (SPEC.md section 1-2).
 *
 * A problem is fully determined by its spec (sizes, family, scheme, seed, ...):
 * no_problem_generate() fills every array from the seed with the documented,
 * platform-independent generator (problem/generate.c, proofs-notes/generator.md).
 * ref/ and fast/ both read a no_problem; they share nothing else.
 */
#ifndef NO_PROBLEM_H
#define NO_PROBLEM_H

#include <stddef.h>
#include <stdint.h>

typedef enum { NO_FAMILY_LINEAR, NO_FAMILY_RFF, NO_FAMILY_MLP } no_family;
typedef enum { NO_KERNEL_GAUSSIAN, NO_KERNEL_MATERN } no_kernel;
/* The mlp activations (proofs-notes/activations.md: definition, smoothness,
 * homogeneity, which checks apply).  Appended only: the numbers are stable. */
typedef enum {
    NO_ACT_TANH,
    NO_ACT_SOFTPLUS, /* log(1 + e^x): C^inf regularised ReLU */
    NO_ACT_RELU,     /* max(x, 0): Lipschitz, kink at 0 */
    NO_ACT_HRELU,    /* Huber-regularised ReLU, (x+1)^2/4 on [-1, 1]: C^1, not C^2 */
    NO_ACT_COUNT     /* the number of activations, not one */
} no_activation;
/* The explicit Runge-Kutta schemes of problem/tableau.c (names: their
 * tableau's).  Euler and rk4 keep their values 0 and 1. */
typedef enum {
    NO_SCHEME_EULER,
    NO_SCHEME_RK4,     /* classical */
    NO_SCHEME_MIDPOINT,
    NO_SCHEME_HEUN,    /* explicit trapezoid, "rk2" */
    NO_SCHEME_RALSTON,
    NO_SCHEME_RK4_38,  /* the 3/8 rule: torchdiffeq's fixed-grid "rk4" */
    NO_SCHEME_BOSH3,
    NO_SCHEME_DOPRI5,
    NO_SCHEME_TSIT5,   /* diffrax's Tsit5 (5th order) */
    NO_SCHEME_COUNT
} no_scheme_id;
typedef enum { NO_SCALING_ODE, NO_SCALING_SQRT } no_scaling;
/* Which gradient a run reports (SPEC 3; proofs-notes/adjoints.md,
 * continuous-adjoint.md, backsolve-adjoint.md).  discrete and continuous keep
 * their values 0 and 1. */
typedef enum {
    NO_ADJOINT_DISCRETE,   /* backpropagation through the scheme */
    NO_ADJOINT_CONTINUOUS, /* adjoint ODE, state re-anchored at every substep */
    NO_ADJOINT_BACKSOLVE,  /* adjoint ODE, state integrated backward from z_L */
    NO_ADJOINT_COUNT
} no_adjoint;

/* Upper bounds that make a size "absurd": each dimension, and each array's
 * element count (2^28 doubles = 2 GiB).  They exist so that a typo such as
 * --N 1e12 is an error message, not an out-of-memory crash. */
#define NO_MAX_DIM ((size_t)1 << 24)
#define NO_MAX_ELEMENTS ((size_t)1 << 28)
#define NO_MAX_SUBSTEPS ((size_t)1 << 16)

/* Kernel parameters.  nu >= 1/2 (the exponential kernel): below it the
 * chi-square draws of the Student-t rows underflow and Omega gets infinite
 * entries (found by fuzz/).  ell in [1e-3, 1e3]: data are of unit scale, and
 * a bandwidth 1e-160 makes Omega ~ 1e160, so the adjoint overflows. */
#define NO_NU_MIN 0.5
#define NO_NU_MAX 1e6
#define NO_ELL_MIN 1e-3
#define NO_ELL_MAX 1e3

typedef struct {
    size_t N;      /* data points */
    size_t d_in;   /* input dimension */
    size_t d_out;  /* output dimension */
    size_t D;      /* state (lifted) dimension */
    size_t L;      /* depth (number of layers) */
    size_t q;      /* rff features; 0 unless family == rff */
    size_t M;      /* mlp neurons per layer; 0 unless family == mlp */
    size_t m;      /* substeps per layer, >= 1 */
    no_family family;
    no_kernel kernel;         /* rff only */
    double ell;               /* Gaussian bandwidth (rff, gaussian) */
    double nu;                /* Matern smoothness (rff, matern) */
    no_activation activation; /* mlp only */
    no_scheme_id scheme;
    no_scaling scaling;
    no_adjoint adjoint;       /* which gradient the run reports */
    uint64_t seed;
    double param_scale;       /* scale of the random initial parameters */
} no_spec;

/* Requirements a caller may add to validation (a theorem check that needs a
 * smooth field, a kappa bound that needs nu > 2, ...). */
enum {
    NO_REQ_NONE = 0,
    NO_REQ_SMOOTH = 1u << 0, /* field must be C^2: rejects relu, hrelu */
    NO_REQ_KAPPA = 1u << 1,  /* Matern kappa bound: needs nu > 2 */
};

/* A problem: its spec and its arrays (row-major doubles).  Arrays that the
 * family does not use are NULL. */
typedef struct {
    no_spec spec;
    double *X;     /* N x d_in */
    double *Y;     /* N x d_out */
    double *A;     /* D x d_in */
    double *B;     /* d_out x D */
    double *Omega; /* q x D   (rff) */
    double *beta;  /* q       (rff) */
    double *W;     /* L x D x D (linear) or L x D x q (rff) */
    double *a;     /* L x M x D (mlp) */
    double *u;     /* L x M x D (mlp) */
    double *b;     /* L x M     (mlp) */
} no_problem;

/* One trained parameter array of a family, for loops that must not know the
 * family (gradient outputs, comparison, I/O). */
typedef struct {
    const char *name;  /* "W", "a", "u", "b" */
    size_t shape[3];   /* L x rows x cols (cols = 1 for b) */
    int ndim;
    size_t n;          /* element count */
    size_t per_layer;  /* elements per layer */
} no_param_info;

#define NO_MAX_PARAMS 3

/* Defaults: N=8, d_in=2, d_out=2, D=4, L=8, m=1, linear, euler, ode scaling,
 * discrete adjoint, seed 1, param_scale 1; ell=1, nu=2.5 when rff is chosen. */
void no_spec_default(no_spec *s);

/* Validate the spec.  Returns 0 if valid; otherwise fills err (one line,
 * naming the offending field) and returns -1.  req is a mask of NO_REQ_*. */
int no_spec_validate(const no_spec *s, unsigned req, char *err, size_t errlen);

/* Step h = 1/L (ode) or 1/sqrt(L) (sqrt). */
double no_spec_step(const no_spec *s);

/* Trained parameter arrays of the spec's family; returns their count. */
int no_spec_params(const no_spec *s, no_param_info out[NO_MAX_PARAMS]);

/* Pointer to the named parameter array of a problem (NULL if none). */
double *no_problem_param(const no_problem *p, const char *name);

/* Allocate and fill every array from spec->seed.  Validates first.
 * Returns 0, or -1 with err filled (invalid spec or out of memory). */
int no_problem_generate(no_problem *p, const no_spec *s, char *err, size_t errlen);

/* Deep copy (e.g. to permute data points in a metamorphic test). */
int no_problem_copy(no_problem *dst, const no_problem *src);

void no_problem_free(no_problem *p);

/* Names for enums (for reports and parsing). */
const char *no_family_name(no_family f);
const char *no_kernel_name(no_kernel k);
const char *no_activation_name(no_activation a);
const char *no_scheme_name(no_scheme_id s);
/* 0 and *out for a scheme name ("euler", "rk4-38", ...), else -1. */
int no_scheme_parse(const char *name, no_scheme_id *out);
/* "euler|rk4|midpoint|..." for help texts and messages. */
const char *no_scheme_names(void);
const char *no_scaling_name(no_scaling s);
const char *no_adjoint_name(no_adjoint a);

/* One-line human description, e.g. "rff(gaussian ell=1) euler m=1 L=16 ...". */
void no_spec_describe(const no_spec *s, char *buf, size_t len);

/* Format a one-line error into err (if err and len) and return -1. */
int no_errorf(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Overflow-checked product; returns 0 and sets *out, or -1 on overflow. */
int no_mul_size(size_t a, size_t b, size_t *out);

#endif
