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
 *  - float32 exports pass when declared;
 *  - every scheme of the table (docs/schemes.md) with every adjoint kind
 *    the C code knows (discrete, continuous, backsolve), and the examples'
 *    tableaux equal problem/tableau.c's;
 *  - library-style candidates: torchdiffeq's method names (rk4 is the 3/8
 *    rule; odeint = discrete, odeint_adjoint = backsolve) and diffrax's
 *    (Tsit5 on a replayed non-uniform grid), as examples/README.md shows;
 *  - the second generation of mutants (new_mutants_caught): one per
 *    hypothesis family of the diagnosis (docs/check.md), each caught (exit
 *    1) and named by its family's cause;
 *  - a training loop (export_trajectory.py): its trajectory passes
 *    `check --train`, and its mutants fail at the iteration they go wrong.
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
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "problem_dir.h"
#include "suite.h"
#include "tableau.h"
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

        /* the grid forgotten: fails.  (Not on the rff RK4 problem: a failure
         * runs the whole diagnosis, which takes 30 s there, against 0.3 s on
         * the other two.) */
        snprintf(cj, sizeof cj, "%s/candidate.json", cand);
        cr_assert_eq(unlink(cj), 0);
        if (i != 1) {
            int st;
            json_t *o = check_json(prob, cand, "--on-the-fly", &st);
            cr_expect_eq(st, 1, "%s: the grid candidate passes without its grid", problems[i]);
            json_decref(o);
        }

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

/* ---- every scheme of the table, and the library-style candidates -------- */

/* The adjoint kinds the C code knows, by name: discrete and continuous, and
 * backsolve once problem.h has it (no_adjoint_name(2) is then "backsolve"). */
static int adjoint_kinds(const char *names[3])
{
    int n = 0;
    names[n++] = "discrete";
    names[n++] = "continuous";
    if (!strcmp(no_adjoint_name((no_adjoint)2), "backsolve"))
        names[n++] = "backsolve";
    return n;
}

/* dir = scratch/<name>: a problem of the field variant ("linear",
 * "rff-gaussian", "rff-matern", "mlp-tanh", "mlp-softplus", "mlp-relu"),
 * scheme and adjoint kind (by name), written as gen writes it (no golden/).
 * big: the default suite's sizes (N = 12, L = 8, q = 24, M = 6, m = 2,
 * d = 2 -> 4 -> 3; with q = 16, sqrt(q/2) = sqrt(L) and a missing rff scale
 * would be a step 1/sqrt(L)); else smaller ones that keep N, L, M, q, m
 * apart (N = 5, L = 4, q = 6, M = 6, m = 2; q and M are never in one
 * problem). */
static void make_problem(const char *name, const char *var, const char *scheme,
                         const char *adjoint, int big, char *dir, size_t n)
{
    no_spec s;
    no_spec_default(&s);
    s.N = big ? 12 : 5;
    s.d_in = 2;
    s.d_out = 3;
    s.D = 4;
    s.L = big ? 8 : 4;
    s.m = 2;
    s.seed = 7;
    if (!strcmp(var, "linear")) {
        s.family = NO_FAMILY_LINEAR;
    } else if (!strncmp(var, "rff-", 4)) {
        s.family = NO_FAMILY_RFF;
        s.q = big ? 24 : 6;
        s.kernel = strcmp(var + 4, "matern") ? NO_KERNEL_GAUSSIAN : NO_KERNEL_MATERN;
        s.ell = 1.0;
        s.nu = 2.5;
    } else {
        s.family = NO_FAMILY_MLP;
        s.M = 6;
        s.activation = !strcmp(var + 4, "tanh")       ? NO_ACT_TANH
                       : !strcmp(var + 4, "softplus") ? NO_ACT_SOFTPLUS
                                                      : NO_ACT_RELU;
    }
    cr_assert_eq(no_scheme_parse(scheme, &s.scheme), 0, "scheme %s", scheme);
    int a = 0;
    while (strcmp(no_adjoint_name((no_adjoint)a), adjoint))
        cr_assert_lt(++a, 3, "adjoint %s unknown to problem.h", adjoint);
    s.adjoint = (no_adjoint)a;
    cr_assert_lt((size_t)snprintf(dir, n, "%s/%s", scratch, name), n);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s: %s", name, err);
    cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s: %s", name, err);
    no_problem_free(&p);
}

