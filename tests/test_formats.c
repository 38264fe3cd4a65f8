/* formats: the file formats of docs/formats.md (io/), read and written.
 *
 * Round trips must be bit-identical: .npy arrays of every rank (0-d and
 * empty included), problem directories of every family variant (spec and
 * every array), golden directories, and float32 candidate outputs widened
 * exactly.  Hostile files must each give -1 and a one-line message that
 * names the file, leave nothing allocated in the output, and leave no
 * temporary file (*.tmp.*) in the directory: truncated and over-long data,
 * wrong magic, version, header, dtype, order, shapes (against the spec, and
 * ones whose product overflows), NaN and Inf in inputs, and every way
 * problem.json can be wrong (missing, extra, ill-typed, duplicated members,
 * invalid JSON, a member of another family).  Grids must be increasing, from
 * 0 to 1, through every layer boundary.  The atomic writer leaves either
 * the whole file or nothing, also when rename(2) fails.
 *
 * Every test works in its own mkdtemp directory under /tmp, removed at the
 * end.  No tolerances: every comparison is exact. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "bytes.h"
#include "candidate.h"
#include "golden.h"
#include "npy.h"
#include "problem_dir.h"
#include "test_util.h"

/* ---- scratch directories ------------------------------------------------ */

static char tmp_dir[256];

/* snprintf that must not truncate: a cut path would name another file. */
#define FMT(buf, ...) cr_assert_lt((size_t)snprintf(buf, sizeof buf, __VA_ARGS__), sizeof buf)

