/* ref_split: one ref run split across processes by data points (issue 12,
 * item 4; ref.h: ref_part_of, ref_run_part, ref_part_export/import,
 * ref_rows_export/import, ref_part_finish; proofs-notes/ref-split.md),
 * simulated in this process: each "rank" runs its part into its own result,
 * its exact sums and its rows travel as bytes (exported, the rank's own
 * objects freed, imported elsewhere), the rows are gathered into one result
 * and the parts combined, in reverse rank order (any order must do).  Every
 * array must be ref_run's bit for bit (mpfr_equal_p, the sign of zero, the
 * precision) for 1, 2, 3 and 7 ranks (7 > N = 5: some ranks have no
 * points), on every family, Euler and RK4 with m = 2, the three adjoint
 * kinds, a diagnosis variant and the rounded (float32) emulation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "test_util.h"

#define SPLIT_N 5

/* Every array of b has a's bits: same names, shapes, precisions and values
 * (NaN for NaN, the sign of zero included). */
static void expect_same_bits(const ref_result *a, const ref_result *b, const char *what)
{
    cr_assert_eq(a->count, b->count, "%s: %d arrays, not %d", what, b->count, a->count);
    cr_assert_eq(a->prec, b->prec, "%s: precision", what);
    for (int i = 0; i < a->count; i++) {
        const ref_array *x = &a->a[i], *y = &b->a[i];
        cr_assert_str_eq(x->name, y->name, "%s: array %d", what, i);
        cr_assert_eq(x->n, y->n, "%s: %s size", what, x->name);
        size_t bad = 0;
        for (size_t e = 0; e < x->n; e++) {
            mpfr_srcptr u = x->v[e], v = y->v[e];
            int same = mpfr_get_prec(u) == mpfr_get_prec(v) &&
                       (mpfr_nan_p(u) ? mpfr_nan_p(v)
                                      : mpfr_equal_p(u, v) && mpfr_signbit(u) == mpfr_signbit(v));
            if (!same && bad++ == 0)
                mpfr_fprintf(stderr, "%s: %s[%zu] = %Ra, ref_run %Ra\n", what, x->name, e, v, u);
        }
        cr_expect_eq(bad, 0, "%s: %zu of %zu elements of %s differ from ref_run", what, bad,
                     x->n, x->name);
    }
}

/* The bytes one rank sends: its exact sums and its rows. */
typedef struct {
    char *sums, *rows;
    size_t nsums, nrows;
} message;

/* Rank r of ranks: run its part, export it, free everything but the bytes. */
static message rank_run(const ref_model *m, size_t ranks, size_t r)
{
    char err[256];
    size_t i0, i1;
    ref_part_of(m->spec.N, ranks, r, &i0, &i1);
    ref_result res;
    ref_part part;
    ref_part_init(&part);
    cr_assert_eq(ref_run_part(m, i0, i1, &res, &part, err, sizeof err), 0, "%s", err);
    cr_assert_eq(part.i0, i0);
    cr_assert_eq(part.i1, i1);
    message msg;
    cr_assert_eq(ref_part_export(&part, &msg.sums, &msg.nsums), 0);
    cr_assert_eq(ref_rows_export(&res, i0, i1, &msg.rows, &msg.nrows), 0);
    ref_part_clear(&part);
    ref_result_clear(&res);
    return msg;
}

/* ref_run on m against the same run split over `ranks` simulated ranks. */
static void expect_split_matches(const ref_model *m, size_t ranks, const char *desc)
{
    char err[256], what[320];
    snprintf(what, sizeof what, "%s, %zu ranks", desc, ranks);
    ref_result whole;
    cr_assert_eq(ref_run(m, &whole, err, sizeof err), 0, "%s", err);

    message *msg = calloc(ranks, sizeof *msg);
    ref_part *part = calloc(ranks, sizeof *part);
    ref_part **order = calloc(ranks, sizeof *order);
    cr_assert(msg && part && order);
    for (size_t r = 0; r < ranks; r++)
        msg[r] = rank_run(m, ranks, r);

    /* The gatherer: a result of the layout with no rows yet (an empty part's). */
    ref_result all;
    ref_part none;
    ref_part_init(&none);
    cr_assert_eq(ref_run_part(m, 0, 0, &all, &none, err, sizeof err), 0, "%s", err);
    ref_part_clear(&none);
    for (size_t r = 0; r < ranks; r++) {
        ref_part_init(&part[r]);
        cr_assert_eq(ref_part_import(&part[r], msg[r].sums, msg[r].nsums), 0, "%s: rank %zu",
                     what, r);
        cr_assert_eq(ref_rows_import(&all, msg[r].rows, msg[r].nrows), 0, "%s: rank %zu", what,
                     r);
        order[ranks - 1 - r] = &part[r];
        free(msg[r].sums);
        free(msg[r].rows);
    }
    cr_assert_eq(ref_part_finish(m, order, ranks, &all, err, sizeof err), 0, "%s: %s", what, err);
    expect_same_bits(&whole, &all, what);

    for (size_t r = 0; r < ranks; r++)
        ref_part_clear(&part[r]);
    free(msg);
    free(part);
    free(order);
    ref_result_clear(&all);
    ref_result_clear(&whole);
}

