/* cli: the nodeoracle command line (oracle/main.c) as a user meets it.
 *
 * The binary is the one built next to this test binary (build/, build-san/ or
 * build-cov/, found through /proc/self/exe), else ./build/nodeoracle; the
 * test is skipped if neither exists (`make test` builds it first).  Each run
 * captures stdout and stderr in temporary files and the exit status
 * (tests/test_run.h).  The contract checked (its help text, EXIT STATUS): 0
 * when everything passed, 1 when an array failed, 2 for usage or input
 * errors with exactly one line on stderr, starting with "nodeoracle: ", and
 * nothing on stdout.  `gen` and `check` are also fed hostile input (files,
 * directories, flags) and must write nothing.  No numerical tolerances here:
 * "pass" is the oracle's own verdict. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fast.h"
#include "npy.h"
#include "problem_dir.h"
#include "test_run.h"
#include "test_util.h"

/* A usage error: exit 2, nothing on stdout, and exactly one line on stderr
 * that starts with "nodeoracle: " (and names what is wrong when want is
 * given). */
static void expect_usage_error(const char *args, const char *want)
{
    run_result r = run(args);
    expect_error_result(&r, args, want);
    run_free(&r);
}

Test(cli, help_is_a_manual_page)
{
    const char *forms[] = {"--help", "-h", "help"};
    for (int i = 0; i < 3; i++) {
        run_result r = run(forms[i]);
        cr_expect_eq(r.status, 0, "%s: exit %d", forms[i], r.status);
        cr_expect(strstr(r.out, "NAME") && strstr(r.out, "SYNOPSIS") &&
                      strstr(r.out, "EXIT STATUS"),
                  "%s: help lacks NAME/SYNOPSIS/EXIT STATUS", forms[i]);
        cr_expect_eq(strlen(r.err), 0, "%s: help wrote to stderr: %s", forms[i], r.err);
        run_free(&r);
    }
}

/* `help compare` (and `compare --help`) list the problem options. */
Test(cli, help_compare_lists_problem_options)
{
    const char *forms[] = {"help compare", "compare --help"};
    for (int i = 0; i < 2; i++) {
        run_result r = run(forms[i]);
        cr_expect_eq(r.status, 0, "%s: exit %d", forms[i], r.status);
        const char *opts[] = {"PROBLEM OPTIONS", "--family", "--scheme", "--N", "--L",
                              "--seed", "--suite", "--prec"};
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
            cr_expect(strstr(r.out, opts[k]) != NULL, "%s: '%s' not listed", forms[i], opts[k]);
        run_free(&r);
    }
}

Test(cli, usage_errors_exit_2_with_one_line)
{
    expect_usage_error("", NULL);              /* no command */
    expect_usage_error("frobnicate", "frobnicate");
    expect_usage_error("help frobnicate", NULL);
    expect_usage_error("compare --frobnicate 1", "--frobnicate");
    expect_usage_error("compare --N", NULL);   /* option without its value */
    expect_usage_error("compare stray", NULL); /* argument that is not an option */
}

Test(cli, bad_values_exit_2)
{
    expect_usage_error("compare --scheme rk5", "--scheme");
    expect_usage_error("compare --N -3", "--N");
    expect_usage_error("compare --N abc", "--N");
    expect_usage_error("compare --prec 10", "--prec");
    expect_usage_error("compare --prec 99999999", "--prec");
    expect_usage_error("compare --nu nan", "--nu");
    expect_usage_error("compare --N 0", "N");           /* parses, fails validation */
    expect_usage_error("compare --family rff --q 0", "q");
}

Test(cli, suite_errors_exit_2)
{
    expect_usage_error("compare --suite nosuch", "nosuch");
    expect_usage_error("compare --suite smoke --family rff", "--suite");
    expect_usage_error("compare --family rff --suite smoke", "--suite");
}