static void setup_dir(void)
{
    FMT(tmp_dir, "/tmp/no_formats_XXXXXX");
    cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp failed");
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                    continue;
                char sub[1024];
                FMT(sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void teardown_dir(void)
{
    remove_tree(tmp_dir);
}

/* Number of temporary files (name containing ".tmp.") under path. */
static int count_tmp(const char *path)
{
    int n = 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[1024];
        FMT(sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (strstr(e->d_name, ".tmp."))
            n++;
        else if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_tmp(sub);
    }
    closedir(d);
    return n;
}

static const char *in_tmp(char *buf, size_t n, const char *name)
{
    cr_assert_lt((size_t)snprintf(buf, n, "%s/%s", tmp_dir, name), n);
    return buf;
}

/* rc must be -1 with a non-empty one-line message containing file, and no
 * temporary file left anywhere in the scratch directory. */
static void expect_error(int rc, const char *err, const char *file, const char *what)
{
    cr_expect_eq(rc, -1, "%s: accepted", what);
    cr_expect_gt(strlen(err), 0, "%s: empty message", what);
    cr_expect_null(strchr(err, '\n'), "%s: message is not one line: '%s'", what, err);
    cr_expect_not_null(strstr(err, file), "%s: message '%s' does not name %s", what, err, file);
    cr_expect_eq(count_tmp(tmp_dir), 0, "%s: a temporary file was left behind", what);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

/* A .npy file written by hand: magic (or a replacement), version
 * major.minor, the dict padded with spaces to a multiple of align bytes
 * (align 0: no padding, no newline), then n bytes of data. */
static void raw_npy(const char *path, const char *magic, int major, int minor, const char *dict,
                    size_t align, const void *data, size_t n)
{
    unsigned char buf[1 << 17];
    size_t pre = major == 1 ? 10 : 12, k = strlen(dict);
    memcpy(buf, magic, 6);
    buf[6] = (unsigned char)major;
    buf[7] = (unsigned char)minor;
    memcpy(buf + pre, dict, k);
    size_t hlen = k;
    if (align) {
        size_t total = (pre + k + 1 + align - 1) / align * align;
        hlen = total - pre;
        memset(buf + pre + k, ' ', hlen - k - 1);
        buf[pre + hlen - 1] = '\n';
    }
    for (size_t b = 0; b < pre - 8; b++)
        buf[8 + b] = (unsigned char)(hlen >> (8 * b));
    cr_assert_lt(pre + hlen + n, sizeof buf);
    memcpy(buf + pre + hlen, data, n);
    write_bytes(path, buf, pre + hlen + n);
}

#define MAGIC "\x93NUMPY"
#define F8(shape) "{'descr': '<f8', 'fortran_order': False, 'shape': " shape ", }"

static const double four[4] = {1.0, -2.5, 0.125, 3.0};

static void make_problem_simple(no_problem *p);

/* ---- .npy ----------------------------------------------------------------- */

TestSuite(formats, .init = setup_dir, .fini = teardown_dir);

Test(formats, npy_round_trip_bit_identical)
{
    static const struct {
        int ndim;
        size_t shape[4];
    } cases[] = {{0, {0}},          {1, {0}},          {1, {5}},         {2, {2, 3}},
                 {3, {2, 0, 3}},    {3, {1, 1, 1}},    {4, {2, 3, 2, 2}}, {2, {70, 70}}};
    const double special[] = {0.0, -0.0, DBL_MIN / 8, DBL_MAX, -DBL_MAX, 3.141592653589793, 1e-300, -1.0 / 3};
    char path[512], err[512];
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        no_array a = {.name = "a", .ndim = cases[c].ndim};
        a.n = 1;
        for (int d = 0; d < a.ndim; d++)
            a.n *= a.shape[d] = cases[c].shape[d];
        a.v = malloc((a.n ? a.n : 1) * sizeof(double));
        for (size_t e = 0; e < a.n; e++)
            a.v[e] = e < 8 ? special[e] : sin((double)e) * 1e3;
        FMT(path, "%s/a%zu.npy", tmp_dir, c);
        cr_assert_eq(no_npy_write(path, &a, err, sizeof err), 0, "case %zu: %s", c, err);

        /* The header is padded to 64 bytes, version 1.0. */
        FILE *f = fopen(path, "rb");
        unsigned char pre[10];
        cr_assert_eq(fread(pre, 1, 10, f), 10);
        fclose(f);
        cr_expect_eq(pre[6], 1);
        cr_expect_eq((10 + (pre[8] | pre[9] << 8)) % 64, 0);

        no_array b = {.name = "kept"};
        cr_assert_eq(no_npy_read(path, &b, 0, err, sizeof err), 0, "case %zu: %s", c, err);
        cr_expect_str_eq(b.name, "kept");
        cr_expect_eq(b.ndim, a.ndim, "case %zu", c);
        cr_expect_eq(b.n, a.n, "case %zu", c);
        for (int d = 0; d < a.ndim; d++)
            cr_expect_eq(b.shape[d], a.shape[d], "case %zu dim %d", c, d);
        if (a.n)
            cr_expect_eq(memcmp(a.v, b.v, a.n * sizeof(double)), 0, "case %zu: bits differ", c);
        free(a.v);
        free(b.v);
    }
    cr_expect_eq(count_tmp(tmp_dir), 0);
}

Test(formats, npy_reads_what_numpy_and_others_write)
{
    /* Version 2.0, keys in another order, double quotes, no trailing
     * comma, a trailing comma inside the tuple. */
    const char *dicts[] = {
        F8("(4,)"),
        "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f8'}",
        "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (4,)}",
        "{'descr':'<f8','fortran_order':False,'shape':(1, 4,),}",
    };
    char path[512], err[512];
    in_tmp(path, sizeof path, "n.npy");
    for (size_t c = 0; c < sizeof dicts / sizeof *dicts; c++)
        for (int major = 1; major <= 2; major++) {
            raw_npy(path, MAGIC, major, 0, dicts[c], 64, four, sizeof four);
            no_array a;
            int rc = no_npy_read(path, &a, 0, err, sizeof err);
            cr_expect_eq(rc, 0, "dict %zu version %d: %s", c, major, err);
            if (!rc) {
                cr_expect_eq(a.n, 4);
                cr_expect_eq(memcmp(a.v, four, sizeof four), 0);
                free(a.v);
            }
        }
}

Test(formats, npy_float32_widened_exactly)
{
    const float f[3] = {0.1f, -FLT_MAX, 1e-45f /* subnormal */};
    char path[512], err[512];
    in_tmp(path, sizeof path, "f.npy");
    raw_npy(path, MAGIC, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 64,
            f, sizeof f);
    no_array a;
    cr_assert_eq(no_npy_read(path, &a, NO_NPY_F32, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(a.v[i], (double)f[i], "element %d", i);
    free(a.v);
    /* Without the flag '<f4' is an input error. */
    expect_error(no_npy_read(path, &a, 0, err, sizeof err), err, "f.npy", "f4 not allowed");
    cr_expect_null(a.v);
}

Test(formats, npy_nonfinite_only_when_allowed)
{
    const double d[4] = {1, NAN, 2, INFINITY};
    char path[512], err[512];
    in_tmp(path, sizeof path, "nan.npy");
    raw_npy(path, MAGIC, 1, 0, F8("(2, 2)"), 64, d, sizeof d);
    no_array a;
    expect_error(no_npy_read(path, &a, 0, err, sizeof err), err, "nan.npy", "NaN");
    cr_expect_not_null(strstr(err, "[0, 1]"), "first bad index not named: %s", err);
    cr_expect_null(a.v);
    cr_assert_eq(no_npy_read(path, &a, NO_NPY_NONFINITE, err, sizeof err), 0, "%s", err);
    cr_expect(isnan(a.v[1]) && isinf(a.v[3]));
    free(a.v);
}

Test(formats, npy_hostile_files)
{
    unsigned char five[5 * 8];
    memcpy(five, four, sizeof four);
    memset(five + 32, 0, 8);
    static const struct {
        const char *what, *magic;
        int major, minor;
        const char *dict;
        size_t align, nbytes; /* of the data: 32 = exactly four doubles */
    } cases[] = {
        {"truncated data", MAGIC, 1, 0, F8("(5,)"), 64, 32},
        {"trailing bytes", MAGIC, 1, 0, F8("(4,)"), 64, 33},
        {"trailing double", MAGIC, 1, 0, F8("(4,)"), 64, 40},
        {"wrong magic", "\x93NUMPZ", 1, 0, F8("(4,)"), 64, 32},
        {"version 3.0", MAGIC, 3, 0, F8("(4,)"), 64, 32},
        {"version 1.1", MAGIC, 1, 1, F8("(4,)"), 64, 32},
        {"header not padded to 64", MAGIC, 1, 0, F8("(4,)"), 16, 32},
        {"header neither padded nor ending in a newline", MAGIC, 1, 0, F8("(4,)") "   ", 0, 32},
        {"unterminated dict", MAGIC, 1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)",
         64, 32},
        {"mangled quotes", MAGIC, 1, 0, "{'descr: '<f8', 'fortran_order': False, 'shape': (4,)}",
         64, 32},
        {"text after dict", MAGIC, 1, 0, F8("(4,)") " x", 64, 32},
        {"dtype <i8", MAGIC, 1, 0, "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", 64,
         32},
        {"dtype >i8 (big-endian floats are read, not integers)", MAGIC, 1, 0,
         "{'descr': '>i8', 'fortran_order': False, 'shape': (4,), }", 64, 32},
        {"dtype =f8 (numpy writes '<' or '>')", MAGIC, 1, 0,
         "{'descr': '=f8', 'fortran_order': False, 'shape': (4,), }", 64, 32},
        {"dtype |O", MAGIC, 1, 0, "{'descr': '|O', 'fortran_order': False, 'shape': (4,), }", 64,
         32},
        {"structured dtype", MAGIC, 1, 0,
         "{'descr': [('x', '<f8')], 'fortran_order': False, 'shape': (4,), }", 64, 32},
        {"fortran_order lowercase true (not Python)", MAGIC, 1, 0,
         "{'descr': '<f8', 'fortran_order': true, 'shape': (2, 2), }", 64, 32},
        {"fortran_order not a bool", MAGIC, 1, 0,
         "{'descr': '<f8', 'fortran_order': 0, 'shape': (4,), }", 64, 32},
        {"shape overflows", MAGIC, 1, 0, F8("(4294967296, 4294967296)"), 64, 32},
        {"shape entry overflows", MAGIC, 1, 0, F8("(99999999999999999999999,)"), 64, 32},
        {"shape over the element limit", MAGIC, 1, 0, F8("(1048576, 1048576)"), 64, 32},
        {"five dimensions", MAGIC, 1, 0, F8("(1, 1, 1, 1, 4)"), 64, 32},
        {"negative dimension", MAGIC, 1, 0, F8("(-4,)"), 64, 32},
        {"not a tuple", MAGIC, 1, 0, F8("(4)"), 64, 32},
        {"shape a list", MAGIC, 1, 0, F8("[4]"), 64, 32},
        {"float dimension", MAGIC, 1, 0, F8("(4.0,)"), 64, 32},
        {"leading zero", MAGIC, 1, 0, F8("(04,)"), 64, 32},
        {"unknown key", MAGIC, 1, 0,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), 'x': 1, }", 64, 32},
        {"duplicate key", MAGIC, 1, 0,
         "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", 64, 32},
        {"missing shape", MAGIC, 1, 0, "{'descr': '<f8', 'fortran_order': False, }", 64, 32},
        {"empty dict", MAGIC, 1, 0, "{}", 64, 32},
        {"not a dict", MAGIC, 1, 0, "('<f8', False, (4,))", 64, 32},
    };
    char path[512], err[512];
    in_tmp(path, sizeof path, "bad.npy");
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        raw_npy(path, cases[c].magic, cases[c].major, cases[c].minor, cases[c].dict,
                cases[c].align, five, cases[c].nbytes);
        no_array a = {.name = "x"};
        err[0] = 0;
        expect_error(no_npy_read(path, &a, NO_NPY_F32, err, sizeof err), err, "bad.npy",
                     cases[c].what);
        cr_expect_null(a.v, "%s: output allocated", cases[c].what);
    }

    /* Padded to 64 bytes, but the last byte is a space, not '\n'. */
    char dict[160];
    FMT(dict, "%-118s", F8("(4,)"));
    raw_npy(path, MAGIC, 1, 0, dict, 0, four, 32);
    no_array nl;
    expect_error(no_npy_read(path, &nl, 0, err, sizeof err), err, "bad.npy", "no newline");
    cr_expect_not_null(strstr(err, "newline"), "%s", err);

    /* A v2 header length beyond 64 KiB, an empty file, a file that ends in
     * the preamble, a file that does not exist. */
    unsigned char big[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0x34, 0x00, 0x01, 0x00};
    write_bytes(path, big, sizeof big);
    no_array a;
    expect_error(no_npy_read(path, &a, 0, err, sizeof err), err, "bad.npy", "header too long");
    write_bytes(path, "", 0);
    expect_error(no_npy_read(path, &a, 0, err, sizeof err), err, "bad.npy", "empty file");
    write_bytes(path, big, 9);
    expect_error(no_npy_read(path, &a, 0, err, sizeof err), err, "bad.npy", "cut preamble");
    in_tmp(path, sizeof path, "absent.npy");
    expect_error(no_npy_read(path, &a, 0, err, sizeof err), err, "absent.npy", "absent file");
}

Test(formats, npy_failed_write_leaves_nothing)
{
    no_array a = {.name = "a", .ndim = 1, .shape = {4}, .n = 4, .v = (double *)four};
    char path[256], sub[512], err[512];
    /* rename(2) onto a non-empty directory fails after the data are written. */
    in_tmp(path, sizeof path, "dir.npy");
    cr_assert_eq(mkdir(path, 0777), 0);
    FMT(sub, "%s/keep", path);
    write_text(sub, "x");
    expect_error(no_npy_write(path, &a, err, sizeof err), err, "dir.npy", "rename onto a dir");
    /* No such directory: mkstemp fails. */
    in_tmp(path, sizeof path, "nodir/a.npy");
    expect_error(no_npy_write(path, &a, err, sizeof err), err, "nodir/a.npy", "no directory");
    /* n inconsistent with the shape. */
    in_tmp(path, sizeof path, "bad.npy");
    a.n = 3;
    expect_error(no_npy_write(path, &a, err, sizeof err), err, "bad.npy", "inconsistent n");
    cr_expect_neq(access(path, F_OK), 0, "a file was written");
}

Test(formats, atomic_writes_and_paths)
{
    char path[256], err[512], buf[16];
    /* Abort leaves nothing; commit leaves exactly the final file. */
    in_tmp(path, sizeof path, "t.txt");
    no_atomic w;
    cr_assert_eq(no_atomic_open(&w, path, err, sizeof err), 0, "%s", err);
    fputs("half", w.f);
    cr_expect_eq(count_tmp(tmp_dir), 1);
    no_atomic_abort(&w);
    cr_expect_eq(count_tmp(tmp_dir), 0);
    cr_expect_neq(access(path, F_OK), 0);
    cr_assert_eq(no_atomic_write(path, "whole", 5, err, sizeof err), 0, "%s", err);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_expect_eq(fread(buf, 1, sizeof buf, f), 5);
    fclose(f);
    cr_expect_eq(memcmp(buf, "whole", 5), 0);
    cr_expect_eq(count_tmp(tmp_dir), 0);

    /* mkdir -p through an existing file fails; over a directory succeeds. */
    char dir[256];
    FMT(dir, "%s/t.txt/sub", tmp_dir);
    expect_error(no_path_mkdirs(dir, err, sizeof err), err, "t.txt", "mkdir under a file");
    FMT(dir, "%s/a//b/", tmp_dir);
    cr_expect_eq(no_path_mkdirs(dir, err, sizeof err), 0, "%s", err);
    cr_expect_eq(no_path_mkdirs(dir, err, sizeof err), 0, "again: %s", err);
    no_problem p;
    make_problem_simple(&p);
    FMT(dir, "%s/t.txt/p", tmp_dir);
    expect_error(no_problem_dir_write(dir, &p, err, sizeof err), err, "t.txt", "dir under a file");
    no_problem_free(&p);

    /* Joining: absolute names stay, over-long paths are errors. */
    char j[32];
    cr_expect_eq(no_path_join(j, sizeof j, "d/", "x", err, sizeof err), 0);
    cr_expect_str_eq(j, "d/x");
    cr_expect_eq(no_path_join(j, sizeof j, "d", "/abs", err, sizeof err), 0);
    cr_expect_str_eq(j, "/abs");
    expect_error(no_path_join(j, sizeof j, "a-directory-name-that-is", "too-long", err, sizeof err),
                 err, "too-long", "path too long");
}

/* ---- problem directories ---------------------------------------------- */

static void expect_same_spec(const no_spec *a, const no_spec *b, const char *what)
{
    cr_expect(a->N == b->N && a->d_in == b->d_in && a->d_out == b->d_out && a->D == b->D &&
                  a->L == b->L && a->q == b->q && a->M == b->M && a->m == b->m,
              "%s: sizes differ", what);
    cr_expect(a->family == b->family && a->scheme == b->scheme && a->scaling == b->scaling &&
                  a->adjoint == b->adjoint && a->seed == b->seed,
              "%s: kinds differ", what);
    cr_expect_eq(a->param_scale, b->param_scale, "%s: param_scale", what);
    if (a->family == NO_FAMILY_RFF) {
        cr_expect_eq(a->kernel, b->kernel, "%s: kernel", what);
        if (a->kernel == NO_KERNEL_GAUSSIAN)
            cr_expect_eq(a->ell, b->ell, "%s: ell", what);
        else
            cr_expect_eq(a->nu, b->nu, "%s: nu", what);
    }
    if (a->family == NO_FAMILY_MLP)
        cr_expect_eq(a->activation, b->activation, "%s: activation", what);
}

static void make_problem_simple(no_problem *p)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 5);
    char err[256];
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

