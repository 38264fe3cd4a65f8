/* test_verdicts.c - the first law: never a false verdict (issue 7, items 1,
 * 3 and 9; proofs-notes/tolerance.md section 12).
 *
 * Each command-line test is a reproducer that passed a wrong answer, or
 * printed a NaN comparison as an error of 0, before the `unverifiable`
 * verdict existed:
 *   - an infinite tolerance (exp(Lambda) overflowed) passed 57-104% errors;
 *   - a problem whose W was scaled by 1000 passed a candidate of constants;
 *   - a problem whose Y equals the reference output (kappa_r infinite)
 *     passed negated gradients, and --json dropped "tol";
 *   - W = 1e300 (a reference outside float64) named a diagnosis from NaNs;
 *   - a candidate NaN printed "max rel 0.000e+00";
 *   - --prec 65536 was documented and refused at run time.
 * The unit tests pin the verdict rules of compare.c on synthetic arrays
 * whose tolerance and reference bits are set exactly. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "cmd.h"
#include "compare.h"
#include "fast.h"
#include "npy.h"
#include "problem_dir.h"
#include "ref.h"
#include "test_run.h"
#include "test_util.h"

/* ---- unit: the verdict rules ------------------------------------------- */

/* A one-array comparison: reference r (n values) certified to `bits` bits
 * elementwise, candidate c, tolerance exactly tol (a model made infinite by
 * c = inf, then capped), candidate unit roundoff u. */
static no_cmp_row judge(const double *r, const double *c, size_t n, double bits, double tol,
                        double u)
{
    no_arrays ra = {0}, ba = {0}, ca = {0};
    size_t shape[1] = {n};
    no_array *x = no_arrays_add(&ra, "output", 1, shape),
             *b = no_arrays_add(&ba, "output", 1, shape),
             *y = no_arrays_add(&ca, "output", 1, shape);
    cr_assert(x && b && y);
    for (size_t i = 0; i < n; i++) {
        x->v[i] = r[i];
        y->v[i] = c[i];
        b->v[i] = bits;
    }
    no_tol_model t;
    memset(&t, 0, sizeof t);
    t.u = u;
    t.c = INFINITY;
    t.work_fwd = t.work_bwd = 1;
    if (!isinf(tol))
        no_tol_cap(&t, "output", tol);
    no_cmp_report rep;
    memset(&rep, 0, sizeof rep);
    no_compare_arrays(&ca, &ra, &ba, &t, &rep);
    no_cmp_row row = rep.rows[0];
    no_arrays_free(&ra);
    no_arrays_free(&ba);
    no_arrays_free(&ca);
    return row;
}

static const double R[3] = {1.0, -2.0, 0.5};

/* The meaningful limit is 2^-10 for float64 and float32 and 2^-5 for
 * bfloat16: at the limit an array is judged, just above it never. */
Test(verdicts, meaningful_tolerance_limit)
{
    cr_expect_eq(no_tol_meaningful_max(0x1.0p-53), 0x1.0p-10);
    cr_expect_eq(no_tol_meaningful_max(0x1.0p-24), 0x1.0p-10);
    cr_expect_eq(no_tol_meaningful_max(0x1.0p-8), 0x1.0p-5);
    double c[3] = {1.0 + 1e-4, -2.0, 0.5};
    cr_expect_eq(judge(R, c, 3, 100, 0x1.0p-10, 0x1.0p-53).verdict, NO_VERDICT_PASS);
    cr_expect_eq(judge(R, c, 3, 100, 0x1.0p-9, 0x1.0p-53).verdict, NO_VERDICT_UNVERIFIABLE);
    cr_expect_eq(judge(R, c, 3, 100, 0x1.0p-5, 0x1.0p-8).verdict, NO_VERDICT_PASS);
    cr_expect_eq(judge(R, c, 3, 100, 0x1.0p-4, 0x1.0p-8).verdict, NO_VERDICT_UNVERIFIABLE);
}

/* An infinite or NaN tolerance is unverifiable whatever the candidate: a
 * wildly wrong one (x1e300) and an exact one alike. */
Test(verdicts, infinite_or_nan_tolerance_never_passes)
{
    double wrong[3] = {1e300, 42, -7}, exact[3] = {1.0, -2.0, 0.5};
    cr_expect_eq(judge(R, wrong, 3, 100, INFINITY, 0x1.0p-53).verdict, NO_VERDICT_UNVERIFIABLE);
    cr_expect_eq(judge(R, exact, 3, 100, INFINITY, 0x1.0p-53).verdict, NO_VERDICT_UNVERIFIABLE);
    no_cmp_row row = judge(R, exact, 3, 100, NAN, 0x1.0p-53);
    cr_expect_eq(row.verdict, NO_VERDICT_UNVERIFIABLE);
    cr_expect(isinf(row.need_bits));
}

