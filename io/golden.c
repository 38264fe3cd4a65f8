/* golden.c - see golden.h. */
#include <stdio.h> /* before mpfr.h, for its printf family */

#include "golden.h"

#include <gmp.h>
#include <inttypes.h>
#include <math.h>
#include <mpfr.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "jsonio.h"
#include "npy.h"
#include "path.h"
#include "problem_dir.h"
#include "sha256.h"

/* ---- the inputs hash ------------------------------------------------------ */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

int no_problem_hash(const no_problem *p, uint64_t *hash)
{
    no_array arr[NO_PROBLEM_DIR_MAX_ARRAYS];
    int n = no_problem_dir_arrays(p, arr);
    for (int i = 0; i < n; i++)
        if (!arr[i].v)
            return -1;
    char *text = no_problem_dir_canonical(&p->spec);
    if (!text)
        return -1;
    uint64_t h = fnv1a(FNV_OFFSET, (const unsigned char *)text, strlen(text));
    free(text);
    for (int i = 0; i < n; i++)
        for (size_t e = 0; e < arr[i].n; e++) {
            /* The little-endian bytes, whatever the host's order. */
            uint64_t u;
            unsigned char b[8];
            memcpy(&u, &arr[i].v[e], sizeof u);
            for (int k = 0; k < 8; k++)
                b[k] = (unsigned char)(u >> (8 * k));
            h = fnv1a(h, b, 8);
        }
    *hash = h;
    return 0;
}

/* ---- writing -------------------------------------------------------------- */

/* A digit string must be one token of its line. */
static int one_token(const char *s)
{
    if (!s[0])
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

static int write_txt(const char *path, const no_array *v, const no_array *b,
                     const char *const *digits, char *err, size_t len)
{
    no_atomic w;
    if (no_atomic_open(&w, path, err, len))
        return -1;
    mpfr_t x;
    mpfr_init2(x, 53);
    int rc = 0;
    for (size_t e = 0; e < v->n && !rc; e++) {
        char buf[80];
        const char *s = digits ? digits[e] : NULL;
        double bits = b->v[e];
        if (s && !one_token(s)) {
            rc = no_errorf(err, len, "%s: digit string %zu is empty or contains whitespace", path,
                           e);
            break;
        }
        if (!s) {
            mpfr_set_d(x, v->v[e], MPFR_RNDN); /* exact: 53 bits hold a double */
            mpfr_snprintf(buf, sizeof buf, "%.39Re", x);
            s = buf;
            bits = bits > 53 ? 53 : bits;
        }
        if (fprintf(w.f, "%s %.17g\n", s, bits) < 0)
            rc = no_errorf(err, len, "%s: write error", path);
    }
    mpfr_clear(x);
    if (rc) {
        no_atomic_abort(&w);
        return -1;
    }
    return no_atomic_commit(&w, err, len);
}

static int file_in(char *path, const char *gdir, const char *name, const char *suffix, char *err,
                   size_t len)
{
    char file[NO_NAME_LEN + 16];
    snprintf(file, sizeof file, "%.31s%.15s", name, suffix);
    return no_path_join(path, NO_PATH_MAX, gdir, file, err, len);
}

/* Array names become file names: letters, digits and '_' only. */
static int safe_name(const char *s)
{
    if (!s[0])
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

int no_golden_write(const char *dir, const no_arrays *values, const no_arrays *bits,
                    const char *const *const *digits, long prec, uint64_t inputs_hash,
                    const char *version, char *err, size_t len)
{
    char gdir[NO_PATH_MAX], path[NO_PATH_MAX];
    if (no_path_join(gdir, sizeof gdir, dir, "golden", err, len))
        return -1;
    if (!version || !version[0])
        return no_errorf(err, len, "%s: no nodeoracle version given", gdir);
    if (prec < MPFR_PREC_MIN || prec > MPFR_PREC_MAX)
        return no_errorf(err, len, "%s: precision %ld is not an MPFR precision", gdir, prec);
    for (int i = 0; i < values->count; i++) {
        const no_array *v = &values->a[i], *b = no_arrays_get(bits, v->name);
        if (!safe_name(v->name))
            return no_errorf(err, len, "%s: array name '%s' is not a file name", gdir, v->name);
        if (!b || b->ndim != v->ndim || b->n != v->n ||
            memcmp(b->shape, v->shape, (size_t)v->ndim * sizeof(size_t)))
            return no_errorf(err, len, "%s: bits of '%s' missing or of another shape", gdir,
                             v->name);
    }
    if (no_path_mkdirs(gdir, err, len))
        return -1;
    for (int i = 0; i < values->count; i++) {
        const no_array *v = &values->a[i], *b = no_arrays_get(bits, v->name);
        if (file_in(path, gdir, v->name, ".npy", err, len) || no_npy_write(path, v, err, len) ||
            file_in(path, gdir, v->name, ".bits.npy", err, len) ||
            no_npy_write(path, b, err, len) || file_in(path, gdir, v->name, ".txt", err, len) ||
            write_txt(path, v, b, digits ? digits[i] : NULL, err, len))
            return -1;
    }
    /* The hashes of the files as they now are on disk, read back: what a
     * later check will hash. */
    json_t *sha = json_object();
    if (!sha)
        return no_errorf(err, len, "%s: out of memory", gdir);
    static const char *const suffix[3] = {".npy", ".bits.npy", ".txt"};
    for (int i = 0; i < values->count; i++)
        for (int k = 0; k < 3; k++) {
            unsigned char d[NO_SHA256_SIZE];
            char hex[NO_SHA256_HEX];
            if (file_in(path, gdir, values->a[i].name, suffix[k], err, len) ||
                no_sha256_file(path, NO_PATH_ANY_SIZE, d, err, len)) {
                json_decref(sha);
                return -1;
            }
            no_sha256_hex(d, hex);
            if (json_object_set_new(sha, strrchr(path, '/') + 1, json_string(hex))) {
                json_decref(sha);
                return no_errorf(err, len, "%s: out of memory", gdir);
            }
        }
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, inputs_hash);
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= json_object_set_new(o, "nodeoracle", json_string(version));
        bad |= json_object_set_new(o, "mpfr", json_string(mpfr_get_version()));
        bad |= json_object_set_new(o, "gmp", json_string(gmp_version));
        bad |= json_object_set_new(o, "precision", json_integer(prec));
        bad |= json_object_set_new(o, "inputs_hash", json_string(hex));
        bad |= json_object_set_new(o, "sha256", sha);
    } else {
        json_decref(sha);
    }
    if (bad) {
        json_decref(o);
        return no_errorf(err, len, "%s: cannot encode provenance.json (version not UTF-8, or "
                         "out of memory)", gdir);
    }
    int rc = file_in(path, gdir, "provenance", ".json", err, len) ||
             no_jsonio_save(path, o, err, len);
    json_decref(o);
    return rc ? -1 : 0;
}

