/* test_run.h - what the command-line tests (test_cli.c, test_examples.c,
 * test_gen_safety.c, test_hostile_io.c, ...) share: finding the nodeoracle
 * binary and the repository, running a command with its stdout, stderr and
 * exit status captured, the error contract of the command, and scratch
 * directories.
 *
 * The binary is the one built next to the test binary (build/, build-san/ or
 * build-cov/, found through /proc/self/exe), else ./build/nodeoracle; a test
 * that needs it is skipped if neither exists (`make test` builds it first).
 * The repository root is the parent of that build directory, else ".".
 * Everything here is static inline: one definition, no unused-function
 * warnings in a file that uses only part of it. */
#ifndef NO_TEST_RUN_H
#define NO_TEST_RUN_H

/* nftw(3) is XSI: a file including this header defines _XOPEN_SOURCE 700
 * before its first #include. */
#if !defined(_XOPEN_SOURCE) || _XOPEN_SOURCE < 500
#error "define _XOPEN_SOURCE 700 before the first #include (nftw)"
#endif

#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "path.h"
#include "test_util.h"

/* NO_TEST_TIMEOUT_S, the one .timeout of the suite: test_util.h. */

/* The directory holding the test binary, or "" if /proc/self/exe fails. */
static inline const char *no_test_exe_dir(void)
{
    static char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    dir[n > 0 ? n : 0] = 0;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        dir[0] = 0;
    return dir;
}

/* Absolute path of the nodeoracle binary, or NULL. */
static inline const char *nodeoracle(void)
{
    static char bin_path[PATH_MAX + 16];
    char cand[PATH_MAX + 16];
    const char *dir = no_test_exe_dir();
    if (dir[0] && snprintf(cand, sizeof cand, "%s/nodeoracle", dir) < (int)sizeof cand &&
        access(cand, X_OK) == 0 && realpath(cand, bin_path))
        return bin_path;
    if (access("./build/nodeoracle", X_OK) == 0 && realpath("./build/nodeoracle", bin_path))
        return bin_path;
    return NULL;
}

/* buf = absolute path of rel (e.g. "examples/numpy/validate.sh") in the
 * repository: beside the build directory, else under the current one.
 * Asserts that it exists. */
static inline void no_test_repo_path(char *buf, size_t n, const char *rel)
{
    const char *dir = no_test_exe_dir();
    char cand[2 * PATH_MAX];
    if (dir[0] && snprintf(cand, sizeof cand, "%s/../%s", dir, rel) < (int)sizeof cand &&
        access(cand, F_OK) == 0 && realpath(cand, buf) && strlen(buf) < n)
        return;
    cr_assert(realpath(rel, cand) != NULL && strlen(cand) < n, "%s not found", rel);
    memcpy(buf, cand, strlen(cand) + 1);
}

typedef struct {
    int status;  /* exit status, or -1 if it did not exit normally */
    char *out;   /* stdout */
    char *err;   /* stderr */
} run_result;

static inline char *slurp_n(FILE *f, size_t *len)
{
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    cr_assert_not_null(s);
    size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
    s[got] = 0;
    if (len)
        *len = got;
    return s;
}

static inline char *slurp(FILE *f)
{
    return slurp_n(f, NULL);
}

/* The result of a command that has ended with status: what it wrote to the
 * files out_name and err_name, which are removed.  Every way of running a
 * command here (and test_hostile_io.c's, under a deadline) ends with it. */
