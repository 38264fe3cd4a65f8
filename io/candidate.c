/* candidate.c - see candidate.h. */
#include "candidate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonio.h"
#include "npy.h"

const char *const no_precision_names[3] = {"float64", "float32", "bfloat16"};

const char *no_precision_name(no_precision p)
{
    return (unsigned)p < 3 ? no_precision_names[p] : "?";
}

int no_precision_parse(const char *s, no_precision *out)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, no_precision_names[i])) {
            *out = (no_precision)i;
            return 0;
        }
    return -1;
}

const char *no_precision_source_name(no_precision_source s)
{
    static const char *const names[] = {"default", "option", "candidate.json", "files"};
    return (unsigned)s < 4 ? names[s] : "?";
}

no_precision no_candidate_precision(const no_candidate_info *info, int has_option,
                                    no_precision option, no_precision_source *source)
{
    no_precision_source src = NO_PRECISION_FROM_DEFAULT;
    no_precision p = NO_PRECISION_FLOAT64;
    if (has_option) {
        src = NO_PRECISION_FROM_OPTION;
        p = option;
    } else if (info->has_precision) {
        src = NO_PRECISION_FROM_JSON;
        p = info->precision;
    } else if (info->files_f32 > 0) {
        src = NO_PRECISION_FROM_FILES;
        p = NO_PRECISION_FLOAT32;
    }
    if (source)
        *source = src;
    return p;
}

/* 1 if path does not exist (an optional file left out); any other failure
 * to reach it is left for the reader to report. */
