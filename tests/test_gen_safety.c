/* gen_safety: `nodeoracle gen` never loses data (issue 7, items 10-12;
 * docs/check.md, "What gen replaces, and what it never touches").
 *
 *   - it replaces only what it wrote itself: a problem directory is replaced
 *     only when every entry in it is listed in its .nodeoracle-manifest; a
 *     foreign entry (or no manifest) is refused, exit 2, naming it, and the
 *     user's files are kept;
 *   - a reader running meanwhile sees every file of the old or of the new
 *     directory, never a missing one (the swap is renameat2 RENAME_EXCHANGE);
 *   - a failed gen leaves --out as it found it: validation before anything
 *     is created, every destination checked before any is replaced, a
 *     failure while publishing rolls back the ones already swapped;
 *   - temporaries left by a killed gen are removed by the next one, but only
 *     those whose name and contents show that gen wrote them.
 *
 * Problems are told apart by golden/provenance.json's "precision": the first
 * gen writes 192 bits (the default), a later one 200. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#define _DEFAULT_SOURCE   /* flock, ioctl: the lock and immutable-flag tests */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_run.h"

NO_TEST_SCRATCH("no_gensafe_")

/* The smoke suite's directories, named as in oracle/cmd_gen.c. */
static const char *const smoke[3] = {"000-linear-euler-discrete-L8-m2-dout3",
                                     "001-rff-gaussian-q24-euler-discrete-L8-m2-dout3",
                                     "002-mlp-tanh-M6-euler-discrete-L8-m2-dout3"};

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    cr_assert_eq(fclose(f), 0);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* `gen --suite smoke --out scratch/out [--prec prec]`, which must pass. */
static void gen_smoke(const char *out, long prec)
{
    run_result r = runf("gen --suite smoke --prec %ld --out '%s/%s'", prec, scratch, out);
    cr_assert_eq(r.status, 0, "gen --prec %ld: exit %d, stderr '%s'", prec, r.status, r.err);
    run_free(&r);
}

/* golden/provenance.json's precision of scratch/out/problem (-1: unreadable). */
static long gen_precision(const char *out, const char *problem)
{
    char path[PATH_MAX];
    cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s/%s/golden/provenance.json", scratch,
                                  out, problem), sizeof path);
    json_t *o = json_load_file(path, 0, NULL);
    long p = o ? (long)json_integer_value(json_object_get(o, "precision")) : -1;
    json_decref(o);
    return p;
}

/* Every smoke problem in scratch/out has precision prec; the message for
 * one that has not ends with why ("was replaced", ...). */
static void expect_smoke_precision(long prec, const char *why)
{
    for (int i = 0; i < 3; i++)
        cr_expect_eq(gen_precision("out", smoke[i]), prec, "%s %s", smoke[i], why);
}

/* How many entries of dir (not recursive) have ".tmp." in their name. */
static int count_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* A failure found after problems were built: gen's progress lines, then
 * the error as the last line ("nodeoracle: ..." naming want), nothing on
 * stdout, exit 2. */
static void expect_last_line_error(const run_result *r, const char *what, const char *want)
{
    cr_expect_eq(r->status, 2, "%s: exit %d, stderr '%s'", what, r->status, r->err);
    const char *last = r->err;
    for (const char *q = r->err; *q; q++)
        if (q[0] == '\n' && q[1])
            last = q + 1;
    cr_expect(!strncmp(last, "nodeoracle: ", 12) && strstr(last, want) &&
                  strchr(last, '\n') == last + strlen(last) - 1,
              "%s: last line of stderr '%s' does not name %s", what, last, want);
    cr_expect_eq(strlen(r->out), 0, "%s: stdout '%s'", what, r->out);
}

/* ---- item 10: gen replaces only what it wrote -------------------------- */

/* `gen --suite smoke OPTS--out scratch/out` (opts "" or ending in a
 * space) is refused before anything is written: exit 2, one line naming
 * want, nothing on stdout. */
static void expect_gen_refused(const char *opts, const char *what, const char *want)
{
    run_result r = runf("gen --suite smoke %s--out '%s/out'", opts, scratch);
    expect_error_result(&r, what, want);
    run_free(&r);
}

/* A gen --prec 200 over scratch/out (gen's problems at 192 bits, and an
 * entry of the user's) is refused and replaces no problem. */
static void expect_regen_refused(const char *what, const char *want)
{
    expect_gen_refused("--prec 200 ", what, want);
    expect_smoke_precision(192, "was replaced");
}

