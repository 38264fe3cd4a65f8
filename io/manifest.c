/* manifest.c - see manifest.h. */
#include "manifest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "path.h"
#include "problem.h"

#define MANIFEST_HEADER "nodeoracle-manifest 1"
/* A problem directory lists a few dozen entries; a larger file is not ours. */
#define MANIFEST_MAX_BYTES (1 << 20)

typedef struct {
    char *text;   /* the manifest's lines, split in place */
    char **line;
    size_t n;
    int have;     /* a manifest was read; else entries are judged by name */
} listing;

enum { WALK_CHECK, WALK_REMOVE, WALK_LIST };

typedef struct {
    const char *root;
    const listing *l;
    int mode;
    char **list; /* WALK_LIST: the entries found */
    size_t n, cap;
    char *err;
    size_t len;
} walker;

static void listing_free(listing *l)
{
    free(l->text);
    free(l->line);
    memset(l, 0, sizeof *l);
}

/* Read root's manifest into l.  0 (l->have says whether there is one), 1
 * (there is something by that name that is not a manifest of ours: err
 * says why), -1 (err filled). */
static int listing_read(const char *root, listing *l, char *err, size_t len)
{
    memset(l, 0, sizeof *l);
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, root, NO_MANIFEST_NAME, err, len))
        return -1;
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : no_errorf(err, len, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size > MANIFEST_MAX_BYTES) {
        no_errorf(err, len, "%s: not a manifest written by nodeoracle gen", path);
        return 1;
    }
    /* through the one opener of inputs: the lstat above and this open are
     * two moments, and a FIFO put in between must not block gen */
    FILE *f = no_path_open_regular(path, MANIFEST_MAX_BYTES, err, len);
    if (!f)
        return -1;
    l->text = malloc((size_t)st.st_size + 1);
    size_t got = l->text ? fread(l->text, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    if (!l->text)
        return no_errorf(err, len, "%s: out of memory", path);
    l->text[got] = 0;
    size_t lines = 1;
    for (size_t i = 0; i < got; i++)
        lines += l->text[i] == '\n';
    l->line = malloc(lines * sizeof *l->line);
    if (!l->line) {
        listing_free(l);
        return no_errorf(err, len, "%s: out of memory", path);
    }
    for (char *s = l->text, *nl; *s; s = nl + 1) {
        nl = strchr(s, '\n');
        if (!nl)
            nl = s + strlen(s) - 1; /* no final newline: the last line */
        else
            *nl = 0;
        l->line[l->n++] = s;
    }
    if (l->n == 0 || strcmp(l->line[0], MANIFEST_HEADER)) {
        listing_free(l);
        no_errorf(err, len, "%s: not a manifest written by nodeoracle gen (no \"%s\" line)",
                  path, MANIFEST_HEADER);
        return 1;
    }
    l->have = 1;
    return 0;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n > t && !strcmp(s + n - t, tail);
}

/* A name that gen writes (manifest.h), for a tree without a manifest: the
 * remains of a gen killed while writing it. */
static int gen_writes(const char *rel, int is_dir)
{
    if (is_dir)
        return !strcmp(rel, "golden");
    char name[NO_PATH_MAX];
    size_t n = strlen(rel);
    if (n >= sizeof name)
        return 0;
    memcpy(name, rel, n + 1);
    /* io/atomic.c's temporary: NAME.tmp.XXXXXX (mkstemp: letters, digits) */
    if (n > 11 && !memcmp(name + n - 11, ".tmp.", 5)) {
        int alnum = 1;
        for (size_t i = n - 6; i < n; i++)
            alnum &= isalnum((unsigned char)name[i]) != 0;
        if (alnum)
            name[n - 11] = 0;
    }
    const char *base = strchr(name, '/');
    if (!base)
        return !strcmp(name, "problem.json") || !strcmp(name, NO_MANIFEST_NAME) ||
               (name[0] != '.' && ends_with(name, ".npy"));
    if (strncmp(name, "golden/", 7) || strchr(base + 1, '/'))
        return 0;
    base++;
    return !strcmp(base, "provenance.json") ||
           (base[0] != '.' && (ends_with(base, ".npy") || ends_with(base, ".txt")));
}

static int listed(const listing *l, const char *rel, int is_dir)
{
    if (!l->have)
        return gen_writes(rel, is_dir);
    size_t n = strlen(rel);
    for (size_t i = 1; i < l->n; i++)
        if (!strncmp(l->line[i], rel, n) && !strcmp(l->line[i] + n, is_dir ? "/" : ""))
            return 1;
    return 0;
}

static int list_add(walker *w, const char *rel, int is_dir)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 32;
        char **p = realloc(w->list, cap * sizeof *p);
        if (!p)
            return no_errorf(w->err, w->len, "%s: out of memory", w->root);
        w->list = p;
        w->cap = cap;
    }
    size_t n = strlen(rel);
    if (!(w->list[w->n] = malloc(n + 2)))
        return no_errorf(w->err, w->len, "%s: out of memory", w->root);
    memcpy(w->list[w->n], rel, n);
    w->list[w->n][n] = is_dir ? '/' : 0;
    w->list[w->n][n + 1] = 0;
    w->n++;
    return 0;
}

