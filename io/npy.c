/* npy.c - see npy.h.  The format: numpy.lib.format (NEP 1). */
#include "npy.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "path.h"
#include "problem.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define HEADER_MAX NO_NPY_HEADER_MAX
#define ALIGN 64         /* docs/formats.md: padded to a multiple of 64 bytes */
#define MAX_NDIM 4       /* no_array's shape[4] */
#define CHUNK 4096       /* elements decoded or encoded per fread/fwrite */

/* ---- the header dict: a tiny strict parser of the Python literal --------- */

typedef struct {
    const char *s, *end;
    const char *why; /* first error, a static string */
} cursor;

static void skip_ws(cursor *c)
{
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t'))
        c->s++;
}

static int fail(cursor *c, const char *why)
{
    if (!c->why)
        c->why = why;
    return -1;
}

static int expect(cursor *c, char ch, const char *why)
{
    skip_ws(c);
    if (c->s >= c->end || *c->s != ch)
        return fail(c, why);
    c->s++;
    return 0;
}

/* A quoted string ('...' or "..."), without escapes: no valid key or dtype
 * needs one, and a backslash would only hide something else. */
static int parse_str(cursor *c, char *out, size_t n)
{
    skip_ws(c);
    if (c->s >= c->end || (*c->s != '\'' && *c->s != '"'))
        return fail(c, "expected a quoted string");
    char q = *c->s++;
    size_t k = 0;
    while (c->s < c->end && *c->s != q) {
        if (*c->s == '\\')
            return fail(c, "escape sequences are not accepted in the header");
        if (k + 1 >= n)
            return fail(c, "string too long in the header");
        out[k++] = *c->s++;
    }
    if (c->s >= c->end)
        return fail(c, "unterminated string in the header");
    c->s++;
    out[k] = 0;
    return 0;
}

static int is_ident(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

static int parse_bool(cursor *c, int *out)
{
    skip_ws(c);
    size_t left = (size_t)(c->end - c->s);
    if (left >= 4 && !memcmp(c->s, "True", 4) && (left == 4 || !is_ident(c->s[4])))
        *out = 1, c->s += 4;
    else if (left >= 5 && !memcmp(c->s, "False", 5) && (left == 5 || !is_ident(c->s[5])))
        *out = 0, c->s += 5;
    else
        return fail(c, "fortran_order must be True or False");
    return 0;
}

/* A non-negative decimal integer as Python writes it: no sign, no leading
 * zeros, no suffix. */
static int parse_dim(cursor *c, size_t *out)
{
    skip_ws(c);
    if (c->s >= c->end || *c->s < '0' || *c->s > '9')
        return fail(c, "shape entries must be non-negative integers");
    if (*c->s == '0' && c->s + 1 < c->end && c->s[1] >= '0' && c->s[1] <= '9')
        return fail(c, "shape entry with a leading zero");
    size_t v = 0;
    while (c->s < c->end && *c->s >= '0' && *c->s <= '9') {
        size_t d = (size_t)(*c->s++ - '0');
        if (v > (SIZE_MAX - d) / 10)
            return fail(c, "shape entry too large");
        v = v * 10 + d;
    }
    if (c->s < c->end && is_ident(*c->s))
        return fail(c, "shape entries must be non-negative integers");
    *out = v;
    return 0;
}

/* (), (n,), (n, m), (n, m,) ... ; "(n)" is an integer in Python, not a tuple. */
static int parse_shape(cursor *c, size_t shape[MAX_NDIM], int *ndim)
{
    if (expect(c, '(', "shape must be a tuple"))
        return -1;
    *ndim = 0;
    skip_ws(c);
    if (c->s < c->end && *c->s == ')') {
        c->s++;
        return 0;
    }
    for (;;) {
        if (*ndim == MAX_NDIM)
            return fail(c, "shape has more than 4 dimensions");
        if (parse_dim(c, &shape[(*ndim)++]))
            return -1;
        skip_ws(c);
        if (c->s < c->end && *c->s == ')') {
            if (*ndim == 1)
                return fail(c, "shape must be a tuple: a 1-tuple needs a trailing comma");
            c->s++;
            return 0;
        }
        if (expect(c, ',', "expected ',' or ')' in the shape tuple"))
            return -1;
        skip_ws(c);
        if (c->s < c->end && *c->s == ')') {
            c->s++;
            return 0;
        }
    }
}

typedef struct {
    char descr[32];
    int fortran;
    size_t shape[MAX_NDIM];
    int ndim;
} header;

/* The dict: exactly the keys descr, fortran_order, shape, in any order. */
static int parse_dict(cursor *c, header *h)
{
    int seen[3] = {0, 0, 0};
    if (expect(c, '{', "the header must start with a dict"))
        return -1;
    for (;;) {
        skip_ws(c);
        if (c->s < c->end && *c->s == '}')
            break;
        char key[32];
        if (parse_str(c, key, sizeof key) || expect(c, ':', "expected ':' after a key"))
            return -1;
        int k = !strcmp(key, "descr") ? 0 : !strcmp(key, "fortran_order") ? 1
              : !strcmp(key, "shape") ? 2 : -1;
        if (k < 0)
            return fail(c, "unknown key in the header (only 'descr', 'fortran_order', 'shape')");
        if (seen[k]++)
            return fail(c, "duplicate key in the header");
        int rc = k == 0 ? parse_str(c, h->descr, sizeof h->descr)
               : k == 1 ? parse_bool(c, &h->fortran)
                        : parse_shape(c, h->shape, &h->ndim);
        if (rc)
            return -1;
        skip_ws(c);
        if (c->s < c->end && *c->s == ',') {
            c->s++;
            continue;
        }
        if (c->s < c->end && *c->s == '}')
            break;
        return fail(c, "expected ',' or '}' in the header dict");
    }
    c->s++; /* the '}' */
    if (!seen[0])
        return fail(c, "the header has no 'descr'");
    if (!seen[1])
        return fail(c, "the header has no 'fortran_order'");
    if (!seen[2])
        return fail(c, "the header has no 'shape'");
    /* Only the space padding may follow (the final '\n' is cut off before). */
    while (c->s < c->end && *c->s == ' ')
        c->s++;
    if (c->s != c->end)
        return fail(c, "unexpected text after the header dict");
    return 0;
}

void no_npy_shape_str(char *buf, size_t n, int ndim, const size_t *shape)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%zu", i ? ", " : "", shape[i]);
    if (k < n)
        snprintf(buf + k, n - k, ndim == 1 ? ",)" : ")");
}

