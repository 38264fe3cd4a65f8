/* npy.h - NumPy .npy arrays, validated strictly (docs/formats.md, "Arrays").
 *
 * Read: format version 1.0 or 2.0, header <= 64 KiB padded with spaces to a
 * multiple of 64 bytes and ending in '\n', a Python-literal dict with exactly
 * the keys 'descr', 'fortran_order', 'shape' (any order, each once, an
 * optional trailing comma), descr '<f8' or '>f8' (or '<f4', '>f4' with
 * NO_NPY_F32, widened exactly to double; a big-endian file is byte-swapped),
 * fortran_order False or True (True: the data are column-major, as np.save
 * writes a transposed or np.asfortranarray array, and are reordered to C
 * order on reading), shape a tuple of at most 4
 * non-negative integers whose product is at most NO_MAX_ELEMENTS, and data of
 * exactly product * itemsize bytes.  Every value must be finite unless
 * NO_NPY_NONFINITE is given (a candidate's NaN is a failure to report, not an
 * input error).  Only regular files are read (path.h, no_path_open_regular):
 * a FIFO or a device is refused, never waited on.
 *
 * Write: version 1.0, '<f8', header padded to 64 bytes, atomically
 * (atomic.h).  The data are encoded little-endian byte by byte, so files are
 * the same on every host.
 *
 * Errors are one line, "FILE: what is wrong". */
#ifndef NO_NPY_H
#define NO_NPY_H

#include <stddef.h>

#include "arrays.h"

/* The largest header read (numpy's own limit on what it will parse), and
 * so the largest file: a 12-byte version 2.0 preamble, the header and
 * NO_MAX_ELEMENTS doubles.  Anything larger is refused before it is read. */
#define NO_NPY_HEADER_MAX 65536
#define NO_NPY_MAX_BYTES (12ull + NO_NPY_HEADER_MAX + 8ull * NO_MAX_ELEMENTS)

enum {
    NO_NPY_F32 = 1u << 0,       /* accept '<f4' (candidate outputs) */
    NO_NPY_NONFINITE = 1u << 1, /* accept NaN and Inf (candidate outputs) */
};

/* Read path into out: ndim (0 for shape ()), shape, n and v (malloc'd; the
 * caller frees out->v).  out->name is left as the caller set it.  flags is a
 * mask of NO_NPY_*.  Returns 0, or -1 with err filled and out->v = NULL. */
int no_npy_read(const char *path, no_array *out, unsigned flags, char *err, size_t len);

/* How the file stored its data (what no_npy_read converted from). */
typedef struct {
    int itemsize;   /* 8: float64, 4: float32 */
    int big_endian; /* descr '>f8' or '>f4' */
    int fortran;    /* fortran_order True */
} no_npy_info;

/* no_npy_read, and *info (if not NULL) filled on success. */
int no_npy_read_info(const char *path, no_array *out, unsigned flags, no_npy_info *info,
                     char *err, size_t len);

/* Write a (ndim 0..4, n = product of its shape) as '<f8'.  Returns 0, or -1
 * with err filled and no file left behind. */
int no_npy_write(const char *path, const no_array *a, char *err, size_t len);

/* "(2, 3)", "(3,)", "()": a shape as Python (and numpy's header) writes it. */
void no_npy_shape_str(char *buf, size_t n, int ndim, const size_t *shape);

/* 0 if a has exactly the shape (ndim, shape); else -1 with err filled:
 * "FILE: shape (found), expected (wanted)". */
int no_npy_check_shape(const char *path, const no_array *a, int ndim, const size_t *shape,
                       char *err, size_t len);

#endif
