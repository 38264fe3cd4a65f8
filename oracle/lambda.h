/* lambda.h - lambda(delta) of the expressivity condition (SPEC 5.3; seed 004,
 * slides "Expressivity Condition and P-L", Condition 2):
 *
 *   lambda(delta) = inf { lambda_min(K_X) : X = (x_1..x_N) in R^D,
 *                         |x_i - x_j| >= delta for i != j },
 *   K_X = (k(x_i, x_j))_ij, k Gaussian (ell) or Matern (nu), k(x, x) = 1.
 *
 * What is computed (proofs-notes/theorem-lambda.md):
 *   - an upper estimate: the smallest lambda_min(K_X) found over optimised
 *     delta-separated sets (lattice, collinear, random and clustered starts,
 *     local search in double), the best sets evaluated in the MPFR reference
 *     with their correct bits.  An infimum estimated from above: a value,
 *     never a bound.
 *   - a rigorous lower bound, 1 - (the largest possible off-diagonal row sum
 *     of a delta-separated set), from a packing count (Gershgorin); positive
 *     only for delta large against the kernel's length scale.
 *   - lambda_min(K_X) of a given set, in the reference (rigorous up to the
 *     stated bits).
 *   - the sweep delta, delta/2, ... with the fitted exponent of lambda(delta)
 *     ~ delta^b against the derived b = 2(N-1) (Gaussian), min(2(N-1), 2 nu)
 *     (Matern).
 *   - the random-feature kernel k_q of the rff generator against k on the
 *     best set, over q and seeds.
 */
#ifndef NO_LAMBDA_H
#define NO_LAMBDA_H

#include <mpfr.h>
#include <stddef.h>
#include <stdint.h>

#include "fit.h"

/* The kernel: k(x, y) = exp(-r^2/(2 ell^2)) or the Matern polynomial-times-
 * exponential of ref_kernel.h with s = sqrt(2 nu) r. */
typedef struct {
    int matern;     /* 0: gaussian, 1: matern */
    double ell;     /* gaussian: bandwidth, in [NO_ELL_MIN, NO_ELL_MAX] */
    double nu;      /* matern: 0.5, 1.5, 2.5 or 3.5 */
} no_lambda_kernel;

#define NO_LAMBDA_N_MAX 64
#define NO_LAMBDA_D_MAX 16
#define NO_LAMBDA_Q_MAX ((size_t)1 << 16)
#define NO_LAMBDA_SWEEP_MAX 12
#define NO_LAMBDA_SEEDS_MAX 256
/* Sets evaluated in the reference at each delta, and the bound on
 * N^3 (1 + sweep) (prec/128)^1.5 (a minute of reference time). */
#define NO_LAMBDA_REF_EVALS 4
#define NO_LAMBDA_COST_MAX 8e6
/* The empirical probability asked of lambda_min(K_q) >= lambda_min(K)/2 for
 * the "q needed": 1 - NO_LAMBDA_EPS (theorem-lambda.md, section 6). */
#define NO_LAMBDA_EPS 0.1

typedef struct {
    no_lambda_kernel kernel;
    size_t N, D;
    double delta;
    long prec;          /* bits of the reference */
    size_t starts;      /* random and clustered starts, each */
    size_t iters;       /* local-search iterations per start (0: none) */
    uint64_t seed;      /* of the starts */
    size_t sweep;       /* deltas in the sweep delta 2^-j, j < sweep (0: none) */
    size_t seeds;       /* rff seeds per q (0: no q sweep) */
    size_t qmin, qmax;  /* the q grid qmin 2^j <= qmax */
    double level;       /* of the fitted intervals */
    const double *points; /* a given set (N x D), or NULL: search */
} no_lambda_opts;

/* One start of the search. */
typedef struct {
    char name[24];
    double lam_start;   /* lambda_min (double) of the start, at separation delta */
    double lam_fast;    /* after local search (double) */
    double lam_ref;     /* the reference value (NaN: not evaluated in ref) */
    double bits;
    size_t accepted;    /* local-search steps accepted */
} no_lambda_start;

