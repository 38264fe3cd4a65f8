/* ref_split.c - a ref run split across processes by data points: the
 * parts' points, their exact sums as bytes, the per-point rows as bytes
 * (ref.h; the run and the combination are ref_run.c's ref_run_part and
 * ref_part_finish; why the result is ref_run's bit for bit:
 * proofs-notes/ref-split.md).
 *
 * The bytes are ASCII: a header line, then one number a line, each exact:
 * MPFR's "%Ra" (hexadecimal significand, binary exponent: every bit, the
 * sign of zero included), "nan", "inf" or "-inf".  A number is read back at
 * 4 bits per hexadecimal digit, which holds it exactly, then trimmed to the
 * bits it has.  No MPI here: the bytes go wherever the caller sends them. */
#include <stdio.h> /* before mpfr.h, for mpfr_fprintf */
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

#define PART_MAGIC "nodeoracle-ref-part 1"
#define ROWS_MAGIC "nodeoracle-ref-rows 1"

void ref_part_of(size_t N, size_t ranks, size_t rank, size_t *i0, size_t *i1)
{
    if (ranks == 0 || rank >= ranks) {
        *i0 = *i1 = N;
        return;
    }
    /* The first N % ranks parts take one point more. */
    size_t q = N / ranks, r = N % ranks;
    *i0 = rank * q + (rank < r ? rank : r);
    *i1 = *i0 + q + (rank < r ? 1 : 0);
}

void ref_part_init(ref_part *part)
{
    memset(part, 0, sizeof *part);
    mpfr_init2(part->loss_sum, MPFR_PREC_MIN);
    mpfr_set_zero(part->loss_sum, 1);
}

void ref_part_clear(ref_part *part)
{
    ref_vec_free(part->grad, part->ngrad);
    mpfr_clear(part->loss_sum);
    memset(part, 0, sizeof *part);
}

/* ---- writing ---- */

static void put_number(FILE *f, mpfr_srcptr x)
{
    if (mpfr_nan_p(x))
        fputs("nan\n", f);
    else if (mpfr_inf_p(x))
        fputs(mpfr_signbit(x) ? "-inf\n" : "inf\n", f);
    else
        mpfr_fprintf(f, "%Ra\n", x);
}

/* Close the stream; 0 with *buf, *len the bytes, or -1 (nothing kept). */
static int close_stream(FILE *f, char **buf, size_t *len)
{
    int bad = ferror(f);
    if (fclose(f) || bad) {
        free(*buf);
        *buf = NULL;
        *len = 0;
        return -1;
    }
    return 0;
}

int ref_part_export(const ref_part *part, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    FILE *f = open_memstream(buf, len);
    if (!f)
        return -1;
    fprintf(f, PART_MAGIC "\n%zu %zu %zu\n", part->i0, part->i1, part->ngrad);
    put_number(f, part->loss_sum);
    for (size_t e = 0; e < part->ngrad; e++)
        put_number(f, part->grad[e]);
    return close_stream(f, buf, len);
}

/* The arrays of res with one row per data point: states, output, adjoint.
 * Row geometry: layers x N x width (output: one layer). */
static const char *const row_arrays[3] = {"states", "output", "adjoint"};

static int row_geometry(const ref_array *a, size_t *layers, size_t *N, size_t *width)
{
    if (!a || (a->ndim != 2 && a->ndim != 3))
        return -1;
    *layers = a->ndim == 3 ? a->shape[0] : 1;
    *N = a->shape[a->ndim - 2];
    *width = a->shape[a->ndim - 1];
    return 0;
}

/* The three row arrays of res and their common N; -1 if res lacks one. */
static int rows_of(const ref_result *res, const ref_array *arr[3], size_t *N)
{
    for (int a = 0; a < 3; a++) {
        size_t layers, n, width;
        arr[a] = ref_result_get(res, row_arrays[a]);
        if (row_geometry(arr[a], &layers, &n, &width) || (a && n != *N))
            return -1;
        *N = n;
    }
    return 0;
}

int ref_rows_export(const ref_result *res, size_t i0, size_t i1, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    const ref_array *arr[3];
    size_t N = 0;
    if (rows_of(res, arr, &N) || i0 > i1 || i1 > N)
        return -1;
    FILE *f = open_memstream(buf, len);
    if (!f)
        return -1;
    fprintf(f, ROWS_MAGIC "\n%zu %zu %zu\n", N, i0, i1);
    for (int a = 0; a < 3; a++) {
        size_t layers = 0, n = 0, width = 0;
        row_geometry(arr[a], &layers, &n, &width);
        for (size_t k = 0; k < layers; k++)
            for (size_t e = (k * N + i0) * width; e < (k * N + i1) * width; e++)
                put_number(f, arr[a]->v[e]);
    }
    return close_stream(f, buf, len);
}

/* ---- reading ---- */

/* A NUL-terminated copy of the bytes (NULL: no memory, or a NUL inside). */
static char *text_of(const char *buf, size_t len)
{
    if (memchr(buf, '\0', len))
        return NULL;
    char *t = malloc(len + 1);
    if (t) {
        memcpy(t, buf, len);
        t[len] = '\0';
    }
    return t;
}

/* The next whitespace-delimited token at *p: its start, *n its length, *p
 * past it (NULL at the end). */
