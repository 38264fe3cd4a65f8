/* suite.h - named sets of problems (the docs list what each covers).
 *   smoke    one problem per family (euler, discrete), seconds.
 *   default  every family (linear; rff gaussian and matern; mlp tanh, softplus,
 *            relu) x scheme (euler, rk4) x adjoint kind (discrete, continuous),
 *            m = 2, plus sqrt scaling; small sizes (N=12, d_in=2, d_out=3, D=4,
 *            L=8, q=24, M=6).
 *   deep     L = 64, 256, 1024 x {linear, rff, mlp} x {euler, rk4}; N=3, D=4.
 *   wide     q = 1024, 4096 (rff gaussian, matern) and M = 1024, 4096 (mlp tanh);
 *            L=4, N=3, D=4.
 *   schemes  every scheme of the table (problem/tableau.c) x every adjoint kind
 *            (discrete, continuous, backsolve), the field variants in turn;
 *            the sizes of default but L = 5, m = 2 (m = 1 for order >= 4).
 * Every suite has d_out = 3 and N, L, M, q, m pairwise distinct, so that each
 * cause of the diagnosis changes some problem's results (suite.c, small()). */
#ifndef NO_SUITE_H
#define NO_SUITE_H

#include <stddef.h>

#include "problem.h"

#define NO_SUITE_MAX 64

/* Fill out with the suite's specs; returns their count, or -1 if unknown. */
int no_suite_specs(const char *name, no_spec out[NO_SUITE_MAX]);

/* Space-separated names of the suites, for help and errors. */
const char *no_suite_names(void);

/* The estimated work of one problem of spec s, in field multiply-adds of one
 * pass: N L m stages times the field's cost per point (D^2 linear, 2 D q rff,
 * 2 D M mlp).  It depends on the spec only; the reference's precision and
 * the passes (forward, adjoint, certification) multiply every problem of a
 * run alike.  What nodeoracle-mpi balances the problems by (docs/mpi.md). */
double no_suite_cost(const no_spec *s);

/* ---- gen and check over a suite, one problem at a time -------------------
 * What `nodeoracle gen` and `nodeoracle check --problems` do, cut at the
 * problem, so that a caller can compute the problems elsewhere and get the
 * serial command's files and report byte for byte: the serial commands are
 * these steps in a row (cmd_gen.c, cmd_check.c); nodeoracle-mpi (mpi/) runs
 * the per-problem step on its ranks and the others on rank 0. */

/* gen.  no_gen_open parses and checks gen's options (everything that can be
 * refused before anything is made, memory included); help and usage errors
 * are printed there, *g is then NULL and the result is the exit status. */
typedef struct no_gen no_gen;
int no_gen_open(int argc, char **argv, no_gen **g);
int no_gen_count(const no_gen *g);
const no_spec *no_gen_spec(const no_gen *g, int i);
/* The directory name of problem i, NNN-FAMILY-... (docs/formats.md). */
const char *no_gen_name(const no_gen *g, int i);
/* --out. */
const char *no_gen_out(const no_gen *g);
/* Where the problems go: check every destination, create --out, lock it,
 * remove stale temporaries.  0, or -1 with err (then no_gen_finish). */
int no_gen_prepare(no_gen *g, char *err, size_t len);
/* Build problem i into its temporary under --out (after no_gen_prepare);
 * label names it in progress lines.  0, or -1 with err. */
int no_gen_build(no_gen *g, int i, const char *label, char *err, size_t len);
/* Or in parts: write problem i (its files, golden/ and the manifest) into
 * dir, an empty directory private to the caller, anywhere ...  */
int no_gen_write(const no_gen *g, int i, const char *dir, char *err, size_t len);
/* ... then, after no_gen_prepare, make problem i's temporary under --out
 * (path, n bytes), put the same files into it, and seal it (the manifest,
 * the permissions): the tree no_gen_build makes. */
int no_gen_slot_open(no_gen *g, int i, char *path, size_t n, char *err, size_t len);
int no_gen_slot_seal(no_gen *g, int i, char *err, size_t len);
/* With rc 0 (every problem built or sealed): check the destinations again,
 * publish all problems or none, print the last line; with rc != 0: roll
 * back, print "nodeoracle: why".  Unlocks and frees g; returns the exit
 * status. */
int no_gen_finish(no_gen *g, int rc, const char *why);
/* Free g without publishing (a process that only wrote problems). */
void no_gen_free(no_gen *g);

/* check --problems DIR --candidates DIR.  no_check_dir_open parses check's
 * options: help and usage errors are printed, *c is NULL and the result is
 * the exit status; -1 with *c NULL: valid options for one problem (run
 * no_cmd_check instead: there is nothing to split). */
typedef struct no_check_dir no_check_dir;
typedef struct no_check_item no_check_item;
int no_check_dir_open(int argc, char **argv, no_check_dir **c);
/* List the problems and candidates and print the first line; 0, or the
 * error printed and its exit status. */
int no_check_dir_list(no_check_dir *c);
int no_check_dir_count(const no_check_dir *c);
/* The problem names as bytes (NUL-terminated names in a row; malloc'd, NULL
 * when out of memory), and back into a c that did not list them: -1 on
 * malformed bytes or no memory. */
char *no_check_dir_names_pack(const no_check_dir *c, size_t *len);
int no_check_dir_names_unpack(no_check_dir *c, const char *buf, size_t len);
/* no_suite_cost of problem i, read from its problem.json (1 when that cannot
 * be read: the check will say why). */
double no_check_dir_cost(const no_check_dir *c, int i);
/* Check problem i: its outcome (NULL: out of memory).  Prints nothing on
 * stdout. */
no_check_item *no_check_dir_run(const no_check_dir *c, int i);
/* An outcome as bytes (malloc'd; NULL when out of memory) and back (NULL:
 * malformed or out of memory); the report's numbers come back exactly. */
char *no_check_item_pack(const no_check_item *it, size_t *len);
no_check_item *no_check_item_unpack(const char *buf, size_t len);
void no_check_item_free(no_check_item *it);
/* Print problem i's line (or add its JSON row) and count it; called in the
 * order i = 0, 1, ...; frees it. */
void no_check_dir_emit(no_check_dir *c, int i, no_check_item *it);
/* The unmatched candidates, the summary (or the JSON report); frees c and
 * returns the exit status. */
int no_check_dir_finish(no_check_dir *c);
void no_check_dir_free(no_check_dir *c);

#endif
