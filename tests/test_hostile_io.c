/* hostile_io: the io/ layer against files that are not what they claim to
 * be (issue 7, "soundness"):
 *
 *   golden files modified after gen (a negated grad_W.npy must not make a
 *   correct candidate fail: it is an input error naming the file), and
 *   golden directories without the SHA-256 table (refused: regenerate);
 *
 *   special files where a regular one is expected (a FIFO as output.npy,
 *   problem.json, candidate.json, grid.npy or a golden file; a directory;
 *   --grid /dev/stdin): refused at once with "PATH: not a regular file
 *   (a FIFO)", never a read that blocks; absurdly large JSON refused before
 *   it is read;
 *
 *   file names inside a candidate directory (candidate.json's "grid"): an
 *   absolute name, "..", or a symlink that leads out of the directory is
 *   refused; --grid on the command line stays unrestricted.
 *
 * Every case is exit 2 with one line on stderr (test_run.h's
 * expect_error_result) or, for the library, -1 with a one-line message
 * naming the file.  Nothing here may hang: the command runs under a
 * deadline (run_limited kills it and reports -1), and the tests that open a
 * FIFO in this process arm alarm(2) first, so a reader that blocks dies
 * with SIGALRM instead of waiting for Criterion's timeout. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fast.h"
#include "golden.h"
#include "jsonio.h"
#include "npy.h"
#include "problem_dir.h"
#include "ref.h"
#include "test_run.h"
#include "test_util.h"

/* Seconds a command may run before it counts as hung: a check of the tiny
 * problems below takes well under one second, a few under valgrind. */
#define RUN_LIMIT_S 60
/* Seconds an in-process read may block before SIGALRM ends the test. */
#define ALARM_S 30

NO_TEST_SCRATCH("no_hostile_")

/* ---- running the command under a deadline --------------------------------
 *
 * fork + execv, no shell: stdout and stderr go to temporary files, stdin is
 * /dev/null or (stdin_pipe) the read end of a pipe whose write end this
 * process holds open, so a reader of /dev/stdin would wait forever.  After
 * RUN_LIMIT_S the child is killed and the status is -1. */
static run_result run_limited_argv(char *const argv[], int stdin_pipe)
{
    const char *bin = nodeoracle();
    if (!bin)
        cr_skip_test("nodeoracle binary not built");
    char out_name[] = "/tmp/no_hostile_out_XXXXXX", err_name[] = "/tmp/no_hostile_err_XXXXXX";
    int fo = mkstemp(out_name), fe = mkstemp(err_name), p[2] = {-1, -1};
    cr_assert(fo >= 0 && fe >= 0, "mkstemp failed");
    if (stdin_pipe)
        cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork failed");
    if (pid == 0) {
        int in = stdin_pipe ? p[0] : open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        if (stdin_pipe)
            close(p[1]);
        execv(bin, argv);
        _exit(127);
    }
    if (stdin_pipe)
        close(p[0]);
    close(fo);
    close(fe);
    int st = 0, done = 0;
    struct timespec tick = {0, 20 * 1000 * 1000};
    for (long waited = 0; !done && waited < RUN_LIMIT_S * 50L; waited++) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            done = 1;
        else
            nanosleep(&tick, NULL);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    if (stdin_pipe)
        close(p[1]);
    run_result r = run_collect(done && WIFEXITED(st) ? WEXITSTATUS(st) : -1, out_name, err_name);
    if (!done) {
        /* Say so in the message every expectation prints. */
        free(r.err);
        r.err = strdup("(killed: still running after the deadline, a blocked read)");
        cr_assert_not_null(r.err);
    }
    return r;
}

/* nodeoracle check --problem scratch/prob --candidate scratch/cand --json
 * [--grid GRID] [--on-the-fly]. */