/* Export many NumPy candidates with one Python (starting Python and NumPy
 * is most of an export's time): each line of `lines` is export_candidate.py's
 * argument list, "PROB CAND [flags]"; every export must succeed. */
static void export_numpy_batch(const char *lines)
{
    char script[PATH_MAX], dir[PATH_MAX], py[PATH_MAX], list[PATH_MAX];
    no_test_repo_path(script, sizeof script, "examples/numpy/export_candidate.py");
    snprintf(dir, sizeof dir, "%s", script);
    *strrchr(dir, '/') = 0;
    IN_SCRATCH(py, "batch.py");
    IN_SCRATCH(list, "batch.txt");
    FILE *f = fopen(py, "w");
    cr_assert_not_null(f);
    fprintf(f, "import shlex, sys\nsys.path.insert(0, %s%s%s)\nimport export_candidate as ec\n"
               "bad = [l for l in open(sys.argv[1]) if l.strip() and ec.main(shlex.split(l))]\n"
               "print('failed: ' + ''.join(bad), file=sys.stderr) if bad else None\n"
               "sys.exit(1 if bad else 0)\n",
            "'", dir, "'");
    fclose(f);
    f = fopen(list, "w");
    cr_assert_not_null(f);
    fputs(lines, f);
    fclose(f);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", PYTHON, py, list);
    run_result r = run_shell(cmd);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", r.err);
    int st = r.status;
    run_free(&r);
    cr_assert_eq(st, 0, "batch export: exit %d (python3-numpy missing? make deps): %s", st, msg);
}

/* Append "PROB CAND FLAGS\n" to the batch buffer buf (size n). */
static void batch_add(char *buf, size_t n, const char *prob, const char *cand, const char *flags)
{
    size_t len = strlen(buf);
    cr_assert_lt((size_t)snprintf(buf + len, n - len, "'%s' '%s' %s\n", prob, cand, flags),
                 n - len, "batch too long");
}

/* entry x of the Python tableau (a [num, den] pair or a decimal string) equals
 * r of problem/tableau.c: rationals exactly (cross-multiplied), anything with
 * a decimal string at 512 bits (both decimals have under 100 significant
 * digits, so equal 512-bit roundings mean equal numbers). */
static int tableau_entry_equal(const json_t *x, no_rational r)
{
    if (json_is_array(x) && !r.dec) {
        long long pn = json_integer_value(json_array_get(x, 0));
        long long pd = json_integer_value(json_array_get(x, 1));
        return pd != 0 && r.den != 0 && pn * (long long)r.den == (long long)r.num * pd;
    }
    mpfr_t u, v;
    mpfr_inits2(512, u, v, (mpfr_ptr)0);
    int ok = 1;
    if (json_is_string(x))
        ok &= mpfr_set_str(u, json_string_value(x), 10, MPFR_RNDN) == 0;
    else {
        mpfr_set_si(u, (long)json_integer_value(json_array_get(x, 0)), MPFR_RNDN);
        mpfr_div_si(u, u, (long)json_integer_value(json_array_get(x, 1)), MPFR_RNDN);
    }
    if (r.dec)
        ok &= mpfr_set_str(v, r.dec, 10, MPFR_RNDN) == 0;
    else {
        mpfr_set_si(v, r.num, MPFR_RNDN);
        mpfr_div_si(v, v, r.den, MPFR_RNDN);
    }
    ok &= mpfr_equal_p(u, v) != 0;
    mpfr_clears(u, v, (mpfr_ptr)0);
    return ok;
}

/* The examples' tableaux (examples/numpy/tableaux.py, written from the
 * literature; the PyTorch example imports them) are problem/tableau.c's:
 * the same schemes, orders and stage counts, every coefficient equal (the
 * rationals as fractions, tsit5's decimals digit for digit), and they satisfy
 * their declared order's conditions and not the next order's (tableaux.py,
 * exact arithmetic). */
