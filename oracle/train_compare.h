/* train_compare.h - fast's gradient descent judged against the reference's
 * along the whole run (proofs-notes/training.md).
 *
 * The bound on the parameter error E_n >= |theta_fast^n - theta^n| (metric)
 * is propagated step by step,
 *   E_0 = 0,
 *   E_{n+1} = (1 + eta Lambda_n) E_n + eta dG_n + rho_n,
 * with Lambda_n = 2 max(lip_n, lip_{n+1}) (lip: the reference's power
 * iteration estimate of |DG| at theta^n and theta^{n+1}, times a safety 2),
 * dG_n the metric norm of the single-run tolerance of mgrad_* at theta^n
 * (oracle/tolerance.h, with the reference's outputs at theta^n) and rho_n
 * the rounding of the update.  Each record (theta^n, F, |G|^2, |theta|,
 * |theta - theta^0|) gets a tolerance from E_n; an iteration is judged only
 * while E_n / |theta^n| and every single-run tolerance are at most 2^-10
 * and the reference's F holds >= 60 certified bits; after that it is
 * unverifiable, never a pass. */
#ifndef NO_TRAIN_COMPARE_H
#define NO_TRAIN_COMPARE_H

#include <stddef.h>

#include "fast_train.h"
#include "problem.h"
#include "ref_train.h"

enum { NO_TRAIN_PASS = 0, NO_TRAIN_FAIL = 1, NO_TRAIN_UNVERIFIABLE = 3 };

/* The quantities judged per iteration, in this order. */
enum { NO_TRAIN_Q_THETA, NO_TRAIN_Q_F, NO_TRAIN_Q_G2, NO_TRAIN_Q_TNORM, NO_TRAIN_Q_TDIST,
       NO_TRAIN_NQ };
extern const char *const no_train_q_names[NO_TRAIN_NQ];

typedef struct {
    size_t steps;
    double *E;               /* steps + 1: the bound on |theta_fast - theta| */
    double *err[NO_TRAIN_NQ]; /* steps + 1 each: |fast - ref| */
    double *tol[NO_TRAIN_NQ]; /* steps + 1 each: the tolerance */
    unsigned char *judged;   /* steps + 1: 1 judged, 0 unverifiable */
    size_t njudged;          /* iterations judged */
    size_t first_unjudged;   /* steps + 1 when every one was judged */
    double worst;            /* max err / tol over judged iterations and quantities */
    size_t worst_n;
    int worst_q;
    size_t first_fail;       /* steps + 1 when none */
    int first_fail_q;
    int verdict;             /* NO_TRAIN_PASS, _FAIL or _UNVERIFIABLE */
    unsigned provided;       /* bit q set: quantity q was judged (no_train_judge: all) */
    double *dG, *tF;         /* steps + 1: single-run tolerances (no_train_judge's inputs) */
    unsigned char *ok;
    ref_train_traj ref;      /* the certified reference run (with params and lip) */
    fast_train_traj fast;    /* fast's run (with params) */
} no_train_cmp;

/* Run both and judge.  progress as in ref_train_opts (NULL: none).
 * Returns 0 (c filled; c->verdict), or -1 with err. */
int no_train_compare(const no_problem *p, long prec, size_t steps, double eta,
                     void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                     no_train_cmp *c, char *err, size_t len);

/* Judge given trajectories (ref: certified, with params, lip; fast: with
 * params) against per-iteration single-run tolerances dG (metric norm of
 * mgrad's tolerance), tF (relative tolerance of loss) and ok (1: those
 * tolerances are meaningful).  Fills c's judgement (not c->ref, c->fast).
 * Exposed so that a test can hand it a perturbed fast trajectory. */
int no_train_judge(const no_problem *p, const ref_train_traj *r, const fast_train_traj *f,
                   const double *dG, const double *tF, const unsigned char *ok,
                   no_train_cmp *c);

/* Every quantity (the mask of no_train_judge_some). */
#define NO_TRAIN_ALL ((1u << NO_TRAIN_NQ) - 1u)

/* no_train_judge for a trajectory that records only some quantities: bit q
 * of provided set means f holds quantity q (NO_TRAIN_Q_THETA: f->params;
 * the others: its column).  An absent quantity has error 0 and is neither
 * judged nor checked for finiteness; the bound E_n does not depend on f
 * (only on the reference's quantities), so it applies unchanged.  A
 * non-finite provided value is a failure at its iteration, named by its
 * quantity. */
int no_train_judge_some(const no_problem *p, const ref_train_traj *r, const fast_train_traj *f,
                        const double *dG, const double *tF, const unsigned char *ok,
                        unsigned provided, no_train_cmp *c);

/* The reference side alone: the certified reference run of steps GD
 * iterations at eta (with params and lip) into c->ref, and its per-iteration
 * single-run tolerances into c->dG, c->tF, c->ok.  What an outside
 * candidate's trajectory is judged against (check --train).  Returns 0, or
 * -1 with err (c then empty). */
int no_train_reference(const no_problem *p, long prec, size_t steps, double eta,
                       void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                       no_train_cmp *c, char *err, size_t len);

void no_train_cmp_clear(no_train_cmp *c);

#endif