static run_result check_pair(const char *grid, int fly, int stdin_pipe)
{
    char prob[PATH_MAX], cand[PATH_MAX];
    IN_SCRATCH(prob, "prob");
    IN_SCRATCH(cand, "cand");
    char *argv[12];
    int k = 0;
    argv[k++] = (char *)"nodeoracle";
    argv[k++] = (char *)"check";
    argv[k++] = (char *)"--problem";
    argv[k++] = prob;
    argv[k++] = (char *)"--candidate";
    argv[k++] = cand;
    argv[k++] = (char *)"--json";
    if (grid) {
        argv[k++] = (char *)"--grid";
        argv[k++] = (char *)grid;
    }
    if (fly)
        argv[k++] = (char *)"--on-the-fly";
    argv[k] = NULL;
    return run_limited_argv(argv, stdin_pipe);
}

/* Exit 0 and the JSON verdict "pass". */
static void expect_pass(run_result *r, const char *what)
{
    cr_expect_eq(r->status, 0, "%s: exit %d, expected 0; stderr '%s'", what, r->status, r->err);
    json_t *o = json_loads(r->out, 0, NULL);
    const char *v = o ? json_string_value(json_object_get(o, "verdict")) : NULL;
    cr_expect(v && !strcmp(v, "pass"), "%s: verdict %s", what, v ? v : "(none)");
    json_decref(o);
}

static void expect_check_error(const char *grid, int stdin_pipe, const char *what,
                               const char *want)
{
    run_result r = check_pair(grid, 0, stdin_pipe);
    expect_error_result(&r, what, want);
    run_free(&r);
}

/* ---- the problem and candidate ------------------------------------------- */

/* A small linear Euler problem (N = 3, d_out = 2, D = 3, L = 3, m = 1) into
 * scratch/prob, with golden/ at 128 bits if golden, and fast/'s outputs
 * (which check passes) into scratch/cand. */
