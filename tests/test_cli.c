/* cli: the nodeoracle command line (oracle/main.c) as a user meets it.
 *
 * The binary is the one built next to this test binary (build/, build-san/ or
 * build-cov/, found through /proc/self/exe), else ./build/nodeoracle; the
 * test is skipped if neither exists (`make test` builds it first).  Each run
 * captures stdout and stderr in temporary files and the exit status.  The
 * contract checked (its help text, EXIT STATUS): 0 when everything passed,
 * 2 for usage or input errors with exactly one line on stderr, starting with
 * "nodeoracle: ".  No numerical tolerances here: "pass" is the oracle's own
 * verdict. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char bin_path[PATH_MAX + 16];

/* Path of the nodeoracle binary, or NULL. */
static const char *nodeoracle(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            if (snprintf(bin_path, sizeof bin_path, "%s/nodeoracle", self) <
                    (int)sizeof bin_path &&
                access(bin_path, X_OK) == 0)
                return bin_path;
        }
    }
    snprintf(bin_path, sizeof bin_path, "./build/nodeoracle");
    return access(bin_path, X_OK) == 0 ? bin_path : NULL;
}

typedef struct {
    int status;  /* exit status, or -1 if it did not exit normally */
    char *out;   /* stdout */
    char *err;   /* stderr */
} run_result;

static char *slurp(FILE *f)
{
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    cr_assert_not_null(s);
    size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
    s[got] = 0;
    return s;
}

/* Run `nodeoracle ARGS` (args is a shell word list, trusted test input). */
static run_result run(const char *args)
{
    const char *bin = nodeoracle();
    if (!bin)
        cr_skip_test("nodeoracle binary not built (make build/nodeoracle)");
    char out_name[] = "/tmp/nodeoracle-cli-out-XXXXXX", err_name[] = "/tmp/nodeoracle-cli-err-XXXXXX";
    int fo = mkstemp(out_name), fe = mkstemp(err_name);
    cr_assert(fo >= 0 && fe >= 0, "mkstemp failed");
    close(fo);
    close(fe);
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s' </dev/null", bin, args, out_name, err_name);
    int st = system(cmd);
    run_result r;
    r.status = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    FILE *f = fopen(out_name, "r"), *g = fopen(err_name, "r");
    cr_assert(f && g);
    r.out = slurp(f);
    r.err = slurp(g);
    fclose(f);
    fclose(g);
    unlink(out_name);
    unlink(err_name);
    return r;
}

static void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

/* A usage error: exit 2, nothing on stdout, and exactly one line on stderr
 * that starts with "nodeoracle: " (and names what is wrong when want is
 * given). */
static void expect_usage_error(const char *args, const char *want)
{
    run_result r = run(args);
    cr_expect_eq(r.status, 2, "'%s': exit status %d, expected 2", args, r.status);
    size_t len = strlen(r.err);
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += r.err[i] == '\n';
    cr_expect(len > 0 && r.err[len - 1] == '\n' && lines == 1,
              "'%s': stderr is not exactly one line: '%s'", args, r.err);
    cr_expect(!strncmp(r.err, "nodeoracle: ", 12), "'%s': stderr '%s' lacks the prefix", args,
              r.err);
    if (want)
        cr_expect(strstr(r.err, want) != NULL, "'%s': stderr '%s' does not mention '%s'", args,
                  r.err, want);
    cr_expect_eq(strlen(r.out), 0, "'%s': usage error printed on stdout: '%s'", args, r.out);
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

Test(cli, compare_smoke_suite_quiet, .timeout = 120)
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
Test(cli, demo_passes_every_problem, .timeout = 600)
{
    run_result r = run("demo");
    cr_expect_eq(r.status, 0, "exit %d; stderr:\n%s", r.status, r.err);
    cr_expect(strstr(r.out, "26 of 26 problems passed") != NULL, "summary missing:\n%s", r.out);
    cr_expect(strstr(r.out, "FAIL") == NULL, "a failing row:\n%s", r.out);
    run_free(&r);
}
