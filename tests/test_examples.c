/* examples: what a user of nodeoracle does, end to end (examples/README.md):
 * export an outside implementation's outputs with examples/numpy (and
 * examples/pytorch when python3-torch is installed) and run `nodeoracle
 * check` on them.
 *
 *  - the correct NumPy implementation passes on every family (the six
 *    variants), both schemes, both adjoint kinds and sqrt scaling, with the
 *    reference from golden/ (gen) and computed on the fly;
 *  - each deliberately broken variant (--mutant, one per diagnosis class of
 *    docs/check.md) fails, exit 1, and the diagnosis names it: the JSON
 *    diagnosis.cause is the class; a mutant that changes nothing (the
 *    continuous adjoint where it is asked for, float32 declared as float32)
 *    passes;
 *  - grid replay: a candidate on a non-uniform step grid passes because
 *    check recomputes exactly that discrete map (the same candidate fails
 *    without its grid); a candidate's other scheme is replayed too;
 *  - float32 exports pass when declared.
 *
 * Problems are picked from the default suite (L = 8 != M = 6, so a missing
 * 1/L and a missing 1/M stay apart) by what they cover, and written by the
 * library's problem writer (as gen writes them, without golden/: check
 * computes the reference on the fly); one test goes through `nodeoracle gen`
 * and golden/.  Python (/usr/bin/python3, Debian's python3-numpy) and
 * nodeoracle are run directly, not through validate.sh, so that `make
 * valgrind` can trace nodeoracle and skip python; one test runs validate.sh.
 * Every test works in its own mkdtemp directory, removed afterwards.  No
 * tolerances here: pass, fail and the cause are check's own verdicts. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "problem_dir.h"
#include "suite.h"
#include "test_run.h"

#define PYTHON "/usr/bin/python3"

NO_TEST_SCRATCH("no_examples_")

TestSuite(examples, .init = scratch_setup, .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S);

/* ---- problems ------------------------------------------------------------ */

/* "linear", "rff-gaussian", "rff-matern", "mlp-tanh", "mlp-softplus", "mlp-relu" */
static void variant_name(const no_spec *s, char *buf, size_t n)
{
    if (s->family == NO_FAMILY_LINEAR)
        snprintf(buf, n, "linear");
    else if (s->family == NO_FAMILY_RFF)
        snprintf(buf, n, "rff-%s", no_kernel_name(s->kernel));
    else
        snprintf(buf, n, "mlp-%s", no_activation_name(s->activation));
}

/* dir = scratch/<what with '-' for ' '>: the problem of the default suite
 * that `what` describes, "VARIANT SCHEME ADJOINT" with " sqrt" appended for
 * scaling sqrt (e.g. "rff-matern rk4 continuous"), written there unless it
 * already is. */
static void default_problem(const char *what, char *dir, size_t n)
{
    no_spec specs[NO_SUITE_MAX];
    int count = no_suite_specs("default", specs);
    cr_assert_gt(count, 0);
    for (int i = 0; i < count; i++) {
        char var[32], key[96];
        variant_name(&specs[i], var, sizeof var);
        snprintf(key, sizeof key, "%s %s %s%s", var, no_scheme_name(specs[i].scheme),
                 no_adjoint_name(specs[i].adjoint),
                 specs[i].scaling == NO_SCALING_SQRT ? " sqrt" : "");
        if (strcmp(key, what))
            continue;
        cr_assert_lt((size_t)snprintf(dir, n, "%s/%s", scratch, key), n);
        for (char *c = dir + strlen(scratch); *c; c++)
            *c = *c == ' ' ? '-' : *c;
        if (access(dir, F_OK) == 0)
            return;
        no_problem p;
        char err[256];
        cr_assert_eq(no_problem_generate(&p, &specs[i], err, sizeof err), 0, "%s", err);
        cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);
        no_problem_free(&p);
        return;
    }
    cr_assert_fail("no problem '%s' in the default suite", what);
}