/* A pass needs the reference certified to -log2(tol) + 4 bits; a fail does
 * not (the candidate is off by far more than the reference could be). */
Test(verdicts, weak_reference_blocks_pass_not_sound_fail)
{
    double close[3] = {1.0 + 1e-13, -2.0, 0.5}, far[3] = {1.5, -2.0, 0.5};
    /* tol 2^-40 needs 44 bits */
    no_cmp_row row = judge(R, close, 3, 43, 0x1.0p-40, 0x1.0p-53);
    cr_expect_eq(row.verdict, NO_VERDICT_REF_WEAK);
    cr_expect_float_eq(row.need_bits, 44.0, 1e-12);
    cr_expect_eq(judge(R, close, 3, 44, 0x1.0p-40, 0x1.0p-53).verdict, NO_VERDICT_PASS);
    cr_expect_eq(judge(R, far, 3, 20, 0x1.0p-40, 0x1.0p-53).verdict, NO_VERDICT_FAIL);
    /* an error within the reference's own error of the tolerance: undecided */
    double edge[3] = {1.0 + 0x1.0p-40 * 2.0, -2.0, 0.5};
    cr_expect_eq(judge(R, edge, 3, 3, 0x1.0p-40 * 2.0, 0x1.0p-53).verdict,
                 NO_VERDICT_REF_WEAK);
}

/* A candidate NaN is a failure with its first index, and its error is NaN,
 * not the 0 that fmax() made of it; a reference Inf is unverifiable. */
Test(verdicts, nonfinite_reported_with_first_index)
{
    double c[3] = {1.0, NAN, INFINITY};
    no_cmp_row row = judge(R, c, 3, 100, 1e-12, 0x1.0p-53);
    cr_expect_eq(row.verdict, NO_VERDICT_NONFINITE);
    cr_expect_eq(row.bad.index, 1);
    cr_expect_eq(row.bad.in_ref, 0);
    cr_expect(isnan(row.max_rel) && isnan(row.rms_rel), "max_rel %g", row.max_rel);
    char where[64];
    no_compare_index_str(&row, row.bad.index, where, sizeof where);
    cr_expect_str_eq(where, "output[1]");
    double r2[3] = {1.0, 2.0, -INFINITY}, ok[3] = {1.0, 2.0, 3.0};
    row = judge(r2, ok, 3, 100, 1e-12, 0x1.0p-53);
    cr_expect_eq(row.verdict, NO_VERDICT_UNVERIFIABLE);
    cr_expect_eq(row.bad.index, 2);
    cr_expect_eq(row.bad.in_ref, 1);
}

/* Multi-indices are row-major over the array's shape. */
Test(verdicts, index_strings)
{
    no_cmp_row row;
    memset(&row, 0, sizeof row);
    strcpy(row.name, "states");
    row.ndim = 3;
    row.shape[0] = 4;
    row.shape[1] = 3;
    row.shape[2] = 2;
    char s[64];
    no_compare_index_str(&row, 3 * 2 * 2 + 1 * 2 + 1, s, sizeof s);
    cr_expect_str_eq(s, "states[2,1,1]");
}

Test(verdicts, next_precision_doubles_to_cap)
{
    cr_expect_eq(no_compare_next_prec(53, 4096), 106);
    cr_expect_eq(no_compare_next_prec(3000, 4096), 4096);
    cr_expect_eq(no_compare_next_prec(4096, 4096), 0);
}

/* ---- the commands -------------------------------------------------------- */

/* The first reproducer: Lambda ~ 5e4, exp(Lambda) = inf.  Before:
 * exit 0, "6 of 6 arrays passed" with 57-104% errors. */
Test(verdicts, compare_overflowing_growth_is_unverifiable, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("compare --family rff --param-scale 1e4 --L 16");
    cr_expect_eq(r.status, NO_EXIT_UNJUDGED, "exit %d\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "unverifiable") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "  pass\n") == NULL, "a row passed:\n%s", r.out);
    cr_expect(strstr(r.out, "could not be judged") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "no float64 candidate can be judged") != NULL, "%s", r.out);
    run_free(&r);
}

/* A reference at 53 bits is certified to 52 bits of the states of this
 * tiny problem, whose tolerance needs 52.5: the reference is raised to 106
 * bits and the problem passes; capped at 53 it is "ref too weak", exit 3.
 * Before: exit 1 ("FAIL(ref too weak)") whatever the cap. */
