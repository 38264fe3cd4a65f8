/* bytes.h - values as bytes and back: a growing buffer to append to, and a
 * reader that refuses to go past the end.  Native byte order and sizes:
 * for bytes that one build of nodeoracle writes and reads back (outcomes
 * passed between the ranks of nodeoracle-mpi), never for files.
 *
 *   no_bytes b = {0};
 *   no_bytes_put_u64(&b, n); no_bytes_put_str(&b, name);
 *   if (b.bad) ...out of memory...; use b.data, b.len; free(b.data);
 *
 *   no_reader r = {data, len, 0};
 *   if (no_reader_u64(&r, &n) || no_reader_str(&r, name, sizeof name)) ...malformed...
 */
#ifndef NO_BYTES_H
#define NO_BYTES_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
    int bad; /* out of memory: later puts do nothing */
} no_bytes;

void no_bytes_put(no_bytes *b, const void *p, size_t n);
void no_bytes_put_u64(no_bytes *b, unsigned long long v);
/* A 64-bit length, then the bytes of s (NULL: the empty string). */
void no_bytes_put_str(no_bytes *b, const char *s);

typedef struct {
    const char *data;
    size_t len, at;
} no_reader;

/* Each: 0, or -1 (nothing read) when the bytes end first. */
int no_reader_get(no_reader *r, void *p, size_t n);
int no_reader_u64(no_reader *r, unsigned long long *v);
/* A string of no_bytes_put_str into dst, NUL-terminated: -1 also when it
 * does not fit in dn bytes. */
int no_reader_str(no_reader *r, char *dst, size_t dn);
/* The same string in place: *p into r's bytes, *n its length (not
 * NUL-terminated). */
int no_reader_span(no_reader *r, const char **p, size_t *n);

#endif