/* ---- reading -------------------------------------------------------------- */

static int read_one(const char *path, const no_array *want, no_array *a, char *err, size_t len)
{
    snprintf(a->name, sizeof a->name, "%s", want->name);
    if (no_npy_read(path, a, 0, err, len))
        return -1;
    if (!strcmp(want->name, "loss") && a->ndim == 0) /* () or (1,): one number */
        a->ndim = 1, a->shape[0] = 1;
    if (no_npy_check_shape(path, a, want->ndim, want->shape, err, len)) {
        free(a->v);
        a->v = NULL;
        return -1;
    }
    return 0;
}

int no_golden_read(const char *dir, const no_spec *spec, no_arrays *values, no_arrays *bits,
                   char *err, size_t len)
{
    memset(values, 0, sizeof *values);
    memset(bits, 0, sizeof *bits);
    char gdir[NO_PATH_MAX], path[NO_PATH_MAX];
    if (no_path_join(gdir, sizeof gdir, dir, "golden", err, len))
        return -1;
    no_array lay[NO_MAX_ARRAYS];
    int n = no_outputs_layout(spec, lay);
    for (int i = 0; i < n; i++) {
        if (file_in(path, gdir, lay[i].name, ".npy", err, len) ||
            read_one(path, &lay[i], &values->a[values->count], err, len))
            goto fail;
        values->count++;
        if (file_in(path, gdir, lay[i].name, ".bits.npy", err, len) ||
            read_one(path, &lay[i], &bits->a[bits->count], err, len))
            goto fail;
        const no_array *b = &bits->a[bits->count++];
        for (size_t e = 0; e < b->n; e++)
            if (b->v[e] < 0) {
                no_errorf(err, len, "%s: element %zu is negative (a number of bits)", path, e);
                goto fail;
            }
    }
    return 0;
fail:
    no_arrays_free(values);
    no_arrays_free(bits);
    return -1;
}

/* A name in "sha256": a file directly in golden/ (no '/', no leading '.',
 * so neither a path nor "..").  It is only compared, never opened. */
static int hash_name(const char *s, size_t max)
{
    size_t k = 0;
    for (; s[k]; k++)
        if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') ||
              (s[k] >= '0' && s[k] <= '9') || s[k] == '_' || s[k] == '.'))
            return 0;
    return k > 0 && k < max && s[0] != '.';
}