static void write_pair(int golden)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 7);
    no_problem p;
    char err[512], dir[PATH_MAX], path[PATH_MAX];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(dir, "prob");
    cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);
    if (golden) {
        no_arrays vals, bits;
        uint64_t hash;
        cr_assert_eq(ref_certify(&p, 128, &vals, &bits, err, sizeof err), 0, "%s", err);
        cr_assert_eq(no_problem_hash(&p, &hash), 0);
        cr_assert_eq(no_golden_write(dir, &vals, &bits, NULL, 128, hash, "test", err,
                                     sizeof err),
                     0, "%s", err);
        no_arrays_free(&vals);
        no_arrays_free(&bits);
    }
    no_arrays out;
    cr_assert_eq(fast_run(&p, &out, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(dir, "cand");
    cr_assert_eq(mkdir(dir, 0777), 0);
    for (int i = 0; i < out.count; i++) {
        if (!strncmp(out.a[i].name, "mgrad_", 6))
            continue;
        IN_SCRATCH(path, "cand/%s.npy", out.a[i].name);
        cr_assert_eq(no_npy_write(path, &out.a[i], err, sizeof err), 0, "%s", err);
    }
    no_arrays_free(&out);
    no_problem_free(&p);
}

/* The problem's own uniform grid 0, 1/3, 2/3, 1 (L = 3, m = 1) as a .npy at
 * scratch/rel: replaying it reproduces the problem, so check passes. */
static void write_grid(const char *rel)
{
    char path[PATH_MAX], err[512];
    IN_SCRATCH(path, "%s", rel);
    double t[4] = {0, 1.0 / 3, 2.0 / 3, 1};
    no_array a = {.name = "grid", .ndim = 1, .shape = {4}, .n = 4, .v = t};
    cr_assert_eq(no_npy_write(path, &a, err, sizeof err), 0, "%s", err);
}

static void write_text(const char *rel, const char *text)
{
    char path[PATH_MAX];
    IN_SCRATCH(path, "%s", rel);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert(fputs(text, f) >= 0);
    cr_assert_eq(fclose(f), 0);
}

/* Replace scratch/rel by a FIFO (nobody ever writes to it). */
static void make_fifo(const char *rel)
{
    char path[PATH_MAX];
    IN_SCRATCH(path, "%s", rel);
    unlink(path);
    cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo %s: %s", path, strerror(errno));
}

/* ---- item 4: golden files modified after gen ----------------------------- */

/* The pair with golden/ (write_pair(1)); path (PATH_MAX bytes) = its
 * golden/provenance.json, whose JSON is returned: the tests that tamper with
 * provenance.json start from what gen wrote. */
static json_t *pair_provenance(char *path)
{
    write_pair(1);
    cr_assert_lt((size_t)snprintf(path, PATH_MAX, "%s/prob/golden/provenance.json", scratch),
                 (size_t)PATH_MAX);
    json_t *o = json_load_file(path, 0, NULL);
    cr_assert_not_null(o, "%s does not parse", path);
    return o;
}

/* Negate every element of the golden file scratch/rel (a valid .npy still). */
static void negate_npy(const char *rel)
{
    char path[PATH_MAX], err[512];
    IN_SCRATCH(path, "%s", rel);
    no_array a = {.name = "x"};
    cr_assert_eq(no_npy_read(path, &a, 0, err, sizeof err), 0, "%s", err);
    for (size_t e = 0; e < a.n; e++)
        a.v[e] = -a.v[e];
    cr_assert_eq(no_npy_write(path, &a, err, sizeof err), 0, "%s", err);
    free(a.v);
}

/* A correct candidate against a golden/ whose grad_W.npy (then
 * grad_W.bits.npy, loss.npy) was changed after gen: before, the candidate
 * failed (exit 1, "the gradient is wrong"); now check names the file. */
Test(hostile_io, golden_file_modified_after_gen_is_an_input_error, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    write_pair(1);
    run_result r = check_pair(NULL, 0, 0);
    expect_pass(&r, "untouched golden/");
    json_t *o = json_loads(r.out, 0, NULL);
    const char *ref = json_string_value(json_object_get(o, "reference"));
    cr_expect(ref && !strcmp(ref, "golden"), "golden/ not used: %s", r.out);
    json_decref(o);
    run_free(&r);

    negate_npy("prob/golden/grad_W.npy");
    expect_check_error(NULL, 0, "negated golden/grad_W.npy",
                       "golden/grad_W.npy: SHA-256 mismatch with provenance.json");
    negate_npy("prob/golden/grad_W.npy"); /* back: the same bytes again */
    r = check_pair(NULL, 0, 0);
    expect_pass(&r, "grad_W.npy restored");
    run_free(&r);

    /* the bits: 1000 correct bits claimed everywhere */
    char path[PATH_MAX], err[512];
    IN_SCRATCH(path, "prob/golden/grad_W.bits.npy");
    no_array a = {.name = "bits"};
    cr_assert_eq(no_npy_read(path, &a, 0, err, sizeof err), 0, "%s", err);
    for (size_t e = 0; e < a.n; e++)
        a.v[e] = 1000;
    cr_assert_eq(no_npy_write(path, &a, err, sizeof err), 0, "%s", err);
    free(a.v);
    expect_check_error(NULL, 0, "golden/grad_W.bits.npy changed", "grad_W.bits.npy: SHA-256");
}

/* Truncating or removing a golden file, and --golden forcing it. */
Test(hostile_io, golden_file_truncated_or_missing, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    write_pair(1);
    char path[PATH_MAX];
    IN_SCRATCH(path, "prob/golden/loss.npy");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(truncate(path, st.st_size - 8), 0);
    expect_check_error(NULL, 0, "truncated golden/loss.npy", "loss.npy");
    cr_assert_eq(unlink(path), 0);
    expect_check_error(NULL, 0, "missing golden/loss.npy", "loss.npy");
}

/* provenance.json of the old format (no "sha256"): refused, with the advice
 * to regenerate.  Before, it was used unverified.  So is a table that lacks
 * a file check reads. */
Test(hostile_io, golden_without_hashes_is_refused, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX];
    json_t *o = pair_provenance(path);
    json_t *sha = json_deep_copy(json_object_get(o, "sha256"));
    json_object_del(o, "sha256");
    cr_assert_eq(json_dump_file(o, path, JSON_INDENT(2)), 0);
    expect_check_error(NULL, 0, "provenance.json without sha256", "regenerate");

    /* one file's hash left out */
    json_object_del(sha, "grad_W.bits.npy");
    json_object_set_new(o, "sha256", sha);
    cr_assert_eq(json_dump_file(o, path, JSON_INDENT(2)), 0);
    json_decref(o);
    expect_check_error(NULL, 0, "no hash for grad_W.bits.npy", "no SHA-256 for grad_W.bits.npy");
}