/* sqrt scaling is defined for Euler only (SPEC 1): a validation error. */
Test(cli, sqrt_scaling_with_rk4_exit_2)
{
    expect_usage_error("compare --scaling sqrt --scheme rk4", "sqrt");
}

/* A small valid problem: ref and fast agree, exit 0, the table says pass. */
Test(cli, compare_one_problem_passes)
{
    run_result r = run("compare --family linear --L 2 --N 2");
    cr_expect_eq(r.status, 0, "exit %d; stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "pass") != NULL, "no 'pass' in:\n%s", r.out);
    cr_expect(strstr(r.out, "1 of 1 problems passed") != NULL, "summary missing:\n%s", r.out);
    run_free(&r);
}

Test(cli, compare_smoke_suite_quiet, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("compare --suite smoke --quiet");
    cr_expect_eq(r.status, 0, "exit %d; stdout:\n%s\nstderr:\n%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "problems passed") != NULL, "summary missing:\n%s", r.out);
    run_free(&r);
}

Test(cli, version)
{
    run_result r = run("--version");
    cr_expect_eq(r.status, 0);
    cr_expect(!strncmp(r.out, "nodeoracle ", 11), "version line '%s'", r.out);
    run_free(&r);
}

/* The README's main job: `nodeoracle demo` (every family x scheme x adjoint
 * kind) passes every array of every problem.  The count 26 is the default
 * suite of oracle/suite.c: 6 variants x 2 schemes x 2 adjoint kinds + 2 sqrt. */
Test(cli, demo_passes_every_problem, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("demo");
    cr_expect_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
    cr_expect(strstr(r.out, "26 of 26 problems passed") != NULL, "summary missing:\n%s", r.out);
    cr_expect(strstr(r.out, "FAIL") == NULL, "a failing row:\n%s", r.out);
    run_free(&r);
}

/* ---- gen and check: the commands on hostile input ------------------------
 *
 * The library-level readers are tested file by file in test_formats.c; here
 * it is the command a user runs: for every bad input, exit 2, exactly one
 * line on stderr starting with "nodeoracle: ", nothing on stdout (not even a
 * partial JSON object with --json), and nothing written to disk.  A good
 * pair is made first (a problem written by the library, a candidate from
 * fast/, which check must pass), then broken one file at a time and restored
 * afterwards.  A non-finite value in a *candidate output* is not an input
 * error but a failure (exit 1, docs/formats.md). */

NO_TEST_SCRATCH("no_cli_")

/* Write p's outputs as computed by fast/ as a candidate in dir (every array
 * but the metric gradients, which check does not read). */
static void write_fast_candidate(const no_problem *p, const char *dir)
{
    no_arrays out;
    char err[256], path[PATH_MAX];
    cr_assert_eq(fast_run(p, &out, err, sizeof err), 0, "%s", err);
    mkdir(dir, 0777);
    for (int i = 0; i < out.count; i++) {
        if (!strncmp(out.a[i].name, "mgrad_", 6))
            continue;
        cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s.npy", dir, out.a[i].name),
                     sizeof path);
        cr_assert_eq(no_npy_write(path, &out.a[i], err, sizeof err), 0, "%s", err);
    }
    no_arrays_free(&out);
}

/* scratch/prob: a small linear Euler problem (N = 3, d_out = 2, D = 3, L = 3);
 * scratch/cand: fast's outputs for it. */
static void write_good_pair(void)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 7);
    no_problem p;
    char err[256], dir[PATH_MAX];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(dir, "prob");
    cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(dir, "cand");
    write_fast_candidate(&p, dir);
    no_problem_free(&p);
}

static run_result check_pair(const char *extra)
{
    return runf("check --problem '%s/prob' --candidate '%s/cand' --json %s", scratch, scratch,
                extra);
}

/* Write n bytes at offset into the existing file path, or (offset -1) make
 * path hold exactly those bytes. */
static void put_bytes(const char *path, long offset, const void *data, size_t n)
{
    FILE *f = fopen(path, offset < 0 ? "wb" : "r+b");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert(!fseek(f, offset < 0 ? 0 : offset, SEEK_SET) && fwrite(data, 1, n, f) == n,
              "cannot write %s", path);
    fclose(f);
}