/* file (PATH_MAX bytes) = scratch/out/problem/name, written with text, in a
 * directory of that name that gen did not make (it has no manifest). */
static void put_foreign_file(char *file, const char *problem, const char *name, const char *text)
{
    char dir[PATH_MAX];
    IN_SCRATCH(dir, "out/%s", problem);
    no_test_mkdirs(dir, 0777);
    cr_assert_lt((size_t)snprintf(file, PATH_MAX, "%s/%s", dir, name), (size_t)PATH_MAX);
    put_file(file, text);
}

/* A candidate directory the user made inside a problem directory, or a file
 * next to problem.json, is not gen's: gen refuses (exit 2, one line naming
 * it), keeps it, and replaces no problem at all.  Once the user's entry is
 * gone, gen replaces its own output again. */
Test(gen_safety, foreign_entries_are_kept, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX], file[PATH_MAX];
    gen_smoke("out", 192);
    IN_SCRATCH(path, "out/000-linear-euler-discrete-L8-m2-dout3/my_candidate");
    cr_assert_eq(mkdir(path, 0777), 0);
    IN_SCRATCH(file, "out/000-linear-euler-discrete-L8-m2-dout3/my_candidate/output.npy");
    put_file(file, "mine");

    expect_regen_refused("a candidate inside a problem directory", "my_candidate");
    cr_expect(exists(file), "the user's my_candidate/output.npy was deleted");
    IN_SCRATCH(file, "out");
    cr_expect_eq(count_temporaries(file), 0, "a temporary was left");

    /* a file at the top of another problem directory */
    no_test_rmtree(path);
    IN_SCRATCH(file, "out/001-rff-gaussian-q24-euler-discrete-L8-m2-dout3/notes.txt");
    put_file(file, "mine");
    expect_regen_refused("a file next to problem.json", "notes.txt");
    cr_expect(exists(file), "the user's notes.txt was deleted");

    cr_assert_eq(unlink(file), 0);

    /* a symbolic link where gen wrote a file: refused, never followed */
    char target[PATH_MAX];
    IN_SCRATCH(target, "precious.txt");
    put_file(target, "mine");
    IN_SCRATCH(file, "out/002-mlp-tanh-M6-euler-discrete-L8-m2-dout3/golden/loss.txt");
    cr_assert_eq(unlink(file), 0);
    cr_assert_eq(symlink(target, file), 0);
    expect_regen_refused("a symbolic link in golden/", "golden/loss.txt");
    cr_expect(exists(target) && exists(file), "the link or its target was removed");
    cr_assert_eq(unlink(file), 0);

    /* gone: gen replaces its own output */
    gen_smoke("out", 200);
    expect_smoke_precision(200, "was not replaced");
    IN_SCRATCH(path, "out");
    cr_expect_eq(count_temporaries(path), 0, "a temporary was left");
}

/* A directory with a problem.json but no manifest (the user's own problem,
 * or an output of a gen before manifests) is not known to be gen's: refused,
 * naming the missing manifest, every file kept.  So is one whose manifest
 * lacks the header line, and a regular file where a problem directory
 * goes. */
Test(gen_safety, directory_without_manifest_is_kept, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX], file[PATH_MAX];
    put_foreign_file(file, "000-linear-euler-discrete-L8-m2-dout3", "problem.json", "{\"mine\": 1}");
    expect_gen_refused("", "no manifest", ".nodeoracle-manifest");
    cr_expect(exists(file), "the user's problem.json was deleted");
    IN_SCRATCH(path, "out");
    cr_expect_eq(no_test_count_entries(path, NULL), 2, "gen changed --out");

    /* a manifest that is not gen's (garbage) proves nothing */
    IN_SCRATCH(path, "out/000-linear-euler-discrete-L8-m2-dout3/.nodeoracle-manifest");
    put_file(path, "problem.json\n");
    expect_gen_refused("", "a manifest without its header", "not a manifest");
    cr_expect(exists(file), "the user's problem.json was deleted");

    /* a regular file where a problem directory goes */
    IN_SCRATCH(path, "out/001-rff-gaussian-q24-euler-discrete-L8-m2-dout3");
    put_file(path, "mine");
    IN_SCRATCH(file, "out/000-linear-euler-discrete-L8-m2-dout3");
    no_test_rmtree(file);
    expect_gen_refused("", "a file in the way", "001-rff-gaussian-q24-euler-discrete-L8-m2-dout3: exists");
    cr_expect(exists(path), "the user's file was deleted");
    IN_SCRATCH(path, "out");
    cr_expect_eq(no_test_count_entries(path, NULL), 1, "gen changed --out");
}