/* The hashes gen records: a "sha256" object with one member per golden
 * file (NAME.npy, NAME.bits.npy, NAME.txt of every output array), each the
 * file's SHA-256 in 64 lowercase hex digits, as sha256sum(1) computes it
 * (an implementation independent of the one under test). */
Test(hostile_io, golden_provenance_records_sha256_of_every_file, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX];
    json_t *o = pair_provenance(path);
    json_t *sha = json_object_get(o, "sha256");
    cr_assert(json_is_object(sha), "provenance.json has no \"sha256\" object");
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 7);
    no_array lay[NO_MAX_ARRAYS];
    int n = no_outputs_layout(&s, lay);
    cr_expect_eq(json_object_size(sha), (size_t)(3 * n), "%zu hashes for %d arrays",
                 json_object_size(sha), n);
    const char *suffix[3] = {".npy", ".bits.npy", ".txt"};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            char name[NO_NAME_LEN + 16], cmd[2 * PATH_MAX], line[256];
            snprintf(name, sizeof name, "%.31s%s", lay[i].name, suffix[k]);
            const char *hex = json_string_value(json_object_get(sha, name));
            cr_expect_not_null(hex, "no SHA-256 for %s", name);
            if (!hex)
                continue;
            IN_SCRATCH(path, "prob/golden/%s", name);
            cr_assert_lt((size_t)snprintf(cmd, sizeof cmd, "sha256sum '%s'", path), sizeof cmd);
            FILE *f = popen(cmd, "r");
            cr_assert_not_null(f);
            cr_assert_not_null(fgets(line, sizeof line, f), "sha256sum printed nothing");
            pclose(f);
            cr_expect(strlen(hex) == 64 && !strncmp(line, hex, 64),
                      "%s: provenance says %s, sha256sum %.64s", name, hex, line);
        }
    json_decref(o);
}

/* A malformed table in provenance.json: a member named like a path, a hash
 * that is not 64 lowercase hex digits, not an object. */
Test(hostile_io, golden_provenance_bad_sha256_table, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char dir[PATH_MAX], path[PATH_MAX], err[512];
    json_t *good = pair_provenance(path);
    IN_SCRATCH(dir, "prob");
    const char *hex = json_string_value(json_object_get(json_object_get(good, "sha256"),
                                                        "loss.npy"));
    cr_assert_not_null(hex);
    const struct {
        const char *what, *key, *value; /* key NULL: "sha256" itself is value */
    } bad[] = {
        {"a path as a name", "../X.npy", hex},
        {"a name with a slash", "sub/loss.npy", hex},
        {"upper-case hex", "loss.npy",
         "ABCDEF0123456789ABCDEF0123456789" "ABCDEF0123456789ABCDEF0123456789"},
        {"63 digits", "loss.npy",
         "abcdef0123456789abcdef0123456789" "abcdef0123456789abcdef012345678"},
        {"not a string", "loss.npy", NULL},
        {"not an object", NULL, "[]"},
    };
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++) {
        json_t *o = json_deep_copy(good);
        if (bad[c].key)
            json_object_set_new(json_object_get(o, "sha256"), bad[c].key,
                                bad[c].value ? json_string(bad[c].value) : json_integer(7));
        else
            json_object_set_new(o, "sha256", json_loads(bad[c].value, JSON_DECODE_ANY, NULL));
        cr_assert_eq(json_dump_file(o, path, JSON_INDENT(2)), 0);
        json_decref(o);
        no_golden_provenance pv;
        err[0] = 0;
        cr_expect_eq(no_golden_provenance_read(dir, &pv, err, sizeof err), -1, "%s: accepted",
                     bad[c].what);
        cr_expect(strstr(err, "provenance.json") && strstr(err, "sha256") && !strchr(err, '\n'),
                  "%s: message '%s'", bad[c].what, err);
    }
    json_decref(good);
}

