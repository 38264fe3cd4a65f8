/* test_report_schema.c - every kind of JSON report nodeoracle prints is valid
 * against docs/report.schema.json (docs/check.md, "JSON report"):
 *   - check: pass, fail with its diagnosis, fail on a NaN, unverifiable, ref
 *     too weak;
 *   - check over directories (--problems/--candidates): all present, and a
 *     missing candidate with an unmatched candidate directory;
 *   - compare --json: pass and ref too weak;
 *   - the error object of exit 2 (check and compare; an argument error
 *     before --json; a bad problem directory), and nothing on stdout without
 *     --json;
 * and every non-finite number is null, never -1.  Validation runs the
 * system's python3-jsonschema (Debian; draft 2020-12); the suite is skipped
 * when it is missing. */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "cmd.h"
#include "fast.h"
#include "npy.h"
#include "problem_dir.h"
#include "report.h"
#include "test_run.h"
#include "test_util.h"

NO_TEST_SCRATCH("no_schema_")

/* Skip the test unless /usr/bin/python3 has jsonschema with draft 2020-12. */
static void need_jsonschema(void)
{
    if (!no_test_have_jsonschema())
        cr_skip_test("python3-jsonschema (draft 2020-12) is not installed: apt-get install "
                     "python3-jsonschema");
}

/* Validate text against the schema (test_run.h); what names the case. */
static void expect_valid(const char *text, const char *what)
{
    char doc[PATH_MAX];
    IN_SCRATCH(doc, "report.json");
    no_test_expect_schema_valid(text, doc, what);
}

static json_t *parse(const char *text, const char *what)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    cr_assert_not_null(o, "%s: not JSON (%s): '%s'", what, jerr.text, text);
    return o;
}

/* The version --version prints ("nodeoracle 0.2.0 (MPFR ...)"). */
static void expect_header(const json_t *o, const char *kind, const char *what)
{
    run_result r = run("--version");
    char version[64] = "";
    cr_assert_eq(sscanf(r.out, "nodeoracle %63s", version), 1, "--version: '%s'", r.out);
    run_free(&r);
    cr_expect_str_eq(json_string_value(json_object_get(o, "schema")), NO_REPORT_SCHEMA, "%s",
                     what);
    cr_expect_str_eq(json_string_value(json_object_get(o, "version")), version, "%s", what);
    cr_expect_str_eq(json_string_value(json_object_get(o, "kind")), kind, "%s", what);
}

/* No member anywhere in text holds -1 (the old "not computable"). */
static void expect_no_minus_one(const char *text, const char *what)
{
    cr_expect(strstr(text, ": -1\n") == NULL && strstr(text, ": -1,") == NULL &&
                  strstr(text, ": -1.0") == NULL,
              "%s: a -1 in the report:\n%s", what, text);
}

/* ---- problems and candidates --------------------------------------------- */

/* dir: a small linear Euler problem (N = 3, d_out = 2, D = 3, L = 3) of seed,
 * with W multiplied by wscale. */
static void write_problem(const char *dir, uint64_t seed, double wscale, no_problem *keep)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, seed);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    for (size_t e = 0; e < p.spec.L * p.spec.D * p.spec.D; e++)
        p.W[e] *= wscale;
    no_test_mkdirs(dir, 0700);
    cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);
    if (keep)
        *keep = p;
    else
        no_problem_free(&p);
}

/* dir: fast's outputs for p; loss, adjoint and gradients times scale (2: the
 * loss without its 1/2), the first output element set to first (if not 0). */
static void write_candidate(const no_problem *p, const char *dir, double scale, double first)
{
    no_arrays out;
    char err[256], path[PATH_MAX];
    cr_assert_eq(fast_run(p, &out, err, sizeof err), 0, "%s", err);
    no_test_mkdirs(dir, 0700);
    for (int i = 0; i < out.count; i++) {
        no_array *a = &out.a[i];
        if (!strncmp(a->name, "mgrad_", 6))
            continue;
        if (!strcmp(a->name, "loss") || !strcmp(a->name, "adjoint") ||
            !strncmp(a->name, "grad_", 5))
            for (size_t e = 0; e < a->n; e++)
                a->v[e] *= scale;
        if (first != 0 && !strcmp(a->name, "output"))
            a->v[0] = first;
        cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s.npy", dir, a->name),
                     sizeof path);
        cr_assert_eq(no_npy_write(path, a, err, sizeof err), 0, "%s", err);
    }
    no_arrays_free(&out);
}

/* scratch/prob and scratch/cand. */
static void write_pair(uint64_t seed, double wscale, double scale, double first)
{
    char prob[PATH_MAX], cand[PATH_MAX];
    IN_SCRATCH(prob, "prob");
    IN_SCRATCH(cand, "cand");
    no_problem p;
    write_problem(prob, seed, wscale, &p);
    write_candidate(&p, cand, scale, first);
    no_problem_free(&p);
}

