/* fast_blocks: fast/ runs its data points in blocks (fast/fast_ws.h) and sums
 * the blocks' losses and gradients in one fixed tree, so that the number of
 * threads (and of processes, issue 12) cannot change a bit of the result.
 *
 * The sizes make the blocks visible: N = 300 is three blocks of 128, 128 and
 * 44 points (the last one short, the tree's mid not at half), and N = 5000
 * is 32 blocks of 157 and a last one of 133 (the cap on the block count).
 * Every family, the Euler and RK4 schemes with m = 1 and m = 2 (states in
 * the outputs or in the workspace) and all three adjoint kinds.  rff with
 * q = 300 runs its features in two column panels, and with D = 32 in blocks
 * of 256 points (rff_panels_pass_against_ref, big_rff_blocks). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fast.h"
#include "fast_team.h"
#include "fast_ws.h"
#include "test_util.h"

/* One fast run with the given number of threads (NODEORACLE_THREADS is read
 * when the workspace is made). */
static void run_threads(const no_problem *p, const char *threads, no_arrays *out)
{
    char err[256];
    cr_assert_eq(setenv("NODEORACLE_THREADS", threads, 1), 0);
    memset(out, 0, sizeof *out);
    cr_assert_eq(fast_run(p, out, err, sizeof err), 0, "%s", err);
}

static void expect_same_bits(const no_arrays *a, const no_arrays *b, const char *what)
{
    cr_assert_eq(a->count, b->count);
    for (int i = 0; i < a->count; i++) {
        cr_assert_eq(a->a[i].n, b->a[i].n);
        cr_expect(!memcmp(a->a[i].v, b->a[i].v, a->a[i].n * sizeof(double)),
                  "%s: array %s differs between thread counts", what, a->a[i].name);
    }
}

/* Generate the problem of s and expect the same bits from fast on 1, 2 and
 * 3 threads. */
static void expect_threads_agree(const no_spec *s)
{
    no_problem p;
    char err[256], desc[256];
    cr_assert_eq(no_problem_generate(&p, s, err, sizeof err), 0, "%s", err);
    no_spec_describe(s, desc, sizeof desc);
    no_arrays one, two, three;
    run_threads(&p, "1", &one);
    run_threads(&p, "2", &two);
    run_threads(&p, "3", &three);
    expect_same_bits(&one, &two, desc);
    expect_same_bits(&one, &three, desc);
    no_arrays_free(&one);
    no_arrays_free(&two);
    no_arrays_free(&three);
    no_problem_free(&p);
    unsetenv("NODEORACLE_THREADS");
}

Test(fast_blocks, thread_count_changes_no_bit, .timeout = NO_TEST_TIMEOUT_S)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        for (int sc = 0; sc < 2; sc++)
            for (int adj = 0; adj < NO_ADJOINT_COUNT; adj++) {
                no_spec s;
                no_test_spec(&s, v, sc ? NO_SCHEME_RK4 : NO_SCHEME_EULER, 1 + (size_t)sc,
                             300 + (uint64_t)v);
                s.N = 300;
                s.adjoint = (no_adjoint)adj;
                cr_assert_eq(fast_ws_block_size(&s), 128);
                expect_threads_agree(&s);
            }
}

/* At the block-count cap: 33 blocks' partial sums in the tree, 2 and 5
 * threads (5 does not divide 33). */
Test(fast_blocks, many_blocks, .timeout = NO_TEST_TIMEOUT_S)
{
    no_spec s;
    no_test_spec(&s, 1, NO_SCHEME_EULER, 1, 333);
    s.N = 5000;
    size_t B = fast_ws_block_size(&s);
    cr_assert_eq(B, 157, "block size %zu", B);
    cr_assert_eq((s.N + B - 1) / B, FAST_MAX_BLOCKS);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    no_arrays one, two, five;
    run_threads(&p, "1", &one);
    run_threads(&p, "2", &two);
    run_threads(&p, "5", &five);
    expect_same_bits(&one, &two, "N = 5000");
    expect_same_bits(&one, &five, "N = 5000");
    no_arrays_free(&one);
    no_arrays_free(&two);
    no_arrays_free(&five);
    no_problem_free(&p);
    unsetenv("NODEORACLE_THREADS");
}