/* ---- item 11: a concurrent reader never misses a file -------------------- */

static volatile sig_atomic_t reader_stop;

static void reader_on_term(int sig)
{
    (void)sig;
    reader_stop = 1;
}

/* Read path whole; 0 if it opened and holds at least min bytes starting
 * with head. */
static int read_whole(const char *path, size_t min, const char *head)
{
    char buf[8192], first[16] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0) {
        if (!got)
            memcpy(first, buf, (size_t)k < sizeof first ? (size_t)k : sizeof first);
        got += (size_t)k;
    }
    close(fd);
    return k < 0 || got < min || strncmp(first, head, strlen(head)) ? -1 : 0;
}

/* The child: read problem.json, X.npy and golden/provenance.json of every
 * smoke problem until SIGTERM, then write "reads failures" to fd. */
static void reader_loop(const char *out, int fd)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reader_on_term;
    sigaction(SIGTERM, &sa, NULL);
    static const char *const files[3][2] = {
        {"problem.json", "{"}, {"X.npy", "\x93NUMPY"}, {"golden/provenance.json", "{"}};
    long reads = 0, fails = 0;
    while (!reader_stop)
        for (int i = 0; i < 3; i++)
            for (int f = 0; f < 3; f++) {
                char path[2 * PATH_MAX];
                snprintf(path, sizeof path, "%s/%s/%s", out, smoke[i], files[f][0]);
                reads++;
                fails += read_whole(path, 16, files[f][1]) != 0;
            }
    char msg[64];
    int n = snprintf(msg, sizeof msg, "%ld %ld\n", reads, fails);
    if (write(fd, msg, (size_t)n) != n)
        _exit(1);
    _exit(0);
}

/* A reader looping over the problem directories while gen replaces them
 * eight times sees every file every time (zero failed reads). */
Test(gen_safety, concurrent_reader_sees_whole_directories, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char out[PATH_MAX];
    gen_smoke("out", 192);
    IN_SCRATCH(out, "out");
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        close(pfd[0]);
        reader_loop(out, pfd[1]);
    }
    close(pfd[1]);
    int gens = 8, bad = 0;
    for (int g = 0; g < gens; g++) {
        run_result r = runf("gen --suite smoke --prec %d --out '%s'", g % 2 ? 192 : 200, out);
        bad += r.status != 0;
        run_free(&r);
    }
    kill(pid, SIGTERM);
    char msg[64] = {0};
    ssize_t n = read(pfd[0], msg, sizeof msg - 1);
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    long reads = -1, fails = -1;
    cr_assert(n > 0 && sscanf(msg, "%ld %ld", &reads, &fails) == 2, "reader: '%s'", msg);
    cr_log_info("concurrent reader: %ld of %ld reads failed during %d gens", fails, reads, gens);
    cr_expect_eq(bad, 0, "%d of %d gens failed", bad, gens);
    cr_expect_gt(reads, 0);
    cr_expect_eq(fails, 0, "%ld of %ld reads failed while gen replaced the directories", fails,
                 reads);
    cr_expect_eq(count_temporaries(out), 0, "a temporary was left");
}

/* ---- item 12: a failed or killed gen ------------------------------------- */

/* Nothing is created when gen fails: a --prec that cannot give 60 certified
 * bits is refused before --out is made; a failure to prove correct rounding
 * (discovered while computing) removes the --out and parents it created. */
Test(gen_safety, failed_gen_creates_nothing, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX];
    run_result r = runf("gen --suite smoke --prec 56 --out '%s/a/out'", scratch);
    expect_error_result(&r, "--prec 56", "--prec");
    run_free(&r);
    IN_SCRATCH(path, "a");
    cr_expect(!exists(path), "--prec 56 created --out's parent");

    r = runf("gen --suite default --prec 70 --out '%s/b/out'", scratch);
    cr_expect_eq(r.status, 2, "exit %d", r.status);
    cr_expect(strstr(r.err, "raise --prec") != NULL, "stderr '%s'", r.err);
    run_free(&r);
    IN_SCRATCH(path, "b");
    cr_expect(!exists(path), "a failed gen left the --out it created");
    cr_expect_eq(no_test_count_entries(scratch, NULL), 0, "a failed gen left files");
}

/* A conflict at problem 001 (a foreign directory) is found before anything
 * is written: exit 2 naming it, no problem 000, --out as it was. */