/* cand = scratch/cand-<k> for a counter k: a fresh candidate directory name. */
static void fresh_candidate(char *cand, size_t n)
{
    static int k;
    cr_assert_lt((size_t)snprintf(cand, n, "%s/cand-%d", scratch, k++), n);
}

/* ---- running the exporters and check ------------------------------------ */

/* Run examples/<lang>/export_candidate.py PROB CAND FLAGS; returns its exit
 * status (the PyTorch one exits 77 without torch). */
static int export_status(const char *lang, const char *prob, const char *cand, const char *flags,
                         char **err)
{
    char script[PATH_MAX], rel[64], cmd[3 * PATH_MAX + 256];
    snprintf(rel, sizeof rel, "examples/%s/export_candidate.py", lang);
    no_test_repo_path(script, sizeof script, rel);
    cr_assert_lt((size_t)snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s' %s", PYTHON, script,
                                  prob, cand, flags),
                 sizeof cmd);
    run_result r = run_shell(cmd);
    *err = r.err;
    free(r.out);
    return r.status;
}

/* The NumPy exporter, which must succeed. */
static void export_numpy(const char *prob, const char *cand, const char *flags)
{
    char *err, msg[2048];
    int st = export_status("numpy", prob, cand, flags, &err);
    snprintf(msg, sizeof msg, "%s", err);
    free(err); /* before the assertion, which ends the test */
    cr_assert_eq(st, 0, "export_candidate.py %s %s: exit %d (python3-numpy missing? make deps): %s",
                 prob, flags, st, msg);
}

/* Run `check --problem PROB --candidate CAND --json FLAGS`: its exit status
 * in *status, its JSON report (the caller decrefs), after checking that the
 * report is one JSON object whose verdict agrees with the exit status. */
static json_t *check_json(const char *prob, const char *cand, const char *flags, int *status)
{
    flags = flags ? flags : "";
    run_result r = runf("check --problem '%s' --candidate '%s' --json %s", prob, cand, flags);
    *status = r.status;
    json_error_t jerr;
    json_t *o = json_loads(r.out, 0, &jerr);
    if (!o) {
        char msg[2048];
        snprintf(msg, sizeof msg, "check %s %s: exit %d, stdout not JSON (%s): '%s', stderr '%s'",
                 prob, flags, r.status, jerr.text, r.out, r.err);
        run_free(&r); /* before the assertion, which ends the test */
        cr_assert_fail("%s", msg);
    }
    const char *v = json_string_value(json_object_get(o, "verdict"));
    cr_expect(v && !strcmp(v, r.status == 0 ? "pass" : "fail"),
              "check %s: exit %d but verdict %s", prob, r.status, v ? v : "(none)");
    run_free(&r);
    return o;
}

/* The diagnosis's cause, or "(none)". */
static const char *cause_of(const json_t *o)
{
    const char *c = json_string_value(json_object_get(json_object_get(o, "diagnosis"), "cause"));
    return c ? c : "(none)";
}

static const char *detail_of(const json_t *o)
{
    const char *c = json_string_value(json_object_get(json_object_get(o, "diagnosis"), "detail"));
    return c ? c : "";
}

/* check passes CAND on PROB (exit 0); returns the report. */
static json_t *expect_pass(const char *prob, const char *cand, const char *flags, const char *what)
{
    int st;
    json_t *o = check_json(prob, cand, flags, &st);
    cr_expect_eq(st, 0, "%s: check exit %d, expected a pass (diagnosis %s: %s)", what, st,
                 cause_of(o), detail_of(o));
    return o;
}

/* ---- correct implementations pass ---------------------------------------- */

/* Every problem gen writes for the smoke suite passes with the reference
 * read from golden/ (reference_bits is gen's 192, not check's 128). */