int no_npy_check_shape(const char *path, const no_array *a, int ndim, const size_t *shape,
                       char *err, size_t len)
{
    int same = a->ndim == ndim;
    for (int d = 0; same && d < ndim; d++)
        same = a->shape[d] == shape[d];
    if (same)
        return 0;
    char want[128], got[128];
    no_npy_shape_str(want, sizeof want, ndim, shape);
    no_npy_shape_str(got, sizeof got, a->ndim, a->shape);
    return no_errorf(err, len, "%s: shape %s, expected %s", path, got, want);
}

/* ---- reading ------------------------------------------------------------ */

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* "[i, j, k]" of flat index e in a C-order array. */
static void index_str(char *buf, size_t n, size_t e, int ndim, const size_t *shape)
{
    size_t idx[MAX_NDIM];
    for (int d = ndim - 1; d >= 0; d--) {
        idx[d] = e % shape[d];
        e /= shape[d];
    }
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%zu", d ? ", " : "", idx[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

/* Reads the preamble and header of f; fills h and the data offset. */
static int read_header(FILE *f, const char *path, header *h, long *offset, char *err, size_t len)
{
    unsigned char pre[12];
    if (fread(pre, 1, 8, f) != 8)
        return no_errorf(err, len, "%s: truncated .npy header", path);
    if (memcmp(pre, MAGIC, MAGIC_LEN))
        return no_errorf(err, len, "%s: not a .npy file (wrong magic)", path);
    if ((pre[6] != 1 && pre[6] != 2) || pre[7] != 0)
        return no_errorf(err, len, "%s: unsupported .npy version %u.%u (1.0 and 2.0 are read)",
                         path, pre[6], pre[7]);
    size_t lenbytes = pre[6] == 1 ? 2 : 4;
    if (fread(pre + 8, 1, lenbytes, f) != lenbytes)
        return no_errorf(err, len, "%s: truncated .npy header", path);
    size_t pre_len = 8 + lenbytes;
    size_t hlen = lenbytes == 2 ? (size_t)pre[8] | (size_t)pre[9] << 8 : le32(pre + 8);
    if (hlen > HEADER_MAX)
        return no_errorf(err, len, "%s: .npy header length %zu exceeds %d bytes", path, hlen,
                         HEADER_MAX);
    if ((pre_len + hlen) % ALIGN)
        return no_errorf(err, len, "%s: .npy header is not padded to a multiple of %d bytes", path,
                         ALIGN);
    char *buf = malloc(hlen ? hlen : 1);
    if (!buf)
        return no_errorf(err, len, "%s: out of memory", path);
    int rc = -1;
    if (fread(buf, 1, hlen, f) != hlen) {
        no_errorf(err, len, "%s: truncated .npy header", path);
        goto out;
    }
    if (hlen == 0 || buf[hlen - 1] != '\n') {
        no_errorf(err, len, "%s: .npy header does not end in a newline", path);
        goto out;
    }
    for (size_t i = 0; i + 1 < hlen; i++)
        if (buf[i] < 0x20 || buf[i] > 0x7e) {
            no_errorf(err, len, "%s: .npy header contains a non-printable byte at %zu", path, i);
            goto out;
        }
    memset(h, 0, sizeof *h);
    cursor c = {buf, buf + hlen - 1, NULL};
    if (parse_dict(&c, h)) {
        no_errorf(err, len, "%s: bad .npy header: %s", path, c.why);
        goto out;
    }
    *offset = (long)(pre_len + hlen);
    rc = 0;
out:
    free(buf);
    return rc;
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* v holds n elements of an array of shape (ndim, shape) in Fortran order
 * (the first index varies fastest): the same elements in C order, in a new
 * buffer (NULL: out of memory). */
static double *fortran_to_c(const double *v, size_t n, int ndim, const size_t *shape)
{
    double *w = malloc(n ? n * sizeof(double) : sizeof(double));
    if (!w)
        return NULL;
    size_t stride[MAX_NDIM], idx[MAX_NDIM] = {0, 0, 0, 0};
    size_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d];
    }
    size_t c = 0; /* the C-order offset of idx */
    for (size_t f = 0; f < n; f++) {
        w[c] = v[f];
        /* the next Fortran index: idx[0] fastest, with carries */
        for (int d = 0; d < ndim; d++) {
            c += stride[d];
            if (++idx[d] < shape[d])
                break;
            c -= idx[d] * stride[d];
            idx[d] = 0;
        }
    }
    return w;
}

