/* install: what the README promises about installing is what the Makefile
 * does.
 *
 *   - deps_match_readme: the Debian packages `make deps` installs (the
 *     Makefile's DEPS) are exactly the README's list (the fenced block after
 *     its "<!-- deps" marker), so the two cannot drift;
 *   - staged_with_destdir: `make install PREFIX=/opt/... DESTDIR=stage`
 *     puts bin/nodeoracle, lib/libnodeoracle.a, include/nodeoracle.h and
 *     lib/pkgconfig/nodeoracle.pc under stage/opt/..., and the .pc names the
 *     PREFIX, not the stage;
 *   - outside_program: after `make install PREFIX=tmp`, a C program that
 *     includes only <nodeoracle.h> is built with
 *     `pkg-config --cflags --libs nodeoracle` (strict C11 flags, no
 *     internal include path: the header is self-contained), reads a problem
 *     the installed `nodeoracle gen` wrote, runs the reference and fast, and
 *     reads golden/ as a candidate; its reference loss is the library's own
 *     (the internal modules called directly here) bit for bit.
 *
 * make install runs on the build directory of this test binary (build/,
 * build-san/, build-cov/: its nodeoracle and libnodeoracle.a exist, `make
 * test` built them), with `-o` so that make never rebuilds them (a rebuild
 * with other flags would mix objects in that directory).  The outside
 * program links what the library was instrumented with: ASan and UBSan
 * (__SANITIZE_ADDRESS__) or gcov (__gcov_dump linked).  Skipped without
 * pkg-config or a compiler. */
#define _XOPEN_SOURCE 700 /* nftw, in test_run.h */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "problem.h"
#include "ref.h"
#include "test_run.h"

NO_TEST_SCRATCH("no_install_")

#define MAX_DEPS 64

typedef struct {
    int n;
    char name[MAX_DEPS][64];
} dep_list;

static char *read_text(const char *rel)
{
    char path[PATH_MAX];
    no_test_repo_path(path, sizeof path, rel);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    char *s = slurp(f);
    fclose(f);
    return s;
}

/* Append the whitespace-separated words of s[0..n) to d. */
static void add_words(dep_list *d, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (isspace((unsigned char)s[i]) || s[i] == '\\'))
            i++;
        size_t j = i;
        while (j < n && !isspace((unsigned char)s[j]) && s[j] != '\\')
            j++;
        if (j > i) {
            cr_assert_lt(d->n, MAX_DEPS);
            cr_assert_lt(j - i, sizeof d->name[0]);
            memcpy(d->name[d->n], s + i, j - i);
            d->name[d->n++][j - i] = 0;
        }
        i = j;
    }
}

/* The Makefile's "DEPS = ..." with its continuation lines. */
static void makefile_deps(dep_list *d)
{
    char *mk = read_text("Makefile");
    char *p = strstr(mk, "\nDEPS = ");
    cr_assert_not_null(p, "Makefile: no line 'DEPS = '");
    p += strlen("\nDEPS = ");
    char *end = p;
    for (;;) {
        char *nl = strchr(end, '\n');
        cr_assert_not_null(nl);
        char *last = nl;
        while (last > end && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        end = nl + 1;
        if (last == p || last[-1] != '\\')
            break;
    }
    add_words(d, p, (size_t)(end - p));
    free(mk);
}

/* The README's list: the first ``` block after "<!-- deps". */
static void readme_deps(dep_list *d)
{
    char *rd = read_text("README.md");
    char *m = strstr(rd, "<!-- deps");
    cr_assert_not_null(m, "README.md: no '<!-- deps' marker before the dependency list");
    char *open = strstr(m, "```");
    cr_assert_not_null(open, "README.md: no ``` block after the deps marker");
    char *body = strchr(open, '\n');
    cr_assert_not_null(body);
    char *close = strstr(body, "```");
    cr_assert_not_null(close, "README.md: the deps block is not closed");
    add_words(d, body, (size_t)(close - body));
    free(rd);
}

static int has(const dep_list *d, const char *name)
{
    for (int i = 0; i < d->n; i++)
        if (!strcmp(d->name[i], name))
            return 1;
    return 0;
}

Test(install, deps_match_readme)
{
    dep_list mk = {0}, rd = {0};
    makefile_deps(&mk);
    readme_deps(&rd);
    cr_expect_gt(mk.n, 5, "Makefile DEPS parsed as %d packages", mk.n);
    for (int i = 0; i < mk.n; i++)
        cr_expect(has(&rd, mk.name[i]), "%s is in the Makefile's DEPS but not in README.md",
                  mk.name[i]);
    for (int i = 0; i < rd.n; i++)
        cr_expect(has(&mk, rd.name[i]), "%s is in README.md but not in the Makefile's DEPS",
                  rd.name[i]);
    cr_expect_eq(mk.n, rd.n, "Makefile lists %d packages, README.md %d (a duplicate?)", mk.n,
                 rd.n);
}

/* ---- make install -------------------------------------------------------- */

static int have_tool(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* `make install ARGS` on this test binary's build directory, which must pass. */
static void make_install(const char *args)
{
    const char *dir = no_test_exe_dir();
    char bin[PATH_MAX], lib[PATH_MAX], repo[PATH_MAX];
    cr_assert_lt((size_t)snprintf(bin, sizeof bin, "%s/nodeoracle", dir), sizeof bin);
    cr_assert_lt((size_t)snprintf(lib, sizeof lib, "%s/libnodeoracle.a", dir), sizeof lib);
    if (!dir[0] || access(bin, X_OK) != 0 || access(lib, R_OK) != 0)
        cr_skip_test("no nodeoracle and libnodeoracle.a next to the test binary");
    no_test_repo_path(repo, sizeof repo, "Makefile");
    *strrchr(repo, '/') = 0;
    char cmd[6 * PATH_MAX];
    /* MAKEFLAGS and MAKELEVEL of an enclosing `make test` are not ours. */
    cr_assert_lt((size_t)snprintf(cmd, sizeof cmd,
                                  "env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C '%s' "
                                  "BUILD='%s' -o '%s' -o '%s' install %s",
                                  repo, dir, bin, lib, args),
                 sizeof cmd);
    run_result r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "%s: exit %d, stderr '%s'", cmd, r.status, r.err);
    run_free(&r);
}

static void expect_file(const char *root, const char *rel, mode_t mode)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    struct stat st;
    cr_expect(stat(path, &st) == 0 && S_ISREG(st.st_mode), "%s not installed", path);
    cr_expect_eq(st.st_mode & 0777, mode, "%s: mode %o", path, (unsigned)(st.st_mode & 0777));
}