Test(examples, numpy_passes_gen_smoke_with_golden)
{
    run_result r = runf("gen --suite smoke --out '%s/smoke'", scratch);
    cr_assert_eq(r.status, 0, "gen: %s", r.err);
    run_free(&r);
    char pattern[PATH_MAX];
    IN_SCRATCH(pattern, "smoke/*/golden/provenance.json");
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0);
    cr_expect_eq(g.gl_pathc, 3, "smoke has 3 problems");
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *prob = g.gl_pathv[i];
        *strstr(prob, "/golden/provenance.json") = 0;
        char cand[PATH_MAX];
        fresh_candidate(cand, sizeof cand);
        export_numpy(prob, cand, "");
        json_t *o = expect_pass(prob, cand, "", prob);
        cr_expect_eq(json_integer_value(json_object_get(o, "reference_bits")), 192,
                     "%s: golden/ not used", prob);
        json_decref(o);
    }
    globfree(&g);
}

/* The NumPy implementation passes on all six field variants, Euler and RK4,
 * discrete and continuous adjoint, and sqrt scaling (linear and mlp). */
Test(examples, numpy_passes_every_kind_of_problem)
{
    const char *problems[] = {
        "linear euler discrete",        "linear rk4 continuous",
        "rff-gaussian euler continuous", "rff-matern rk4 discrete",
        "mlp-tanh euler continuous",     "mlp-softplus rk4 discrete",
        "mlp-relu euler continuous",     "mlp-relu rk4 discrete",
        "linear euler discrete sqrt",    "mlp-tanh euler discrete sqrt",
    };
    for (size_t i = 0; i < sizeof problems / sizeof *problems; i++) {
        char prob[PATH_MAX], cand[PATH_MAX];
        default_problem(problems[i], prob, sizeof prob);
        fresh_candidate(cand, sizeof cand);
        export_numpy(prob, cand, "");
        json_decref(expect_pass(prob, cand, "", problems[i]));
        int tmp = -1;
        no_test_count_entries(cand, &tmp);
        cr_expect_eq(tmp, 0, "%s: the exporter left a temporary file", problems[i]);
    }
}

/* examples/numpy/validate.sh as the README runs it: its exit status is
 * check's, 0 for the correct implementation and 1 for a mutant. */
Test(examples, numpy_validate_sh)
{
    char prob[PATH_MAX], script[PATH_MAX], cmd[3 * PATH_MAX];
    default_problem("mlp-tanh euler discrete", prob, sizeof prob);
    no_test_repo_path(script, sizeof script, "examples/numpy/validate.sh");
    const char *bin = nodeoracle();
    if (!bin)
        cr_skip_test("nodeoracle binary not built");
    const struct {
        const char *export_args;
        int status;
        const char *last;
    } cases[] = {{"", 0, "nodeoracle check: pass"},
                 {"--mutant sign_flip", 1, "nodeoracle check: FAIL"}};
    for (int i = 0; i < 2; i++) {
        int k = snprintf(cmd, sizeof cmd,
                         "NODEORACLE='%s' PYTHON=%s EXPORT_ARGS='%s' TMPDIR='%s' '%s' '%s'", bin,
                         PYTHON, cases[i].export_args, scratch, script, prob);
        cr_assert_lt((size_t)k, sizeof cmd);
        run_result r = run_shell(cmd);
        cr_expect_eq(r.status, cases[i].status, "validate.sh %s: exit %d; stderr '%s'",
                     cases[i].export_args, r.status, r.err);
        cr_expect(strstr(r.out, cases[i].last) != NULL, "validate.sh %s: no '%s' in '%s'",
                  cases[i].export_args, cases[i].last, r.out);
        run_free(&r);
    }
    /* its temporary candidate directory is gone: only the problem is left */
    cr_expect_eq(no_test_count_entries(scratch, NULL), 1 + no_test_count_entries(prob, NULL),
                 "validate.sh left files in TMPDIR");
}

/* ---- mutants: fail, and are named ---------------------------------------- */

/* Each mutant of examples/README.md on a problem where it applies, with the
 * cause check must name (NULL: the mutant changes nothing there and must
 * pass), in groups of a few seconds each (one test per group). */
