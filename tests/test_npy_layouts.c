/* test_npy_layouts.c - .npy files as NumPy writes them (docs/formats.md,
 * "Arrays"): fortran_order True (np.save of a transposed or
 * np.asfortranarray array) is reordered to C order on reading, big-endian
 * '>f8' and '>f4' are byte-swapped; checked on hand-made bytes and on files
 * written by the system's NumPy (/usr/bin/python3; skipped without it).
 * And a candidate whose arrays are float32 and which declares no precision
 * is judged as float32, with the report saying so (docs/formats.md, "A
 * candidate's outputs"). */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "candidate.h"
#include "fast.h"
#include "npy.h"
#include "problem_dir.h"
#include "test_run.h"
#include "test_util.h"

NO_TEST_SCRATCH("no_npylay_")

/* The value of element (i, j, k) of the test arrays: distinct, not
 * representable in fewer bits than float32 has, exact in float32. */
static double value_at(size_t flat)
{
    return (double)(float)(0.1 + 1.25 * (double)flat - (flat % 3 ? 0.0 : 7.0));
}

/* path = a version 1.0 .npy of shape (ndim, shape) whose element of C flat
 * index e is value_at(e), stored with descr ('<f8', '>f8', '<f4', '>f4') and
 * in Fortran order if fortran. */
static void write_npy(const char *path, const char *descr, int fortran, int ndim,
                      const size_t *shape)
{
    char dict[256], sh[64];
    no_npy_shape_str(sh, sizeof sh, ndim, shape);
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                     descr, fortran ? "True" : "False", sh);
    size_t total = (10 + (size_t)k + 1 + 63) / 64 * 64, hlen = total - 10;
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    size_t item = descr[2] == '8' ? 8 : 4;
    int big = descr[0] == '>';
    unsigned char *buf = calloc(1, total + n * item);
    cr_assert_not_null(buf);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)k);
    memset(buf + 10 + k, ' ', hlen - (size_t)k - 1);
    buf[total - 1] = '\n';
    /* the file's order: Fortran walks the first index fastest */
    size_t idx[4] = {0, 0, 0, 0};
    for (size_t f = 0; f < n; f++) {
        size_t c = 0;
        if (fortran) {
            for (int d = 0; d < ndim; d++)
                c = c * shape[d] + idx[d];
            for (int d = 0; d < ndim; d++)
                if (++idx[d] < shape[d])
                    break;
                else
                    idx[d] = 0;
        } else {
            c = f;
        }
        uint64_t u;
        if (item == 8) {
            double x = value_at(c);
            memcpy(&u, &x, 8);
        } else {
            float x = (float)value_at(c);
            uint32_t w;
            memcpy(&w, &x, 4);
            u = w;
        }
        for (size_t b = 0; b < item; b++)
            buf[total + f * item + b] =
                (unsigned char)(u >> (8 * (big ? item - 1 - b : b)));
    }
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(buf, 1, total + n * item, fp), total + n * item);
    fclose(fp);
    free(buf);
}

static void expect_values(const no_array *a, int ndim, const size_t *shape, const char *what)
{
    cr_assert_eq(a->ndim, ndim, "%s: ndim %d", what, a->ndim);
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        cr_expect_eq(a->shape[d], shape[d], "%s: shape[%d]", what, d);
        n *= shape[d];
    }
    cr_assert_eq(a->n, n, "%s", what);
    for (size_t e = 0; e < n; e++)
        cr_expect_eq(a->v[e], value_at(e), "%s: element %zu is %.17g, expected %.17g", what, e,
                     a->v[e], value_at(e));
}