Test(install, staged_with_destdir, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    if (!have_tool("make") || !have_tool("install"))
        cr_skip_test("make or install(1) missing");
    char args[PATH_MAX + 64], root[PATH_MAX + 32];
    snprintf(args, sizeof args, "PREFIX=/opt/nodeoracle-test DESTDIR='%s/stage'", scratch);
    make_install(args);
    snprintf(root, sizeof root, "%s/stage/opt/nodeoracle-test", scratch);
    expect_file(root, "bin/nodeoracle", 0755);
    expect_file(root, "lib/libnodeoracle.a", 0644);
    expect_file(root, "include/nodeoracle.h", 0644);
    expect_file(root, "lib/pkgconfig/nodeoracle.pc", 0644);
    char pc[2 * PATH_MAX];
    snprintf(pc, sizeof pc, "%s/lib/pkgconfig/nodeoracle.pc", root);
    FILE *f = fopen(pc, "r");
    cr_assert_not_null(f);
    char *text = slurp(f);
    fclose(f);
    cr_expect(strstr(text, "prefix=/opt/nodeoracle-test\n") != NULL, "pc: '%s'", text);
    cr_expect(strstr(text, "libdir=/opt/nodeoracle-test/lib\n") != NULL, "pc: '%s'", text);
    cr_expect(strstr(text, "stage") == NULL, "the stage leaked into the .pc: '%s'", text);
    /* a static archive: its dependencies in Libs, so plain --libs links */
    cr_expect(strstr(text, "-lnodeoracle -ljansson -lnettle -lmpfr -lgmp -lm") != NULL,
              "pc: '%s'", text);
    cr_expect(strstr(text, "@") == NULL, "an unfilled @...@ in the .pc: '%s'", text);
    free(text);
}

/* The outside program: nothing but the public header. */
static const char program[] =
    "#include <nodeoracle.h>\n"
    "#include <stdio.h>\n"
    "\n"
    "static double loss_of(const nodeoracle_arrays *a)\n"
    "{\n"
    "    size_t n = 0;\n"
    "    const double *v = nodeoracle_arrays_get(a, \"loss\", &n, NULL, NULL);\n"
    "    return v && n == 1 ? v[0] : -1.0;\n"
    "}\n"
    "\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    char err[512], golden[4096];\n"
    "    nodeoracle_problem *p;\n"
    "    nodeoracle_arrays *ref, *bits, *fast, *cand;\n"
    "    if (argc != 2 || nodeoracle_problem_read(argv[1], &p, err, sizeof err)) {\n"
    "        fprintf(stderr, \"prog: %s\\n\", argc == 2 ? err : \"usage\");\n"
    "        return 2;\n"
    "    }\n"
    "    snprintf(golden, sizeof golden, \"%s/golden\", argv[1]);\n"
    "    if (nodeoracle_reference(p, 128, &ref, &bits, err, sizeof err) ||\n"
    "        nodeoracle_fast(p, &fast, err, sizeof err) ||\n"
    "        nodeoracle_candidate_read(p, golden, &cand, err, sizeof err)) {\n"
    "        fprintf(stderr, \"prog: %s\\n\", err);\n"
    "        return 2;\n"
    "    }\n"
    "    int ndim = 0;\n"
    "    size_t shape[4];\n"
    "    const double *X = nodeoracle_problem_input(p, \"X\", &ndim, shape);\n"
    "    printf(\"version %s\\n\", nodeoracle_version());\n"
    "    printf(\"X %d %zu %zu %s\\n\", ndim, shape[0], shape[1], X ? \"ok\" : \"none\");\n"
    "    printf(\"arrays %d\\n\", nodeoracle_arrays_count(ref));\n"
    "    printf(\"ref %a\\nfast %a\\ngolden %a\\n\", loss_of(ref), loss_of(fast), "
    "loss_of(cand));\n"
    "    printf(\"bits %.0f\\n\", loss_of(bits));\n"
    "    nodeoracle_arrays_free(ref);\n"
    "    nodeoracle_arrays_free(bits);\n"
    "    nodeoracle_arrays_free(fast);\n"
    "    nodeoracle_arrays_free(cand);\n"
    "    nodeoracle_problem_free(p);\n"
    "    return 0;\n"
    "}\n";