/* Problem variant v (test_util.h), with values that need all 17 digits. */
static void make_problem(no_problem *p, int v)
{
    no_spec s;
    no_test_spec(&s, v, v % 2 ? NO_SCHEME_RK4 : NO_SCHEME_EULER, 1 + (size_t)(v % 3), 1000 + v);
    s.adjoint = v % 2 ? NO_ADJOINT_CONTINUOUS : NO_ADJOINT_DISCRETE;
    s.param_scale = 0.1 + v / 7.0;
    s.ell = 0.7;
    s.nu = 1.0 / 3 + 1;
    char err[256];
    cr_assert_eq(no_problem_generate(p, &s, err, sizeof err), 0, "%s", err);
}

Test(formats, problem_dir_round_trip_every_family)
{
    char dir[256], err[512];
    for (int v = 0; v < NO_TEST_VARIANTS; v++) {
        no_problem p, q;
        make_problem(&p, v);
        FMT(dir, "%s/p%d/nested", tmp_dir, v); /* mkdir -p */
        cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);
        cr_assert_eq(no_problem_dir_read(dir, &q, err, sizeof err), 0, "%s: %s",
                     no_test_variant_name(v), err);
        expect_same_spec(&p.spec, &q.spec, no_test_variant_name(v));
        no_array pa[NO_PROBLEM_DIR_MAX_ARRAYS], qa[NO_PROBLEM_DIR_MAX_ARRAYS];
        int n = no_problem_dir_arrays(&p, pa);
        cr_assert_eq(no_problem_dir_arrays(&q, qa), n);
        cr_expect_eq(n, p.spec.family == NO_FAMILY_LINEAR ? 5 : 7);
        for (int i = 0; i < n; i++) {
            cr_assert_not_null(qa[i].v, "%s: %s not read", no_test_variant_name(v), pa[i].name);
            cr_expect_eq(memcmp(pa[i].v, qa[i].v, pa[i].n * sizeof(double)), 0, "%s: %s differs",
                         no_test_variant_name(v), pa[i].name);
        }
        /* The hash sees the same inputs, and any change of one bit. */
        uint64_t hp, hq;
        cr_assert_eq(no_problem_hash(&p, &hp), 0);
        cr_assert_eq(no_problem_hash(&q, &hq), 0);
        cr_expect_eq(hp, hq, "%s: hash differs after the round trip", no_test_variant_name(v));
        qa[n - 1].v[0] = nextafter(qa[n - 1].v[0], INFINITY);
        cr_assert_eq(no_problem_hash(&q, &hq), 0);
        cr_expect_neq(hp, hq, "%s: hash blind to the last array", no_test_variant_name(v));
        q.spec.seed++;
        cr_assert_eq(no_problem_hash(&p, &hq), 0);
        cr_assert_eq(no_problem_hash(&q, &hq), 0);
        cr_expect_neq(hp, hq, "%s: hash blind to the spec", no_test_variant_name(v));
        no_problem_free(&p);
        no_problem_free(&q);
    }
    cr_expect_eq(count_tmp(tmp_dir), 0);
}

