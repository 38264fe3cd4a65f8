/* fast_team.c - see fast_team.h.
 *
 * Why a pool of threads that outlive a run, and waits that spin before they
 * sleep: measured on tiny (64 points, two blocks of 32, 2 cores), a team
 * made of fresh threads joined at every barrier by sleeping took 0.9-1.1 ms
 * a run against 0.2 ms on one thread.  Starting a thread costs ~40 us here,
 * a sleeping waiter takes tens of microseconds to wake (an idle virtual CPU
 * is woken through the host), and a helper's first BLAS call in a new
 * thread sets up OpenBLAS's per-thread buffers.  So the helpers are made
 * once per process and kept; between runs and at barriers a waiter polls
 * for FAST_TEAM_SPIN_NS and only then sleeps on a condition variable: a
 * team on a busy machine does not burn a core for long.
 *
 * One run at a time uses the pool.  A second run that finds it busy (two
 * user threads calling fast at once) runs on its caller alone: the same
 * bits (fast_ws.h), only slower.  After fork() the child has none of the
 * parent's threads: the pool notices the new process id and starts afresh. */
#include "fast_team.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Workers beyond this are not asked for (a sanity bound on the environment). */
#define TEAM_MAX 256
/* Our loops need little stack; BLAS kernels keep small buffers on it. */
#define TEAM_STACK_BYTES ((size_t)4 << 20)
/* How long a waiter polls before it sleeps: a few layers of a small run's
 * work, far below a large run's. */
#define FAST_TEAM_SPIN_NS 200000L

/* A counter to wait on: wait until it moves past a value seen, polling
 * first, then asleep on the condition variable. */
typedef struct {
    atomic_uint seq;
    atomic_size_t sleepers;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} team_event;

struct fast_team {
    fast_team_fn *fn;
    void *ctx;
    size_t workers;
    atomic_size_t arrived; /* at the barrier, this round */
    team_event round;      /* the barrier's rounds */
};

/* What a helper waits on: its own counter, moved once per run it is in. */
typedef struct {
    team_event go;
    fast_team *team; /* the run's team, set before go moves */
} helper_slot;

static struct {
    pthread_mutex_t busy;   /* held by the run that uses the pool */
    pid_t pid;              /* the process the helpers belong to */
    size_t helpers;         /* threads made (workers 1..helpers) */
    helper_slot slot[TEAM_MAX];
    atomic_size_t finished; /* helpers done with this run */
    team_event done;        /* moves when the last of them finishes */
} pool;
static pthread_mutex_t pool_init_lock = PTHREAD_MUTEX_INITIALIZER;

static inline void team_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

static int event_init(team_event *e)
{
    atomic_init(&e->seq, 0);
    atomic_init(&e->sleepers, 0);
    if (pthread_mutex_init(&e->lock, NULL))
        return -1;
    if (pthread_cond_init(&e->cond, NULL)) {
        pthread_mutex_destroy(&e->lock);
        return -1;
    }
    return 0;
}

static void event_destroy(team_event *e)
{
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
}

/* Move the counter on and wake whoever sleeps on it.  A sleeper reads the
 * counter under the lock after announcing itself (sequentially consistent
 * atomics): either it sees the new value or we see it and broadcast under
 * the lock, after it has gone to sleep. */
static void event_signal(team_event *e)
{
    atomic_fetch_add(&e->seq, 1);
    if (atomic_load(&e->sleepers)) {
        pthread_mutex_lock(&e->lock);
        pthread_cond_broadcast(&e->cond);
        pthread_mutex_unlock(&e->lock);
    }
}

static void event_wait(team_event *e, unsigned seen)
{
    /* Already moved (a barrier's last arrival is often close behind): no
     * clock read on that path. */
    if (atomic_load(&e->seq) != seen)
        return;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 1;; i++) {
        if (atomic_load(&e->seq) != seen)
            return;
        team_pause();
        if (!(i % 64) && elapsed_ns(&t0) > FAST_TEAM_SPIN_NS)
            break;
    }
    pthread_mutex_lock(&e->lock);
    atomic_fetch_add(&e->sleepers, 1);
    while (atomic_load(&e->seq) == seen)
        pthread_cond_wait(&e->cond, &e->lock);
    atomic_fetch_sub(&e->sleepers, 1);
    pthread_mutex_unlock(&e->lock);
}

/* Helper h is worker h of the teams it is called into (1-based).  It is
 * woken only for runs whose team includes it, and the run waits for it to
 * finish: it never reads a team that is gone. */