Test(examples, tableaux_match_problem_tableau_c)
{
    char script[PATH_MAX], cmd[PATH_MAX + 64];
    no_test_repo_path(script, sizeof script, "examples/numpy/tableaux.py");
    snprintf(cmd, sizeof cmd, "'%s' '%s'", PYTHON, script);
    run_result r = run_shell(cmd);
    cr_expect_eq(r.status, 0, "tableaux.py (order conditions): exit %d\n%s%s", r.status, r.out,
                 r.err);
    run_free(&r);
    snprintf(cmd, sizeof cmd, "'%s' '%s' --json", PYTHON, script);
    r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "tableaux.py --json: %s", r.err);
    json_error_t jerr;
    json_t *all = json_loads(r.out, 0, &jerr);
    run_free(&r);
    cr_assert_not_null(all, "tableaux.py --json: %s", jerr.text);
    cr_expect_eq(json_object_size(all), NO_SCHEME_COUNT, "tableaux.py has %zu schemes, C %d",
                 json_object_size(all), NO_SCHEME_COUNT);
    for (int s = 0; s < NO_SCHEME_COUNT; s++) {
        const no_tableau *t = no_tableau_of((no_scheme_id)s);
        json_t *py = json_object_get(all, t->name);
        cr_expect_not_null(py, "scheme %s missing from tableaux.py", t->name);
        if (!py)
            continue;
        cr_expect_eq(json_integer_value(json_object_get(py, "order")), t->order, "%s: order",
                     t->name);
        json_t *a = json_object_get(py, "a"), *b = json_object_get(py, "b");
        cr_expect_eq(json_array_size(b), (size_t)t->stages, "%s: stages", t->name);
        cr_expect_eq(json_array_size(a), (size_t)t->stages, "%s: rows of a", t->name);
        if (json_array_size(a) != (size_t)t->stages || json_array_size(b) != (size_t)t->stages)
            continue;
        for (int i = 0; i < t->stages; i++) {
            cr_expect(tableau_entry_equal(json_array_get(b, i), t->b[i]), "%s: b%d differs",
                      t->name, i + 1);
            json_t *row = json_array_get(a, i);
            cr_expect_eq(json_array_size(row), (size_t)i, "%s: row %d of a", t->name, i + 1);
            for (int j = 0; j < i && j < (int)json_array_size(row); j++)
                cr_expect(tableau_entry_equal(json_array_get(row, j), t->a[i][j]),
                          "%s: a%d%d differs", t->name, i + 1, j + 1);
        }
    }
    json_decref(all);
}

/* The NumPy implementation (generic lam/mu backpropagation, continuous and
 * backsolve adjoints for any explicit tableau) passes on every scheme of
 * the table with every adjoint kind the C code knows, on small problems that
 * go round the field variants. */
Test(examples, numpy_passes_every_scheme_and_adjoint)
{
    static const char *const vars[] = {"linear",   "rff-gaussian", "mlp-tanh",
                                       "rff-matern", "mlp-softplus", "mlp-relu"};
    const char *adj[3];
    int na = adjoint_kinds(adj);
    static char batch[64 * 1024];
    batch[0] = 0;
    char probs[NO_SCHEME_COUNT * 3][PATH_MAX], cands[NO_SCHEME_COUNT * 3][PATH_MAX];
    int k = 0;
    for (int s = 0; s < NO_SCHEME_COUNT; s++)
        for (int a = 0; a < na; a++, k++) {
            const char *sc = no_scheme_name((no_scheme_id)s);
            char name[96];
            snprintf(name, sizeof name, "%s-%s-%s", sc, adj[a], vars[k % 6]);
            make_problem(name, vars[k % 6], sc, adj[a], 0, probs[k], PATH_MAX);
            fresh_candidate(cands[k], PATH_MAX);
            batch_add(batch, sizeof batch, probs[k], cands[k], "");
        }
    export_numpy_batch(batch);
    for (int i = 0; i < k; i++)
        json_decref(expect_pass(probs[i], cands[i], "", strrchr(probs[i], '/') + 1));
}

