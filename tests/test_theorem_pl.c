/* test_theorem_pl.c - `nodeoracle theorem pl` (ref/ref_pl.h,
 * proofs-notes/theorem-pl.md):
 *   - along 3 GD steps of the default rff problem every link of the chain and
 *     both assembled inequalities hold at every iterate (exit 0, every check
 *     "holds"), the report is valid against the schema and names the
 *     tightest link of each iterate;
 *   - the links read off the reference are what they claim: the Gram form
 *     equals |G|^2 and, B's rows being orthogonal with equal norms s, P_L =
 *     (2/N) s^2 F, both to the working precision; the extreme Gram eigenvalues bracket the Gram
 *     form;
 *   - a deliberately wrong constant is seen: the normalisation 2/N doubled
 *     (the note's 1/N read for our 1/(2N)) breaks the final identity, kappa
 *     divided by 10 breaks the backward-growth link (kappa halved is not
 *     enough on this problem: the tightest kappa link has ratio 0.63 and
 *     halving kappa multiplies it by about 1.27; proofs-notes/theorem-pl.md);
 *   - problems outside the derivation and bad options exit 2 with one line. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ref.h"
#include "ref_pl.h"
#include "test_run.h"
#include "test_util.h"

NO_TEST_SCRATCH("no_thm_pl_")

Test(theorem_pl, chain_holds_along_gd, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("theorem pl --steps 3 --json");
    cr_assert_eq(r.status, 0, "theorem pl: status %d, stderr %s", r.status, r.err);
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(o, "not JSON: %s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "holds");
    json_t *checks = json_object_get(o, "checks");
    size_t i;
    json_t *c;
    size_t nchecks = json_array_size(checks);
    cr_expect_geq(nchecks, 4 * 13, "%zu checks", nchecks);
    json_array_foreach(checks, i, c)
    {
        cr_expect_str_eq(json_string_value(json_object_get(c, "verdict")), "holds", "%s",
                         json_string_value(json_object_get(c, "name")));
    }
    json_t *rows = json_object_get(json_object_get(o, "details"), "iterates");
    cr_expect_eq(json_array_size(rows), 4);
    json_array_foreach(rows, i, c)
    {
        const char *t = json_string_value(json_object_get(c, "tightest_link"));
        double ratio = json_real_value(json_object_get(c, "tightest_ratio"));
        cr_expect(t && strlen(t) > 4 && ratio > 0 && ratio < 1, "iterate %zu: '%s' %g", i,
                  t ? t : "", ratio);
    }
    /* the run trains: F falls */
    double F0 = json_real_value(json_object_get(json_array_get(rows, 0), "F"));
    double F3 = json_real_value(json_object_get(json_array_get(rows, 3), "F"));
    cr_expect(F3 < 0.5 * F0, "F %g -> %g", F0, F3);
    json_decref(o);
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    no_test_expect_schema_valid(r.out, doc, "theorem pl --json");
    run_free(&r);
}

