/* mpi: nodeoracle-mpi (mpi/, docs/mpi.md) splits gen, check and width across
 * MPI ranks, and its output is the serial command's, byte for byte, for any
 * number of ranks:
 *
 *   - gen --suite smoke on 2 and 3 ranks writes the same tree as the serial
 *     gen (every file, the manifests, the permissions), and its stdout;
 *   - check --problems --candidates on 2 ranks (a pass, a failure with its
 *     diagnosis, a missing candidate, an unmatched directory) prints the same
 *     text, the same --json report and the same stderr, with the same exit
 *     status;
 *   - a width sweep (rff: seeds x widths; mlp iid on 3 ranks) gives the same
 *     --json, the same width.csv and the same table (all but the CPU seconds
 *     of its last line);
 *   - a usage or input error (a missing directory, an unknown suite, a bad
 *     width option) is exit 2 and one line on stderr, from rank 0 only, and
 *     every rank exits;
 *   - help is a manual page.
 *
 * The binaries are those next to the test binary (nodeoracle, nodeoracle-mpi);
 * the tests skip, saying why, when nodeoracle-mpi is not built (make mpi:
 * mpicc from libopenmpi-dev) or mpirun is missing (openmpi-bin).  mpirun runs
 * on this machine only, oversubscribed: Open MPI's environment below (no
 * remote launcher, shared memory, no banner of its own on a non-zero exit).
 * Under a minute on 2 cores. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fast.h"
#include "npy.h"
#include "problem_dir.h"
#include "test_run.h"

NO_TEST_SCRATCH("no_mpi_")

/* buf (an array) = the printf-style path, which must fit. */
#define PATHF(buf, ...) cr_assert_lt((size_t)snprintf(buf, sizeof buf, __VA_ARGS__), sizeof buf)

/* The mpirun command line to run nodeoracle-mpi on np ranks, into buf; skips
 * the test when either is missing. */
static void mpi_command(char *buf, size_t n, int np)
{
    char bin[PATH_MAX + 32];
    const char *dir = no_test_exe_dir();
    PATHF(bin, "%s/nodeoracle-mpi", dir);
    if (!dir[0] || access(bin, X_OK) != 0)
        cr_skip_test("nodeoracle-mpi not built next to the test binary (make mpi; it needs "
                     "mpicc: apt-get install libopenmpi-dev openmpi-bin)");
    run_result w = run_shell("command -v mpirun");
    int have = w.status == 0;
    run_free(&w);
    if (!have)
        cr_skip_test("mpirun not installed (apt-get install openmpi-bin)");
    /* one machine: launch locally without ssh, shared memory between the
     * ranks (no single-copy mechanism: containers forbid ptrace), more ranks
     * than cores allowed, and no banner of mpirun's own when a rank exits
     * with a status other than 0 (the error contract: one line) */
    setenv("OMPI_MCA_plm", "isolated", 1);
    setenv("OMPI_MCA_btl", "self,vader", 1);
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    setenv("OMPI_MCA_orte_execute_quiet", "1", 1);
    cr_assert_lt((size_t)snprintf(buf, n, "mpirun %s-np %d '%s'",
                                  geteuid() == 0 ? "--allow-run-as-root " : "", np, bin),
                 n);
}

/* `cd dir && PROG ARGS`, ARGS from fmt and ap. */
static run_result run_in(const char *dir, const char *prog, const char *fmt, va_list ap)
{
    char args[2 * PATH_MAX], cmd[5 * PATH_MAX];
    int k = vsnprintf(args, sizeof args, fmt, ap);
    cr_assert(k >= 0 && (size_t)k < sizeof args);
    PATHF(cmd, "cd '%s' && %s %s", dir, prog, args);
    return run_shell(cmd);
}

