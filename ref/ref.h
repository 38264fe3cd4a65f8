/* ref.h - the MPFR reference of the nodeoracle contract (SPEC.md 1-3, 6).
 *
 * Read against SPEC.md line by line: every quantity is computed per data
 * point, at a caller-chosen precision, with MPFR's correctly rounded
 * primitives (mpfr_dot, mpfr_sum, mpfr_sin_cos, mpfr_fma).  ref/ shares with
 * fast/ only the problem description, the tableaux and the output layout.
 *
 * Data flow: ref_model (the problem's arrays as MPFR numbers) -> forward ->
 * adjoint (discrete or continuous) -> gradient -> metric gradient, collected
 * in a ref_result; ref_certify() runs it at two precisions and states the
 * number of correct bits of every output (proofs-notes/precision.md).
 */
#ifndef NO_REF_H
#define NO_REF_H

#include <mpfr.h>
#include <stddef.h>

#include "arrays.h"
#include "problem.h"

/* Limits on the working precision (bits). */
#define REF_PREC_MIN 53 /* the double inputs must be exact */
#define REF_PREC_MAX 65536
/* The highest precision ref_certify (and so every command's --prec)
 * accepts: its check run at prec + max(prec/2, 32) bits must stay within
 * REF_PREC_MAX (43691 + 21845 = 65536).  ref_certify.c asserts it. */
#define REF_CERTIFY_PREC_MAX 43691
#define REF_PREC_ROUNDED_MIN 8 /* bfloat16's significand, for ref_model_init_rounded */

/* An MPFR array with the same name and shape conventions as no_array. */
typedef struct {
    char name[NO_NAME_LEN];
    int ndim;
    size_t shape[4];
    size_t n;
    mpfr_t *v;
} ref_array;

/* A zero-filled array of that shape at precision prec (0, or -1: no memory). */
int ref_array_init(ref_array *a, const char *name, int ndim, const size_t *shape,
                   mpfr_prec_t prec);
void ref_array_clear(ref_array *a);

typedef struct {
    int count;
    mpfr_prec_t prec;
    ref_array a[NO_MAX_ARRAYS];
} ref_result;

/* Hypothesised variants of the computation, for `nodeoracle check`'s
 * diagnosis (docs/check.md): each is a plausible bug of an outside
 * implementation, computed exactly so that a candidate can be measured
 * against it.  All zero is the contract (SPEC.md). */
typedef struct {
    int loss_sum;        /* F = 1/2 sum_i |r_i|^2: the 1/N missing */
    int loss_no_half;    /* F = 1/N sum_i |r_i|^2: the 1/2 missing */
    int loss_mean_all;   /* F = 1/(N d_out) sum_i |r_i|^2: the mean over every
                            squared error (torch.nn.MSELoss), the contract x 2/d_out */
    int residual_flip;   /* backpropagates y - yhat: adjoint and gradients negated */
    int no_mean_field;   /* mlp without the 1/M */
    int rff_no_scale;    /* rff features without sqrt(2/q) */
    int rff_no_phase;    /* rff features cos(Omega z)/sqrt(q): no beta */
    int transpose_W;     /* linear: W_k^T z instead of W_k z */
    int swap_au;         /* mlp: a and u exchanged (unpacked in the wrong order) */
    size_t h_den;        /* h = 1/h_den instead of the spec's h (0: the spec's) */
    int substep_h;       /* every substep takes the layer's step h, not h/m */
    int swap_scaling;    /* h = 1/sqrt(L) on an ode problem, 1/L on a sqrt one */
    /* A field multiplied by a constant c: c v_k is the same computation as v_k
     * with every step of layer k multiplied by c, forward and backward (the
     * adjoint recurrences are linear in tau v; proofs-notes/diagnosis.md), so
     * these scale the grid's steps.  0 means 1 (no change). */
    double field_scale;  /* every layer */
    size_t scale_layer;  /* 1 + the one layer k scaled by layer_scale (0: none) */
    double layer_scale;
} ref_variant;

/* A progress hook for long runs (fn NULL: none).  ref_run calls it once per
 * layer of each pass (forward: per data point), with the fraction of the
 * run done so far; ref_certify maps its two runs into one fraction. */
typedef struct {
    void (*fn)(void *ctx, const char *pass, size_t layer, size_t L, double fraction);
    void *ctx;
} ref_progress;