Test(theorem_pl, links_are_what_they_claim, .timeout = NO_TEST_TIMEOUT_S)
{
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_RFF;
    s.q = 16;
    s.param_scale = 0.2;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    ref_model m;
    cr_assert_eq(ref_model_init(&m, &p, 160, err, sizeof err), 0, "%s", err);
    ref_pl_links l;
    cr_assert_eq(ref_pl_eval(&m, &l, NULL, err, sizeof err), 0, "%s", err);
    mpfr_t t, u;
    mpfr_inits2(160, t, u, (mpfr_ptr)0);
    /* Gram form = |G|^2 to the working precision (an identity: both are
     * h sum_k |sum_i p_{k+1}^i phi(z_k^i)^T|_F^2, computed two ways) */
    mpfr_sub(t, l.gram, l.G2, MPFR_RNDN);
    mpfr_div(t, t, l.G2, MPFR_RNDN);
    cr_expect(fabs(mpfr_get_d(t, MPFR_RNDN)) < 0x1p-140, "Gram form vs |G|^2: %g",
              mpfr_get_d(t, MPFR_RNDN));
    /* P_L = (1/N^2) sum |B^T r|^2 = (2/N) s^2 F when B's rows are orthogonal
     * with equal norms s (the generator's: s = 1 up to the rounding of
     * 1/sqrt(2) to double) */
    mpfr_sqr(t, l.sB_max, MPFR_RNDN);
    mpfr_mul(t, t, l.F, MPFR_RNDN);
    mpfr_mul_ui(t, t, 2, MPFR_RNDN);
    mpfr_div_ui(t, t, (unsigned long)s.N, MPFR_RNDN);
    mpfr_sub(u, t, l.P[s.L], MPFR_RNDN);
    mpfr_div(u, u, t, MPFR_RNDN);
    cr_expect(fabs(mpfr_get_d(u, MPFR_RNDN)) < 0x1p-140, "P_L vs (2/N) F: %g",
              mpfr_get_d(u, MPFR_RNDN));
    cr_expect(mpfr_equal_p(l.sB_min, l.sB_max));
    cr_expect(fabs(mpfr_get_d(l.sB_max, MPFR_RNDN) - 1) < 1e-15);
    /* the Gram form lies between the eigenvalue bounds */
    double lo = 0, hi = 0, h = 1.0 / (double)s.L;
    for (size_t k = 0; k < s.L; k++) {
        double lmin = mpfr_get_d(l.lmin[k], MPFR_RNDN), lmax = mpfr_get_d(l.lmax[k], MPFR_RNDN);
        cr_expect(lmin > 0 && lmin <= lmax, "layer %zu: %g %g", k, lmin, lmax);
        lo += h * lmin * mpfr_get_d(l.P[k + 1], MPFR_RNDN);
        hi += h * lmax * mpfr_get_d(l.P[k + 1], MPFR_RNDN);
    }
    double G2 = mpfr_get_d(l.G2, MPFR_RNDN);
    cr_expect(lo < G2 && G2 < hi, "%g < %g < %g", lo, G2, hi);
    mpfr_clears(t, u, (mpfr_ptr)0);
    ref_pl_links_clear(&l);
    ref_model_clear(&m);
    no_problem_free(&p);
}

Test(theorem_pl, wrong_constants_fail, .timeout = NO_TEST_TIMEOUT_S)
{
    struct {
        const char *scale, *named;
    } cases[] = {{"norm=2", "final"}, {"norm=0.5", "final"}, {"kappa=0.1", "back"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r = runf("theorem pl --steps 1 --scale %s", cases[i].scale);
        cr_expect_eq(r.status, 1, "--scale %s: status %d (expected 1: a check fails)",
                     cases[i].scale, r.status);
        cr_expect(strstr(r.err, cases[i].named) != NULL, "--scale %s: stderr '%s'",
                  cases[i].scale, r.err);
        cr_expect(strstr(r.out, "fails") != NULL);
        run_free(&r);
    }
}

Test(theorem_pl, outside_the_derivation_and_bad_options, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *const bad[][2] = {
        {"theorem pl --family linear", "rff"},
        {"theorem pl --scheme rk4", "Euler"},
        {"theorem pl --m 2", "Euler"},
        {"theorem pl --adjoint continuous", "exact gradient"},
        {"theorem pl --N 1", NULL},
        {"theorem pl --d-out 5", "d_out <= D"},
        {"theorem pl --steps 201", "--steps"},
        {"theorem pl --eta -1", "--eta"},
        {"theorem pl --scale kappa", "--scale"},
        {"theorem pl --scale mu=2", "--scale"},
        {"theorem pl --scale kappa=0", "--scale"},
        {"theorem pl --prec 20", "--prec"},
        {"theorem pl --bogus 1", "unknown option"},
        {"theorem nosuch", "unknown theorem"},
        {"theorem", "NAME"},
    };
    expect_usage_errors(bad, sizeof bad / sizeof bad[0]);
    run_result h = run("theorem pl --help");
    cr_expect_eq(h.status, 0);
    cr_expect(strstr(h.out, "STATEMENT") && strstr(h.out, "seed 004") &&
              strstr(h.out, "EXIT STATUS"));
    run_free(&h);
    h = run("help theorem");
    cr_expect_eq(h.status, 0);
    cr_expect(strstr(h.out, "local-convergence") && strstr(h.out, "pl "));
    run_free(&h);
}