static run_result check_pair(const char *flags)
{
    return runf("check --problem '%s/prob' --candidate '%s/cand' --json %s", scratch, scratch,
                flags);
}

/* ---- check --------------------------------------------------------------- */

Test(report_schema, check_pass, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    write_pair(7, 1, 1, 0);
    run_result r = check_pair("");
    cr_assert_eq(r.status, 0, "exit %d: %s%s", r.status, r.out, r.err);
    expect_valid(r.out, "check pass");
    json_t *o = parse(r.out, "check pass");
    expect_header(o, "check", "check pass");
    char prob[PATH_MAX], cand[PATH_MAX];
    IN_SCRATCH(prob, "prob");
    IN_SCRATCH(cand, "cand");
    cr_expect_str_eq(json_string_value(json_object_get(o, "problem")), prob);
    cr_expect_str_eq(json_string_value(json_object_get(o, "candidate")), cand);
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "pass");
    cr_expect_str_eq(json_string_value(json_object_get(o, "precision")), "float64");
    cr_expect_str_eq(json_string_value(json_object_get(o, "precision_source")), "default");
    cr_expect(json_is_null(json_object_get(o, "diagnosis")));
    json_decref(o);
    run_free(&r);
}

/* A candidate whose loss, adjoint and gradients are twice the contract's
 * (the loss without 1/2): fail, diagnosed; every diagnosis member present,
 * the measured numbers that do not apply null (never -1). */
Test(report_schema, check_fail_with_diagnosis, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    write_pair(7, 1, 2, 0);
    run_result r = check_pair("");
    cr_assert_eq(r.status, 1, "exit %d: %s%s", r.status, r.out, r.err);
    expect_valid(r.out, "check fail");
    expect_no_minus_one(r.out, "check fail");
    json_t *o = parse(r.out, "check fail");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "fail");
    json_t *d = json_object_get(o, "diagnosis");
    cr_assert(json_is_object(d), "no diagnosis: %s", r.out);
    static const char *const members[] = {
        "found", "cause", "variant", "match", "contract_match", "tol", "detail", "gap", "order",
        "factor", "layer", "states_layer", "adjoint_layer", "ratio", "nearest", "nearest_match",
        "hypotheses"};
    for (size_t i = 0; i < sizeof members / sizeof *members; i++)
        cr_expect_not_null(json_object_get(d, members[i]), "diagnosis.%s missing", members[i]);
    for (const char *const *m = (const char *const[]){"layer", "states_layer", "adjoint_layer",
                                                        NULL};
         *m; m++) {
        json_t *v = json_object_get(d, *m);
        cr_expect(json_is_null(v) || (json_is_integer(v) && json_integer_value(v) >= 0),
                  "diagnosis.%s is neither null nor a layer", *m);
    }
    cr_expect_gt(json_array_size(json_object_get(d, "hypotheses")), 0);
    json_decref(o);
    run_free(&r);
    /* the text report names the cause and lists the hypotheses */
    r = runf("check --problem '%s/prob' --candidate '%s/cand'", scratch, scratch);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "diagnosis: ") && strstr(r.out, "hypotheses run:"), "%s", r.out);
    cr_expect(strstr(r.out, "declared float64 (the default)") != NULL, "%s", r.out);
    run_free(&r);
}

/* A NaN in the candidate: row verdict fail_nonfinite, its errors null, the
 * first non-finite value located. */
Test(report_schema, check_nan_is_null, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    write_pair(7, 1, 1, NAN);
    run_result r = check_pair("");
    cr_assert_eq(r.status, 1, "exit %d: %s%s", r.status, r.out, r.err);
    expect_valid(r.out, "check NaN");
    expect_no_minus_one(r.out, "check NaN");
    json_t *o = parse(r.out, "check NaN");
    json_t *rows = json_object_get(o, "arrays"), *row = NULL;
    for (size_t i = 0; i < json_array_size(rows); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(rows, i), "name")),
                    "output"))
            row = json_array_get(rows, i);
    cr_assert_not_null(row, "%s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(row, "verdict")), "fail_nonfinite");
    cr_expect(json_is_null(json_object_get(row, "max_rel")), "%s", r.out);
    cr_expect(json_is_null(json_object_get(row, "rms_rel")), "%s", r.out);
    json_t *b = json_object_get(row, "first_nonfinite");
    cr_expect_str_eq(json_string_value(json_object_get(b, "where")), "output[0,0]");
    cr_expect_str_eq(json_string_value(json_object_get(b, "value")), "nan");
    json_decref(o);
    run_free(&r);
}

/* W x 1000: the growth overflows every tolerance; unverifiable, exit 3, and
 * every infinite tolerance is null. */