/* The problem's arrays converted exactly to MPFR at precision prec.  Its
 * parameters may then be changed (e.g. perturbed by 2^-80 for finite
 * differences), which doubles could not represent. */
typedef struct {
    no_spec spec;
    mpfr_prec_t prec;
    ref_array X, Y, A, B, Omega, beta;
    int nparams;
    ref_array param[NO_MAX_PARAMS]; /* named "W" or "a","u","b" */
    ref_variant variant;            /* zero: the contract */
    /* The step grid: layer k takes steps first[k] .. first[k+1]-1, of sizes
     * tau[t].  Uniform (h/m) unless ref_model_set_grid replaced it. */
    size_t nsteps;
    size_t *first; /* L + 1 */
    mpfr_t *tau;   /* nsteps */
    ref_progress progress; /* none after init; set by the caller */
} ref_model;

int ref_model_init(ref_model *m, const no_problem *p, mpfr_prec_t prec, char *err, size_t len);

/* The same computation with every input and every primitive rounded to prec
 * bits, prec in [REF_PREC_ROUNDED_MIN, REF_PREC_MAX]: at 24 bits each MPFR
 * operation rounds exactly as an IEEE float32 operation would (MPFR's wider
 * exponent range aside), at 8 bits as bfloat16.  Not a reference: it emulates
 * a candidate that computed in a lower precision, for the diagnosis's
 * rounding envelope (oracle/diagnose.c); its results carry no certificate.
 * Each primitive (mpfr_dot, mpfr_sum, a transcendental) is rounded once, so
 * its error is that of the most careful program at that precision. */
int ref_model_init_rounded(ref_model *m, const no_problem *p, mpfr_prec_t prec, char *err,
                           size_t len);
void ref_model_clear(ref_model *m);
ref_array *ref_model_param(ref_model *m, const char *name);

/* Use a variant of the computation (rebuilds the uniform grid if h changes). */
int ref_model_set_variant(ref_model *m, const ref_variant *v, char *err, size_t len);

/* Replay a candidate's step grid: times t_0 = 0 < ... < t_G = 1 (scaling
 * ode), every layer boundary k/L among them (io/ snaps them exactly).  Each
 * interval is one step of the scheme; t_j is converted exactly, the steps
 * t_{j+1} - t_j computed at the model's precision.  0, or -1 with err. */
int ref_model_set_grid(ref_model *m, const double *times, size_t count, char *err, size_t len);

/* Forward, adjoint of m->spec.adjoint kind, gradients and metric gradients,
 * in the layout of no_outputs_init() (arrays.h), at precision m->prec.
 * Returns 0, or -1 with err filled. */
int ref_run(const ref_model *m, ref_result *res, char *err, size_t len);

/* The loss only (forward pass), at precision m->prec, into loss (whose
 * precision the caller chose). */
int ref_loss(const ref_model *m, mpfr_t loss);

/* Transport N x D states through all layers forward, or (reverse != 0)
 * backward with step -h/m, with the spec's scheme.  Z holds N*D numbers. */
int ref_flow(const ref_model *m, mpfr_t *Z, int reverse); /* 0, or -1: no memory */

/* One run split across processes by data points (proofs-notes/ref-split.md).
 * The loss and every gradient are sums over the points, which ref_run
 * computes exactly and rounds once (mpfr_sum).  A part is a contiguous range
 * of points: ref_run_part computes its per-point rows and the EXACT sums over
 * its points; ref_part_finish adds the parts' exact sums exactly and rounds
 * once, so the result is ref_run's bit for bit, whatever the number of parts
 * and the order they come in.  No MPI here: the bytes go where the caller
 * sends them. */

/* Points of part `rank` of `ranks`: [*i0, *i1), contiguous, in rank order,
 * sizes differing by at most one (empty when rank >= N). */
void ref_part_of(size_t N, size_t ranks, size_t rank, size_t *i0, size_t *i1);

/* The exact sums of one part: every number holds its sum without rounding,
 * at the precision it needs (not the model's). */
typedef struct {
    size_t i0, i1;   /* the points summed: [i0, i1) */
    mpfr_t loss_sum; /* sum over the points of |B z_L - y|^2 */
    size_t ngrad;    /* L x the layer's parameter count (0: holds nothing) */
    mpfr_t *grad;    /* every grad_* entry, the arrays concatenated in the
                        result's order (grad_W; or grad_a, grad_u, grad_b) */
} ref_part;