/* A valid linear problem.json, with one member replaced (or added) by text:
 * "REPL" is replaced by repl. */
static const char *linear_json =
    "{\"format\": \"nodeoracle-problem\", \"version\": 1, \"N\": 3, \"d_in\": 2, \"d_out\": 2,"
    " \"D\": 3, \"L\": 3, \"m\": 1, \"family\": \"linear\", \"scheme\": \"euler\","
    " \"scaling\": \"ode\", \"adjoint\": \"discrete\", \"seed\": 5, \"param_scale\": 1.0 REPL}";

static void write_json(const char *dir, const char *tmpl, const char *repl)
{
    char path[512], text[2048];
    const char *at = strstr(tmpl, "REPL");
    FMT(text, "%.*s%s%s", (int)(at - tmpl), tmpl, repl, at + 4);
    FMT(path, "%s/problem.json", dir);
    write_text(path, text);
}

static char last_err[512];

static void expect_problem_rejected(const char *dir, const char *file, const char *what)
{
    char *err = last_err;
    err[0] = 0;
    no_problem p;
    expect_error(no_problem_dir_read(dir, &p, err, sizeof last_err), err, file, what);
    cr_expect(!p.X && !p.Y && !p.A && !p.B && !p.W && !p.Omega && !p.beta && !p.a && !p.u &&
                  !p.b,
              "%s: arrays left allocated", what);
}

Test(formats, problem_json_hostile)
{
    no_problem p;
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 5);
    char err[512], dir[512];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0);
    in_tmp(dir, sizeof dir, "p");
    cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);
    no_problem_free(&p);

    /* The template itself is valid (so each case below fails for its own reason). */
    write_json(dir, linear_json, "");
    cr_assert_eq(no_problem_dir_read(dir, &p, err, sizeof err), 0, "%s", err);
    no_problem_free(&p);

    static const struct {
        const char *what, *tmpl, *repl;
    } cases[] = {
        {"extra member", NULL, ", \"colour\": \"blue\""},
        {"member of another family (q for linear)", NULL, ", \"q\": 5"},
        {"member of another family (activation for linear)", NULL, ", \"activation\": \"tanh\""},
        {"duplicate key", NULL, ", \"N\": 3"},
        {"invalid JSON", NULL, ","},
        {"trailing text", NULL, "} {"},
        {"string for N", "\"N\": 3,", "\"N\": \"3\","},
        {"float for N", "\"N\": 3,", "\"N\": 3.0,"},
        {"zero N", "\"N\": 3,", "\"N\": 0,"},
        {"negative seed", "\"seed\": 5,", "\"seed\": -1,"},
        {"float seed", "\"seed\": 5,", "\"seed\": 5.5,"},
        {"string param_scale", "\"param_scale\": 1.0", "\"param_scale\": \"1\""},
        {"missing member m", "\"m\": 1,", ""},
        {"missing member family", "\"family\": \"linear\",", ""},
        {"unknown family", "\"linear\"", "\"quadratic\""},
        {"unknown scheme", "\"euler\"", "\"rk5\""},
        {"wrong format", "nodeoracle-problem", "nodeoracle-candidate"},
        {"version 2", "\"version\": 1", "\"version\": 2"},
        {"version a string", "\"version\": 1", "\"version\": \"1\""},
        {"fails validation (D < d_in)", "\"D\": 3,", "\"D\": 1,"},
        {"fails validation (sqrt with rk4)", "\"euler\", \"scaling\": \"ode\"",
         "\"rk4\", \"scaling\": \"sqrt\""},
        {"NUL in a string", "\"euler\"", "\"euler\\u0000\""},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        if (cases[c].tmpl) {
            char t[2048];
            const char *at = strstr(linear_json, cases[c].tmpl);
            cr_assert_not_null(at, "%s: template", cases[c].what);
            FMT(t, "%.*s%s%s", (int)(at - linear_json), linear_json, cases[c].repl,
                     at + strlen(cases[c].tmpl));
            write_json(dir, t, "");
        } else {
            write_json(dir, linear_json, cases[c].repl);
        }
        expect_problem_rejected(dir, "problem.json", cases[c].what);
    }
    char path[512];
    FMT(path, "%s/problem.json", dir);
    write_text(path, "[1, 2]");
    expect_problem_rejected(dir, "problem.json", "top level an array");
    write_text(path, "");
    expect_problem_rejected(dir, "problem.json", "empty file");
    unlink(path);
    expect_problem_rejected(dir, "problem.json", "no problem.json");
}

