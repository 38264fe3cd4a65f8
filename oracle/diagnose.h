/* diagnose.h - why a candidate fails (docs/check.md, "Diagnosis").
 *
 * Never by guessing: the reference is run on each hypothesised variant of
 * the computation (ref_variant, the continuous adjoint, a lower precision's
 * rounding envelope) and the candidate is measured against each.  The match
 * of a hypothesis is the largest normwise relative error over the arrays the
 * candidate provided; the best match names the cause when it is within that
 * hypothesis' tolerance, or 100x closer than the contract's reference. */
#ifndef NO_DIAGNOSE_H
#define NO_DIAGNOSE_H

#include <stddef.h>

#include "arrays.h"
#include "problem.h"
#include "ref.h"
#include "tolerance.h"

#define NO_DIAG_MAX 40

/* low_precision is named when the candidate's error is within this many bits
 * (a factor 2^4 = 16 either way) of the error of the reference's own run in
 * the lower precision.  Two programs in one precision differ in how often
 * they round (the reference rounds each dot product and sum once, a
 * candidate once per term) and in the signs of their rounding errors: for
 * the default suite's sizes the measured spread is within about 2 bits
 * (docs/check.md); 4 bits leaves 2 bits of margin while still separating
 * float32 (24 bits) from float64 (53) and bfloat16 (8) by far more. */
#define NO_DIAG_ENVELOPE_BITS 4.0

/* ... and only when the candidate's error is at most 2^-5 (5 correct bits):
 * the bugs the diagnosis hunts change results by a few percent or more, so
 * a larger error is not ascribed to rounding even when a coarse format's
 * computation (bfloat16 on a growing flow: 2^-5 measured) errs as much. */
#define NO_DIAG_ENVELOPE_MAX 0x1.0p-5

typedef struct {
    char cause[48];   /* e.g. "missing_1_over_N", "depth_off_by_one", "low_precision" */
    char variant[24]; /* its form where it has several ("L+1", "float32"); else "" */
    double match;     /* the candidate's largest normwise error against it; NaN: not
                         computable (its outputs or the candidate's are not finite) */
} no_hypothesis;

typedef struct {
    int found;              /* a cause was named */
    char cause[48];         /* the best-matching cause, or "unknown" */
    char variant[24];       /* its form ("L+1", "W^T", "float32", ...), or "" */
    double match;           /* its match */
    double contract_match;  /* the candidate against the contract's reference */
    double tol;             /* the tolerance the match was judged against */
    char detail[512];       /* e.g. the adjoint gap and its order; diverging layer */
    /* The measured numbers behind the cause (NaN / -1 where they do not apply),
     * for the report (JSON: null where NaN or -1). */
    double gap;             /* an adjoint hypothesis: gradient gap / gradient norm */
    double order;           /* ... its fitted order (m and 2m) */
    double factor;          /* a fitted constant factor (loss, field, one layer) */
    long layer;             /* the layer a layer-local cause names */
    long states_layer;      /* first layer whose states leave the tolerance (-1: none
                               or no states provided) */
    long adjoint_layer;     /* highest layer whose adjoint leaves the tolerance */
    double ratio;           /* a constant ratio candidate/reference over every array
                               the candidate provided, if there is one */
    char nearest[72];       /* unexplained: the best hypothesis ("cause[variant]") */
    double nearest_match;   /* ... and its match */
    int nhyp;
    no_hypothesis hyp[NO_DIAG_MAX]; /* every hypothesis run, for the report */
} no_diagnosis;

/* Normwise max relative error of cand against ref over the arrays both have
 * (and that the candidate format defines: not mgrad_*).  NaN ("not
 * computable") when any compared element of either is NaN or infinite: a
 * difference of non-finite numbers measures nothing, and NaN, unlike 0 or
 * inf, can never be taken for the best match. */
double no_diag_match(const no_arrays *cand, const no_arrays *ref);

/* A match as the report prints it: "%.2e", or "not computable" for NaN. */
const char *no_diag_match_text(double match, char *buf, size_t len);