/* The tree is the documented one: S(lo, hi) = S(lo, mid) + S(mid, hi), mid - lo
 * the largest power of two below hi - lo.  Values where the order of the
 * additions decides the result (1 is lost next to 2^53 unless it meets
 * another 1 first) tell the tree from a left fold and from other splits. */
Test(fast_blocks, tree_order)
{
    const double big = 9007199254740992.0; /* 2^53 */
    /* 3 rows: (x0 + x1) + x2. */
    double a[3] = {1, 1, big};
    fast_ws_tree_sum(a, 1, 0, 3, 0, 1);
    cr_expect_eq(a[0], big + 2, "(1 + 1) + 2^53 = 2^53 + 2, got %.17g", a[0]);
    double b[3] = {big, 1, 1};
    fast_ws_tree_sum(b, 1, 0, 3, 0, 1);
    cr_expect_eq(b[0], big, "(2^53 + 1) + 1 = 2^53 (ties to even twice), got %.17g", b[0]);
    /* 5 rows: ((x0 + x1) + (x2 + x3)) + x4; a left fold would give 2^53. */
    double c[5] = {big, 0, 1, 1, 0};
    fast_ws_tree_sum(c, 1, 0, 5, 0, 1);
    cr_expect_eq(c[0], big + 2, "got %.17g", c[0]);
    /* 6 rows: (x0..x3) + (x4 + x5): the right subtree adds its two 1s first. */
    double d[6] = {big, 0, 0, 0, 1, 1};
    fast_ws_tree_sum(d, 1, 0, 6, 0, 1);
    cr_expect_eq(d[0], big + 2, "got %.17g", d[0]);
    /* Columns: only j0..j1-1 are touched; a stride wider than the columns. */
    double e[2 * 3] = {1, 10, 100, 2, 20, 200};
    fast_ws_tree_sum(e, 3, 0, 2, 1, 3);
    cr_expect(e[0] == 1 && e[1] == 30 && e[2] == 300, "%g %g %g", e[0], e[1], e[2]);
}

/* Several blocks against the reference: every family x scheme x adjoint with
 * N = 300 (three blocks) passes the tolerance model, as one block did. */
Test(fast_blocks, several_blocks_pass_against_ref, .timeout = NO_TEST_TIMEOUT_S)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++)
        for (int adj = 0; adj < NO_ADJOINT_COUNT; adj++) {
            no_spec s;
            no_test_spec(&s, v, v % 2 ? NO_SCHEME_RK4 : NO_SCHEME_EULER, 2, 310 + (uint64_t)v);
            s.N = 300;
            s.adjoint = (no_adjoint)adj;
            no_test_expect_ref_fast_pass(&s);
        }
}

/* The split across processes (fast_part_of, fast_run_part,
 * fast_part_combine), simulated in this process: each "rank" runs its part
 * into its own outputs, the rows are gathered and the sums combined; the
 * result must be fast_run_ws's, bit for bit, for 1..5, 7 and 40 ranks (more
 * ranks than the 32 blocks: some have nothing to do). */
