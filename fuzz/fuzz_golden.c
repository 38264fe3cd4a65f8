/* fuzz_golden.c - libFuzzer harness of the golden reference reader
 * (io/golden.c: no_golden_read and no_golden_provenance_read, through
 * io/npy.c and io/jsonio.c).
 *
 * The input is a container (fuzz_files.h): the header's first byte picks the
 * spec ('0'..'5', fuzz_files.h), each section is a file of PROBLEM/golden/
 * (NAME.npy and NAME.bits.npy for every output array NAME, and
 * provenance.json), then no_golden_verify checks the files against the
 * hashes provenance.json records, as check does.  Checks, besides no crash, no sanitizer report and no
 * leak:
 *   - failures leave a one-line message and empty outputs;
 *   - no_golden_read's success gives every array of the layout, in order,
 *     with its shape, finite values, and bits >= 0 with the same shape;
 *   - no_golden_provenance_read's success gives NUL-terminated strings, a
 *     precision of at least 1 bit, at most NO_GOLDEN_MAX_FILES hashes, each
 *     for a plain file name (no '/', not starting with '.');
 *   - no_golden_verify returns 0 or -1 with a one-line message. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_files.h"
#include "golden.h"

static void fail(const char *what)
{
    fprintf(stderr, "FUZZ PROPERTY VIOLATED: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_specs_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[NO_PATH_MAX], gdir[NO_PATH_MAX], err[512];
    const uint8_t *header;
    size_t hlen;
    fuzz_reset(dir, sizeof dir, "in/golden");
    if (no_path_join(gdir, sizeof gdir, dir, "golden", err, sizeof err))
        fail("path");
    fuzz_unpack(data, size, gdir, &header, &hlen);
    const no_spec *spec = fuzz_spec_of(header, hlen);

    no_arrays values, bits;
    int rc = no_golden_read(dir, spec, &values, &bits, err, sizeof err);
    fuzz_check_message("no_golden_read", rc, err, sizeof err);
    if (rc) {
        if (values.count || bits.count)
            fail("no_golden_read failed but left arrays");
    } else {
        no_array lay[NO_MAX_ARRAYS];
        int n = no_outputs_layout(spec, lay);
        if (values.count != n || bits.count != n)
            fail("no_golden_read returned another number of arrays than the layout");
        for (int i = 0; i < n; i++) {
            const no_array *v = &values.a[i], *b = &bits.a[i];
            if (strcmp(v->name, lay[i].name) || strcmp(b->name, lay[i].name))
                fail("golden arrays out of the layout's order");
            if (v->ndim != lay[i].ndim || v->n != lay[i].n || b->n != v->n ||
                b->ndim != v->ndim ||
                memcmp(v->shape, lay[i].shape, (size_t)v->ndim * sizeof(size_t)) ||
                memcmp(b->shape, v->shape, (size_t)v->ndim * sizeof(size_t)))
                fail("a golden array read with a shape other than the layout's");
            for (size_t e = 0; e < v->n; e++)
                if (!isfinite(v->v[e]) || !isfinite(b->v[e]) || !(b->v[e] >= 0))
                    fail("a non-finite golden value or a negative or non-finite bit count");
        }
        no_arrays_free(&values);
        no_arrays_free(&bits);
    }

    no_golden_provenance pv;
    rc = no_golden_provenance_read(dir, &pv, err, sizeof err);
    fuzz_check_message("no_golden_provenance_read", rc, err, sizeof err);
    if (rc)
        return 0;
    if (strnlen(pv.version, sizeof pv.version) == sizeof pv.version ||
        strnlen(pv.mpfr, sizeof pv.mpfr) == sizeof pv.mpfr ||
        strnlen(pv.gmp, sizeof pv.gmp) == sizeof pv.gmp || pv.prec < 1)
        fail("provenance read with an unterminated string or a precision < 1");
    if (pv.nfiles < 0 || pv.nfiles > NO_GOLDEN_MAX_FILES)
        fail("provenance read with a file count out of [0, NO_GOLDEN_MAX_FILES]");
    /* The hashed names are only looked up, never opened: plain names. */
    for (int i = 0; i < pv.nfiles; i++) {
        const char *nm = pv.files[i].name;
        size_t n = strnlen(nm, sizeof pv.files[i].name);
        if (n == 0 || n == sizeof pv.files[i].name || strchr(nm, '/') || nm[0] == '.')
            fail("provenance read with a hashed name that is empty, unterminated or a path");
    }
    /* What check does next: the files against their recorded hashes. */
    rc = no_golden_verify(dir, spec, &pv, err, sizeof err);
    fuzz_check_message("no_golden_verify", rc, err, sizeof err);
    return 0;
}
