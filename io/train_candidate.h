/* train_candidate.h - a candidate's training trajectory as a directory
 * (docs/formats.md, "A candidate's training trajectory"; docs/check.md,
 * "Training trajectories").
 *
 *   trajectory.npy  (steps + 1) x 7 float64, the columns of `train --out`:
 *                   n, t, F, grad_norm2, theta_norm, theta_dist, F_bits
 *   params.npy      (steps + 1) x K float64, optional: theta^n
 *   candidate.json  optional: {"precision": "float64", "training":
 *                   {"eta": E, "steps": N}}
 *
 * Input errors (exit 2, one line): a file that is not a strict .npy, a
 * float32 file, a shape other than those above, n that is not the row
 * index, t that is not n * eta (within 1e-9 relative), a NaN or Inf in n or
 * t, steps declared other than the rows, no eta anywhere.  Non-finite
 * values of the judged columns are the candidate's results: they are kept
 * (a failure for check to report).  A judged optional column whose every
 * value is NaN counts as not provided; F must be provided. */
#ifndef NO_TRAIN_CANDIDATE_H
#define NO_TRAIN_CANDIDATE_H

#include <stddef.h>

#include "candidate.h"
#include "problem.h"

/* The columns of trajectory.npy. */
enum { NO_TRAJ_N, NO_TRAJ_T, NO_TRAJ_F, NO_TRAJ_G2, NO_TRAJ_TNORM, NO_TRAJ_TDIST,
       NO_TRAJ_FBITS, NO_TRAJ_NCOL };

typedef struct {
    size_t steps, K;
    double eta;
    int eta_from_json;          /* 1: candidate.json's "training" gave eta */
    int has_precision;          /* candidate.json gave "precision" */
    no_precision precision;
    int has_g2, has_tnorm, has_tdist; /* the optional columns provided */
    double *F, *gnorm2, *theta_norm, *theta_dist; /* steps + 1 each (absent: NaN) */
    double *params;             /* (steps + 1) x K, or NULL */
} no_train_candidate;

/* 1 if dir/candidate.json exists and has a member "training" (any value),
 * else 0 (also when it cannot be read: the reader then says why). */
int no_train_candidate_declared(const char *dir);

/* Read dir's training candidate for spec.  eta_opt > 0: the command line's
 * eta (wins over candidate.json's); steps_opt > 0: the command line's steps
 * (must equal the rows - 1, as candidate.json's must).  Returns 0, or -1
 * with err filled and out empty. */
int no_train_candidate_read(const char *dir, const no_spec *spec, double eta_opt,
                            long steps_opt, no_train_candidate *out, char *err, size_t len);

void no_train_candidate_clear(no_train_candidate *c);

#endif