static const char *token(const char **p, size_t *n)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\n')
        s++;
    if (!*s)
        return NULL;
    const char *e = s;
    while (*e && *e != ' ' && *e != '\n')
        e++;
    *n = (size_t)(e - s);
    *p = e;
    return s;
}

/* A decimal size_t token. */
static int get_size(const char **p, size_t *v)
{
    size_t n;
    const char *s = token(p, &n);
    if (!s || n == 0 || n > 19)
        return -1;
    size_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = 10 * x + (size_t)(s[i] - '0');
    }
    *v = x;
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One number as put_number writes it, into x (its precision set to the
 * bits the number has).  -1 if the token is anything else. */
static int get_number(const char **p, mpfr_ptr x)
{
    size_t n;
    const char *s = token(p, &n);
    if (!s)
        return -1;
    if (n == 3 && !memcmp(s, "nan", 3)) {
        mpfr_set_nan(x);
        return 0;
    }
    if ((n == 3 && !memcmp(s, "inf", 3)) || (n == 4 && !memcmp(s, "-inf", 4))) {
        mpfr_set_inf(x, *s == '-' ? -1 : 1);
        return 0;
    }
    /* [-]0x<hex>[.<hex>]p<sign><decimal> */
    size_t i = *s == '-' ? 1 : 0, digits = 0;
    if (n < i + 2 || s[i] != '0' || (s[i + 1] != 'x' && s[i + 1] != 'X'))
        return -1;
    for (i += 2; i < n && (is_hex(s[i]) || s[i] == '.'); i++)
        digits += s[i] != '.';
    if (digits == 0 || digits > (size_t)MPFR_PREC_MAX / 4 || i == n || s[i] != 'p')
        return -1;
    for (i++; i < n; i++)
        if (!(s[i] >= '0' && s[i] <= '9') && s[i] != '+' && s[i] != '-')
            return -1;
    mpfr_prec_t prec = (mpfr_prec_t)(4 * digits);
    mpfr_set_prec(x, prec < MPFR_PREC_MIN ? MPFR_PREC_MIN : prec);
    char *end;
    if (mpfr_strtofr(x, s, &end, 16, MPFR_RNDN) != 0 || end != s + n || !mpfr_number_p(x))
        return -1;
    ref_trim_prec(x);
    return 0;
}

/* The magic line at *p. */
static int get_magic(const char **p, const char *magic)
{
    size_t n = strlen(magic);
    if (strncmp(*p, magic, n) || (*p)[n] != '\n')
        return -1;
    *p += n + 1;
    return 0;
}

/* Nothing but whitespace left. */
static int at_end(const char **p)
{
    size_t n;
    return token(p, &n) ? -1 : 0;
}

int ref_part_import(ref_part *part, const char *buf, size_t len)
{
    char *t = text_of(buf, len);
    if (!t)
        return -1;
    const char *p = t;
    size_t i0 = 0, i1 = 0, ngrad = 0;
    int bad = get_magic(&p, PART_MAGIC) || get_size(&p, &i0) || get_size(&p, &i1) ||
              get_size(&p, &ngrad) || i0 > i1 || ngrad > len / 2; /* 2 bytes a number at least */
    mpfr_t loss;
    mpfr_t *grad = NULL;
    mpfr_init2(loss, MPFR_PREC_MIN);
    if (!bad && !(grad = ref_vec_new(ngrad, MPFR_PREC_MIN)))
        bad = 1;
    bad = bad || get_number(&p, loss);
    for (size_t e = 0; e < ngrad && !bad; e++)
        bad = get_number(&p, grad[e]);
    bad = bad || at_end(&p);
    free(t);
    if (bad) {
        mpfr_clear(loss);
        if (grad)
            ref_vec_free(grad, ngrad);
        return -1;
    }
    ref_vec_free(part->grad, part->ngrad);
    mpfr_swap(part->loss_sum, loss);
    mpfr_clear(loss);
    part->grad = grad;
    part->ngrad = ngrad;
    part->i0 = i0;
    part->i1 = i1;
    return 0;
}

int ref_rows_import(ref_result *res, const char *buf, size_t len)
{
    const ref_array *arr[3];
    size_t N = 0;
    if (rows_of(res, arr, &N))
        return -1;
    char *t = text_of(buf, len);
    if (!t)
        return -1;
    const char *p = t;
    size_t n, i0, i1;
    int bad = get_magic(&p, ROWS_MAGIC) || get_size(&p, &n) || get_size(&p, &i0) ||
              get_size(&p, &i1) || n != N || i0 > i1 || i1 > N;
    mpfr_t x;
    mpfr_init2(x, MPFR_PREC_MIN);
    /* Every number must fit its element exactly (the same precision). */
    for (int a = 0; a < 3 && !bad; a++) {
        size_t layers = 0, rows = 0, width = 0;
        row_geometry(arr[a], &layers, &rows, &width);
        ref_array *dst = (ref_array *)arr[a];
        for (size_t k = 0; k < layers && !bad; k++)
            for (size_t e = (k * N + i0) * width; e < (k * N + i1) * width && !bad; e++)
                bad = get_number(&p, x) || mpfr_set(dst->v[e], x, MPFR_RNDN) != 0;
    }
    bad = bad || at_end(&p);
    mpfr_clear(x);
    free(t);
    return bad ? -1 : 0;
}
