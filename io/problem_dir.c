/* problem_dir.c - see problem_dir.h. */
#include "problem_dir.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonio.h"
#include "npy.h"
#include "path.h"

/* One input array: its file name, shape under the spec, and field of p. */
typedef struct {
    const char *name;
    int ndim;
    size_t shape[3];
    double **v;
} slot;

/* The family's input arrays in the order of docs/formats.md's table, which
 * is also the order of no_problem_hash (golden.h). */
static int slots(no_problem *p, slot out[NO_PROBLEM_DIR_MAX_ARRAYS])
{
    const no_spec *s = &p->spec;
    int n = 0;
#define ADD(nm, field, nd, s0, s1, s2) \
    (out[n++] = (slot){nm, nd, {s0, s1, s2}, &p->field})
    ADD("X", X, 2, s->N, s->d_in, 0);
    ADD("Y", Y, 2, s->N, s->d_out, 0);
    ADD("A", A, 2, s->D, s->d_in, 0);
    ADD("B", B, 2, s->d_out, s->D, 0);
    if (s->family == NO_FAMILY_RFF) {
        ADD("Omega", Omega, 2, s->q, s->D, 0);
        ADD("beta", beta, 1, s->q, 0, 0);
        ADD("W", W, 3, s->L, s->D, s->q);
    } else if (s->family == NO_FAMILY_MLP) {
        ADD("a", a, 3, s->L, s->M, s->D);
        ADD("u", u, 3, s->L, s->M, s->D);
        ADD("b", b, 2, s->L, s->M, 0);
    } else {
        ADD("W", W, 3, s->L, s->D, s->D);
    }
#undef ADD
    return n;
}

int no_problem_dir_arrays(const no_problem *p, no_array out[NO_PROBLEM_DIR_MAX_ARRAYS])
{
    slot sl[NO_PROBLEM_DIR_MAX_ARRAYS];
    /* slots() only takes the fields' addresses; nothing is written. */
    int n = slots((no_problem *)p, sl);
    for (int i = 0; i < n; i++) {
        no_array *a = &out[i];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%s", sl[i].name);
        a->ndim = sl[i].ndim;
        a->n = 1;
        for (int d = 0; d < a->ndim; d++) {
            a->shape[d] = sl[i].shape[d];
            a->n *= a->shape[d];
        }
        a->v = *sl[i].v;
    }
    return n;
}