static const struct {
    const char *group;   /* the test that runs it */
    const char *problem; /* default_problem()'s description */
    const char *mutant;  /* export_candidate.py --mutant */
    const char *cause;   /* the expected diagnosis.cause; NULL: must pass */
    const char *flags;   /* more exporter flags */
} mutants[] = {
    {"linear", "linear euler discrete", "missing_1_over_N", "missing_1_over_N", ""},
    {"linear", "linear euler discrete", "transposed_weights", "transposed_weights", ""},
    {"linear", "linear euler discrete", "depth_off_by_one", "depth_off_by_one", ""},
    {"linear", "linear rk4 discrete", "missing_half", "missing_half", ""},
    {"linear", "linear rk4 discrete", "mean_over_outputs", "mean_over_outputs", ""},
    {"linear", "linear rk4 discrete", "sign_flip", "sign_flip", ""},
    {"linear", "linear rk4 discrete", "continuous_adjoint", "continuous_adjoint", ""},

    {"rff", "rff-gaussian euler discrete", "rff_no_phase", "rff_no_phase", ""},
    {"rff", "rff-gaussian euler discrete", "missing_1_over_L", "missing_1_over_L", ""},
    {"rff", "rff-matern rk4 discrete", "missing_rff_scale", "missing_rff_scale", ""},
    {"rff", "rff-matern rk4 discrete", "continuous_adjoint", "continuous_adjoint", ""},

    {"mlp", "mlp-tanh euler discrete", "missing_1_over_M", "missing_1_over_M", ""},
    {"mlp", "mlp-tanh euler discrete", "transposed_weights", "transposed_weights", ""},
    {"mlp", "mlp-softplus rk4 discrete", "missing_1_over_N", "missing_1_over_N", ""},
    {"mlp", "mlp-softplus rk4 discrete", "depth_off_by_one", "depth_off_by_one", ""},
    {"mlp", "mlp-relu euler continuous", "sign_flip", "sign_flip", ""},

    {"sqrt", "linear euler discrete sqrt", "depth_off_by_one", "depth_off_by_one", ""},
    {"sqrt", "linear euler discrete sqrt", "missing_1_over_L", "missing_1_over_L", ""},
    {"sqrt", "mlp-tanh euler discrete sqrt", "depth_off_by_one", "depth_off_by_one", ""},

    {"low_precision", "linear euler discrete", "low_precision", "low_precision", ""},
    {"low_precision", "rff-gaussian euler discrete", "low_precision", "low_precision", ""},
    {"low_precision", "mlp-softplus rk4 discrete", "low_precision", "low_precision", ""},

    /* declared float32: the tolerance is the measured float32 envelope, not
     * the a-priori model (which exceeds 1 for these rff gradients) */
    {"float32", "rff-gaussian euler discrete", "sign_flip", "sign_flip", "--float32"},
    {"float32", "rff-matern rk4 discrete", "sign_flip", "sign_flip", "--float32"},
    {"float32", "rff-matern rk4 discrete", "continuous_adjoint", "continuous_adjoint",
     "--float32"},
    {"float32", "mlp-tanh euler discrete", "missing_1_over_M", "missing_1_over_M", "--float32"},

    {"no-op", "linear rk4 continuous", "continuous_adjoint", NULL, ""},
    {"no-op", "mlp-tanh euler continuous", "continuous_adjoint", NULL, ""},
    {"no-op", "mlp-tanh euler discrete", "low_precision", NULL, "--float32"},
    {"no-op", "rff-gaussian euler discrete", "low_precision", NULL, "--float32"},
};

