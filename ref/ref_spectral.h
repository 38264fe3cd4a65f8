/* ref_spectral.h - the spectral law of our kernels and the regularity
 * constant kappa of their RKHS, exactly in MPFR (SPEC 5.2; derivation and
 * numbers in proofs-notes/theorem-kappa.md; the command is `nodeoracle
 * theorem kappa`, oracle/theorem_kappa.c).
 *
 * Our convention (problem/generate.c, ref_kernel.h, generator.md section 4):
 * k(z, z') = phi(z - z') = E_w cos(w . (z - z')), k(0) = 1, with
 *   gaussian(ell): w ~ N(0, I / ell^2);
 *   matern(nu):    w = g sqrt(2 nu / chi2_{2 nu}) / ell, the multivariate
 *                  Student-t with 2 nu dof (density ~ (1 + ell^2 |w|^2 /
 *                  (2 nu))^-(nu + D/2)); our problems use ell = 1.
 * Both are scale mixtures w = S g / ell, g ~ N(0, I), so every moment is
 * E S^{2j} times a Gaussian moment:
 *   E S^{2j} = 1 (gaussian),  nu^j Gamma(nu - j) / Gamma(nu) (matern, nu > j).
 *
 * V is the vector-valued RKHS with kernel k Id (||v||^2 = sum_i ||v_i||^2).
 * Condition 1 of seed 004 ("Regularity Condition"):
 *   ||v||_inf + ||Dv||_inf + ||D^2 v||_inf <= kappa ||v||_V.
 * By the reproducing property the sharp pointwise constants are
 *   |v(x)|            <= 1 ||v||                         (k(0) = 1)
 *   ||Dv(x)||         <= sqrt(E w_1^2) ||v||   operator 2-norm, Frobenius or
 *                                               max entry: the same constant
 *   ||D^2 v(x)||      <= sqrt(E w_1^4) ||v||   operator norm of the bilinear
 *                                               map, or max entry
 *   ||D^2 v(x)||_F    <= sqrt(E |w|^4 / D) ||v||  Frobenius of the D^3 entries
 * each attained by some v at x; so kappa <= the sum for each reading. */
#ifndef NO_REF_SPECTRAL_H
#define NO_REF_SPECTRAL_H

#include "ref.h"

/* The quantities of a ref_kappa, in this order. */
enum {
    REF_SPEC_M2,       /* E w_1^2        (matern: exists iff nu > 1) */
    REF_SPEC_M4,       /* E w_1^4        (nu > 2) */
    REF_SPEC_M22,      /* E w_1^2 w_2^2  (nu > 2; same formula for every D) */
    REF_SPEC_N2,       /* E |w|^2 = D E w_1^2 */
    REF_SPEC_N4,       /* E |w|^4 = D (D + 2) E S^4 / ell^4 */
    REF_KAPPA_OP,      /* 1 + sqrt(E w_1^2) + sqrt(E w_1^4): operator-norm (and
                        * max-entry) reading */
    REF_KAPPA_FROB,    /* 1 + sqrt(E w_1^2) + sqrt(E |w|^4 / D): Frobenius reading */
    REF_KAPPA_SLIDES,  /* the slides' formula 1 + sqrt(nu/(nu-1)) +
                        * sqrt(3 nu^2/((nu-1)(nu-2))) (matern, nu > 2; it ignores ell) */
    REF_KAPPA_LITERAL, /* REF_KAPPA_OP of the density the slides print,
                        * (1 + |w|^2/nu)^-(nu + D/2) = our law / sqrt 2 (ell = 1):
                        * 1 + sqrt(E w_1^2 / 2) + sqrt(E w_1^4) / 2 (matern, nu > 2) */
    REF_KAPPA_TNU,     /* REF_KAPPA_OP of a Student-t with nu dof, unit scale:
                        * 1 + sqrt(nu/(nu-2)) + sqrt(3 nu^2/((nu-2)(nu-4))) (matern, nu > 4) */
    REF_KAPPA_NQ
};

/* Name of quantity i ("E w1^2", "kappa op", ...), for tables and JSON. */
const char *ref_kappa_name(int i);

