/* fuzz_candidate.c - libFuzzer harness of a candidate's outputs and its step
 * grid (io/candidate.c: no_candidate_read, candidate.json through
 * io/jsonio.c, no_grid_read).
 *
 * The input is a container (fuzz_files.h): the header's first byte picks the
 * spec ('0'..'5', fuzz_files.h), each section is a file of the candidate
 * directory (states.npy, output.npy, loss.npy, adjoint.npy, grad_<P>.npy,
 * candidate.json, and any grid file).  The grid is read from the file
 * candidate.json names when that name is a plain file name (a path outside
 * the scratch directory could be a FIFO or a terminal and block the
 * fuzzer), else from grid.npy if present.  Checks, besides no crash, no
 * sanitizer report and no leak:
 *   - failures leave a one-line message, no arrays and a zeroed info;
 *   - a success gives the layout's arrays in order (states and adjoint
 *     optional, mgrad_ never), each with the layout's shape, and an info
 *     whose precision and scheme are valid enum values and whose grid name
 *     (printed in messages) has no control character;
 *   - a grid read gives count >= 2 times, 0 first, 1 last, strictly
 *     increasing, every layer boundary k/L present exactly. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate.h"
#include "fuzz_files.h"

static void fail(const char *what)
{
    fprintf(stderr, "FUZZ PROPERTY VIOLATED: %s\n", what);
    abort();
}

static void check_grid(const char *path, const no_spec *spec)
{
    double *t = (double *)&check_grid;
    size_t count = 99;
    char err[512];
    int rc = no_grid_read(path, spec, &t, &count, err, sizeof err);
    fuzz_check_message("no_grid_read", rc, err, sizeof err);
    if (rc) {
        if (t || count)
            fail("no_grid_read failed but left times or count set");
        return;
    }
    if (!t || count < 2 || t[0] != 0 || t[count - 1] != 1)
        fail("a grid read without 2 times, or not from 0 to 1");
    for (size_t j = 1; j < count; j++)
        if (!(t[j] > t[j - 1]))
            fail("a grid read that is not strictly increasing");
    for (size_t k = 0; k <= spec->L; k++) {
        double b = (double)k / (double)spec->L;
        size_t j = 0;
        while (j < count && t[j] != b)
            j++;
        if (j == count)
            fail("a grid read without an exact layer boundary");
    }
    free(t);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_specs_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[NO_PATH_MAX], err[512];
    const uint8_t *header;
    size_t hlen;
    fuzz_reset(dir, sizeof dir, "in");
    fuzz_unpack(data, size, dir, &header, &hlen);
    const no_spec *spec = fuzz_spec_of(header, hlen);
    no_arrays out;
    no_candidate_info info;
    int rc = no_candidate_read(dir, spec, &out, &info, err, sizeof err);
    fuzz_check_message("no_candidate_read", rc, err, sizeof err);
    if (rc) {
        static const no_candidate_info zero;
        if (out.count || memcmp(&info, &zero, sizeof info))
            fail("no_candidate_read failed but left arrays or info set");
    } else {
        no_array lay[NO_MAX_ARRAYS];
        int n = no_outputs_layout(spec, lay), j = 0;
        for (int i = 0; i < n; i++) {
            if (!strncmp(lay[i].name, "mgrad_", 6))
                continue;
            if (j < out.count && !strcmp(out.a[j].name, lay[i].name)) {
                const no_array *a = &out.a[j++];
                if (a->ndim != lay[i].ndim || a->n != lay[i].n ||
                    memcmp(a->shape, lay[i].shape, (size_t)a->ndim * sizeof(size_t)) || !a->v)
                    fail("a candidate array read with a shape other than the layout's");
            } else if (strcmp(lay[i].name, "states") && strcmp(lay[i].name, "adjoint")) {
                fail("a required candidate array is missing after a successful read");
            }
        }
        if (j != out.count)
            fail("no_candidate_read returned arrays outside the layout, or out of order");
        if ((unsigned)info.precision > NO_PRECISION_BFLOAT16 ||
            (info.has_scheme && (unsigned)info.scheme >= NO_SCHEME_COUNT))
            fail("candidate info out of range");
        if (info.has_grid && strnlen(info.grid, sizeof info.grid) == sizeof info.grid)
            fail("candidate info grid not NUL-terminated");
        /* The grid's name is printed in the grid reader's messages. */
        for (const char *c = info.has_grid ? info.grid : ""; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                fail("a grid name with a control character accepted");
        no_arrays_free(&out);
    }
    /* The grid: the name candidate.json gives when it stays in our
     * directory, else grid.npy. */
    char path[NO_PATH_MAX];
    const char *g = "grid.npy";
    if (!rc && info.has_grid) {
        size_t dl = strlen(dir);
        const char *rel = info.grid + dl + 1;
        if (!strncmp(info.grid, dir, dl) && info.grid[dl] == '/' &&
            fuzz_name_ok((const uint8_t *)rel, strlen(rel)))
            g = rel;
    }
    if (no_path_join(path, sizeof path, dir, g, err, sizeof err))
        fail("path");
    if (access(path, F_OK) == 0)
        check_grid(path, spec);
    return 0;
}
