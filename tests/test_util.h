/* test_util.h - what the Criterion tests share: the variants of a problem
 * every test loops over, the reference's outputs as doubles, and the
 * Arb-style iteration multiplier. */
#ifndef NO_TEST_UTIL_H
#define NO_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>

#include "compare.h"
#include "problem.h"
#include "ref.h"

/* The .timeout of every test that sets one (seconds: ample for the
 * convergence fits under ASan and for `nodeoracle check` diagnoses under
 * valgrind).  One value for all, on purpose: BoxFort (Criterion's sandbox,
 * Debian's libcriterion 2.4) keeps pending timeouts in a list sorted by
 * deadline, and bxfi_push_timeout() links a request in without setting its
 * next pointer, so a test started while another runs with a later deadline
 * drops that one from the list: its timeout is lost and the request leaks
 * (LeakSanitizer fails `make sanitize`: 48 bytes from libcriterion, seen
 * when the convergence tests had 900 s and the others 600 s).  With one
 * limit for all, deadlines come in start order and nothing is dropped. */
#define NO_TEST_TIMEOUT_S 1800

/* The six field variants: linear, rff gaussian, rff matern-5/2, mlp tanh,
 * mlp softplus, mlp relu. */
#define NO_TEST_VARIANTS 6

static inline const char *no_test_variant_name(int v)
{
    static const char *const n[] = {"linear", "rff-gaussian", "rff-matern",
                                    "mlp-tanh", "mlp-softplus", "mlp-relu"};
    return n[v];
}

/* A small problem of variant v (sizes chosen for MPFR speed). */
static inline void no_test_spec(no_spec *s, int v, no_scheme_id scheme, size_t m, uint64_t seed)
{
    no_spec_default(s);
    s->N = 3;
    s->d_in = 2;
    s->d_out = 2;
    s->D = 3;
    s->L = 3;
    s->m = m;
    s->scheme = scheme;
    s->seed = seed;
    if (v == 0) {
        s->family = NO_FAMILY_LINEAR;
    } else if (v <= 2) {
        s->family = NO_FAMILY_RFF;
        s->q = 5;
        s->kernel = v == 1 ? NO_KERNEL_GAUSSIAN : NO_KERNEL_MATERN;
        s->nu = 2.5;
    } else {
        s->family = NO_FAMILY_MLP;
        s->M = 4;
        s->activation = v == 3 ? NO_ACT_TANH : v == 4 ? NO_ACT_SOFTPLUS : NO_ACT_RELU;
    }
}

/* out = the reference's outputs for p (of the variant v, or NULL: the
 * contract) at prec bits, rounded to double: what a candidate computed by
 * that formula would hold. */
static inline void no_test_ref_doubles(const no_problem *p, const ref_variant *v, long prec,
                                       no_arrays *out)
{
    ref_model m;
    ref_result r;
    char err[256];
    cr_assert_eq(ref_model_init(&m, p, prec, err, sizeof err), 0, "%s", err);
    if (v)
        cr_assert_eq(ref_model_set_variant(&m, v, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_run(&m, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ref_result_to_double(&r, out), 0);
    ref_result_clear(&r);
    ref_model_clear(&m);
}

/* Property tests run NO_TEST_ITERS times more random problems (default 1). */
static inline int no_test_iters(void)
{
    const char *e = getenv("NO_TEST_ITERS");
    int k = e ? atoi(e) : 1;
    return k < 1 ? 1 : k;
}

/* fast against ref at 128 bits on the problem of s: every array must pass the
 * tolerance model (proofs-notes/tolerance.md). */
static inline void no_test_expect_ref_fast_pass(const no_spec *s)
{
    no_problem p;
    char err[256], desc[256];
    no_cmp_report rep;
    cr_assert_eq(no_problem_generate(&p, s, err, sizeof err), 0, "%s", err);
    cr_assert_eq(no_compare_problem(&p, 128, 0, &rep, err, sizeof err), 0, "%s", err);
    no_spec_describe(s, desc, sizeof desc);
    for (int i = 0; i < rep.nrows; i++)
        cr_expect_eq(rep.rows[i].verdict, NO_VERDICT_PASS,
                     "%s: %s max rel %.3e > tol %.3e (ref bits %.1f): %s", desc, rep.rows[i].name,
                     rep.rows[i].max_rel, rep.rows[i].tol, rep.rows[i].ref_bits,
                     no_verdict_name(rep.rows[i].verdict));
    cr_expect(rep.pass, "%s failed", desc);
    no_problem_free(&p);
}

#endif
