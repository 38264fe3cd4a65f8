/* compare.h - array-by-array comparison of a candidate with the reference
 * (SPEC 6): max and RMS error relative to the array's norm, error in ulps,
 * the reference's correct bits, the tolerance (tolerance.h) and a verdict. */
#ifndef NO_COMPARE_H
#define NO_COMPARE_H

#include "arrays.h"
#include "problem.h"
#include "tolerance.h"

/* A row's verdict.  The first law: `pass` only when the tolerance is finite
 * and meaningful (no_tol_meaningful_max) and the reference is certified to
 * the bits that tolerance needs; a verdict that cannot be given soundly is
 * one of the two "cannot be judged" verdicts, never pass and never fail. */
typedef enum {
    NO_VERDICT_PASS,
    NO_VERDICT_FAIL,         /* error over tolerance (by more than the reference's own error) */
    NO_VERDICT_NONFINITE,    /* NaN or Inf in the candidate (the reference finite) */
    NO_VERDICT_MISSING,      /* array absent or of another shape */
    NO_VERDICT_REF_WEAK,     /* reference not certified to the bits the tolerance needs,
                                even after raising its precision to the cap */
    NO_VERDICT_UNVERIFIABLE, /* the problem is too ill-conditioned for the candidate's
                                precision (tolerance not meaningful), or the reference
                                is outside the float64 range */
} no_verdict;

/* What a whole comparison says: every row passed; some row failed (a wrong
 * candidate, exit 1); or no row failed but some could not be judged (exit 3). */
typedef enum { NO_OUTCOME_PASS, NO_OUTCOME_FAIL, NO_OUTCOME_UNJUDGED } no_outcome;

/* The first non-finite element of a row, or index -1. */
typedef struct {
    long index;      /* flat (row-major) index, -1 for none */
    int in_ref;      /* 1: in the reference (values out of float64 range), 0: the candidate */
    double value;    /* the offending value */
} no_nonfinite;

typedef struct {
    char name[NO_NAME_LEN];
    double max_rel;      /* max |cand - ref| / max |ref| */
    double rms_rel;      /* rms(cand - ref) / rms(ref) */
    double max_ulps;     /* max |cand - ref| / ulp(ref) over nonzero ref entries, in ulps
                            of the tolerance model's precision (u: float64, float32, ...) */
    double ref_bits;     /* normwise correct bits of the reference */
    double ref_min_bits; /* smallest elementwise correct bits of the reference */
    double tol;
    double need_bits;    /* bits the reference must certify for this tol: -log2(tol) + 4 */
    no_nonfinite bad;    /* the first NaN/Inf (reference first, then candidate) */
    int shape[4], ndim;  /* the reference array's shape, to print multi-indices */
    no_verdict verdict;
} no_cmp_row;

typedef struct {
    no_spec spec;
    no_tol_model tol;
    long prec;           /* reference precision (bits) the verdicts were given at */
    long prec_asked;     /* the precision first tried (--prec or golden's); prec > prec_asked
                            when the reference was raised automatically */
    long prec_cap;       /* the highest precision the raise may reach */
    int nrows;
    no_cmp_row rows[NO_MAX_ARRAYS];
    int pass;            /* every row passed */
    no_outcome outcome;
    char raise_note[256]; /* why the raise stopped below the cap (memory), or "" */
} no_cmp_report;

/* The precision cap of the automatic raise when the user gives none:
 * 4096 bits, or the --prec asked if higher.  Chosen from cost: a raise is
 * needed only when the tolerance is meaningful (<= 2^-10) yet the reference
 * lost more bits than the model predicts; at 4096 bits the default suite's
 * problems take seconds, not minutes. */
#define NO_PREC_AUTO_CAP 4096

/* The cap of the raise: max_prec when given (> 0), else NO_PREC_AUTO_CAP or
 * prec if higher; never above REF_CERTIFY_PREC_MAX. */
long no_compare_cap(long prec, long max_prec);

/* The next precision to try after prec: doubled (Arb-style), at most cap;
 * 0 when prec is already at the cap. */
long no_compare_next_prec(long prec, long cap);

/* Whether some row is REF_WEAK, i.e. a higher reference precision could
 * turn it into a verdict. */
int no_compare_needs_more_bits(const no_cmp_report *rep);

/* The precision to certify next for rep (0: none), given that a run at
 * prec bits needs bytes(prec) of memory: doubled up to rep->prec_cap while
 * some row is REF_WEAK, but not beyond what fits (oracle/resources.h; then
 * rep->raise_note says so and the rows stay `ref too weak`). */
long no_compare_raise(no_cmp_report *rep, double (*bytes)(const void *ctx, long prec),
                      const void *ctx);

/* "states[3,1,0]" for the flat index of a row's array. */
void no_compare_index_str(const no_cmp_row *row, long flat, char *buf, size_t n);

/* Compare every array of ref (values, with per-element correct bits) with the
 * candidate array of the same name. */
void no_compare_arrays(const no_arrays *cand, const no_arrays *ref, const no_arrays *ref_bits,
                       const no_tol_model *tol, no_cmp_report *rep);

/* Run ref (certified at prec bits) and fast on p and compare them; while a
 * row is REF_WEAK, ref is certified again at doubled precision up to cap
 * (0: NO_PREC_AUTO_CAP or prec).  Returns 0 (rep filled, rep->outcome says
 * the verdict) or -1 with err. */
int no_compare_problem(const no_problem *p, long prec, long cap, no_cmp_report *rep, char *err,
                       size_t len);

const char *no_verdict_name(no_verdict v);

#endif
