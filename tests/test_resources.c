/* resources: a problem that cannot fit is refused before anything is
 * allocated, with one line and exit 2; an allocation failure inside GMP or
 * MPFR ends the same way, not with SIGABRT; a long problem shows its
 * progress on stderr and leaves stdout as it was.
 *
 * Nothing here allocates the huge amounts it is about: the reproducers run
 * under an address-space limit (ulimit -v) and a timeout, so a regression is
 * a quick failure, not an OOM kill of the machine.  No wall-clock times are
 * asserted; the progress lines are forced with NODEORACLE_PROGRESS_AFTER=0. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fast.h"
#include "npy.h"
#include "problem_dir.h"
#include "ref.h"
#include "resources.h"
#include "test_run.h"
#include "test_util.h"

/* The address-space limit the reproducers run under (KiB): far below what
 * they would take, far above what a refusal needs. */
#define GUARD_KB "2097152"

/* `nodeoracle ARGS` with env before it, under ulimit -v kb (NULL: none) and
 * a timeout, so that the code before this change fails fast instead of
 * filling the machine. */
static run_result run_guarded(const char *kb, const char *env, const char *args)
{
    const char *bin = nodeoracle();
    if (!bin)
        cr_skip_test("nodeoracle binary not built (make build/nodeoracle)");
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd, "%s%s%s env %s timeout 60 '%s' %s", kb ? "ulimit -v " : "",
                     kb ? kb : "", kb ? ";" : "", env ? env : "", bin, args);
    cr_assert(n > 0 && (size_t)n < sizeof cmd);
    return run_shell(cmd);
}

/* Can the binary run at all under an address-space limit?  Not under
 * AddressSanitizer (it reserves terabytes of shadow) or valgrind. */
static int runs_under_ulimit(void)
{
    run_result r = run_guarded(GUARD_KB, NULL, "--version");
    int ok = r.status == 0;
    run_free(&r);
    return ok;
}

/* The guard where the binary runs under one; NULL otherwise, which is safe
 * for the refusals with --max-memory (refused before allocating). */
static const char *guard(void)
{
    return runs_under_ulimit() ? GUARD_KB : NULL;
}

/* A refusal for lack of memory: one line, exit 2, nothing on stdout, with
 * both sizes in it. */
static void expect_refused(const run_result *r, const char *what, const char *avail)
{
    expect_error_result(r, what, " needs ");
    cr_expect(strstr(r->err, " available; ") && strstr(r->err, "--max-memory"),
              "%s: '%s' does not say what is available and how to go on", what, r->err);
    if (avail)
        cr_expect(strstr(r->err, avail) != NULL, "%s: '%s' lacks '%s'", what, r->err, avail);
}

/* `nodeoracle ARGS` under the address-space limit kb (NULL: none) is
 * refused (expect_refused; avail NULL: any size available). */
static void expect_args_refused(const char *kb, const char *args, const char *what,
                                const char *avail)
{
    run_result r = run_guarded(kb, NULL, args);
    expect_refused(&r, what, avail);
    run_free(&r);
}

/* ---- the sizes ---------------------------------------------------------- */