/* Every layout and byte order by hand, in 1 to 4 dimensions. */
Test(npy_layouts, hand_made_orders_and_byte_orders, .init = scratch_setup,
     .fini = scratch_teardown)
{
    static const char *const descrs[] = {"<f8", ">f8", "<f4", ">f4"};
    static const size_t shapes[][4] = {{5}, {2, 3}, {3, 1}, {2, 3, 4}, {3, 2, 2, 5}};
    static const int ndims[] = {1, 2, 2, 3, 4};
    char path[PATH_MAX], err[512], what[128];
    IN_SCRATCH(path, "a.npy");
    for (size_t d = 0; d < 4; d++)
        for (size_t s = 0; s < sizeof ndims / sizeof *ndims; s++)
            for (int fortran = 0; fortran < 2; fortran++) {
                write_npy(path, descrs[d], fortran, ndims[s], shapes[s]);
                snprintf(what, sizeof what, "%s %s ndim %d", descrs[d],
                         fortran ? "fortran" : "C", ndims[s]);
                no_array a;
                no_npy_info info;
                cr_assert_eq(no_npy_read_info(path, &a, NO_NPY_F32, &info, err, sizeof err), 0,
                             "%s: %s", what, err);
                expect_values(&a, ndims[s], shapes[s], what);
                cr_expect_eq(info.itemsize, descrs[d][2] == '8' ? 8 : 4, "%s", what);
                cr_expect_eq(info.big_endian, descrs[d][0] == '>', "%s", what);
                cr_expect_eq(info.fortran, fortran, "%s", what);
                free(a.v);
                if (descrs[d][2] == '4') { /* float32 only where asked for */
                    cr_expect_neq(no_npy_read(path, &a, 0, err, sizeof err), 0, "%s", what);
                    cr_expect(strstr(err, "not accepted") != NULL, "%s: %s", what, err);
                }
            }
}

/* A NaN in a Fortran-order file is named by its C-order index. */
Test(npy_layouts, nonfinite_index_in_c_order, .init = scratch_setup, .fini = scratch_teardown)
{
    char path[PATH_MAX], err[512];
    IN_SCRATCH(path, "nan.npy");
    const size_t shape[2] = {2, 3};
    write_npy(path, ">f8", 1, 2, shape);
    /* element [0, 1] is the third in Fortran order: bytes 16..23 of the data */
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    unsigned char pre[10];
    cr_assert_eq(fread(pre, 1, 10, f), 10);
    long data = 10 + (long)(pre[8] | pre[9] << 8);
    const unsigned char nan_be[8] = {0x7f, 0xf8, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(fseek(f, data + 16, SEEK_SET), 0);
    cr_assert_eq(fwrite(nan_be, 1, 8, f), 8);
    fclose(f);
    no_array a;
    cr_expect_neq(no_npy_read(path, &a, 0, err, sizeof err), 0);
    cr_expect(strstr(err, "element [0, 1] is NaN") != NULL, "%s", err);
    cr_assert_eq(no_npy_read(path, &a, NO_NPY_NONFINITE, err, sizeof err), 0, "%s", err);
    cr_expect(isnan(a.v[1]), "C index 1 = [0, 1] is %g", a.v[1]);
    free(a.v);
}

/* ---- NumPy's own files ------------------------------------------------------ */

static int have_numpy(void)
{
    run_result r = run_shell("/usr/bin/python3 -c 'import numpy'");
    int ok = r.status == 0;
    run_free(&r);
    return ok;
}

/* np.save of a transposed array, of np.asfortranarray, of '>f8' and '>f4'
 * arrays: every file holds the values value_at(C index). */
Test(npy_layouts, numpy_written_files, .init = scratch_setup, .fini = scratch_teardown,
     .timeout = NO_TEST_TIMEOUT_S)
{
    if (!have_numpy())
        cr_skip_test("/usr/bin/python3 has no numpy (apt-get install python3-numpy)");
    char cmd[4 * PATH_MAX];
    /* v(e) as value_at computes it: float32(0.1 + 1.25 e - (7 if e % 3 == 0)) */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && /usr/bin/python3 -c '\n"
             "import numpy as np\n"
             "def v(shape):\n"
             "    e = np.arange(int(np.prod(shape)))\n"
             "    x = 0.1 + 1.25 * e - np.where(e %% 3 == 0, 7.0, 0.0)\n"
             "    return x.astype(np.float32).astype(np.float64).reshape(shape)\n"
             "a = v((2, 3, 4))\n"
             "t = v((3, 2)).T\n"
             "assert t.flags.f_contiguous and not t.flags.c_contiguous\n"
             "np.save(\"transposed.npy\", t)\n"
             "np.save(\"fortran3.npy\", np.asfortranarray(a))\n"
             "np.save(\"big8.npy\", a.astype(\">f8\"))\n"
             "np.save(\"big4.npy\", a.astype(\">f4\"))\n"
             "np.save(\"fortran_big4.npy\", np.asfortranarray(a.astype(\">f4\")))\n"
             "np.save(\"fortran_little4.npy\", np.asfortranarray(a.astype(\"<f4\")))\n"
             "'",
             scratch);
    run_result r = run_shell(cmd);
    cr_assert_eq(r.status, 0, "python: %s%s", r.out, r.err);
    run_free(&r);
    /* transposed.npy: v((3,2)).T is a (2, 3) array whose element [i, j] is
     * v[j, i] = value_at(2 j + i); np.save of a Fortran-contiguous array
     * writes fortran_order True and the memory as it is. */
    char path[PATH_MAX], err[512];
    no_array a;
    no_npy_info info;
    IN_SCRATCH(path, "transposed.npy");
    cr_assert_eq(no_npy_read_info(path, &a, 0, &info, err, sizeof err), 0, "%s", err);
    cr_expect(info.fortran, "numpy did not write fortran_order True");
    cr_assert_eq(a.ndim, 2);
    cr_assert(a.shape[0] == 2 && a.shape[1] == 3);
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++)
            cr_expect_eq(a.v[3 * i + j], value_at(2 * j + i), "transposed [%zu, %zu]", i, j);
    free(a.v);
    const size_t shape[3] = {2, 3, 4};
    static const struct {
        const char *file;
        int fortran, big, item;
    } files[] = {{"fortran3.npy", 1, 0, 8},     {"big8.npy", 0, 1, 8},
                 {"big4.npy", 0, 1, 4},         {"fortran_big4.npy", 1, 1, 4},
                 {"fortran_little4.npy", 1, 0, 4}};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        IN_SCRATCH(path, "%s", files[i].file);
        cr_assert_eq(no_npy_read_info(path, &a, NO_NPY_F32, &info, err, sizeof err), 0, "%s",
                     err);
        cr_expect_eq(info.fortran, files[i].fortran, "%s: fortran_order", files[i].file);
        cr_expect_eq(info.big_endian, files[i].big, "%s: byte order", files[i].file);
        cr_expect_eq(info.itemsize, files[i].item, "%s: item size", files[i].file);
        expect_values(&a, 3, shape, files[i].file);
        free(a.v);
    }
}