Test(formats, problem_json_family_members)
{
    char dir[256], err[512];
    in_tmp(dir, sizeof dir, "rff");
    no_problem p;
    make_problem(&p, 1); /* rff gaussian */
    cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);
    no_problem_free(&p);
    const char *rff =
        "{\"format\": \"nodeoracle-problem\", \"version\": 1, \"N\": 3, \"d_in\": 2, \"d_out\": 2,"
        " \"D\": 3, \"L\": 3, \"m\": 2, \"family\": \"rff\", \"scheme\": \"rk4\","
        " \"scaling\": \"ode\", \"adjoint\": \"continuous\", \"seed\": 1001, \"param_scale\": 2,"
        " \"q\": 5, \"kernel\": \"gaussian\" REPL}";
    write_json(dir, rff, ", \"ell\": 0.7");
    cr_assert_eq(no_problem_dir_read(dir, &p, err, sizeof err), 0, "integer param_scale: %s", err);
    cr_expect_eq(p.spec.param_scale, 2.0);
    no_problem_free(&p);
    write_json(dir, rff, "");
    expect_problem_rejected(dir, "problem.json", "gaussian without ell");
    write_json(dir, rff, ", \"ell\": 0.7, \"nu\": 2.5");
    expect_problem_rejected(dir, "problem.json", "gaussian with nu");
    write_json(dir, rff, ", \"ell\": 0.7, \"M\": 4");
    expect_problem_rejected(dir, "problem.json", "rff with M");
    write_json(dir, rff, ", \"ell\": 1e-9");
    expect_problem_rejected(dir, "problem.json", "ell out of range");
    write_json(dir, rff, ", \"ell\": true");
    expect_problem_rejected(dir, "problem.json", "ell a boolean");
}

Test(formats, problem_arrays_hostile)
{
    char dir[256], path[512], err[512];
    in_tmp(dir, sizeof dir, "p");
    no_problem p;
    make_problem(&p, 3); /* mlp */
    cr_assert_eq(no_problem_dir_write(dir, &p, err, sizeof err), 0, "%s", err);

    /* X with the shape of Y transposed: the message names both shapes. */
    no_array x = {.name = "X", .ndim = 2, .shape = {2, 3}, .n = 6, .v = p.X};
    FMT(path, "%s/X.npy", dir);
    cr_assert_eq(no_npy_write(path, &x, err, sizeof err), 0);
    expect_problem_rejected(dir, "X.npy", "wrong shape");
    cr_expect(strstr(last_err, "(2, 3)") && strstr(last_err, "(3, 2)"), "shapes not named: %s",
              last_err);
    x.shape[0] = 3, x.shape[1] = 2;
    cr_assert_eq(no_npy_write(path, &x, err, sizeof err), 0);

    /* NaN and Inf in the inputs. */
    no_array b = {.name = "b", .ndim = 2, .shape = {p.spec.L, p.spec.M}};
    b.n = p.spec.L * p.spec.M;
    b.v = p.b;
    double keep = p.b[2];
    p.b[2] = NAN;
    FMT(path, "%s/b.npy", dir);
    cr_assert_eq(no_npy_write(path, &b, err, sizeof err), 0);
    expect_problem_rejected(dir, "b.npy", "NaN in b");
    p.b[2] = -INFINITY;
    cr_assert_eq(no_npy_write(path, &b, err, sizeof err), 0);
    expect_problem_rejected(dir, "b.npy", "Inf in b");
    p.b[2] = keep;
    cr_assert_eq(no_npy_write(path, &b, err, sizeof err), 0);
    no_problem q;
    cr_assert_eq(no_problem_dir_read(dir, &q, err, sizeof err), 0, "repaired: %s", err);
    no_problem_free(&q);
    no_problem_free(&p);

    /* A float32 input is refused (only candidates may be float32). */
    const float f[6] = {1, 2, 3, 4, 5, 6};
    FMT(path, "%s/X.npy", dir);
    raw_npy(path, MAGIC, 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", 64,
            f, sizeof f);
    expect_problem_rejected(dir, "X.npy", "float32 input");
    unlink(path);
    expect_problem_rejected(dir, "X.npy", "missing X.npy");
}

Test(formats, problem_write_refuses_nonfinite)
{
    char dir[256], err[512];
    in_tmp(dir, sizeof dir, "nf");
    no_problem p;
    make_problem(&p, 0);
    p.W[1] = NAN;
    expect_error(no_problem_dir_write(dir, &p, err, sizeof err), err, "nf", "NaN in W");
    cr_expect_neq(access(dir, F_OK), 0, "something was written");
    p.W[1] = 0;
    p.spec.seed = UINT64_MAX;
    expect_error(no_problem_dir_write(dir, &p, err, sizeof err), err, "nf", "seed 2^64 - 1");
    uint64_t h;
    cr_expect_eq(no_problem_hash(&p, &h), -1);
    no_problem_free(&p);
}

/* ---- candidates ---------------------------------------------------------- */

/* A candidate directory for p's spec: output as float32, loss of shape (),
 * grad_<P> as float64; states if with_states. */
