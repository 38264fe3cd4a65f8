/* problem_dir.h - a problem as a directory (docs/formats.md, "A problem"):
 * problem.json plus one .npy file per input array.
 *
 * problem.json has exactly the members of the table in docs/formats.md: the
 * common ones, plus q and kernel and (ell for gaussian | nu for matern) for
 * rff, M and activation for mlp.  A missing, unknown, duplicated or ill-typed
 * member is an error; so is a member of another family.  Members that the
 * file does not hold (ell, nu outside rff) keep no_spec_default()'s values.
 * The spec must then pass no_spec_validate(), and every array must have the
 * shape the spec gives it and finite values. */
#ifndef NO_PROBLEM_DIR_H
#define NO_PROBLEM_DIR_H

#include <stddef.h>

#include "arrays.h"
#include "problem.h"

/* The input arrays of the problem's family, in the order of docs/formats.md
 * (X Y A B, Omega beta, W, a u b): name, shape, n, and v pointing into p
 * (borrowed, not copied).  Returns their count (at most 10). */
#define NO_PROBLEM_DIR_MAX_ARRAYS 10
int no_problem_dir_arrays(const no_problem *p, no_array out[NO_PROBLEM_DIR_MAX_ARRAYS]);

/* The canonical text of problem.json for spec s: compact, keys sorted, reals
 * with 17 significant digits; a malloc'd string (NULL: out of memory, or a
 * seed above 2^63 - 1, which JSON integers as jansson reads them cannot
 * hold).  It depends only on the spec, not on a file's layout. */
char *no_problem_dir_canonical(const no_spec *s);

/* mkdir -p dir, write every array as NAME.npy, then problem.json (last, so a
 * directory with a problem.json is complete).  Each file atomically.
 * Returns 0, or -1 with err filled. */
int no_problem_dir_write(const char *dir, const no_problem *p, char *err, size_t len);

/* Read and validate dir into p (allocated here; no_problem_free() it).
 * Returns 0, or -1 with err filled and nothing left allocated. */
int no_problem_dir_read(const char *dir, no_problem *p, char *err, size_t len);

/* Only dir's problem.json, read and validated into s (no arrays read).
 * Returns 0, or -1 with err filled. */
int no_problem_dir_read_spec(const char *dir, no_spec *s, char *err, size_t len);

#endif