Test(report_schema, check_unverifiable, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    write_pair(7, 1000, 1, 0);
    run_result r = check_pair("");
    cr_assert_eq(r.status, 3, "exit %d: %s%s", r.status, r.out, r.err);
    expect_valid(r.out, "check unverifiable");
    expect_no_minus_one(r.out, "check unverifiable");
    json_t *o = parse(r.out, "check unverifiable");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "unverifiable");
    json_t *rows = json_object_get(o, "arrays");
    int nulls = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        cr_expect_str_eq(json_string_value(json_object_get(row, "verdict")), "unverifiable");
        nulls += json_is_null(json_object_get(row, "tol"));
    }
    cr_expect_gt(nulls, 0, "no infinite tolerance printed as null: %s", r.out);
    json_decref(o);
    run_free(&r);
}

/* A 1 x 1 x 1 problem on the fly at 53 bits, capped at 53: the reference is
 * certified to fewer bits than the tolerance needs; ref_too_weak, exit 3. */
Test(report_schema, check_ref_too_weak, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    no_spec s;
    no_spec_default(&s);
    s.L = 1;
    s.N = 1;
    s.D = 1;
    s.d_in = 1;
    s.d_out = 1;
    no_problem p;
    char err[256], prob[PATH_MAX], cand[PATH_MAX];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(prob, "prob");
    IN_SCRATCH(cand, "cand");
    cr_assert_eq(no_problem_dir_write(prob, &p, err, sizeof err), 0, "%s", err);
    write_candidate(&p, cand, 1, 0);
    no_problem_free(&p);
    run_result r = check_pair("--on-the-fly --prec 53 --max-prec 53");
    cr_assert_eq(r.status, 3, "exit %d: %s%s", r.status, r.out, r.err);
    expect_valid(r.out, "check ref too weak");
    json_t *o = parse(r.out, "check ref too weak");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "ref_too_weak", "%s",
                     r.out);
    json_decref(o);
    run_free(&r);
}

/* ---- errors: exit 2 --------------------------------------------------------- */