static void write_candidate(const char *dir, const no_spec *s, int with_states)
{
    char path[512], err[512], dict[256];
    mkdir(dir, 0777);
    size_t n = s->N * s->d_out;
    float *f = malloc(n * sizeof(float));
    for (size_t e = 0; e < n; e++)
        f[e] = (float)(0.1 * (double)e - 0.3);
    snprintf(dict, sizeof dict,
             "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", s->N, s->d_out);
    FMT(path, "%s/output.npy", dir);
    raw_npy(path, MAGIC, 1, 0, dict, 64, f, n * sizeof(float));
    free(f);
    const double loss = 0.375;
    FMT(path, "%s/loss.npy", dir);
    raw_npy(path, MAGIC, 1, 0, F8("()"), 64, &loss, sizeof loss);
    no_param_info pi[NO_MAX_PARAMS];
    int np = no_spec_params(s, pi);
    for (int i = 0; i < np; i++) {
        no_array g = {.ndim = pi[i].ndim, .n = pi[i].n};
        memcpy(g.shape, pi[i].shape, sizeof pi[i].shape);
        g.v = calloc(g.n, sizeof(double));
        g.v[0] = i + 0.5;
        FMT(path, "%s/grad_%s.npy", dir, pi[i].name);
        cr_assert_eq(no_npy_write(path, &g, err, sizeof err), 0, "%s", err);
        free(g.v);
    }
    if (with_states) {
        no_array st = {.ndim = 3, .shape = {s->L + 1, s->N, s->D}};
        st.n = (s->L + 1) * s->N * s->D;
        st.v = calloc(st.n, sizeof(double));
        st.v[st.n - 1] = NAN; /* a failure to report, not an input error */
        FMT(path, "%s/states.npy", dir);
        cr_assert_eq(no_npy_write(path, &st, err, sizeof err), 0, "%s", err);
        free(st.v);
    }
}

Test(formats, candidate_read_widens_float32)
{
    char dir[256], path[512], err[512];
    in_tmp(dir, sizeof dir, "cand");
    for (int v = 0; v < NO_TEST_VARIANTS; v += 3) {
        no_spec s;
        no_test_spec(&s, v, NO_SCHEME_EULER, 1, 1);
        write_candidate(dir, &s, v == 0);
        no_arrays out;
        no_candidate_info info;
        cr_assert_eq(no_candidate_read(dir, &s, &out, &info, err, sizeof err), 0, "%s", err);
        /* Layout order: states (if given), output, loss, (adjoint), grads. */
        int k = 0;
        if (v == 0) {
            cr_expect_str_eq(out.a[k].name, "states");
            cr_expect(isnan(out.a[k].v[out.a[k].n - 1]));
            k++;
        }
        cr_expect_str_eq(out.a[k].name, "output");
        for (size_t e = 0; e < out.a[k].n; e++)
            cr_expect_eq(out.a[k].v[e], (double)(float)(0.1 * (double)e - 0.3), "output[%zu]", e);
        k++;
        cr_expect_str_eq(out.a[k].name, "loss");
        cr_expect(out.a[k].ndim == 1 && out.a[k].shape[0] == 1 && out.a[k].v[0] == 0.375);
        k++;
        cr_expect_null(no_arrays_get(&out, "adjoint"));
        no_param_info pi[NO_MAX_PARAMS];
        int np = no_spec_params(&s, pi);
        cr_expect_eq(out.count, k + np);
        for (int i = 0; i < np; i++) {
            char name[32];
            FMT(name, "grad_%s", pi[i].name);
            const no_array *g = no_arrays_get(&out, name);
            cr_assert_not_null(g, "%s missing", name);
            cr_expect_eq(g->v[0], i + 0.5);
        }
        cr_expect_eq(info.precision, NO_PRECISION_FLOAT64);
        cr_expect(!info.has_precision && !info.has_grid && !info.has_scheme);
        no_arrays_free(&out);
        remove_tree(dir);
    }

    /* candidate.json */
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 1);
    write_candidate(dir, &s, 0);
    FMT(path, "%s/candidate.json", dir);
    write_text(path, "{\"precision\": \"bfloat16\", \"grid\": \"g.npy\", \"scheme\": \"rk4\"}");
    no_arrays out;
    no_candidate_info info;
    cr_assert_eq(no_candidate_read(dir, &s, &out, &info, err, sizeof err), 0, "%s", err);
    cr_expect_eq(info.precision, NO_PRECISION_BFLOAT16);
    cr_expect(info.has_precision && info.has_grid && info.has_scheme);
    cr_expect_eq(info.scheme, NO_SCHEME_RK4);
    FMT(path, "%s/g.npy", dir);
    cr_expect_str_eq(info.grid, path);
    no_arrays_free(&out);
    no_precision pr;
    cr_expect(no_precision_parse("float32", &pr) == 0 && pr == NO_PRECISION_FLOAT32);
    cr_expect_eq(no_precision_parse("float16", &pr), -1);
    cr_expect_str_eq(no_precision_name(NO_PRECISION_BFLOAT16), "bfloat16");
}

static void expect_candidate_rejected(const char *dir, const no_spec *s, const char *file,
                                      const char *what)
{
    char err[512] = "";
    no_arrays out;
    no_candidate_info info;
    expect_error(no_candidate_read(dir, s, &out, &info, err, sizeof err), err, file, what);
    cr_expect_eq(out.count, 0, "%s: arrays left", what);
}

Test(formats, candidate_hostile)
{
    char dir[256], path[512], err[512];
    in_tmp(dir, sizeof dir, "cand");
    no_spec s;
    no_test_spec(&s, 3, NO_SCHEME_EULER, 1, 1); /* mlp: grad_a, grad_u, grad_b */
    write_candidate(dir, &s, 1);

    FMT(path, "%s/candidate.json", dir);
    const char *jsons[] = {
        "{\"precision\": \"float16\"}", "{\"precision\": 32}",    "{\"scheme\": \"rk3\"}",
        "{\"grid\": \"\"}",             "{\"grid\": 1}",          "{\"tolerance\": 1e-3}",
        "{\"scheme\": \"rk4\", \"scheme\": \"euler\"}",           "{\"precision\": ",
        "[\"float32\"]",
    };
    for (size_t c = 0; c < sizeof jsons / sizeof *jsons; c++) {
        write_text(path, jsons[c]);
        expect_candidate_rejected(dir, &s, "candidate.json", jsons[c]);
    }
    unlink(path);

    /* loss of shape (2,), output of the wrong shape, a missing gradient. */
    FMT(path, "%s/loss.npy", dir);
    raw_npy(path, MAGIC, 1, 0, F8("(2,)"), 64, four, 16);
    expect_candidate_rejected(dir, &s, "loss.npy", "loss of shape (2,)");
    raw_npy(path, MAGIC, 1, 0, F8("(1,)"), 64, four, 8);
    no_arrays out;
    no_candidate_info info;
    cr_assert_eq(no_candidate_read(dir, &s, &out, &info, err, sizeof err), 0, "loss (1,): %s",
                 err);
    no_arrays_free(&out);

    FMT(path, "%s/states.npy", dir);
    raw_npy(path, MAGIC, 1, 0, F8("(2, 2)"), 64, four, 32);
    expect_candidate_rejected(dir, &s, "states.npy", "states of the wrong shape");
    unlink(path);
    FMT(path, "%s/adjoint.npy", dir);
    raw_npy(path, MAGIC, 1, 0, F8("(4,)"), 64, four, 31);
    expect_candidate_rejected(dir, &s, "adjoint.npy", "truncated adjoint");
    unlink(path);
    FMT(path, "%s/grad_u.npy", dir);
    unlink(path);
    expect_candidate_rejected(dir, &s, "grad_u.npy", "missing grad_u");
}