typedef struct {
    no_kernel kernel;
    double ell, nu;
    size_t D;
    mpfr_prec_t prec;
    /* v[i]: quantity i at prec bits, rounded to nearest (from the Gamma
     * formulas); +Inf where the moment is infinite, NaN where the quantity
     * does not apply (the slides' forms for the Gaussian or nu too small). */
    mpfr_t v[REF_KAPPA_NQ];
    int exists[REF_KAPPA_NQ];    /* 1: v[i] is a finite number */
    double bits[REF_KAPPA_NQ];   /* correct bits of v[i] (recomputed at prec +
                                  * max(prec/2, 32), as ref_certify does); 0 if !exists */
    /* THE rigorous upper bound of kappa in our convention: REF_KAPPA_OP
     * computed from the closed forms nu/(nu-1), 3 nu^2/((nu-1)(nu-2)) (or
     * 1/ell^2, 3/ell^4) with directed rounding, so kappa_up >= the real
     * 1 + sqrt(E w_1^2) + sqrt(E w_1^4) >= kappa (operator-norm reading:
     * ||Dv||_inf = sup_x ||Dv(x)||_2, what the Lipschitz/Gronwall steps of
     * the PL chain M(R) = smax(B)^2 e^{2 kappa R} use).  +Inf when nu <= 2
     * (then no finite kappa exists: E w_1^4 = Inf is the squared norm of the
     * functional v -> d^2 v_1/dx_1^2 (0)).  (The Gronwall step of M(R) alone
     * needs only the middle term: ||Dv||_inf <= sqrt(E w_1^2) ||v||, sharp.) */
    mpfr_t kappa_up;
    /* The same for the Frobenius reading (REF_KAPPA_FROB, rounded up);
     * kappa_frob_up >= kappa_up, with equality iff D = 1. */
    mpfr_t kappa_frob_up;
} ref_kappa;

/* E S^{2j} / ell^{2j} (the scale mixture's moment; E w_1^{2j} = (2j-1)!! times
 * it) at out's precision, round to nearest; +Inf when matern nu <= j.  0, or
 * -1 for bad arguments (ell, nu not finite > 0). */
int ref_spectral_smoment(no_kernel kernel, double ell, double nu, unsigned j, mpfr_t out);

/* Fills out (initialised here; clear with ref_kappa_clear) for the kernel
 * (ell in [1e-6, 1e6]; matern: any nu in (0, 1e6], not only our half-integers), state
 * dimension D in [1, 1e6], precision prec in [REF_PREC_MIN,
 * REF_CERTIFY_PREC_MAX].  0, or -1 with err (one line) on bad arguments;
 * out is then left cleared-safe (ref_kappa_clear may be called). */
int ref_kappa_bound(no_kernel kernel, double ell, double nu, size_t D, mpfr_prec_t prec,
                    ref_kappa *out, char *err, size_t len);
void ref_kappa_clear(ref_kappa *k);

/* ---- lower estimates: evaluating a field of V exactly ------------------ */

/* phi's directional derivative D_{d_1} ... D_{d_m} phi(x), m = 0..4 (dirs:
 * m x D), at out's precision: phi is radial, phi(x) = g(|x|^2/2), and
 * D_{d_1..d_m} phi = sum over the partitions of {1..m} into blocks of one
 * (x . d_i) and two (d_i . d_j) elements of g^{(#blocks)}(|x|^2/2) times
 * the blocks' products.  Matern needs the order to exist: 2 nu > m - 1 at
 * x = 0 (nu = 2.5, 3.5 for m = 4).  Returns 0, or -1 (kernel/nu unsupported:
 * matern nu must be 0.5, 1.5, 2.5 or 3.5, the closed forms of ref_kernel.h). */
int ref_spectral_dphi(no_kernel kernel, double ell, double nu, size_t D, const double *x,
                      int m, const double *dirs, mpfr_t out);

/* A field v = sum_i alpha_i D_{A_i} k(., y_i) of V, atom i the representer
 * of u -> D_{A_i} u(y_i) (nd_i = 0, 1 or 2 directions of A_i, rows of dir),
 * with three evaluations, one per term of kappa: term t at point x[t] with
 * output direction e[t] and input directions a[t], b[t] (t = 1 uses a,
 * t = 2 uses a and b). */
typedef struct {
    size_t D, n;
    const double *y;     /* n x D */
    const int *nd;       /* n */
    const double *dir;   /* n x 2 x D */
    const double *alpha; /* n x D */
    const double *x;     /* 3 x D */
    const double *e, *a, *b; /* 3 x D each */
} ref_kappa_field;

/* The lower estimate of kappa (operator-norm reading) that f witnesses,
 *   ratio = (|e0.v(x0)|/|e0| + |e1.Dv(x1) a1|/(|e1||a1|)
 *            + |e2.D^2v(x2)[a2,b2]|/(|e2||a2||b2|)) / ||v||_V
 * (each term <= its sup, so ratio <= kappa in exact arithmetic), with
 * ||v||_V^2 = sum_ij (alpha_i . alpha_j) <atom_i, atom_j> exact, at prec bits,
 * and its correct bits by recomputation (as ref_certify).  terms[4] (may be
 * NULL): the three terms and ||v||_V as doubles.  0, or -1 with err. */
int ref_kappa_ratio(no_kernel kernel, double ell, double nu, const ref_kappa_field *f,
                    mpfr_prec_t prec, mpfr_t ratio, double *bits, double terms[4], char *err,
                    size_t len);

#endif
