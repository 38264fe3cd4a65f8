/* fast_potential.h - the mean-field potential Psi_k of an mlp problem and its
 * gradient at an arbitrary neuron theta = (a, u, b), in double (SPEC 4;
 * proofs-notes/mean-field-potential.md).  The same normalisation as
 * ref_potential.h, computed independently:
 *
 *   Psi_k(theta) = (1/h) sum_i sum_{substeps n of layer k} sum_{stages s}
 *                  < lam_{n,s}^i , a sigma(u . Y_{n,s}^i + b) >,
 *
 * grad Psi_k(theta_kj) = (M/h) dF/dtheta_kj = mgrad at a particle; the COT
 * particle velocity is -grad Psi_k.  Stage points Y and cotangents lam are
 * recomputed from the run's states z_k and adjoint p_{k+1} with this
 * module's own field and tableau code. */
#ifndef FAST_POTENTIAL_H
#define FAST_POTENTIAL_H

#include <stddef.h>

#include "arrays.h"
#include "problem.h"

/* The layer's weighted sample: Psi_k(theta) = sum_c < w_c, a > sigma(u . Y_c + b). */
typedef struct {
    size_t D;
    size_t count;      /* N x m x stages */
    no_activation act;
    double *Y;         /* count x D: stage points */
    double *w;         /* count x D: stage cotangents divided by h */
} fast_potential;

/* The sample of layer k of problem p (mlp, discrete adjoint) from the
 * outputs run of a fast_run (or of a rounded ref run) of p: its states z_k
 * and adjoint p_{k+1}.  Uniform substeps h/m.  0, or -1 with err (bad input,
 * no memory); on failure pt holds nothing. */
int fast_potential_init(fast_potential *pt, const no_problem *p, const no_arrays *run, size_t k,
                        char *err, size_t len);
void fast_potential_clear(fast_potential *pt);

/* Psi_k(theta); if grad != NULL, grad = grad_theta Psi_k(theta).  theta and
 * grad hold 2 D + 1 numbers: a (D), u (D), b (1). */
double fast_potential_eval(const fast_potential *pt, const double *theta, double *grad);

#endif