/* The problem of s generated into p and its model m at prec bits (rounded:
 * the rounded emulation). */
static void make_model(const no_spec *s, long prec, int rounded, no_problem *p, ref_model *m)
{
    char err[256];
    cr_assert_eq(no_problem_generate(p, s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rounded ? ref_model_init_rounded(m, p, prec, err, sizeof err)
                         : ref_model_init(m, p, prec, err, sizeof err),
                 0, "%s", err);
}

static const size_t rank_counts[] = {1, 2, 3, 7};
#define NRANKS (sizeof rank_counts / sizeof rank_counts[0])

/* The problem of variant v (test_util.h), N = SPLIT_N, split every way, at
 * prec bits (rounded: the rounded emulation) under a diagnosis variant
 * (NULL: the contract). */
static void expect_problem_splits(no_spec *s, long prec, int rounded, const ref_variant *var)
{
    s->N = SPLIT_N;
    no_problem p;
    ref_model m;
    char err[256], desc[256];
    make_model(s, prec, rounded, &p, &m);
    if (var)
        cr_assert_eq(ref_model_set_variant(&m, var, err, sizeof err), 0, "%s", err);
    no_spec_describe(s, desc, sizeof desc);
    for (size_t i = 0; i < NRANKS; i++)
        expect_split_matches(&m, rank_counts[i], desc);
    ref_model_clear(&m);
    no_problem_free(&p);
}

Test(ref_split, part_of_tiles_the_points)
{
    const size_t Ns[] = {1, 5, 12, 1000};
    for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++)
        for (size_t ranks = 1; ranks <= 9; ranks++) {
            size_t next = 0, N = Ns[a], small = N / ranks;
            for (size_t r = 0; r < ranks; r++) {
                size_t i0, i1;
                ref_part_of(N, ranks, r, &i0, &i1);
                cr_expect_eq(i0, next, "N %zu, %zu ranks: rank %zu starts at %zu", N, ranks, r, i0);
                cr_expect(i1 - i0 == small || i1 - i0 == small + 1, "N %zu, %zu ranks: rank %zu "
                          "has %zu points", N, ranks, r, i1 - i0);
                next = i1;
            }
            cr_expect_eq(next, N, "N %zu, %zu ranks: %zu points covered", N, ranks, next);
        }
}

/* linear, rff (Gaussian), mlp (tanh) x Euler, RK4 (m = 2) x the three
 * adjoint kinds, at 128 bits. */
Test(ref_split, every_family_scheme_adjoint, .timeout = NO_TEST_TIMEOUT_S)
{
    const int fam[3] = {0, 1, 3};
    const no_scheme_id sch[2] = {NO_SCHEME_EULER, NO_SCHEME_RK4};
    for (int f = 0; f < 3; f++)
        for (int k = 0; k < 2; k++)
            for (int adj = 0; adj < NO_ADJOINT_COUNT; adj++) {
                no_spec s;
                no_test_spec(&s, fam[f], sch[k], 2, 900 + (uint64_t)(6 * f + 3 * k + adj));
                s.adjoint = (no_adjoint)adj;
                expect_problem_splits(&s, 128, 0, NULL);
            }
}

/* Diagnosis variants go through ref_run's one code path: the loss's
 * denominator and the flipped residual on an mlp, a scaled field on rff. */