/* The header length of the version 1.0 .npy file at path (its data start
 * at 10 + that). */
static size_t npy_header_len(const char *path)
{
    unsigned char pre[10];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    size_t got = fread(pre, 1, sizeof pre, f);
    fclose(f);
    cr_assert(got == sizeof pre && pre[6] == 1, "%s: not a version 1.0 .npy", path);
    return (size_t)pre[8] | (size_t)pre[9] << 8;
}

/* Rewrite the header dict of the .npy file at path (version 1.0, as numpy and
 * nodeoracle write it) with dict, padded with spaces to the same length, so
 * the data stay where they were. */
static void patch_npy_header(const char *path, const char *dict)
{
    size_t hlen = npy_header_len(path), k = strlen(dict);
    char h[1024];
    cr_assert(k + 1 <= hlen && hlen <= sizeof h, "%s: header too short for %s", path, dict);
    memcpy(h, dict, k);
    memset(h + k, ' ', hlen - k - 1);
    h[hlen - 1] = '\n';
    put_bytes(path, 10, h, hlen);
}

/* Overwrite the first element of the float64 .npy file at path with v. */
static void poke_first_double(const char *path, double v)
{
    put_bytes(path, 10 + (long)npy_header_len(path), &v, sizeof v);
}

/* The JSON object in path with member key removed (spec "key") or set
 * (spec "key=VALUE", VALUE in JSON). */
static void edit_json(const char *path, const char *spec)
{
    json_error_t jerr;
    json_t *o = json_load_file(path, 0, &jerr);
    cr_assert_not_null(o, "%s: %s", path, jerr.text);
    char key[64];
    const char *eq = strchr(spec, '=');
    size_t k = eq ? (size_t)(eq - spec) : strlen(spec);
    cr_assert_lt(k, sizeof key);
    memcpy(key, spec, k);
    key[k] = 0;
    if (eq) {
        json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, &jerr);
        cr_assert_not_null(v, "%s: %s", spec, jerr.text);
        json_object_set_new(o, key, v);
    } else {
        cr_assert_eq(json_object_del(o, key), 0, "%s: no member %s", path, key);
    }
    cr_assert_eq(json_dump_file(o, path, JSON_SORT_KEYS), 0);
    json_decref(o);
}

#define F8_HEADER(shape, order) \
    "{'descr': '<f8', 'fortran_order': " order ", 'shape': " shape ", }"

/* How a hostile case breaks the good pair. */
typedef enum {
    EDIT_NONE,   /* nothing: the flags are the error */
    EDIT_CUT,    /* truncate the file to n bytes (n < 0: remove -n bytes) */
    EDIT_BYTES,  /* write arg at offset n (n = -1: the whole file) */
    EDIT_HEADER, /* replace the .npy header dict by arg */
    EDIT_UNLINK, /* remove the file */
    EDIT_JSON,   /* edit_json(file, arg) */
    EDIT_NAN,    /* a NaN as the first element */
} edit_kind;