int no_npy_read(const char *path, no_array *out, unsigned flags, char *err, size_t len)
{
    return no_npy_read_info(path, out, flags, NULL, err, len);
}

int no_npy_read_info(const char *path, no_array *out, unsigned flags, no_npy_info *info,
                     char *err, size_t len)
{
    out->v = NULL;
    out->ndim = 0;
    out->n = 0;
    FILE *f = no_path_open_regular(path, NO_NPY_MAX_BYTES, err, len);
    if (!f)
        return -1;
    header h;
    long offset = 0;
    double *v = NULL;
    unsigned char *buf = NULL;
    if (read_header(f, path, &h, &offset, err, len))
        goto fail;
    /* The byte order is the descr's first character: numpy writes '<' or
     * '>' for every multi-byte type ('=' and '|' never for floats). */
    size_t item;
    int big = h.descr[0] == '>';
    if (!strcmp(h.descr, "<f8") || !strcmp(h.descr, ">f8")) {
        item = 8;
    } else if ((!strcmp(h.descr, "<f4") || !strcmp(h.descr, ">f4")) && (flags & NO_NPY_F32)) {
        item = 4;
    } else {
        no_errorf(err, len, "%s: dtype '%s' is not accepted (expected '<f8' or '>f8'%s)", path,
                  h.descr, flags & NO_NPY_F32 ? ", '<f4' or '>f4'" : "");
        goto fail;
    }
    char sh[128];
    no_npy_shape_str(sh, sizeof sh, h.ndim, h.shape);
    size_t n = 1, bytes;
    for (int d = 0; d < h.ndim; d++)
        if (no_mul_size(n, h.shape[d], &n)) {
            no_errorf(err, len, "%s: shape %s: element count overflows", path, sh);
            goto fail;
        }
    if (n > NO_MAX_ELEMENTS) {
        no_errorf(err, len, "%s: shape %s has %zu elements, more than the limit %zu", path, sh, n,
                  NO_MAX_ELEMENTS);
        goto fail;
    }
    bytes = n * item;
    /* Check the size before allocating: a 100-byte file declaring 2^28
     * elements must not cost 2 GiB. */
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        size_t have = st.st_size > offset ? (size_t)(st.st_size - offset) : 0;
        if (have < bytes) {
            no_errorf(err, len, "%s: truncated data: shape %s needs %zu bytes, found %zu", path,
                      sh, bytes, have);
            goto fail;
        }
        if (have > bytes) {
            no_errorf(err, len, "%s: %zu trailing byte(s) after the data of shape %s", path,
                      have - bytes, sh);
            goto fail;
        }
    }
    v = malloc(n ? n * sizeof(double) : sizeof(double));
    buf = malloc(CHUNK * 8);
    if (!v || !buf) {
        no_errorf(err, len, "%s: out of memory for shape %s", path, sh);
        goto fail;
    }
    for (size_t done = 0; done < n;) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        if (fread(buf, item, k, f) != k) {
            no_errorf(err, len, "%s: truncated data: shape %s needs %zu bytes", path, sh, bytes);
            goto fail;
        }
        for (size_t i = 0; i < k; i++) {
            /* float -> double is exact (every float is a double). */
            if (item == 8) {
                uint64_t u = big ? be64(buf + 8 * i) : le64(buf + 8 * i);
                memcpy(&v[done + i], &u, sizeof u);
            } else {
                uint32_t u = big ? be32(buf + 4 * i) : le32(buf + 4 * i);
                float x;
                memcpy(&x, &u, sizeof x);
                v[done + i] = (double)x;
            }
        }
        done += k;
    }
    if (fgetc(f) != EOF) {
        no_errorf(err, len, "%s: trailing bytes after the data of shape %s", path, sh);
        goto fail;
    }
    if (ferror(f)) {
        no_errorf(err, len, "%s: read error", path);
        goto fail;
    }
    /* fortran_order True (np.save of a transposed or np.asfortranarray
     * array): the data are in column-major order; stored in C order.  With
     * at most one dimension above 1 both orders are the same. */
    if (h.fortran && h.ndim >= 2) {
        double *w = fortran_to_c(v, n, h.ndim, h.shape);
        if (!w) {
            no_errorf(err, len, "%s: out of memory for shape %s", path, sh);
            goto fail;
        }
        free(v);
        v = w;
    }
    if (!(flags & NO_NPY_NONFINITE))
        for (size_t e = 0; e < n; e++)
            if (!isfinite(v[e])) {
                char ix[128];
                index_str(ix, sizeof ix, e, h.ndim, h.shape);
                no_errorf(err, len, "%s: element %s is %s (values must be finite)", path, ix,
                          isnan(v[e]) ? "NaN" : "infinite");
                goto fail;
            }
    free(buf);
    fclose(f);
    out->ndim = h.ndim;
    memset(out->shape, 0, sizeof out->shape);
    memcpy(out->shape, h.shape, (size_t)h.ndim * sizeof(size_t));
    out->n = n;
    out->v = v;
    if (info) {
        info->itemsize = (int)item;
        info->big_endian = big;
        info->fortran = h.fortran;
    }
    return 0;