Test(resources, parse_size)
{
    const struct {
        const char *s;
        double b;
    } ok[] = {{"4G", 4294967296.0}, {"512M", 536870912.0}, {"1.5GiB", 1610612736.0},
              {"65536", 65536.0}, {"2k", 2048.0},           {"1T", 1099511627776.0},
              {"100MB", 104857600.0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double b = 0;
        cr_expect_eq(no_res_parse_size(ok[i].s, &b), 0, "%s refused", ok[i].s);
        cr_expect_eq(b, ok[i].b, "%s: %.0f", ok[i].s, b);
    }
    const char *bad[] = {"", "G", "-1G", "0", "4X", "4GG", "1e400", "nan", " 4G", "4 G"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double b;
        cr_expect_eq(no_res_parse_size(bad[i], &b), -1, "'%s' accepted", bad[i]);
    }
}

Test(resources, require_states_both_sizes)
{
    char err[256];
    no_res_set_max_memory(22.1 * 1073741824.0);
    cr_expect_eq(no_res_require(1e6, "this problem", "reduce N", err, sizeof err), 0);
    cr_assert_eq(no_res_require(37.2 * 1073741824.0, "this problem", "reduce N or --prec", err,
                                sizeof err),
                 -1);
    cr_expect_str_eq(err, "this problem needs 37.2 GiB, 22.1 GiB available; reduce N or --prec "
                          "(or --max-memory)");
    no_res_set_max_memory(0);
    cr_expect(no_res_available() != 0, "no memory available at all?");
}

/* The estimate of ref_certify against the resident memory it really takes
 * (this test's own process: Criterion runs each test in a fresh one).  An
 * estimate may err on the safe side, by at most half. */
Test(resources, ref_estimate_matches_measured_peak, .timeout = NO_TEST_TIMEOUT_S)
{
    if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload"))
        cr_skip_test("valgrind measures its own memory");
#if defined(__SANITIZE_ADDRESS__)
    cr_skip_test("AddressSanitizer's allocator adds redzones");
#endif
    no_spec s;
    no_spec_default(&s);
    s.N = 192;
    s.D = 8;
    s.L = 64;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    no_arrays vals, bits;
    cr_assert_eq(ref_certify(&p, 128, &vals, &bits, err, sizeof err), 0, "%s", err);
    getrusage(RUSAGE_SELF, &after);
    double measured = 1024.0 * (double)(after.ru_maxrss - before.ru_maxrss);
    double estimate = ref_memory_estimate(&s, 128, 0);
    cr_log_info("ref_certify N=192 D=8 L=64 prec 128: estimate %.1f MiB, measured %.1f MiB",
                estimate / 1048576, measured / 1048576);
    /* the commands ask for a tenth more (oracle/resources.c, HEADROOM) */
    cr_expect_geq(1.1 * estimate, measured, "estimate %.0f below the measured %.0f bytes",
                  estimate, measured);
    cr_expect_leq(estimate, 1.5 * measured, "estimate %.0f over 1.5 x the measured %.0f bytes",
                  estimate, measured);
    no_arrays_free(&vals);
    no_arrays_free(&bits);
    no_problem_free(&p);
}

/* The per-number cost: the struct and a malloc'ed significand, growing with
 * the precision; and fast's estimate counts its outputs. */
Test(resources, estimates_grow_with_size)
{
    cr_expect_eq(ref_number_bytes(128), sizeof(__mpfr_struct) + 32);
    cr_expect_geq(ref_number_bytes(4096), sizeof(__mpfr_struct) + 4096 / 8);
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 1);
    s.L = 64;
    double a = ref_memory_estimate(&s, 128, 0), f = fast_memory_estimate(&s);
    s.L *= 2;
    cr_expect_gt(ref_memory_estimate(&s, 128, 0), 1.8 * a);
    cr_expect_gt(ref_memory_estimate(&s, 256, 0), ref_memory_estimate(&s, 128, 0));
    cr_expect_gt(fast_memory_estimate(&s), f);
    /* a grid of many steps stores every step's states */
    cr_expect_gt(ref_memory_estimate(&s, 128, 1 << 20), 1000 * a);
}

/* ---- the reproducers of issue 7 ----------------------------------------- */

Test(resources, compare_huge_N_refused, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *g = guard();
    expect_args_refused(g, "compare --N 4194304 --D 4 --L 15 --max-memory 1G",
                        "--N 4194304 --max-memory 1G", "1.0 GiB available");
    /* without --max-memory: what the process may have (the ulimit, or the
     * machine: this problem needs 142 GiB) */
    expect_args_refused(g, "compare --N 4194304 --D 4 --L 15", "--N 4194304", NULL);
}

Test(resources, compare_deep_L_refused, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *g = guard();
    expect_args_refused(g, "compare --L 16777216 --N 1 --D 1 --d-in 1 --d-out 1 --max-memory 512M",
                        "--L 16777216 --max-memory 512M", "512.0 MiB available");
    /* It needs 18 GiB, which a large machine has: only under the guard. */
    if (g)
        expect_args_refused(g, "compare --L 16777216 --N 1 --D 1 --d-in 1 --d-out 1",
                            "--L 16777216", NULL);
}