static const struct {
    const char *what, *want; /* the case; what stderr must mention */
    const char *file;        /* below scratch */
    edit_kind edit;
    const char *arg;
    long n;
    const char *flags;       /* more check flags */
} hostile[] = {
    {"output.npy: data cut short", "truncated", "cand/output.npy", EDIT_CUT, NULL, -5, ""},
    {"output.npy: header cut short", "output.npy", "cand/output.npy", EDIT_CUT, NULL, 100, ""},
    {"output.npy: wrong magic", "magic", "cand/output.npy", EDIT_BYTES, "X", 1, ""},
    {"output.npy: dtype <i4", "<i4", "cand/output.npy", EDIT_HEADER,
     "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 2), }", 0, ""},
    {"output.npy: shape (2, 3), N x d_out is 3 x 2", "(3, 2)", "cand/output.npy", EDIT_HEADER,
     F8_HEADER("(2, 3)", "False"), 0, ""},
    {"output.npy: fortran_order None", "fortran_order", "cand/output.npy", EDIT_HEADER,
     F8_HEADER("(3, 2)", "None"), 0, ""},
    {"output.npy: shape (2**40, 2**40)", "overflow", "cand/output.npy", EDIT_HEADER,
     F8_HEADER("(1099511627776, 1099511627776)", "False"), 0, ""},
    {"grad_W.npy (required) missing", "grad_W", "cand/grad_W.npy", EDIT_UNLINK, NULL, 0, ""},
    {"problem.json: member seed missing", "seed", "prob/problem.json", EDIT_JSON, "seed", 0, ""},
    {"problem.json: an extra member", "colour", "prob/problem.json", EDIT_JSON,
     "colour=\"blue\"", 0, ""},
    {"problem.json: N a string", "\"N\"", "prob/problem.json", EDIT_JSON, "N=\"3\"", 0, ""},
    {"problem.json: L a float", "\"L\"", "prob/problem.json", EDIT_JSON, "L=3.0", 0, ""},
    {"problem's X.npy: a NaN", "NaN", "prob/X.npy", EDIT_NAN, NULL, 0, ""},
    {"candidate.json: precision a number", "precision", "cand/candidate.json", EDIT_BYTES,
     "{\"precision\": 32}", -1, ""},
    {"candidate.json: unknown precision", "float16", "cand/candidate.json", EDIT_BYTES,
     "{\"precision\": \"float16\"}", -1, ""},
    {"candidate.json: an extra member", "colour", "cand/candidate.json", EDIT_BYTES,
     "{\"colour\": 1}", -1, ""},
    {"candidate.json: not JSON", "candidate.json", "cand/candidate.json", EDIT_BYTES,
     "{\"precision\": ", -1, ""},
    {"candidate.json: grid file missing", "nosuch.npy", "cand/candidate.json", EDIT_BYTES,
     "{\"grid\": \"nosuch.npy\"}", -1, ""},
    {"--precision float16", "--precision", NULL, EDIT_NONE, NULL, 0, "--precision float16"},
    {"--golden without golden/", "golden", NULL, EDIT_NONE, NULL, 0, "--golden"},
};

static void break_file(size_t c)
{
    char path[PATH_MAX];
    if (hostile[c].file)
        IN_SCRATCH(path, "%s", hostile[c].file);
    struct stat st;
    switch (hostile[c].edit) {
    case EDIT_CUT:
        cr_assert_eq(stat(path, &st), 0);
        cr_assert_eq(truncate(path, hostile[c].n < 0 ? st.st_size + hostile[c].n : hostile[c].n),
                     0);
        break;
    case EDIT_BYTES:
        put_bytes(path, hostile[c].n, hostile[c].arg, strlen(hostile[c].arg));
        break;
    case EDIT_HEADER:
        patch_npy_header(path, hostile[c].arg);
        break;
    case EDIT_UNLINK:
        cr_assert_eq(unlink(path), 0);
        break;
    case EDIT_JSON:
        edit_json(path, hostile[c].arg);
        break;
    case EDIT_NAN:
        poke_first_double(path, NAN);
        break;
    case EDIT_NONE:
        break;
    }
}

/* One hostile input per case: break it, run check, expect the error
 * contract and that check wrote or removed nothing, restore the good pair. */
Test(cli, check_hostile_inputs_exit_2_and_write_nothing, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    write_good_pair();
    run_result r = check_pair("");
    cr_assert_eq(r.status, 0, "the good pair does not pass: %s%s", r.out, r.err);
    run_free(&r);
    for (size_t c = 0; c < sizeof hostile / sizeof *hostile; c++) {
        break_file(c);
        int before = no_test_count_entries(scratch, NULL), tmp = -1;
        r = check_pair(hostile[c].flags);
        expect_error_result(&r, hostile[c].what, hostile[c].want);
        run_free(&r);
        cr_expect_eq(no_test_count_entries(scratch, &tmp), before,
                     "%s: files were created or removed", hostile[c].what);
        cr_expect_eq(tmp, 0, "%s: a temporary file was left", hostile[c].what);
        no_test_rmtree(scratch); /* restore */
        cr_assert_eq(mkdir(scratch, 0700), 0);
        write_good_pair();
    }
}