Test(ref_split, diagnosis_variants)
{
    ref_variant v;
    memset(&v, 0, sizeof v);
    v.loss_mean_all = 1;
    v.residual_flip = 1;
    no_spec s;
    no_test_spec(&s, 4, NO_SCHEME_RK4, 2, 931);
    expect_problem_splits(&s, 128, 0, &v);
    memset(&v, 0, sizeof v);
    v.loss_sum = 1;
    v.field_scale = 0.75;
    no_test_spec(&s, 2, NO_SCHEME_EULER, 2, 932);
    s.adjoint = NO_ADJOINT_CONTINUOUS;
    expect_problem_splits(&s, 128, 0, &v);
}

/* The float32 emulation: 24-bit sums, where rounding each part's sum
 * before adding would show (the negative control below). */
Test(ref_split, rounded_emulation)
{
    no_spec s;
    no_test_spec(&s, 3, NO_SCHEME_EULER, 2, 940);
    expect_problem_splits(&s, 24, 1, NULL);
}

/* The exact sums matter: adding the parts' sums each rounded to the
 * model's precision (what a naive split would send) is not ref_run on this
 * problem, while the exact ones are (above).  Guards the test's power. */
Test(ref_split, rounded_partial_sums_would_differ)
{
    no_spec s;
    no_test_spec(&s, 3, NO_SCHEME_EULER, 2, 940);
    s.N = 64;
    no_problem p;
    ref_model m;
    char err[256];
    make_model(&s, 24, 1, &p, &m);
    ref_result whole, res[3];
    ref_part part[3];
    cr_assert_eq(ref_run(&m, &whole, err, sizeof err), 0, "%s", err);
    for (int r = 0; r < 3; r++) {
        size_t i0, i1;
        ref_part_of(s.N, 3, (size_t)r, &i0, &i1);
        ref_part_init(&part[r]);
        cr_assert_eq(ref_run_part(&m, i0, i1, &res[r], &part[r], err, sizeof err), 0, "%s", err);
        cr_assert(part[r].ngrad > 0);
    }
    /* Every gradient entry, the parts' sums rounded to 24 bits and added
     * exactly then rounded; count the entries that differ from ref_run. */
    const ref_array *g = ref_result_get(&whole, "grad_a");
    cr_assert(g);
    size_t differ = 0;
    mpfr_t t[3], sum;
    for (int r = 0; r < 3; r++)
        mpfr_init2(t[r], 24);
    mpfr_init2(sum, 24);
    for (size_t e = 0; e < g->n; e++) {
        mpfr_ptr ptr[3];
        for (int r = 0; r < 3; r++) {
            mpfr_set(t[r], part[r].grad[e], MPFR_RNDN);
            ptr[r] = t[r];
        }
        mpfr_sum(sum, ptr, 3, MPFR_RNDN);
        differ += !mpfr_equal_p(sum, g->v[e]);
    }
    cr_expect_gt(differ, 0, "rounding the partial sums changed none of %zu entries", g->n);
    cr_log_info("rounded partial sums: %zu of %zu grad_a entries differ", differ, g->n);
    for (int r = 0; r < 3; r++) {
        mpfr_clear(t[r]);
        ref_part_clear(&part[r]);
        ref_result_clear(&res[r]);
    }
    mpfr_clear(sum);
    ref_result_clear(&whole);
    ref_model_clear(&m);
    no_problem_free(&p);
}

/* Numbers through the bytes: every bit at any precision, zeros' signs,
 * infinities, NaN, extreme exponents. */