/* ---- a float32 candidate without candidate.json ---------------------------- */

/* dir/NAME.npy for every output of p (fast's), stored as descr_of(name). */
static void write_candidate(const no_problem *p, const char *dir, const char *f4_only)
{
    no_arrays out;
    char err[256], path[PATH_MAX];
    cr_assert_eq(fast_run(p, &out, err, sizeof err), 0, "%s", err);
    no_test_mkdirs(dir, 0700);
    for (int i = 0; i < out.count; i++) {
        no_array *a = &out.a[i];
        if (!strncmp(a->name, "mgrad_", 6))
            continue;
        cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s.npy", dir, a->name),
                     sizeof path);
        if (f4_only && (!*f4_only || !strcmp(f4_only, a->name))) {
            /* as float32, big-endian, by hand */
            char dict[160], sh[64];
            no_npy_shape_str(sh, sizeof sh, a->ndim, a->shape);
            int k = snprintf(dict, sizeof dict,
                             "{'descr': '>f4', 'fortran_order': False, 'shape': %s, }", sh);
            size_t total = (10 + (size_t)k + 1 + 63) / 64 * 64;
            FILE *f = fopen(path, "wb");
            cr_assert_not_null(f);
            unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                     (unsigned char)((total - 10) & 0xff),
                                     (unsigned char)((total - 10) >> 8)};
            fwrite(pre, 1, 10, f);
            fputs(dict, f);
            for (size_t c = 10 + (size_t)k; c < total - 1; c++)
                fputc(' ', f);
            fputc('\n', f);
            for (size_t e = 0; e < a->n; e++) {
                float x = (float)a->v[e];
                uint32_t u;
                memcpy(&u, &x, 4);
                for (int b = 3; b >= 0; b--)
                    fputc((int)(u >> (8 * b)) & 0xff, f);
            }
            fclose(f);
        } else {
            cr_assert_eq(no_npy_write(path, a, err, sizeof err), 0, "%s", err);
        }
    }
    no_arrays_free(&out);
}

