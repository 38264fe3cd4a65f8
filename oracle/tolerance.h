/* tolerance.h - the tolerance model of `nodeoracle compare` (proofs-notes/tolerance.md).
 *
 * For a double implementation of a problem, the allowed normwise relative
 * error of each output array (max |fast - ref| / max |ref|) is
 *
 *   tol = c u W G K
 *
 * with u = 2^-53, c = 4 (Higham's gamma_n constant with room for a few-ulp
 * libm), W the work (longest dot product of one field evaluation plus the
 * number of sequential field evaluations S = L m stages, plus N for arrays
 * summed over the data), G the growth of a perturbation along the computed
 * trajectory, exp(Lambda) forward and exp(2 Lambda) for adjoint quantities,
 * Lambda = h sum_k max_i |Dv_k(z_k^i)|_F, and K the cancellation factor of
 * the residual, max(1, |yhat|_F / |yhat - y|_F), for loss, adjoint and
 * gradients.  The model uses the reference's states, never the candidate's.
 */
#ifndef NO_TOLERANCE_H
#define NO_TOLERANCE_H

#include "arrays.h"
#include "problem.h"

typedef struct {
    double u;        /* unit roundoff of the candidate's precision */
    double c;        /* constant */
    double dot_len;  /* n_w: the longest dot product of one field evaluation */
    double work_fwd; /* n_w + S */
    double work_bwd; /* n_w + S + N */
    double lambda;   /* h sum_k max_i |Dv_k(z_k^i)|_F */
    double kappa_r;  /* residual cancellation factor */
    /* Measured caps (lower precisions, oracle/diagnose.c's envelope): the
     * tolerance of array caps[i].name is at most caps[i].tol. */
    int ncaps;
    struct {
        char name[NO_NAME_LEN];
        double tol;
    } caps[NO_MAX_ARRAYS];
} no_tol_model;

/* Build the model from the problem and the reference outputs (states, output). */
int no_tol_model_init(no_tol_model *t, const no_problem *p, const no_arrays *ref, double u);

/* Tolerance for the output array of that name: the model's, or its cap
 * if that is smaller. */
double no_tol_for(const no_tol_model *t, const char *array);

/* Cap the tolerance of one array (a later cap of the same array replaces it). */
void no_tol_cap(no_tol_model *t, const char *array, double tol);

/* Frobenius norm of the Jacobian Dv_k(z) of layer k at z (D numbers). */
double no_tol_jacobian_fro(const no_problem *p, size_t k, const double *z);

#endif