/* A candidate output with NaN or Inf is a failing candidate, not a bad file:
 * exit 1, a complete JSON report whose verdict is "fail". */
Test(cli, check_nonfinite_candidate_fails_exit_1, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    write_good_pair();
    char out[PATH_MAX];
    IN_SCRATCH(out, "cand/output.npy");
    const double bad[2] = {NAN, INFINITY};
    for (int i = 0; i < 2; i++) {
        poke_first_double(out, bad[i]);
        run_result r = check_pair("");
        cr_expect_eq(r.status, 1, "%g in output.npy: exit %d, stderr '%s'", bad[i], r.status,
                     r.err);
        json_error_t jerr;
        json_t *o = json_loads(r.out, 0, &jerr);
        cr_expect_not_null(o, "%g: stdout is not JSON (%s): '%s'", bad[i], jerr.text, r.out);
        const char *v = json_string_value(json_object_get(o, "verdict"));
        cr_expect(v && !strcmp(v, "fail"), "%g: verdict %s", bad[i], v ? v : "(none)");
        json_decref(o);
        run_free(&r);
    }
}

/* gen writes complete problem directories with golden/ and leaves no
 * temporary file; it creates the missing parents of --out.  check on such a
 * problem reads golden/ (reference_bits = gen's 192) and refuses golden
 * values made for other inputs (a changed X.npy). */
Test(cli, gen_writes_complete_problems, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = runf("gen --suite smoke --out '%s/a/b'", scratch);
    cr_assert_eq(r.status, 0, "gen: exit %d, stderr '%s'", r.status, r.err);
    cr_expect(strstr(r.out, "wrote 3 problems") != NULL, "stdout '%s'", r.out);
    run_free(&r);
    int tmp = -1;
    char path[PATH_MAX];
    IN_SCRATCH(path, "a/b");
    cr_expect_gt(no_test_count_entries(path, &tmp), 3 * 10, "too few files written");
    cr_expect_eq(tmp, 0, "gen left a temporary file");

    /* the first problem of the suite: linear */
    IN_SCRATCH(path, "a/b/000-linear-euler-discrete-L8-m2-dout3");
    no_problem p;
    char err[256], cand[PATH_MAX];
    cr_assert_eq(no_problem_dir_read(path, &p, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(cand, "cand");
    write_fast_candidate(&p, cand);
    r = runf("check --problem '%s' --candidate '%s' --json", path, cand);
    cr_expect_eq(r.status, 0, "check: exit %d, stderr '%s'", r.status, r.err);
    json_t *o = json_loads(r.out, 0, NULL);
    cr_expect_eq(json_integer_value(json_object_get(o, "reference_bits")), 192,
                 "golden/ not used: '%s'", r.out);
    json_decref(o);
    run_free(&r);

    /* other inputs: X changed (still finite) */
    no_problem_free(&p);
    cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/a/b/000-linear-euler-discrete-L8-m2-dout3/X.npy",
                                  scratch), sizeof path);
    poke_first_double(path, 0.5);
    r = runf("check --problem '%s/a/b/000-linear-euler-discrete-L8-m2-dout3' --candidate '%s'", scratch,
             cand);
    expect_error_result(&r, "golden/ for other inputs", "golden");
    run_free(&r);
}

/* gen's usage and environment errors: exit 2, one line, and nothing created
 * (an unknown suite is refused before --out is made; --out below a regular
 * file cannot be made). */