/* Visit every entry below root/rel ("" for root itself), depth first.
 * 0, 1 (CHECK: a foreign entry, named in err) or -1. */
static int walk(walker *w, const char *rel)
{
    char path[NO_PATH_MAX];
    if (no_path_join(path, sizeof path, w->root, rel, w->err, w->len))
        return -1;
    DIR *d = opendir(path);
    if (!d)
        return no_errorf(w->err, w->len, "%s: cannot open directory: %s", path,
                         strerror(errno));
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char crel[NO_PATH_MAX], full[NO_PATH_MAX];
        if (no_path_join(crel, sizeof crel, rel, e->d_name, w->err, w->len) ||
            no_path_join(full, sizeof full, w->root, crel, w->err, w->len)) {
            rc = -1;
            break;
        }
        struct stat st;
        if (lstat(full, &st) != 0) {
            if (errno != ENOENT)
                rc = no_errorf(w->err, w->len, "%s: %s", full, strerror(errno));
            continue;
        }
        int is_dir = S_ISDIR(st.st_mode), is_reg = S_ISREG(st.st_mode);
        int is_manifest = !rel[0] && is_reg && !strcmp(e->d_name, NO_MANIFEST_NAME);
        if (w->mode == WALK_LIST) {
            rc = !is_dir && !is_reg ? no_errorf(w->err, w->len, "%s: not a file", full)
                                    : list_add(w, crel, is_dir);
            if (!rc && is_dir)
                rc = walk(w, crel);
            continue;
        }
        /* Links, devices, sockets: gen writes none of them. */
        if (!is_manifest && !((is_dir || is_reg) && listed(w->l, crel, is_dir))) {
            if (w->mode == WALK_CHECK) {
                no_errorf(w->err, w->len, "%s: not written by nodeoracle gen (%s)", full,
                          w->l->have ? "not in its " NO_MANIFEST_NAME
                                     : "not a file gen writes");
                rc = 1;
            }
            continue; /* WALK_REMOVE: appeared after the check; it stays */
        }
        if (is_dir) {
            rc = walk(w, crel);
            if (!rc && w->mode == WALK_REMOVE && rmdir(full) != 0)
                rc = no_errorf(w->err, w->len, "%s: cannot remove: %s", full, strerror(errno));
        } else if (w->mode == WALK_REMOVE && !is_manifest && unlink(full) != 0) {
            rc = no_errorf(w->err, w->len, "%s: cannot remove: %s", full, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int no_manifest_write(const char *dir, char *err, size_t len)
{
    walker w = {dir, NULL, WALK_LIST, NULL, 0, 0, err, len};
    int rc = walk(&w, "");
    size_t bytes = sizeof MANIFEST_HEADER + 1;
    for (size_t i = 0; i < w.n; i++)
        bytes += strlen(w.list[i]) + 1;
    char *text = rc ? NULL : malloc(bytes);
    if (!rc && !text)
        rc = no_errorf(err, len, "%s: out of memory", dir);
    if (!rc) {
        qsort(w.list, w.n, sizeof *w.list, by_bytes);
        size_t at = (size_t)sprintf(text, "%s\n", MANIFEST_HEADER);
        for (size_t i = 0; i < w.n; i++)
            at += (size_t)sprintf(text + at, "%s\n", w.list[i]);
        char path[NO_PATH_MAX];
        rc = no_path_join(path, sizeof path, dir, NO_MANIFEST_NAME, err, len) ||
             no_atomic_write(path, text, at, err, len) ? -1 : 0;
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.list[i]);
    free(w.list);
    free(text);
    return rc;
}

int no_manifest_check(const char *dir, int partial_ok, char *err, size_t len)
{
    listing l;
    int rc = listing_read(dir, &l, err, len);
    if (rc)
        return rc;
    if (!l.have && !partial_ok) {
        no_errorf(err, len, "%s: has no %s, so nodeoracle gen did not write it", dir,
                  NO_MANIFEST_NAME);
        return 1;
    }
    walker w = {dir, &l, WALK_CHECK, NULL, 0, 0, err, len};
    rc = walk(&w, "");
    listing_free(&l);
    return rc;
}

int no_manifest_remove(const char *dir, int partial_ok, char *err, size_t len)
{
    struct stat st;
    if (lstat(dir, &st) != 0 && errno == ENOENT)
        return 0;
    int rc = no_manifest_check(dir, partial_ok, err, len);
    if (rc)
        return rc;
    listing l;
    if ((rc = listing_read(dir, &l, err, len)))
        return rc;
    walker w = {dir, &l, WALK_REMOVE, NULL, 0, 0, err, len};
    rc = walk(&w, "");
    listing_free(&l);
    /* The manifest goes last: a removal cut short (killed) leaves a tree
     * that the manifest still shows to be ours. */
    char path[NO_PATH_MAX];
    if (!rc && !no_path_join(path, sizeof path, dir, NO_MANIFEST_NAME, err, len) &&
        unlink(path) != 0 && errno != ENOENT)
        rc = no_errorf(err, len, "%s: cannot remove: %s", path, strerror(errno));
    if (!rc && rmdir(dir) != 0)
        rc = no_errorf(err, len, "%s: cannot remove: %s (an entry gen did not write is kept)",
                       dir, strerror(errno));
    return rc;
}
