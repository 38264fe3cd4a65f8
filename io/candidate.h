/* candidate.h - a candidate's outputs as a directory, and its step grid
 * (docs/formats.md, "A candidate's outputs" and "A step grid").
 *
 * The arrays may be float32 (widened exactly) and may hold NaN or Inf: a
 * candidate's non-finite output is a failure for check to report (exit 1),
 * not an input error.  Everything else about the files is validated as
 * strictly as a problem's: a malformed file or a shape that differs from the
 * spec is an error (exit 2). */
#ifndef NO_CANDIDATE_H
#define NO_CANDIDATE_H

#include <stddef.h>

#include "arrays.h"
#include "path.h"
#include "problem.h"

/* The precision the candidate computed in; its unit roundoff sets the
 * tolerance (docs/check.md). */
typedef enum { NO_PRECISION_FLOAT64, NO_PRECISION_FLOAT32, NO_PRECISION_BFLOAT16 } no_precision;

/* Their names, in the enum's order ("float64", "float32", "bfloat16"). */
extern const char *const no_precision_names[3];
const char *no_precision_name(no_precision p);
/* 0 and *out set if s is "float64", "float32" or "bfloat16"; else -1. */
int no_precision_parse(const char *s, no_precision *out);

/* What candidate.json says (all optional).  Command-line flags override it. */
typedef struct {
    no_precision precision;  /* float64 when candidate.json does not say */
    int has_precision;       /* candidate.json gave "precision" */
    int has_grid;            /* candidate.json gave "grid" */
    char grid[NO_PATH_MAX];  /* its path: candidate.json's name joined to the candidate dir;
                                the name is relative and its real path (symlinks resolved)
                                lies inside the candidate dir (no_path_confine) */
    int has_scheme;          /* candidate.json gave "scheme" */
    no_scheme_id scheme;
    int files_f32;           /* how many arrays read were float32 in their files */
    int files_f64;           /* ... and float64 ('<f8' or '>f8') */
} no_candidate_info;

/* Where the precision a candidate is judged in comes from. */
typedef enum {
    NO_PRECISION_FROM_DEFAULT,   /* nothing said: float64 */
    NO_PRECISION_FROM_OPTION,    /* check --precision */
    NO_PRECISION_FROM_JSON,      /* candidate.json's "precision" */
    NO_PRECISION_FROM_FILES,     /* the arrays' dtypes: some array was float32 */
} no_precision_source;

/* "default", "option", "candidate.json", "files". */
const char *no_precision_source_name(no_precision_source s);

/* The precision a candidate is judged in: the command line's (has_option,
 * option), else candidate.json's, else float32 if any array was stored as
 * float32 (the coarsest dtype of the files: a float32 array cannot be judged
 * with float64's tolerance), else float64.  *source says which. */
no_precision no_candidate_precision(const no_candidate_info *info, int has_option,
                                    no_precision option, no_precision_source *source);

/* Read dir's arrays into out, in the order of the output layout (arrays.h):
 * states (optional), output, loss, adjoint (optional), grad_<P> for every
 * parameter P of spec's family (all required).  loss.npy may have shape ()
 * or (1,); it is stored as the 1-element array "loss" of shape (1,).  Then
 * candidate.json if present (members precision, grid, scheme; any other is an
 * error).  Files other than these are ignored.  Returns 0, or -1 with err
 * filled and out empty. */
int no_candidate_read(const char *dir, const no_spec *spec, no_arrays *out,
                      no_candidate_info *info, char *err, size_t len);

/* Read a step grid: a 1-D float64 array of finite values, strictly
 * increasing from 0 to 1, in which every layer boundary k/L (k = 0..L) of
 * spec is present within 1e-12; those points are snapped to the double
 * nearest k/L.  Only for scaling ode.  *times is malloc'd (the caller frees
 * it), *count its length G + 1.  Returns 0, or -1 with err filled. */
int no_grid_read(const char *path, const no_spec *spec, double **times, size_t *count, char *err,
                 size_t len);

#endif