static void expect_split_matches(const no_problem *p, size_t ranks)
{
    const no_spec *s = &p->spec;
    char err[256];
    no_arrays whole = {0};
    cr_assert_eq(fast_run(p, &whole, err, sizeof err), 0, "%s", err);
    size_t nb = fast_block_count(s);
    no_arrays *part = calloc(ranks, sizeof *part);
    double *sumsq = calloc(ranks, sizeof *sumsq);
    cr_assert(part && sumsq);
    fast_ws *ws = fast_ws_alloc(s);
    cr_assert(ws);
    size_t covered = 0;
    for (size_t r = 0; r < ranks; r++) {
        size_t b0, b1;
        fast_part_of(nb, ranks, r, &b0, &b1);
        cr_assert_eq(no_outputs_init(&part[r], s), 0);
        if (b0 == b1)
            continue;
        cr_assert_eq(b0, covered, "rank %zu starts at block %zu, not %zu", r, b0, covered);
        covered = b1;
        cr_assert_eq(fast_run_part(ws, p, &part[r], b0, b1, &sumsq[r], err, sizeof err), 0,
                     "%s", err);
    }
    cr_assert_eq(covered, nb, "the parts cover %zu of %zu blocks", covered, nb);
    /* Gather: rows of states, output and adjoint from their owners. */
    no_arrays all = {0};
    cr_assert_eq(no_outputs_init(&all, s), 0);
    const char *rows[] = {"states", "output", "adjoint"};
    for (size_t r = 0; r < ranks; r++) {
        size_t b0, b1;
        fast_part_of(nb, ranks, r, &b0, &b1);
        size_t i0, i1;
        fast_part_points(s, b0, b1, &i0, &i1);
        for (int a = 0; a < 3; a++) {
            no_array *dst = no_arrays_find(&all, rows[a]), *src = no_arrays_find(&part[r], rows[a]);
            size_t layers = a == 1 ? 1 : s->L + 1, w = dst->n / layers / s->N;
            for (size_t k = 0; k < layers && i1 > i0; k++)
                memcpy(dst->v + (k * s->N + i0) * w, src->v + (k * s->N + i0) * w,
                       (i1 - i0) * w * sizeof(double));
        }
    }
    /* Combine every gradient and the sum of squares in the tree's order. */
    double **x = calloc(ranks, sizeof *x);
    cr_assert(x);
    for (int i = 0; i < all.count; i++) {
        if (strncmp(all.a[i].name, "grad_", 5))
            continue;
        for (size_t r = 0; r < ranks; r++)
            x[r] = no_arrays_find(&part[r], all.a[i].name)->v;
        fast_part_combine(nb, ranks, x, all.a[i].n);
        memcpy(all.a[i].v, x[0], all.a[i].n * sizeof(double));
    }
    for (size_t r = 0; r < ranks; r++)
        x[r] = &sumsq[r];
    fast_part_combine(nb, ranks, x, 1);
    fast_run_finish(s, &all, sumsq[0]);
    char what[64];
    snprintf(what, sizeof what, "%zu ranks", ranks);
    expect_same_bits(&whole, &all, what);
    for (size_t r = 0; r < ranks; r++)
        no_arrays_free(&part[r]);
    free(part);
    free(sumsq);
    free(x);
    no_arrays_free(&all);
    no_arrays_free(&whole);
    fast_ws_free(ws);
}

Test(fast_blocks, split_across_processes, .timeout = NO_TEST_TIMEOUT_S)
{
    no_spec s;
    no_test_spec(&s, 4, NO_SCHEME_RK4, 2, 444);
    s.N = 5000;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    const size_t ranks[] = {1, 2, 3, 4, 5, 7, 40};
    for (size_t i = 0; i < sizeof ranks / sizeof ranks[0]; i++)
        expect_split_matches(&p, ranks[i]);
    no_problem_free(&p);
}

/* Memory (issue 12: peak <= 2.5 x the states a run must keep).  What a run
 * must keep is its `states` and `adjoint` outputs, (L + 1) N D doubles each;
 * fast_memory_estimate counts every buffer fast allocates (workspace and
 * all outputs: gradients and metric gradients too).  On the benchmark's
 * three sizes with m = 1 and m = 4 (checkpointing keeps only the layer
 * states) and every adjoint kind, with 2 threads' workers. */