Test(ref_split, export_import_exact)
{
    ref_part a, b;
    ref_part_init(&a);
    ref_part_init(&b);
    a.i0 = 3;
    a.i1 = 9;
    a.ngrad = 8;
    a.grad = malloc(a.ngrad * sizeof(mpfr_t));
    cr_assert(a.grad);
    mpfr_prec_t precs[8] = {2000, 53, 1, 64, 64, 64, 64, 300};
    for (size_t e = 0; e < a.ngrad; e++)
        mpfr_init2(a.grad[e], precs[e]);
    mpfr_const_pi(a.grad[0], MPFR_RNDN);
    mpfr_neg(a.grad[0], a.grad[0], MPFR_RNDN);
    mpfr_set_d(a.grad[1], -0x1.fffffffffffffp-1022, MPFR_RNDN);
    mpfr_set_zero(a.grad[2], -1);
    mpfr_set_zero(a.grad[3], 1);
    mpfr_set_inf(a.grad[4], -1);
    mpfr_set_inf(a.grad[5], 1);
    mpfr_set_nan(a.grad[6]);
    mpfr_set_ui_2exp(a.grad[7], 3, -100000, MPFR_RNDN);
    mpfr_set_prec(a.loss_sum, 129);
    mpfr_set_ui_2exp(a.loss_sum, 1, 128, MPFR_RNDN);
    mpfr_add_ui(a.loss_sum, a.loss_sum, 1, MPFR_RNDN); /* 2^128 + 1: 129 bits */
    char *buf;
    size_t len;
    cr_assert_eq(ref_part_export(&a, &buf, &len), 0);
    cr_assert_eq(ref_part_import(&b, buf, len), 0, "%.*s", (int)len, buf);
    cr_expect_eq(b.i0, 3);
    cr_expect_eq(b.i1, 9);
    cr_assert_eq(b.ngrad, a.ngrad);
    cr_expect(mpfr_equal_p(a.loss_sum, b.loss_sum));
    for (size_t e = 0; e < a.ngrad; e++) {
        if (mpfr_nan_p(a.grad[e])) {
            cr_expect(mpfr_nan_p(b.grad[e]), "entry %zu", e);
            continue;
        }
        cr_expect(mpfr_equal_p(a.grad[e], b.grad[e]) &&
                      mpfr_signbit(a.grad[e]) == mpfr_signbit(b.grad[e]),
                  "entry %zu", e);
    }
    /* Importing again replaces the previous sums (no leak: ASan). */
    cr_assert_eq(ref_part_import(&b, buf, len), 0);

    /* Malformed bytes are refused and leave the part as it was. */
    const char *bad[] = {"", "nodeoracle-ref-part 2\n0 1 0\n0x1p+0\n",
                         "nodeoracle-ref-part 1\n0 1 1\n0x1p+0\n",            /* one short */
                         "nodeoracle-ref-part 1\n0 1 0\n0x1p+0\n0x1p+0\n",    /* one over */
                         "nodeoracle-ref-part 1\n2 1 0\n0x1p+0\n",            /* i0 > i1 */
                         "nodeoracle-ref-part 1\n0 1 0\n1.5\n",               /* not hex */
                         "nodeoracle-ref-part 1\n0 1 0\n0x1.8\n",             /* no exponent */
                         "nodeoracle-ref-part 1\n0 1 0\n0x1.g8p+1\n",         /* bad digit */
                         "nodeoracle-ref-part 1\n0 1 0\n0x1p+99999999999999\n", /* overflow */
                         "nodeoracle-ref-part 1\n0 1 99999999999\n0x1p+0\n"}; /* huge count */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(ref_part_import(&b, bad[i], strlen(bad[i])), -1, "accepted: %s", bad[i]);
    char nul[] = "nodeoracle-ref-part 1\n0 1 0\n0x1p+0\n";
    nul[30] = '\0';
    cr_expect_eq(ref_part_import(&b, nul, sizeof nul - 1), -1, "accepted a NUL");
    cr_expect_eq(b.ngrad, a.ngrad);
    cr_expect(mpfr_equal_p(a.loss_sum, b.loss_sum));
    free(buf);
    ref_part_clear(&a);
    ref_part_clear(&b);
}

/* ref_part_finish: the sum of the parts is exact, rounded once (whatever
 * the order), the sign of an exact zero is mpfr_sum's over all points
 * (empty parts do not count), and parts that do not tile the points are
 * refused. */
