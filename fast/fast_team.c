/* fast_team.c - see fast_team.h. */
#include "fast_team.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* Workers beyond this are not asked for (a sanity bound on the environment). */
#define TEAM_MAX 256
/* Our loops need little stack; BLAS kernels keep small buffers on it. */
#define TEAM_STACK_BYTES ((size_t)4 << 20)

struct fast_team {
    fast_team_fn *fn;
    void *ctx;
    size_t workers;        /* fixed before anyone starts working */
    int go;                /* set once workers is final */
    pthread_mutex_t lock;
    pthread_cond_t start;
    pthread_barrier_t barrier;
};

typedef struct {
    fast_team *team;
    size_t worker;
} member;

static void *member_main(void *arg)
{
    member *m = arg;
    fast_team *t = m->team;
    pthread_mutex_lock(&t->lock);
    while (!t->go)
        pthread_cond_wait(&t->start, &t->lock);
    pthread_mutex_unlock(&t->lock);
    /* A team that could not be formed (no barrier) runs its caller alone. */
    if (m->worker < t->workers)
        t->fn(t->ctx, t, m->worker, t->workers);
    return NULL;
}

size_t fast_team_run(size_t want, fast_team_fn *fn, void *ctx)
{
    if (want > TEAM_MAX)
        want = TEAM_MAX;
    fast_team t = {.fn = fn, .ctx = ctx, .workers = 1, .go = 0};
    pthread_t tid[TEAM_MAX];
    member mem[TEAM_MAX];
    size_t made = 0;
    int have_attr = 0, have_lock = 0, have_cond = 0, have_barrier = 0;
    pthread_attr_t attr;
    if (want > 1) {
        have_attr = !pthread_attr_init(&attr);
        have_lock = have_attr && !pthread_mutex_init(&t.lock, NULL);
        have_cond = have_lock && !pthread_cond_init(&t.start, NULL);
    }
    if (have_cond) {
        pthread_attr_setstacksize(&attr, TEAM_STACK_BYTES);
        /* Members are made first and held at the start line, so that the
         * team's size is known before any of them works: a creation that
         * fails makes the team smaller, never leaves a block undone. */
        for (size_t w = 1; w < want; w++) {
            mem[w - 1] = (member){&t, w};
            if (pthread_create(&tid[w - 1], &attr, member_main, &mem[w - 1]))
                break;
            made++;
        }
        have_barrier = made && !pthread_barrier_init(&t.barrier, NULL, (unsigned)(made + 1));
        pthread_mutex_lock(&t.lock);
        t.workers = have_barrier ? made + 1 : 1;
        t.go = 1;
        pthread_cond_broadcast(&t.start);
        pthread_mutex_unlock(&t.lock);
    }
    fn(ctx, &t, 0, t.workers);
    for (size_t w = 0; w < made; w++)
        pthread_join(tid[w], NULL);
    if (have_barrier)
        pthread_barrier_destroy(&t.barrier);
    if (have_cond)
        pthread_cond_destroy(&t.start);
    if (have_lock)
        pthread_mutex_destroy(&t.lock);
    if (have_attr)
        pthread_attr_destroy(&attr);
    return t.workers;
}

void fast_team_barrier(fast_team *team)
{
    if (team->workers > 1)
        pthread_barrier_wait(&team->barrier);
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