Test(fast_blocks, memory_within_2_5_states)
{
    static const size_t sz[3][5] = {
        {2, 4, 32, 16, 64}, {2, 8, 256, 64, 1024}, {16, 64, 1024, 32, 4096}};
    cr_assert_eq(setenv("NODEORACLE_THREADS", "2", 1), 0);
    for (int i = 0; i < 3; i++)
        for (size_t m = 1; m <= 4; m += 3)
            for (int adj = 0; adj < NO_ADJOINT_COUNT; adj++) {
                no_spec s;
                no_spec_default(&s);
                s.family = NO_FAMILY_RFF;
                s.d_in = s.d_out = sz[i][0];
                s.D = sz[i][1], s.q = sz[i][2], s.L = sz[i][3], s.N = sz[i][4];
                s.m = m;
                s.adjoint = (no_adjoint)adj;
                double kept = 2.0 * (double)(s.L + 1) * (double)s.N * (double)s.D * sizeof(double);
                double peak = fast_memory_estimate(&s);
                cr_expect(peak <= 2.5 * kept, "sizes %d, m = %zu, adjoint %d: %.3g bytes = %.2f x %.3g",
                          i, m, adj, peak, peak / kept, kept);
            }
    unsetenv("NODEORACLE_THREADS");
}

/* The block rule (fast_ws_block_size): 128 points, or N / 2 (at least 32)
 * below 256 points, so that a small run still has two blocks for two
 * cores, and never more than FAST_MAX_BLOCKS blocks.  rff whose panel
 * products are big (D min(q, FAST_RFF_PANEL) >= 8192) takes 256 points,
 * or N / 2 below 512; the boundary on both sides, and a q below the panel. */
Test(fast_blocks, block_rule)
{
    static const size_t cases[][2] = {{1, 1},     {20, 20},   {32, 32},   {40, 32},
                                      {64, 32},   {65, 33},   {200, 100}, {255, 128},
                                      {256, 128}, {300, 128}, {4096, 128}, {5000, 157}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        no_spec s;
        no_spec_default(&s);
        s.N = cases[i][0];
        cr_expect_eq(fast_ws_block_size(&s), cases[i][1], "N = %zu: block of %zu, not %zu",
                     s.N, fast_ws_block_size(&s), cases[i][1]);
    }
    /* {D, q, N, block} */
    static const size_t rff[][4] = {{64, 1024, 4096, 256}, {64, 1024, 300, 150},
                                    {64, 1024, 600, 256},  {64, 1024, 10000, 313},
                                    {32, 256, 4096, 256},  {31, 256, 4096, 128},
                                    {32, 300, 600, 256},   {64, 100, 4096, 128},
                                    {8, 256, 1024, 128}};
    for (size_t i = 0; i < sizeof rff / sizeof rff[0]; i++) {
        no_spec s;
        no_spec_default(&s);
        s.family = NO_FAMILY_RFF;
        s.D = rff[i][0], s.q = rff[i][1], s.N = rff[i][2];
        cr_expect_eq(fast_ws_block_size(&s), rff[i][3], "rff D = %zu, q = %zu, N = %zu: block "
                     "of %zu, not %zu", s.D, s.q, s.N, fast_ws_block_size(&s), rff[i][3]);
        /* mlp of the same sizes keeps the 128-point rule. */
        s.family = NO_FAMILY_MLP;
        s.M = s.q;
        cr_expect_leq(fast_ws_block_size(&s), s.N > 4096 ? 313 : 128);
    }
}

/* The rff field's column panels (fast_field_rff.c, FAST_RFF_PANEL = 256):
 * q = 300 is a full panel and a short one of 44 columns, so every panel
 * offset (into Omega, beta, W_k and the gradient's columns) and the panels'
 * sums into V and Dv^T w are read; a dropped or misplaced panel moves the
 * results by about 44/300 of their size, far outside the tolerance.  Both
 * kernels, Euler and RK4, every adjoint kind, against ref. */
Test(fast_blocks, rff_panels_pass_against_ref, .timeout = NO_TEST_TIMEOUT_S)
{
    for (int v = 1; v <= 2; v++)
        for (int adj = 0; adj < NO_ADJOINT_COUNT; adj++) {
            no_spec s;
            no_test_spec(&s, v, v == 1 ? NO_SCHEME_EULER : NO_SCHEME_RK4, 1,
                         3000 + (uint64_t)(v * 10 + adj));
            s.q = 300;
            s.N = 40;
            s.adjoint = (no_adjoint)adj;
            no_test_expect_ref_fast_pass(&s);
        }
}