/* What a torchdiffeq user exports (examples/README.md, "Library-style
 * candidates"): odeint(..., method="rk4") steps with the 3/8 rule, so its
 * candidate passes on a problem that declares rk4-38, with the gradient by
 * autograd through the solver (discrete adjoint) and, on a problem that asks
 * for it, by odeint_adjoint (backsolve).  Mapped onto the classical rk4
 * without saying so (--no-declare), the same candidate fails; declared
 * (candidate.json "scheme": "rk4-38"), check replays it and it passes.
 * torchdiffeq's tsit5 is not in the table: the exporter refuses it. */
Test(examples, library_style_torchdiffeq_rk4)
{
    const char *adj[3];
    int na = adjoint_kinds(adj);
    char p38[PATH_MAX], pbs[PATH_MAX], prk4[PATH_MAX], c[4][PATH_MAX];
    make_problem("tdq-rk4-38", "mlp-tanh", "rk4-38", "discrete", 0, p38, sizeof p38);
    make_problem("tdq-rk4", "mlp-tanh", "rk4", "discrete", 0, prk4, sizeof prk4);
    if (na == 3)
        make_problem("tdq-rk4-38-bs", "mlp-tanh", "rk4-38", "backsolve", 0, pbs, sizeof pbs);
    static char batch[8192];
    batch[0] = 0;
    for (int i = 0; i < 4; i++)
        fresh_candidate(c[i], PATH_MAX);
    batch_add(batch, sizeof batch, p38, c[0], "--method rk4 --adjoint discrete");
    batch_add(batch, sizeof batch, prk4, c[1], "--method torchdiffeq:rk4 --no-declare");
    batch_add(batch, sizeof batch, prk4, c[2], "--method rk4");
    if (na == 3)
        batch_add(batch, sizeof batch, pbs, c[3], "--method rk4 --adjoint backsolve");
    export_numpy_batch(batch);

    json_t *o = expect_pass(p38, c[0], "", "torchdiffeq rk4 odeint on rk4-38");
    const char *sch = json_string_value(json_object_get(o, "scheme"));
    cr_expect(sch && !strcmp(sch, "rk4-38"), "scheme %s", sch ? sch : "?");
    json_decref(o);

    int st;
    o = check_json(prk4, c[1], "", &st);
    cr_expect_eq(st, 1, "torchdiffeq's rk4 (3/8 rule) passes as the classical rk4");
    json_decref(o);
    o = expect_pass(prk4, c[2], "", "torchdiffeq rk4 declared, replayed on an rk4 problem");
    sch = json_string_value(json_object_get(o, "scheme"));
    cr_expect(sch && !strcmp(sch, "rk4-38"), "replayed scheme %s", sch ? sch : "?");
    json_decref(o);
    if (na == 3) {
        json_decref(expect_pass(pbs, c[3], "", "torchdiffeq rk4 odeint_adjoint on backsolve"));
        /* the odeint (discrete) candidate is not the backsolve one */
        o = check_json(pbs, c[0], "", &st);
        cr_expect_eq(st, 1, "an odeint gradient passes as odeint_adjoint's");
        json_decref(o);
    }

    char *err;
    st = export_status("numpy", p38, c[3], "--method tsit5", &err);
    cr_expect_eq(st, 2, "torchdiffeq's tsit5 accepted: exit %d", st);
    cr_expect(strstr(err, "not diffrax's Tsit5") != NULL, "message: %s", err);
    free(err);
}

/* What a diffrax user exports: diffeqsolve(..., Tsit5(), stepsize_controller=
 * PIDController(...)) takes steps of its own choosing; exported with those
 * steps as a grid (every layer boundary a grid point: jump_ts), the candidate
 * passes on a problem that declares tsit5, check replaying the grid, with the
 * default adjoint (RecursiveCheckpointAdjoint: discrete) and BacksolveAdjoint
 * (backsolve).  Dopri5 on the same grid is another method: declared, it is
 * replayed and passes; undeclared, it fails. */
