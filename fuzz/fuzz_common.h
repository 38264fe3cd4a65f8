/* fuzz_common.h - helpers shared by the libFuzzer harnesses (header-only, so
 * each harness stays one translation unit plus the project's sources). */
#ifndef NO_FUZZ_COMMON_H
#define NO_FUZZ_COMMON_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "arrays.h"
#include "problem.h"

/* Caps that keep one fast run (and one ref run at 64 bits) to a few
 * milliseconds, so the fuzzer spends its time on many inputs rather than on
 * a few big problems.  Validation is still exercised on any size: the caps
 * only decide which validated specs are also run. */
#define FUZZ_MAX_N 4
#define FUZZ_MAX_DIO 4 /* d_in, d_out */
#define FUZZ_MAX_D 4
#define FUZZ_MAX_L 4
#define FUZZ_MAX_Q 8
#define FUZZ_MAX_M 8
#define FUZZ_MAX_SUB 2

static inline int fuzz_spec_small(const no_spec *s)
{
    return s->N <= FUZZ_MAX_N && s->d_in <= FUZZ_MAX_DIO && s->d_out <= FUZZ_MAX_DIO &&
           s->D <= FUZZ_MAX_D && s->L <= FUZZ_MAX_L && s->q <= FUZZ_MAX_Q &&
           s->M <= FUZZ_MAX_M && s->m <= FUZZ_MAX_SUB;
}

/* Report a broken property with the spec that broke it, then abort so that
 * libFuzzer saves the input as crash-<sha1>. */
static inline void fuzz_fail(const no_spec *s, const char *what)
{
    char desc[512];
    no_spec_describe(s, desc, sizeof desc);
    fprintf(stderr,
            "FUZZ PROPERTY VIOLATED: %s\n  spec: %s\n  ell=%a nu=%a param_scale=%a q=%zu M=%zu\n",
            what, desc, s->ell, s->nu, s->param_scale, s->q, s->M);
    abort();
}

/* Name of the first array holding a NaN or an infinity, or NULL. */
static inline const char *fuzz_first_nonfinite(const no_arrays *out, size_t *index)
{
    for (int i = 0; i < out->count; i++)
        for (size_t e = 0; e < out->a[i].n; e++)
            if (!isfinite(out->a[i].v[e])) {
                *index = e;
                return out->a[i].name;
            }
    return NULL;
}

#endif