Test(cli, gen_errors_leave_nothing, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char file[PATH_MAX], path[PATH_MAX];
    IN_SCRATCH(file, "file");
    put_bytes(file, -1, "x", 1);
    struct {
        const char *args, *want;
    } cases[] = {
        {"gen --suite nosuch --out '%s/out'", "nosuch"},
        {"gen --suite smoke --out '%s/file/out'", "file"},
        {"gen --suite smoke --frobnicate '%s/out'", "--frobnicate"},
        {"gen --suite smoke --prec 10 --out '%s/out'", "--prec"},
        {"gen --out '%s/out'", "--suite"},
        {"gen --suite smoke --family rff --out '%s/out'", "either --suite or problem options"},
        {"gen --family rff --L 0 --out '%s/out'", "L"},
        {"gen --family rff --scheme rk5 --out '%s/out'", "--scheme"},
        {"gen --suite smoke --out", NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        run_result r = runf(cases[c].args, scratch);
        snprintf(path, sizeof path, cases[c].args, scratch);
        expect_error_result(&r, path, cases[c].want);
        run_free(&r);
        cr_expect_eq(no_test_count_entries(scratch, NULL), 1, "%s: created files", path);
    }
}

/* gen of one problem, given by compare's problem options: one directory
 * named by its sizes (docs/formats.md, "gen's layout"), with golden/, whose
 * problem.json says what the options said; any scheme and adjoint kind. */
Test(cli, gen_one_problem, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = runf("gen --family mlp --activation softplus --M 5 --scheme tsit5 --m 3 "
                        "--adjoint continuous --L 4 --N 6 --d-out 3 --out '%s/one'",
                        scratch);
    cr_assert_eq(r.status, 0, "gen: exit %d, stderr '%s'", r.status, r.err);
    const char *name = "000-mlp-softplus-M5-tsit5-continuous-L4-m3-dout3";
    cr_expect(strstr(r.out, "wrote 1 problem") && strstr(r.out, name), "stdout '%s'", r.out);
    run_free(&r);
    char path[PATH_MAX];
    IN_SCRATCH(path, "one");
    cr_expect_eq(no_test_count_entries(path, NULL) > 10, 1, "too few files");
    IN_SCRATCH(path, "one/%s/golden/provenance.json", name);
    cr_expect_eq(access(path, F_OK), 0, "%s missing", path);
    IN_SCRATCH(path, "one/%s", name);
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_dir_read(path, &p, err, sizeof err), 0, "%s", err);
    cr_expect(p.spec.family == NO_FAMILY_MLP && p.spec.activation == NO_ACT_SOFTPLUS &&
              p.spec.M == 5 && p.spec.scheme == NO_SCHEME_TSIT5 && p.spec.m == 3 &&
              p.spec.adjoint == NO_ADJOINT_CONTINUOUS && p.spec.L == 4 && p.spec.N == 6 &&
              p.spec.d_out == 3);
    no_problem_free(&p);
}

/* A conflict at the third problem (its directory, named as in
 * oracle/cmd_gen.c, is in the way: a foreign directory, not an earlier
 * output) exits 2 with the error as the last line of stderr, prints no
 * summary, leaves the foreign directory as it was and no temporary file or
 * directory; a failed gen publishes nothing, so the problems before it are
 * not written either (tests/test_gen_safety.c has the rest). */