Test(verdicts, weak_reference_raised_automatically, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *tiny = "--L 1 --N 1 --D 1 --d-in 1 --d-out 1 --prec 53";
    run_result r = runf("compare %s", tiny);
    cr_expect_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "ref 106 bits (raised from 53") != NULL, "%s", r.out);
    run_free(&r);
    r = runf("compare %s --max-prec 53", tiny);
    cr_expect_eq(r.status, NO_EXIT_UNJUDGED, "exit %d\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "ref too weak") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "FAIL") == NULL, "%s", r.out);
    run_free(&r);
    r = runf("compare %s --max-prec 52", tiny);
    expect_error_result(&r, "--max-prec 52", "--prec");
    run_free(&r);
}

/* The documented limit is the real one: 43691 works, 43692 is refused by
 * every command with the range in the message. */
Test(verdicts, prec_limit_matches_documentation, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("compare --L 1 --N 1 --D 1 --d-in 1 --d-out 1 --prec 43691");
    cr_expect_eq(r.status, 0, "exit %d\n%s%s", r.status, r.out, r.err);
    run_free(&r);
    const char *cmds[] = {"compare --prec 43692", "demo --prec 65536",
                          "gen --suite smoke --out /nonexistent/x --prec 43692",
                          "check --problem a --candidate b --prec 43692"};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        r = run(cmds[i]);
        expect_error_result(&r, cmds[i], "43691");
        run_free(&r);
    }
    r = run("help compare");
    cr_expect(strstr(r.out, "43691") && !strstr(r.out, "65536"), "%s", r.out);
    run_free(&r);
    r = run("help check");
    cr_expect(strstr(r.out, "43691") && !strstr(r.out, "65536"), "%s", r.out);
    run_free(&r);
}

/* ---- check on ill-conditioned problems ----------------------------------- */

NO_TEST_SCRATCH("no_verdict_")

/* scratch/prob = p; scratch/cand = fast's outputs for fast_of (or p), each
 * array then passed through edit (may be NULL). */
static void write_pair(const no_problem *p, const no_problem *fast_of,
                       void (*edit)(no_array *a))
{
    char err[256], dir[PATH_MAX], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/prob", scratch);
    cr_assert_eq(no_problem_dir_write(dir, p, err, sizeof err), 0, "%s", err);
    no_arrays out;
    cr_assert_eq(fast_run(fast_of ? fast_of : p, &out, err, sizeof err), 0, "%s", err);
    snprintf(dir, sizeof dir, "%s/cand", scratch);
    mkdir(dir, 0777);
    for (int i = 0; i < out.count; i++) {
        if (!strncmp(out.a[i].name, "mgrad_", 6))
            continue;
        if (edit)
            edit(&out.a[i]);
        snprintf(path, sizeof path, "%s/%s.npy", dir, out.a[i].name);
        cr_assert_eq(no_npy_write(path, &out.a[i], err, sizeof err), 0, "%s", err);
    }
    no_arrays_free(&out);
}

/* The candidate of constants: output 42, loss -7, gradients 1e300. */
static void constants(no_array *a)
{
    double v = !strcmp(a->name, "output") ? 42 : !strcmp(a->name, "loss") ? -7 : 1e300;
    for (size_t e = 0; e < a->n; e++)
        a->v[e] = v;
}

static void negate_grads(no_array *a)
{
    if (!strncmp(a->name, "grad_", 5))
        for (size_t e = 0; e < a->n; e++)
            a->v[e] = -a->v[e];
}

static void small_linear(no_problem *p, uint64_t seed)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, seed);
    char err[256];
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

/* Every array of the JSON report has a "tol" member (a number or null):
 * json_real(inf) had returned NULL and the member silently vanished. */
static void expect_tol_members(const char *json)
{
    int arrays = 0, tols = 0;
    for (const char *s = json; (s = strstr(s, "\"name\"")); s++)
        arrays++;
    for (const char *s = json; (s = strstr(s, "\"tol\":")); s++)
        tols++;
    cr_expect(arrays > 0 && arrays == tols, "%d arrays, %d tol members:\n%s", arrays, tols,
              json);
}

/* W x 1000, no golden: Lambda overflows; the constants candidate was passed. */
Test(verdicts, check_scaled_weights_constant_candidate_not_passed, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p;
    small_linear(&p, 7);
    size_t nW = p.spec.L * p.spec.D * p.spec.D;
    for (size_t e = 0; e < nW; e++)
        p.W[e] *= 1000;
    write_pair(&p, NULL, constants);
    no_problem_free(&p);
    run_result r = runf("check --problem %s/prob --candidate %s/cand --json", scratch, scratch);
    cr_expect_neq(r.status, 0, "the constants candidate passed:\n%s", r.out);
    cr_expect(strstr(r.out, "\"verdict\": \"pass\"") == NULL, "%s", r.out);
    expect_tol_members(r.out);
    run_free(&r);
}