/* `cd dir && mpirun -np np nodeoracle-mpi ARGS` (args printf-style). */
static run_result mpi_run(int np, const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static run_result mpi_run(int np, const char *dir, const char *fmt, ...)
{
    char mpi[2 * PATH_MAX];
    mpi_command(mpi, sizeof mpi, np);
    va_list ap;
    va_start(ap, fmt);
    run_result r = run_in(dir, mpi, fmt, ap);
    va_end(ap);
    return r;
}

/* `cd dir && nodeoracle ARGS`, the serial command. */
static run_result serial_run(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static run_result serial_run(const char *dir, const char *fmt, ...)
{
    const char *bin = nodeoracle();
    if (!bin)
        cr_skip_test("nodeoracle binary not built");
    char prog[PATH_MAX + 8];
    PATHF(prog, "'%s'", bin);
    va_list ap;
    va_start(ap, fmt);
    run_result r = run_in(dir, prog, fmt, ap);
    va_end(ap);
    return r;
}

/* A fresh directory scratch/name. */
static void fresh(char *buf, size_t n, const char *name)
{
    cr_assert_lt((size_t)snprintf(buf, n, "%s/%s", scratch, name), n);
    no_test_mkdirs(buf, 0755);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    char *s = slurp_n(f, len);
    fclose(f);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted; *n their count. */
static char **names_in(const char *dir, int *n)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    char **v = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        v = realloc(v, (size_t)(*n + 1) * sizeof *v);
        cr_assert_not_null(v);
        v[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, (size_t)*n, sizeof *v, cmp_str);
    return v;
}

/* The trees a and b hold the same names, kinds, permissions and bytes;
 * returns how many files were compared. */
static int same_tree(const char *a, const char *b)
{
    int na, nb, files = 0;
    char **ea = names_in(a, &na), **eb = names_in(b, &nb);
    cr_assert_eq(na, nb, "%s has %d entries, %s %d", a, na, b, nb);
    for (int i = 0; i < na; i++) {
        cr_assert_str_eq(ea[i], eb[i], "%s and %s differ in names", a, b);
        char pa[PATH_MAX], pb[PATH_MAX];
        PATHF(pa, "%s/%s", a, ea[i]);
        PATHF(pb, "%s/%s", b, eb[i]);
        struct stat sa, sb;
        cr_assert(lstat(pa, &sa) == 0 && lstat(pb, &sb) == 0);
        cr_assert_eq(sa.st_mode, sb.st_mode, "%s: mode %o, %s: mode %o", pa,
                     (unsigned)sa.st_mode, pb, (unsigned)sb.st_mode);
        if (S_ISDIR(sa.st_mode)) {
            files += same_tree(pa, pb);
        } else {
            size_t la, lb;
            char *da = read_all(pa, &la), *db = read_all(pb, &lb);
            cr_assert(la == lb && !memcmp(da, db, la), "%s and %s differ", pa, pb);
            free(da);
            free(db);
            files++;
        }
        free(ea[i]);
        free(eb[i]);
    }
    free(ea);
    free(eb);
    return files;
}

static void expect_same_run(const run_result *s, const run_result *m, const char *what)
{
    cr_expect_eq(m->status, s->status, "%s: exit %d, serial %d; stderr '%s'", what, m->status,
                 s->status, m->err);
    cr_expect_str_eq(m->out, s->out, "%s: stdout differs from the serial command's", what);
}

/* ---- gen ------------------------------------------------------------------ */

Test(mpi, gen_smoke_on_2_and_3_ranks_is_the_serial_tree, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char one[PATH_MAX], two[PATH_MAX], three[PATH_MAX], p1[PATH_MAX], p2[PATH_MAX],
        p3[PATH_MAX];
    fresh(one, sizeof one, "one");
    fresh(two, sizeof two, "two");
    fresh(three, sizeof three, "three");
    run_result m = mpi_run(2, two, "gen --suite smoke --out p");
    run_result s = serial_run(one, "gen --suite smoke --out p");
    cr_assert_eq(s.status, 0, "serial gen: %s", s.err);
    expect_same_run(&s, &m, "gen -np 2");
    PATHF(p1, "%s/p", one);
    PATHF(p2, "%s/p", two);
    PATHF(p3, "%s/p", three);
    int files = same_tree(p1, p2);
    cr_expect_geq(files, 3 * 10, "only %d files compared", files);
    /* the per-problem lines name the rank that built each problem */
    cr_expect(strstr(m.err, "rank 1") != NULL, "stderr: '%s'", m.err);
    run_free(&m);
    /* 3 ranks; and again into the same directory (gen replaces its own) */
    for (int k = 0; k < 2; k++) {
        m = mpi_run(3, three, "gen --suite smoke --out p");
        expect_same_run(&s, &m, "gen -np 3");
        same_tree(p1, p3);
        run_free(&m);
    }
    /* nothing left behind in the ranks' private directories: gen's
     * temporaries under --out are gone too */
    int tmp = 0;
    no_test_count_entries(p3, &tmp);
    cr_expect_eq(tmp, 0, "%d temporaries left in %s", tmp, p3);
    run_free(&s);
}

/* ---- check ---------------------------------------------------------------- */

/* dir: fast's outputs for the problem in prob; loss and gradients times
 * scale (2: a failing candidate that check diagnoses). */
static void write_candidate(const char *prob, const char *dir, double scale)
{
    no_problem p;
    no_arrays out;
    char err[512], path[PATH_MAX];
    cr_assert_eq(no_problem_dir_read(prob, &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(fast_run(&p, &out, err, sizeof err), 0, "%s", err);
    no_test_mkdirs(dir, 0755);
    for (int i = 0; i < out.count; i++) {
        no_array *a = &out.a[i];
        if (!strncmp(a->name, "mgrad_", 6))
            continue;
        if (!strcmp(a->name, "loss") || !strncmp(a->name, "grad_", 5))
            for (size_t e = 0; e < a->n; e++)
                a->v[e] *= scale;
        cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s.npy", dir, a->name),
                     sizeof path);
        cr_assert_eq(no_npy_write(path, a, err, sizeof err), 0, "%s", err);
    }
    no_arrays_free(&out);
    no_problem_free(&p);
}

Test(mpi, check_directory_on_2_ranks_is_the_serial_report, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    static const char *const smoke[3] = {"000-linear-euler-discrete-L8-m2-dout3",
                                         "001-rff-gaussian-q24-euler-discrete-L8-m2-dout3",
                                         "002-mlp-tanh-M6-euler-discrete-L8-m2-dout3"};
    char prob[PATH_MAX], cand[PATH_MAX];
    mpi_command(prob, sizeof prob, 1); /* skip early when MPI is missing */
    run_result g = serial_run(scratch, "gen --suite smoke --out probs");
    cr_assert_eq(g.status, 0, "gen: %s", g.err);
    run_free(&g);
    /* a pass, a failure (loss and gradients doubled: diagnosed) and a pass */
    for (int i = 0; i < 3; i++) {
        PATHF(prob, "%s/probs/%s", scratch, smoke[i]);
        PATHF(cand, "%s/cands/%s", scratch, smoke[i]);
        write_candidate(prob, cand, i == 0 ? 2 : 1);
    }
    const char *forms[] = {"", " --json"};
    for (int k = 0; k < 2; k++) {
        run_result s = serial_run(scratch, "check --problems probs --candidates cands%s",
                                  forms[k]);
        run_result m = mpi_run(2, scratch, "check --problems probs --candidates cands%s",
                               forms[k]);
        cr_expect_eq(s.status, 1, "serial check: exit %d: %s", s.status, s.err);
        expect_same_run(&s, &m, forms[k][0] ? "check --json -np 2" : "check -np 2");
        cr_expect(strstr(s.out, "diagnosis") != NULL, "no diagnosis in '%s'", s.out);
        run_free(&s);
        run_free(&m);
    }
    /* a missing candidate (exit 2, its line on stderr from rank 0 only) and
     * an unmatched candidate directory */
    PATHF(cand, "%s/cands/%s", scratch, smoke[2]);
    no_test_rmtree(cand);
    PATHF(cand, "%s/cands/zz-typo", scratch);
    no_test_mkdirs(cand, 0755);
    for (int k = 0; k < 2; k++) {
        run_result s = serial_run(scratch, "check --problems probs --candidates cands%s",
                                  forms[k]);
        run_result m = mpi_run(2, scratch, "check --problems probs --candidates cands%s",
                               forms[k]);
        cr_expect_eq(s.status, 2, "serial check: exit %d", s.status);
        expect_same_run(&s, &m, "check with a missing candidate, -np 2");
        cr_expect_str_eq(m.err, s.err, "stderr differs");
        run_free(&s);
        run_free(&m);
    }
}

/* ---- width ---------------------------------------------------------------- */

/* text without its last line (the CPU seconds: a total over the ranks) */
static void drop_cpu_line(char *s)
{
    char *cpu = strstr(s, "s CPU)");
    if (!cpu)
        return;
    while (cpu > s && cpu[-1] != '\n')
        cpu--;
    *cpu = 0;
}

Test(mpi, width_sweep_on_2_and_3_ranks_is_the_serial_one, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char one[PATH_MAX], two[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    fresh(one, sizeof one, "one");
    fresh(two, sizeof two, "two");
    const char *sweep = "width --qmin 16 --qmax 128 --seeds 4 --steps 3";
    run_result s = serial_run(one, "%s --json --out w", sweep);
    run_result m = mpi_run(2, two, "%s --json --out w", sweep);
    cr_assert_eq(s.status, 0, "serial width: %s", s.err);
    expect_same_run(&s, &m, "width --json -np 2");
    PATHF(a, "%s/w/width.csv", one);
    PATHF(b, "%s/w/width.csv", two);
    size_t la, lb;
    char *ca = read_all(a, &la), *cb = read_all(b, &lb);
    cr_expect(la == lb && !memcmp(ca, cb, la), "width.csv differs");
    free(ca);
    free(cb);
    run_free(&s);
    run_free(&m);
    /* the table: the same but for the CPU seconds */
    s = serial_run(one, "%s", sweep);
    m = mpi_run(2, two, "%s", sweep);
    cr_expect(strstr(m.out, "s CPU)") != NULL, "no CPU line: '%s'", m.out);
    drop_cpu_line(s.out);
    drop_cpu_line(m.out);
    expect_same_run(&s, &m, "width table -np 2");
    run_free(&s);
    run_free(&m);
    /* the mean-field sweep (iid draws) on 3 ranks */
    const char *mlp = "width --family mlp --Mmin 4 --Mmax 32 --seeds 3 --steps 2 --json";
    s = serial_run(one, "%s", mlp);
    m = mpi_run(3, two, "%s", mlp);
    cr_assert_eq(s.status, 0, "serial width mlp: %s", s.err);
    expect_same_run(&s, &m, "width --family mlp -np 3");
    run_free(&s);
    run_free(&m);
}

/* ---- run: one problem split by data points ------------------------------ */

/* gen ARGS --out p in dir (serially); its one problem's directory into prob. */
static void gen_one(const char *dir, const char *args, char *prob, size_t n)
{
    run_result g = serial_run(dir, "gen %s --out p", args);
    cr_assert_eq(g.status, 0, "gen: %s", g.err);
    run_free(&g);
    char pdir[PATH_MAX];
    int count;
    PATHF(pdir, "%s/p", dir);
    char **pn = names_in(pdir, &count);
    cr_assert_eq(count, 1, "gen wrote %d problems", count);
    cr_assert_lt((size_t)snprintf(prob, n, "%s/%s", pdir, pn[0]), n);
    free(pn[0]);
    free(pn);
}

/* run the problem prob on each of ranks[0..nr) for fast and ref, into
 * dir/fastR and dir/refR; every tree must be ranks[0]'s, file for file
 * (files_fast and files_ref of them). */
static void expect_runs_agree(const char *dir, const char *prob, const int *ranks, size_t nr,
                              int files_fast, int files_ref)
{
    char a[PATH_MAX], b[PATH_MAX];
    for (int impl = 0; impl < 2; impl++)
        for (size_t i = 0; i < nr; i++) {
            run_result r = mpi_run(ranks[i], dir, "run --problem '%s' --out %s%d%s", prob,
                                   impl ? "ref" : "fast", ranks[i], impl ? " --impl ref" : "");
            cr_assert_eq(r.status, 0, "run -np %d: %s", ranks[i], r.err);
            run_free(&r);
            if (i == 0)
                continue;
            PATHF(a, "%s/%s%d", dir, impl ? "ref" : "fast", ranks[0]);
            PATHF(b, "%s/%s%d", dir, impl ? "ref" : "fast", ranks[i]);
            int files = same_tree(a, b);
            cr_expect_eq(files, impl ? files_ref : files_fast, "%d files compared", files);
        }
}

/* The problem: N = 700 points are 6 of fast's blocks (of 128, the last 60)
 * and 700 ref parts of 1 to 700 points; mlp with RK4 and m = 2 (substeps
 * recomputed per block, three parameter arrays); 1, 2, 3 and 5 ranks (5
 * ranks: a node of fast's tree per rank, not a power of two). */
Test(mpi, run_on_1_2_3_5_ranks_has_one_process_bits, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    char dir[PATH_MAX], prob[PATH_MAX];
    fresh(dir, sizeof dir, "run");
    gen_one(dir, "--family mlp --scheme rk4 --m 2 --N 700 --L 4 --D 3 --M 6", prob, sizeof prob);
    static const int ranks[] = {1, 2, 3, 5};
    expect_runs_agree(dir, prob, ranks, 4, 10, 11);
    /* -np 1 against fast_run in this process would compare two BLAS kernels:
     * nodeoracle-mpi names OpenBLAS's kernels where OpenBLAS does not know
     * the CPU (fast_linalg_blas_environment), this test process cannot after
     * OpenBLAS is loaded.  That the parts combine to fast_run_ws's bits in one
     * environment is fast_blocks/split_across_processes. */
}

/* More ranks than points: N = 2 on 3 ranks leaves rank 2 without points
 * for ref and ranks 1 and 2 without a block for fast; their empty parts
 * must still combine to one process's bits (ref refused them once).  linear
 * has one parameter array: states, output, loss, adjoint, grad_W, mgrad_W
 * (and ref_values.txt for ref). */
Test(mpi, run_with_more_ranks_than_points, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    char dir[PATH_MAX], prob[PATH_MAX];
    fresh(dir, sizeof dir, "few");
    gen_one(dir, "--family linear --N 2 --L 2", prob, sizeof prob);
    static const int ranks[] = {1, 3};
    expect_runs_agree(dir, prob, ranks, 2, 6, 7);
}

/* ---- errors and help -------------------------------------------------------- */

Test(mpi, bad_input_is_one_line_from_rank_0, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    static const char *const cases[][2] = {
        {"check --problems missing --candidates missing", "missing"},
        {"check --problems missing --candidates missing --json", "missing"},
        {"gen --suite nosuch --out p", "nosuch"},
        {"width --qmin 3", "--qmin"},
        {"frobnicate", "frobnicate"},
        {"run --problem missing --out o", "missing"},
        {"run --problem missing --out o --impl exact", "--impl"},
        {"run --problem missing --out o --prec 30", "--prec"},
        {"run --problem /dev/null --out o", "/dev/null"},
        {"run --out o", "--problem"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r = mpi_run(2, scratch, "%s", cases[i][0]);
        expect_error_result(&r, cases[i][0], cases[i][1]);
        run_free(&r);
    }
    /* nothing was made */
    cr_expect_eq(no_test_count_entries(scratch, NULL), 0, "something was written in %s",
                 scratch);
}

Test(mpi, help_is_a_manual_page)
{
    const char *forms[] = {"--help", "help gen", "help check", "width --help", "help run"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        run_result r = mpi_run(2, "/", "%s", forms[i]);
        cr_expect_eq(r.status, 0, "%s: exit %d", forms[i], r.status);
        cr_expect(strstr(r.out, "NAME") && strstr(r.out, "SYNOPSIS") &&
                      strstr(r.out, "EXIT STATUS"),
                  "%s: not a manual page: '%s'", forms[i], r.out);
        cr_expect(strstr(r.out, "nodeoracle-mpi") != NULL, "%s", forms[i]);
        cr_expect_eq(r.err[0], 0, "%s: stderr '%s'", forms[i], r.err);
        run_free(&r);
    }
}
