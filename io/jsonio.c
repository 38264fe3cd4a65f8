/* jsonio.c - see jsonio.h. */
#include "jsonio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "path.h"
#include "problem.h"

int no_jsonio_load(const char *path, json_t **root, char *err, size_t len)
{
    /* Opened here so that a missing file is reported as such, in our words;
     * regular files of a sane size only (jansson would wait on a FIFO, and
     * hold a gigabyte string in memory). */
    *root = NULL;
    FILE *f = no_path_open_regular(path, NO_JSONIO_MAX_BYTES, err, len);
    if (!f)
        return -1;
    /* Without JSON_ALLOW_NUL jansson also rejects "\u0000" in strings, so C
     * strings are never shorter than the JSON ones. */
    json_error_t je;
    *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!*root) {
        /* jansson quotes the offending bytes raw ("... near '\x1b[2J'"), so a
         * hostile file could put control bytes or invalid UTF-8 on the
         * terminal, or break the one-line message: keep printable ASCII
         * only, as no_jsonio_clean does (found by fuzz/fuzz_problem_dir). */
        for (char *c = je.text; *c; c++)
            if (*c < 0x20 || *c > 0x7e)
                *c = '?';
        if (je.line > 0)
            return no_errorf(err, len, "%s: invalid JSON at line %d column %d: %s", path,
                             je.line, je.column, je.text);
        return no_errorf(err, len, "%s: %s", path, je.text);
    }
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        return no_errorf(err, len, "%s: the top level must be a JSON object", path);
    }
    return 0;
}

int no_jsonio_save(const char *path, const json_t *root, char *err, size_t len)
{
    /* JSON_REAL_PRECISION(17): every double survives the round trip. */
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    if (!text)
        return no_errorf(err, len, "%s: cannot encode JSON (out of memory)", path);
    size_t n = strlen(text);
    char *buf = realloc(text, n + 2);
    if (!buf) {
        free(text);
        return no_errorf(err, len, "%s: out of memory", path);
    }
    buf[n] = '\n';
    buf[n + 1] = 0;
    int rc = no_atomic_write(path, buf, n + 1, err, len);
    free(buf);
    return rc;
}

const char *no_jsonio_unknown(const json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        (void)value;
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = !strcmp(key, *a);
        if (!ok)
            return key;
    }
    return NULL;
}

const char *no_jsonio_clean(char *buf, size_t n, const char *s)
{
    size_t k = 0;
    for (; s[k] && k + 1 < n; k++)
        buf[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
    buf[k] = 0;
    if (s[k] && n > 4)
        memcpy(buf + n - 4, "...", 4);
    return buf;
}

static const json_t *member(const json_t *obj, const char *key, const char *path, char *err,
                            size_t len)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        no_errorf(err, len, "%s: missing member \"%s\"", path, key);
    return v;
}

int no_jsonio_int(const json_t *obj, const char *key, long long min, long long *out,
                  const char *path, char *err, size_t len)
{
    const json_t *v = member(obj, key, path, err, len);
    if (!v)
        return -1;
    if (!json_is_integer(v))
        return no_errorf(err, len, "%s: member \"%s\" must be a JSON integer", path, key);
    json_int_t x = json_integer_value(v);
    if (x < min)
        return no_errorf(err, len, "%s: member \"%s\" must be >= %lld (got %lld)", path, key, min,
                         (long long)x);
    *out = (long long)x;
    return 0;
}

int no_jsonio_real(const json_t *obj, const char *key, double *out, const char *path, char *err,
                   size_t len)
{
    const json_t *v = member(obj, key, path, err, len);
    if (!v)
        return -1;
    if (!json_is_number(v))
        return no_errorf(err, len, "%s: member \"%s\" must be a JSON number", path, key);
    *out = json_number_value(v);
    return 0;
}

int no_jsonio_string(const json_t *obj, const char *key, const char **out, const char *path,
                     char *err, size_t len)
{
    const json_t *v = member(obj, key, path, err, len);
    if (!v)
        return -1;
    if (!json_is_string(v))
        return no_errorf(err, len, "%s: member \"%s\" must be a JSON string", path, key);
    *out = json_string_value(v);
    return 0;
}

int no_jsonio_enum(const json_t *obj, const char *key, const char *const *names, int n, int *out,
                   const char *path, char *err, size_t len)
{
    const char *s = NULL; /* NULL only to quiet gcc -O3 (-Wmaybe-uninitialized) */
    if (no_jsonio_string(obj, key, &s, path, err, len))
        return -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    char list[256];
    size_t k = 0;
    list[0] = 0;
    for (int i = 0; i < n && k < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", names[i]);
    char got[64];
    return no_errorf(err, len, "%s: member \"%s\" must be one of %s (got \"%s\")", path, key,
                     list, no_jsonio_clean(got, sizeof got, s));
}