static void run_mutants(const char *group)
{
    int ran = 0;
    for (size_t i = 0; i < sizeof mutants / sizeof *mutants; i++) {
        if (strcmp(mutants[i].group, group))
            continue;
        const char *pr = mutants[i].problem, *mu = mutants[i].mutant, *cause = mutants[i].cause;
        char prob[PATH_MAX], cand[PATH_MAX], flags[128];
        default_problem(pr, prob, sizeof prob);
        fresh_candidate(cand, sizeof cand);
        snprintf(flags, sizeof flags, "--mutant %s %s", mu, mutants[i].flags);
        export_numpy(prob, cand, flags);
        int st;
        json_t *o = check_json(prob, cand, "", &st);
        if (cause) {
            cr_expect_eq(st, 1, "%s on %s: check exit %d, expected 1", mu, pr, st);
            double match =
                json_real_value(json_object_get(json_object_get(o, "diagnosis"), "match"));
            cr_expect_str_eq(cause_of(o), cause,
                             "%s on %s: diagnosed %s, expected %s (match %g; %s)", mu, pr,
                             cause_of(o), cause, match, detail_of(o));
        } else {
            cr_expect_eq(st, 0, "%s %s on %s changes nothing, but check exit %d (diagnosis %s)",
                         mu, mutants[i].flags, pr, st, cause_of(o));
        }
        json_decref(o);
        ran++;
    }
    cr_assert_gt(ran, 0, "no mutant in group %s", group);
}

/* The bugs every family can have, on linear problems, Euler and RK4. */
Test(examples, mutants_linear_named) { run_mutants("linear"); }

/* rff's own bugs (the sqrt(2/q) scale, the phase) on both kernels. */
Test(examples, mutants_rff_named) { run_mutants("rff"); }

/* mlp's own bugs (the mean-field 1/M, a and u unpacked in the wrong order)
 * and a bug on a problem that asks for the continuous adjoint. */
Test(examples, mutants_mlp_named) { run_mutants("mlp"); }

/* Under scaling sqrt the step is 1/sqrt(L): forgetting it, or using
 * 1/sqrt(L+1), is still named. */
Test(examples, mutants_sqrt_scaling_named) { run_mutants("sqrt"); }

/* Everything computed in float32 but declared float64 is named
 * low_precision on every family (the diagnosis compares with the reference
 * run in float32). */
Test(examples, mutant_low_precision_named) { run_mutants("low_precision"); }

/* Bugs in float32 candidates declared float32 fail and are named: a gradient
 * of the wrong sign on rff problems, whose a-priori float32 tolerance is
 * above 1, and an RK4 continuous adjoint whose gap (1e-4) is 100x float32's
 * rounding (proofs-notes/tolerance.md, "Lower precisions"). */
Test(examples, mutants_float32_declared_named) { run_mutants("float32"); }

/* A mutant that changes nothing must pass: the continuous adjoint where the
 * problem asks for it, and float32 declared as float32. */
Test(examples, mutants_that_change_nothing_pass) { run_mutants("no-op"); }

/* ---- float32 ------------------------------------------------------------- */

/* An export computed and stored in float32 and declared so passes with
 * float32's tolerance; the same arrays held to float64's fail (--precision
 * overrides candidate.json). */
Test(examples, numpy_float32_declared_passes)
{
    const char *problems[] = {"linear euler discrete", "rff-matern rk4 continuous",
                              "mlp-softplus rk4 discrete"};
    for (int i = 0; i < 3; i++) {
        char prob[PATH_MAX], cand[PATH_MAX];
        default_problem(problems[i], prob, sizeof prob);
        fresh_candidate(cand, sizeof cand);
        export_numpy(prob, cand, "--float32");
        json_t *o = expect_pass(prob, cand, "", problems[i]);
        const char *p = json_string_value(json_object_get(o, "precision"));
        cr_expect(p && !strcmp(p, "float32"), "%s: declared %s", problems[i], p ? p : "?");
        json_decref(o);
        if (i > 0)
            continue; /* (once: the failure runs the diagnosis, seconds) */
        int st;
        o = check_json(prob, cand, "--precision float64", &st);
        cr_expect_eq(st, 1, "%s: float32 outputs pass float64's tolerance", problems[i]);
        json_decref(o);
    }
}