/* Big rff panels (D = 32, q = 300: 32 x 256 = 8192) take blocks of 256
 * points: N = 520 is two of 256 and one of 8, in panels of 256 and 44
 * columns.  The same bits on 1, 2 and 3 threads for every adjoint kind,
 * and Euler with the discrete adjoint against ref.  ell = 16 keeps the
 * growth of the tolerance model small (Lambda ~ 2: tolerances 1e-12 to
 * 3e-11); with ell = 1 it is exp(34) and the problem cannot be judged. */
Test(fast_blocks, big_rff_blocks, .timeout = NO_TEST_TIMEOUT_S)
{
    for (int adj = 0; adj < NO_ADJOINT_COUNT; adj++) {
        no_spec s;
        no_test_spec(&s, 1, NO_SCHEME_EULER, 1, 6000 + (uint64_t)adj);
        s.D = 32, s.q = 300, s.N = 520, s.L = 1, s.ell = 16;
        s.adjoint = (no_adjoint)adj;
        cr_assert_eq(fast_ws_block_size(&s), 256);
        expect_threads_agree(&s);
        if (adj == NO_ADJOINT_DISCRETE)
            no_test_expect_ref_fast_pass(&s);
    }
}

/* A small run (N = 64: two blocks of 32) gives the same bits on 1, 2 and 3
 * threads, and passes against ref, for every family. */
Test(fast_blocks, small_run_in_two_blocks, .timeout = NO_TEST_TIMEOUT_S)
{
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        no_spec s;
        no_test_spec(&s, v, NO_SCHEME_EULER, 1, 640 + (uint64_t)v);
        s.N = 64;
        cr_assert_eq(fast_block_count(&s), 2);
        expect_threads_agree(&s);
        no_test_expect_ref_fast_pass(&s);
    }
}

/* The team (fast/fast_team.c): its helpers outlive a run and its barrier
 * polls before it sleeps.  Every member adds 1 to a counter before each
 * barrier and reads it after: it must read workers x rounds exactly (a
 * barrier that let a member through early, or a round counted twice, shows
 * as another count).  Teams of 2, 4, 3, 2 and 1 in turn reuse and grow the
 * pool; a team in a child of fork() must still form (the child has none
 * of the parent's helpers) and finish. */
typedef struct {
    _Atomic size_t count;
    size_t rounds;
    _Atomic int wrong;
} team_probe;

static void team_probe_member(void *ctx, fast_team *team, size_t w, size_t nw)
{
    team_probe *t = ctx;
    (void)w;
    for (size_t r = 0; r < t->rounds; r++) {
        t->count++;
        fast_team_barrier(team);
        if (t->count != nw * (r + 1))
            t->wrong = 1;
        /* Nobody adds for round r + 1 before everyone has read round r. */
        fast_team_barrier(team);
    }
}

static void team_probe_run(size_t want, size_t rounds)
{
    team_probe t = {0, rounds, 0};
    size_t got = fast_team_run(want, team_probe_member, &t);
    cr_assert(got >= 1 && got <= want, "asked for %zu workers, got %zu", want, got);
    cr_expect_eq(t.wrong, 0, "a member of a team of %zu passed a barrier early", got);
    cr_expect_eq(t.count, got * rounds, "team of %zu: %zu additions, not %zu", got,
                 (size_t)t.count, got * rounds);
}

Test(fast_blocks, team_barrier_and_pool, .timeout = NO_TEST_TIMEOUT_S)
{
    static const size_t sizes[] = {2, 4, 3, 2, 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        team_probe_run(sizes[i], 2000);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        team_probe t = {0, 500, 0};
        size_t got = fast_team_run(3, team_probe_member, &t);
        _exit(t.wrong || t.count != got * 500 || got < 1 ? 1 : 0);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a team in a child of fork() failed");
}