fail:
    free(buf);
    free(v);
    fclose(f);
    return -1;
}

/* ---- writing ------------------------------------------------------------ */

int no_npy_write(const char *path, const no_array *a, char *err, size_t len)
{
    if (a->ndim < 0 || a->ndim > MAX_NDIM)
        return no_errorf(err, len, "%s: cannot write an array of %d dimensions", path, a->ndim);
    size_t n = 1;
    for (int d = 0; d < a->ndim; d++)
        if (no_mul_size(n, a->shape[d], &n))
            return no_errorf(err, len, "%s: array shape overflows", path);
    if (n != a->n || (n && !a->v))
        return no_errorf(err, len, "%s: array '%s' is inconsistent (n = %zu, shape gives %zu)",
                         path, a->name, a->n, n);
    char sh[128], head[256];
    no_npy_shape_str(sh, sizeof sh, a->ndim, a->shape);
    int k = snprintf(head, sizeof head, "{'descr': '<f8', 'fortran_order': False, 'shape': %s, }",
                     sh);
    /* Pad with spaces so that magic + version + length + header is a
     * multiple of 64 bytes, the last byte being '\n'. */
    size_t total = 10 + (size_t)k + 1;
    total = (total + ALIGN - 1) / ALIGN * ALIGN;
    size_t hlen = total - 10;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    memset(head + k, ' ', hlen - 1 - (size_t)k);
    head[hlen - 1] = '\n';

    no_atomic w;
    if (no_atomic_open(&w, path, err, len))
        return -1;
    unsigned char *buf = malloc(CHUNK * 8);
    if (!buf) {
        no_atomic_abort(&w);
        return no_errorf(err, len, "%s: out of memory", path);
    }
    int ok = fwrite(pre, 1, 10, w.f) == 10 && fwrite(head, 1, hlen, w.f) == hlen;
    for (size_t done = 0; ok && done < n;) {
        size_t m = n - done < CHUNK ? n - done : CHUNK;
        for (size_t i = 0; i < m; i++) {
            uint64_t u;
            memcpy(&u, &a->v[done + i], sizeof u);
            for (int b = 0; b < 8; b++)
                buf[8 * i + (size_t)b] = (unsigned char)(u >> (8 * b));
        }
        ok = fwrite(buf, 8, m, w.f) == m;
        done += m;
    }
    free(buf);
    if (!ok) {
        int e = errno;
        no_atomic_abort(&w);
        return no_errorf(err, len, "%s: write error: %s", path, strerror(e));
    }
    return no_atomic_commit(&w, err, len);
}