Test(report_schema, error_objects, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    static const struct {
        const char *args, *command, *want;
    } cases[] = {
        {"check --problem /nonexistent/p --candidate /nonexistent/c --json", "check",
         "problem.json"},
        {"check --bogus 1 --problem a --candidate b --json", "check", "--bogus"},
        {"check --json --problem a", "check", "--candidate"},
        {"check --problems /nonexistent/p --candidates /tmp --json", "check", "/nonexistent/p"},
        {"check --problems /tmp --candidates /nonexistent/c --json", "check", "/nonexistent/c"},
        {"compare --N 0 --json", "compare", "N"},
        {"compare --json --prec 43692", "compare", "43691"},
        {"demo --json --prec 1", "demo", "--prec"},
        {"train --eta -1 --json", "train", "eta"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_result r = run(cases[i].args);
        expect_error_result(&r, cases[i].args, cases[i].want);
        cr_assert(r.out[0], "%s: no error object on stdout", cases[i].args);
        expect_valid(r.out, cases[i].args);
        json_t *o = parse(r.out, cases[i].args);
        expect_header(o, "error", cases[i].args);
        cr_expect_str_eq(json_string_value(json_object_get(o, "command")), cases[i].command);
        json_t *e = json_object_get(o, "error");
        cr_expect_eq(json_integer_value(json_object_get(e, "exit_status")), 2);
        cr_expect(strstr(json_string_value(json_object_get(e, "message")), cases[i].want),
                  "%s: message '%s'", cases[i].args, r.out);
        json_decref(o);
        run_free(&r);
    }
    /* without --json: nothing on stdout */
    run_result r = run("check --problem /nonexistent/p --candidate /nonexistent/c");
    expect_error_result(&r, "check without --json", "problem.json");
    cr_expect_eq(strlen(r.out), 0, "stdout without --json: '%s'", r.out);
    run_free(&r);
}

/* ---- check over directories --------------------------------------------------- */

Test(report_schema, check_directory_summary, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    char dir[PATH_MAX];
    no_problem p0, p1;
    IN_SCRATCH(dir, "probs/000-first");
    write_problem(dir, 7, 1, &p0);
    IN_SCRATCH(dir, "probs/001-second");
    write_problem(dir, 8, 1, &p1);
    IN_SCRATCH(dir, "probs/.001-second.tmp.abcdef"); /* gen's temporaries are skipped */
    no_test_mkdirs(dir, 0700);
    IN_SCRATCH(dir, "cands/000-first");
    write_candidate(&p0, dir, 1, 0);
    IN_SCRATCH(dir, "cands/001-second");
    write_candidate(&p1, dir, 1, 0);

    run_result r = runf("check --problems '%s/probs' --candidates '%s/cands' --json", scratch,
                        scratch);
    cr_assert_eq(r.status, 0, "exit %d: %s%s", r.status, r.out, r.err);
    expect_valid(r.out, "directory, all pass");
    json_t *o = parse(r.out, "directory");
    expect_header(o, "check_directory", "directory");
    json_t *c = json_object_get(o, "counts");
    cr_expect_eq(json_integer_value(json_object_get(c, "total")), 2, "%s", r.out);
    cr_expect_eq(json_integer_value(json_object_get(c, "pass")), 2, "%s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "pass");
    json_decref(o);
    run_free(&r);

    /* one candidate failing, one missing, one directory without a problem */
    IN_SCRATCH(dir, "cands/000-first");
    no_test_rmtree(dir);
    write_candidate(&p0, dir, 2, 0);
    IN_SCRATCH(dir, "cands/001-second");
    no_test_rmtree(dir);
    IN_SCRATCH(dir, "cands/002-typo");
    no_test_mkdirs(dir, 0700);
    r = runf("check --problems '%s/probs' --candidates '%s/cands' --json", scratch, scratch);
    cr_expect_eq(r.status, 2, "a missing candidate: exit %d: %s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.err, "001-second") != NULL, "stderr: '%s'", r.err);
    expect_valid(r.out, "directory, missing and failing");
    o = parse(r.out, "directory");
    c = json_object_get(o, "counts");
    cr_expect_eq(json_integer_value(json_object_get(c, "fail")), 1, "%s", r.out);
    cr_expect_eq(json_integer_value(json_object_get(c, "missing")), 1, "%s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "error");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(o, "unmatched_candidates"),
                                                      0)),
                     "002-typo");
    json_t *rows = json_object_get(o, "problems");
    cr_assert_eq(json_array_size(rows), 2, "%s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "verdict")),
                     "fail");
    cr_expect(json_is_object(json_object_get(json_object_get(json_array_get(rows, 0), "report"),
                                             "diagnosis")),
              "the failing problem's report has no diagnosis");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(rows, 1), "verdict")),
                     "missing");
    cr_expect(json_is_null(json_object_get(json_array_get(rows, 1), "report")));
    json_decref(o);
    run_free(&r);

    /* the text: one line per problem and the counts */
    r = runf("check --problems '%s/probs' --candidates '%s/cands'", scratch, scratch);
    cr_expect_eq(r.status, 2);
    cr_expect(strstr(r.out, "000-first") && strstr(r.out, "missing") &&
                  strstr(r.out, "1 pass") == NULL && strstr(r.out, "1 fail"),
              "%s", r.out);
    run_free(&r);
    no_problem_free(&p0);
    no_problem_free(&p1);
}

/* ---- compare ------------------------------------------------------------------ */

Test(report_schema, compare_reports, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    run_result r = run("compare --L 2 --N 2 --json");
    cr_assert_eq(r.status, 0, "exit %d: %s%s", r.status, r.out, r.err);
    expect_valid(r.out, "compare pass");
    json_t *o = parse(r.out, "compare");
    expect_header(o, "compare", "compare");
    cr_expect_eq(json_array_size(json_object_get(o, "problems")), 1);
    json_decref(o);
    run_free(&r);
    r = run("compare --L 1 --N 1 --D 1 --d-in 1 --d-out 1 --prec 53 --max-prec 53 --json");
    cr_assert_eq(r.status, 3, "exit %d: %s%s", r.status, r.out, r.err);
    expect_valid(r.out, "compare ref too weak");
    o = parse(r.out, "compare ref too weak");
    cr_expect_str_eq(json_string_value(json_object_get(o, "verdict")), "ref_too_weak");
    json_decref(o);
    run_free(&r);
}

/* train --json: fast alone ("done": nothing judged, no reference bits),
 * ref and fast judged against each other (pass), and the gradient flow. */
Test(report_schema, train_reports, .timeout = NO_TEST_TIMEOUT_S)
{
    need_jsonschema();
    static const char *const args[] = {
        "train --N 3 --D 3 --L 3 --steps 3 --impl fast --json --quiet",
        "train --N 3 --D 3 --L 3 --steps 3 --impl both --json --quiet",
        "train --N 3 --D 3 --L 3 --steps 2 --eta 0.05 --flow --json --quiet",
    };
    for (size_t i = 0; i < sizeof args / sizeof *args; i++) {
        run_result r = run(args[i]);
        cr_expect_eq(r.status, 0, "%s: exit %d: %s", args[i], r.status, r.err);
        expect_valid(r.out, args[i]);
        expect_no_minus_one(r.out, args[i]);
        json_t *o = parse(r.out, args[i]);
        expect_header(o, "train", args[i]);
        json_decref(o);
        run_free(&r);
    }
}