/* Y := the reference output: the residual is the rounding of Y, kappa_r
 * ~ 1e16, the gradient tolerance infinite; negated gradients passed. */
Test(verdicts, check_fitted_targets_negated_gradients_not_passed, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p;
    small_linear(&p, 8);
    no_arrays vals, bits;
    char err[256];
    cr_assert_eq(ref_certify(&p, 128, &vals, &bits, err, sizeof err), 0, "%s", err);
    const no_array *out = no_arrays_get(&vals, "output");
    memcpy(p.Y, out->v, out->n * sizeof *p.Y);
    no_arrays_free(&vals);
    no_arrays_free(&bits);
    write_pair(&p, NULL, negate_grads);
    no_problem_free(&p);
    run_result r = runf("check --problem %s/prob --candidate %s/cand --json", scratch, scratch);
    cr_expect_eq(r.status, NO_EXIT_UNJUDGED, "exit %d:\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "\"verdict\": \"unverifiable\"") != NULL, "%s", r.out);
    expect_tol_members(r.out);
    run_free(&r);
}

/* check on a problem whose W (or X) is set to value everywhere, against
 * fast's outputs for the unmodified problem (fast itself would overflow). */
static run_result check_huge(uint64_t seed, int set_x, double value)
{
    no_problem p, q;
    small_linear(&p, seed);
    small_linear(&q, seed);
    double *v = set_x ? p.X : p.W;
    size_t n = set_x ? p.spec.N * p.spec.d_in : p.spec.L * p.spec.D * p.spec.D;
    for (size_t e = 0; e < n; e++)
        v[e] = value;
    write_pair(&p, &q, NULL);
    no_problem_free(&p);
    no_problem_free(&q);
    run_result r = runf("check --problem %s/prob --candidate %s/cand", scratch, scratch);
    cr_expect_eq(r.status, NO_EXIT_UNJUDGED, "exit %d:\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "diagnosis") == NULL, "a cause was named:\n%s", r.out);
    cr_expect(strstr(r.out, "matches") == NULL, "%s", r.out);
    return r;
}

/* W = 1e300: the reference leaves the float64 range.  Before: exit 1 and
 * "missing_1_over_N, matches to 0.000e+00" from NaN comparisons.  Now the
 * first non-finite reference value is named and no cause is. */
Test(verdicts, check_reference_overflow_named_not_diagnosed, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = check_huge(9, 0, 1e300);
    cr_expect(strstr(r.out, "first non-finite value: reference") != NULL, "%s", r.out);
    run_free(&r);
}

/* X = 1e308: finite in double, but its squares are not; the states leave
 * float64's judgeable range (2^511) and nothing is judged or diagnosed. */
Test(verdicts, check_huge_inputs_unverifiable, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = check_huge(11, 1, 1e308);
    cr_expect(strstr(r.out, "leaves the range a float64 computation can hold") != NULL, "%s",
              r.out);
    run_free(&r);
}

/* A candidate NaN: FAIL with the array and first index; the error columns
 * say nan, not 0 (text) or null (JSON). */
static void nan_in_grad(no_array *a)
{
    if (!strcmp(a->name, "grad_W"))
        a->v[5] = NAN;
}

Test(verdicts, check_candidate_nan_located, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    no_problem p;
    small_linear(&p, 10);
    size_t D = p.spec.D;
    write_pair(&p, NULL, nan_in_grad);
    no_problem_free(&p);
    run_result r = runf("check --problem %s/prob --candidate %s/cand", scratch, scratch);
    cr_expect_eq(r.status, 1, "exit %d:\n%s%s", r.status, r.out, r.err);
    char want[96];
    snprintf(want, sizeof want, "candidate grad_W[%zu,%zu,%zu] = nan", 5 / (D * D), 5 % (D * D) / D,
             5 % D);
    cr_expect(strstr(r.out, want) != NULL, "no '%s' in:\n%s", want, r.out);
    const char *row = strstr(r.out, "      grad_W ");
    cr_assert_not_null(row, "%s", r.out);
    cr_expect(strncmp(row + 17, "        nan", 11) == 0, "grad_W row: %.60s", row);
    run_free(&r);
    r = runf("check --problem %s/prob --candidate %s/cand --json", scratch, scratch);
    cr_expect(strstr(r.out, "\"max_rel\": null") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "\"where\": \"grad_W[") != NULL, "%s", r.out);
    run_free(&r);
}