Test(resources, compare_wide_rff_refused, .timeout = NO_TEST_TIMEOUT_S)
{
    /* Before: minutes of silence (generating 2^28 weights), then death. */
    const char *g = guard();
    expect_args_refused(g, "compare --family rff --N 1024 --D 1024 --q 65536 --L 4 --max-memory 4G",
                        "rff q=65536 --max-memory 4G", "4.0 GiB available");
    /* 9.1 TiB (the per-point gradient contributions, N x D q per layer) */
    expect_args_refused(g, "compare --family rff --N 1024 --D 1024 --q 65536 --L 4",
                        "rff q=65536", " TiB");
}

Test(resources, demo_and_gen_refuse_with_tiny_max_memory, .timeout = NO_TEST_TIMEOUT_S)
{
    expect_args_refused(NULL, "demo --max-memory 1M", "demo --max-memory 1M", "1.0 MiB available");
    char dir[64];
    no_test_mkdtemp(dir, sizeof dir, "no_res_gen_");
    char args[256];
    snprintf(args, sizeof args, "gen --suite smoke --max-memory 1M --out '%s/out'", dir);
    expect_args_refused(NULL, args, "gen --max-memory 1M", "1.0 MiB available");
    struct stat st;
    char out[128];
    snprintf(out, sizeof out, "%s/out", dir);
    cr_expect_neq(stat(out, &st), 0, "gen created %s before refusing", out);
    run_result r = run_guarded(NULL, NULL, "compare --max-memory 4X");
    expect_error_result(&r, "--max-memory 4X", "--max-memory");
    run_free(&r);
    no_test_rmtree(dir);
}

/* A small problem directory and fast's outputs as its candidate (scale: a
 * factor on every gradient, 1 for a passing candidate). */
