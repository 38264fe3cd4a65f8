/* test_theorem_local_convergence.c - `nodeoracle theorem local-convergence`
 * (proofs-notes/theorem-local-convergence.md):
 *   - default problem (targets 1e-4 from the start's outputs, Gaussian
 *     ell = 0.25, N = 4): the condition holds rigorously at a smallest R,
 *     and 20 steps of exact kernel GD with eta = 1/M(R) satisfy the rate
 *     F(v^n) <= (1 - eta m/2)^n F(v0) and stay in the ball of radius R at
 *     every iterate (exit 0, every check holds, the schema);
 *   - the generator's random targets (F(v0) ~ 1): no R satisfies the
 *     condition, decided rigorously (fails even with lambda's upper bracket);
 *     an R far too small is decided "fails";
 *   - a step far beyond "small enough" (eta = 50: 1 - eta m/2 < -1) breaks
 *     the rate claim at n = 1 and is reported (exit 1, named);
 *   - the slides' lifting B = (I, 0, ..., 0) is accepted and decided;
 *   - options outside the derivation exit 2 with one line. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <string.h>

#include "test_run.h"
#include "test_util.h"

NO_TEST_SCRATCH("no_thm_lc_")

static const char *decision_of(json_t *o)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(o, "details"), "run"), "decision"));
}

Test(theorem_local_convergence, holds_and_gd_keeps_its_claims, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("theorem local-convergence --json");
    cr_assert_eq(r.status, 0, "status %d, stderr %s", r.status, r.err);
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    cr_expect_str_eq(decision_of(o), "holds");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "holds");
    json_t *checks = json_object_get(o, "checks"), *c;
    size_t i;
    /* 20 rate checks (n = 1..20) and 21 ball checks */
    cr_expect_eq(json_array_size(checks), 41);
    json_array_foreach(checks, i, c)
    {
        cr_expect_str_eq(json_string_value(json_object_get(c, "verdict")), "holds", "%s",
                         json_string_value(json_object_get(c, "name")));
    }
    json_t *rows = json_object_get(json_object_get(json_object_get(o, "details"), "run"),
                                   "iterates");
    cr_expect_eq(json_array_size(rows), 21);
    double F0 = json_real_value(json_object_get(json_array_get(rows, 0), "F"));
    double F20 = json_real_value(json_object_get(json_array_get(rows, 20), "F"));
    cr_expect(F20 < 0.01 * F0, "GD converges: F %g -> %g", F0, F20);
    json_decref(o);
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    no_test_expect_schema_valid(r.out, doc, "theorem local-convergence --json");
    run_free(&r);
}

Test(theorem_local_convergence, decided_fails, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *args[][2] = {{"--targets random", "fails for every R"}, {"--R 1e-6", "fails"}};
    for (size_t i = 0; i < 2; i++) {
        run_result r = runf("theorem local-convergence %s --json", args[i][0]);
        cr_expect_eq(r.status, 0, "%s: status %d, stderr %s", args[i][0], r.status, r.err);
        json_error_t jerr;
        json_t *o = json_loads(r.out, 0, &jerr);
        cr_assert_not_null(o, "%s: not JSON", args[i][0]);
        cr_expect_str_eq(decision_of(o), args[i][1], "%s", args[i][0]);
        /* no GD is run when the condition fails */
        cr_expect_eq(json_array_size(json_object_get(o, "checks")), 0);
        json_decref(o);
        run_free(&r);
    }
}

Test(theorem_local_convergence, too_large_step_is_seen, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("theorem local-convergence --eta 50 --steps 3");
    cr_expect_eq(r.status, 1, "status %d", r.status);
    cr_expect(strstr(r.err, "n=1 F(v^n) <= (1 - eta m/2)^n F(v0)") != NULL, "stderr '%s'",
              r.err);
    run_free(&r);
    r = run("theorem local-convergence --lifting slides --steps 3");
    cr_expect_eq(r.status, 0, "slides' lifting: status %d, %s", r.status, r.err);
    cr_expect(strstr(r.out, "condition (note, eq. 7): holds") != NULL, "%s", r.out);
    run_free(&r);
}

Test(theorem_local_convergence, bad_options, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *const bad[][2] = {
        {"theorem local-convergence --kernel matern --nu 0.5", "--nu"},
        {"theorem local-convergence --scheme rk4", "Euler"},
        {"theorem local-convergence --scaling sqrt", "ode scaling"},
        {"theorem local-convergence --lifting other", "--lifting"},
        {"theorem local-convergence --targets mine", "--targets"},
        {"theorem local-convergence --target-noise -1", "--target-noise"},
        {"theorem local-convergence --R 0", "--R"},
        {"theorem local-convergence --steps 501", "--steps"},
        {"theorem local-convergence --lifting slides --D 5", "divide"},
        {"theorem local-convergence --d-out 5", "d_out <= D"},
    };
    expect_usage_errors(bad, sizeof bad / sizeof bad[0]);
    run_result h = run("theorem local-convergence --help");
    cr_expect_eq(h.status, 0);
    cr_expect(strstr(h.out, "STATEMENT") && strstr(h.out, "Theorem 2"));
    run_free(&h);
}