Test(ref_split, finish_sums_exactly_and_checks_the_tiling)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 950);
    s.N = 3;
    no_problem p;
    ref_model m;
    char err[256];
    make_model(&s, 64, 0, &p, &m);
    ref_result res[4];
    ref_part part[4];
    size_t range[4][2] = {{0, 1}, {1, 1}, {1, 2}, {2, 3}};
    for (int r = 0; r < 4; r++) {
        ref_part_init(&part[r]);
        cr_assert_eq(ref_run_part(&m, range[r][0], range[r][1], &res[r], &part[r], err,
                                  sizeof err),
                     0, "%s", err);
    }
    /* Loss sums 2^200, 1, -2^200 (the empty part's: any value, skipped): a
     * left fold in the order below at 64 bits gives 0; the exact sum is 1,
     * F = 1/(2N) = 1/6. */
    mpfr_set_prec(part[0].loss_sum, 1);
    mpfr_set_ui_2exp(part[0].loss_sum, 1, 200, MPFR_RNDN);
    mpfr_set_prec(part[2].loss_sum, 1);
    mpfr_set_ui(part[2].loss_sum, 1, MPFR_RNDN);
    mpfr_set_prec(part[3].loss_sum, 1);
    mpfr_set_si_2exp(part[3].loss_sum, -1, 200, MPFR_RNDN);
    mpfr_set_ui(part[1].loss_sum, 1, MPFR_RNDN);
    /* grad entry 0: -0 in every nonempty part (+0 in the empty one): -0;
     * entry 1: -0, +0, -0: +0. */
    for (int r = 0; r < 4; r++) {
        mpfr_set_zero(part[r].grad[0], r == 1 ? 1 : -1);
        mpfr_set_zero(part[r].grad[1], r == 2 ? 1 : -1);
    }
    /* And a part that never ran (a rank with no points: nodeoracle-mpi
     * does not call ref_run_part for it), with no gradient at all. */
    ref_part idle;
    ref_part_init(&idle);
    ref_part *order[5] = {&part[0], &part[2], &idle, &part[1], &part[3]};
    ref_result *all = &res[0];
    cr_assert_eq(ref_part_finish(&m, order, 5, all, err, sizeof err), 0, "%s", err);
    ref_part_clear(&idle);
    const ref_array *loss = ref_result_get(all, "loss"), *g = ref_result_get(all, "grad_W");
    mpfr_t sixth;
    mpfr_init2(sixth, 64);
    mpfr_set_ui(sixth, 1, MPFR_RNDN);
    mpfr_div_ui(sixth, sixth, 6, MPFR_RNDN);
    cr_expect(mpfr_equal_p(loss->v[0], sixth), "loss is not 1/6");
    mpfr_clear(sixth);
    cr_expect(mpfr_zero_p(g->v[0]) && mpfr_signbit(g->v[0]), "all -0 did not give -0");
    cr_expect(mpfr_zero_p(g->v[1]) && !mpfr_signbit(g->v[1]), "-0 and +0 did not give +0");

    /* Not a tiling: a gap, an overlap, a missing part, another size. */
    ref_part *gap[2] = {&part[0], &part[3]}, *twice[4] = {&part[0], &part[2], &part[2], &part[3]};
    order[2] = &part[1], order[3] = &part[3];
    cr_expect_eq(ref_part_finish(&m, gap, 2, all, err, sizeof err), -1);
    cr_expect_eq(ref_part_finish(&m, twice, 4, all, err, sizeof err), -1);
    cr_expect_eq(ref_part_finish(&m, order, 3, all, err, sizeof err), -1);
    part[2].ngrad--;
    cr_expect_eq(ref_part_finish(&m, order, 4, all, err, sizeof err), -1);
    part[2].ngrad++;
    /* A range outside the problem, for ref_run_part. */
    ref_result out;
    cr_expect_eq(ref_run_part(&m, 2, 4, &out, &part[1], err, sizeof err), -1);
    cr_expect_eq(ref_run_part(&m, 2, 1, &out, &part[1], err, sizeof err), -1);
    /* Rows of another layout are refused. */
    char *buf;
    size_t len;
    cr_expect_eq(ref_rows_export(&res[2], 2, 4, &buf, &len), -1);
    cr_assert_eq(ref_rows_export(&res[2], 1, 2, &buf, &len), 0);
    ref_result other;
    ref_part op;
    ref_part_init(&op);
    s.N = 4;
    no_problem p4;
    ref_model m4;
    make_model(&s, 64, 0, &p4, &m4);
    cr_assert_eq(ref_run_part(&m4, 0, 0, &other, &op, err, sizeof err), 0, "%s", err);
    cr_expect_eq(ref_rows_import(&other, buf, len), -1, "rows of N = 3 went into N = 4");
    cr_expect_eq(ref_rows_import(&res[0], buf, len / 2), -1, "truncated rows accepted");
    cr_expect_eq(ref_rows_import(&res[0], buf, len), 0);
    free(buf);
    ref_part_clear(&op);
    ref_result_clear(&other);
    ref_model_clear(&m4);
    no_problem_free(&p4);
    for (int r = 0; r < 4; r++) {
        ref_part_clear(&part[r]);
        ref_result_clear(&res[r]);
    }
    ref_model_clear(&m);
    no_problem_free(&p);
}