static void *helper_main(void *arg)
{
    helper_slot *me = arg;
    size_t h = (size_t)(me - pool.slot);
    unsigned seen = 0;
    for (;;) {
        event_wait(&me->go, seen++);
        fast_team *t = me->team;
        size_t workers = t->workers;
        t->fn(t->ctx, t, h, workers);
        /* After this addition the run may end and its team go: t is not
         * read again. */
        if (atomic_fetch_add(&pool.finished, 1) + 1 == workers - 1)
            event_signal(&pool.done);
    }
    return NULL;
}

/* The pool of this process, made or grown to want - 1 helpers; returns the
 * helpers there are.  Called with pool.busy held. */
static size_t pool_grow(size_t want)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr))
        return pool.helpers;
    pthread_attr_setstacksize(&attr, TEAM_STACK_BYTES);
    while (pool.helpers + 1 < want) {
        pthread_t tid;
        helper_slot *slot = &pool.slot[pool.helpers + 1];
        if (event_init(&slot->go))
            break;
        if (pthread_create(&tid, &attr, helper_main, slot)) {
            event_destroy(&slot->go);
            break;
        }
        pthread_detach(tid);
        pool.helpers++;
    }
    pthread_attr_destroy(&attr);
    return pool.helpers;
}

/* Take the pool for one run: 0 when it is ours, -1 when busy or unusable. */
static int pool_take(void)
{
    pthread_mutex_lock(&pool_init_lock);
    pid_t me = getpid();
    int rc = 0;
    if (pool.pid != me) {
        /* First use in this process (or a child of fork: the parent's
         * helpers are not here, and its locks may be in any state). */
        memset(&pool, 0, sizeof pool);
        atomic_init(&pool.finished, 0);
        if (pthread_mutex_init(&pool.busy, NULL)) {
            rc = -1;
        } else if (event_init(&pool.done)) {
            pthread_mutex_destroy(&pool.busy);
            rc = -1;
        } else {
            pool.pid = me;
        }
    }
    if (!rc && pthread_mutex_trylock(&pool.busy))
        rc = -1;
    pthread_mutex_unlock(&pool_init_lock);
    return rc;
}

size_t fast_team_run(size_t want, fast_team_fn *fn, void *ctx)
{
    if (want > TEAM_MAX)
        want = TEAM_MAX;
    fast_team t = {.fn = fn, .ctx = ctx, .workers = 1};
    atomic_init(&t.arrived, 0);
    if (want > 1 && !pool_take()) {
        size_t helpers = pool_grow(want);
        t.workers = helpers + 1 < want ? helpers + 1 : want;
        if (t.workers > 1 && event_init(&t.round))
            t.workers = 1;
        if (t.workers == 1)
            pthread_mutex_unlock(&pool.busy);
    }
    if (t.workers == 1) {
        fn(ctx, &t, 0, 1);
        return 1;
    }
    /* A helper reads its slot's team after its go moves (the atomics order
     * it); helpers beyond the team's size are not woken. */
    unsigned done_seen = atomic_load(&pool.done.seq);
    atomic_store(&pool.finished, 0);
    for (size_t h = 1; h < t.workers; h++) {
        pool.slot[h].team = &t;
        event_signal(&pool.slot[h].go);
    }
    fn(ctx, &t, 0, t.workers);
    event_wait(&pool.done, done_seen);
    event_destroy(&t.round);
    pthread_mutex_unlock(&pool.busy);
    return t.workers;
}

void fast_team_barrier(fast_team *team)
{
    if (team->workers <= 1)
        return;
    unsigned r = atomic_load(&team->round.seq);
    if (atomic_fetch_add(&team->arrived, 1) + 1 == team->workers) {
        /* The last to arrive resets the count before it opens the next
         * round: a worker that sees the new round sees the count at 0. */
        atomic_store(&team->arrived, 0);
        event_signal(&team->round);
        return;
    }
    event_wait(&team->round, r);
}

size_t fast_team_size(size_t tasks)
{
    size_t n = 0;
    const char *e = getenv("NODEORACLE_THREADS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (!*end && v >= 1 && v <= TEAM_MAX)
            n = (size_t)v;
    }
    if (!n) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c >= 1 && c <= TEAM_MAX ? (size_t)c : 1;
    }
    if (n > tasks)
        n = tasks;
    return n ? n : 1;
}