/* ---- item 7: special files ------------------------------------------------ */

/* A FIFO where check reads a file: refused at once, never a blocked read.
 * Before, every one of these hung until killed. */
Test(hostile_io, fifo_inputs_are_refused_not_read, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    const struct {
        const char *file;  /* made a FIFO, below scratch */
        int golden;        /* the pair has golden/ */
        const char *json;  /* candidate.json to write first, or NULL */
    } cases[] = {
        {"cand/output.npy", 0, NULL},
        {"cand/grad_W.npy", 0, NULL},
        {"cand/states.npy", 0, NULL}, /* an optional one */
        {"prob/problem.json", 0, NULL},
        {"prob/X.npy", 0, NULL},
        {"cand/candidate.json", 0, NULL},
        {"cand/grid.npy", 0, "{\"grid\": \"grid.npy\"}"},
        {"prob/golden/provenance.json", 1, NULL},
        {"prob/golden/grad_W.npy", 1, NULL},
        {"prob/golden/loss.bits.npy", 1, NULL},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        no_test_rmtree(scratch);
        cr_assert_eq(mkdir(scratch, 0700), 0);
        write_pair(cases[c].golden);
        if (cases[c].json)
            write_text("cand/candidate.json", cases[c].json);
        make_fifo(cases[c].file);
        char want[PATH_MAX];
        snprintf(want, sizeof want, "%s: not a regular file (a FIFO)", cases[c].file);
        expect_check_error(NULL, 0, cases[c].file, want);
    }
}

/* --grid /dev/stdin (allowed on the command line, which is not confined):
 * stdin a pipe that stays open without data, then /dev/null (a character
 * device). */
Test(hostile_io, grid_from_stdin_is_refused, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    write_pair(0);
    expect_check_error("/dev/stdin", 1, "--grid /dev/stdin, stdin an open pipe",
                       "not a regular file (a FIFO)");
    expect_check_error("/dev/stdin", 0, "--grid /dev/stdin, stdin /dev/null",
                       "not a regular file (a character device)");
}

/* A directory where a file belongs. */
Test(hostile_io, directory_as_input_file, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    write_pair(0);
    char path[PATH_MAX];
    IN_SCRATCH(path, "cand/output.npy");
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkdir(path, 0700), 0);
    expect_check_error(NULL, 0, "output.npy a directory",
                       "output.npy: not a regular file (a directory)");
}

/* The library readers themselves, in this process (alarm: a blocking open
 * ends the test instead of hanging it). */