static void write_problem_and_candidate(const char *root, const no_spec *s, double scale)
{
    no_problem p;
    char err[256], path[PATH_MAX];
    cr_assert_eq(no_problem_generate(&p, s, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/prob", root);
    cr_assert_eq(no_problem_dir_write(path, &p, err, sizeof err), 0, "%s", err);
    no_arrays out;
    cr_assert_eq(fast_run(&p, &out, err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/cand", root);
    mkdir(path, 0777);
    for (int i = 0; i < out.count; i++) {
        if (!strncmp(out.a[i].name, "mgrad_", 6))
            continue;
        if (!strncmp(out.a[i].name, "grad_", 5))
            for (size_t e = 0; e < out.a[i].n; e++)
                out.a[i].v[e] *= scale;
        snprintf(path, sizeof path, "%s/cand/%s.npy", root, out.a[i].name);
        cr_assert_eq(no_npy_write(path, &out.a[i], err, sizeof err), 0, "%s", err);
    }
    no_arrays_free(&out);
    no_problem_free(&p);
}

Test(resources, check_long_grid_refused, .timeout = NO_TEST_TIMEOUT_S)
{
    char root[64], path[PATH_MAX], err[256];
    no_test_mkdtemp(root, sizeof root, "no_res_grid_");
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 3);
    s.L = 8;
    write_problem_and_candidate(root, &s, 1.0);
    /* 2^22 steps of 2^-22: every layer boundary k/8 is a grid point */
    size_t steps = (size_t)1 << 22, shape[1] = {steps + 1};
    no_array g = {.name = "grid", .ndim = 1, .n = steps + 1};
    g.shape[0] = shape[0];
    g.v = malloc(g.n * sizeof(double));
    cr_assert_not_null(g.v);
    for (size_t j = 0; j <= steps; j++)
        g.v[j] = (double)j / (double)steps;
    snprintf(path, sizeof path, "%s/grid.npy", root);
    cr_assert_eq(no_npy_write(path, &g, err, sizeof err), 0, "%s", err);
    free(g.v);
    char args[512];
    snprintf(args, sizeof args,
             "check --problem '%s/prob' --candidate '%s/cand' --grid '%s/grid.npy' "
             "--max-memory 1G",
             root, root, root);
    expect_args_refused(guard(), args, "check with a 2^22-step grid", "grid");
    no_test_rmtree(root);
}

/* GMP aborts when an allocation fails; nodeoracle's allocation functions
 * end with one line and exit 2 instead.  --max-memory lets the run past the
 * estimate; the address-space limit makes MPFR's significands (40000 bits,
 * 5 KiB each: nearly all of the memory) fail to allocate. */
Test(resources, gmp_allocation_failure_is_one_line, .timeout = NO_TEST_TIMEOUT_S)
{
    if (!runs_under_ulimit())
        cr_skip_test("the binary cannot run under ulimit -v (sanitizer or valgrind)");
    run_result r = run_guarded("200000", "NODEORACLE_PROGRESS=0",
                               "compare --max-memory 1T --prec 40000 --N 64 --D 4 --L 64");
    expect_error_result(&r, "GMP out of memory", "out of memory");
    run_free(&r);
    /* under --json, also the error object on stdout, written without memory */
    r = run_guarded("200000", "NODEORACLE_PROGRESS=0",
                    "compare --json --max-memory 1T --prec 40000 --N 64 --D 4 --L 64");
    expect_error_result(&r, "GMP out of memory (--json)", "out of memory");
    cr_expect(strstr(r.out, "\"kind\": \"error\"") != NULL, "stdout '%s'", r.out);
    run_free(&r);
}

/* ---- progress ----------------------------------------------------------- */

/* s without the CPU time of compare's summary line. */
static void strip_cpu_time(char *s)
{
    char *t = strstr(s, " in ");
    char *cpu = t ? strstr(t, " s CPU") : NULL;
    if (cpu)
        memmove(t, cpu + 6, strlen(cpu + 6) + 1);
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p++)
        n++;
    return n;
}

Test(resources, progress_on_stderr_stdout_unchanged, .timeout = NO_TEST_TIMEOUT_S)
{
    const char *args = "compare --L 64 --N 4 --D 2 --scheme rk4";
    run_result plain = run_guarded(NULL, "NODEORACLE_PROGRESS=0 NODEORACLE_PROGRESS_AFTER=0", args);
    run_result shown = run_guarded(NULL, "NODEORACLE_PROGRESS=1 NODEORACLE_PROGRESS_AFTER=0", args);
    cr_expect_eq(plain.status, 0, "%s", plain.err);
    cr_expect_eq(shown.status, 0, "%s", shown.err);
    cr_expect_eq(count(plain.err, "layer"), 0, "NODEORACLE_PROGRESS=0 still shows: %s",
                 plain.err);
    cr_expect_geq(count(shown.err, " layer "), 1, "no progress line: '%s'", shown.err);
    cr_expect(strstr(shown.err, "nodeoracle: [1/1] ") && strstr(shown.err, " of 64"),
              "progress line lacks problem or layer count: '%s'", shown.err);
    strip_cpu_time(plain.out);
    strip_cpu_time(shown.out);
    cr_expect_str_eq(shown.out, plain.out, "progress changed stdout");
    run_free(&plain);
    run_free(&shown);
    /* --quiet: no progress either */
    run_result q = run_guarded(NULL, "NODEORACLE_PROGRESS=1 NODEORACLE_PROGRESS_AFTER=0", "compare --L 16 --quiet");
    cr_expect_eq(count(q.err, "layer"), 0, "--quiet still shows progress: %s", q.err);
    run_free(&q);
}

/* check's diagnosis of a failing candidate (a gradient twice too large)
 * reports its hypothesis runs too, and its JSON is the same either way. */
Test(resources, check_diagnosis_progress, .timeout = NO_TEST_TIMEOUT_S)
{
    char root[64], args[512];
    no_test_mkdtemp(root, sizeof root, "no_res_diag_");
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 5);
    s.L = 32;
    write_problem_and_candidate(root, &s, 2.0);
    snprintf(args, sizeof args, "check --problem '%s/prob' --candidate '%s/cand' --json", root,
             root);
    run_result plain = run_guarded(NULL, "NODEORACLE_PROGRESS=0", args);
    run_result shown = run_guarded(NULL, "NODEORACLE_PROGRESS=1 NODEORACLE_PROGRESS_AFTER=0", args);
    cr_expect_eq(plain.status, 1, "%s", plain.err);
    cr_expect_eq(shown.status, 1, "%s", shown.err);
    cr_expect(strstr(shown.err, "nodeoracle: check ref ") != NULL, "no check progress: '%s'",
              shown.err);
    cr_expect(strstr(shown.err, "nodeoracle: diagnosis ref ") != NULL,
              "no diagnosis progress: '%s'", shown.err);
    cr_expect_str_eq(shown.out, plain.out, "progress changed the JSON");
    run_free(&plain);
    run_free(&shown);
    no_test_rmtree(root);
}
