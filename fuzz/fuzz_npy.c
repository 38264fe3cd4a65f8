/* fuzz_npy.c - libFuzzer harness of the .npy reader (io/npy.c).
 *
 * The input is the file, byte for byte (no container).  It is read with each
 * of the four flag combinations (float64 only or also float32; finite only
 * or also NaN/Inf), since the candidate reader and the problem reader take
 * different paths through the same code.  Checks, besides no crash, no
 * sanitizer report and no leak:
 *   - a failure leaves out->v NULL and a one-line message (fuzz_files.h);
 *   - a success gives 0 <= ndim <= 4, n = the product of the shape,
 *     n <= NO_MAX_ELEMENTS, and finite values unless NO_NPY_NONFINITE;
 *   - the flags only widen what is accepted: what is read without a flag is
 *     read identically (same shape, same bits) with it;
 *   - no_npy_check_shape accepts the shape read and refuses another one,
 *     with a one-line message. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_files.h"
#include "npy.h"

static void fail(const char *what)
{
    fprintf(stderr, "FUZZ PROPERTY VIOLATED: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[NO_PATH_MAX], path[NO_PATH_MAX], err[512];
    fuzz_reset(dir, sizeof dir, "in");
    fuzz_write_file(dir, "a.npy", data, size);
    if (no_path_join(path, sizeof path, dir, "a.npy", err, sizeof err))
        fail("path");
    no_array got[4];
    int ok[4];
    for (unsigned flags = 0; flags < 4; flags++) {
        no_array *a = &got[flags];
        memset(a, 0, sizeof *a);
        a->v = (double *)&got; /* a reader that forgets to reset v is caught */
        int rc = no_npy_read(path, a, flags, err, sizeof err);
        fuzz_check_message("no_npy_read", rc, err, sizeof err);
        ok[flags] = rc == 0;
        if (rc) {
            if (a->v)
                fail("no_npy_read failed but left out->v set");
            continue;
        }
        if (a->ndim < 0 || a->ndim > 4)
            fail("ndim out of [0, 4]");
        size_t n = 1;
        for (int d = 0; d < a->ndim; d++)
            n *= a->shape[d]; /* cannot overflow: n <= 2^28 was checked */
        if (n != a->n || n > NO_MAX_ELEMENTS)
            fail("n is not the product of the shape, or over NO_MAX_ELEMENTS");
        if (!a->v)
            fail("success with v NULL");
        if (!(flags & NO_NPY_NONFINITE))
            for (size_t e = 0; e < n; e++)
                if (!isfinite(a->v[e]))
                    fail("a non-finite value accepted without NO_NPY_NONFINITE");
        /* The shape check agrees with the shape read... */
        if (no_npy_check_shape(path, a, a->ndim, a->shape, err, sizeof err))
            fail("no_npy_check_shape refuses the shape just read");
        /* ...and refuses a different one, in one line. */
        size_t other[4] = {a->n + 1, 1, 1, 1};
        int rc2 = no_npy_check_shape(path, a, 1, other, err, sizeof err);
        if (rc2 != -1)
            fail("no_npy_check_shape accepts a different shape");
        fuzz_check_message("no_npy_check_shape", rc2, err, sizeof err);
    }
    /* A flag only adds what it names; it never changes what was read. */
    for (unsigned f = 0; f < 4; f++)
        for (unsigned g = 0; g < 4; g++) {
            if ((f & g) != f || !ok[f])
                continue;
            if (!ok[g])
                fail("a file read without a flag is refused with it");
            if (got[f].ndim != got[g].ndim || got[f].n != got[g].n ||
                memcmp(got[f].shape, got[g].shape, sizeof got[f].shape) ||
                memcmp(got[f].v, got[g].v, got[f].n * sizeof(double)))
                fail("the flags changed the array read");
        }
    for (unsigned f = 0; f < 4; f++)
        if (ok[f])
            free(got[f].v);
    return 0;
}