static inline run_result run_collect(int status, const char *out_name, const char *err_name)
{
    run_result r;
    r.status = status;
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

/* Run the shell command cmd (trusted test input) with stdin from /dev/null,
 * capturing stdout and stderr in temporary files. */
static inline run_result run_shell(const char *cmd)
{
    /* No progress lines (oracle/progress.c) unless a test asks for them with
     * its own NODEORACLE_PROGRESS=1 prefix: under valgrind a command runs
     * past the 2 s threshold and its progress would break the "one line on
     * stderr" checks. */
    setenv("NODEORACLE_PROGRESS", "0", 0);
    char out_name[] = "/tmp/nodeoracle-cli-out-XXXXXX";
    char err_name[] = "/tmp/nodeoracle-cli-err-XXXXXX";
    int fo = mkstemp(out_name), fe = mkstemp(err_name);
    cr_assert(fo >= 0 && fe >= 0, "mkstemp failed");
    close(fo);
    close(fe);
    size_t len = strlen(cmd) + 2 * sizeof out_name + 32;
    char *full = malloc(len);
    cr_assert_not_null(full);
    snprintf(full, len, "%s >'%s' 2>'%s' </dev/null", cmd, out_name, err_name);
    int st = system(full);
    free(full);
    return run_collect(st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, out_name, err_name);
}

/* Run `nodeoracle ARGS` (args is a shell word list, trusted test input). */
static inline run_result run(const char *args)
{
    const char *bin = nodeoracle();
    if (!bin)
        cr_skip_test("nodeoracle binary not built (make build/nodeoracle)");
    size_t len = strlen(bin) + strlen(args) + 8;
    char *cmd = malloc(len);
    cr_assert_not_null(cmd);
    snprintf(cmd, len, "'%s' %s", bin, args);
    run_result r = run_shell(cmd);
    free(cmd);
    return r;
}

/* run() with printf-style arguments. */
static inline run_result runf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline run_result runf(const char *fmt, ...)
{
    char args[4 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof args, "command line too long");
    return run(args);
}

static inline void run_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

/* The command's contract for a usage or input error: exit 2, exactly one
 * line on stderr that starts with "nodeoracle: " (and mentions want, when
 * given), and on stdout nothing (no partial output, not even a partial JSON
 * report) or, for a command run with --json, only the error object
 * {"schema", "version", "kind": "error", "command", "error": {"message",
 * "exit_status": 2}} whose message is the one on stderr (docs/check.md, "JSON
 * report").  what names the case in messages. */
static inline void expect_error_result(const run_result *r, const char *what, const char *want)
{
    cr_expect_eq(r->status, 2, "%s: exit status %d, expected 2 (stderr '%s')", what, r->status,
                 r->err);
    size_t len = strlen(r->err);
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += r->err[i] == '\n';
    cr_expect(len > 0 && r->err[len - 1] == '\n' && lines == 1,
              "%s: stderr is not exactly one line: '%s'", what, r->err);
    cr_expect(!strncmp(r->err, "nodeoracle: ", 12), "%s: stderr '%s' lacks the prefix", what,
              r->err);
    if (want)
        cr_expect(strstr(r->err, want) != NULL, "%s: stderr '%s' does not mention '%s'", what,
                  r->err, want);
    if (!r->out[0])
        return;
    json_error_t jerr;
    json_t *o = json_loads(r->out, 0, &jerr);
    json_t *e = json_object_get(o, "error");
    const char *kind = json_string_value(json_object_get(o, "kind"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    cr_expect(o && kind && !strcmp(kind, "error") && msg && msg[0] &&
                  json_integer_value(json_object_get(e, "exit_status")) == 2 &&
                  json_object_size(o) == 5 && json_object_size(e) == 2,
              "%s: stdout is neither empty nor the error object: '%s'", what, r->out);
    cr_expect(msg && strstr(r->err, msg) != NULL,
              "%s: the error object's message '%s' is not stderr's '%s'", what,
              msg ? msg : "(none)", r->err);
    json_decref(o);
}

/* Each cases[i][0] (arguments of nodeoracle) must fail with the usage-error
 * contract above, mentioning cases[i][1] when not NULL, with nothing on
 * stdout; and again with --json appended, now with the error object on
 * stdout (skipped for a case that expects "needs a value": --json would be
 * taken as the value). */
static inline void expect_usage_errors(const char *const (*cases)[2], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        run_result e = run(cases[i][0]);
        expect_error_result(&e, cases[i][0], cases[i][1]);
        cr_expect_eq(e.out[0], 0, "%s: stdout not empty", cases[i][0]);
        run_free(&e);
        if (cases[i][1] && strstr(cases[i][1], "needs a value"))
            continue;
        char withjson[PATH_MAX + 128];
        snprintf(withjson, sizeof withjson, "%s --json", cases[i][0]);
        e = run(withjson);
        expect_error_result(&e, withjson, NULL);
        cr_expect(strstr(e.out, "\"kind\": \"error\"") != NULL, "%s: no error object: '%s'",
                  withjson, e.out);
        run_free(&e);
    }
}

/* ---- the report schema ------------------------------------------------- */

/* Whether /usr/bin/python3 has jsonschema with draft 2020-12 (Debian's
 * python3-jsonschema); schema checks are skipped without it. */
static inline int no_test_have_jsonschema(void)
{
    run_result r = run_shell("/usr/bin/python3 -c 'import jsonschema; "
                             "jsonschema.Draft202012Validator'");
    int ok = r.status == 0;
    run_free(&r);
    return ok;
}

/* Writes text to doc (a scratch path) and validates it against
 * docs/report.schema.json, the schema itself checked first; what names the
 * case.  Without jsonschema: a warning, nothing checked (callers that must
 * check skip the test with no_test_have_jsonschema first). */
static inline void no_test_expect_schema_valid(const char *text, const char *doc,
                                               const char *what)
{
    if (!no_test_have_jsonschema()) {
        cr_log_warn("python3-jsonschema missing: %s not validated", what);
        return;
    }
    char schema[PATH_MAX], cmd[3 * PATH_MAX];
    no_test_repo_path(schema, sizeof schema, "docs/report.schema.json");
    FILE *f = fopen(doc, "w");
    cr_assert_not_null(f, "%s: cannot write %s", what, doc);
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import json, sys, jsonschema\n"
             "schema = json.load(open(sys.argv[1]))\n"
             "jsonschema.Draft202012Validator.check_schema(schema)\n"
             "v = jsonschema.Draft202012Validator(schema)\n"
             "errs = list(v.iter_errors(json.load(open(sys.argv[2]))))\n"
             "[print(list(e.absolute_path), e.message[:400]) for e in errs[:5]]\n"
             "sys.exit(1 if errs else 0)' '%s' '%s'",
             schema, doc);
    run_result r = run_shell(cmd);
    cr_expect_eq(r.status, 0, "%s: not valid against the schema:\n%s%s", what, r.out, r.err);
    run_free(&r);
}

/* ---- scratch directories ---------------------------------------------- */

/* buf (at least 64 bytes) = a fresh directory /tmp/<prefix>XXXXXX. */
static inline void no_test_mkdtemp(char *buf, size_t n, const char *prefix)
{
    cr_assert_lt((size_t)snprintf(buf, n, "/tmp/%sXXXXXX", prefix), n);
    cr_assert_not_null(mkdtemp(buf), "mkdtemp failed");
}

/* rm -rf path: io's no_path_rmtree (depth first, links not followed). */
static inline void no_test_rmtree(const char *path)
{
    char err[256];
    if (path && path[0])
        no_path_rmtree(path, err, sizeof err);
}

/* mkdir -p path, each directory made with mode: its parents may exist
 * already, path itself must not (a test builds a tree it expects to be
 * new). */
static inline void no_test_mkdirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    cr_assert_lt(strlen(path), sizeof buf);
    memcpy(buf, path, strlen(path) + 1);
    for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        cr_assert(mkdir(buf, mode) == 0 || errno == EEXIST, "mkdir %s: %s", buf, strerror(errno));
        *s = '/';
    }
    cr_assert_eq(mkdir(buf, mode), 0, "mkdir %s: %s", buf, strerror(errno));
}