Test(examples, library_style_diffrax_tsit5_grid)
{
    const char *adj[3];
    int na = adjoint_kinds(adj);
    char grid[PATH_MAX], gflag[PATH_MAX + 16], pt[PATH_MAX], pbs[PATH_MAX], c[4][PATH_MAX],
        f[4][PATH_MAX + 64];
    write_grid(grid, sizeof grid);
    snprintf(gflag, sizeof gflag, "--grid '%s'", grid);
    make_problem("dfx-tsit5", "linear", "tsit5", "discrete", 1, pt, sizeof pt);
    if (na == 3)
        make_problem("dfx-tsit5-bs", "linear", "tsit5", "backsolve", 1, pbs, sizeof pbs);
    static char batch[8192];
    batch[0] = 0;
    for (int i = 0; i < 4; i++)
        fresh_candidate(c[i], PATH_MAX);
    snprintf(f[0], sizeof f[0], "--method Tsit5 %s", gflag);
    snprintf(f[1], sizeof f[1], "--method diffrax:Dopri5 %s", gflag);
    snprintf(f[2], sizeof f[2], "--method Dopri5 --no-declare %s", gflag);
    snprintf(f[3], sizeof f[3], "--method Tsit5 --adjoint backsolve %s", gflag);
    batch_add(batch, sizeof batch, pt, c[0], f[0]);
    batch_add(batch, sizeof batch, pt, c[1], f[1]);
    batch_add(batch, sizeof batch, pt, c[2], f[2]);
    if (na == 3)
        batch_add(batch, sizeof batch, pbs, c[3], f[3]);
    export_numpy_batch(batch);

    run_result r = runf("check --problem '%s' --candidate '%s'", pt, c[0]);
    cr_expect_eq(r.status, 0, "diffrax Tsit5 on its grid: exit %d:\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "replaying its step grid") != NULL,
              "the report does not say it replayed the grid:\n%s", r.out);
    run_free(&r);
    json_t *o = expect_pass(pt, c[1], "", "diffrax Dopri5 declared on a tsit5 problem");
    const char *sch = json_string_value(json_object_get(o, "scheme"));
    cr_expect(sch && !strcmp(sch, "dopri5"), "replayed scheme %s", sch ? sch : "?");
    json_decref(o);
    int st;
    o = check_json(pt, c[2], "", &st);
    cr_expect_eq(st, 1, "Dopri5 passes as Tsit5");
    json_decref(o);
    if (na == 3)
        json_decref(expect_pass(pbs, c[3], "", "diffrax Tsit5 BacksolveAdjoint on its grid"));
}

/* ---- the second generation of mutants ------------------------------------ */

/* One mutant per hypothesis family of the diagnosis (examples/README.md),
 * each on a problem where it applies, with the cause the diagnosis names. */

static const struct {
    const char *problem; /* default_problem()'s description, or "small rff" */
    const char *mutant;
    const char *cause;
} new_mutants[] = {
    {"linear euler discrete", "substep_h", "substep_size"},
    {"linear rk4 discrete", "half_mean", "loss_scaled"},
    {"mlp-tanh euler discrete", "extra_half", "loss_scaled"},
    {"linear rk4 discrete", "detached_stage", "backward_error"},
    {"linear euler discrete", "transposed_grad_blocks", "transposed_gradient"},
    {"small rff", "transposed_grad_blocks", "transposed_gradient"},
    {"linear euler discrete", "sqrt_step", "wrong_scaling"},
    {"mlp-tanh euler discrete sqrt", "sqrt_step", "wrong_scaling"},
    {"mlp-tanh euler discrete", "layer_sign", "layer_sign"},
    {"linear euler discrete", "layer_scale", "layer_scale"},
    {"linear rk4 discrete", "layer_shift", "layer_params"},
    {"mlp-tanh euler discrete", "layer_wrap", "layer_params"},
    {"small rff", "rff_phase_dropped", "rff_no_phase+field_scale"},
    {"mlp-tanh euler discrete", "swapped_grad_arrays", "swapped_arrays"},
};

/* The cheapest problems that keep the causes apart: a failure runs the
 * whole diagnosis, seconds on an RK4 or a default-size rff problem, so the
 * rff mutants run on a small rff problem (N = 5, L = 4, q = 6, m = 2: sqrt(q/2)
 * != sqrt(L), so a missing rff scale is not a step 1/sqrt(L)). */