static int read_info(const char *dir, no_candidate_info *info, char *err, size_t len)
{
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, dir, "candidate.json", err, len))
        return -1;
    if (no_path_absent(path))
        return 0;
    json_t *o;
    if (no_jsonio_load(path, &o, err, len))
        return -1;
    static const char *const allowed[] = {"precision", "grid", "scheme", NULL};
    const char *extra = no_jsonio_unknown(o, allowed);
    int rc = -1, e;
    if (extra) {
        char k[64];
        no_errorf(err, len, "%s: unknown member \"%s\" (members: precision, grid, scheme)", path,
                  no_jsonio_clean(k, sizeof k, extra));
        goto out;
    }
    if (json_object_get(o, "precision")) {
        if (no_jsonio_enum(o, "precision", no_precision_names, 3, &e, path, err, len))
            goto out;
        info->precision = (no_precision)e;
        info->has_precision = 1;
    }
    if (json_object_get(o, "scheme")) {
        const char *schemes[NO_SCHEME_COUNT];
        for (int i = 0; i < NO_SCHEME_COUNT; i++)
            schemes[i] = no_scheme_name((no_scheme_id)i);
        if (no_jsonio_enum(o, "scheme", schemes, NO_SCHEME_COUNT, &e, path, err, len))
            goto out;
        info->scheme = (no_scheme_id)e;
        info->has_scheme = 1;
    }
    if (json_object_get(o, "grid")) {
        const char *g;
        if (no_jsonio_string(o, "grid", &g, path, err, len))
            goto out;
        if (!g[0]) {
            no_errorf(err, len, "%s: member \"grid\" is an empty file name", path);
            goto out;
        }
        /* The name ends up in messages ("GRID: cannot open: ..."): a control
         * byte from the file (JSON "\u001b", "\n") would reach the terminal
         * raw or break the one-line message (found by fuzz/fuzz_candidate). */
        for (const char *c = g; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                no_errorf(err, len, "%s: member \"grid\" contains a control character (byte "
                          "0x%02x)", path, (unsigned char)*c);
                goto out;
            }
        /* A candidate directory may come from anyone: what it names is read
         * only if it is inside (no "/etc/...", "..", or symlink out).  --grid
         * on the command line is the user's own choice and not confined. */
        char why[NO_PATH_MAX + 128], name[64];
        if (no_path_confine(info->grid, sizeof info->grid, dir, g, "the candidate directory",
                            why, sizeof why)) {
            no_errorf(err, len, "%s: member \"grid\": \"%s\" %s", path,
                      no_jsonio_clean(name, sizeof name, g), why);
            goto out;
        }
        info->has_grid = 1;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

int no_candidate_read(const char *dir, const no_spec *spec, no_arrays *out,
                      no_candidate_info *info, char *err, size_t len)
{
    memset(out, 0, sizeof *out);
    memset(info, 0, sizeof *info);
    info->precision = NO_PRECISION_FLOAT64;
    no_array lay[NO_MAX_ARRAYS];
    int n = no_outputs_layout(spec, lay);
    char path[NO_PATH_MAX];
    for (int i = 0; i < n; i++) {
        const char *name = lay[i].name;
        if (!strncmp(name, "mgrad_", 6)) /* derived by the oracle, never read */
            continue;
        int optional = !strcmp(name, "states") || !strcmp(name, "adjoint");
        char file[NO_NAME_LEN + 8];
        snprintf(file, sizeof file, "%.31s.npy", name);
        if (no_path_join(path, sizeof path, dir, file, err, len))
            goto fail;
        if (no_path_absent(path)) {
            if (optional)
                continue;
            no_errorf(err, len, "%s: missing (a candidate must provide output, loss and the "
                      "gradient of every parameter)", path);
            goto fail;
        }
        no_array *a = &out->a[out->count];
        memset(a, 0, sizeof *a);
        snprintf(a->name, sizeof a->name, "%.31s", name);
        no_npy_info ni;
        if (no_npy_read_info(path, a, NO_NPY_F32 | NO_NPY_NONFINITE, &ni, err, len))
            goto fail;
        out->count++;
        if (ni.itemsize == 4)
            info->files_f32++;
        else
            info->files_f64++;
        /* The scalar loss: numpy writes np.float64(x) as shape (), a list
         * [x] as (1,); both mean the same number. */
        if (!strcmp(name, "loss") && a->ndim == 0) {
            a->ndim = 1;
            a->shape[0] = 1;
        }
        if (no_npy_check_shape(path, a, lay[i].ndim, lay[i].shape, err, len))
            goto fail;
    }
    if (read_info(dir, info, err, len))
        goto fail;
    return 0;
fail:
    no_arrays_free(out);
    memset(info, 0, sizeof *info);
    return -1;
}

int no_grid_read(const char *path, const no_spec *spec, double **times, size_t *count, char *err,
                 size_t len)
{
    *times = NULL;
    *count = 0;
    if (spec->scaling != NO_SCALING_ODE)
        return no_errorf(err, len, "%s: a step grid needs scaling ode (not %s)", path,
                         no_scaling_name(spec->scaling));
    no_array a;
    if (no_npy_read(path, &a, 0, err, len))
        return -1;
    double *t = a.v;
    if (a.ndim != 1 || a.n < 2) {
        char sh[128];
        no_npy_shape_str(sh, sizeof sh, a.ndim, a.shape);
        no_errorf(err, len, "%s: a grid is a 1-D array of at least 2 times (got shape %s)", path,
                  sh);
        goto fail;
    }
    const double L = (double)spec->L;
    for (size_t j = 0; j < a.n; j++) {
        /* Snap to the nearest boundary k/L (the double nearest it: one
         * correctly rounded division) when within 1e-12. */
        double kb = round(t[j] * L);
        if (kb >= 0 && kb <= L && fabs(t[j] - kb / L) <= 1e-12)
            t[j] = kb / L;
        if (j > 0 && !(t[j] > t[j - 1])) {
            no_errorf(err, len, "%s: times not strictly increasing at index %zu (%.17g after %.17g)",
                      path, j, t[j], t[j - 1]);
            goto fail;
        }
    }
    if (t[0] != 0) {
        no_errorf(err, len, "%s: the grid starts at %.17g, not 0", path, t[0]);
        goto fail;
    }
    if (t[a.n - 1] != 1) {
        no_errorf(err, len, "%s: the grid ends at %.17g, not 1", path, t[a.n - 1]);
        goto fail;
    }
    /* Walk the increasing times past the boundaries 0, 1/L, ..., 1. */
    size_t k = 0;
    for (size_t j = 0; j < a.n && k <= spec->L; j++) {
        double b = (double)k / L;
        if (t[j] == b)
            k++;
        else if (t[j] > b)
            break;
    }
    if (k <= spec->L) {
        no_errorf(err, len, "%s: the layer boundary %zu/%zu = %.17g is not a grid point "
                  "(a step may not cross a layer boundary)", path, k, spec->L, (double)k / L);
        goto fail;
    }
    *times = t;
    *count = a.n;
    return 0;
fail:
    free(a.v);
    return -1;
}