/* ---- step-grid replay ----------------------------------------------------- */

/* scratch/grid.npy: a non-uniform grid for L = 8: each layer [k/8, (k+1)/8]
 * cut into 1, 2 or 3 steps of unequal, non-dyadic lengths. */
static void write_grid(char *path, size_t n)
{
    static const double cuts[3][2] = {{0.3, 0.55}, {0.5, 0}, {0.2, 0.45}};
    double t[64];
    size_t g = 0;
    t[g++] = 0;
    for (int k = 0; k < 8; k++) {
        const double *c = cuts[k % 3];
        for (int j = 0; j < 2 && c[j] > 0; j++)
            t[g++] = (k + c[j]) / 8;
        t[g++] = (k + 1) / 8.0;
    }
    no_array a = {.name = "grid", .ndim = 1, .shape = {g}, .n = g, .v = t};
    char err[256];
    cr_assert_lt((size_t)snprintf(path, n, "%s/grid.npy", scratch), n);
    cr_assert_eq(no_npy_write(path, &a, err, sizeof err), 0, "%s", err);
}

/* A candidate integrated on a non-uniform grid (declared in candidate.json,
 * or given with --grid) passes: check replays that discrete map, and says
 * so.  Without the grid, the same candidate fails against the problem's
 * uniform m-substep map: the replay is what made it pass.  Euler and RK4,
 * discrete and continuous adjoint. */
Test(examples, grid_replay_nonuniform)
{
    const char *problems[] = {"mlp-tanh euler discrete", "rff-gaussian rk4 discrete",
                              "linear rk4 continuous"};
    char grid[PATH_MAX], flags[PATH_MAX + 16];
    write_grid(grid, sizeof grid);
    for (int i = 0; i < 3; i++) {
        char prob[PATH_MAX], cand[PATH_MAX], cj[PATH_MAX + 32];
        default_problem(problems[i], prob, sizeof prob);
        fresh_candidate(cand, sizeof cand);
        snprintf(flags, sizeof flags, "--grid '%s'", grid);
        export_numpy(prob, cand, flags);

        run_result r = runf("check --problem '%s' --candidate '%s'", prob, cand);
        cr_expect_eq(r.status, 0, "%s on its grid: exit %d:\n%s%s", problems[i], r.status, r.out,
                     r.err);
        cr_expect(strstr(r.out, "replaying its step grid") != NULL,
                  "%s: the report does not say it replayed the grid:\n%s", problems[i], r.out);
        run_free(&r);
        json_decref(expect_pass(prob, cand, "", problems[i]));

        /* the grid forgotten: fails */
        snprintf(cj, sizeof cj, "%s/candidate.json", cand);
        cr_assert_eq(unlink(cj), 0);
        int st;
        json_t *o = check_json(prob, cand, "--on-the-fly", &st);
        cr_expect_eq(st, 1, "%s: the grid candidate passes without its grid", problems[i]);
        json_decref(o);

        /* the grid given on the command line instead */
        json_decref(expect_pass(prob, cand, flags, problems[i]));
    }
}

/* candidate.json's grid is relative to the candidate directory, also when
 * that directory is given as a relative path (check used to join the two
 * twice: "cand/cand/grid.npy", fixed in d8c88e8). */
Test(examples, grid_declared_with_relative_candidate_dir)
{
    char grid[PATH_MAX], prob[PATH_MAX], flags[PATH_MAX + 16];
    write_grid(grid, sizeof grid);
    default_problem("linear euler discrete", prob, sizeof prob);
    char cand[PATH_MAX];
    IN_SCRATCH(cand, "cand");
    snprintf(flags, sizeof flags, "--grid '%s'", grid);
    export_numpy(prob, cand, flags);
    cr_assert_eq(chdir(scratch), 0); /* (this test's own process) */
    int st;
    json_t *o = check_json(prob, "cand", "", &st);
    cr_expect_eq(st, 0, "check --candidate cand (relative): exit %d", st);
    json_decref(o);
}

