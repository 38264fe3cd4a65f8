/* fuzz_problem_dir.c - libFuzzer harness of the problem directory reader
 * (io/problem_dir.c: problem.json through io/jsonio.c, then every input
 * array through io/npy.c).
 *
 * The input is a container (fuzz_files.h): the header is ignored, each
 * section a file of the directory (problem.json, X.npy, Y.npy, A.npy, B.npy,
 * W.npy, Omega.npy, beta.npy, a.npy, u.npy, b.npy).  Checks, besides no
 * crash, no sanitizer report and no leak:
 *   - a failure leaves a one-line message and the problem all NULL;
 *   - a success gives a spec that no_spec_validate() accepts, every array of
 *     the family present with finite values and the others NULL, and an
 *     inputs hash (no_problem_hash) when the seed fits in JSON. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_files.h"
#include "golden.h"
#include "problem_dir.h"

static void fail(const char *what)
{
    fprintf(stderr, "FUZZ PROPERTY VIOLATED: %s\n", what);
    abort();
}

static int all_null(const no_problem *p)
{
    return !p->X && !p->Y && !p->A && !p->B && !p->Omega && !p->beta && !p->W && !p->a &&
           !p->u && !p->b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[NO_PATH_MAX], err[512];
    const uint8_t *header;
    size_t hlen;
    fuzz_reset(dir, sizeof dir, "in");
    fuzz_unpack(data, size, dir, &header, &hlen);
    no_problem p;
    memset(&p, 0xa5, sizeof p); /* the reader must not rely on a zeroed p */
    int rc = no_problem_dir_read(dir, &p, err, sizeof err);
    fuzz_check_message("no_problem_dir_read", rc, err, sizeof err);
    if (rc) {
        if (!all_null(&p))
            fail("no_problem_dir_read failed but left an array allocated");
        return 0;
    }
    if (no_spec_validate(&p.spec, 0, err, sizeof err))
        fail("no_problem_dir_read accepted a spec that does not validate");
    no_array arr[NO_PROBLEM_DIR_MAX_ARRAYS];
    int n = no_problem_dir_arrays(&p, arr), used = 0;
    for (int i = 0; i < n; i++) {
        if (!arr[i].v)
            fail("an array of the family is missing after a successful read");
        used++;
        for (size_t e = 0; e < arr[i].n; e++)
            if (!isfinite(arr[i].v[e]))
                fail("a non-finite input value was accepted");
    }
    int present = !!p.X + !!p.Y + !!p.A + !!p.B + !!p.Omega + !!p.beta + !!p.W + !!p.a + !!p.u +
                  !!p.b;
    if (present != used)
        fail("an array of another family was read");
    uint64_t h;
    if (no_problem_hash(&p, &h))
        fail("no_problem_hash fails on a problem that was read");
    no_problem_free(&p);
    return 0;
}
