/* ref_pl.h - the links of the local PL chain (SPEC 5.1) of an rff ResNet
 * with Euler steps, evaluated in MPFR at its parameters W: every quantity
 * the proof m F <= |G|^2 <= M F goes through, so that each link can be
 * checked and the tight one named.  Derivation, in our normalisation
 * (F = 1/(2N) sum |B z_L - y|^2, metric h sum_k |W_k|_F^2):
 * proofs-notes/theorem-pl.md.
 *
 * Notation (layers k = 0..L-1, Euler, one substep, discrete adjoint):
 *   z_k^i      states, p_k^i = dF/dz_k^i adjoint states (ref_run)
 *   G_k        the metric gradient sum_i p_{k+1}^i phi(z_k^i)^T, |G|^2 = h sum |G_k|_F^2
 *   K_k        the Gram matrix k_q(z_k^i, z_k^j) of the layer's inputs
 *   P_k        sum_i |p_k^i|^2
 *   w_k        |W_k|_F; R = (h sum w_k^2)^(1/2), the metric norm of theta
 *   kappa1     sqrt(2/q) |Omega|_2: |Dv_k(z)|_2 <= kappa1 w_k for every z
 *   c_k, e_k   1 - h kappa1 w_k and 1 + h kappa1 w_k: one layer contracts
 *              distances and adjoints by at least c_k, expands by at most e_k
 *   sep_k      min_{i != j} |z_k^i - z_k^j|; delta the inputs' separation
 */
#ifndef NO_REF_PL_H
#define NO_REF_PL_H

#include "ref.h"

typedef struct {
    size_t L, N;
    mpfr_prec_t prec;
    mpfr_t F, G2;         /* loss, |G|^2 from mgrad_W */
    mpfr_t gram;          /* h sum_k sum_ij (p_{k+1}^i . p_{k+1}^j) K_k[i][j] */
    mpfr_t *lmin, *lmax;  /* L: extreme eigenvalues of K_k */
    mpfr_t *P;            /* L + 1: P_k */
    mpfr_t *w;            /* L: |W_k|_F */
    mpfr_t *sep;          /* L + 1: sep_k */
    mpfr_t R, kappa1, delta;
    mpfr_t sA_min, sA_max, sB_min, sB_max; /* singular values of A and B */
} ref_pl_links;

/* The links of the rff problem in m at its current W, at m->prec.  Needs
 * family rff, scheme euler, m = 1, the discrete adjoint, ode or sqrt
 * scaling, N >= 2, d_out <= D (so that sB_min bounds |B^T r| from below).
 * run (NULL: not kept) receives the ref_run result the links were read
 * from (its mgrad_W gives the next GD step); the caller clears it.
 * 0, or -1 with err (one line). */
int ref_pl_eval(const ref_model *m, ref_pl_links *out, ref_result *run, char *err, size_t len);
void ref_pl_links_clear(ref_pl_links *l);

/* Extreme singular values of the r x c matrix M (row-major): square roots
 * of the extreme eigenvalues of M^T M (c x c) if trans is 0, of M M^T
 * (r x r) if trans is 1 (ref_eig_sym), at smin's precision.  0, or -1
 * with err. */
int ref_pl_singular_extremes(const ref_array *M, size_t r, size_t c, int trans, mpfr_t smin,
                             mpfr_t smax, char *err, size_t len);

/* One-line reason why a spec is outside ref_pl_eval's derivation, or NULL. */
const char *ref_pl_unsupported(const no_spec *s);

#endif