/* ---- grids ---------------------------------------------------------------- */

static int try_grid(const char *path, const no_spec *s, const double *t, size_t n, double **out,
                    size_t *count, char *err, size_t len)
{
    no_array a = {.ndim = 1, .shape = {n}, .n = n, .v = (double *)t};
    cr_assert_eq(no_npy_write(path, &a, err, len), 0);
    return no_grid_read(path, s, out, count, err, len);
}

Test(formats, grid_validation)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 1); /* L = 3 */
    char path[512], err[512];
    in_tmp(path, sizeof path, "grid.npy");
    double *t;
    size_t n;
    /* Boundaries 1e-14 off are snapped to k/L; steps inside layers vary. */
    const double good[] = {1e-14, 0.1, 1.0 / 3 + 1e-14, 0.5, 0.6, 2.0 / 3 - 1e-13, 0.9,
                           1 - 1e-15};
    cr_assert_eq(try_grid(path, &s, good, 8, &t, &n, err, sizeof err), 0, "%s", err);
    cr_expect_eq(n, 8);
    cr_expect(t[0] == 0 && t[2] == 1.0 / 3 && t[5] == 2.0 / 3 && t[7] == 1 && t[1] == 0.1,
              "not snapped");
    free(t);
    const double uniform[] = {0, 1.0 / 3, 2.0 / 3, 1};
    cr_assert_eq(try_grid(path, &s, uniform, 4, &t, &n, err, sizeof err), 0, "%s", err);
    free(t);

    static const struct {
        const char *what;
        double t[6];
        size_t n;
    } bad[] = {
        {"not increasing", {0, 0.2, 1.0 / 3, 0.3, 2.0 / 3, 1}, 6},
        {"repeated point", {0, 1.0 / 3, 1.0 / 3, 2.0 / 3, 1}, 5},
        {"missing boundary 2/3", {0, 1.0 / 3, 0.5, 0.7, 1}, 5},
        {"boundary 1e-9 off", {0, 1.0 / 3, 2.0 / 3 + 1e-9, 1}, 4},
        {"not starting at 0", {0.01, 1.0 / 3, 2.0 / 3, 1}, 4},
        {"negative start", {-0.1, 0, 1.0 / 3, 2.0 / 3, 1}, 5},
        {"not ending at 1", {0, 1.0 / 3, 2.0 / 3, 0.9}, 4},
        {"past 1", {0, 1.0 / 3, 2.0 / 3, 1, 1.1}, 5},
        {"one point", {0}, 1},
    };
    for (size_t c = 0; c < sizeof bad / sizeof *bad; c++) {
        t = NULL;
        expect_error(try_grid(path, &s, bad[c].t, bad[c].n, &t, &n, err, sizeof err), err,
                     "grid.npy", bad[c].what);
        cr_expect_null(t);
    }
    no_array two = {.ndim = 2, .shape = {2, 2}, .n = 4, .v = (double *)uniform};
    cr_assert_eq(no_npy_write(path, &two, err, sizeof err), 0);
    expect_error(no_grid_read(path, &s, &t, &n, err, sizeof err), err, "grid.npy", "2-D grid");
    const double withnan[] = {0, NAN, 1.0 / 3, 2.0 / 3, 1};
    expect_error(try_grid(path, &s, withnan, 5, &t, &n, err, sizeof err), err, "grid.npy",
                 "NaN in grid");
    s.scaling = NO_SCALING_SQRT;
    expect_error(try_grid(path, &s, uniform, 4, &t, &n, err, sizeof err), err, "grid.npy",
                 "sqrt scaling");
}

/* ---- golden -------------------------------------------------------------- */

