/* progress.h - progress of a long problem on stderr (stdout keeps the
 * reports and the JSON untouched).
 *
 * One reporter per process.  It prints nothing for the first 2 s of a
 * problem (NODEORACLE_PROGRESS_AFTER=SECONDS changes that, e.g. 0 in the
 * tests), then, on a terminal, one line rewritten with '\r' at most once a
 * second and erased when the problem ends; otherwise (a log, a pipe) a line
 * every 10 s.  A line reads
 *   nodeoracle: [3/26] ref backward layer 700 of 1024, 62%, 12.5 s, ~7.7 s left
 * --quiet (no_progress_enable(0)) or NODEORACLE_PROGRESS=0 turn it off.
 * ref/ and fast/ report through their hooks (ref_progress, fast_progress),
 * one call per layer. */
#ifndef NO_PROGRESS_H
#define NO_PROGRESS_H

#include "fast.h"
#include "ref.h"

/* Off for the rest of the process if on == 0 (--quiet). */
void no_progress_enable(int on);

/* A problem starts: its label (e.g. "[3/26]", "check", "diagnosis") and
 * the clock.  Ends the previous one. */
void no_progress_begin(const char *label);

/* The problem ends: a terminal's line is erased. */
void no_progress_end(void);

/* Hooks bound to the reporter ({NULL, NULL} when it is off), and a ref_setup
 * that carries only the hook, for ref_certify_setup. */
ref_progress no_progress_ref(void);
const fast_progress *no_progress_fast(void);
const ref_setup *no_progress_setup(void);

/* The hook itself: what the ref and fast hooks call. */
void no_progress_tick(void *ctx, const char *pass, size_t layer, size_t L, double fraction);

#endif