Test(examples, new_mutants_caught)
{
    enum { NM = sizeof new_mutants / sizeof *new_mutants };
    char probs[NM][PATH_MAX], cands[NM][PATH_MAX], flags[64];
    static char batch[32 * 1024];
    batch[0] = 0;
    char small_rff[PATH_MAX];
    make_problem("small-rff", "rff-gaussian", "euler", "discrete", 0, small_rff, sizeof small_rff);
    for (int i = 0; i < NM; i++) {
        if (!strcmp(new_mutants[i].problem, "small rff"))
            memcpy(probs[i], small_rff, sizeof small_rff);
        else
            default_problem(new_mutants[i].problem, probs[i], PATH_MAX);
        fresh_candidate(cands[i], PATH_MAX);
        snprintf(flags, sizeof flags, "--mutant %s", new_mutants[i].mutant);
        batch_add(batch, sizeof batch, probs[i], cands[i], flags);
    }
    export_numpy_batch(batch);
    for (int i = 0; i < NM; i++) {
        const char *pr = new_mutants[i].problem, *mu = new_mutants[i].mutant;
        int st;
        json_t *o = check_json(probs[i], cands[i], "", &st);
        cr_expect_eq(st, 1, "%s on %s: check exit %d, expected 1 (caught)", mu, pr, st);
        cr_expect_str_eq(cause_of(o), new_mutants[i].cause,
                         "%s on %s: diagnosed %s, expected %s (%s)", mu, pr, cause_of(o),
                         new_mutants[i].cause, detail_of(o));
        json_decref(o);
    }
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

/* The PyTorch example on the schemes of the table beyond euler and rk4 and
 * the backsolve adjoint, named as torchdiffeq and diffrax users name them:
 * odeint_adjoint's rk4 (the 3/8 rule, backsolve), dopri5 with the
 * continuous adjoint, diffrax's Tsit5 on a replayed grid, bosh3 by our
 * name.  Skipped without python3-torch. */
Test(examples, pytorch_library_style_schemes)
{
    run_result r = run_shell("'" PYTHON "' -c 'import torch'");
    int have = r.status == 0;
    run_free(&r);
    if (!have)
        cr_skip_test("python3-torch is not installed (apt-get install python3-torch)");
    const char *adj[3];
    int na = adjoint_kinds(adj);
    char grid[PATH_MAX], gflag[PATH_MAX + 32];
    write_grid(grid, sizeof grid);
    snprintf(gflag, sizeof gflag, "--method Tsit5 --grid '%s'", grid);
    const struct {
        const char *name, *var, *scheme, *adjoint, *flags;
        int big;
    } cases[] = {
        {"pt-rk4-38", "mlp-tanh", "rk4-38", na == 3 ? "backsolve" : "discrete",
         na == 3 ? "--method rk4 --adjoint backsolve" : "--method rk4", 0},
        {"pt-dopri5", "rff-gaussian", "dopri5", "continuous", "--method dopri5", 0},
        {"pt-tsit5", "mlp-softplus", "tsit5", "discrete", gflag, 1},
        {"pt-bosh3", "linear", "bosh3", "discrete", "--scheme bosh3", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char prob[PATH_MAX], cand[PATH_MAX], *err;
        make_problem(cases[i].name, cases[i].var, cases[i].scheme, cases[i].adjoint,
                     cases[i].big, prob, sizeof prob);
        fresh_candidate(cand, sizeof cand);
        int st = export_status("pytorch", prob, cand, cases[i].flags, &err);
        if (st == 77)
            cr_skip_test("examples/pytorch: %s", err);
        cr_expect_eq(st, 0, "pytorch export %s %s: exit %d: %s", cases[i].name, cases[i].flags,
                     st, err);
        free(err);
        if (st == 0)
            json_decref(expect_pass(prob, cand, "", cases[i].name));
    }
}

/* ---- a training loop's trajectory: check --train ------------------------ */

/* dir = the one problem `nodeoracle gen OPTS --out scratch/name` writes
 * (small: N = 3, D = 3, L = 3, as tests/test_check_train.c). */
static void gen_small_problem(const char *name, const char *opts, char *dir, size_t n)
{
    run_result r = runf("gen %s --N 3 --D 3 --L 3 --d-out 2 --out '%s/%s'", opts, scratch, name);
    cr_assert_eq(r.status, 0, "gen %s: %s", opts, r.err);
    run_free(&r);
    char pattern[PATH_MAX];
    IN_SCRATCH(pattern, "%s/000-*/problem.json", name);
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "gen %s: no problem", opts);
    cr_assert_eq(g.gl_pathc, 1);
    cr_assert_lt((size_t)snprintf(dir, n, "%s", g.gl_pathv[0]), n);
    *strrchr(dir, '/') = 0;
    globfree(&g);
}

/* examples/numpy/export_trajectory.py PROB CAND FLAGS, which must succeed. */
static void export_trajectory(const char *prob, const char *cand, const char *flags)
{
    char script[PATH_MAX], cmd[3 * PATH_MAX + 256];
    no_test_repo_path(script, sizeof script, "examples/numpy/export_trajectory.py");
    cr_assert_lt((size_t)snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s' %s", PYTHON, script,
                                  prob, cand, flags),
                 sizeof cmd);
    run_result r = run_shell(cmd);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", r.err);
    int st = r.status;
    run_free(&r);
    cr_assert_eq(st, 0, "export_trajectory.py %s %s: exit %d (python3-numpy missing?): %s", prob,
                 flags, st, msg);
}