Test(formats, golden_round_trip)
{
    no_spec s;
    no_test_spec(&s, 5, NO_SCHEME_RK4, 1, 1); /* mlp relu: every array kind */
    no_arrays val, bits;
    cr_assert_eq(no_outputs_init(&val, &s), 0);
    cr_assert_eq(no_outputs_init(&bits, &s), 0);
    for (int i = 0; i < val.count; i++)
        for (size_t e = 0; e < val.a[i].n; e++) {
            val.a[i].v[e] = (e % 2 ? -1 : 1) * exp((double)(i + 1) * 0.37 + (double)e * 1e-3);
            bits.a[i].v[e] = 100 + (double)((i + e) % 50);
        }
    /* 40-digit strings for "output" only; the others come from the doubles. */
    const no_array *out = no_arrays_get(&val, "output");
    int io = (int)(out - val.a);
    const char **strs = malloc(out->n * sizeof *strs);
    char(*buf)[64] = malloc(out->n * sizeof *buf);
    for (size_t e = 0; e < out->n; e++) {
        snprintf(buf[e], 64, "1.2345678901234567890123456789012345678%02zue+00", e);
        strs[e] = buf[e];
    }
    const char *const *digits[NO_MAX_ARRAYS] = {0};
    digits[io] = strs;

    char dir[256], err[512], path[512];
    in_tmp(dir, sizeof dir, "prob");
    cr_assert_eq(no_golden_write(dir, &val, &bits, digits, 192, 0x0123456789abcdefull, "1.2.3",
                                 err, sizeof err),
                 0, "%s", err);
    no_arrays rv, rb;
    cr_assert_eq(no_golden_read(dir, &s, &rv, &rb, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rv.count, val.count);
    for (int i = 0; i < val.count; i++) {
        cr_expect_str_eq(rv.a[i].name, val.a[i].name);
        cr_expect_eq(memcmp(rv.a[i].v, val.a[i].v, val.a[i].n * sizeof(double)), 0, "%s",
                     val.a[i].name);
        cr_expect_eq(memcmp(rb.a[i].v, bits.a[i].v, val.a[i].n * sizeof(double)), 0, "%s bits",
                     val.a[i].name);
    }
    no_arrays_free(&rv);
    no_arrays_free(&rb);

    no_golden_provenance pv;
    cr_assert_eq(no_golden_provenance_read(dir, &pv, err, sizeof err), 0, "%s", err);
    cr_expect_eq(pv.prec, 192);
    cr_expect_eq(pv.inputs_hash, 0x0123456789abcdefull);
    cr_expect_str_eq(pv.version, "1.2.3");
    cr_expect_gt(strlen(pv.mpfr), 0);
    cr_expect_gt(strlen(pv.gmp), 0);

    /* The text files: the given strings with their bits; else the double's
     * 40 digits with at most 53 bits. */
    char line[256];
    FMT(path, "%s/golden/output.txt", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    size_t lines = 0;
    while (fgets(line, sizeof line, f)) {
        char expect[128];
        FMT(expect, "%s %g\n", strs[lines], bits.a[io].v[lines]);
        cr_expect_str_eq(line, expect);
        lines++;
    }
    fclose(f);
    cr_expect_eq(lines, out->n);
    FMT(path, "%s/golden/loss.txt", dir);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(line, sizeof line, f));
    fclose(f);
    char digits40[128];
    double b;
    cr_assert_eq(sscanf(line, "%127s %lf", digits40, &b), 2, "%s", line);
    cr_expect_eq(strtod(digits40, NULL), no_arrays_get(&val, "loss")->v[0]);
    cr_expect_eq(strlen(digits40), 1 + 1 + 39 + 4, "not 40 digits: %s", digits40);
    cr_expect_eq(b, 53);
    cr_expect_eq(count_tmp(tmp_dir), 0);

    /* Hostile: a bad provenance, a values file of the wrong shape. */
    FMT(path, "%s/golden/provenance.json", dir);
    write_text(path, "{\"nodeoracle\": \"1\", \"mpfr\": \"4\", \"gmp\": \"6\", \"precision\": 192,"
                     " \"inputs_hash\": \"0123456789ABCDEF\"}");
    expect_error(no_golden_provenance_read(dir, &pv, err, sizeof err), err, "provenance.json",
                 "upper-case hash");
    write_text(path, "{\"nodeoracle\": \"1\", \"mpfr\": \"4\", \"gmp\": \"6\", \"precision\": 192,"
                     " \"inputs_hash\": \"0123456789abcdef\", \"date\": \"today\"}");
    expect_error(no_golden_provenance_read(dir, &pv, err, sizeof err), err, "provenance.json",
                 "extra member");
    FMT(path, "%s/golden/grad_b.bits.npy", dir);
    raw_npy(path, MAGIC, 1, 0, F8("(4,)"), 64, four, 32);
    expect_error(no_golden_read(dir, &s, &rv, &rb, err, sizeof err), err, "grad_b.bits.npy",
                 "bits of the wrong shape");
    cr_expect(rv.count == 0 && rb.count == 0);

    /* loss stored as () reads as (1,); negative bits are refused. */
    FMT(path, "%s/golden/grad_b.bits.npy", dir);
    cr_assert_eq(no_npy_write(path, no_arrays_get(&bits, "grad_b"), err, sizeof err), 0);
    FMT(path, "%s/golden/loss.npy", dir);
    raw_npy(path, MAGIC, 1, 0, F8("()"), 64, four, 8);
    cr_assert_eq(no_golden_read(dir, &s, &rv, &rb, err, sizeof err), 0, "%s", err);
    cr_expect(no_arrays_get(&rv, "loss")->ndim == 1 && no_arrays_get(&rv, "loss")->v[0] == 1.0);
    no_arrays_free(&rv);
    no_arrays_free(&rb);
    FMT(path, "%s/golden/loss.bits.npy", dir);
    const double neg = -1;
    raw_npy(path, MAGIC, 1, 0, F8("(1,)"), 64, &neg, 8);
    expect_error(no_golden_read(dir, &s, &rv, &rb, err, sizeof err), err, "loss.bits.npy",
                 "negative bits");

    /* The writer refuses mismatched bits and digit strings with spaces. */
    expect_error(no_golden_write(dir, &val, &bits, NULL, 192, 0, NULL, err, sizeof err), err,
                 "golden", "no version");
    expect_error(no_golden_write(dir, &val, &bits, NULL, 0, 0, "1", err, sizeof err), err,
                 "golden", "precision 0");
    no_arrays_free(&bits);
    cr_assert_eq(no_outputs_init(&bits, &s), 0);
    strs[0] = "1.5 e+00";
    expect_error(no_golden_write(dir, &val, &bits, digits, 192, 0, "1", err, sizeof err), err,
                 "output.txt", "digits with a space");
    bits.a[0].n = 1;
    expect_error(no_golden_write(dir, &val, &bits, NULL, 192, 0, "1", err, sizeof err), err,
                 "golden", "mismatched bits");
    bits.a[0].n = val.a[0].n;
    free(strs);
    free(buf);
    no_arrays_free(&val);
    no_arrays_free(&bits);
}

/* io/bytes.h: values come back as written, and a reader never goes past the
 * end: every truncation of the bytes is refused at the value it cuts, a
 * string too long for its buffer is refused, and a refused read moves
 * nothing. */
Test(formats, bytes_round_trip_and_bounds)
{
    no_bytes b = {0};
    no_bytes_put_u64(&b, 0xfedcba9876543210ull);
    no_bytes_put_str(&b, "hello");
    no_bytes_put_str(&b, NULL);
    double x = -0.1;
    no_bytes_put(&b, &x, sizeof x);
    cr_assert(!b.bad);
    cr_assert_eq(b.len, 8 + 8 + 5 + 8 + 8);
    for (size_t cut = 0; cut <= b.len; cut++) {
        no_reader r = {b.data, cut, 0};
        unsigned long long v = 0;
        char s[8], e[8];
        double y = 0;
        int ok = !no_reader_u64(&r, &v) && !no_reader_str(&r, s, sizeof s) &&
                 !no_reader_str(&r, e, sizeof e) && !no_reader_get(&r, &y, sizeof y);
        cr_expect_eq(ok, cut == b.len, "cut at %zu: %s", cut, ok ? "read" : "refused");
        cr_expect_leq(r.at, cut);
        if (ok)
            cr_expect(v == 0xfedcba9876543210ull && !strcmp(s, "hello") && !e[0] && y == x);
    }
    no_reader r = {b.data, b.len, 8};
    char small[5];
    cr_expect_eq(no_reader_str(&r, small, sizeof small), -1, "\"hello\" fit in 5 bytes");
    cr_expect_eq(r.at, 8, "a refused read moved the reader");
    const char *p;
    size_t n;
    cr_assert_eq(no_reader_span(&r, &p, &n), 0);
    cr_expect(n == 5 && !memcmp(p, "hello", 5));
    free(b.data);
}