/* A candidate's own scheme is replayed: RK4 outputs on an Euler problem fail
 * as they are, pass with --scheme rk4, and pass when candidate.json declares
 * the scheme (the exporter does with --grid).  The RK4 outputs come from a
 * copy of the problem whose problem.json says rk4 (the exporter has no
 * --scheme flag); the arrays are the same. */
Test(examples, scheme_override_replays_rk4_on_euler_problem)
{
    char prob[PATH_MAX], rk4[PATH_MAX], err[256];
    default_problem("mlp-softplus euler discrete", prob, sizeof prob);
    no_problem p;
    cr_assert_eq(no_problem_dir_read(prob, &p, err, sizeof err), 0, "%s", err);
    p.spec.scheme = NO_SCHEME_RK4;
    IN_SCRATCH(rk4, "rk4-copy");
    cr_assert_eq(no_problem_dir_write(rk4, &p, err, sizeof err), 0, "%s", err);
    no_problem_free(&p);

    char cand[PATH_MAX];
    fresh_candidate(cand, sizeof cand);
    export_numpy(rk4, cand, "");
    int st;
    json_t *o = check_json(prob, cand, "", &st);
    cr_expect_eq(st, 1, "RK4 outputs pass as Euler's");
    json_decref(o);
    json_decref(expect_pass(prob, cand, "--scheme rk4", "--scheme rk4"));

    char grid[PATH_MAX], flags[PATH_MAX + 16];
    write_grid(grid, sizeof grid);
    snprintf(flags, sizeof flags, "--grid '%s'", grid);
    fresh_candidate(cand, sizeof cand);
    export_numpy(rk4, cand, flags);
    json_decref(expect_pass(prob, cand, "", "candidate.json scheme rk4 with a grid"));
}

/* ---- PyTorch ---------------------------------------------------------------- */

/* The PyTorch exporter on each problem (and flags), expecting a pass; the
 * test is skipped when python3-torch is not installed. */
static void torch_cases(const char *const *problems, const char *const *flags, int n)
{
    run_result r = run_shell("'" PYTHON "' -c 'import torch'");
    int have = r.status == 0;
    run_free(&r);
    if (!have)
        cr_skip_test("python3-torch is not installed (apt-get install python3-torch)");
    for (int i = 0; i < n; i++) {
        char prob[PATH_MAX], cand[PATH_MAX], *err;
        default_problem(problems[i], prob, sizeof prob);
        fresh_candidate(cand, sizeof cand);
        int st = export_status("pytorch", prob, cand, flags[i], &err);
        if (st == 77)
            cr_skip_test("examples/pytorch: %s", err);
        cr_expect_eq(st, 0, "pytorch export %s %s: exit %d: %s", problems[i], flags[i], st, err);
        free(err);
        if (st == 0)
            json_decref(expect_pass(prob, cand, "", problems[i]));
    }
}

/* torch.autograd's gradients pass on each family, both schemes and
 * adjoint kinds. */
Test(examples, pytorch_passes)
{
    const char *problems[] = {"linear euler discrete", "rff-matern rk4 continuous",
                              "mlp-softplus rk4 discrete"};
    const char *flags[] = {"", "", ""};
    torch_cases(problems, flags, 3);
}

/* ... and with scaling sqrt, on a non-uniform grid, and in float32. */
Test(examples, pytorch_sqrt_grid_float32_pass)
{
    char grid[PATH_MAX], gflag[PATH_MAX + 16];
    write_grid(grid, sizeof grid);
    snprintf(gflag, sizeof gflag, "--grid '%s'", grid);
    const char *problems[] = {"mlp-tanh euler discrete sqrt", "mlp-relu rk4 continuous",
                              "rff-gaussian euler discrete"};
    const char *flags[] = {"", gflag, "--float32"};
    torch_cases(problems, flags, 3);
}