/* The NumPy training loop (plain GD with the metric gradient, 20 steps at
 * eta = 0.05) passes check --train on linear (with params.npy: theta
 * judged too) and mlp-tanh (the trajectory alone), every iteration judged;
 * its mutants fail (exit 1) at iteration 1 (eta_off: steps with 1.01 eta;
 * raw_gradient: dF/dtheta without the metric's 1/h, M/h), and no
 * temporary directory is left. */
Test(examples, numpy_train_trajectory_passes_mutants_fail)
{
    char lin[PATH_MAX], mlp[PATH_MAX];
    gen_small_problem("tr-linear", "--family linear", lin, sizeof lin);
    gen_small_problem("tr-mlp", "--family mlp --activation tanh --M 4", mlp, sizeof mlp);
    const struct {
        const char *prob, *flags, *quantity; /* quantity: the first failure's, NULL: pass */
    } cases[] = {
        {lin, "--params", NULL},
        {mlp, "", NULL},
        {lin, "--params --mutant eta_off", "theta"},
        {mlp, "--mutant raw_gradient", "F"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char cand[PATH_MAX], flags[128];
        fresh_candidate(cand, sizeof cand);
        snprintf(flags, sizeof flags, "--steps 20 --eta 0.05 %s", cases[i].flags);
        export_trajectory(cases[i].prob, cand, flags);
        int st;
        json_t *o = check_json(cases[i].prob, cand, "--train", &st);
        json_t *ff = json_object_get(o, "first_fail");
        if (!cases[i].quantity) {
            json_t *w = json_object_get(o, "worst");
            cr_expect_eq(st, 0, "%s %s: check --train exit %d", cases[i].prob, flags, st);
            cr_expect_eq(json_integer_value(json_object_get(o, "judged")), 21,
                         "%s: not every iteration judged", flags);
            cr_expect(json_is_null(ff), "%s: a first failure", flags);
            cr_log_info("%s %s: worst error/tolerance %g (%s at n=%d)", cases[i].prob, flags,
                        json_number_value(json_object_get(w, "ratio")),
                        json_string_value(json_object_get(w, "quantity")),
                        (int)json_integer_value(json_object_get(w, "iteration")));
        } else {
            cr_expect_eq(st, 1, "%s %s: check --train exit %d, expected a failure",
                         cases[i].prob, flags, st);
            cr_expect_eq(json_integer_value(json_object_get(ff, "iteration")), 1,
                         "%s: first failing iteration", flags);
            const char *q = json_string_value(json_object_get(ff, "quantity"));
            cr_expect(q && !strcmp(q, cases[i].quantity), "%s: first failure in %s, expected %s",
                      flags, q ? q : "(none)", cases[i].quantity);
        }
        json_decref(o);
    }
    int tmp = -1;
    no_test_count_entries(scratch, &tmp);
    cr_expect_eq(tmp, 0, "the trajectory exporter left a temporary directory");
}