/* How no_diagnose treats a case (docs/check.md, "Diagnosis"). */
typedef enum {
    NO_DIAG_GLOBAL,   /* a variant of the whole computation, run as listed */
    NO_DIAG_ADJOINT,  /* another adjoint kind than the problem's */
    NO_DIAG_LAYOUT,   /* the contract's arrays written in a wrong layout */
    NO_DIAG_SEARCHED, /* one instance of a family no_diagnose searches (every
                         layer, a fitted factor): listed for the suites' proof
                         that the family is visible, not run as such */
    NO_DIAG_LOWPREC,  /* the problem computed in a lower precision */
} no_diag_kind;

/* One hypothesis of the diagnosis: a variant of the computation, another
 * adjoint kind, parameters of another layer, a factor on the loss, a wrong
 * layout, or the problem computed in a lower precision (every input and
 * primitive rounded to bits bits). */
typedef struct {
    const char *cause;   /* e.g. "missing_1_over_N" (docs/check.md's table) */
    const char *variant; /* its form ("L+1", "W^T", "float32"); NULL if it has one */
    no_diag_kind kind;
    ref_variant v;       /* the variant of the computation; all zero: none */
    int adjoint;         /* 1 + the adjoint kind run instead of the problem's; 0: its own */
    long bits;           /* > 0: low_precision, computed in that many bits */
    size_t from_layer;   /* 1 + a layer k computed with layer to_layer's parameters
                            (the gradient of both uses lands in to_layer's block, as
                            automatic differentiation puts it); 0: none */
    size_t to_layer;
    int wrap;            /* != 0: every layer k uses the parameters of (k + wrap) mod L */
    double loss_factor;  /* != 0: loss, adjoint and gradients times this */
    int transpose_grad;  /* 1 + a parameter array whose gradient's per-layer blocks are
                            written transposed (rows x cols as cols x rows, C order) */
    int swap_grads;      /* grad_a and grad_u exchanged (mlp) */
} no_diag_case;

/* Every hypothesis that applies to a problem of spec s (grid: a step grid is
 * replayed, which fixes the steps), in the order no_diagnose runs them;
 * returns their count.  low_precision is listed in every format; no_diagnose
 * runs only those coarser than the declared precision. */
int no_diag_cases(const no_spec *s, int grid, no_diag_case out[NO_DIAG_MAX]);

/* The reference's (uncertified) values under hypothesis c at prec bits (c's
 * own bits for low_precision), on setup's grid if any.  0, or -1 with err. */
int no_diag_run_case(const no_problem *p, const ref_setup *setup, const no_diag_case *c,
                     long prec, no_arrays *out, char *err, size_t len);

/* The measured envelope of a lower precision as a tolerance.  For u above
 * float64's (float32 2^-24, bfloat16 2^-8) the a-priori model of
 * tolerance.h can exceed 1 (its growth factor exp(2 Lambda) is a worst
 * case), which would pass a float32 gradient of the wrong sign.  So the
 * reference computes the problem in that precision (ref_model_init_rounded,
 * under setup: grid, scheme) and each array's tolerance is capped at
 * 2^NO_DIAG_ENVELOPE_BITS times that run's normwise error (at least c u):
 * proofs-notes/tolerance.md, "Lower precisions".  No-op for float64.
 * Returns 0, or -1 with err. */
int no_diag_cap_tolerance(no_tol_model *t, const no_problem *p, const ref_setup *setup,
                          const no_arrays *ref, char *err, size_t len);

/* Diagnose a failing candidate.  ref: the contract's reference values (the
 * setup's grid, if any, already applied); tol: the contract's tolerance as
 * check judged the candidate (its u the declared unit roundoff, capped by
 * no_diag_cap_tolerance); prec: the precision of the hypothesis runs.
 * Nothing is named from non-finite numbers: if the reference (or the
 * candidate) has a NaN or an infinity in an array the candidate provided,
 * no hypothesis is run, the cause is "unknown" and the detail says which
 * ("reference overflows: array states index 17 ..."); a hypothesis whose own
 * outputs are not finite gets match NaN and is never chosen. */
int no_diagnose(const no_problem *p, const ref_setup *setup, const no_arrays *cand,
                const no_arrays *ref, const no_tol_model *tol, long prec, no_diagnosis *out,
                char *err, size_t len);

#endif