Test(hostile_io, readers_refuse_fifos_in_process, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    alarm(ALARM_S);
    char path[PATH_MAX], err[512];
    make_fifo("a.npy");
    IN_SCRATCH(path, "a.npy");
    no_array a = {.name = "a"};
    err[0] = 0;
    cr_expect_eq(no_npy_read(path, &a, 0, err, sizeof err), -1);
    cr_expect_null(a.v);
    cr_expect(strstr(err, "a.npy: not a regular file (a FIFO)") && !strchr(err, '\n'),
              "message '%s'", err);
    make_fifo("b.json");
    IN_SCRATCH(path, "b.json");
    json_t *o = (json_t *)1;
    err[0] = 0;
    cr_expect_eq(no_jsonio_load(path, &o, err, sizeof err), -1);
    cr_expect_null(o);
    cr_expect(strstr(err, "b.json: not a regular file (a FIFO)") && !strchr(err, '\n'),
              "message '%s'", err);
    err[0] = 0;
    cr_expect_eq(no_jsonio_load("/dev/null", &o, err, sizeof err), -1);
    cr_expect(strstr(err, "/dev/null: not a regular file (a character device)") != NULL,
              "message '%s'", err);
    alarm(0);
}

/* A JSON file far larger than any problem.json, candidate.json or
 * provenance.json (valid JSON: "{}" and 2 MiB of spaces) is refused from its
 * size, before it is read. */
Test(hostile_io, oversized_json_is_refused_before_reading, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX], err[512];
    IN_SCRATCH(path, "big.json");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{}", f);
    for (int i = 0; i < 2 << 20; i++)
        fputc(' ', f);
    cr_assert_eq(fclose(f), 0);
    json_t *o = NULL;
    err[0] = 0;
    int rc = no_jsonio_load(path, &o, err, sizeof err);
    cr_expect_eq(rc, -1, "a 2 MiB JSON file was read");
    if (!rc)
        json_decref(o);
    cr_expect(strstr(err, "big.json") && strstr(err, "bytes") && strstr(err, "limit"),
              "message '%s'", err);
}

/* ---- item 8: names inside the candidate directory ------------------------ */

/* candidate.json's "grid" may only name a file inside the candidate
 * directory.  Each case names a valid grid (one check would pass with)
 * outside it: before, every one was read and check passed (exit 0), or
 * /etc/passwd was opened. */
Test(hostile_io, candidate_grid_confined_to_candidate_dir, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    write_pair(0);
    char outside[PATH_MAX], dir[PATH_MAX], json[2 * PATH_MAX];
    IN_SCRATCH(dir, "outside");
    cr_assert_eq(mkdir(dir, 0700), 0);
    write_grid("outside/grid.npy");
    IN_SCRATCH(outside, "outside/grid.npy");

    /* control: the same grid inside passes (and is replayed) */
    write_grid("cand/grid.npy");
    write_text("cand/candidate.json", "{\"grid\": \"grid.npy\"}");
    run_result r = check_pair(NULL, 0, 0);
    expect_pass(&r, "grid.npy inside");
    cr_expect(strstr(r.out, "grid.npy") != NULL, "grid not replayed: %s", r.out);
    run_free(&r);

    write_text("cand/candidate.json", "{\"grid\": \"../outside/grid.npy\"}");
    expect_check_error(NULL, 0, "grid ../outside/grid.npy", "outside the candidate directory");

    write_text("cand/candidate.json", "{\"grid\": \"../../../../../../../../etc/passwd\"}");
    expect_check_error(NULL, 0, "grid ../../../../etc/passwd", "outside the candidate directory");

    write_text("cand/candidate.json", "{\"grid\": \"sub/../../outside/grid.npy\"}");
    char sub[PATH_MAX];
    IN_SCRATCH(sub, "cand/sub");
    cr_assert_eq(mkdir(sub, 0700), 0);
    expect_check_error(NULL, 0, "grid sub/../../outside", "outside the candidate directory");

    cr_assert_lt((size_t)snprintf(json, sizeof json, "{\"grid\": \"%s\"}", outside), sizeof json);
    write_text("cand/candidate.json", json);
    expect_check_error(NULL, 0, "grid an absolute path", "absolute");

    write_text("cand/candidate.json", "{\"grid\": \"/dev/stdin\"}");
    expect_check_error(NULL, 0, "grid /dev/stdin", "absolute");

    /* a symlink inside that leads out (relative and absolute targets) */
    char link[PATH_MAX];
    IN_SCRATCH(link, "cand/link.npy");
    cr_assert_eq(symlink("../outside/grid.npy", link), 0);
    write_text("cand/candidate.json", "{\"grid\": \"link.npy\"}");
    expect_check_error(NULL, 0, "grid a symlink out", "outside the candidate directory");
    cr_assert_eq(unlink(link), 0);
    cr_assert_eq(symlink(outside, link), 0);
    expect_check_error(NULL, 0, "grid an absolute symlink out", "outside the candidate directory");

    /* a symlinked directory inside that leads out */
    char ldir[PATH_MAX];
    IN_SCRATCH(ldir, "cand/ldir");
    cr_assert_eq(symlink("../outside", ldir), 0);
    write_text("cand/candidate.json", "{\"grid\": \"ldir/grid.npy\"}");
    expect_check_error(NULL, 0, "grid through a symlinked directory",
                       "outside the candidate directory");

    /* a missing grid: named, as before (the reader's "cannot open"); but a
     * missing one outside is refused as outside, and a symlink to nothing
     * (its target could appear anywhere) as unopenable */
    write_text("cand/candidate.json", "{\"grid\": \"nosuch.npy\"}");
    expect_check_error(NULL, 0, "grid missing", "nosuch.npy: cannot open");
    write_text("cand/candidate.json", "{\"grid\": \"../nosuch.npy\"}");
    expect_check_error(NULL, 0, "grid ../nosuch.npy", "outside the candidate directory");
    IN_SCRATCH(link, "cand/dangling.npy");
    cr_assert_eq(symlink("../outside/later.npy", link), 0);
    write_text("cand/candidate.json", "{\"grid\": \"dangling.npy\"}");
    expect_check_error(NULL, 0, "grid a dangling symlink", "dangling.npy\" cannot be opened");
}

