/* nodeoracle.h - the public C interface of libnodeoracle.
 *
 * One self-contained header: it includes only <stddef.h>, and every type it
 * names is opaque, so a program built against it needs neither MPFR's nor
 * the project's internal headers, and the internal structures (the problem
 * description, the MPFR reference's numbers) may change without breaking
 * it.  What is computed is docs/model.md and proofs-notes/conventions.md;
 * the file formats are docs/formats.md.
 *
 * The minimal set a C user needs to test an implementation:
 *   1. a problem: generated from the same options as `nodeoracle compare`
 *      (nodeoracle_problem_generate), or read from a directory that
 *      `nodeoracle gen` wrote (nodeoracle_problem_read); its input arrays
 *      (nodeoracle_problem_input) are what the implementation consumes;
 *   2. the reference: the MPFR computation at a chosen precision, certified
 *      (every element correctly rounded to double, with its correct bits);
 *   3. the fast double implementation, for a second opinion or speed;
 *   4. a candidate's outputs read from a directory (docs/formats.md, "A
 *      candidate's outputs"), validated against the problem.
 * Comparison, tolerances and the diagnosis are the `nodeoracle check`
 * command's; they are not part of this interface.
 *
 * Every result is a set of named float64 arrays (nodeoracle_arrays) in the
 * output layout: states, output, loss, adjoint, grad_<P>, mgrad_<P> for
 * every trained parameter P of the family (W; or a, u, b).
 *
 * Errors: functions that can fail return 0 on success and -1 on failure,
 * with one line (no newline) in err[0..len) when err is not NULL.
 *
 * Building against it (the library is a static archive, so its own
 * dependencies MPFR, GMP, jansson, nettle and libm are linked too):
 *     cc prog.c $(pkg-config --cflags --libs nodeoracle)
 * (the archive is static only, so nodeoracle.pc's Libs name MPFR and the
 * others: no --static is needed).
 */
#ifndef NODEORACLE_H
#define NODEORACLE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface; raised on an incompatible change. */
#define NODEORACLE_API_VERSION 1

/* The library's version string, e.g. "0.2.0" (`nodeoracle --version`). */
const char *nodeoracle_version(void);

typedef struct nodeoracle_problem nodeoracle_problem;
typedef struct nodeoracle_arrays nodeoracle_arrays;

/* ---- problems ----------------------------------------------------------- */

/* Generate a problem from options given as the command line of `nodeoracle
 * compare` gives them: a NULL-terminated list of flag/value pairs, e.g.
 *     const char *opt[] = {"--family", "rff", "--scheme", "rk4", "--m", "2",
 *                          "--L", "8", "--seed", "3", NULL};
 * (options NULL or empty: the default problem).  The arrays follow from the
 * options and the seed, the same bits on every platform.  *out is NULL on
 * failure (an unknown flag, a bad value, an invalid combination, no memory). */
int nodeoracle_problem_generate(const char *const *options, nodeoracle_problem **out,
                                char *err, size_t len);

/* Read and validate a problem directory (problem.json and its .npy arrays,
 * e.g. one that `nodeoracle gen` wrote; golden/ is not read). */
int nodeoracle_problem_read(const char *dir, nodeoracle_problem **out, char *err, size_t len);

void nodeoracle_problem_free(nodeoracle_problem *p);

/* One line describing the problem ("rff(gaussian ell=1 q=16) rk4 m=2 ..."). */
void nodeoracle_problem_describe(const nodeoracle_problem *p, char *buf, size_t len);

/* The problem's input array name ("X", "Y", "A", "B"; "Omega", "beta", "W"
 * for rff; "W" for linear; "a", "u", "b" for mlp), row-major, borrowed from
 * p; *ndim and shape[0..*ndim) its shape (either may be NULL).  NULL if
 * the family has no such array. */
const double *nodeoracle_problem_input(const nodeoracle_problem *p, const char *name,
                                       int *ndim, size_t shape[4]);

/* ---- computations ------------------------------------------------------- */

/* The reference at prec bits (e.g. 128; at least 53), run twice (prec and
 * a higher precision) to certify it: *values are the outputs correctly
 * rounded to double, *bits (if bits is not NULL) per element the number of
 * bits of the prec result known to be correct (proofs-notes/precision.md).
 * The problem's adjoint kind decides which gradient is reported. */
int nodeoracle_reference(const nodeoracle_problem *p, long prec, nodeoracle_arrays **values,
                         nodeoracle_arrays **bits, char *err, size_t len);

/* The independent double implementation (fast/) of the same outputs. */
int nodeoracle_fast(const nodeoracle_problem *p, nodeoracle_arrays **out, char *err,
                    size_t len);

/* A candidate's outputs from directory dir: output, loss and grad_<P>
 * required, states and adjoint optional; float32 files are widened exactly.
 * Shapes are checked against p.  (candidate.json is validated but its
 * precision, grid and scheme are for `nodeoracle check`.) */
int nodeoracle_candidate_read(const nodeoracle_problem *p, const char *dir,
                              nodeoracle_arrays **out, char *err, size_t len);

/* ---- result arrays ------------------------------------------------------ */

int nodeoracle_arrays_count(const nodeoracle_arrays *a);

/* The name of array i (0 <= i < count), or NULL. */
const char *nodeoracle_arrays_name(const nodeoracle_arrays *a, int i);

/* The named array's elements, row-major, borrowed from a; *n (if not NULL)
 * their count, *ndim and shape[0..*ndim) (if not NULL) its shape.  NULL if
 * a has no such array. */
const double *nodeoracle_arrays_get(const nodeoracle_arrays *a, const char *name, size_t *n,
                                    int *ndim, size_t shape[4]);

void nodeoracle_arrays_free(nodeoracle_arrays *a);

#ifdef __cplusplus
}
#endif

#endif