Test(npy_layouts, float32_precision_from_the_files, .init = scratch_setup,
     .fini = scratch_teardown, .timeout = NO_TEST_TIMEOUT_S)
{
    no_spec s;
    no_test_spec(&s, 0, NO_SCHEME_EULER, 1, 7);
    no_problem p;
    char err[512], prob[PATH_MAX], cand[PATH_MAX], mixed[PATH_MAX], f64[PATH_MAX];
    cr_assert_eq(no_problem_generate(&p, &s, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(prob, "prob");
    cr_assert_eq(no_problem_dir_write(prob, &p, err, sizeof err), 0, "%s", err);
    IN_SCRATCH(cand, "cand32");
    write_candidate(&p, cand, "");
    IN_SCRATCH(mixed, "mixed");
    write_candidate(&p, mixed, "loss");
    IN_SCRATCH(f64, "cand64");
    write_candidate(&p, f64, NULL);

    /* the library: every array float32, one of them, none */
    no_arrays arr;
    no_candidate_info info;
    no_precision_source src;
    cr_assert_eq(no_candidate_read(cand, &p.spec, &arr, &info, err, sizeof err), 0, "%s", err);
    cr_expect_eq(info.files_f64, 0);
    cr_expect_eq(info.files_f32, arr.count);
    cr_expect_eq(no_candidate_precision(&info, 0, NO_PRECISION_FLOAT64, &src),
                 NO_PRECISION_FLOAT32);
    cr_expect_eq(src, NO_PRECISION_FROM_FILES);
    /* --precision wins over the files */
    cr_expect_eq(no_candidate_precision(&info, 1, NO_PRECISION_FLOAT64, &src),
                 NO_PRECISION_FLOAT64);
    cr_expect_eq(src, NO_PRECISION_FROM_OPTION);
    no_arrays_free(&arr);
    cr_assert_eq(no_candidate_read(mixed, &p.spec, &arr, &info, err, sizeof err), 0, "%s", err);
    cr_expect_eq(info.files_f32, 1);
    cr_expect_eq(no_candidate_precision(&info, 0, NO_PRECISION_FLOAT64, &src),
                 NO_PRECISION_FLOAT32, "mixed dtypes: the coarsest");
    cr_expect_eq(src, NO_PRECISION_FROM_FILES);
    no_arrays_free(&arr);
    cr_assert_eq(no_candidate_read(f64, &p.spec, &arr, &info, err, sizeof err), 0, "%s", err);
    cr_expect_eq(no_candidate_precision(&info, 0, NO_PRECISION_FLOAT32, &src),
                 NO_PRECISION_FLOAT64);
    cr_expect_eq(src, NO_PRECISION_FROM_DEFAULT);
    no_arrays_free(&arr);
    no_problem_free(&p);

    /* the command: JSON and text say float32, from the files, and judge the
     * float32-rounded arrays with float32's tolerance (a pass) */
    run_result r = runf("check --problem '%s' --candidate '%s' --json", prob, cand);
    cr_expect_eq(r.status, 0, "exit %d: %s%s", r.status, r.out, r.err);
    json_t *o = json_loads(r.out, 0, NULL);
    cr_assert_not_null(o, "%s", r.out);
    cr_expect_str_eq(json_string_value(json_object_get(o, "precision")), "float32");
    cr_expect_str_eq(json_string_value(json_object_get(o, "precision_source")), "files");
    json_decref(o);
    run_free(&r);
    r = runf("check --problem '%s' --candidate '%s'", prob, cand);
    cr_expect(strstr(r.out, "float32, from the files") != NULL, "%s", r.out);
    run_free(&r);
    /* candidate.json's precision wins over the files */
    char cj[PATH_MAX];
    IN_SCRATCH(cj, "cand32/candidate.json");
    FILE *f = fopen(cj, "w");
    cr_assert_not_null(f);
    fputs("{\"precision\": \"bfloat16\"}\n", f);
    fclose(f);
    r = runf("check --problem '%s' --candidate '%s' --json", prob, cand);
    o = json_loads(r.out, 0, NULL);
    cr_assert_not_null(o, "%s%s", r.out, r.err);
    cr_expect_str_eq(json_string_value(json_object_get(o, "precision")), "bfloat16");
    cr_expect_str_eq(json_string_value(json_object_get(o, "precision_source")),
                     "candidate.json");
    json_decref(o);
    run_free(&r);
}