/* What stays allowed: a grid in a subdirectory, a symlink that stays inside,
 * a candidate directory reached through a symlink, and --grid on the
 * command line anywhere (the user named it). */
Test(hostile_io, grid_inside_and_command_line_grid_still_work, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    write_pair(0);
    char path[PATH_MAX], outside[PATH_MAX];
    IN_SCRATCH(path, "cand/sub");
    cr_assert_eq(mkdir(path, 0700), 0);
    write_grid("cand/sub/g.npy");
    write_text("cand/candidate.json", "{\"grid\": \"sub/g.npy\"}");
    run_result r = check_pair(NULL, 0, 0);
    expect_pass(&r, "grid in a subdirectory");
    run_free(&r);

    IN_SCRATCH(path, "cand/in.npy");
    cr_assert_eq(symlink("sub/g.npy", path), 0);
    write_text("cand/candidate.json", "{\"grid\": \"./in.npy\"}");
    r = check_pair(NULL, 0, 0);
    expect_pass(&r, "a symlink that stays inside");
    run_free(&r);

    /* the candidate directory itself through a symlink */
    char real[PATH_MAX], alias[PATH_MAX], prob[PATH_MAX];
    IN_SCRATCH(real, "cand");
    IN_SCRATCH(alias, "alias");
    IN_SCRATCH(prob, "prob");
    cr_assert_eq(symlink(real, alias), 0);
    char *argv[] = {"nodeoracle", "check", "--problem", prob, "--candidate", alias, "--json",
                    NULL};
    r = run_limited_argv(argv, 0);
    expect_pass(&r, "candidate directory through a symlink");
    run_free(&r);

    IN_SCRATCH(outside, "outside.npy");
    write_grid("outside.npy");
    IN_SCRATCH(path, "cand/candidate.json");
    cr_assert_eq(unlink(path), 0);
    r = check_pair(outside, 0, 0);
    expect_pass(&r, "--grid outside the candidate directory");
    run_free(&r);
}