/* problem.json's members, in the order of the table of docs/formats.md. */
static json_t *spec_json(const no_spec *s)
{
    if (s->seed > (uint64_t)INT64_MAX)
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
#define SET(k, v) (bad |= json_object_set_new(o, k, v))
    SET("format", json_string("nodeoracle-problem"));
    SET("version", json_integer(1));
    SET("N", json_integer((json_int_t)s->N));
    SET("d_in", json_integer((json_int_t)s->d_in));
    SET("d_out", json_integer((json_int_t)s->d_out));
    SET("D", json_integer((json_int_t)s->D));
    SET("L", json_integer((json_int_t)s->L));
    SET("m", json_integer((json_int_t)s->m));
    SET("family", json_string(no_family_name(s->family)));
    SET("scheme", json_string(no_scheme_name(s->scheme)));
    SET("scaling", json_string(no_scaling_name(s->scaling)));
    SET("adjoint", json_string(no_adjoint_name(s->adjoint)));
    SET("seed", json_integer((json_int_t)s->seed));
    SET("param_scale", json_real(s->param_scale));
    if (s->family == NO_FAMILY_RFF) {
        SET("q", json_integer((json_int_t)s->q));
        SET("kernel", json_string(no_kernel_name(s->kernel)));
        if (s->kernel == NO_KERNEL_GAUSSIAN)
            SET("ell", json_real(s->ell));
        else
            SET("nu", json_real(s->nu));
    } else if (s->family == NO_FAMILY_MLP) {
        SET("M", json_integer((json_int_t)s->M));
        SET("activation", json_string(no_activation_name(s->activation)));
    }
#undef SET
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *no_problem_dir_canonical(const no_spec *s)
{
    json_t *o = spec_json(s);
    if (!o)
        return NULL;
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(o);
    return text;
}

int no_problem_dir_write(const char *dir, const no_problem *p, char *err, size_t len)
{
    char msg[256], path[NO_PATH_MAX];
    if (no_spec_validate(&p->spec, 0, msg, sizeof msg))
        return no_errorf(err, len, "%s: invalid problem: %s", dir, msg);
    if (p->spec.seed > (uint64_t)INT64_MAX)
        return no_errorf(err, len, "%s: seed %llu exceeds 2^63 - 1, which problem.json cannot hold",
                         dir, (unsigned long long)p->spec.seed);
    no_array arr[NO_PROBLEM_DIR_MAX_ARRAYS];
    int n = no_problem_dir_arrays(p, arr);
    /* Refuse before writing anything what the reader would refuse. */
    for (int i = 0; i < n; i++) {
        if (!arr[i].v)
            return no_errorf(err, len, "%s: array %s is missing", dir, arr[i].name);
        for (size_t e = 0; e < arr[i].n; e++)
            if (!isfinite(arr[i].v[e]))
                return no_errorf(err, len, "%s: array %s has a non-finite element %zu", dir,
                                 arr[i].name, e);
    }
    if (no_path_mkdirs(dir, err, len))
        return -1;
    for (int i = 0; i < n; i++) {
        char file[NO_NAME_LEN + 8];
        snprintf(file, sizeof file, "%.31s.npy", arr[i].name);
        if (no_path_join(path, sizeof path, dir, file, err, len) ||
            no_npy_write(path, &arr[i], err, len))
            return -1;
    }
    json_t *o = spec_json(&p->spec);
    if (!o)
        return no_errorf(err, len, "%s: out of memory", dir);
    int rc = no_path_join(path, sizeof path, dir, "problem.json", err, len) ||
             no_jsonio_save(path, o, err, len);
    json_decref(o);
    return rc ? -1 : 0;
}

/* ---- reading problem.json ------------------------------------------------ */

static const char *const common_members[] = {
    "format", "version", "N", "d_in", "d_out", "D", "L", "m",
    "family", "scheme", "scaling", "adjoint", "seed", "param_scale"};
#define NCOMMON (sizeof common_members / sizeof *common_members)
static const char *const family_members[] = {"q", "kernel", "ell", "nu", "M", "activation"};
#define NFAMILY (sizeof family_members / sizeof *family_members)

/* Names of enum values 0..n-1, from problem.c's name functions. */
#define NAMES(arr, n, fn)        \
    const char *arr[n];          \
    for (int i_ = 0; i_ < (n); i_++) \
        arr[i_] = fn(i_)

static int get_size(const json_t *o, const char *key, size_t *out, const char *path, char *err,
                    size_t len)
{
    long long v;
    if (no_jsonio_int(o, key, 1, &v, path, err, len))
        return -1;
    if ((unsigned long long)v > SIZE_MAX)
        return no_errorf(err, len, "%s: member \"%s\" = %lld is too large", path, key, v);
    *out = (size_t)v;
    return 0;
}

static int spec_from_json(const json_t *o, no_spec *s, const char *path, char *err, size_t len)
{
    no_spec_default(s);
    const char *format;
    long long version, seed;
    int fam, e;
    if (no_jsonio_string(o, "format", &format, path, err, len))
        return -1;
    if (strcmp(format, "nodeoracle-problem"))
        return no_errorf(err, len, "%s: member \"format\" must be \"nodeoracle-problem\"", path);
    if (no_jsonio_int(o, "version", 0, &version, path, err, len))
        return -1;
    if (version != 1)
        return no_errorf(err, len, "%s: unsupported version %lld (this reader knows 1)", path,
                         version);
    NAMES(families, 3, no_family_name);
    if (no_jsonio_enum(o, "family", families, 3, &fam, path, err, len))
        return -1;
    s->family = (no_family)fam;

    /* The members this file must have, and no others. */
    const char *allowed[NCOMMON + 4];
    size_t na = 0;
    for (size_t i = 0; i < NCOMMON; i++)
        allowed[na++] = common_members[i];
    if (s->family == NO_FAMILY_RFF) {
        NAMES(kernels, 2, no_kernel_name);
        if (no_jsonio_enum(o, "kernel", kernels, 2, &e, path, err, len))
            return -1;
        s->kernel = (no_kernel)e;
        allowed[na++] = "q";
        allowed[na++] = "kernel";
        allowed[na++] = s->kernel == NO_KERNEL_GAUSSIAN ? "ell" : "nu";
    } else if (s->family == NO_FAMILY_MLP) {
        allowed[na++] = "M";
        allowed[na++] = "activation";
    }
    allowed[na] = NULL;
    const char *extra = no_jsonio_unknown(o, allowed);
    if (extra) {
        char k[64];
        no_jsonio_clean(k, sizeof k, extra);
        for (size_t i = 0; i < NFAMILY; i++)
            if (!strcmp(extra, family_members[i]))
                return no_errorf(err, len, "%s: member \"%s\" does not belong to family %s%s%s",
                                 path, k, no_family_name(s->family),
                                 s->family == NO_FAMILY_RFF ? " with kernel " : "",
                                 s->family == NO_FAMILY_RFF ? no_kernel_name(s->kernel) : "");
        return no_errorf(err, len, "%s: unknown member \"%s\"", path, k);
    }

    if (get_size(o, "N", &s->N, path, err, len) || get_size(o, "d_in", &s->d_in, path, err, len) ||
        get_size(o, "d_out", &s->d_out, path, err, len) ||
        get_size(o, "D", &s->D, path, err, len) || get_size(o, "L", &s->L, path, err, len) ||
        get_size(o, "m", &s->m, path, err, len))
        return -1;
    NAMES(schemes, NO_SCHEME_COUNT, no_scheme_name);
    NAMES(scalings, 2, no_scaling_name);
    NAMES(adjoints, NO_ADJOINT_COUNT, no_adjoint_name);
    if (no_jsonio_enum(o, "scheme", schemes, NO_SCHEME_COUNT, &e, path, err, len))
        return -1;
    s->scheme = (no_scheme_id)e;
    if (no_jsonio_enum(o, "scaling", scalings, 2, &e, path, err, len))
        return -1;
    s->scaling = (no_scaling)e;
    if (no_jsonio_enum(o, "adjoint", adjoints, NO_ADJOINT_COUNT, &e, path, err, len))
        return -1;
    s->adjoint = (no_adjoint)e;
    if (no_jsonio_int(o, "seed", 0, &seed, path, err, len) ||
        no_jsonio_real(o, "param_scale", &s->param_scale, path, err, len))
        return -1;
    s->seed = (uint64_t)seed;
    if (s->family == NO_FAMILY_RFF) {
        if (get_size(o, "q", &s->q, path, err, len))
            return -1;
        if (s->kernel == NO_KERNEL_GAUSSIAN
                ? no_jsonio_real(o, "ell", &s->ell, path, err, len)
                : no_jsonio_real(o, "nu", &s->nu, path, err, len))
            return -1;
    } else if (s->family == NO_FAMILY_MLP) {
        NAMES(acts, NO_ACT_COUNT, no_activation_name);
        if (get_size(o, "M", &s->M, path, err, len) ||
            no_jsonio_enum(o, "activation", acts, NO_ACT_COUNT, &e, path, err, len))
            return -1;
        s->activation = (no_activation)e;
    }
    char msg[256];
    if (no_spec_validate(s, 0, msg, sizeof msg))
        return no_errorf(err, len, "%s: invalid problem: %s", path, msg);
    return 0;
}

int no_problem_dir_read_spec(const char *dir, no_spec *s, char *err, size_t len)
{
    char path[NO_PATH_MAX];
    json_t *o;
    if (no_path_join(path, sizeof path, dir, "problem.json", err, len) ||
        no_jsonio_load(path, &o, err, len))
        return -1;
    int rc = spec_from_json(o, s, path, err, len);
    json_decref(o);
    return rc;
}

int no_problem_dir_read(const char *dir, no_problem *p, char *err, size_t len)
{
    memset(p, 0, sizeof *p);
    char path[NO_PATH_MAX];
    if (no_problem_dir_read_spec(dir, &p->spec, err, len))
        return -1;
    slot sl[NO_PROBLEM_DIR_MAX_ARRAYS];
    int n = slots(p, sl);
    for (int i = 0; i < n; i++) {
        char file[NO_NAME_LEN + 8];
        snprintf(file, sizeof file, "%.31s.npy", sl[i].name);
        no_array a;
        if (no_path_join(path, sizeof path, dir, file, err, len) || no_npy_read(path, &a, 0, err, len))
            goto fail;
        if (no_npy_check_shape(path, &a, sl[i].ndim, sl[i].shape, err, len)) {
            free(a.v);
            goto fail;
        }
        *sl[i].v = a.v;
    }
    return 0;
fail:
    no_problem_free(p);
    memset(p, 0, sizeof *p);
    return -1;
}
