/* compare.h - array-by-array comparison of a candidate with the reference
 * (SPEC 6): max and RMS error relative to the array's norm, error in ulps,
 * the reference's correct bits, the tolerance (tolerance.h) and a verdict. */
#ifndef NO_COMPARE_H
#define NO_COMPARE_H

#include "arrays.h"
#include "problem.h"
#include "tolerance.h"

typedef enum {
    NO_VERDICT_PASS,
    NO_VERDICT_FAIL,      /* error over tolerance */
    NO_VERDICT_NONFINITE, /* NaN or Inf in the candidate */
    NO_VERDICT_MISSING,   /* array absent or of another shape */
    NO_VERDICT_REF_WEAK,  /* reference too inaccurate to judge: raise --prec */
} no_verdict;

typedef struct {
    char name[NO_NAME_LEN];
    double max_rel;      /* max |cand - ref| / max |ref| */
    double rms_rel;      /* rms(cand - ref) / rms(ref) */
    double max_ulps;     /* max |cand - ref| / ulp(ref) over nonzero ref entries, in ulps
                            of the tolerance model's precision (u: float64, float32, ...) */
    double ref_bits;     /* normwise correct bits of the reference */
    double ref_min_bits; /* smallest elementwise correct bits of the reference */
    double tol;
    no_verdict verdict;
} no_cmp_row;

typedef struct {
    no_spec spec;
    no_tol_model tol;
    long prec;           /* reference precision (bits) */
    int nrows;
    no_cmp_row rows[NO_MAX_ARRAYS];
    int pass;            /* every row passed */
} no_cmp_report;

/* Compare every array of ref (values, with per-element correct bits) with the
 * candidate array of the same name. */
void no_compare_arrays(const no_arrays *cand, const no_arrays *ref, const no_arrays *ref_bits,
                       const no_tol_model *tol, no_cmp_report *rep);

/* Run ref (certified at prec bits) and fast on p and compare them.
 * Returns 0 (rep filled, rep->pass says the verdict) or -1 with err. */
int no_compare_problem(const no_problem *p, long prec, no_cmp_report *rep, char *err,
                       size_t len);

const char *no_verdict_name(no_verdict v);

#endif