/* provenance.json's "sha256" into pv->files. */
static int read_hashes(const json_t *o, no_golden_provenance *pv, const char *path, char *err,
                       size_t len)
{
    const json_t *sha = json_object_get(o, "sha256");
    if (!sha)
        return no_errorf(err, len, "%s: no member \"sha256\" (written by an older nodeoracle, "
                         "before golden files were hashed); regenerate golden/ with nodeoracle "
                         "gen, or check --on-the-fly", path);
    if (!json_is_object(sha))
        return no_errorf(err, len, "%s: member \"sha256\" must be a JSON object", path);
    if (json_object_size(sha) > NO_GOLDEN_MAX_FILES)
        return no_errorf(err, len, "%s: member \"sha256\" has %zu entries, more than %d", path,
                         json_object_size(sha), NO_GOLDEN_MAX_FILES);
    const char *key;
    json_t *v;
    char k[64];
    json_object_foreach((json_t *)sha, key, v) {
        no_golden_file_hash *f = &pv->files[pv->nfiles];
        if (!hash_name(key, sizeof f->name))
            return no_errorf(err, len, "%s: member \"sha256\": \"%s\" is not a file name in "
                             "golden/", path, no_jsonio_clean(k, sizeof k, key));
        if (!json_is_string(v) || no_sha256_parse(json_string_value(v), f->sha256))
            return no_errorf(err, len, "%s: member \"sha256\": \"%s\" must be 64 lowercase "
                             "hex digits", path, no_jsonio_clean(k, sizeof k, key));
        memcpy(f->name, key, strlen(key) + 1);
        pv->nfiles++;
    }
    return 0;
}

static int copy_string(const json_t *o, const char *key, char *out, size_t n, const char *path,
                       char *err, size_t len)
{
    const char *s;
    if (no_jsonio_string(o, key, &s, path, err, len))
        return -1;
    if (strlen(s) >= n)
        return no_errorf(err, len, "%s: member \"%s\" is longer than %zu bytes", path, key, n - 1);
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int no_golden_provenance_read(const char *dir, no_golden_provenance *pv, char *err, size_t len)
{
    memset(pv, 0, sizeof *pv);
    char gdir[NO_PATH_MAX], path[NO_PATH_MAX];
    json_t *o;
    if (no_path_join(gdir, sizeof gdir, dir, "golden", err, len) ||
        file_in(path, gdir, "provenance", ".json", err, len) || no_jsonio_load(path, &o, err, len))
        return -1;
    static const char *const allowed[] = {"nodeoracle", "mpfr", "gmp", "precision",
                                          "inputs_hash", "sha256", NULL};
    const char *extra = no_jsonio_unknown(o, allowed), *hex;
    long long prec;
    int rc = -1;
    if (extra) {
        char k[64];
        no_errorf(err, len, "%s: unknown member \"%s\"", path, no_jsonio_clean(k, sizeof k, extra));
        goto out;
    }
    if (copy_string(o, "nodeoracle", pv->version, sizeof pv->version, path, err, len) ||
        copy_string(o, "mpfr", pv->mpfr, sizeof pv->mpfr, path, err, len) ||
        copy_string(o, "gmp", pv->gmp, sizeof pv->gmp, path, err, len) ||
        no_jsonio_int(o, "precision", MPFR_PREC_MIN, &prec, path, err, len) ||
        no_jsonio_string(o, "inputs_hash", &hex, path, err, len))
        goto out;
    if (prec > MPFR_PREC_MAX) {
        no_errorf(err, len, "%s: member \"precision\" = %lld is too large", path, prec);
        goto out;
    }
    pv->prec = (long)prec;
    uint64_t h = 0;
    size_t k = 0;
    for (; k < 16 && ((hex[k] >= '0' && hex[k] <= '9') || (hex[k] >= 'a' && hex[k] <= 'f')); k++)
        h = h << 4 | (uint64_t)(hex[k] <= '9' ? hex[k] - '0' : hex[k] - 'a' + 10);
    if (k != 16 || hex[16]) {
        no_errorf(err, len, "%s: member \"inputs_hash\" must be 16 lowercase hex digits", path);
        goto out;
    }
    pv->inputs_hash = h;
    rc = read_hashes(o, pv, path, err, len);
out:
    json_decref(o);
    return rc;
}

int no_golden_verify(const char *dir, const no_spec *spec, const no_golden_provenance *pv,
                     char *err, size_t len)
{
    char gdir[NO_PATH_MAX], path[NO_PATH_MAX], prov[NO_PATH_MAX];
    if (no_path_join(gdir, sizeof gdir, dir, "golden", err, len) ||
        file_in(prov, gdir, "provenance", ".json", err, len))
        return -1;
    no_array lay[NO_MAX_ARRAYS];
    int n = no_outputs_layout(spec, lay);
    static const char *const suffix[2] = {".npy", ".bits.npy"};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            if (file_in(path, gdir, lay[i].name, suffix[k], err, len))
                return -1;
            const char *name = strrchr(path, '/') + 1;
            const no_golden_file_hash *want = NULL;
            for (int j = 0; j < pv->nfiles && !want; j++)
                if (!strcmp(pv->files[j].name, name))
                    want = &pv->files[j];
            if (!want)
                return no_errorf(err, len, "%s: no SHA-256 for %s in member \"sha256\"; "
                                 "regenerate golden/ with nodeoracle gen", prov, name);
            unsigned char d[NO_SHA256_SIZE];
            if (no_sha256_file(path, NO_NPY_MAX_BYTES, d, err, len))
                return -1;
            if (memcmp(d, want->sha256, NO_SHA256_SIZE))
                return no_errorf(err, len, "%s: SHA-256 mismatch with provenance.json "
                                 "(modified after gen?)", path);
        }
    return 0;
}
