/* bytes.c - see bytes.h. */
#include "bytes.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void no_bytes_put(no_bytes *b, const void *p, size_t n)
{
    if (b->bad)
        return;
    if (n > SIZE_MAX / 2 - b->len) {
        b->bad = 1;
        return;
    }
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n)
            c *= 2;
        char *t = realloc(b->data, c);
        if (!t) {
            b->bad = 1;
            return;
        }
        b->data = t;
        b->cap = c;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void no_bytes_put_u64(no_bytes *b, unsigned long long v)
{
    uint64_t x = v;
    no_bytes_put(b, &x, sizeof x);
}

void no_bytes_put_str(no_bytes *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    no_bytes_put_u64(b, n);
    no_bytes_put(b, s, n);
}

int no_reader_get(no_reader *r, void *p, size_t n)
{
    if (n > r->len - r->at)
        return -1;
    if (n)
        memcpy(p, r->data + r->at, n);
    r->at += n;
    return 0;
}

int no_reader_u64(no_reader *r, unsigned long long *v)
{
    uint64_t x;
    if (no_reader_get(r, &x, sizeof x))
        return -1;
    *v = x;
    return 0;
}

int no_reader_span(no_reader *r, const char **p, size_t *n)
{
    size_t at = r->at;
    unsigned long long k;
    if (no_reader_u64(r, &k) || k > r->len - r->at) {
        r->at = at;
        return -1;
    }
    *p = r->data + r->at;
    *n = (size_t)k;
    r->at += (size_t)k;
    return 0;
}

int no_reader_str(no_reader *r, char *dst, size_t dn)
{
    size_t at = r->at, n;
    const char *p;
    if (no_reader_span(r, &p, &n))
        return -1;
    if (n >= dn) {
        r->at = at;
        return -1;
    }
    memcpy(dst, p, n);
    dst[n] = 0;
    return 0;
}