/* NO_TEST_SCRATCH("no_cli_") defines a file's scratch directory: scratch,
 * made fresh as /tmp/no_cli_XXXXXX by scratch_setup (a test's .init) and
 * removed by scratch_teardown (its .fini).  A macro because .init and .fini
 * take no argument and each file has its own prefix, so that a directory
 * left behind names the file that left it. */
#define NO_TEST_SCRATCH(prefix)                                                          \
    static char scratch[64];                                                             \
    static void scratch_setup(void) { no_test_mkdtemp(scratch, sizeof scratch, prefix); } \
    static void scratch_teardown(void) { no_test_rmtree(scratch); }

/* buf (an array) = scratch/name, name printf-style (a name that is not a
 * literal goes through "%s"). */
#define IN_SCRATCH(buf, ...)                                                         \
    do {                                                                             \
        char rel_[PATH_MAX];                                                         \
        cr_assert_lt((size_t)snprintf(rel_, sizeof rel_, __VA_ARGS__), sizeof rel_); \
        cr_assert_lt((size_t)snprintf(buf, sizeof buf, "%s/%s", scratch, rel_),     \
                     sizeof buf);                                                    \
    } while (0)

static int no_test_seen[2];

static inline int no_test_count_entry(const char *path, const struct stat *st, int flag,
                                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0)
        no_test_seen[0]++;
    /* io/atomic.c names its temporaries NAME.tmp.XXXXXX, the examples'
     * exporters .NAME.XXXXXX.tmp */
    const char *name = path + ftw->base;
    size_t n = strlen(name);
    if (strstr(name, ".tmp.") || (n > 4 && !strcmp(name + n - 4, ".tmp")))
        no_test_seen[1]++;
    return 0;
}

/* Number of entries below path (files and directories, path itself not
 * counted; 0 if it does not exist); *tmp (if not NULL) = how many of them
 * are temporary files. */
static inline int no_test_count_entries(const char *path, int *tmp)
{
    no_test_seen[0] = no_test_seen[1] = 0;
    nftw(path, no_test_count_entry, 16, FTW_PHYS);
    if (tmp)
        *tmp = no_test_seen[1];
    return no_test_seen[0];
}

#endif