/* The upper estimate (or the given set's value) at one delta. */
typedef struct {
    double delta;
    double *X;           /* N x D, the best set found (min distance delta) */
    char start[24];      /* the start it came from */
    double lam;          /* lambda_min(K_X): reference, rounded to double */
    double bits;         /* its correct bits */
    double lam_fast;     /* LAPACK on the double K_X */
    double fast_bound;   /* derived bound on |lam_fast - lambda_min(K_X)| */
    double normK;        /* |K_X|_F */
    double lower;        /* the packing lower bound on lambda(delta) */
    double min_dist;     /* of X */
} no_lambda_point;

typedef struct {
    no_lambda_point main;
    no_lambda_start *starts;
    size_t nstarts;
    size_t nsweep;
    no_lambda_point *sweep;
    no_fit fit;          /* log lambda on log delta over the sweep (fit_from on) */
    double local_slope;  /* log2(lambda(2 d)/lambda(d)) at the two smallest deltas */
    size_t fit_from;     /* first sweep index fitted */
    double expected;     /* the derived exponent */
    /* the q sweep on main.X */
    size_t nq;
    size_t *q;
    double *mean_err;    /* mean over seeds of |lambda_min(K_q) - lam| */
    double *mean_lam;    /* mean over seeds of lambda_min(K_q) */
    double *min_lam;     /* min over seeds */
    double *frac;        /* fraction of seeds with lambda_min(K_q) >= lam/2 */
    no_fit qfit;         /* log mean_err on log q */
    size_t q_needed;     /* smallest grid q from which frac >= 1 - eps (0: never) */
    double q_bernstein;  /* the matrix-Bernstein q for probability 1 - eps */
    double q_noise;      /* double rounding bound on lambda_min(K_q) */
    double seconds;
} no_lambda_result;

/* Usage check of the options: 0, or -1 with one line in err. */
int no_lambda_validate(const no_lambda_opts *o, char *err, size_t len);

/* lambda_min(K_X) in the reference: the kernel matrix and its Jacobi
 * eigenvalues at prec and again at prec + max(32, prec/2), so that bits
 * counts the entries' rounding too; lam receives the higher-precision value
 * (at lam's own precision).  0, or -1 with err. */
int no_lambda_min_ref(const no_lambda_kernel *k, size_t N, size_t D, const double *X,
                      mpfr_prec_t prec, mpfr_t lam, double *bits, char *err, size_t len);

/* lambda_min(K_X) in double (fast_kernel_matrix_direct, dsyevr), its unit
 * eigenvector into v (N numbers) unless v is NULL, and *normK = |K_X|_F
 * unless NULL.  NaN on failure. */
double no_lambda_min_fast(const no_lambda_kernel *k, size_t N, size_t D, const double *X,
                          double *v, double *normK);

/* The bound on |lambda_min(K_X) in double - lambda_min(K_X)| of
 * theorem-lambda.md section 4: N c_k (D + 8) u for the entries plus
 * N^2 u |K|_F for LAPACK, u = 2^-53. */
double no_lambda_fast_bound(size_t N, size_t D, double normK);

/* The smallest pairwise distance of the N x D set X (infinity for N < 2). */
double no_lambda_min_dist(size_t N, size_t D, const double *X);

/* The rigorous packing lower bound on lambda(delta) (section 3): may be
 * negative (then it says nothing). */
double no_lambda_lower(const no_lambda_kernel *k, size_t N, size_t D, double delta);

/* The derived exponent b of lambda(delta) ~ delta^b as delta -> 0, N fixed. */
double no_lambda_expected_exponent(const no_lambda_kernel *k, size_t N);

/* Everything above for o; r is cleared by no_lambda_result_clear.  0, or -1
 * with err. */
int no_lambda_run(const no_lambda_opts *o, no_lambda_result *r, char *err, size_t len);
void no_lambda_result_clear(no_lambda_result *r);

#endif
