/* fuzz_spec_args.c - libFuzzer harness for the command-line problem flags.
 *
 * Input: NUL-separated strings, read as (flag, value) pairs and fed to
 * no_spec_arg (a trailing flag without a value gets value NULL, which the
 * parser must accept as "missing").  Then no_spec_validate; a spec that
 * validates and is small (fuzz_common.h) is generated and run by fast_run.
 *
 * Properties checked (abort = finding):
 *   - no crash, leak or undefined behaviour anywhere (ASan, UBSan, LSan);
 *   - no_spec_arg returns -1, 0 or 1; on -1 it fills err; on -1 and 0 it
 *     leaves the spec unchanged (a rejected flag must not half-apply);
 *   - no_spec_validate fills err when it rejects;
 *   - a validated small spec generates, fast_run succeeds, and every output
 *     is finite: validation is the only gate between flags and a run, so a
 *     non-finite output means it let through a spec it should have refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrays.h"
#include "fast.h"
#include "fuzz_common.h"
#include "problem.h"
#include "spec_args.h"

/* More pairs than any real command line; bounds the work per input. */
#define MAX_STRINGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A NUL-terminated private copy: the strings are cut out of it in place,
     * and ASan then sees any read past the last one. */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';

    const char *str[MAX_STRINGS];
    int n = 0;
    for (size_t i = 0; i <= size && n < MAX_STRINGS; i += strlen(buf + i) + 1)
        str[n++] = buf + i;
    /* An input ending in NUL yields an empty last string; keep it: "" is a
     * value the parser must handle. */

    no_spec s;
    no_spec_default(&s);
    char err[256];
    for (int i = 0; i < n; i += 2) {
        const char *flag = str[i], *value = i + 1 < n ? str[i + 1] : NULL;
        no_spec before = s;
        err[0] = '\0';
        int rc = no_spec_arg(&s, flag, value, err, sizeof err);
        if (rc < -1 || rc > 1)
            fuzz_fail(&s, "no_spec_arg returned a value outside {-1, 0, 1}");
        if (rc == -1 && err[0] == '\0')
            fuzz_fail(&s, "no_spec_arg rejected a value without an error message");
        if (rc != 1 && memcmp(&before, &s, sizeof s))
            fuzz_fail(&s, "no_spec_arg changed the spec while rejecting a flag");
    }

    err[0] = '\0';
    int invalid = no_spec_validate(&s, NO_REQ_NONE, err, sizeof err);
    if (invalid && err[0] == '\0')
        fuzz_fail(&s, "no_spec_validate rejected without an error message");
    /* The stricter requirements only ever reject more. */
    if (invalid && !no_spec_validate(&s, NO_REQ_SMOOTH | NO_REQ_KAPPA, NULL, 0))
        fuzz_fail(&s, "a spec invalid without requirements is valid with them");

    if (!invalid && fuzz_spec_small(&s)) {
        no_problem p;
        if (no_problem_generate(&p, &s, err, sizeof err))
            fuzz_fail(&s, "no_problem_generate failed on a validated small spec");
        no_arrays out;
        memset(&out, 0, sizeof out);
        if (fast_run(&p, &out, err, sizeof err))
            fuzz_fail(&s, "fast_run failed on a validated small spec");
        size_t at = 0;
        const char *bad = fuzz_first_nonfinite(&out, &at);
        if (bad) {
            fprintf(stderr, "fast output '%s'[%zu] = %g\n", bad, at,
                    no_arrays_get(&out, bad)->v[at]);
            fuzz_fail(&s, "validated spec gives a non-finite fast output");
        }
        no_arrays_free(&out);
        no_problem_free(&p);
    }
    free(buf);
    return 0;
}