Test(cli, gen_failure_midway, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX];
    IN_SCRATCH(path, "out/002-mlp-tanh-M6-euler-discrete-L8-m2-dout3");
    no_test_mkdirs(path, 0700);
    IN_SCRATCH(path, "out/002-mlp-tanh-M6-euler-discrete-L8-m2-dout3/golden");
    put_bytes(path, -1, "x", 1);
    run_result r = runf("gen --suite smoke --out '%s/out'", scratch);
    cr_expect_eq(r.status, 2, "exit %d", r.status);
    const char *last = r.err;
    for (const char *q = r.err; *q; q++)
        if (q[0] == '\n' && q[1])
            last = q + 1;
    cr_expect(!strncmp(last, "nodeoracle: ", 12) && strstr(last, "002-mlp-tanh") &&
                  strchr(last, '\n') == last + strlen(last) - 1,
              "last line of stderr '%s'", last);
    cr_expect_eq(strlen(r.out), 0, "stdout '%s'", r.out);
    run_free(&r);
    int tmp = -1;
    IN_SCRATCH(path, "out/002-mlp-tanh-M6-euler-discrete-L8-m2-dout3");
    cr_expect_eq(no_test_count_entries(path, NULL), 1, "the foreign directory was changed");
    no_test_count_entries(scratch, &tmp);
    cr_expect_eq(tmp, 0, "a temporary file or directory was left");
    const char *done[] = {"out/000-linear-euler-discrete-L8-m2-dout3/golden/provenance.json",
                          "out/001-rff-gaussian-q24-euler-discrete-L8-m2-dout3/golden/provenance.json"};
    for (int i = 0; i < 2; i++) {
        IN_SCRATCH(path, "%s", done[i]);
        cr_expect_neq(access(path, F_OK), 0, "%s written by a failed gen", done[i]);
    }
}

/* SPEC 6: golden doubles are correctly rounded, proven per element.  At
 * --prec 70 the reference certifies about 66 bits of some adjoint entries,
 * and with 13 bits beyond the double's 53 some entry of the first default
 * problem (hundreds of them) lies too near a rounding boundary to prove:
 * gen refuses (exit 2, names the entry, asks for more precision) and leaves
 * no problem directory, complete or partial.  Then a second gen into the
 * same directory replaces the earlier output of a first one. */
Test(cli, gen_proves_correct_rounding_and_replaces_its_output, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX];
    run_result r = runf("gen --suite default --prec 70 --out '%s/out'", scratch);
    cr_expect_eq(r.status, 2, "exit %d", r.status);
    cr_expect(strstr(r.err, "not provably correctly rounded") && strstr(r.err, "raise --prec"),
              "stderr '%s'", r.err);
    run_free(&r);
    IN_SCRATCH(path, "out");
    int tmp = -1;
    cr_expect_eq(no_test_count_entries(path, &tmp), 0, "a problem directory was left");
    cr_expect_eq(tmp, 0, "a temporary was left");
    int entries[2];
    for (int i = 0; i < 2; i++) {
        r = runf("gen --suite smoke --out '%s/out'", scratch);
        cr_expect_eq(r.status, 0, "gen #%d: exit %d, stderr '%s'", i + 1, r.status, r.err);
        run_free(&r);
        entries[i] = no_test_count_entries(path, &tmp);
        cr_expect_eq(tmp, 0, "gen #%d left a temporary", i + 1);
    }
    cr_expect_gt(entries[0], 3);
    cr_expect_eq(entries[0], entries[1], "the second gen left %d entries, the first %d",
                 entries[1], entries[0]);
}

Test(cli, check_and_gen_usage, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *helps[] = {"check --help", "help check", "gen --help", "help gen"};
    for (int i = 0; i < 4; i++) {
        run_result r = run(helps[i]);
        cr_expect_eq(r.status, 0, "%s: exit %d", helps[i], r.status);
        cr_expect(strstr(r.out, "SYNOPSIS") != NULL, "%s: no SYNOPSIS", helps[i]);
        run_free(&r);
    }
    expect_usage_error("check --frobnicate", "--frobnicate");
    expect_usage_error("check", "--problem");
    expect_usage_error("check --problem /nonexistent", "--candidate");
    expect_usage_error("check --problem a --candidate b --golden --on-the-fly", "--golden");
    expect_usage_error("check --problem a --candidate b --precision float16", "--precision");
    expect_usage_error("check --problem a --candidate b --scheme rk5", "--scheme");
    expect_usage_error("check --problem a --candidate b --prec 10", "--prec");
    expect_usage_error("check --problem a --candidate", NULL);
    expect_usage_error("check --problem /nonexistent --candidate /nonexistent", "/nonexistent");
}