void ref_part_init(ref_part *part);  /* empty: no points, no sums */
void ref_part_clear(ref_part *part); /* releases all; init again to reuse */

/* The part of ref_run over points [i0, i1) into an initialised part (its
 * previous sums released): res (allocated here, as by ref_run) has the full
 * output layout with those points' rows of states, output and adjoint
 * filled, everything else zero; part the exact sums.  0, or -1 with err. */
int ref_run_part(const ref_model *m, size_t i0, size_t i1, ref_result *res, ref_part *part,
                 char *err, size_t len);

/* A part's points and exact sums as bytes (ASCII; *buf malloc'd, the
 * caller frees it) and back into an initialised part.  0, or -1 (no memory;
 * import: a malformed buffer). */
int ref_part_export(const ref_part *part, char **buf, size_t *len);
int ref_part_import(ref_part *part, const char *buf, size_t len);

/* The rows of points [i0, i1) of res's states, output and adjoint as bytes
 * (exact) and back into a result of the same layout and precision (the
 * gathering of the per-point outputs).  0, or -1 (no memory; import: a
 * malformed buffer or one of another layout). */
int ref_rows_export(const ref_result *res, size_t i0, size_t i1, char **buf, size_t *len);
int ref_rows_import(ref_result *res, const char *buf, size_t len);

/* Combine parts (any order; empty ones are skipped; the nonempty ones must
 * cover every point exactly once) into res, which holds the gathered rows
 * in ref_run's layout at m->prec: loss = the parts' loss sums added,
 * rounded once, divided as ref_run divides; grad_* the rounded sums;
 * mgrad_* as ref_run.  0, or -1 with err. */
int ref_part_finish(const ref_model *m, ref_part *const *parts, size_t nparts, ref_result *res,
                    char *err, size_t len);

void ref_result_clear(ref_result *res);
const ref_array *ref_result_get(const ref_result *res, const char *name);

/* Round every array to double (round to nearest) into out (allocated here). */
int ref_result_to_double(const ref_result *res, no_arrays *out);

/* Certified evaluation: ref_run at prec and at prec + guard (guard =
 * max(32, prec/2)), values = the (prec + guard) result correctly rounded to
 * double (at least as accurate as the prec result), bits = per element number
 * of correct bits of the prec result (same layout
 * as values).  See proofs-notes/precision.md. */
int ref_certify(const no_problem *p, mpfr_prec_t prec, no_arrays *values, no_arrays *bits,
                char *err, size_t len);

/* What a certified run may change: a diagnosis variant (NULL: the contract)
 * and a step grid to replay (NULL: the spec's uniform grid). */
typedef struct {
    const ref_variant *variant;
    const double *grid;
    size_t grid_count;
    ref_result *keep_hi; /* if not NULL, receives the (prec + guard) result
                            (e.g. for 40-digit golden strings); caller clears */
    ref_progress progress; /* of both runs together (fn NULL: none) */
} ref_setup;

/* ref_certify under a setup (the same two-precision method). */
int ref_certify_setup(const no_problem *p, mpfr_prec_t prec, const ref_setup *setup,
                      no_arrays *values, no_arrays *bits, char *err, size_t len);

/* Memory, in bytes, before any is taken (ref_memory.c): one MPFR number at
 * prec (its struct and its allocated significand); one ref_run on a grid of
 * nsteps steps (0: the spec's L m); ref_certify's peak, both precisions'
 * runs alive at once and the double values and bits.  Estimates that follow
 * ref/'s allocations, for refusing a problem that cannot fit. */
double ref_number_bytes(mpfr_prec_t prec);
double ref_run_memory_estimate(const no_spec *s, mpfr_prec_t prec, size_t nsteps);
double ref_memory_estimate(const no_spec *s, mpfr_prec_t prec, size_t nsteps);

/* Correct bits of x (the lower-precision value) against x_hi, a value of much
 * higher accuracy; exact zeros agree to prec bits.  Capped at prec. */
double ref_correct_bits(const mpfr_t x, const mpfr_t x_hi, mpfr_prec_t prec);

#endif