Test(gen_safety, conflict_leaves_output_as_found, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char path[PATH_MAX];
    put_foreign_file(path, "001-rff-gaussian-q24-euler-discrete-L8-m2-dout3", "mine.txt", "mine");
    expect_gen_refused("", "a foreign directory at 001", "001-rff-gaussian");
    IN_SCRATCH(path, "out");
    cr_expect_eq(no_test_count_entries(path, NULL), 2, "gen changed --out (problem 000 written?)");
    IN_SCRATCH(path, "out/000-linear-euler-discrete-L8-m2-dout3");
    cr_expect(!exists(path), "problem 000 was published although 001 conflicts");
}

/* Set or clear the immutable flag of path: the one way to make a rename of
 * a directory that gen owns fail on ext4 even for root.  0 on success. */
static int set_immutable(const char *path, int on)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int flags = 0, rc = ioctl(fd, FS_IOC_GETFLAGS, &flags);
    if (!rc) {
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        rc = ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    close(fd);
    return rc;
}

/* `gen --suite smoke OPTS--out out` (as in expect_gen_refused) over out
 * (scratch/out: the smoke problems at precision kept, before entries in
 * all) while problem 002 is immutable, so that replacing it fails after 000
 * and 001 were swapped in: gen names 002 in its last line and rolls 000 and
 * 001 back, so that every problem is the earlier one, and leaves no
 * temporary.  Skipped where the flag cannot be set. */
static void expect_publish_rolled_back(const char *out, const char *opts, long kept, int before,
                                       const char *what)
{
    char path[PATH_MAX];
    IN_SCRATCH(path, "out/002-mlp-tanh-M6-euler-discrete-L8-m2-dout3");
    if (set_immutable(path, 1))
        cr_skip_test("cannot set the immutable flag here (%s): needs CAP_LINUX_IMMUTABLE",
                     strerror(errno));
    run_result r = runf("gen --suite smoke %s--out '%s'", opts, out);
    set_immutable(path, 0);
    expect_last_line_error(&r, what, "002-mlp-tanh");
    run_free(&r);
    expect_smoke_precision(kept, "is not the earlier output");
    cr_expect_eq(count_temporaries(out), 0, "a temporary was left");
    cr_expect_eq(no_test_count_entries(out, NULL), before, "--out changed");
}

/* Replacing problem 002 fails after 000 and 001 were swapped in (002 is
 * immutable: the rename fails): gen rolls 000 and 001 back, so every
 * problem is the earlier one, and leaves no temporary. */
Test(gen_safety, publish_failure_rolls_back, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char out[PATH_MAX];
    gen_smoke("out", 192);
    IN_SCRATCH(out, "out");
    expect_publish_rolled_back(out, "--prec 200 ", 192, no_test_count_entries(out, NULL),
                               "002 cannot be replaced");
}

/* Where the file system cannot swap (simulated: the test hook of
 * io/path.h), gen falls back to three renames: it still replaces its own
 * output, still rolls back a failed publish, and leaves no temporary. */
Test(gen_safety, fallback_without_exchange, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char out[PATH_MAX];
    gen_smoke("out", 192);
    IN_SCRATCH(out, "out");
    int before = no_test_count_entries(out, NULL);
    cr_assert_eq(setenv("NODEORACLE_TEST_NO_RENAME_EXCHANGE", "1", 1), 0);
    run_result r = runf("gen --suite smoke --prec 200 --out '%s'", out);
    cr_expect_eq(r.status, 0, "fallback gen: exit %d, stderr '%s'", r.status, r.err);
    run_free(&r);
    expect_smoke_precision(200, "was not replaced");
    cr_expect_eq(count_temporaries(out), 0, "a temporary was left");
    cr_expect_eq(no_test_count_entries(out, NULL), before, "--out changed shape");

    /* back to the default precision, 192 */
    expect_publish_rolled_back(out, "", 200, before, "fallback: 002 cannot be replaced");
}

/* Temporaries of a killed gen are removed by the next gen into the same
 * --out: a real one (gen --suite default killed once two temporaries
 * exist) and hand-made ones of both kinds (a partial problem; an old tree
 * with its manifest).  Hidden directories that only look like ours are kept:
 * another name pattern, a regular file, or a file gen never writes. */