/* Set by gcov's runtime when this binary was linked with --coverage. */
extern void __gcov_dump(void) __attribute__((weak));

static double field(const char *out, const char *key)
{
    const char *at = strstr(out, key);
    cr_assert_not_null(at, "no '%s' in '%s'", key, out);
    return strtod(at + strlen(key), NULL);
}

Test(install, outside_program, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    if (!have_tool("pkg-config"))
        cr_skip_test("pkg-config missing (make deps installs it)");
    if (!have_tool("make") || !have_tool("cc"))
        cr_skip_test("make or cc missing");
    char args[PATH_MAX + 32], path[PATH_MAX], cmd[8 * PATH_MAX];
    snprintf(args, sizeof args, "PREFIX='%s/prefix'", scratch);
    make_install(args);

    /* A small problem, written by the installed command. */
    const char *spec = "--family rff --scheme rk4 --m 2 --L 4 --N 5 --q 7 --d-out 3 --seed 11";
    snprintf(cmd, sizeof cmd, "'%s/prefix/bin/nodeoracle' gen %s --out '%s/p' --quiet",
             scratch, spec, scratch);
    run_result r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "installed gen: exit %d, stderr '%s'", r.status, r.err);
    const char *slash = strrchr(r.out, '/');
    cr_assert(slash && strstr(r.out, "000-rff-gaussian-q7-rk4-discrete-L4-m2-dout3"),
              "gen: '%s'", r.out);
    run_free(&r);
    IN_SCRATCH(path, "p/000-rff-gaussian-q7-rk4-discrete-L4-m2-dout3");

    char src[PATH_MAX];
    IN_SCRATCH(src, "prog.c");
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fputs(program, f);
    cr_assert_eq(fclose(f), 0);
    const char *extra = "";
#ifdef __SANITIZE_ADDRESS__
    extra = "-fsanitize=address,undefined";
#endif
    if (__gcov_dump)
        extra = "--coverage";
    snprintf(cmd, sizeof cmd,
             "cd '%s' && cc -std=c11 -Wall -Wextra -Werror -pedantic -o prog prog.c %s "
             "$(PKG_CONFIG_PATH='%s/prefix/lib/pkgconfig' pkg-config --cflags --libs "
             "nodeoracle)",
             scratch, extra, scratch);
    r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "building against the installed tree: exit %d, stderr '%s'",
                 r.status, r.err);
    run_free(&r);
    snprintf(cmd, sizeof cmd, "'%s/prog' '%s'", scratch, path);
    r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "prog: exit %d, stderr '%s'", r.status, r.err);
    cr_expect(strstr(r.out, "X 2 5 2 ok\n") != NULL, "prog: '%s'", r.out);
    cr_expect(strstr(r.out, "arrays 6\n") != NULL, "prog: '%s'", r.out);
    double ref = field(r.out, "\nref "), fast = field(r.out, "\nfast "),
           golden = field(r.out, "\ngolden "), bits = field(r.out, "\nbits ");

    /* The same, through the library's internals. */
    no_spec s;
    no_spec_default(&s);
    s.family = NO_FAMILY_RFF, s.q = 7, s.scheme = NO_SCHEME_RK4, s.m = 2, s.L = 4, s.N = 5;
    s.d_out = 3, s.seed = 11;
    no_problem p;
    char err[256];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    no_arrays vals, bt;
    cr_assert_eq(ref_certify(&p, 128, &vals, &bt, err, sizeof err), 0, "%s", err);
    double want = no_arrays_get(&vals, "loss")->v[0];
    cr_expect_eq(ref, want, "the installed library's loss %a, the library's %a (%s)", ref, want,
                 r.out);
    cr_expect_eq(bits, no_arrays_get(&bt, "loss")->v[0], "loss bits (%s)", r.out);
    cr_expect(bits >= 100, "loss certified to %g bits only", bits);
    cr_expect(fabs(fast - want) <= 1e-12 * fabs(want), "fast loss %a, ref %a", fast, want);
    cr_expect(fabs(golden - want) <= 0x1p-52 * fabs(want), "golden loss %a, ref %a", golden,
              want);
    no_arrays_free(&vals);
    no_arrays_free(&bt);
    no_problem_free(&p);
    run_free(&r);
}
