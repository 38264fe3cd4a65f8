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
 * trajectory, exp(Lambda) forward and exp(2 Lambda) for adjoint quantities
 * (exp(3 Lambda) for the backsolve adjoint),
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
    /* Extra growth exponent of the adjoint-side arrays (adjoint, loss
     * excluded, grad_*, mgrad_*): 0 for the discrete and continuous
     * adjoints (exp(2 Lambda)), 1 for backsolve (exp(3 Lambda)): its
     * backward-carried state adds the forward error grown once more by the
     * backward flow (proofs-notes/tolerance.md, section 6).  Zero in a
     * zero-initialised model, which is the old model. */
    double bwd_extra;
    /* The range check (proofs-notes/tolerance.md section 12): the first
     * reference value, over every array (states and adjoint included,
     * provided by the candidate or not), that is non-finite in double or
     * above no_tol_range_max(u); out_name[0] == 0 when there is none.  Such
     * a problem cannot be computed in the candidate's format at all (its
     * squares overflow: the loss sums them), so nothing of it is judged. */
    char out_name[NO_NAME_LEN];
    long out_index;
    double out_value;
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

/* The largest tolerance that still judges anything, for a candidate whose
 * unit roundoff is u = 2^-p: 2^-min(10, p - 3), i.e. 2^-10 for float64 and
 * float32, 2^-5 for bfloat16 (proofs-notes/tolerance.md, section 12).  A
 * larger (or infinite, or NaN) tolerance is not "loose": the first-order
 * model behind it no longer holds, and a pass would certify nothing, so the
 * array is `unverifiable` instead. */
double no_tol_meaningful_max(double u);

/* The largest reference magnitude a candidate of unit roundoff u can be
 * judged on: the square root of its format's overflow threshold, 2^511 for
 * float64 and 2^63 for float32 and bfloat16 (8 exponent bits both). */
double no_tol_range_max(double u);

/* Tolerance for the output array of that name: the model's, or its cap
 * if that is smaller. */
double no_tol_for(const no_tol_model *t, const char *array);

/* Cap the tolerance of one array (a later cap of the same array replaces it). */
void no_tol_cap(no_tol_model *t, const char *array, double tol);

/* Frobenius norm of the Jacobian Dv_k(z) of layer k at z (D numbers). */
double no_tol_jacobian_fro(const no_problem *p, size_t k, const double *z);

#endif