Test(gen_safety, stale_temporaries_removed, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char out[PATH_MAX], path[PATH_MAX];
    IN_SCRATCH(out, "out");
    const char *bin = nodeoracle();
    if (!bin)
        cr_skip_test("nodeoracle binary not built");
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, bin, "gen", "--suite", "default", "--out", out, (char *)NULL);
        _exit(127);
    }
    /* Two: at least one complete (with its manifest), one being written;
     * or one that stays for 3 s (a gen that keeps one at a time). */
    int left = 0, seen = 0;
    for (int t = 0; t < 6000 && left < 2 && seen < 300; t++) {
        left = count_temporaries(out);
        seen += left > 0;
        if (left < 2) {
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    left = count_temporaries(out);
    cr_assert_gt(left, 0, "gen --suite default never made a temporary");

    /* hand-made: a partial problem (with an atomic temporary inside) ... */
    const char *ours[] = {
        "out/.000-linear-euler-discrete-L8-m2-dout3.tmp.Ab12Cd/",
        "out/.000-linear-euler-discrete-L8-m2-dout3.tmp.Ab12Cd/problem.json",
        "out/.000-linear-euler-discrete-L8-m2-dout3.tmp.Ab12Cd/X.npy",
        "out/.000-linear-euler-discrete-L8-m2-dout3.tmp.Ab12Cd/Y.npy.tmp.Qw12Er",
        "out/.000-linear-euler-discrete-L8-m2-dout3.tmp.Ab12Cd/golden/",
        "out/.000-linear-euler-discrete-L8-m2-dout3.tmp.Ab12Cd/golden/states.npy",
        /* ... and an old tree with its manifest (a gen killed after a swap) */
        "out/.007-rff-matern-q24-rk4-continuous-L8-m2-dout3.tmp.Zz99Yy/",
        "out/.007-rff-matern-q24-rk4-continuous-L8-m2-dout3.tmp.Zz99Yy/problem.json",
        "out/.007-rff-matern-q24-rk4-continuous-L8-m2-dout3.tmp.Zz99Yy/odd-but-listed.dat",
    };
    /* not ours */
    const char *theirs[] = {
        "out/.001-mine.tmp.Xy12Zw/", "out/.001-mine.tmp.Xy12Zw/my_notes.odt",
        "out/.mystuff.tmp.abcdef/",  "out/.mystuff.tmp.abcdef/problem.json",
        "out/.002-file.tmp.Ab12Cd",
    };
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass ? theirs : ours;
        size_t n = pass ? sizeof theirs / sizeof *theirs : sizeof ours / sizeof *ours;
        for (size_t i = 0; i < n; i++) {
            IN_SCRATCH(path, "%s", list[i]);
            size_t len = strlen(path);
            if (path[len - 1] == '/')
                cr_assert_eq(mkdir(path, 0777), 0, "mkdir %s", path);
            else
                put_file(path, "x");
        }
    }
    IN_SCRATCH(path, "out/.007-rff-matern-q24-rk4-continuous-L8-m2-dout3.tmp.Zz99Yy/.nodeoracle-manifest");
    put_file(path, "nodeoracle-manifest 1\nproblem.json\nodd-but-listed.dat\n");

    gen_smoke("out", 192);
    cr_log_info("killed gen left %d temporaries; the next gen left %d (3 of them foreign)",
                left, count_temporaries(out));
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) {
        IN_SCRATCH(path, "%s", ours[i]);
        cr_expect(!exists(path), "stale %s was kept", ours[i]);
    }
    for (size_t i = 0; i < sizeof theirs / sizeof *theirs; i++) {
        IN_SCRATCH(path, "%s", theirs[i]);
        cr_expect(exists(path), "%s (not ours) was deleted", theirs[i]);
    }
    cr_expect_eq(count_temporaries(out), 3, "temporaries left besides the 3 foreign ones");
}

/* Two gens into one --out at once would remove each other's temporaries:
 * gen holds a lock on --out, and a second one is refused (exit 2). */
Test(gen_safety, concurrent_gen_is_refused, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char out[PATH_MAX];
    IN_SCRATCH(out, "out");
    cr_assert_eq(mkdir(out, 0777), 0);
    int fd = open(out, O_RDONLY | O_DIRECTORY);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "cannot lock %s", out);
    run_result r = runf("gen --suite smoke --out '%s'", out);
    close(fd);
    expect_error_result(&r, "a second gen", "another");
    run_free(&r);
    cr_expect_eq(no_test_count_entries(out, NULL), 0, "the refused gen wrote into --out");
}

/* `help gen` states what gen replaces and that a failed gen changes nothing. */
Test(gen_safety, help_states_the_rules, .timeout = NO_TEST_TIMEOUT_S)
{
    run_result r = run("help gen");
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, ".nodeoracle-manifest") != NULL, "help gen: no manifest rule");
    cr_expect(strstr(r.out, "as it found it") != NULL, "help gen: no all-or-nothing rule");
    run_free(&r);
}
