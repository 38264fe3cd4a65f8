/* ref_potential.h - the mean-field potential Psi_k of an mlp problem and its
 * gradient at an arbitrary neuron theta = (a, u, b), in MPFR (SPEC 4, "COT
 * gradient flow"; proofs-notes/mean-field-potential.md).
 *
 * Normalisation (the note, section 2): with the discrete adjoint's stage
 * points Y and stage cotangents lam of layer k (conventions.md),
 *
 *   Psi_k(theta) = (1/h) sum_i sum_{substeps n of layer k} sum_{stages s}
 *                  < lam_{n,s}^i , a sigma(u . Y_{n,s}^i + b) >,
 *
 * so that at a particle grad Psi_k(theta_kj) = (M/h) dF/dtheta_kj = mgrad, and
 * the COT particle velocity is exactly -grad Psi_k.  Euler with one substep:
 * Psi_k(theta) = sum_i < p_{k+1}^i, a sigma(u . z_k^i + b) >, SPEC 4's formula.
 *
 * The stage points and cotangents are recomputed here from the run's states
 * z_k and adjoint p_{k+1} with this module's own field and tableau code; the
 * backpropagation's parameter-gradient path is not used, so agreement with
 * mgrad is evidence for both. */
#ifndef NO_REF_POTENTIAL_H
#define NO_REF_POTENTIAL_H

#include <mpfr.h>
#include <stddef.h>

#include "ref.h"

/* The layer's weighted sample: Psi_k(theta) = sum_c < w_c, a > sigma(u . Y_c + b). */
typedef struct {
    size_t D;
    size_t count;      /* N x (substeps of layer k) x stages */
    no_activation act;
    mpfr_prec_t prec;
    mpfr_t *Y;         /* count x D: stage points */
    mpfr_t *w;         /* count x D: stage cotangents divided by h */
    mpfr_t xi, s, ds, aw, tmp; /* scratch of ref_potential_eval */
} ref_potential;

/* The sample of layer k from the model m (mlp, discrete adjoint, the
 * contract: variant zero) and its ref_run result res (states, adjoint), on
 * the model's step grid, at m->prec.  0, or -1 with err (bad input, no
 * memory); on failure pt holds nothing. */
int ref_potential_init(ref_potential *pt, const ref_model *m, const ref_result *res, size_t k,
                       char *err, size_t len);
void ref_potential_clear(ref_potential *pt);

/* psi = Psi_k(theta); if grad != NULL, grad = grad_theta Psi_k(theta), laid
 * out as theta: a (D), u (D), b (1).  theta and grad hold 2 D + 1 numbers;
 * results are rounded to the precision of psi and grad. */
void ref_potential_eval(ref_potential *pt, mpfr_t *theta, mpfr_t psi, mpfr_t *grad);

#endif
