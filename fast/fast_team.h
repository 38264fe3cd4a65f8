/* fast_team.h - internal: a team of threads for one blocked run (fast_run.c).
 *
 * The data points of a run are cut into blocks that do not depend on the
 * number of threads (fast_ws.h), so a team only decides who computes which
 * block: the results are the same bits with one thread or many.  Threads are
 * POSIX threads, not OpenMP: when one cannot be created (a memory limit, a
 * thread limit) the team is simply smaller, where libgomp would end the
 * process. */
#ifndef FAST_TEAM_H
#define FAST_TEAM_H

#include <stddef.h>

typedef struct fast_team fast_team;

/* The work of one member: worker is 0..workers-1, worker 0 the calling thread. */
typedef void fast_team_fn(void *ctx, fast_team *team, size_t worker, size_t workers);

/* Run fn on up to want workers and wait for all of them; returns how many
 * ran (at least 1: the caller alone when no thread could be created, or
 * when another run of this process holds the pool).  The helper threads are
 * made on first use and kept for the process's later runs (fast_team.c). */
size_t fast_team_run(size_t want, fast_team_fn *fn, void *ctx);

/* Wait until every worker of the team has reached this call. */
void fast_team_barrier(fast_team *team);

/* The workers a run asks for: NODEORACLE_THREADS when it is set to 1..256,
 * else the online processors; never more than tasks (at least 1). */
size_t fast_team_size(size_t tasks);

#endif
